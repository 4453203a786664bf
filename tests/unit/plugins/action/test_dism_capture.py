# Copyright: (c) 2026, winimage.generalize contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The dism_capture action plugin: inspect, plan, then run - and never overwrite."""

from __future__ import annotations

import base64
import copy
import pathlib
import struct
import sys
from unittest import mock

import pytest
import yaml
from ansible.errors import AnsibleActionFail

from ansible_collections.winimage.generalize.plugins.action import dism_capture as action_module
from ansible_collections.winimage.generalize.plugins.module_utils import dism

ROOT = pathlib.Path(__file__).resolve().parents[4]
SIDECAR = ROOT / "plugins" / "modules" / "dism_capture.yml"
PS1 = ROOT / "plugins" / "modules" / "dism_capture.ps1"
XPRESS = base64.b64encode(dism.WIM_MAGIC + struct.pack("<III", 208, 0x10d00, 0x20002) + b"\0" * 188).decode()

ARGS = {"src": "E:\\", "dest": "D:\\images\\ref.wim", "name": "Ref 2026-03"}


def inspect_result(**overrides):
    result = {"changed": False, "src_is_dir": True, "dest_dir_exists": True, "dest_exists": False,
              "dest_is_file": False, "images": [], "images_error": None, "header": None, "split_parts": [],
              "leftovers": []}
    result.update(overrides)
    return result


DESCRIBED = {"changed": False, "dest": "D:\\images\\ref.wim", "index": 2, "size": 123, "sha256": "ab" * 32,
             "images": [{"index": 1, "name": "Old"}, {"index": 2, "name": "Ref 2026-03"}], "parts": [],
             "image_info": {"index": 2, "name": "Ref 2026-03", "windows": {"architecture": "x64"}}}
RAN = dict(DESCRIBED, changed=True, action="capture", timings={"capture": 10.0, "hash": 1.0},
           images=[{"index": 1, "name": "Ref 2026-03"}], index=1)


def make_action(args, check_mode=False):
    task = mock.MagicMock()
    task.args = args
    task.check_mode = check_mode
    task.async_val = 0
    task.action = "winimage.generalize.dism_capture"
    connection = mock.MagicMock()
    connection._shell.tmpdir = "/remote/tmp"
    return action_module.ActionModule(task, connection, mock.MagicMock(), mock.MagicMock(), mock.MagicMock(), None)


def run(args, inspect=None, check_mode=False, run_result=None):
    calls = []

    def fake_execute_module(**kwargs):
        calls.append(copy.deepcopy(kwargs["module_args"]))
        operation = kwargs["module_args"]["operation"]
        if operation == "inspect":
            return copy.deepcopy(inspect or inspect_result())
        if operation == "describe":
            return copy.deepcopy(DESCRIBED)
        return copy.deepcopy(run_result or RAN)

    action = make_action(args, check_mode)
    with mock.patch.object(action, "_execute_module", side_effect=fake_execute_module):
        return action.run(task_vars={}), calls


def test_a_new_capture_inspects_then_runs_the_plan():
    result, calls = run(ARGS)

    assert [c["operation"] for c in calls] == ["inspect", "run"]
    plan = calls[1]["plan"]
    assert plan["action"] == "capture" and plan["temp"] == plan["steps"][0]["command"].split("/ImageFile:")[1].split()[0]
    assert plan["config_encoding"] == "ascii" and "[ExclusionList]" in plan["config_text"]
    assert result["changed"] is True and result["action"] == "capture" and result["index"] == 1
    assert result["image_count"] == 1 and result["image_info"]["windows"]["architecture"] == "amd64"
    assert result["command"].startswith("dism.exe ") and result["commands"] == [result["command"]]
    assert result["timings"] == {"capture": 10.0, "hash": 1.0} and result["verified"] is False


def test_check_mode_plans_without_running_dism():
    result, calls = run(ARGS, check_mode=True)

    assert [c["operation"] for c in calls] == ["inspect"]
    assert result["changed"] is True and result["action"] == "capture" and "/Capture-Image" in result["command"]


def test_an_existing_image_name_is_reported_unchanged():
    existing = inspect_result(dest_exists=True, dest_is_file=True, header=XPRESS,
                              images=[{"index": 1, "name": "Old"}, {"index": 2, "name": "REF 2026-03"}])
    result, calls = run(ARGS, inspect=existing)

    assert [c["operation"] for c in calls] == ["inspect", "describe"]
    assert result["changed"] is False and result["action"] == "none" and result["index"] == 2
    assert result["sha256"] == "ab" * 32 and result["image_count"] == 2


def test_an_existing_file_without_append_fails_without_running_anything():
    existing = inspect_result(dest_exists=True, dest_is_file=True, header=XPRESS, images=[{"index": 1, "name": "Old"}])
    result, calls = run(ARGS, inspect=existing)

    assert [c["operation"] for c in calls] == ["inspect"]
    assert result["failed"] is True and "never overwritten" in result["msg"]


def test_append_runs_into_a_copy_with_the_existing_compression():
    existing = inspect_result(dest_exists=True, dest_is_file=True, header=XPRESS, images=[{"index": 1, "name": "Old"}])
    result, calls = run(dict(ARGS, append=True), inspect=existing)

    plan = calls[1]["plan"]
    assert plan["action"] == "append" and "/Append-Image" in plan["steps"][0]["command"]
    assert result["compression"] == "fast"


def test_a_failed_dism_step_is_reported_with_its_output():
    action = make_action(ARGS)
    failure = {"failed": True, "msg": "DISM capture failed with exit code 112; dest D:\\images\\ref.wim is unchanged.",
               "rc": 112, "log_tail": "Error 112", "commands": ["dism.exe ..."]}
    responses = iter([inspect_result(), failure])
    with mock.patch.object(action, "_execute_module", side_effect=lambda **kw: copy.deepcopy(next(responses))):
        result = action.run(task_vars={})

    assert result["failed"] is True and result["rc"] == 112 and "exit code 112" in result["msg"]
    assert result["log_tail"] == "Error 112"


@pytest.mark.parametrize("args, words", [
    (dict(ARGS, compression="recovery"), "writes an .esd"),
    (dict(ARGS, operation="run"), "internal"),
    ({"src": "E:\\", "dest": "D:\\x.wim"}, "name"),
    (dict(ARGS, bogus=1), "bogus"),
])
def test_option_errors_are_clear_and_run_nothing(args, words):
    action = make_action(args)
    with mock.patch.object(action, "_execute_module") as execute:
        with pytest.raises(AnsibleActionFail, match=words):
            action.run(task_vars={})
    execute.assert_not_called()


def test_async_is_refused_as_documented():
    action = make_action(ARGS)
    action._task.async_val = 60
    with pytest.raises(AnsibleActionFail, match="does not support async"):
        action.run(task_vars={})


# --------------------------------------------------------------------------- spec = docs = PowerShell

def test_the_action_options_match_the_sidecar_and_the_powershell_spec():
    sys.path.insert(0, str(ROOT / "tests" / "quality"))
    try:
        import ps_contract
    finally:
        sys.path.pop(0)
    documented = yaml.safe_load(SIDECAR.read_text(encoding="utf-8"))["DOCUMENTATION"]["options"]
    powershell = ps_contract.module_argument_spec(PS1)["options"]

    assert set(documented) == set(action_module.ARGUMENT_SPEC) == set(powershell)
    for name, spec in action_module.ARGUMENT_SPEC.items():
        for source in (documented[name], powershell[name]):
            assert source.get("type", "str") == spec["type"], name
            assert source.get("default") == spec.get("default"), name
            assert sorted(source.get("choices") or []) == sorted(spec.get("choices") or []), name
            assert bool(source.get("required")) == bool(spec.get("required")), name


def test_the_module_names_architectures_like_the_controller():
    """dism_capture.ps1 maps DISM architecture numbers itself; its table must equal dism.py's."""
    sys.path.insert(0, str(ROOT / "tests" / "quality"))
    try:
        import ps_contract
    finally:
        sys.path.pop(0)
    tree = ps_contract.parse(PS1.read_bytes())
    table = None
    for node in ps_contract._walk(tree.root_node):
        if node.type == "assignment_expression" and node.text.decode().startswith("$architectureNames"):
            table = ps_contract.literal_value(node.named_children[-1])
    expected = {str(number): name for number, name in dism.ARCHITECTURES.items()}
    expected.update(dism.ARCHITECTURE_NAMES)

    assert table == expected
