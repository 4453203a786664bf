# Copyright: (c) 2026, winimage.generalize contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Decisions for generalizing a Hyper-V host, the machine that is itself the reference.

Seed "What happens when you Sysprep a system running Hyper-V": from Windows Server 2008 R2 the
Hyper-V sysprep provider clears the installation date and the dynamic MAC address range in the
generalize pass and re-enables the hypervisor launch in the new boot configuration in the
specialize pass. Windows Server 2008 (kernel 6.0) has no such provider, so there the range must
be cleared explicitly and the launch type restored by the answer file. Microsoft's "Sysprep
support for server roles" adds that virtual networks must be deleted before sysprep and created
again on the deployed host, which is why the switches are recorded first.

The role (roles/hyperv_host) reads the host's state with small read-only PowerShell steps and
hands the data to these functions; every decision is made here.
"""

from __future__ import annotations

import re

RECORD_KIND = "winimage.generalize.hyperv_switches"
RECORD_SCHEMA_VERSION = "1.0"

# Microsoft.HyperV.PowerShell.VMSwitchType: PowerShell's ConvertTo-Json writes the number.
SWITCH_TYPES = {0: "Private", 1: "Internal", 2: "External"}
_SWITCH_TYPE_NAMES = {name.lower(): name for name in SWITCH_TYPES.values()}

# Kernel version without a Hyper-V sysprep provider (Windows Server 2008).
VERSION_WITHOUT_PROVIDER = (6, 0)

_MAC_HEX = re.compile(r"^[0-9A-F]{12}$")
_TRISTATE = ("auto", True, False)


class HyperVHostError(ValueError):
    """Input the decisions cannot use; the message says what to fix."""


# --------------------------------------------------------------------------- small readers

def _bool(value, name):
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "yes", "on", "1"):
        return True
    if isinstance(value, str) and value.strip().lower() in ("false", "no", "off", "0", ""):
        return False
    if value is None:
        return False
    if isinstance(value, int):
        return bool(value)
    raise HyperVHostError("%s must be true or false, not %r" % (name, value))


def _tristate(value, name):
    """'auto', true or false (strings accepted, as Ansible templating may produce them)."""
    if isinstance(value, str) and value.strip().lower() == "auto":
        return "auto"
    try:
        return _bool(value, name)
    except HyperVHostError:
        raise HyperVHostError("%s must be auto, true or false, not %r" % (name, value)) from None


def parse_version(value):
    """'6.0' / '10.0' / (6, 0) -> (6, 0); None when unknown."""
    if value is None or value == "":
        return None
    if isinstance(value, (tuple, list)):
        return tuple(int(part) for part in value[:2])
    match = re.match(r"^\s*(\d+)\.(\d+)", str(value))
    if not match:
        raise HyperVHostError("os.version must look like '6.0' or '10.0', not %r" % (value,))
    return int(match.group(1)), int(match.group(2))


def normalize_mac(value):
    """A MAC address in any usual spelling (or the registry's bytes) -> '00155D0A3C00'; None if empty."""
    if value is None or value == "" or value == []:
        return None
    if isinstance(value, (list, tuple)):
        # win_reg_stat returns REG_BINARY as a list of hex strings ('0x00') or integers.
        try:
            octets = [int(item, 16) if isinstance(item, str) else int(item) for item in value]
        except ValueError:
            raise HyperVHostError("cannot read %r as the bytes of a MAC address" % (value,)) from None
        text = "".join("%02X" % octet for octet in octets)
    else:
        text = re.sub(r"[^0-9A-Fa-f]", "", str(value)).upper()
    if not _MAC_HEX.match(text):
        raise HyperVHostError("%r is not a MAC address (12 hexadecimal digits)" % (value,))
    return text


def switch_type(value):
    """Get-VMSwitch SwitchType (number or name) -> 'External' | 'Internal' | 'Private'."""
    if isinstance(value, bool):
        raise HyperVHostError("switch type %r is neither a number nor a name" % (value,))
    if isinstance(value, int):
        if value in SWITCH_TYPES:
            return SWITCH_TYPES[value]
    elif isinstance(value, str):
        text = value.strip()
        if text.isdigit() and int(text) in SWITCH_TYPES:
            return SWITCH_TYPES[int(text)]
        if text.lower() in _SWITCH_TYPE_NAMES:
            return _SWITCH_TYPE_NAMES[text.lower()]
    raise HyperVHostError("unknown virtual switch type %r: expected External, Internal or Private" % (value,))


def _strings(value):
    if value is None:
        return []
    if isinstance(value, str):
        return [value] if value else []
    return [str(item) for item in value if item not in (None, "")]


# --------------------------------------------------------------------------- switches

def normalize_switch(raw):
    """One Get-VMSwitch object (as JSON) -> the recorded shape.

    Keys read: Name, SwitchType, NetAdapterInterfaceDescription(s), AllowManagementOS,
    EmbeddedTeamingEnabled, IovEnabled, BandwidthReservationMode, Notes (snake_case accepted too).
    """
    if not isinstance(raw, dict):
        raise HyperVHostError("a virtual switch must be a mapping, got %s" % type(raw).__name__)

    def pick(*names):
        for name in names:
            if name in raw and raw[name] is not None:
                return raw[name]
        return None

    name = pick("Name", "name")
    if not name:
        raise HyperVHostError("a virtual switch without a name: %r" % (raw,))
    kind = switch_type(pick("SwitchType", "switch_type", "type"))
    descriptions = _strings(pick("NetAdapterInterfaceDescriptions", "net_adapter_interface_descriptions"))
    if not descriptions:
        descriptions = _strings(pick("NetAdapterInterfaceDescription", "net_adapter_interface_description",
                                     "adapter"))
    if kind != "External":
        descriptions = []
    bandwidth = pick("BandwidthReservationMode", "bandwidth_reservation_mode")
    return {
        "name": str(name),
        "switch_type": kind,
        "net_adapter_interface_descriptions": descriptions,
        "allow_management_os": _bool(pick("AllowManagementOS", "allow_management_os"), "AllowManagementOS")
        if kind == "External" else kind == "Internal",
        "embedded_teaming": _bool(pick("EmbeddedTeamingEnabled", "embedded_teaming"), "EmbeddedTeamingEnabled"),
        "iov_enabled": _bool(pick("IovEnabled", "iov_enabled"), "IovEnabled"),
        "bandwidth_reservation_mode": _bandwidth_mode(bandwidth),
        "notes": str(pick("Notes", "notes") or ""),
    }


# Microsoft.HyperV.PowerShell.VMSwitchBandwidthMode: Default, Weight, Absolute, None.
_BANDWIDTH_MODES = {0: "Default", 1: "Weight", 2: "Absolute", 3: "None"}


def _bandwidth_mode(value):
    if value is None or value == "":
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return _BANDWIDTH_MODES.get(value)
    text = str(value).strip()
    if text.isdigit():
        return _BANDWIDTH_MODES.get(int(text))
    for known in _BANDWIDTH_MODES.values():
        if known.lower() == text.lower():
            return known
    return None


def switch_record(switches, source_host, recorded_at, mac_address_minimum=None, mac_address_maximum=None):
    """The JSON document the role writes on the controller and into the image.

    It holds what a post-deployment step needs to create the switches again and to prove the
    dynamic MAC address range was regenerated. It holds no secret (switches have none).
    """
    if switches is None:
        switches = []
    if isinstance(switches, dict):
        switches = [switches]
    if not isinstance(switches, list):
        raise HyperVHostError("switches must be the list Get-VMSwitch returned, got %s" % type(switches).__name__)
    normalized = [normalize_switch(item) for item in switches]
    names = [item["name"] for item in normalized]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise HyperVHostError("several virtual switches are named %s: Hyper-V allows it, but they cannot be "
                              "told apart when recreated; rename them first" % ", ".join(duplicates))
    return {
        "schema_version": RECORD_SCHEMA_VERSION,
        "kind": RECORD_KIND,
        "source_host": source_host,
        "recorded_at": recorded_at,
        "mac_address_minimum": normalize_mac(mac_address_minimum),
        "mac_address_maximum": normalize_mac(mac_address_maximum),
        "switches": sorted(normalized, key=lambda item: item["name"].lower()),
    }


def check_record(record):
    """Raise HyperVHostError unless ``record`` is a switch record this version reads."""
    if not isinstance(record, dict) or record.get("kind") != RECORD_KIND:
        raise HyperVHostError("this is not a Hyper-V switch record (kind %s expected); use the file the "
                              "winimage.generalize.hyperv_host role wrote" % RECORD_KIND)
    major = str(record.get("schema_version", "")).split(".", maxsplit=1)[0]
    supported = RECORD_SCHEMA_VERSION.split(".", maxsplit=1)[0]
    if major != supported:
        raise HyperVHostError("switch record schema_version %r is not supported (expected %s.x)"
                              % (record.get("schema_version"), supported))
    if not isinstance(record.get("switches"), list):
        raise HyperVHostError("the switch record has no switches list")
    return record


# --------------------------------------------------------------------------- before sysprep

def _vm_names(vms):
    return [str(vm.get("name") or vm.get("Name")) for vm in (vms or []) if isinstance(vm, dict)]


def prepare_plan(state, os_version, options=None):
    """What the role does to this Hyper-V host before sysprep.

    ``state``: what the role read on the host - ``vms`` (list of {name, state, checkpoints}),
    ``switches`` (Get-VMSwitch objects), ``mac_address_minimum``/``maximum``.
    ``os_version``: kernel version ('6.0' is Windows Server 2008).
    ``options``: ``allow_vms`` (bool), ``remove_switches`` (bool),
    ``remove_management_switches`` (bool), ``clear_mac_range`` and
    ``restore_hypervisor_launch`` ('auto', true or false).

    Returns ``refusals`` (stop before changing anything), ``warnings``, the switch
    ``record_switches`` (always recorded), ``remove_switches`` / ``keep_switches`` (with why),
    ``clear_mac_range`` and ``answer_file_settings`` (merged by the sysprep role).
    """
    options = dict(options or {})
    allow_vms = _bool(options.get("allow_vms", False), "allow_vms")
    remove_switches = _bool(options.get("remove_switches", True), "remove_switches")
    remove_management = _bool(options.get("remove_management_switches", False), "remove_management_switches")
    clear_mac = _tristate(options.get("clear_mac_range", "auto"), "clear_mac_range")
    restore_launch = _tristate(options.get("restore_hypervisor_launch", "auto"), "restore_hypervisor_launch")
    if not isinstance(state, dict):
        raise HyperVHostError("state must be the mapping read on the host (vms, switches, MAC range)")

    version = parse_version(os_version)
    refusals, warnings = [], []
    vms = state.get("vms")
    if vms is None:
        refusals.append("Could not read which virtual machines are registered on this host; a missing fact "
                        "is never a pass. Check that the Hyper-V PowerShell module works (Get-VM).")
        vms = []
    names = _vm_names(vms)
    if names and not allow_vms:
        refusals.append("Virtual machines are registered on this Hyper-V host: %s. They would be cloned with the "
                        "image onto every deployed host. Move or remove them, or set hyperv_host_allow_vms: true "
                        "when they are meant to ship with the image." % ", ".join(names))
    elif names:
        warnings.append("hyperv_host_allow_vms is true: the virtual machines %s stay registered and ship with "
                        "the image; every deployed host gets the same VMs, with the same names and paths."
                        % ", ".join(names))
    with_checkpoints = [str(vm.get("name")) for vm in vms if isinstance(vm, dict) and (vm.get("checkpoints") or 0) > 0]
    if with_checkpoints:
        refusals.append("Virtual machines on this host have checkpoints (%s): reverting one on a deployed host "
                        "brings back a machine that conflicts with its clones. Delete or merge them first; "
                        "hyperv_host_allow_vms does not cover checkpoints." % ", ".join(with_checkpoints))

    switches = [normalize_switch(item) for item in (state.get("switches") or [])]
    remove, keep = [], []
    for switch in switches:
        if not remove_switches:
            keep.append({"name": switch["name"], "reason": "hyperv_host_remove_switches is false"})
        elif switch["allow_management_os"] and switch["switch_type"] == "External" and not remove_management:
            keep.append({"name": switch["name"], "reason": "the management OS shares it (AllowManagementOS): removing "
                                                           "it can cut the connection Ansible uses"})
        else:
            remove.append(switch["name"])
    if remove and state.get("can_remove_switches") is False:
        refusals.append("These virtual switches must be deleted before sysprep, but this host has no Hyper-V "
                        "PowerShell module to do it: %s. Delete them in Hyper-V Manager (Virtual Network Manager), "
                        "or set hyperv_host_remove_switches: false to keep them (unsupported by Microsoft)."
                        % ", ".join(remove))
    if keep and remove_switches:
        refusals.append("These virtual switches cannot be removed safely: %s. Microsoft requires virtual networks to "
                        "be deleted before sysprep. Connect Ansible through an adapter that is not bound to a "
                        "switch and set hyperv_host_remove_management_switches: true, or remove them yourself."
                        % "; ".join("%s (%s)" % (k["name"], k["reason"]) for k in keep))
    elif keep:
        warnings.append("Virtual switches stay in the image (%s); Microsoft does not support sysprep with Hyper-V "
                        "virtual networks." % ", ".join(k["name"] for k in keep))

    without_provider = version is not None and version <= VERSION_WITHOUT_PROVIDER
    if version is None and (clear_mac == "auto" or restore_launch == "auto"):
        refusals.append("The Windows version of this host is unknown (facts os.version), so it is unknown whether a "
                        "Hyper-V sysprep provider clears the MAC address range. Gather the facts again, or set "
                        "hyperv_host_clear_mac_range and hyperv_host_restore_hypervisor_launch explicitly.")
    clear = without_provider if clear_mac == "auto" else clear_mac
    restore = without_provider if restore_launch == "auto" else restore_launch
    mac_min = normalize_mac(state.get("mac_address_minimum"))
    mac_max = normalize_mac(state.get("mac_address_maximum"))
    if without_provider and clear_mac is False:
        warnings.append("hyperv_host_clear_mac_range is false on Windows Server 2008, which has no Hyper-V sysprep "
                        "provider: every host deployed from this image hands out the same MAC addresses.")
    if without_provider and restore_launch is False:
        warnings.append("hyperv_host_restore_hypervisor_launch is false on Windows Server 2008: run `bcdedit /set "
                        "hypervisorlaunchtype auto` on each deployed host or Hyper-V will not start.")

    return {
        "os_version": "%d.%d" % version if version else None,
        "sysprep_provider": None if version is None else not without_provider,
        "vms": names,
        "refusals": refusals,
        "warnings": warnings,
        "record_switches": switches,
        "remove_switches": remove,
        "keep_switches": keep,
        "clear_mac_range": bool(clear) and bool(mac_min or mac_max or state.get("mac_range_present")),
        "mac_address_minimum": mac_min,
        "mac_address_maximum": mac_max,
        "answer_file_settings": answer_file_settings(bool(restore)),
    }


def answer_file_settings(restore_hypervisor_launch):
    """The answer-file settings fragment (docs/answer-file.md) the sysprep role merges."""
    if not restore_hypervisor_launch:
        return {}
    # The builder appends `%WINDIR%\System32\bcdedit.exe /set hypervisorlaunchtype auto` as a
    # specialize RunSynchronous command (unless one already sets hypervisorlaunchtype).
    return {"specialize": {"restore_hypervisor_launch": True}}


# --------------------------------------------------------------------------- after deployment

def hypervisor_check(hypervisor_present, launch_type=None):
    """Win32_ComputerSystem HypervisorPresent and the BCD hypervisorlaunchtype -> verdict."""
    present = None if hypervisor_present is None else _bool(hypervisor_present, "HypervisorPresent")
    launch = (str(launch_type).strip() or None) if launch_type is not None else None
    if present:
        return {"ok": True, "hypervisor_present": True, "launch_type": launch,
                "message": "The hypervisor is running."}
    if present is None:
        return {"ok": False, "hypervisor_present": None, "launch_type": launch,
                "message": "Could not tell whether the hypervisor runs (Win32_ComputerSystem HypervisorPresent "
                           "was not read)."}
    if launch is not None and launch.lower() != "auto":
        hint = ("the boot configuration has hypervisorlaunchtype %s: run `bcdedit /set hypervisorlaunchtype auto` "
                "and restart (the answer file's specialize command did not run or was not in it)" % launch)
    else:
        hint = ("hypervisorlaunchtype is %s; restart once more, and check virtualization support is enabled "
                "in the firmware" % (launch or "not set"))
    return {"ok": False, "hypervisor_present": False, "launch_type": launch,
            "message": "The hypervisor is not running: %s." % hint}


def mac_range_check(source_minimum, source_maximum, current_minimum, current_maximum):
    """Whether the deployed host has its own dynamic MAC address range, not the reference's."""
    source = (normalize_mac(source_minimum), normalize_mac(source_maximum))
    current = (normalize_mac(current_minimum), normalize_mac(current_maximum))
    if current == (None, None):
        return {"regenerated": False, "source": list(source), "current": list(current),
                "message": "This host has no dynamic MAC address range yet; Hyper-V creates one when its "
                           "management service starts. Restart the Virtual Machine Management service (vmms) "
                           "and check again."}
    if source == (None, None):
        return {"regenerated": None, "source": list(source), "current": list(current),
                "message": "The reference host's MAC address range was not recorded, so a copy cannot be told "
                           "apart; compare the ranges of your Hyper-V hosts by hand."}
    if current == source:
        return {"regenerated": False, "source": list(source), "current": list(current),
                "message": "This host hands out the reference host's MAC address range %s-%s: hosts deployed "
                           "from the image will collide. Clear the range (MinimumMacAddress/MaximumMacAddress) "
                           "and restart vmms." % source}
    overlap = _ranges_overlap(source, current)
    return {"regenerated": not overlap, "source": list(source), "current": list(current),
            "message": ("This host's MAC address range %s-%s overlaps the reference's %s-%s." % (current + source))
            if overlap else "The dynamic MAC address range was regenerated (%s-%s)." % current}


def _ranges_overlap(first, second):
    if None in first or None in second:
        return first == second
    low1, high1 = (int(value, 16) for value in first)
    low2, high2 = (int(value, 16) for value in second)
    return low1 <= high2 and low2 <= high1


def _adapter_field(adapter, *names):
    for name in names:
        if isinstance(adapter, dict) and adapter.get(name) not in (None, ""):
            return str(adapter[name])
    return None


def switch_recreation_plan(record, existing_switches=None, adapters=None, adapter_map=None):
    """How to create the recorded switches on a deployed host.

    ``existing_switches``: Get-VMSwitch objects on the deployed host; ``adapters``: Get-NetAdapter
    objects (Name, InterfaceDescription); ``adapter_map``: switch name -> adapter name (or a list
    of names for a switch-embedded team), for hosts whose hardware differs from the reference.

    Each entry: ``name``, ``switch_type``, ``action`` (``create``, ``exists``, ``conflict``,
    ``needs_mapping``), ``net_adapter_names``, ``allow_management_os``, ``embedded_teaming``,
    ``reason``. ``create`` entries are safe to run; the others say what to do.
    """
    check_record(record)
    adapter_map = dict(adapter_map or {})
    unknown = sorted(set(adapter_map) - {switch.get("name") for switch in record["switches"]})
    if unknown:
        raise HyperVHostError("hyperv_host_adapter_map names switches that were not recorded: %s"
                              % ", ".join(unknown))
    existing = {}
    for item in existing_switches or []:
        normalized = normalize_switch(item)
        existing[normalized["name"].lower()] = normalized
    by_description = {}
    names_present = set()
    for adapter in adapters or []:
        name = _adapter_field(adapter, "Name", "name")
        description = _adapter_field(adapter, "InterfaceDescription", "interface_description")
        if name:
            names_present.add(name)
        if description:
            by_description.setdefault(description, []).append(name)

    plan = []
    for switch in record["switches"]:
        entry = {
            "name": switch["name"],
            "switch_type": switch["switch_type"],
            "allow_management_os": bool(switch.get("allow_management_os")),
            "embedded_teaming": bool(switch.get("embedded_teaming")),
            "net_adapter_names": [],
        }
        present = existing.get(switch["name"].lower())
        if present is not None:
            same = present["switch_type"] == switch["switch_type"]
            entry.update(action="exists" if same else "conflict",
                         reason="already present" if same else
                         "a %s switch with this name exists; the record says %s" % (
                             present["switch_type"], switch["switch_type"]))
        elif switch["switch_type"] != "External":
            entry.update(action="create", reason="%s switch, no adapter needed" % switch["switch_type"])
        else:
            entry.update(_external_adapters(switch, adapter_map, by_description, names_present))
        plan.append(entry)
    return plan


def _external_adapters(switch, adapter_map, by_description, names_present):
    mapped = adapter_map.get(switch["name"])
    if mapped:
        wanted = _strings(mapped)
        missing = [name for name in wanted if name not in names_present]
        if missing:
            return {"action": "needs_mapping", "net_adapter_names": wanted,
                    "reason": "hyperv_host_adapter_map names adapters this host does not have: %s"
                              % ", ".join(missing)}
        return {"action": "create", "net_adapter_names": wanted, "reason": "adapter from hyperv_host_adapter_map"}
    chosen, problems = [], []
    for description in switch.get("net_adapter_interface_descriptions") or []:
        candidates = by_description.get(description, [])
        if len(candidates) == 1:
            chosen.append(candidates[0])
        elif not candidates:
            problems.append("no adapter '%s' on this host" % description)
        else:
            problems.append("%d adapters are '%s' (%s)" % (len(candidates), description, ", ".join(candidates)))
    if not switch.get("net_adapter_interface_descriptions"):
        problems.append("the record names no adapter")
    if problems:
        return {"action": "needs_mapping", "net_adapter_names": chosen,
                "reason": "%s; name the adapter in hyperv_host_adapter_map (switch name -> adapter name)"
                          % "; ".join(problems)}
    return {"action": "create", "net_adapter_names": chosen,
            "reason": "same adapter model as on the reference host"}
