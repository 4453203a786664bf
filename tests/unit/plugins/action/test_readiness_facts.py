# Copyright: (c) 2026, winimage.generalize contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The readiness_facts action plugin runs the module once and completes its facts."""

from __future__ import annotations

import copy
from unittest import mock

import pytest
from ansible.errors import AnsibleActionFail

from ansible_collections.winimage.generalize.plugins.action.readiness_facts import ActionModule
from ansible_collections.winimage.generalize.plugins.module_utils.facts_schema import empty_facts

STORE_UPDATED = "Microsoft.WindowsCalculator_11.2401.0.0_x64__8wekyb3d8bbwe"


def module_facts():
    """What the PowerShell module returns: raw facts, derived fields still None."""
    facts = empty_facts("online", "winimage.generalize.readiness_facts", "REF01", "2026-03-01T09:30:12Z")
    facts["os"].update(build=22631, product_type="WinNT")
    facts["domain"]["role"] = "member_workstation"
    facts["appx"]["packages"] = [{
        "name": "Microsoft.WindowsCalculator",
        "package_full_name": STORE_UPDATED,
        "version": "11.2401.0.0",
        "architecture": "X64",
        "users": [{"sid": "S-1-5-21-1-2-3-1001", "username": "REF01\\builder", "install_state": "Installed"}],
        "is_framework": False,
        "non_removable": False,
        "signature_kind": "Store",
    }]
    facts["appx"]["provisioned"] = []
    return facts


def make_action(args=None, check_mode=False, async_val=0):
    task = mock.MagicMock()
    task.args = {} if args is None else args
    task.check_mode = check_mode
    task.async_val = async_val
    task.action = "winimage.generalize.readiness_facts"
    connection = mock.MagicMock()
    connection._shell.tmpdir = "/remote/tmp"  # no early tmp path creation
    return ActionModule(task, connection, mock.MagicMock(), mock.MagicMock(), mock.MagicMock(), None)


def run(action, module_result):
    calls = []

    def fake_execute_module(**kwargs):
        calls.append(kwargs)
        return copy.deepcopy(module_result)

    with mock.patch.object(action, "_execute_module", side_effect=fake_execute_module):
        return action.run(task_vars={"inventory_hostname": "ref01"}), calls


def test_runs_the_module_by_fqcn_with_the_task_arguments():
    args = {"gather_subset": ["appx"], "exclude": ["hyperv"]}
    calls = run(make_action(args), {"changed": False, "facts": module_facts()})[1]

    assert len(calls) == 1
    assert calls[0]["module_name"] == "winimage.generalize.readiness_facts"
    assert calls[0]["module_args"] == args
    assert calls[0]["task_vars"] == {"inventory_hostname": "ref01"}


def test_fills_derived_facts_and_keeps_what_the_module_read():
    result = run(make_action(), {"changed": False, "facts": module_facts()})[0]
    facts = result["facts"]

    not_provisioned = facts["appx"]["user_not_provisioned"]
    assert [item["package_full_name"] for item in not_provisioned] == [STORE_UPDATED]
    assert not_provisioned[0]["users"] == ["REF01\\builder"]
    assert facts["os"]["version"] == "10.0"          # derived from the build
    assert facts["os"]["is_server"] is False          # derived from WinNT
    assert facts["domain"]["joined"] is True          # derived from member_workstation
    assert facts["os"]["build"] == 22631              # read value kept
    assert facts["gatherer"]["name"] == "winimage.generalize.readiness_facts"
    assert result["changed"] is False


def test_a_value_the_module_set_is_not_overwritten():
    raw = module_facts()
    raw["os"]["version"] = "6.3"
    result = run(make_action(), {"changed": False, "facts": raw})[0]

    assert result["facts"]["os"]["version"] == "6.3"


def test_check_mode_runs_the_read_only_module():
    result, calls = run(make_action(check_mode=True), {"changed": False, "facts": module_facts()})

    assert len(calls) == 1
    assert result["facts"]["appx"]["user_not_provisioned"] is not None


def test_module_failure_is_passed_through_untouched():
    failure = {"failed": True, "msg": "gather_subset: unknown section 'apps'"}
    result = run(make_action({"gather_subset": ["apps"]}), failure)[0]

    assert result["failed"] is True
    assert result["msg"] == failure["msg"]
    assert "facts" not in result


def test_missing_facts_document_is_a_clear_failure():
    result = run(make_action(), {"changed": False})[0]

    assert result["failed"] is True
    assert "returned no facts document" in result["msg"]


def test_unknown_option_is_rejected_before_the_module_runs():
    action = make_action({"gather_subset": ["all"], "exclude_sections": ["appx"]})
    with mock.patch.object(action, "_execute_module") as execute:
        with pytest.raises(AnsibleActionFail, match="exclude_sections"):
            action.run(task_vars={})
    execute.assert_not_called()


def test_async_is_refused_because_facts_could_not_be_completed():
    action = make_action(async_val=30)
    with mock.patch.object(action, "_execute_module") as execute:
        with pytest.raises(AnsibleActionFail, match="does not support async"):
            action.run(task_vars={})
    execute.assert_not_called()
