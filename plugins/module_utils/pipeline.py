# Copyright: (c) 2026, winimage.generalize contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The image pipeline of a fleet: which steps each kind of reference machine goes through, in
which order, where each step runs, and what happened to each host.

Used by the winimage.generalize.generalize role and the generalize.yml / refresh.yml playbooks
(through the pipeline_* filters). Step names are a stable interface: test hooks and AWX
workflows see them (docs/generalize-playbook.md lists them).
"""

from __future__ import annotations

KINDS = ("physical", "vm", "hyperv_host")
DEFAULT_GROUPS = {"physical": "physical", "vm": "vms", "hyperv_host": "hyperv_hosts"}

# Steps of generalize.yml per kind of reference machine, in order.
PREFLIGHT = "preflight"
_REMEDIATION = ("domain_unjoin", "appx_cleanup", "drivers")
_TAIL = ("capture", "verify", "publish")
GENERALIZE_STEPS = {
    "physical": (PREFLIGHT,) + _REMEDIATION + ("sysprep",) + _TAIL,
    "vm": (PREFLIGHT, "hypervisor_prepare") + _REMEDIATION + ("sysprep", "hypervisor_after_sysprep") + _TAIL,
    "hyperv_host": (PREFLIGHT,) + _REMEDIATION + ("hyperv_host", "sysprep") + _TAIL,
}

# The one sequence the playbook walks for every host, skipping the steps a host's kind does not
# plan: all hosts stay at the same task, so Ansible runs each step for them in parallel.
GENERALIZE_SEQUENCE = (PREFLIGHT, "hypervisor_prepare") + _REMEDIATION + (
    "hyperv_host", "sysprep", "hypervisor_after_sysprep") + _TAIL

# refresh.yml, for each reference VM: a throw-away state is generalized, the baseline never is.
REFRESH_PREPARE = ("hypervisor_revert", "hypervisor_start", "windows_update", "refresh_user_tasks",
                   "hypervisor_baseline")
REFRESH_FINISH = ("hypervisor_revert",)

# Steps that talk to Windows or to a hypervisor: what a test hook replaces by default.
WINDOWS_FACING = frozenset((
    "preflight", "domain_unjoin", "appx_cleanup", "drivers", "hyperv_host", "sysprep",
    "hypervisor_inspect", "hypervisor_prepare", "hypervisor_after_sysprep", "hypervisor_revert",
    "hypervisor_start", "hypervisor_baseline", "windows_update", "capture",
))
# Steps that work inside the Windows guest while it must stay up. In the refresh flow a guest that
# stops answering during one of them must not be dropped by Ansible before the final revert: they
# run with ignore_unreachable and are followed by a connection check that fails the step instead.
# (sysprep is not one: the guest powers off at its end, and the sysprep action handles the drops.)
GUEST_STEPS = frozenset((
    "preflight", "domain_unjoin", "appx_cleanup", "drivers", "hyperv_host", "windows_update",
    "refresh_user_tasks",
))
ALL_STEPS = frozenset(step for steps in GENERALIZE_STEPS.values() for step in steps) | frozenset(
    REFRESH_PREPARE) | frozenset(("hypervisor_inspect", "refresh_user_tasks"))

CAPTURE_BACKENDS = ("wimlib", "hyperv_vm", "winpe")
STATUSES = ("published", "checked", "blocked", "failed", "not_run")


class PipelineError(ValueError):
    """The inventory or the pipeline variables cannot be used; the message says what to fix."""


def check_groups(groups):
    """{kind: group name} with every kind named once."""
    groups = dict(DEFAULT_GROUPS, **(groups or {}))
    unknown = sorted(set(groups) - set(KINDS))
    if unknown:
        raise PipelineError("unknown kinds of reference machine %s: the kinds are %s" % (
            ", ".join(unknown), ", ".join(KINDS)))
    names = [groups[kind] for kind in KINDS]
    if any(not isinstance(name, str) or not name for name in names):
        raise PipelineError("each group variable (generalize_group_physical, generalize_group_vms, "
                            "generalize_group_hyperv_hosts) must name an inventory group")
    if len(set(names)) != len(names):
        raise PipelineError("the groups of physical machines, VMs and Hyper-V hosts must differ: %s" % names)
    return groups


def host_kind(host, group_names, groups=None):
    """The kind of a host from the groups it is in; exactly one of the three groups."""
    groups = check_groups(groups)
    member_of = [kind for kind in KINDS if groups[kind] in (group_names or [])]
    if len(member_of) == 1:
        return member_of[0]
    if not member_of:
        raise PipelineError("%s is in none of the groups %s: put it in the group of its kind (physical machine, "
                            "virtual machine or Hyper-V host)" % (host, ", ".join(groups[k] for k in KINDS)))
    raise PipelineError("%s is in several groups (%s): a reference machine is one kind only; remove it from all "
                        "but one" % (host, ", ".join(groups[k] for k in member_of)))


def generalize_steps(kind):
    """Steps of generalize.yml for one kind, in order."""
    if kind not in GENERALIZE_STEPS:
        raise PipelineError("unknown kind %r (expected one of %s)" % (kind, ", ".join(KINDS)))
    return list(GENERALIZE_STEPS[kind])


def refresh_steps():
    """Steps of refresh.yml for one reference VM, in order (the final revert always runs)."""
    return list(REFRESH_PREPARE) + generalize_steps("vm") + list(REFRESH_FINISH)


def capture_plan(kind, hypervisor_kind=None, backend="auto"):
    """Which capture backend and where it runs, and how sysprep leaves the machine.

    - VMs are powered off by sysprep and captured from their disk: on the KVM host with wimlib
      (libvirt), with DISM on the Hyper-V host (hyperv: the capture role's hyperv_vm backend, which
      delegates to the host itself), with wimlib on an image host that can read the VMDK (vmware).
    - Physical machines and Hyper-V hosts are left running after generalize (sysprep /quit) and
      captured by DISM in a WinPE RAM disk booted once: the next Windows boot would run specialize.
    """
    if kind not in KINDS:
        raise PipelineError("unknown kind %r (expected one of %s)" % (kind, ", ".join(KINDS)))
    if backend not in ("auto",) + CAPTURE_BACKENDS:
        raise PipelineError("generalize_capture_backend must be auto or one of %s, not %r" % (
            ", ".join(CAPTURE_BACKENDS), backend))
    if backend == "auto":
        if kind != "vm":
            backend = "winpe"
        elif hypervisor_kind == "hyperv":
            backend = "hyperv_vm"
        elif hypervisor_kind in ("libvirt", "vmware"):
            backend = "wimlib"
        else:
            raise PipelineError("cannot choose a capture backend for a VM without hypervisor_kind (hyperv, vmware "
                                "or libvirt); set hypervisor_kind or generalize_capture_backend")
    if backend == "winpe":
        where, after = "self", "quit"
    elif kind != "vm":
        raise PipelineError("a %s is captured with winpe (it is not a VM whose disk another host can read); "
                            "generalize_capture_backend %s is for VMs" % (kind.replace("_", " "), backend))
    elif backend == "hyperv_vm":
        if hypervisor_kind not in (None, "hyperv"):
            raise PipelineError("capture backend hyperv_vm captures Hyper-V VMs only, not %s VMs" % hypervisor_kind)
        where, after = "hypervisor_host", "poweroff"
    else:
        where = "image_host" if hypervisor_kind == "vmware" else "hypervisor_host"
        after = "poweroff"
    return {"backend": backend, "runs_on": where, "sysprep_after": after}


def hooked(step, hook, hook_steps=None):
    """Whether a test hook replaces ``step`` (docs/generalize-playbook.md, "Test hooks")."""
    if not hook:
        return False
    steps = WINDOWS_FACING if hook_steps is None else set(hook_steps)
    return step in steps


# --------------------------------------------------------------------------- outcomes

def _ids(findings, severity):
    return sorted({f.get("id") for f in findings or [] if isinstance(f, dict)
                   and f.get("severity") == severity and f.get("status") == "fail"})


def host_outcome(name, record, check_mode=False):
    """One host's outcome from what the pipeline recorded (``winimage_pipeline``).

    ``record``: ``kind``, ``planned`` (steps), ``completed`` (steps in the order they finished),
    ``failed`` ({step, msg}) and the results kept along the way (``preflight``, ``capture``,
    ``verify``, ``published``, ``reverted``). A host with no record never started (unreachable,
    or failed before the pipeline).
    """
    record = record or {}
    completed = list(record.get("completed") or [])
    failed = record.get("failed") or None
    planned = list(record.get("planned") or [])
    current = record.get("current") or ""
    if not failed and current:
        # The play ended in the middle of a step: the host became unreachable or the run was stopped.
        failed = {"step": current, "msg": "the host stopped answering during this step (unreachable), or the run "
                                          "was interrupted"}
    if not record:
        status = "not_run"
    elif failed:
        status = "blocked" if failed.get("step") == PREFLIGHT else "failed"
    elif check_mode:
        status = "checked"
    elif "publish" in completed:
        status = "published"
    else:
        status = "not_run" if not completed else "failed"
    capture = record.get("capture") or {}
    verify = record.get("verify") or {}
    published = record.get("published") or {}
    preflight = record.get("preflight") or {}
    outcome = {
        "name": name,
        "kind": record.get("kind"),
        "flow": record.get("flow"),
        "status": status,
        "planned_steps": planned,
        "completed_steps": completed,
        "failed_step": failed.get("step") if failed else None,
        "error": (failed.get("msg") or "failed without a message") if failed else (
            None if record else "never started: unreachable, or failed before the pipeline"),
        "remaining_steps": [step for step in planned if step not in completed
                            and step != (failed or {}).get("step")],
        "preflight": {
            "ready": preflight.get("ready"),
            "blocker_ids": _ids(preflight.get("findings"), "blocker"),
            "warning_ids": _ids(preflight.get("findings"), "warning"),
        } if preflight else None,
        "capture": {key: capture.get(key) for key in ("dest", "index", "sha256", "backend")} if capture else None,
        "verify": {
            "ready": verify.get("ready"),
            "blocker_ids": _ids(verify.get("findings"), "blocker"),
            "warning_ids": _ids(verify.get("findings"), "warning"),
        } if verify else None,
        "published": {key: published.get(key) for key in ("id", "path", "manifest_path")} if published else None,
    }
    if "reverted" in record:
        outcome["reverted"] = bool(record.get("reverted"))
    return outcome


def run_summary(records, check_mode=False, kind="generalize"):
    """The run's summary: one outcome per host plus counts, for summary.json and set_stats."""
    if not isinstance(records, dict):
        raise PipelineError("records must map host name -> winimage_pipeline record")
    hosts = {str(name): host_outcome(str(name), records[name], check_mode) for name in sorted(records, key=str)}
    by_status = {status: sorted(name for name, item in hosts.items() if item["status"] == status)
                 for status in STATUSES}
    return {
        "kind": "winimage.generalize.%s_summary" % kind,
        "check_mode": bool(check_mode),
        "hosts": hosts,
        "counts": {status: len(names) for status, names in by_status.items()},
        "hosts_by_status": by_status,
        "all_succeeded": bool(hosts) and all(
            item["status"] == ("checked" if check_mode else "published") for item in hosts.values()),
    }


def summary_lines(summary):
    """One readable line per host for the end of the play output."""
    lines = []
    for name, item in summary["hosts"].items():
        if item["status"] == "published":
            detail = "published %s" % ((item.get("published") or {}).get("id") or "")
        elif item["status"] == "checked":
            detail = ("inspected on its hypervisor (check mode: nothing else ran)"
                      if item.get("flow") == "refresh" else "preflight passed (check mode: nothing else ran)")
        elif item["status"] in ("failed", "blocked"):
            detail = "stopped at %s: %s" % (item["failed_step"], item["error"])
        else:
            detail = item["error"] or "did not run"
        if "reverted" in item:
            detail += "; %s to its baseline" % ("reverted" if item["reverted"] else "NOT reverted")
        lines.append("%s [%s] %s - %s" % (name, item["kind"] or "?", item["status"], detail.strip()))
    return lines


# --------------------------------------------------------------------------- where the image is

def _basename(path):
    """Last component of a Windows or POSIX path."""
    return str(path).replace("\\", "/").rstrip("/").rsplit("/", maxsplit=1)[-1]


def image_location(backend, capture, capture_host, image_host="localhost", image_dir=""):
    """Where verify and publish read the captured WIM: {host, path}.

    They run Python modules (image_facts, image_publish), so on a Linux host. With ``image_dir``
    the WIM is read on ``image_host`` under that directory (the capture directory as that host
    sees it, e.g. an SMB share mounted there). Otherwise: where wimlib wrote it, or where the
    WinPE status host found it. A WIM written by DISM on a Hyper-V host needs ``image_dir``.
    """
    capture = capture or {}
    dest = capture.get("dest")
    if not dest:
        raise PipelineError("the capture step left no image (winimage_capture.dest is empty)")
    if image_dir:
        return {"host": image_host or "localhost", "path": "%s/%s" % (str(image_dir).rstrip("/"), _basename(dest))}
    if backend == "wimlib":
        return {"host": capture_host or "localhost", "path": dest}
    if backend == "winpe":
        return {"host": capture.get("dest_host") or image_host or "localhost", "path": dest}
    raise PipelineError("the image %s was written on the Windows host %s; set generalize_image_dir to where "
                        "generalize_image_host (a Linux host with wimlib) sees that directory" % (dest, capture_host))
