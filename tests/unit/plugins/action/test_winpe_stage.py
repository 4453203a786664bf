# Copyright: (c) 2026, winimage.generalize contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The winpe_stage action plugin: plan on the controller, keep the share password out of everything."""

from __future__ import annotations

import copy
import json
import pathlib
import sys
from unittest import mock

import pytest
import yaml
from ansible.errors import AnsibleActionFail

from ansible_collections.winimage.generalize.plugins.action import winpe_stage as action_module
from ansible_collections.winimage.generalize.plugins.module_utils import winpe

ROOT = pathlib.Path(__file__).resolve().parents[4]
SIDECAR = ROOT / "plugins" / "modules" / "winpe_stage.yml"
PS1 = ROOT / "plugins" / "modules" / "winpe_stage.ps1"
PASSWORD = "Correct&Horse%Battery"

ARGS = {"boot_wim": "C:\\ADK\\winpe.wim", "share": "\\\\files01\\images", "share_username": "CORP\\svc",
        "share_password": PASSWORD, "dest": "captures\\ref.wim", "name": "Ref 2026-03"}


def inspect_result(**overrides):
    result = {"changed": False, "staged": False, "state": None, "boot_wim_present": False, "verifier_present": False,
              "loader_exists": False, "device_exists": False, "bootsequence_set": False, "system_drive": "C:",
              "firmware": "bios", "boot_wim_source": {"exists": True, "size": 1, "modified": "2026-01-01T00:00:00Z"}}
    result.update(overrides)
    return result


APPLIED = {"changed": True, "token": "x", "loader_id": "{11111111-1111-1111-1111-111111111111}",
           "device_id": "{22222222-2222-2222-2222-222222222222}", "winload": "\\Windows\\System32\\Boot\\winload.exe",
           "bcd_commands": ["bcdedit.exe /bootsequence {11111111-1111-1111-1111-111111111111}"]}


def make_action(args, check_mode=False):
    task = mock.MagicMock()
    task.args = args
    task.check_mode = check_mode
    task.async_val = 0
    task.action = "winimage.generalize.winpe_stage"
    connection = mock.MagicMock()
    connection._shell.tmpdir = "/remote/tmp"
    return action_module.ActionModule(task, connection, mock.MagicMock(), mock.MagicMock(), mock.MagicMock(), None)


def run(args, inspect=None, check_mode=False, applied=None):
    calls = []

    def fake_execute_module(**kwargs):
        calls.append(copy.deepcopy(kwargs["module_args"]))
        operation = kwargs["module_args"]["operation"]
        if operation == "inspect":
            return copy.deepcopy(inspect or inspect_result())
        if operation == "remove":
            return {"changed": True, "removed_bcd_entries": ["{1}"]}
        return copy.deepcopy(applied or APPLIED)

    action = make_action(args, check_mode)
    with mock.patch.object(action, "_execute_module", side_effect=fake_execute_module):
        return action.run(task_vars={}), calls


def test_staging_inspects_then_applies_the_rendered_plan():
    result, calls = run(ARGS)

    assert [c["operation"] for c in calls] == ["inspect", "apply"]
    plan = calls[1]["plan"]
    assert plan["restage"] is True and set(plan["public_files"]) == {winpe.STARTNET, winpe.CAPTURE_SCRIPT,
                                                                     winpe.CONFIG_FILE}
    assert plan["winload_candidates"][0].endswith("winload.exe")        # firmware bios from inspect
    assert plan["bcd"][0]["capture"] == "device" and "@LOADER@" in plan["bcd"][-1]["command"]
    assert result["changed"] is True and result["loader_id"] == APPLIED["loader_id"]
    assert result["status_file"] == "captures/ref.%s.status.json" % result["token"]
    assert result["exclusions"][0] == "\\winimage-winpe"


def test_the_password_travels_only_in_no_log_options_and_never_comes_back():
    result, calls = run(ARGS)

    inspect_args, apply_args = calls
    assert PASSWORD not in json.dumps(inspect_args)
    visible = {k: v for k, v in apply_args.items() if k not in ("secret_files", "credential_verifier")}
    assert PASSWORD not in json.dumps(visible)
    assert apply_args["secret_files"] == {winpe.SHARE_SECRET: PASSWORD + "\r\n"}
    assert PASSWORD not in apply_args["credential_verifier"]
    assert PASSWORD not in json.dumps(result)
    assert "share.secret" in result["credential_location"]
    for name in ("share_password", "secret_files", "credential_verifier"):
        assert action_module.ARGUMENT_SPEC[name]["no_log"] is True


def test_option_errors_never_echo_the_password():
    bad = dict(ARGS, share_password=PASSWORD + '"')
    action = make_action(bad)
    with mock.patch.object(action, "_execute_module") as execute:
        with pytest.raises(AnsibleActionFail) as error:
            action.run(task_vars={})
    execute.assert_not_called()
    assert "double quote" in str(error.value) and PASSWORD not in str(error.value)


def test_a_module_failure_message_is_scrubbed_of_the_password():
    action = make_action(ARGS)
    responses = iter([inspect_result(), {"failed": True, "msg": "net use said %s was wrong" % PASSWORD}])
    with mock.patch.object(action, "_execute_module", side_effect=lambda **kw: copy.deepcopy(next(responses))):
        result = action.run(task_vars={})

    assert result["failed"] is True and PASSWORD not in result["msg"]


def test_check_mode_with_a_needed_staging_does_not_touch_the_host():
    result, calls = run(ARGS, check_mode=True)

    assert [c["operation"] for c in calls] == ["inspect"]
    assert result["changed"] is True and result["bcd_commands"][0].startswith("bcdedit.exe /create")


def test_a_whole_staging_lets_the_module_compare_the_credentials():
    first, calls = run(ARGS)
    plan = calls[1]["plan"]
    staged = inspect_result(staged=True, boot_wim_present=True, verifier_present=True, loader_exists=True,
                            device_exists=True, bootsequence_set=True,
                            state={"token": plan["token"], "salt": plan["salt"], "config_digest": plan["config_digest"]})

    result, calls = run(ARGS, inspect=staged, applied={"changed": False, "token": plan["token"]})

    assert calls[1]["plan"]["restage"] is False and calls[1]["plan"]["token"] == plan["token"]
    assert calls[1]["credential_verifier"] == winpe.credential_verifier("CORP\\svc", PASSWORD, plan["salt"])
    assert result["changed"] is False and result["token"] == first["token"]


def test_absent_removes_without_needing_any_other_option():
    result, calls = run({"state": "absent"})

    assert calls == [{"state": "absent", "operation": "remove"}]
    assert result["changed"] is True and result["removed_bcd_entries"] == ["{1}"]


@pytest.mark.parametrize("args, words", [
    ({"boot_wim": "C:\\winpe.wim", "dest": "x.wim"}, "name"),
    (dict(ARGS, operation="apply"), "internal"),
    (dict(ARGS, secret_files={"a": "b"}), "internal"),
    (dict(ARGS, target="volume"), "target_volume"),
])
def test_bad_options_fail_before_the_host_is_touched(args, words):
    action = make_action(args)
    with mock.patch.object(action, "_execute_module") as execute:
        with pytest.raises(AnsibleActionFail, match=words):
            action.run(task_vars={})
    execute.assert_not_called()


def test_the_action_options_match_the_sidecar_and_the_powershell_spec():
    sys.path.insert(0, str(ROOT / "tests" / "quality"))
    try:
        import ps_contract
    finally:
        sys.path.pop(0)
    documented = yaml.safe_load(SIDECAR.read_text(encoding="utf-8"))["DOCUMENTATION"]["options"]
    powershell = ps_contract.module_argument_spec(PS1)

    assert set(documented) == set(action_module.ARGUMENT_SPEC) == set(powershell["options"])
    for name, spec in action_module.ARGUMENT_SPEC.items():
        for source in (documented[name], powershell["options"][name]):
            assert source.get("type", "str") == spec["type"], name
            assert source.get("default") == spec.get("default"), name
            assert sorted(source.get("choices") or []) == sorted(spec.get("choices") or []), name
        assert bool(powershell["options"][name].get("no_log")) == bool(spec.get("no_log")), name
    assert powershell["required_if"] == action_module.REQUIRED_IF
