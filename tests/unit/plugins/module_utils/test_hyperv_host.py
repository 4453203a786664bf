# Copyright: (c) 2026, winimage.generalize contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""hyperv_host: what a Hyper-V host needs before sysprep and what proves a deployed copy is healthy."""

from __future__ import annotations

import json
import pathlib

import pytest

from ansible_collections.winimage.generalize.plugins.module_utils.hyperv_host import (
    HyperVHostError,
    check_record,
    hypervisor_check,
    mac_range_check,
    normalize_mac,
    normalize_switch,
    prepare_plan,
    switch_record,
    switch_recreation_plan,
    switch_type,
)

FACTS_DIR = pathlib.Path(__file__).resolve().parents[3] / "data" / "facts"

EXTERNAL = {"Name": "External-Uplink", "SwitchType": 2, "NetAdapterInterfaceDescription": "Intel(R) Ethernet X710",
            "AllowManagementOS": False, "EmbeddedTeamingEnabled": False, "IovEnabled": False,
            "BandwidthReservationMode": 1, "Notes": ""}
SHARED = dict(EXTERNAL, Name="Mgmt", AllowManagementOS=True, NetAdapterInterfaceDescription="Broadcom NetXtreme")
INTERNAL = {"Name": "NAT-Internal", "SwitchType": "Internal"}
PRIVATE = {"Name": "Lab", "SwitchType": "0"}
CLEAN = {"vms": [], "switches": [], "mac_address_minimum": "00-15-5D-8E-2A-00",
         "mac_address_maximum": "00155D8E2AFF", "mac_range_present": True}


def facts_fixture(name):
    loaded = json.loads((FACTS_DIR / name).read_text(encoding="utf-8"))
    return loaded if "schema_version" in loaded else loaded["facts"]


@pytest.mark.parametrize("raw, expected", [
    (0, "Private"), (1, "Internal"), (2, "External"), ("2", "External"), ("external", "External"),
    (" Internal ", "Internal"), ("Private", "Private"),
])
def test_switch_type_reads_numbers_and_names(raw, expected):
    assert switch_type(raw) == expected


@pytest.mark.parametrize("raw", [3, "Bridge", None, True, ""])
def test_switch_type_refuses_unknown_values(raw):
    with pytest.raises(HyperVHostError, match="switch type"):
        switch_type(raw)


@pytest.mark.parametrize("raw, expected", [
    ("00155D0A3C00", "00155D0A3C00"), ("00-15-5d-0a-3c-00", "00155D0A3C00"), ("00:15:5D:0A:3C:FF", "00155D0A3CFF"),
    (["0x00", "0x15", "0x5d", "0x0a", "0x3c", "0x00"], "00155D0A3C00"), ([0, 21, 93, 10, 60, 0], "00155D0A3C00"),
    (None, None), ("", None), ([], None),
])
def test_mac_spellings_and_registry_bytes_normalize(raw, expected):
    assert normalize_mac(raw) == expected


@pytest.mark.parametrize("raw", ["00155D", "zz155D0A3C00", [1, 2, 3], ["0xZZ"] * 6])
def test_a_non_mac_is_refused(raw):
    with pytest.raises(HyperVHostError):
        normalize_mac(raw)


def test_external_switch_keeps_what_recreating_it_needs():
    switch = normalize_switch(EXTERNAL)
    assert switch == {
        "name": "External-Uplink", "switch_type": "External",
        "net_adapter_interface_descriptions": ["Intel(R) Ethernet X710"], "allow_management_os": False,
        "embedded_teaming": False, "iov_enabled": False, "bandwidth_reservation_mode": "Weight", "notes": "",
    }


def test_team_switch_keeps_every_adapter_and_internal_switch_none():
    team = normalize_switch(dict(EXTERNAL, EmbeddedTeamingEnabled=True,
                                 NetAdapterInterfaceDescriptions=["NIC A", "NIC B"]))
    assert team["net_adapter_interface_descriptions"] == ["NIC A", "NIC B"] and team["embedded_teaming"]
    internal = normalize_switch(dict(INTERNAL, NetAdapterInterfaceDescription="leftover"))
    assert internal["net_adapter_interface_descriptions"] == [] and internal["allow_management_os"] is True


def test_facts_shape_of_switches_is_accepted():
    facts = facts_fixture("server2022_hyperv_host.json")
    record = switch_record(facts["hyperv"]["switches"], "hv22", "2026-03-01T02:00:00Z",
                           facts["hyperv"]["mac_address_minimum"], facts["hyperv"]["mac_address_maximum"])
    assert [s["name"] for s in record["switches"]] == ["External-Uplink", "NAT-Internal"]
    assert record["switches"][0]["net_adapter_interface_descriptions"] == ["Intel(R) Ethernet Controller X710"]
    assert record["mac_address_minimum"] == "00155D8E2A00"
    assert check_record(json.loads(json.dumps(record))) == record


def test_record_refuses_duplicate_names():
    with pytest.raises(HyperVHostError, match="several virtual switches are named External-Uplink"):
        switch_record([EXTERNAL, EXTERNAL], "hv", "now")


@pytest.mark.parametrize("record, message", [
    ({"kind": "other"}, "not a Hyper-V switch record"),
    ({"kind": "winimage.generalize.hyperv_switches", "schema_version": "2.0", "switches": []}, "not supported"),
    ({"kind": "winimage.generalize.hyperv_switches", "schema_version": "1.0"}, "no switches list"),
])
def test_check_record_names_the_problem(record, message):
    with pytest.raises(HyperVHostError, match=message):
        check_record(record)


# (what, state, os version, options, refusal fragments, remove, clear MAC, answer file)
PLAN_TABLE = [
    ("2022 host, nothing registered", CLEAN, "10.0", {}, [], [], False, {}),
    ("2008 host: no provider, range cleared and launch restored", CLEAN, "6.0", {}, [], [], True,
     {"specialize": {"restore_hypervisor_launch": True}}),
    ("2008 R2 has the provider", CLEAN, "6.1", {}, [], [], False, {}),
    ("restore forced on 2022", CLEAN, "10.0", {"restore_hypervisor_launch": True}, [], [], False,
     {"specialize": {"restore_hypervisor_launch": True}}),
    ("clearing switched off on 2008 still restores launch", CLEAN, "6.0", {"clear_mac_range": "false"}, [], [],
     False, {"specialize": {"restore_hypervisor_launch": True}}),
    ("VMs registered", dict(CLEAN, vms=[{"name": "build01", "state": "Off", "checkpoints": 0}]), "10.0", {},
     ["build01", "hyperv_host_allow_vms"], [], False, {}),
    ("VMs registered, override", dict(CLEAN, vms=[{"name": "build01", "state": "Off", "checkpoints": 0}]), "10.0",
     {"allow_vms": True}, [], [], False, {}),
    ("override never covers checkpoints", dict(CLEAN, vms=[{"name": "b", "state": "Off", "checkpoints": 2}]),
     "10.0", {"allow_vms": True}, ["checkpoints (b)"], [], False, {}),
    ("VM list unknown", dict(CLEAN, vms=None), "10.0", {}, ["never a pass"], [], False, {}),
    ("switches removed", dict(CLEAN, switches=[EXTERNAL, INTERNAL, PRIVATE]), "10.0", {}, [],
     ["External-Uplink", "NAT-Internal", "Lab"], False, {}),
    ("management switch refused", dict(CLEAN, switches=[SHARED, INTERNAL]), "10.0", {}, ["Mgmt (the management OS"],
     ["NAT-Internal"], False, {}),
    ("management switch allowed", dict(CLEAN, switches=[SHARED]), "10.0", {"remove_management_switches": True},
     [], ["Mgmt"], False, {}),
    ("switches kept on request", dict(CLEAN, switches=[EXTERNAL]), "10.0", {"remove_switches": False}, [], [],
     False, {}),
    ("no module to remove switches", dict(CLEAN, switches=[EXTERNAL], can_remove_switches=False), "6.0", {},
     ["Virtual Network Manager"], ["External-Uplink"], True, {"specialize": {"restore_hypervisor_launch": True}}),
    ("version unknown", CLEAN, None, {}, ["version of this host is unknown"], [], False, {}),
    ("version unknown but both explicit", CLEAN, None, {"clear_mac_range": True, "restore_hypervisor_launch": False},
     [], [], True, {}),
    ("nothing to clear when no range is stored", dict(CLEAN, mac_address_minimum=None, mac_address_maximum=None,
                                                      mac_range_present=False), "6.0", {}, [], [], False,
     {"specialize": {"restore_hypervisor_launch": True}}),
]


@pytest.mark.parametrize("what, state, version, options, refusals, remove, clear, answer",
                         PLAN_TABLE, ids=[row[0] for row in PLAN_TABLE])
def test_prepare_plan(what, state, version, options, refusals, remove, clear, answer):
    plan = prepare_plan(state, version, options)
    text = " ".join(plan["refusals"])
    assert bool(plan["refusals"]) == bool(refusals), plan["refusals"]
    for fragment in refusals:
        assert fragment in text
    assert plan["remove_switches"] == remove
    assert plan["clear_mac_range"] is clear
    assert plan["answer_file_settings"] == answer


def test_override_warnings_say_what_ships():
    plan = prepare_plan(dict(CLEAN, vms=[{"name": "dc01", "checkpoints": 0}]), "10.0", {"allow_vms": True})
    assert any("dc01" in warning and "ship with the image" in warning for warning in plan["warnings"])
    plan = prepare_plan(CLEAN, "6.0", {"clear_mac_range": False, "restore_hypervisor_launch": False})
    assert len(plan["warnings"]) == 2 and plan["answer_file_settings"] == {}


def test_blocked_2008_fixture_is_refused_for_vms_and_checkpoints():
    facts = facts_fixture("server2008_hyperv_blocked.json")
    plan = prepare_plan(dict(facts["hyperv"], mac_range_present=True), facts["os"]["version"])
    text = " ".join(plan["refusals"])
    assert "build-agent01" in text and "checkpoints (build-agent01)" in text
    assert plan["sysprep_provider"] is False and plan["clear_mac_range"] is True


@pytest.mark.parametrize("options, message", [
    ({"allow_vms": "maybe"}, "allow_vms must be true or false"),
    ({"clear_mac_range": "sometimes"}, "clear_mac_range must be auto, true or false"),
])
def test_bad_options_are_named(options, message):
    with pytest.raises(HyperVHostError, match=message):
        prepare_plan(CLEAN, "10.0", options)


def test_bad_version_is_named():
    with pytest.raises(HyperVHostError, match="os.version"):
        prepare_plan(CLEAN, "Server 2008", {})


@pytest.mark.parametrize("present, launch, ok, fragment", [
    (True, "Auto", True, "is running"),
    ("True", None, True, "is running"),
    (False, "Off", False, "bcdedit /set hypervisorlaunchtype auto"),
    (False, "Auto", False, "firmware"),
    (None, "Auto", False, "Could not tell"),
])
def test_hypervisor_check(present, launch, ok, fragment):
    verdict = hypervisor_check(present, launch)
    assert verdict["ok"] is ok and fragment in verdict["message"]


@pytest.mark.parametrize("source, current, regenerated, fragment", [
    (("00155D0A3C00", "00155D0A3CFF"), ("00155D7B1100", "00155D7B11FF"), True, "regenerated"),
    (("00155D0A3C00", "00155D0A3CFF"), ("00-15-5D-0A-3C-00", "00:15:5D:0A:3C:FF"), False, "reference host's"),
    (("00155D0A3C00", "00155D0A3CFF"), ("00155D0A3C80", "00155D0A3D7F"), False, "overlaps"),
    (("00155D0A3C00", "00155D0A3CFF"), (None, None), False, "no dynamic MAC address range yet"),
    ((None, None), ("00155D7B1100", "00155D7B11FF"), None, "not recorded"),
])
def test_mac_range_check(source, current, regenerated, fragment):
    verdict = mac_range_check(source[0], source[1], current[0], current[1])
    assert verdict["regenerated"] is regenerated and fragment in verdict["message"]


TEAM = dict(EXTERNAL, Name="Team", EmbeddedTeamingEnabled=True, NetAdapterInterfaceDescriptions=["NIC A", "NIC B"])
RECORD = switch_record([EXTERNAL, INTERNAL, PRIVATE, TEAM], "hv-ref", "2026-03-01T02:00:00Z", "00155D0A3C00",
                       "00155D0A3CFF")
ADAPTERS = [{"Name": "Ethernet", "InterfaceDescription": "Intel(R) Ethernet X710"},
            {"Name": "SLOT 2", "InterfaceDescription": "NIC A"},
            {"Name": "SLOT 3", "InterfaceDescription": "NIC B"}]


def by_name(plan):
    return {entry["name"]: entry for entry in plan}


def test_recreation_on_identical_hardware_creates_everything():
    plan = by_name(switch_recreation_plan(RECORD, [], ADAPTERS))
    assert {name: entry["action"] for name, entry in plan.items()} == {
        "External-Uplink": "create", "NAT-Internal": "create", "Lab": "create", "Team": "create"}
    assert plan["External-Uplink"]["net_adapter_names"] == ["Ethernet"]
    assert plan["Team"]["net_adapter_names"] == ["SLOT 2", "SLOT 3"] and plan["Team"]["embedded_teaming"]


def test_recreation_is_idempotent_and_reports_conflicts():
    existing = [dict(INTERNAL), {"Name": "lab", "SwitchType": "Internal"}]
    plan = by_name(switch_recreation_plan(RECORD, existing, ADAPTERS))
    assert plan["NAT-Internal"]["action"] == "exists"
    assert plan["Lab"]["action"] == "conflict" and "Internal switch" in plan["Lab"]["reason"]


def test_recreation_needs_a_mapping_for_other_hardware():
    adapters = [{"Name": "Ethernet", "InterfaceDescription": "Mellanox ConnectX-6"},
                {"Name": "Ethernet 2", "InterfaceDescription": "Mellanox ConnectX-6"}]
    plan = by_name(switch_recreation_plan(RECORD, [], adapters))
    assert plan["External-Uplink"]["action"] == "needs_mapping"
    assert "hyperv_host_adapter_map" in plan["External-Uplink"]["reason"]
    mapped = by_name(switch_recreation_plan(RECORD, [], adapters, {"External-Uplink": "Ethernet 2",
                                                                   "Team": ["Ethernet", "Ethernet 2"]}))
    assert mapped["External-Uplink"]["action"] == "create"
    assert mapped["External-Uplink"]["net_adapter_names"] == ["Ethernet 2"]
    assert mapped["Team"]["net_adapter_names"] == ["Ethernet", "Ethernet 2"]


def test_two_identical_adapters_are_ambiguous():
    adapters = ADAPTERS + [{"Name": "Ethernet 9", "InterfaceDescription": "Intel(R) Ethernet X710"}]
    plan = by_name(switch_recreation_plan(RECORD, [], adapters))
    assert plan["External-Uplink"]["action"] == "needs_mapping" and "2 adapters" in plan["External-Uplink"]["reason"]


def test_mapping_errors_are_named():
    with pytest.raises(HyperVHostError, match="not recorded: Nope"):
        switch_recreation_plan(RECORD, [], ADAPTERS, {"Nope": "Ethernet"})
    plan = by_name(switch_recreation_plan(RECORD, [], ADAPTERS, {"External-Uplink": "Ethernet 7"}))
    assert plan["External-Uplink"]["action"] == "needs_mapping" and "Ethernet 7" in plan["External-Uplink"]["reason"]
