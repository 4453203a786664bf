# Copyright: (c) 2026, winimage.generalize contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The pipeline, hypervisor and hyperv_host filters: registered, wrapping errors as filter errors."""

from __future__ import annotations

import pathlib

import pytest
import yaml
from ansible.errors import AnsibleFilterError

from ansible_collections.winimage.generalize.plugins.filter import hyperv_host, hypervisor, pipeline

FILTER_DIR = pathlib.Path(__file__).resolve().parents[4] / "plugins" / "filter"
MODULES = (pipeline, hypervisor, hyperv_host)


@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.__name__.rsplit(".", 1)[-1])
def test_every_filter_has_a_documentation_sidecar_naming_it(module):
    for name in module.FilterModule().filters():
        sidecar = FILTER_DIR / (name + ".yml")
        assert sidecar.is_file(), "%s has no %s" % (name, sidecar.name)
        documentation = yaml.safe_load(sidecar.read_text())["DOCUMENTATION"]
        assert documentation["name"] == name


def test_pipeline_filters():
    assert pipeline.pipeline_kind(["vms"], "h") == "vm"
    plan = pipeline.pipeline_plan("vm", "libvirt")
    assert plan["capture"]["backend"] == "wimlib" and plan["steps"][0] == "preflight"
    assert plan["sequence"][0] == "preflight" and plan["guest_checked_steps"] == []
    refresh = pipeline.pipeline_plan("vm", "hyperv", flow="refresh")
    assert refresh["steps"][-1] == "hypervisor_revert" and refresh["sequence"] == refresh["steps"][:-1]
    assert "windows_update" in refresh["guest_checked_steps"] and "sysprep" not in refresh["guest_checked_steps"]
    assert pipeline.pipeline_hooked("sysprep", "/h.yml") is True
    summary = pipeline.pipeline_summary({"a": {}})
    assert summary["hosts"]["a"]["status"] == "not_run" and summary["lines"]


@pytest.mark.parametrize("call, message", [
    (lambda: pipeline.pipeline_kind(["x"], "h"), "winimage.generalize.pipeline_kind: h is in none of the groups"),
    (lambda: pipeline.pipeline_plan("physical", flow="refresh"), "refreshes virtual machines only"),
    (lambda: pipeline.pipeline_plan("vm", "libvirt", flow="other"), "flow must be generalize or refresh"),
    (lambda: pipeline.pipeline_image_location({}, "wimlib"), "left no image"),
    (lambda: hypervisor.hypervisor_checkpoint_plan(["a"], "merge"), "hypervisor_checkpoint_policy"),
    (lambda: hypervisor.libvirt_capture_disk("<domain"), "cannot be parsed"),
    (lambda: hypervisor.hypervisor_static_mac_plan([], "hyperv", source="csv"), "source must be"),
    (lambda: hyperv_host.hyperv_host_plan({}, "x.y"), "os.version"),
    (lambda: hyperv_host.hyperv_switch_plan({"kind": "other"}), "not a Hyper-V switch record"),
])
def test_errors_are_filter_errors_naming_the_filter(call, message):
    with pytest.raises(AnsibleFilterError, match=message):
        call()


def test_hypervisor_filters():
    assert hypervisor.hypervisor_power_state("poweredOff") == "off"
    assert hypervisor.hypervisor_mode_vm(True, {"virtualization": {"is_virtual": True}})["mode_vm"] is True
    assert hypervisor.hypervisor_baseline_plan(["b-1", "b-2"], "b", 1, "3")["delete_after_new"] == ["b-1", "b-2"]
    devices = [{"deviceInfo": {"label": "Network adapter 1"}, "macAddress": "00:50:56:00:00:01", "addressType": "manual"}]
    plan = hypervisor.hypervisor_static_mac_plan(devices, "vmware", source="vmware_devices")
    assert plan["static"] == [{"name": "Network adapter 1", "mac": "005056000001"}]
    assert hypervisor.hypervisor_integration_services_plan([{"name": "Heartbeat", "enabled": True},
                                                           {"name": "Shutdown", "enabled": False}])["enable"] == ["Shutdown"]


def test_hyperv_host_filters():
    switches = [{"Name": "LAN", "SwitchType": 2, "NetAdapterInterfaceDescription": "NIC"}]
    record = hyperv_host.hyperv_switch_record(switches, "hv", "now", "00155D000000", "00155D0000FF")
    plan = hyperv_host.hyperv_switch_plan(record, [], [{"Name": "Ethernet", "InterfaceDescription": "NIC"}])
    assert plan[0]["action"] == "create" and plan[0]["net_adapter_names"] == ["Ethernet"]
    check = hyperv_host.hyperv_mac_range_check({"minimum": "00155D000000", "maximum": "00155D0000FF"}, record)
    assert check["regenerated"] is False
    assert hyperv_host.hyperv_hypervisor_check(True)["ok"] is True
    assert hyperv_host.hyperv_host_plan({"vms": [], "switches": []}, "6.0")["answer_file_settings"] == {
        "specialize": {"restore_hypervisor_launch": True}}
