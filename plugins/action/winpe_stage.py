# Copyright: (c) 2026, winimage.generalize contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Stage (or remove) the one-time WinPE RAM-disk boot that captures a physical machine.

Flow for ``state: present``: validate (module_utils/winpe.py), ask the host what is staged
(operation ``inspect``), plan with ``winpe.plan_stage`` (reuse the staged run when it is whole
and its configuration digest matches, else a new run identity), then let the module apply it.
The module still compares the PBKDF2 verifier of the share credentials, so a changed password
re-stages while an unchanged one leaves everything as it is (idempotent).

Secrets: ``share_password`` reaches the host only as the module's no_log ``secret_files`` (the
file written inside boot.wim) and no_log ``credential_verifier``. No result key, message or
display line of this plugin carries it; option errors are scrubbed of it.
"""

from __future__ import annotations

import secrets
import uuid

from ansible.errors import AnsibleActionFail
from ansible.module_utils.common.parameters import remove_values

from ansible_collections.winimage.generalize.plugins.module_utils import dism, winpe
from ansible_collections.winimage.generalize.plugins.plugin_utils.windows_host import (
    HostConnectionLost,
    ModuleFailed,
    WindowsHostActionBase,
)

MODULE_NAME = "winimage.generalize.winpe_stage"
OPERATIONS = ("stage", "inspect", "apply", "remove")
# boot.sdi on every Windows 8+ installation, tried in order when boot_sdi is not given.
BOOT_SDI_CANDIDATES = ("%SystemRoot%\\Boot\\DVD\\EFI\\boot.sdi", "%SystemRoot%\\Boot\\DVD\\PCAT\\boot.sdi")

# Keep in step with plugins/modules/winpe_stage.yml and the $spec of winpe_stage.ps1
# (tests/unit/plugins/action/test_winpe_stage.py compares them).
ARGUMENT_SPEC = {
    "state": {"type": "str", "default": "present", "choices": ["present", "absent"]},
    "boot_wim": {"type": "str"},
    "boot_wim_index": {"type": "int", "default": 1},
    "boot_sdi": {"type": "str"},
    "target": {"type": "str", "default": "share", "choices": list(winpe.TARGETS)},
    "share": {"type": "str"},
    "share_username": {"type": "str"},
    "share_password": {"type": "str", "no_log": True},
    "share_drive": {"type": "str", "default": "N:"},
    "target_volume": {"type": "str"},
    "dest": {"type": "str"},
    "name": {"type": "str"},
    "description": {"type": "str"},
    "compression": {"type": "str", "choices": list(dism.COMPRESSIONS)},
    "exclusions": {"type": "list", "elements": "str", "default": list(dism.DEFAULT_EXCLUSIONS)},
    "check_integrity": {"type": "bool", "default": False},
    "verify": {"type": "bool", "default": False},
    "scratch_dir": {"type": "str"},
    "on_failure": {"type": "str", "default": "shutdown", "choices": list(winpe.ON_FAILURE)},
    "operation": {"type": "str", "default": "stage", "choices": list(OPERATIONS)},
    "plan": {"type": "dict"},
    "secret_files": {"type": "dict", "no_log": True},
    "credential_verifier": {"type": "str", "no_log": True},
}
REQUIRED_IF = [["state", "present", ["boot_wim", "dest", "name"]]]
INTERNAL = ("operation", "plan", "secret_files", "credential_verifier")
SECRET_OPTIONS = ("share_password",)


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
            if options["state"] == "absent":
                result.update(self._remove(options, task_vars))
            else:
                result.update(self._stage(options, task_vars))
        except winpe.WinPEOptionError as error:
            result.update(failed=True, changed=False, msg="%s: %s" % (MODULE_NAME, self._scrub(str(error))))
        except HostConnectionLost as error:
            result.update(unreachable=True, msg="%s: the host is unreachable: %s" % (MODULE_NAME, error))
        except ModuleFailed as error:
            result.update(failed=True, msg="%s: %s" % (MODULE_NAME, self._scrub(str(error))))
        return result

    # ------------------------------------------------------------------
    # Options

    def _scrub(self, text):
        secrets_in_use = set(str(self._task.args.get(key)) for key in SECRET_OPTIONS if self._task.args.get(key))
        return remove_values(text, secrets_in_use) if secrets_in_use else text

    def _validated_options(self):
        options = self._validated_task_args(MODULE_NAME, ARGUMENT_SPEC, required_if=REQUIRED_IF)
        if options["operation"] != "stage" or any(options.get(key) for key in INTERNAL[1:]):
            raise AnsibleActionFail("%s: operation, plan, secret_files and credential_verifier are internal to the "
                                    "action plugin; leave them unset" % MODULE_NAME)
        if options["state"] == "absent":
            return options
        try:
            return winpe.validate_stage_options(options)
        except (winpe.WinPEOptionError, dism.DismOptionError) as error:
            raise AnsibleActionFail("%s: %s" % (MODULE_NAME, self._scrub(str(error)))) from None

    def _public_args(self, options, **extra):
        """Module arguments without the password (it travels only inside secret_files)."""
        args = {key: options.get(key) for key in ARGUMENT_SPEC if key not in INTERNAL + SECRET_OPTIONS}
        args.update(extra)
        return args

    # ------------------------------------------------------------------
    # state=absent

    def _remove(self, options, task_vars):
        removed = self._call_module(MODULE_NAME, {"state": "absent", "operation": "remove"}, task_vars)
        return {"changed": bool(removed.get("changed")), "state": "absent",
                "removed_bcd_entries": removed.get("removed_bcd_entries") or []}

    # ------------------------------------------------------------------
    # state=present

    def _stage(self, options, task_vars):
        inspected = self._call_module(MODULE_NAME, self._public_args(options, operation="inspect"), task_vars)
        plan = winpe.plan_stage(options, inspected, uuid.uuid4().hex[:12], secrets.token_hex(16))
        names = plan["names"]
        summary = {
            "state": "present",
            "token": plan["token"],
            "target": options["target"],
            "firmware": inspected.get("firmware"),
            "staging_dir": "%s\\%s" % (inspected.get("system_drive") or "C:", winpe.STAGING_DIR),
            "image_file": winpe.posix_relative(names["image"]),
            "status_file": winpe.posix_relative(names["status"]),
            "dism_log_file": winpe.posix_relative(names["dism_log"]),
            "console_log_file": winpe.posix_relative(names["console_log"]),
            "exclusions": dism.exclusion_list(options["exclusions"], mandatory=["\\" + winpe.STAGING_DIR]),
            "credential_location": self._credential_location(options, inspected),
        }
        verifier = None
        if options["target"] == "share":
            verifier = winpe.credential_verifier(options["share_username"], options["share_password"], plan["salt"])
        if self._task.check_mode and plan["restage"]:
            return dict(summary, changed=True, bcd_commands=[step["command"] for step in plan["bcd"]])

        module_plan = {
            "restage": plan["restage"],
            "token": plan["token"],
            "salt": plan["salt"],
            "config_digest": plan["config_digest"],
            "public_files": plan["public_files"],
            "config_encoding": dism.wimscript_encoding(plan["public_files"][winpe.CONFIG_FILE]),
            "bcd": [{"command": step["command"], "capture": step.get("capture")} for step in plan["bcd"]],
            "winload_candidates": plan["winload_candidates"],
            "boot_sdi_candidates": list(BOOT_SDI_CANDIDATES),
        }
        applied = self._call_module(MODULE_NAME, self._public_args(
            options, operation="apply", plan=module_plan, secret_files=plan["secret_files"],
            credential_verifier=verifier), task_vars)
        return dict(summary, changed=bool(applied.get("changed")), loader_id=applied.get("loader_id"),
                    device_id=applied.get("device_id"), winload=applied.get("winload"),
                    bcd_commands=applied.get("bcd_commands") or [])

    @staticmethod
    def _credential_location(options, inspected):
        if options["target"] != "share":
            return "none: target volume needs no credentials"
        drive = inspected.get("system_drive") or "C:"
        return ("inside %s\\%s (file %s in the image) until WinPE deletes it before capturing, or until "
                "winpe_stage state=absent; excluded from the capture" % (drive, winpe.BOOT_WIM, winpe.SHARE_SECRET))
