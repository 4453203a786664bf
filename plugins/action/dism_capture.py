# Copyright: (c) 2026, winimage.generalize contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Capture a volume or folder into a WIM with DISM, deciding everything on the controller.

Flow: validate the options (module_utils/dism.py), ask the host what it has (operation
``inspect``: does src exist, does dest exist, which image names and which WIM header it has,
split parts, leftovers), plan with ``dism.plan_capture`` (create, append or unchanged - never
an overwrite), then either report the plan (check mode), describe the existing image
(unchanged) or hand the planned command lines to the module (operation ``run``).

The DISM run is one synchronous module call (it can take an hour over WinRM); task-level
``async`` is refused because the plan-then-run flow needs the results on the controller.
"""

from __future__ import annotations

import base64
import binascii
import uuid

from ansible.errors import AnsibleActionFail

from ansible_collections.winimage.generalize.plugins.module_utils import dism
from ansible_collections.winimage.generalize.plugins.plugin_utils.windows_host import (
    HostConnectionLost,
    ModuleFailed,
    WindowsHostActionBase,
)

MODULE_NAME = "winimage.generalize.dism_capture"
OPERATIONS = ("capture", "inspect", "describe", "run")

# Keep in step with plugins/modules/dism_capture.yml and the $spec of dism_capture.ps1
# (tests/unit/plugins/action/test_dism_capture.py compares them).
ARGUMENT_SPEC = {
    "src": {"type": "str", "required": True},
    "dest": {"type": "str", "required": True},
    "name": {"type": "str", "required": True},
    "description": {"type": "str"},
    "compression": {"type": "str", "choices": list(dism.COMPRESSIONS)},
    "append": {"type": "bool", "default": False},
    "exclusions": {"type": "list", "elements": "str", "default": list(dism.DEFAULT_EXCLUSIONS)},
    "check_integrity": {"type": "bool", "default": False},
    "verify": {"type": "bool", "default": False},
    "scratch_dir": {"type": "str"},
    "split_size_mb": {"type": "int"},
    "operation": {"type": "str", "default": "capture", "choices": list(OPERATIONS)},
    "plan": {"type": "dict"},
}
# Options the module needs on every call (inspect and describe read them).
_IDENTITY_KEYS = ("src", "dest", "name")


class ActionModule(WindowsHostActionBase):

    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(ARGUMENT_SPEC)

    def run(self, tmp=None, task_vars=None):
        self._supports_check_mode = True
        self._supports_async = False
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp
        task_vars = task_vars or {}

        options = self._validated_options()
        try:
            result.update(self._capture(options, task_vars))
        except dism.CaptureRefused as error:
            result.update(failed=True, changed=False, msg="%s: %s" % (MODULE_NAME, error))
        except HostConnectionLost as error:
            result.update(unreachable=True, msg="%s: the host is unreachable: %s" % (MODULE_NAME, error))
        except ModuleFailed as error:
            result.update(error.result)
            result.update(failed=True, msg="%s: %s" % (MODULE_NAME, error))
        return result

    def _validated_options(self):
        options = self._validated_task_args(MODULE_NAME, ARGUMENT_SPEC)
        if options["operation"] != "capture":
            raise AnsibleActionFail("%s: operation %s is internal to the action plugin; leave operation unset"
                                    % (MODULE_NAME, options["operation"]))
        try:
            return dism.validate_capture_options(options)
        except dism.DismOptionError as error:
            raise AnsibleActionFail("%s: %s" % (MODULE_NAME, error)) from None

    def _identity(self, options):
        return {key: options[key] for key in _IDENTITY_KEYS}

    def _capture(self, options, task_vars):
        state = self._inspect(options, task_vars)
        plan = dism.plan_capture(options, state, uuid.uuid4().hex[:12])
        commands = [step["command"] for step in plan["steps"]]
        summary = {"dest": plan["dest"], "action": plan["action"], "warnings": plan["warnings"],
                   "compression": plan["compression"], "exclusions": options["exclusions"],
                   "command": commands[0] if commands else None, "commands": commands}
        if plan["action"] == "none":
            described = self._call_module(MODULE_NAME, dict(self._identity(options), operation="describe"), task_vars)
            return dict(summary, changed=False, verified=False, **_image_result(described))
        if self._task.check_mode:
            return dict(summary, changed=True)
        module_plan = {key: plan[key] for key in ("action", "dest", "temp", "config_file", "config_text", "log_path",
                                                  "intermediate", "split", "name")}
        module_plan["config_encoding"] = dism.wimscript_encoding(plan["config_text"])
        module_plan["steps"] = [{"what": step["what"], "command": step["command"]} for step in plan["steps"]]
        ran = self._call_module(MODULE_NAME, dict(self._identity(options), operation="run", plan=module_plan),
                                task_vars)
        return dict(summary, changed=True, verified=options["verify"], timings=ran.get("timings") or {},
                    **_image_result(ran))

    def _inspect(self, options, task_vars):
        state = self._call_module(MODULE_NAME, dict(self._identity(options), operation="inspect"), task_vars)
        header = state.get("header")
        try:
            state["header"] = base64.b64decode(header) if header else b""
        except (TypeError, ValueError, binascii.Error):
            state["header"] = b""
        return state


def _image_result(module_result):
    """The documented return keys from a module result of operation describe or run."""
    images = module_result.get("images") or []
    return {
        "index": module_result.get("index"),
        "size": module_result.get("size"),
        "sha256": module_result.get("sha256"),
        "image_info": dism.normalize_image_info(module_result.get("image_info") or {}),
        "images": images,
        "image_count": len(images),
        "parts": module_result.get("parts") or [],
    }
