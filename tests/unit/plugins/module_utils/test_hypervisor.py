# Copyright: (c) 2026, winimage.generalize contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""hypervisor: checkpoints, baselines, /mode:vm, MAC addresses and disks of reference VMs."""

from __future__ import annotations

import pytest

from ansible_collections.winimage.generalize.plugins.module_utils.hypervisor import (
    HypervisorError,
    baseline_plan,
    capture_disk,
    checkpoint_plan,
    integration_services_plan,
    libvirt_disks,
    libvirt_interfaces,
    mode_vm_decision,
    parse_virsh_names,
    power_state,
    static_mac_plan,
    vmware_adapters,
)


@pytest.mark.parametrize("raw, expected", [
    ("Running", "running"), ("poweredOn", "running"), ("powered-on", "running"), ("running", "running"),
    ("Off", "off"), ("poweredOff", "off"), ("shut off", "off"), ("shutdown", "off"),
    ("Saved", "suspended"), ("suspended", "suspended"), ("Paused", "paused"), ("Starting", "transition"),
    ("in shutdown", "transition"), ("crashed", "crashed"), (None, "unknown"), ("weird", "unknown"),
])
def test_power_state_vocabulary(raw, expected):
    assert power_state(raw) == expected


WIN11_VM = {"virtualization": {"is_virtual": True}, "os": {"build": 22631}}


@pytest.mark.parametrize("same, facts, mode_vm, problem", [
    (False, WIN11_VM, False, None),
    ("false", WIN11_VM, False, None),
    (True, WIN11_VM, True, None),
    ("yes", {}, True, None),  # facts unknown: the user's word is taken, the sysprep module checks again
    (True, {"virtualization": {"is_virtual": False}, "os": {"build": 22631}}, False, "not a virtual machine"),
    (True, {"virtualization": {"is_virtual": True}, "os": {"build": 7601}}, False, "predates Windows 8"),
])
def test_mode_vm_only_when_redeployed_on_the_same_hypervisor(same, facts, mode_vm, problem):
    decision = mode_vm_decision(same, facts)
    assert decision["mode_vm"] is mode_vm
    assert (decision["problem"] is None) == (problem is None)
    if problem:
        assert problem in decision["problem"]


# (what, checkpoints, policy, external, action, remove, keep)
CHECKPOINTS = [
    ("none", [], "refuse", (), "none", [], []),
    ("baselines only", ["winimage-baseline-20260101T020000Z", "winimage-baseline"], "refuse", (), "none", [],
     ["winimage-baseline-20260101T020000Z", "winimage-baseline"]),
    ("other checkpoint refused", [{"name": "before-office"}, "winimage-baseline-1"], "refuse", (), "refuse", [],
     ["winimage-baseline-1"]),
    ("other checkpoint removed", [{"Name": "before-office"}, {"name": "x"}], "remove", (), "remove",
     ["before-office", "x"], []),
    ("external snapshots never removed", ["overlay1"], "remove", ("overlay1",), "refuse", [], []),
    ("a prefix look-alike is not a baseline", ["winimage-baselineX"], "refuse", (), "refuse", [], []),
]


@pytest.mark.parametrize("what, checkpoints, policy, external, action, remove, keep",
                         CHECKPOINTS, ids=[row[0] for row in CHECKPOINTS])
def test_checkpoint_plan(what, checkpoints, policy, external, action, remove, keep):
    plan = checkpoint_plan(checkpoints, policy, "winimage-baseline", external)
    assert (plan["action"], plan["remove"], plan["keep"]) == (action, remove, keep)
    assert (plan["problem"] is not None) == (action == "refuse")


def test_refusal_names_the_checkpoints_and_the_ways_out():
    plan = checkpoint_plan(["before-office"], "refuse", "winimage-baseline")
    assert "before-office" in plan["problem"] and "hypervisor_checkpoint_policy: remove" in plan["problem"]
    assert "refresh playbook" in plan["problem"]


def test_checkpoint_policy_and_names_are_checked():
    with pytest.raises(HypervisorError, match="hypervisor_checkpoint_policy must be one of refuse, remove"):
        checkpoint_plan([], "merge-all")
    with pytest.raises(HypervisorError, match="without a name"):
        checkpoint_plan([{"id": 3}])


def test_baseline_plan_reverts_to_the_newest_and_prunes_after_the_new_one():
    checkpoints = ["winimage-baseline-20260101T020000Z", "unrelated", "winimage-baseline",
                   "winimage-baseline-20260201T020000Z"]
    plan = baseline_plan(checkpoints, "winimage-baseline", keep=2, stamp="20260301T020000Z")
    assert plan["baselines"] == ["winimage-baseline", "winimage-baseline-20260101T020000Z",
                                 "winimage-baseline-20260201T020000Z"]
    assert plan["revert_to"] == "winimage-baseline-20260201T020000Z"
    assert plan["new_name"] == "winimage-baseline-20260301T020000Z"
    assert plan["delete_after_new"] == ["winimage-baseline", "winimage-baseline-20260101T020000Z"]
    assert plan["others"] == ["unrelated"]


@pytest.mark.parametrize("checkpoints, keep, revert_to, delete", [
    ([], 1, None, []),
    (["base"], 1, "base", ["base"]),
    (["base"], 2, "base", []),
    (["base-1", "base-2", "base-3"], 5, "base-3", []),
])
def test_baseline_plan_table(checkpoints, keep, revert_to, delete):
    plan = baseline_plan(checkpoints, "base", keep=keep, stamp="9")
    assert plan["revert_to"] == revert_to and plan["delete_after_new"] == delete
    assert plan["new_name"] not in plan["delete_after_new"]


@pytest.mark.parametrize("prefix, keep, message", [
    ("", 1, "refresh_baseline_prefix"), ("bad name", 1, "refresh_baseline_prefix"),
    ("ok", 0, "at least 1"), ("ok", "x", "must be a number"),
])
def test_baseline_plan_refuses_bad_settings(prefix, keep, message):
    with pytest.raises(HypervisorError, match=message):
        baseline_plan([], prefix, keep)


def test_hyperv_static_macs_are_reset_or_reported():
    adapters = [{"name": "Network Adapter", "mac": "00155D010203", "dynamic": False},
                {"name": "Backup", "mac": "00:15:5d:01:02:04", "dynamic": True}]
    plan = static_mac_plan("hyperv", adapters)
    assert plan["reset"] == ["Network Adapter"] and plan["static"][0]["mac"] == "00155D010203"
    kept = static_mac_plan("hyperv", adapters, reset=False)
    assert kept["reset"] == [] and "collides" in kept["message"]
    assert static_mac_plan("hyperv", adapters[1:])["static"] == []


def test_vmware_devices_with_manual_mac_are_reported_not_reset():
    devices = [{"deviceInfo": {"label": "Network adapter 1"}, "macAddress": "00:50:56:01:02:03",
                "addressType": "manual"},
               {"deviceInfo": {"label": "Network adapter 2"}, "macAddress": "00:50:56:81:02:03",
                "addressType": "assigned"},
               {"deviceInfo": {"label": "Hard disk 1"}, "capacityInKB": 1}]
    adapters = vmware_adapters(devices)
    assert [a["name"] for a in adapters] == ["Network adapter 1", "Network adapter 2"]
    plan = static_mac_plan("vmware", adapters)
    assert plan["reset"] == [] and [s["name"] for s in plan["static"]] == ["Network adapter 1"]
    assert "template" in plan["message"]


DOMAIN_XML = """<domain type='kvm'><name>ref-win11</name><devices>
  <disk type='file' device='cdrom'><source file='/iso/virtio.iso'/><target dev='sda' bus='sata'/></disk>
  <disk type='file' device='disk'><driver name='qemu' type='qcow2'/>
    <source file='/var/lib/libvirt/images/data.qcow2'/><target dev='vdb' bus='virtio'/></disk>
  <disk type='file' device='disk'><driver name='qemu' type='qcow2'/>
    <source file='/var/lib/libvirt/images/ref-win11.qcow2'/>
    <backingStore type='file'><format type='qcow2'/><source file='/var/lib/libvirt/images/base.qcow2'/>
      <backingStore/></backingStore>
    <target dev='vda' bus='virtio'/><boot order='1'/></disk>
  <disk type='block' device='disk'><driver name='qemu' type='raw'/><source dev='/dev/vg0/win'/>
    <target dev='vdc' bus='virtio'/></disk>
  <interface type='network'><mac address='52:54:00:ab:cd:ef'/><target dev='vnet3'/></interface>
</devices></domain>"""


def test_libvirt_disks_and_the_disk_to_capture():
    disks = libvirt_disks(DOMAIN_XML)
    assert [d["target"] for d in disks] == ["sda", "vdb", "vda", "vdc"]
    chosen = capture_disk(disks)
    assert chosen["source"] == "/var/lib/libvirt/images/ref-win11.qcow2" and chosen["format"] == "qcow2"
    assert chosen["backing"] == ["/var/lib/libvirt/images/base.qcow2"]
    assert capture_disk(disks, "vdc")["source"] == "/dev/vg0/win"
    with pytest.raises(HypervisorError, match="no disk with target vdz"):
        capture_disk(disks, "vdz")


def test_first_disk_when_nothing_says_boot_and_errors_without_disks():
    disks = [d for d in libvirt_disks(DOMAIN_XML) if d["target"] != "vda"]
    assert capture_disk(disks)["target"] == "vdb"
    with pytest.raises(HypervisorError, match="no disk with a local source"):
        capture_disk([d for d in disks if d["device"] == "cdrom"])


@pytest.mark.parametrize("text, message", [("<domain", "cannot be parsed"), ("<pool/>", "not a libvirt domain")])
def test_libvirt_xml_errors(text, message):
    with pytest.raises(HypervisorError, match=message):
        libvirt_disks(text)


def test_libvirt_interfaces_are_informational():
    adapters = libvirt_interfaces(DOMAIN_XML)
    assert adapters == [{"name": "vnet3", "mac": "525400ABCDEF", "dynamic": False}]
    plan = static_mac_plan("libvirt", adapters)
    assert plan["reset"] == [] and "virt-clone" in plan["message"]


def test_integration_services():
    services = [{"name": "Heartbeat", "enabled": True}, {"name": "Shutdown", "enabled": False},
                {"name": "Guest Service Interface", "enabled": False}]
    assert integration_services_plan(services)["enable"] == ["Shutdown"]
    assert "disabled" in integration_services_plan(services, enable=False)["problem"]
    missing = integration_services_plan(services[:1])
    assert missing["missing"] == ["Shutdown"] and "not listed" in missing["problem"]


def test_virsh_names():
    assert parse_virsh_names("a\n\n b \n") == ["a", "b"]
    assert parse_virsh_names(None) == []


def test_unknown_kind_is_named():
    with pytest.raises(HypervisorError, match="hypervisor_kind must be one of hyperv, vmware, libvirt"):
        static_mac_plan("xen", [])
