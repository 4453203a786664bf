# Copyright: (c) 2026, winimage.generalize contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""plan_cleanup: what appx_cleanup removes, decided from the Appx state the module reads."""

from __future__ import annotations

import copy
import json
import pathlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.winimage.generalize.plugins.module_utils import appx_cleanup
from ansible_collections.winimage.generalize.plugins.module_utils.appx_cleanup import (
    AppxCleanupError,
    bundle_for,
    diff_of,
    has_work,
    module_plan,
    normalize_options,
    plan_cleanup,
)
from ansible_collections.winimage.generalize.plugins.module_utils.facts_derive import user_not_provisioned

FACTS_DIR = pathlib.Path(__file__).resolve().parents[3] / "data" / "facts"
BUILDER = {"sid": "S-1-5-21-1-2-3-1001", "username": "REF01\\builder", "install_state": "Installed"}
ADMIN = {"sid": "S-1-5-21-1-2-3-500", "username": "REF01\\Administrator", "install_state": "Installed"}
PUBLISHER = "8wekyb3d8bbwe"


def package(name, version, arch="x64", users=(BUILDER,), **flags):
    entry = {
        "name": name,
        "package_full_name": "%s_%s_%s__%s" % (name, version, arch, PUBLISHER),
        "version": version,
        "architecture": arch,
        "users": [dict(u) for u in users],
        "is_framework": False,
        "non_removable": False,
        "signature_kind": "Store",
    }
    entry.update(flags)
    return entry


def bundle(name, version, users=(BUILDER,)):
    return {"name": name, "package_full_name": "%s_%s_neutral_~_%s" % (name, version, PUBLISHER),
            "version": version, "users": [dict(u) for u in users]}


def provisioned(name, version):
    return {"display_name": name, "package_name": "%s_%s_neutral_~_%s" % (name, version, PUBLISHER),
            "version": version}


def state(packages, provisioned_packages=(), bundles=None, policies=None):
    return {
        "packages": list(packages),
        "provisioned": list(provisioned_packages),
        "bundles": bundles,
        "policies": policies if policies is not None else {"store_auto_update": None, "consumer_features": None},
        "remove_all_users_supported": True,
    }


def options(**overrides):
    return normalize_options(overrides)


def removed_names(plan):
    return [item["package_full_name"] for item in plan["remove"]]


# --------------------------------------------------------------------------- the sysprep rule

def recorded_facts(name):
    return json.loads((FACTS_DIR / name).read_text(encoding="utf-8"))


def test_default_run_removes_exactly_what_the_readiness_facts_report():
    """The module data of a real blocked Windows 10 build: plan == facts_derive == recorded facts."""
    facts = recorded_facts("win10_22h2_blocked.json")
    appx = facts["appx"]
    plan = plan_cleanup(state(appx["packages"], appx["provisioned"]), options())

    derived = [item["package_full_name"] for item in user_not_provisioned(appx["packages"], appx["provisioned"])]
    recorded = [item["package_full_name"] for item in appx["user_not_provisioned"]]
    assert sorted(removed_names(plan)) == sorted(derived) == sorted(recorded)
    assert all(item["reasons"] == ["user_not_provisioned"] for item in plan["remove"])


def test_store_updated_app_is_removed_and_the_provisioned_version_is_kept():
    updated = package("Microsoft.WindowsCalculator", "11.2401.0.0")
    inbox = package("Microsoft.WindowsCalculator", "10.2103.8.0", users=(ADMIN,))
    plan = plan_cleanup(state([updated, inbox], [provisioned("Microsoft.WindowsCalculator", "2020.2103.8.0")]),
                        options())

    assert removed_names(plan) == [updated["package_full_name"]]
    assert plan["remove"][0]["user_sids"] == [BUILDER["sid"]]
    assert plan["remove"][0]["users"] == [BUILDER["username"]]
    assert plan["deprovision"] == []


def test_remove_user_not_provisioned_false_removes_nothing_unasked():
    updated = package("Microsoft.WindowsCalculator", "11.2401.0.0")
    plan = plan_cleanup(state([updated]), options(remove_user_not_provisioned=False))
    assert plan["remove"] == [] and not has_work(plan)


# --------------------------------------------------------------------------- requested packages

def test_requested_packages_match_name_or_full_name_case_insensitively():
    edge = package("Microsoft.MicrosoftEdge.Stable", "131.0.2903.99", arch="neutral")
    photos = package("Microsoft.Windows.Photos", "2021.21090.10008.0")
    other = package("Contoso.App", "1.0.0.0")
    plan = plan_cleanup(
        state([edge, photos, other], [provisioned("Contoso.App", "1.0.0.0")]),
        options(packages=[edge["package_full_name"].upper(), "microsoft.windows.photos", "Gone.App_1.0.0.0_x64__abc"],
                remove_user_not_provisioned=False))

    assert removed_names(plan) == [edge["package_full_name"], photos["package_full_name"]]
    assert all(item["reasons"] == ["requested"] for item in plan["remove"])
    assert plan["not_found"] == ["Gone.App_1.0.0.0_x64__abc"]


def test_a_package_both_requested_and_unprovisioned_is_planned_once_with_both_reasons():
    edge = package("Microsoft.MicrosoftEdge.Stable", "131.0.2903.99", arch="neutral")
    plan = plan_cleanup(state([edge]), options(packages=["Microsoft.MicrosoftEdge.Stable"]))
    assert removed_names(plan) == [edge["package_full_name"]]
    assert plan["remove"][0]["reasons"] == ["user_not_provisioned", "requested"]


def test_requested_staged_package_is_removed_with_its_users_sids():
    staged = package("Microsoft.BingWeather", "4.53.51922.0",
                     users=(dict(BUILDER, install_state="Staged"), dict(ADMIN, install_state="Staged")))
    plan = plan_cleanup(state([staged], [provisioned("Microsoft.BingWeather", "4.25.20211.0")]),
                        options(packages=["Microsoft.BingWeather"]))
    # Not a sysprep "installed for a user" case, but asked for: removed, for every registered user.
    assert removed_names(plan) == [staged["package_full_name"]]
    assert plan["remove"][0]["user_sids"] == [BUILDER["sid"], ADMIN["sid"]]


# --------------------------------------------------------------------------- protection

@pytest.mark.parametrize("flags, reason", [
    ({"is_framework": True}, "framework package"),
    ({"non_removable": True}, "non-removable"),
    ({"signature_kind": "System"}, "system-signed"),
])
def test_windows_own_packages_are_never_removed_even_when_requested(flags, reason):
    own = package("Contoso.Runtime", "1.0.0.0", **flags)
    plan = plan_cleanup(state([own]), options(packages=["Contoso.Runtime"], protect=[]))
    assert plan["remove"] == []
    assert len(plan["protected_skipped"]) == 1
    assert reason in plan["protected_skipped"][0]["reason"]


def test_default_protect_keeps_the_store_and_says_sysprep_will_still_fail():
    store = package("Microsoft.WindowsStore", "22401.1400.6.0")
    vclibs = package("Microsoft.VCLibs.140.00.UWPDesktop", "14.0.33519.0")
    plan = plan_cleanup(state([store, vclibs]), options())

    assert plan["remove"] == []
    skipped = {item["name"]: item for item in plan["protected_skipped"]}
    assert skipped["Microsoft.WindowsStore"]["reason"] == "matches protect pattern 'Microsoft.WindowsStore'"
    assert skipped["Microsoft.WindowsStore"]["blocks_sysprep"] is True
    assert skipped["Microsoft.VCLibs.140.00.UWPDesktop"]["reason"] == "matches protect pattern 'Microsoft.VCLibs.*'"


def test_emptying_protect_lets_the_store_go():
    store = package("Microsoft.WindowsStore", "22401.1400.6.0")
    plan = plan_cleanup(state([store]), options(protect=[]))
    assert removed_names(plan) == [store["package_full_name"]]


def test_protect_patterns_take_wildcards_and_ignore_case():
    app = package("Contoso.LineOfBusiness.Client", "3.1.0.0")
    plan = plan_cleanup(state([app]), options(protect=["contoso.*"]))
    assert plan["remove"] == [] and plan["protected_skipped"][0]["reason"] == "matches protect pattern 'contoso.*'"


PACKAGE_FLAGS = st.fixed_dictionaries({
    "is_framework": st.booleans(), "non_removable": st.booleans(),
    "signature_kind": st.sampled_from(["Store", "System", "Developer", None]),
})


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["Microsoft.WindowsStore", "Contoso.App", "Microsoft.NET.Native.Runtime.2.2",
                                           "Fabrikam.Tool", "Microsoft.UI.Xaml.2.8"]),
                          st.integers(0, 3), PACKAGE_FLAGS), max_size=8,
                unique_by=lambda entry: (entry[0], entry[1])),  # Windows lists each full name once
       st.booleans())
def test_nothing_protected_is_ever_planned_for_removal(entries, request_all):
    packages = [package(name, "1.%d.0.0" % minor, **flags) for name, minor, flags in entries]
    opts = options(packages=[p["name"] for p in packages] if request_all else [])
    plan = plan_cleanup(state(packages), opts)
    for item in plan["remove"]:
        original = next(p for p in packages if p["package_full_name"] == item["package_full_name"])
        assert appx_cleanup.protection_reason(original, opts["protect"]) is None
    if request_all:  # every requested package is either removed or reported as protected
        planned = set(removed_names(plan)) | {i.get("package_full_name") for i in plan["protected_skipped"]}
        assert planned == {p["package_full_name"] for p in packages}


# --------------------------------------------------------------------------- deprovisioning

def test_deprovisioning_also_removes_the_copies_existing_users_have():
    weather_user = package("Microsoft.BingWeather", "4.25.20211.0", users=(BUILDER, ADMIN))
    xbox = package("Microsoft.XboxApp", "48.49.31001.0")
    calculator = package("Microsoft.WindowsCalculator", "10.2103.8.0")
    plan = plan_cleanup(
        state([weather_user, xbox, calculator],
              [provisioned("Microsoft.BingWeather", "4.25.20211.0"), provisioned("Microsoft.XboxApp", "48.49.31001.0"),
               provisioned("Microsoft.WindowsCalculator", "2020.2103.8.0")]),
        options(remove_provisioned=["microsoft.bing*", "Microsoft.Xbox*"]))

    assert [item["display_name"] for item in plan["deprovision"]] == ["Microsoft.BingWeather", "Microsoft.XboxApp"]
    assert sorted(removed_names(plan)) == sorted([weather_user["package_full_name"], xbox["package_full_name"]])
    assert all(item["reasons"] == ["deprovisioned"] for item in plan["remove"])


def test_protect_wins_over_remove_provisioned():
    plan = plan_cleanup(state([], [provisioned("Microsoft.WindowsStore", "22401.1400.6.0")]),
                        options(remove_provisioned=["*"]))
    assert plan["deprovision"] == []
    assert plan["protected_skipped"][0]["kind"] == "provisioned"


# --------------------------------------------------------------------------- bundles

def test_bundle_is_found_by_the_shared_version_tail():
    app = package("Microsoft.WindowsCalculator", "11.2401.0.0")
    bundles = [bundle("Microsoft.WindowsCalculator", "2020.2103.8.0"),
               bundle("Microsoft.WindowsCalculator", "2021.2401.0.0")]
    assert bundle_for(app, bundles) == "Microsoft.WindowsCalculator_2021.2401.0.0_neutral_~_8wekyb3d8bbwe"


def test_a_single_bundle_of_the_family_is_taken():
    app = package("Microsoft.ZuneMusic", "11.2312.8.0")
    assert bundle_for(app, [bundle("Microsoft.ZuneMusic", "2019.23121.10011.0")]) == \
        "Microsoft.ZuneMusic_2019.23121.10011.0_neutral_~_8wekyb3d8bbwe"


@pytest.mark.parametrize("bundles", [
    None,                                                # the build cannot list bundles
    [],                                                  # installed without a bundle
    [bundle("Microsoft.Other", "1.2401.0.0")],           # another family
    [bundle("Microsoft.WindowsCalculator", "2020.1.0.0"),  # two, neither matching: no guess
     bundle("Microsoft.WindowsCalculator", "2021.2.0.0")],
])
def test_no_bundle_when_none_fits(bundles):
    assert bundle_for(package("Microsoft.WindowsCalculator", "11.2401.0.0"), bundles) is None


def test_plan_names_the_bundle_for_the_module():
    app = package("Microsoft.WindowsCalculator", "11.2401.0.0")
    plan = plan_cleanup(state([app], bundles=[bundle("Microsoft.WindowsCalculator", "2021.2401.0.0")]), options())
    assert module_plan(plan) == {
        "remove_packages": [{"package_full_name": app["package_full_name"],
                             "bundle_full_name": "Microsoft.WindowsCalculator_2021.2401.0.0_neutral_~_8wekyb3d8bbwe",
                             "user_sids": [BUILDER["sid"]]}],
        "deprovision": [],
        "policies": [],
    }


# --------------------------------------------------------------------------- policies

@pytest.mark.parametrize("before, changed", [(None, True), (4, True), ("2", True), (2, False)])
def test_store_policy_is_planned_only_when_it_differs(before, changed):
    plan = plan_cleanup(state([], policies={"store_auto_update": before, "consumer_features": None}),
                        options(disable_store_auto_update=True))
    policy = plan["policies"]["store_auto_update"]
    assert (policy["before"], policy["after"], policy["changed"]) == (before, 2, changed)
    assert policy["value_name"] == "AutoDownload"
    assert has_work(plan) is changed
    assert module_plan(plan)["policies"] == (["store_auto_update"] if changed else [])


def test_policies_not_asked_for_are_left_alone():
    plan = plan_cleanup(state([], policies={"store_auto_update": 4, "consumer_features": 0}), options())
    assert plan["policies"] == {} and not has_work(plan)


def test_consumer_features_policy():
    plan = plan_cleanup(state([]), options(disable_consumer_features=True))
    assert plan["policies"]["consumer_features"]["key"].endswith("\\Windows\\CloudContent")
    assert module_plan(plan)["policies"] == ["consumer_features"]


# --------------------------------------------------------------------------- idempotence and diff

def apply_plan(before, plan):
    """What the host looks like after the module carried out the plan."""
    after = copy.deepcopy(before)
    gone = {item["package_full_name"] for item in plan["remove"]}
    unprovisioned = {item["package_name"] for item in plan["deprovision"]}
    after["packages"] = [p for p in after["packages"] if p["package_full_name"] not in gone]
    after["provisioned"] = [p for p in after["provisioned"] if p["package_name"] not in unprovisioned]
    for name, policy in plan["policies"].items():
        after["policies"][name] = policy["after"]
    return after


def test_a_second_plan_after_the_first_was_applied_has_nothing_to_do():
    facts = recorded_facts("win10_22h2_blocked.json")["appx"]
    before = state(facts["packages"], facts["provisioned"])
    opts = options(packages=["Microsoft.WindowsCalculator"], remove_provisioned=["Microsoft.BingWeather"],
                   disable_store_auto_update=True, disable_consumer_features=True)
    first = plan_cleanup(before, opts)
    assert has_work(first)
    second = plan_cleanup(apply_plan(before, first), opts)
    assert not has_work(second)
    assert second["not_found"] == ["Microsoft.WindowsCalculator"]


def test_diff_shows_removed_packages_and_policy_values():
    app = package("Microsoft.WindowsCalculator", "11.2401.0.0")
    kept = package("Contoso.App", "1.0.0.0")
    before = state([app, kept], [provisioned("Contoso.App", "1.0.0.0")], policies={"store_auto_update": 4})
    plan = plan_cleanup(before, options(disable_store_auto_update=True))
    diff = diff_of(before, plan)

    assert diff["before"]["installed"] == sorted(["%s (REF01\\builder)" % app["package_full_name"],
                                                  "%s (REF01\\builder)" % kept["package_full_name"]], key=str.lower)
    assert diff["after"]["installed"] == ["%s (REF01\\builder)" % kept["package_full_name"]]
    assert diff["before"]["policies"]["store_auto_update"].endswith("AutoDownload = 4")
    assert diff["after"]["policies"]["store_auto_update"].endswith("AutoDownload = 2")


def test_diff_after_a_partial_run_shows_only_what_was_removed():
    one, two = package("Contoso.One", "1.0.0.0"), package("Contoso.Two", "1.0.0.0")
    before = state([one, two])
    plan = plan_cleanup(before, options())
    diff = diff_of(before, plan, removed_full_names=[one["package_full_name"]], deprovisioned_names=[])
    assert diff["after"]["installed"] == ["%s (REF01\\builder)" % two["package_full_name"]]


# --------------------------------------------------------------------------- bad input

@pytest.mark.parametrize("args, words", [
    ({"packges": ["x"]}, ["unknown option(s) packges", "valid options"]),
    ({"packages": 5}, ["packages must be a list of strings"]),
    ({"packages": ["ok", ""]}, ["packages[1] must be a non-empty string"]),
    ({"protect": [None]}, ["protect[0] must be a non-empty string"]),
    ({"disable_store_auto_update": "maybe"}, ["disable_store_auto_update must be true or false"]),
])
def test_bad_options_are_named(args, words):
    with pytest.raises(AppxCleanupError) as raised:
        normalize_options(args)
    for word in words:
        assert word in str(raised.value)


def test_a_single_string_is_one_package():
    assert normalize_options({"packages": "Contoso.App"})["packages"] == ["Contoso.App"]


def test_defaults():
    assert normalize_options({}) == {
        "packages": [], "remove_user_not_provisioned": True, "remove_provisioned": [],
        "protect": list(appx_cleanup.DEFAULT_PROTECT), "disable_store_auto_update": False,
        "disable_consumer_features": False,
    }


@pytest.mark.parametrize("bad_state", [None, {"packages": None, "provisioned": []}, {"packages": [], "provisioned": "x"}])
def test_missing_module_data_is_an_error_not_a_guess(bad_state):
    with pytest.raises(AppxCleanupError, match="returned no"):
        plan_cleanup(bad_state, options())
