# Copyright: (c) 2026, winimage.generalize contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The appx_cleanup action plugin against a fake host that behaves like the module.

The fake answers the module's two calls: without ``_plan`` it returns the Appx state; with
``_plan`` it removes exactly what the plan names (optionally failing some) and changes its state,
so a second run sees the result of the first.
"""

from __future__ import annotations

import copy
from unittest import mock

import pytest
from ansible.errors import AnsibleActionFail

from ansible_collections.winimage.generalize.plugins.action.appx_cleanup import ActionModule
from ansible_collections.winimage.generalize.plugins.plugin_utils.appx_cleanup import run_appx_cleanup

BUILDER = {"sid": "S-1-5-21-1-2-3-1001", "username": "REF01\\builder", "install_state": "Installed"}
EDGE = "Microsoft.MicrosoftEdge.Stable_131.0.2903.99_neutral__8wekyb3d8bbwe"
CALC = "Microsoft.WindowsCalculator_11.2401.0.0_x64__8wekyb3d8bbwe"
CALC_BUNDLE = "Microsoft.WindowsCalculator_2021.2401.0.0_neutral_~_8wekyb3d8bbwe"
STORE = "Microsoft.WindowsStore_22401.1400.6.0_x64__8wekyb3d8bbwe"
WEATHER_PROVISIONED = "Microsoft.BingWeather_4.25.20211.0_neutral_~_8wekyb3d8bbwe"


def package(full_name, **flags):
    name, version = full_name.split("_")[:2]
    entry = {"name": name, "package_full_name": full_name, "version": version, "users": [dict(BUILDER)],
             "is_framework": False, "non_removable": False, "signature_kind": "Store"}
    entry.update(flags)
    return entry


class FakeHost(object):
    """The appx_cleanup module as seen from the controller."""

    def __init__(self, packages, provisioned=(), bundles=None, policies=None, fail=()):
        self.state = {
            "packages": [package(name) if isinstance(name, str) else name for name in packages],
            "provisioned": [{"display_name": p.split("_")[0], "package_name": p, "version": p.split("_")[1]}
                            for p in provisioned],
            "bundles": bundles,
            "policies": dict({"store_auto_update": None, "consumer_features": None}, **(policies or {})),
            "remove_all_users_supported": True,
            "appx_runner": "in_process",
        }
        self.fail = set(fail)
        self.calls = []

    def execute(self, module_name, module_args, task_vars):
        assert module_name == "winimage.generalize.appx_cleanup"
        self.calls.append(copy.deepcopy(module_args))
        plan = module_args.get("_plan")
        if plan is None:
            return {"changed": False, "state": copy.deepcopy(self.state)}
        return self._apply(plan)

    def _apply(self, plan):
        removed, failed = [], []
        for item in plan["remove_packages"]:
            if item["package_full_name"] in self.fail:
                failed.append({"package_full_name": item["package_full_name"], "error": "0x80073CFA removal failed"})
                continue
            removed.append({"package_full_name": item["package_full_name"],
                            "removed_as": item["bundle_full_name"] or item["package_full_name"], "method": "all_users"})
            self.state["packages"] = [p for p in self.state["packages"]
                                      if p["package_full_name"] != item["package_full_name"]]
        self.state["provisioned"] = [p for p in self.state["provisioned"] if p["package_name"] not in plan["deprovision"]]
        for name in plan["policies"]:
            self.state["policies"][name] = {"store_auto_update": 2, "consumer_features": 1}[name]
        return {"changed": bool(removed or plan["deprovision"] or plan["policies"]), "removed": removed,
                "remove_failed": failed, "deprovisioned": list(plan["deprovision"]), "deprovision_failed": [],
                "policies_set": list(plan["policies"]), "policies_failed": [], "appx_runner": "in_process"}


def make_action(args=None, check_mode=False, diff=False):
    task = mock.MagicMock()
    task.args = {} if args is None else args
    task.check_mode = check_mode
    task.diff = diff
    task.async_val = 0
    task.action = "winimage.generalize.appx_cleanup"
    connection = mock.MagicMock()
    connection._shell.tmpdir = "/remote/tmp"
    return ActionModule(task, connection, mock.MagicMock(), mock.MagicMock(), mock.MagicMock(), None)


def run(host, args=None, check_mode=False, diff=False):
    action = make_action(args, check_mode, diff)
    with mock.patch.object(action, "_execute_module", side_effect=host.execute):
        return action.run(task_vars={"inventory_hostname": "ref01"})


def test_removes_what_sysprep_would_reject_then_is_idempotent():
    host = FakeHost([EDGE, CALC], bundles=[package(CALC_BUNDLE)])

    first = run(host)
    assert first["changed"] is True and not first.get("failed")
    assert sorted(first["removed"]) == sorted([EDGE, CALC])
    assert len(host.calls) == 2 and host.calls[0] == {}
    assert host.calls[1]["_plan"]["remove_packages"] == [  # sorted by full name, as facts_derive lists them
        {"package_full_name": EDGE, "bundle_full_name": None, "user_sids": [BUILDER["sid"]]},
        {"package_full_name": CALC, "bundle_full_name": CALC_BUNDLE, "user_sids": [BUILDER["sid"]]},
    ]
    assert {m["removed_as"] for m in first["removal_methods"]} == {CALC_BUNDLE, EDGE}

    second = run(host)
    assert second["changed"] is False
    assert second["removed"] == [] and len(host.calls) == 3  # one read, nothing to carry out


def test_check_mode_lists_exactly_what_would_happen_and_changes_nothing():
    host = FakeHost([EDGE, STORE], provisioned=[WEATHER_PROVISIONED], policies={"store_auto_update": 4})
    before = copy.deepcopy(host.state)

    result = run(host, {"remove_provisioned": ["Microsoft.BingWeather"], "disable_store_auto_update": True},
                 check_mode=True, diff=True)

    assert result["changed"] is True
    assert result["removed"] == [EDGE]
    assert result["deprovisioned"] == [WEATHER_PROVISIONED]
    assert result["policies"]["store_auto_update"]["before"] == 4
    assert result["policies"]["store_auto_update"]["after"] == 2
    assert [item["package_full_name"] for item in result["protected_skipped"]] == [STORE]
    assert len(host.calls) == 1 and "_plan" not in host.calls[0]
    assert host.state == before
    assert EDGE + " (REF01\\builder)" in result["diff"]["before"]["installed"]
    assert EDGE + " (REF01\\builder)" not in result["diff"]["after"]["installed"]
    assert WEATHER_PROVISIONED not in result["diff"]["after"]["provisioned"]


def test_policies_are_set_once():
    host = FakeHost([], policies={"store_auto_update": 4})
    args = {"disable_store_auto_update": True, "disable_consumer_features": True}
    first = run(host, args)
    assert first["changed"] is True
    assert host.calls[1]["_plan"] == {"remove_packages": [], "deprovision": [],
                                      "policies": ["consumer_features", "store_auto_update"]}
    assert first["policies"]["consumer_features"]["changed"] is True
    second = run(host, args)
    assert second["changed"] is False
    assert second["policies"]["store_auto_update"] == {
        "key": "HKLM:\\SOFTWARE\\Policies\\Microsoft\\WindowsStore", "value_name": "AutoDownload",
        "before": 2, "after": 2, "changed": False}


def test_explicit_packages_from_a_panther_log_and_nothing_else():
    host = FakeHost([EDGE, CALC])
    result = run(host, {"packages": [EDGE], "remove_user_not_provisioned": False})
    assert result["removed"] == [EDGE]
    assert [p["package_full_name"] for p in host.state["packages"]] == [CALC]
    again = run(host, {"packages": [EDGE], "remove_user_not_provisioned": False})
    assert again["changed"] is False and again["not_found"] == [EDGE]


def test_protected_package_that_blocks_sysprep_gives_a_warning():
    result = run(FakeHost([STORE]))
    assert result["changed"] is False
    assert len(result["warnings"]) == 1
    assert STORE in result["warnings"][0] and "sysprep /generalize will still fail" in result["warnings"][0]


def test_a_failed_removal_fails_the_task_and_reports_what_was_removed():
    host = FakeHost([EDGE, CALC], fail=[CALC])
    result = run(host)
    assert result["failed"] is True and result["changed"] is True
    assert result["removed"] == [EDGE]
    assert CALC in result["msg"] and "0x80073CFA" in result["msg"]


def test_a_module_failure_while_reading_is_passed_on():
    host = FakeHost([])
    host.execute = mock.MagicMock(return_value={"failed": True, "msg": "Get-AppxPackage is not available"})
    result = run(host)
    assert result["failed"] is True and result["changed"] is False
    assert result["msg"] == "Get-AppxPackage is not available"


def test_a_module_answer_without_state_is_a_clear_error():
    host = FakeHost([])
    host.execute = mock.MagicMock(return_value={"changed": False})
    result = run(host)
    assert result["failed"] is True and "returned no Appx state" in result["msg"]


def test_bad_option_values_are_named_without_a_traceback():
    result = run(FakeHost([]), {"packages": [""]})
    assert result["failed"] is True
    assert result["msg"] == "winimage.generalize.appx_cleanup: packages[0] must be a non-empty string, got ''"


def test_unknown_and_internal_options_are_refused():
    for args in ({"packagez": []}, {"_plan": {"remove_packages": []}}):
        with pytest.raises(AnsibleActionFail, match="Invalid options"):
            run(FakeHost([]), args)


def test_diff_is_only_returned_when_asked():
    assert "diff" not in run(FakeHost([EDGE]), check_mode=True)
    assert "diff" in run(FakeHost([EDGE]), check_mode=True, diff=True)


def test_run_appx_cleanup_is_usable_from_another_action_plugin():
    """The sysprep action's call: packages named by Panther, read 'removed'."""
    host = FakeHost([EDGE, CALC])

    def execute(module_args):
        return host.execute("winimage.generalize.appx_cleanup", module_args, {})

    result = run_appx_cleanup(execute, {"packages": [CALC], "remove_user_not_provisioned": False})
    assert result["removed"] == [CALC]
    assert result["changed"] is True
