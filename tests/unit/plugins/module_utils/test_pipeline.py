# Copyright: (c) 2026, winimage.generalize contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""pipeline: which steps each kind of reference machine goes through, and what happened to each host."""

from __future__ import annotations

import pytest

from ansible_collections.winimage.generalize.plugins.module_utils.pipeline import (
    ALL_STEPS,
    GENERALIZE_SEQUENCE,
    PipelineError,
    WINDOWS_FACING,
    capture_plan,
    generalize_steps,
    hooked,
    host_kind,
    refresh_steps,
    run_summary,
    summary_lines,
)


@pytest.mark.parametrize("groups, kind", [
    (["physical"], "physical"), (["vms", "windows"], "vm"), (["hyperv_hosts"], "hyperv_host"),
])
def test_kind_from_the_one_group(groups, kind):
    assert host_kind("h", groups) == kind


def test_group_names_are_configurable():
    groups = {"physical": "metal", "vm": "guests", "hyperv_host": "hv"}
    assert host_kind("h", ["guests"], groups) == "vm"
    with pytest.raises(PipelineError, match="none of the groups metal, guests, hv"):
        host_kind("h", ["vms"], groups)


def test_a_host_in_two_groups_is_refused_by_name():
    with pytest.raises(PipelineError, match="ref01 is in several groups \\(physical, vms\\)"):
        host_kind("ref01", ["physical", "vms"])


@pytest.mark.parametrize("groups, message", [
    ({"physical": "x", "vm": "x"}, "must differ"),
    ({"physical": ""}, "must name an inventory group"),
    ({"cloud": "c"}, "unknown kinds"),
])
def test_bad_group_settings(groups, message):
    with pytest.raises(PipelineError, match=message):
        host_kind("h", [], groups)


def test_steps_per_kind_in_pipeline_order():
    assert generalize_steps("physical") == ["preflight", "domain_unjoin", "appx_cleanup", "drivers", "sysprep",
                                            "capture", "verify", "publish"]
    assert generalize_steps("vm") == ["preflight", "hypervisor_prepare", "domain_unjoin", "appx_cleanup", "drivers",
                                      "sysprep", "hypervisor_after_sysprep", "capture", "verify", "publish"]
    assert generalize_steps("hyperv_host") == ["preflight", "domain_unjoin", "appx_cleanup", "drivers",
                                               "hyperv_host", "sysprep", "capture", "verify", "publish"]


def test_union_order_is_consistent_with_every_kind():
    """The playbook runs one fixed sequence and skips what a kind does not plan: it must fit all kinds."""
    union = list(GENERALIZE_SEQUENCE)
    assert len(set(union)) == len(union)
    for kind in ("physical", "vm", "hyperv_host"):
        steps = generalize_steps(kind)
        assert [s for s in union if s in steps] == steps
    assert set(union) == {s for kind in ("physical", "vm", "hyperv_host") for s in generalize_steps(kind)}


def test_refresh_reverts_first_and_last_and_never_generalizes_the_baseline():
    steps = refresh_steps()
    assert steps[0] == "hypervisor_revert" and steps[-1] == "hypervisor_revert"
    assert steps.index("hypervisor_baseline") < steps.index("sysprep")
    assert steps.index("windows_update") < steps.index("hypervisor_baseline")
    assert steps.index("capture") < steps.index("verify") < steps.index("publish")


@pytest.mark.parametrize("kind, hypervisor, backend, expected", [
    ("physical", None, "auto", ("winpe", "self", "quit")),
    ("hyperv_host", None, "auto", ("winpe", "self", "quit")),
    ("vm", "libvirt", "auto", ("wimlib", "hypervisor_host", "poweroff")),
    ("vm", "hyperv", "auto", ("hyperv_vm", "hypervisor_host", "poweroff")),
    ("vm", "vmware", "auto", ("wimlib", "image_host", "poweroff")),
    ("vm", "libvirt", "winpe", ("winpe", "self", "quit")),
])
def test_capture_plan(kind, hypervisor, backend, expected):
    plan = capture_plan(kind, hypervisor, backend)
    assert (plan["backend"], plan["runs_on"], plan["sysprep_after"]) == expected


@pytest.mark.parametrize("kind, hypervisor, backend, message", [
    ("physical", None, "wimlib", "captured with winpe"),
    ("vm", None, "auto", "without hypervisor_kind"),
    ("vm", "libvirt", "hyperv_vm", "Hyper-V VMs only"),
    ("vm", "libvirt", "dd", "generalize_capture_backend must be"),
    ("cloud", None, "auto", "unknown kind"),
])
def test_capture_plan_errors(kind, hypervisor, backend, message):
    with pytest.raises(PipelineError, match=message):
        capture_plan(kind, hypervisor, backend)


def test_hooks_replace_windows_facing_steps_by_default():
    assert not hooked("sysprep", "")
    assert hooked("sysprep", "/hook.yml") and not hooked("publish", "/hook.yml")
    assert hooked("publish", "/hook.yml", ["publish"]) and not hooked("sysprep", "/hook.yml", ["publish"])
    assert WINDOWS_FACING <= ALL_STEPS


def record(kind, planned, completed, failed=None, **extra):
    return dict({"kind": kind, "planned": planned, "completed": completed, "failed": failed}, **extra)


def test_summary_statuses():
    steps = generalize_steps("physical")
    records = {
        "ok": record("physical", steps, steps, capture={"dest": "/w/ok.wim", "index": 1, "sha256": "ab"},
                     published={"id": "fam-1", "path": "/s/fam-1.wim"}),
        "blocked": record("physical", steps, [], {"step": "preflight", "msg": "pending reboot"}),
        "broke": record("vm", generalize_steps("vm"), steps[:5], {"step": "capture", "msg": "disk busy"},
                        reverted=True),
        "gone": {},
    }
    summary = run_summary(records)
    hosts = summary["hosts"]
    assert hosts["ok"]["status"] == "published" and hosts["ok"]["published"]["id"] == "fam-1"
    assert hosts["blocked"]["status"] == "blocked" and hosts["blocked"]["failed_step"] == "preflight"
    assert hosts["broke"]["status"] == "failed" and hosts["broke"]["reverted"] is True
    assert "verify" in hosts["broke"]["remaining_steps"] and "capture" not in hosts["broke"]["remaining_steps"]
    assert hosts["gone"]["status"] == "not_run"
    assert summary["counts"] == {"published": 1, "checked": 0, "blocked": 1, "failed": 1, "not_run": 1}
    assert summary["all_succeeded"] is False
    lines = summary_lines(summary)
    assert any(line.startswith("broke [vm] failed - stopped at capture: disk busy; reverted") for line in lines)


def test_check_mode_summary():
    records = {"a": record("vm", ["preflight"], ["preflight"])}
    summary = run_summary(records, check_mode=True)
    assert summary["hosts"]["a"]["status"] == "checked" and summary["all_succeeded"] is True
    assert "check mode" in summary_lines(summary)[0]


def test_summary_keeps_only_finding_ids_not_messages():
    findings = [{"id": "pending_reboot", "severity": "blocker", "status": "fail", "message": "secret-free text"}]
    summary = run_summary({"a": record("vm", [], [], preflight={"ready": False, "findings": findings})})
    assert summary["hosts"]["a"]["preflight"] == {"ready": False, "blocker_ids": ["pending_reboot"],
                                                  "warning_ids": []}


@pytest.mark.parametrize("backend, capture, capture_host, image_dir, expected", [
    ("wimlib", {"dest": "/srv/wim/a.wim"}, "kvm01", "", {"host": "kvm01", "path": "/srv/wim/a.wim"}),
    ("winpe", {"dest": "/mnt/cap/a.wim", "dest_host": "store01"}, "ref", "",
     {"host": "store01", "path": "/mnt/cap/a.wim"}),
    ("hyperv_vm", {"dest": "D:\\Images\\a.wim"}, "hv01", "/mnt/hv01-images/",
     {"host": "img", "path": "/mnt/hv01-images/a.wim"}),
    ("wimlib", {"dest": "/srv/wim/a.wim"}, "kvm01", "/export/wim", {"host": "img", "path": "/export/wim/a.wim"}),
])
def test_image_location(backend, capture, capture_host, image_dir, expected):
    from ansible_collections.winimage.generalize.plugins.module_utils.pipeline import image_location
    assert image_location(backend, capture, capture_host, "img", image_dir) == expected


def test_image_location_needs_a_linux_view_of_a_windows_capture():
    from ansible_collections.winimage.generalize.plugins.module_utils.pipeline import image_location
    with pytest.raises(PipelineError, match="set generalize_image_dir"):
        image_location("hyperv_vm", {"dest": "D:\\Images\\a.wim"}, "hv01")
    with pytest.raises(PipelineError, match="left no image"):
        image_location("wimlib", {}, "kvm01")


def test_a_run_that_ended_inside_a_step_names_the_step():
    """An unreachable host is dropped by Ansible in the middle of a step: the record still says which."""
    summary = run_summary({"a": record("vm", generalize_steps("vm"), ["preflight"], current="hypervisor_prepare")})
    outcome = summary["hosts"]["a"]
    assert outcome["status"] == "failed" and outcome["failed_step"] == "hypervisor_prepare"
    assert "unreachable" in outcome["error"]
