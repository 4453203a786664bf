# Copyright: (c) 2026, winimage.generalize contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Decisions about reference virtual machines, seen from their hypervisor (Hyper-V, VMware, libvirt).

Seed "Virtual deployment" (TechNet Magazine, May 2008): snapshots and differencing disks of a VM
that is generalized must be destroyed (or have had sysprep run on them) before the machine is
duplicated, because reverting one brings back a machine that conflicts with its clones; and MAC
addresses must not be duplicated when the virtualization software does not change them itself.
Microsoft's "Sysprep (Generalize) a Windows installation": ``/mode:vm`` only for a VHD deployed on
the same virtual machine or hypervisor, run from inside the VM, Windows 8 / Server 2012 and later.

The roles read the hypervisor with its own modules or small commands and pass the data here.
"""

from __future__ import annotations

import re
from xml.etree import ElementTree

KINDS = ("hyperv", "vmware", "libvirt")
CHECKPOINT_POLICIES = ("refuse", "remove")

# The first build with sysprep /mode:vm (Windows 8 / Windows Server 2012).
FIRST_BUILD_MODE_VM = 9200

# Power states in each hypervisor's words -> one vocabulary.
_POWER_STATES = {
    "running": "running", "poweredon": "running", "powered-on": "running", "on": "running",
    "off": "off", "poweredoff": "off", "powered-off": "off", "shutdown": "off", "shut off": "off",
    "shutoff": "off", "stopped": "off",
    "paused": "paused", "suspended": "suspended", "pmsuspended": "suspended", "saved": "suspended",
    "starting": "transition", "stopping": "transition", "saving": "transition", "in shutdown": "transition",
    "crashed": "crashed", "blocked": "running",
}

# Hyper-V integration services the pipeline relies on: Heartbeat (the VM state is known) and
# Shutdown (a clean power-off from the host). Names as Get-VMIntegrationService prints them
# on Windows Server 2016 and later; "Guest Service Interface" is optional.
REQUIRED_INTEGRATION_SERVICES = ("Heartbeat", "Shutdown")


class HypervisorError(ValueError):
    """Input the decisions cannot use; the message says what to fix."""


def _bool(value, name):
    if isinstance(value, bool):
        return value
    if value is None:
        return False
    if isinstance(value, int):
        return bool(value)
    text = str(value).strip().lower()
    if text in ("true", "yes", "on", "1"):
        return True
    if text in ("false", "no", "off", "0", ""):
        return False
    raise HypervisorError("%s must be true or false, not %r" % (name, value))


def check_kind(kind):
    if kind not in KINDS:
        raise HypervisorError("hypervisor_kind must be one of %s, not %r: set it in the inventory for every "
                              "host of the VM group" % (", ".join(KINDS), kind))
    return kind


# --------------------------------------------------------------------------- power state

def power_state(raw):
    """A hypervisor's power state word -> running | off | paused | suspended | transition | crashed | unknown."""
    if raw is None:
        return "unknown"
    text = re.sub(r"\s+", " ", str(raw).strip().lower())
    text = text.replace("_", "")
    if text in _POWER_STATES:
        return _POWER_STATES[text]
    compact = text.replace(" ", "")
    return _POWER_STATES.get(compact, "unknown")


# --------------------------------------------------------------------------- sysprep /mode:vm

def mode_vm_decision(same_hypervisor_deploy, facts=None):
    """Whether sysprep runs with /mode:vm, and why.

    Only when the user says the image is redeployed on the same hypervisor: Microsoft documents
    VM mode only for a VHD deployed on the same VM or hypervisor, run inside the VM, from
    Windows 8 / Server 2012. When asked for on a machine that cannot use it, it is refused with
    the reason rather than silently dropped.
    """
    wanted = _bool(same_hypervisor_deploy, "hypervisor_same_hypervisor_deploy")
    if not wanted:
        return {"mode_vm": False, "problem": None,
                "reason": "The image may be deployed to other hypervisors or hardware; /mode:vm is only for "
                          "redeploying on the same virtual machine or hypervisor."}
    facts = facts or {}
    virtual = (facts.get("virtualization") or {}).get("is_virtual")
    build = (facts.get("os") or {}).get("build")
    if virtual is False:
        return {"mode_vm": False, "reason": None,
                "problem": "hypervisor_same_hypervisor_deploy is true but this machine is not a virtual machine; "
                           "Microsoft supports /mode:vm only inside a VM."}
    if isinstance(build, int) and build < FIRST_BUILD_MODE_VM:
        return {"mode_vm": False, "reason": None,
                "problem": "hypervisor_same_hypervisor_deploy is true but build %d predates Windows 8 / Server 2012, "
                           "the first release with /mode:vm." % build}
    return {"mode_vm": True, "problem": None,
            "reason": "The image is redeployed on the same hypervisor (hypervisor_same_hypervisor_deploy): "
                      "sysprep runs with /mode:vm."}


# --------------------------------------------------------------------------- checkpoints

def _checkpoint_name(item):
    if isinstance(item, dict):
        for key in ("name", "Name", "snapshot_name"):
            if item.get(key) not in (None, ""):
                return str(item[key])
        raise HypervisorError("a checkpoint without a name: %r" % (item,))
    if item in (None, ""):
        raise HypervisorError("a checkpoint without a name")
    return str(item)


def is_baseline(name, prefix):
    """Checkpoints the refresh flow owns: exactly ``prefix`` or ``prefix-<stamp>``."""
    return bool(prefix) and (name == prefix or name.startswith(prefix + "-"))


def checkpoint_plan(checkpoints, policy="refuse", baseline_prefix="", external=()):
    """What to do with a reference VM's checkpoints before sysprep.

    ``policy``: ``refuse`` stops with the list; ``remove`` deletes them (Hyper-V merges the
    differencing disks into the VM's disk, VMware consolidates, libvirt drops internal snapshots).
    Checkpoints named like the refresh baseline (``baseline_prefix``) are kept: the refresh flow
    reverts to them right after the capture, so the generalized state is never kept or cloned.
    ``external``: names of libvirt external (disk-only overlay) snapshots, which cannot be removed
    by deleting metadata; they are refused whatever the policy.
    """
    if policy not in CHECKPOINT_POLICIES:
        raise HypervisorError("hypervisor_checkpoint_policy must be one of %s, not %r"
                              % (", ".join(CHECKPOINT_POLICIES), policy))
    names = [_checkpoint_name(item) for item in (checkpoints or [])]
    baselines = [name for name in names if is_baseline(name, baseline_prefix)]
    others = [name for name in names if name not in baselines]
    external = set(external or ())
    blocked_external = [name for name in others if name in external]
    if not others:
        return {"action": "none", "remove": [], "keep": baselines, "problem": None,
                "message": ("No checkpoints." if not baselines else
                            "Only refresh baselines (%s): kept, the VM is reverted to one after the capture."
                            % ", ".join(baselines))}
    if blocked_external:
        return {"action": "refuse", "remove": [], "keep": baselines,
                "problem": "External snapshots %s are overlays the VM runs on; merge them into the base disk "
                           "(virsh blockcommit --pivot) and delete their metadata before sysprep."
                           % ", ".join(blocked_external),
                "message": None}
    if policy == "refuse":
        return {"action": "refuse", "remove": [], "keep": baselines,
                "problem": "The reference VM has checkpoints: %s. Reverting one after the image was cloned brings "
                           "back a machine that conflicts with its clones (seed: Virtual deployment). Delete or "
                           "merge them, set hypervisor_checkpoint_policy: remove, or use the refresh playbook."
                           % ", ".join(others),
                "message": None}
    return {"action": "remove", "remove": others, "keep": baselines, "problem": None,
            "message": "Removing checkpoints %s before sysprep (their changes are merged into the VM's disk)."
                       % ", ".join(others)}


def baseline_plan(checkpoints, prefix, keep=2, stamp=""):
    """The refresh flow's baselines: which to revert to, the new one's name, which to delete.

    Baselines are named ``prefix-<stamp>`` with a sortable stamp (UTC, 20260301T020000Z), so the
    newest is the last in name order; a checkpoint named exactly ``prefix`` (taken by hand) is
    the oldest. After the new baseline is taken, all but the ``keep`` newest are deleted.
    """
    if not prefix or not re.match(r"^[A-Za-z0-9][A-Za-z0-9._-]*$", str(prefix)):
        raise HypervisorError("refresh_baseline_prefix must be a name of letters, digits, '.', '_' and '-', "
                              "not %r" % (prefix,))
    try:
        keep = int(keep)
    except (TypeError, ValueError):
        raise HypervisorError("hypervisor_keep_baselines must be a number, not %r" % (keep,)) from None
    if keep < 1:
        raise HypervisorError("hypervisor_keep_baselines must be at least 1 (the baseline the VM is reverted to)")
    names = [_checkpoint_name(item) for item in (checkpoints or [])]
    baselines = sorted((name for name in names if is_baseline(name, prefix)),
                       key=lambda name: (name != prefix, name))
    new_name = "%s-%s" % (prefix, stamp) if stamp else None
    after_new = baselines + ([new_name] if new_name and new_name not in baselines else [])
    return {
        "baselines": baselines,
        "revert_to": baselines[-1] if baselines else None,
        "new_name": new_name,
        "delete_after_new": after_new[:-keep] if len(after_new) > keep else [],
        "others": [name for name in names if name not in baselines],
    }


# --------------------------------------------------------------------------- network adapters

def _mac(value):
    if value in (None, ""):
        return None
    text = re.sub(r"[^0-9A-Fa-f]", "", str(value)).upper()
    return text if len(text) == 12 else None


def _adapter_view(adapter):
    """{name, mac, dynamic} from the role's Hyper-V read, a VMware device or a libvirt interface."""
    if not isinstance(adapter, dict):
        raise HypervisorError("a network adapter must be a mapping, got %r" % (adapter,))
    info = adapter.get("deviceInfo") if isinstance(adapter.get("deviceInfo"), dict) else {}
    name = adapter.get("name") or adapter.get("label") or info.get("label") or "?"
    mac = adapter.get("mac") or adapter.get("mac_address") or adapter.get("macAddress")
    dynamic = adapter.get("dynamic")
    address_type = adapter.get("address_type", adapter.get("addressType"))
    if dynamic is None and address_type is not None:
        # VMware VirtualEthernetCard.addressType: manual | generated | assigned.
        dynamic = str(address_type).lower() in ("generated", "assigned")
    return {"name": str(name), "mac": _mac(mac), "dynamic": dynamic}


def vmware_adapters(devices):
    """The network cards among a VM's config.hardware.device (they are the devices with a MAC)."""
    return [_adapter_view(device) for device in devices or []
            if isinstance(device, dict) and ("macAddress" in device or "addressType" in device)]


def libvirt_interfaces(domain_xml):
    """The network interfaces of a libvirt domain XML; their MACs are written in the XML."""
    try:
        root = ElementTree.fromstring(domain_xml)
    except ElementTree.ParseError as error:
        raise HypervisorError("the libvirt domain XML cannot be parsed: %s" % error) from None
    adapters = []
    for index, interface in enumerate(root.findall("./devices/interface")):
        mac = interface.find("mac")
        target = interface.find("target")
        adapters.append({"name": (target.get("dev") if target is not None else None) or "interface%d" % index,
                         "mac": _mac(mac.get("address")) if mac is not None else None,
                         "dynamic": False})
    return adapters


def static_mac_plan(kind, adapters, reset=True):
    """Network adapters with a static MAC address, and what to do about them.

    A static MAC is copied with every clone of the VM (or its template), so clones collide on
    the network (seed: Virtual deployment). On Hyper-V the role sets them back to dynamic after
    the power-off; VMware keeps manual MACs in clones of a template, so the role refuses to turn
    such a VM into a template; libvirt clones get new MACs from virt-clone, and a WIM does not
    carry a MAC at all, so there it is information only.
    """
    check_kind(kind)
    static = [{"name": view["name"], "mac": view["mac"]}
              for view in (_adapter_view(adapter) for adapter in adapters or []) if view["dynamic"] is False]
    reset = _bool(reset, "hypervisor_reset_static_mac")
    if not static:
        return {"static": [], "reset": [], "problem": None, "message": "No static MAC addresses."}
    names = ", ".join("%s (%s)" % (item["name"], item["mac"] or "?") for item in static)
    if kind == "hyperv":
        if reset:
            return {"static": static, "reset": [item["name"] for item in static], "problem": None,
                    "message": "Setting static MAC addresses back to dynamic: %s." % names}
        return {"static": static, "reset": [], "problem": None,
                "message": "Static MAC addresses kept (hypervisor_reset_static_mac: false): %s. Every copy of this "
                           "VM's configuration collides on the network." % names}
    if kind == "vmware":
        return {"static": static, "reset": [], "problem": None,
                "message": "Manual MAC addresses %s: VMware copies them into clones of a template. Change them to "
                           "generated before converting the VM to a template." % names}
    return {"static": static, "reset": [], "problem": None,
            "message": "The domain XML fixes MAC addresses %s; virt-clone gives clones new ones, the WIM does not "
                       "carry them." % names}


def integration_services_plan(services, required=REQUIRED_INTEGRATION_SERVICES, enable=True):
    """Hyper-V integration services (Get-VMIntegrationService): which to enable for the pipeline."""
    known = {}
    for service in services or []:
        if isinstance(service, dict) and service.get("name"):
            known[str(service["name"]).lower()] = _bool(service.get("enabled"), "enabled")
    missing = [name for name in required if name.lower() not in known]
    disabled = [name for name in required if known.get(name.lower()) is False]
    enable = _bool(enable, "hypervisor_enable_integration_services")
    problem = None
    if missing:
        problem = ("Integration services %s are not listed for this VM; the pipeline needs them to see the VM "
                   "and shut it down cleanly. Install the integration components in the guest." % ", ".join(missing))
    elif disabled and not enable:
        problem = ("Integration services %s are disabled; enable them or set hypervisor_enable_integration_services: "
                   "true." % ", ".join(disabled))
    return {"enable": disabled if enable else [], "disabled": disabled, "missing": missing, "problem": problem}


# --------------------------------------------------------------------------- libvirt disks

def libvirt_disks(domain_xml):
    """The disks of a libvirt domain (``virsh dumpxml``): target, source, type, format, device, boot order."""
    try:
        root = ElementTree.fromstring(domain_xml)
    except ElementTree.ParseError as error:
        raise HypervisorError("the libvirt domain XML cannot be parsed: %s" % error) from None
    if root.tag != "domain":
        raise HypervisorError("this is not a libvirt domain XML (root element <%s>)" % root.tag)
    disks = []
    for disk in root.findall("./devices/disk"):
        source = disk.find("source")
        target = disk.find("target")
        driver = disk.find("driver")
        boot = disk.find("boot")
        location = None
        if source is not None:
            location = source.get("file") or source.get("dev") or source.get("name") or source.get("volume")
        backing = []
        store = disk.find("backingStore")
        while store is not None and store.find("source") is not None:
            backing_source = store.find("source")
            backing.append(backing_source.get("file") or backing_source.get("dev") or backing_source.get("name"))
            store = store.find("backingStore")
        disks.append({
            "device": disk.get("device", "disk"),
            "type": disk.get("type"),
            "source": location,
            "target": target.get("dev") if target is not None else None,
            "bus": target.get("bus") if target is not None else None,
            "format": driver.get("type") if driver is not None else None,
            "boot_order": int(boot.get("order")) if boot is not None and str(boot.get("order", "")).isdigit()
            else None,
            "backing": [item for item in backing if item],
        })
    return disks


def capture_disk(disks, target=""):
    """The disk to capture: the named target, else the disk that boots first, else the first disk."""
    candidates = [disk for disk in disks or [] if disk.get("device") == "disk" and disk.get("source")]
    if target:
        chosen = [disk for disk in candidates if disk.get("target") == target]
        if not chosen:
            raise HypervisorError("the VM has no disk with target %s; its disks are %s" % (
                target, ", ".join("%s (%s)" % (d.get("target"), d.get("source")) for d in candidates) or "none"))
        return chosen[0]
    if not candidates:
        raise HypervisorError("the VM has no disk with a local source to capture; set capture_src to the "
                              "Windows disk yourself")
    booting = sorted((disk for disk in candidates if disk.get("boot_order")), key=lambda disk: disk["boot_order"])
    return booting[0] if booting else candidates[0]


def parse_virsh_names(text):
    """``virsh snapshot-list --name`` (or any ``--name`` listing) -> names, blank lines dropped."""
    return [line.strip() for line in str(text or "").splitlines() if line.strip()]
