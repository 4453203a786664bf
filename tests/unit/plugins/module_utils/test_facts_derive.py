# Copyright: (c) 2026, winimage.generalize contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""complete_facts: derived fields are filled from their inputs, never invented, never overwritten."""

from __future__ import annotations

import copy
import json
import pathlib

import pytest

from ansible_collections.winimage.generalize.plugins.module_utils import facts_derive
from ansible_collections.winimage.generalize.plugins.module_utils.facts_derive import complete_facts
from ansible_collections.winimage.generalize.plugins.module_utils.facts_schema import empty_facts

FACTS_DIR = pathlib.Path(__file__).resolve().parents[3] / "data" / "facts"


def facts_with(**sections):
    facts = empty_facts("online", "winimage.generalize.readiness_facts", "host")
    for section, values in sections.items():
        facts[section].update(values)
    return facts


# --------------------------------------------------------------------------- os.version

@pytest.mark.parametrize("build, version", [
    (6001, "6.0"), (6002, "6.0"), (6003, "6.0"),   # Vista / Server 2008 SP1, SP2
    (7600, "6.1"), (7601, "6.1"),                  # Windows 7 / 2008 R2
    (9200, "6.2"),                                 # Windows 8 / 2012
    (9600, "6.3"),                                 # Windows 8.1 / 2012 R2
    (10240, "10.0"), (14393, "10.0"), (17763, "10.0"), (19045, "10.0"),
    (20348, "10.0"), (22631, "10.0"), (26100, "10.0"),
    (3790, None),                                  # Server 2003: not a range the rules know
    (None, None),
])
def test_version_from_build(build, version):
    assert complete_facts(facts_with(os={"build": build}))["os"]["version"] == version


def test_version_set_by_gatherer_is_kept():
    facts = facts_with(os={"build": 7601, "version": "6.1"})
    facts["os"]["version"] = "10.0"  # a gatherer's value wins even if it looks odd
    assert complete_facts(facts)["os"]["version"] == "10.0"


def test_boolean_build_is_not_a_build():
    assert complete_facts(facts_with(os={"build": True}))["os"]["version"] is None


# --------------------------------------------------------------------------- os.is_server

@pytest.mark.parametrize("product_type, installation_type, expected", [
    ("WinNT", None, False),
    ("ServerNT", None, True),
    ("LanmanNT", None, True),
    (None, "Client", False),
    (None, "Server", True),
    (None, "Server Core", True),
    (None, "Nano Server", True),
    ("WinNT", "Server", False),   # ProductType is the authority when both are known
    (None, None, None),
    (None, "", None),
])
def test_is_server(product_type, installation_type, expected):
    facts = facts_with(os={"product_type": product_type, "installation_type": installation_type})
    assert complete_facts(facts)["os"]["is_server"] is expected


# --------------------------------------------------------------------------- domain

@pytest.mark.parametrize("product_type, role, expected", [
    ("LanmanNT", None, True),
    (None, "primary_domain_controller", True),
    (None, "backup_domain_controller", True),
    ("ServerNT", "primary_domain_controller", True),  # either source saying DC is enough
    ("ServerNT", None, False),
    ("WinNT", None, False),
    (None, "member_server", False),
    (None, "standalone_workstation", False),
    (None, None, None),
])
def test_is_domain_controller(product_type, role, expected):
    facts = facts_with(os={"product_type": product_type}, domain={"role": role})
    assert complete_facts(facts)["domain"]["is_domain_controller"] is expected


@pytest.mark.parametrize("role, expected", [
    ("member_workstation", True), ("member_server", True), ("primary_domain_controller", True),
    ("backup_domain_controller", True), ("standalone_workstation", False), ("standalone_server", False),
    (None, None),
])
def test_joined_from_role(role, expected):
    assert complete_facts(facts_with(domain={"role": role}))["domain"]["joined"] is expected


def test_joined_set_by_gatherer_is_kept():
    facts = facts_with(domain={"role": "standalone_server", "joined": True})
    assert complete_facts(facts)["domain"]["joined"] is True


# --------------------------------------------------------------------------- roles

@pytest.mark.parametrize("installed, hyperv, nps", [
    (["Hyper-V", "RSAT-Hyper-V-Tools"], True, False),
    (["hyper-v"], True, False),
    (["NPAS"], False, True),
    (["NPAS-Policy-Server"], False, True),
    (["NPAS-Health"], False, False),
    ([], False, False),
    (None, None, None),
])
def test_roles_from_installed(installed, hyperv, nps):
    roles = complete_facts(facts_with(roles={"installed": installed}))["roles"]
    assert (roles["hyperv"], roles["nps"]) == (hyperv, nps)


# --------------------------------------------------------------------------- appx

def user(name, state="Installed"):
    return {"username": name, "sid": "S-1-5-21-1-2-3-1001", "install_state": state}


def package(full_name, users=("builder",), **flags):
    name, version = full_name.split("_")[:2]
    entry = {"name": name, "package_full_name": full_name, "version": version,
             "users": [user(u) if isinstance(u, str) else u for u in users],
             "is_framework": False, "non_removable": False, "signature_kind": "Store"}
    entry.update(flags)
    return entry


def provisioned(full_name):
    name, version = full_name.split("_")[:2]
    return {"display_name": name, "package_name": full_name, "version": version}


CALC_PACKAGE = "Microsoft.WindowsCalculator_10.2103.8.0_x64__8wekyb3d8bbwe"
CALC_BUNDLE = "Microsoft.WindowsCalculator_2020.2103.8.0_neutral_~_8wekyb3d8bbwe"
EDGE = "Microsoft.MicrosoftEdge.Stable_131.0.2903.99_neutral__8wekyb3d8bbwe"


def not_provisioned(packages, provisioned_list):
    facts = facts_with(appx={"packages": packages, "provisioned": provisioned_list})
    return complete_facts(facts)["appx"]["user_not_provisioned"]


@pytest.mark.parametrize("packages, provisioned_list, expected", [
    pytest.param([package(EDGE)], [], [EDGE], id="installed-not-provisioned"),
    pytest.param([package(EDGE)], [provisioned(EDGE)], [], id="exact-full-name"),
    pytest.param([package(EDGE.lower())], [provisioned(EDGE)], [], id="full-name-case-insensitive"),
    pytest.param([package(CALC_PACKAGE)], [provisioned(CALC_BUNDLE)], [],
                 id="bundle-with-other-major-version"),
    pytest.param([package("Microsoft.WindowsCalculator_10.2105.4.0_x64__8wekyb3d8bbwe")],
                 [provisioned(CALC_BUNDLE)], ["Microsoft.WindowsCalculator_10.2105.4.0_x64__8wekyb3d8bbwe"],
                 id="store-updated-past-the-bundle"),
    pytest.param([package("Microsoft.WindowsCalculator_10.2103.8.0_x86__8wekyb3d8bbwe")],
                 [provisioned("Microsoft.WindowsCalculator_10.2103.8.0_x64__8wekyb3d8bbwe")], [],
                 id="same-version-other-architecture"),
    pytest.param([package("Contoso.App_1.2.0.0_x64__abcdefghijklm")],
                 [provisioned("Contoso.App_1.1.0.0_x64__abcdefghijklm")],
                 ["Contoso.App_1.2.0.0_x64__abcdefghijklm"], id="non-bundle-needs-exact-version"),
    pytest.param([package("Contoso.App_1.2.0.0_x64__otherpublisher")],
                 [provisioned("Contoso.App_1.2.0.0_x64__abcdefghijklm")],
                 ["Contoso.App_1.2.0.0_x64__otherpublisher"], id="other-publisher"),
    pytest.param([package("Microsoft.VCLibs.140.00_14.0.30704.0_x64__8wekyb3d8bbwe", is_framework=True)], [], [],
                 id="framework-skipped"),
    pytest.param([package("Microsoft.Windows.ShellExperienceHost_10.0.19041.3636_neutral_neutral_cw5n1h2txyewy",
                          non_removable=True)], [], [], id="non-removable-skipped"),
    pytest.param([package("Microsoft.AAD.BrokerPlugin_1000.19041.1.0_neutral_neutral_cw5n1h2txyewy",
                          signature_kind="System")], [], [], id="system-signed-skipped"),
    pytest.param([package("Microsoft.WindowsCalculator_10.2103.8.0_neutral_split.scale-100_8wekyb3d8bbwe")],
                 [], [], id="resource-package-skipped"),
    pytest.param([package("Contoso.App_1.0.0.0_neutral_neutral_abcdefghijklm")], [],
                 ["Contoso.App_1.0.0.0_neutral_neutral_abcdefghijklm"], id="resource-id-neutral-is-a-main-package"),
    pytest.param([package(EDGE, users=[user("builder", "Staged")])], [], [], id="staged-only-skipped"),
    pytest.param([package(EDGE, users=[])], [], [], id="no-user-skipped"),
])
def test_user_not_provisioned(packages, provisioned_list, expected):
    result = not_provisioned(packages, provisioned_list)
    assert [item["package_full_name"] for item in result] == expected


def test_user_not_provisioned_keeps_users_per_package():
    packages = [
        package(EDGE, users=[user("builder"), user("Administrator"), user("old", "Staged")]),
        package("Contoso.App_1.0.0.0_x64__abcdefghijklm",
                users=[{"sid": "S-1-5-21-1-2-3-1005", "install_state": "Installed"}]),
    ]
    result = not_provisioned(packages, [])
    assert result == [
        {"name": "Contoso.App", "package_full_name": "Contoso.App_1.0.0.0_x64__abcdefghijklm",
         "version": "1.0.0.0", "users": ["S-1-5-21-1-2-3-1005"]},
        {"name": "Microsoft.MicrosoftEdge.Stable", "package_full_name": EDGE, "version": "131.0.2903.99",
         "users": ["Administrator", "builder"]},
    ]


def test_user_entries_as_plain_strings_count_as_installed():
    assert not_provisioned([package(EDGE, users=["builder"])], []) != []


def test_missing_install_state_counts_as_installed():
    assert not_provisioned([package(EDGE, users=[{"username": "builder"}])], []) != []


@pytest.mark.parametrize("packages, provisioned_list", [(None, []), ([], None), (None, None)])
def test_user_not_provisioned_unknown_when_an_input_is(packages, provisioned_list):
    assert not_provisioned(packages, provisioned_list) is None


def test_user_not_provisioned_set_by_gatherer_is_kept():
    facts = facts_with(appx={"packages": [package(EDGE)], "provisioned": [], "user_not_provisioned": []})
    assert complete_facts(facts)["appx"]["user_not_provisioned"] == []


def test_malformed_package_entries_are_ignored():
    assert not_provisioned(["not a package", {"package_full_name": None, "users": ["x"]}], [5]) == [
        {"name": None, "package_full_name": None, "version": None, "users": ["x"]}]


# --------------------------------------------------------------------------- contract

def test_input_is_never_mutated():
    facts = facts_with(os={"build": 19045, "product_type": "WinNT"},
                       appx={"packages": [package(EDGE)], "provisioned": []})
    before = copy.deepcopy(facts)
    completed = complete_facts(facts)
    assert facts == before
    assert completed is not facts
    assert completed["appx"]["user_not_provisioned"] is not None
    completed["appx"]["packages"][0]["users"].clear()
    assert facts["appx"]["packages"][0]["users"]


def test_missing_sections_are_left_alone():
    facts = {"schema_version": "1.0", "os": {"build": 7601}}
    assert complete_facts(facts) == {"schema_version": "1.0", "os": {"build": 7601, "version": "6.1"}}


def test_not_a_mapping_is_a_clear_error():
    with pytest.raises(TypeError, match="facts must be a mapping"):
        complete_facts(["os"])


def test_complete_facts_is_idempotent_on_every_fixture():
    """The recorded fixtures are complete: completing them again changes nothing."""
    paths = sorted(FACTS_DIR.glob("*.json"))
    assert paths, "no facts fixtures found in %s" % FACTS_DIR
    for path in paths:
        facts = json.loads(path.read_text())
        assert complete_facts(facts) == facts, path.name


def test_split_full_name():
    assert facts_derive.split_full_name(CALC_BUNDLE) == {
        "name": "microsoft.windowscalculator", "version": "2020.2103.8.0", "architecture": "neutral",
        "resource_id": "~", "publisher_id": "8wekyb3d8bbwe"}
    assert facts_derive.split_full_name("not-a-full-name") is None
    assert facts_derive.split_full_name(None) is None
