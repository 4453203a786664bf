# Copyright: (c) 2026, winimage.generalize contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Run sysprep /generalize from the controller: start, poll, diagnose, remediate, retry, power off.

The PowerShell module of the same name performs small steps on the host (``status``, ``start``,
``logs``, ``cleanup``, ``poweroff``); this plugin decides. Sysprep runs in a SYSTEM scheduled task
so it survives the WinRM session, and the controller polls it with a deadline, tolerating the
connection drops generalize causes (the pattern of ansible.windows win_updates). Decisions about
what a status means live in module_utils/sysprep_run.py; Panther logs are read by
module_utils/panther.py. Documentation: plugins/modules/sysprep.yml and docs/generalize.md.

Secrets: the answer file can hold passwords. Its XML goes to the host only as the module's
no_log ``answer_file_xml`` argument; no result key, message or display line of this plugin
carries it or the settings it was built from.
"""

from __future__ import annotations

import time

from ansible.errors import AnsibleActionFail
from ansible.utils.display import Display

from ansible_collections.winimage.generalize.plugins.module_utils import sysprep_run
from ansible_collections.winimage.generalize.plugins.module_utils.finding_catalog import make_finding
from ansible_collections.winimage.generalize.plugins.module_utils.panther import parse_logs
from ansible_collections.winimage.generalize.plugins.module_utils.unattend import (
    AnswerFileError,
    build_answer_file,
    check_answer_file_structure,
    describe_answer_file,
)
from ansible_collections.winimage.generalize.plugins.plugin_utils.appx_cleanup import run_appx_cleanup
from ansible_collections.winimage.generalize.plugins.plugin_utils.windows_host import (
    HostConnectionLost,
    ModuleFailed,
    WindowsHostActionBase,
    is_connection_loss,
)

display = Display()

MODULE_NAME = "winimage.generalize.sysprep"
OPERATIONS = ("generalize", "status", "start", "logs", "cleanup", "poweroff")
DEFAULT_ANSWER_FILE_PATH = "%WINDIR%\\Temp\\winimage\\unattend.xml"

# Keep in step with plugins/modules/sysprep.yml and the $spec of sysprep.ps1 (a unit test compares them).
ARGUMENT_SPEC = {
    "operation": {"type": "str", "default": "generalize", "choices": list(OPERATIONS)},
    "answer_file": {"type": "dict", "no_log": True},
    "answer_file_xml": {"type": "str", "no_log": True},
    "answer_file_path": {"type": "str", "default": DEFAULT_ANSWER_FILE_PATH},
    "mode_vm": {"type": "bool", "default": False},
    "after": {"type": "str", "default": "poweroff", "choices": list(sysprep_run.AFTER_CHOICES)},
    "timeout": {"type": "int", "default": 3600},
    "poll_interval": {"type": "int", "default": 15},
    "max_retries": {"type": "int", "default": 2},
    "shutdown_timeout": {"type": "int", "default": 600},
    "remediate": {"type": "bool", "default": True},
    "cleanup_answer_file": {"type": "bool", "default": True},
    "setupcomplete_script": {"type": "str"},
    "log_max_bytes": {"type": "int", "default": 1048576},
}
MUTUALLY_EXCLUSIVE = [["answer_file", "answer_file_xml"]]

# (option, lowest, highest) - a typo such as timeout: 36 must not pass silently.
_LIMITS = (
    ("timeout", 60, 7 * 24 * 3600),
    ("poll_interval", 1, 3600),
    ("max_retries", 0, 10),
    ("shutdown_timeout", 0, 24 * 3600),
    ("log_max_bytes", 4096, 64 * 1024 * 1024),
)

# With after=shutdown sysprep powers the machine off itself; a host that stays unreachable this
# long after sysprep was running is taken as powered off (it only shuts down after success).
SHUTDOWN_CONFIRM_SECONDS = 120

# The sysprep generalize logs parsed into findings. %WINDIR%\Panther\setupact.log is returned
# for people to read but not parsed: it also holds Windows Setup's own history.
PARSED_LOGS = ("System32\\Sysprep\\Panther\\setupact.log", "System32\\Sysprep\\Panther\\setuperr.log")

TIMED_OUT = "timeout"
POWERED_OFF = "powered_off"


class SysprepFailed(Exception):
    """The run cannot succeed; ``result`` holds what is reported with the message."""

    def __init__(self, message, **result):
        super(SysprepFailed, self).__init__(message)
        self.result = result


class ActionModule(WindowsHostActionBase):

    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(ARGUMENT_SPEC)

    def run(self, tmp=None, task_vars=None):
        # Async would return before sysprep finished and skip diagnosis, retry and power-off.
        self._supports_check_mode = True
        self._supports_async = False
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp
        task_vars = task_vars or {}

        options = self._validated_options()
        handler = getattr(self, "_operation_%s" % options["operation"])
        try:
            result.update(handler(options, task_vars))
        except SysprepFailed as error:
            result.update(error.result)
            result.update(failed=True, msg=str(error))
        except HostConnectionLost as error:
            result.update(unreachable=True, msg="%s: the host is unreachable: %s" % (MODULE_NAME, error))
        except ModuleFailed as error:
            result.update(failed=True, msg="%s: %s" % (MODULE_NAME, error))
        return result

    # ------------------------------------------------------------------
    # Options

    def _validated_options(self):
        options = self._validated_task_args(MODULE_NAME, ARGUMENT_SPEC, mutually_exclusive=MUTUALLY_EXCLUSIVE)
        for name, lowest, highest in _LIMITS:
            if not lowest <= options[name] <= highest:
                raise AnsibleActionFail("%s: %s is %d, outside %d..%d. Fix: give a value in that range"
                                        % (MODULE_NAME, name, options[name], lowest, highest))
        try:
            sysprep_run.check_answer_file_path(options["answer_file_path"])
        except sysprep_run.SysprepOptionError as error:
            raise AnsibleActionFail("%s: %s" % (MODULE_NAME, error)) from None
        return options

    # ------------------------------------------------------------------
    # Read-only and single-step operations

    def _operation_status(self, options, task_vars):
        status = self._status(task_vars)
        state, detail = sysprep_run.classify_run(status, None)
        result = dict(status, changed=False, generalized=sysprep_run.is_generalized(status),
                      running=sysprep_run.is_running(status), summary=sysprep_run.describe_status(status))
        if state == sysprep_run.FAILED and status.get("image_state") == sysprep_run.IMAGE_STATE_UNDEPLOYABLE:
            result["summary"] += "; " + detail
        return result

    def _operation_logs(self, options, task_vars):
        entries = self._logs(options, task_vars)
        logs = [{"path": e.get("path"), "exists": bool(e.get("exists")), "size": e.get("size"),
                 "truncated": bool(e.get("offset")), "text": sysprep_run.log_text(e) if e.get("exists") else ""}
                for e in entries]
        return {"changed": False, "logs": logs, "findings": self._findings_from(entries)}

    def _operation_cleanup(self, options, task_vars):
        result = self._call_module(MODULE_NAME, {"operation": "cleanup",
                                                 "answer_file_path": options["answer_file_path"]}, task_vars)
        return {"changed": bool(result.get("changed")), "removed": result.get("removed", []),
                "task_removed": bool(result.get("task_removed"))}

    def _operation_poweroff(self, options, task_vars):
        if self._task.check_mode:
            return {"changed": True, "powered_off": False}
        elapsed = self._power_off(options, task_vars)
        return {"changed": True, "powered_off": True, "elapsed": elapsed}

    def _operation_start(self, options, task_vars):
        """Start sysprep and return at once (the caller polls with operation=status)."""
        answer = self._answer_file(options)
        status = self._status(task_vars)
        base = self._base_result(options, answer, status)
        if sysprep_run.is_generalized(status):
            return dict(base, already_generalized=True)
        self._refuse_unusable_state(status, answer, base)
        if sysprep_run.is_running(status):
            display.warning("%s: sysprep is already running (%s); not starting another one"
                            % (MODULE_NAME, sysprep_run.describe_status(status)))
            return dict(base, started=False)
        if self._task.check_mode:
            return dict(base, changed=True, started=False)
        started = self._start(options, answer, task_vars)
        return dict(base, changed=True, started=bool(started.get("started")))

    # ------------------------------------------------------------------
    # operation=generalize: the whole run

    def _operation_generalize(self, options, task_vars):
        clock_start = time.monotonic()
        answer = self._answer_file(options)
        status = self._status(task_vars)
        result = self._base_result(options, answer, status)
        if sysprep_run.is_generalized(status):
            display.display("%s: Windows is already generalized (%s); sysprep is not run again"
                            % (MODULE_NAME, status.get("image_state")))
            result["already_generalized"] = True
            return result
        self._refuse_unusable_state(status, answer, result)
        if self._task.check_mode:
            result.update(changed=True, plan=self._plan(options, answer, status))
            return result

        result["changed"] = True
        try:
            final_status = self._run_attempts(options, answer, status, task_vars, result)
            self._finish(options, final_status, task_vars, result)
        except SysprepFailed as error:
            if result["runs"] and result["runs"][-1].get("outcome") == sysprep_run.FAILED:
                # Sysprep has stopped: the staged copy (it may hold passwords) is not needed any more.
                self._cleanup_staged_answer_file(options, task_vars)
            error.result = dict(result, **error.result)
            error.result["elapsed"] = round(time.monotonic() - clock_start)
            raise
        result["elapsed"] = round(time.monotonic() - clock_start)
        return result

    def _base_result(self, options, answer, status):
        return {
            "changed": False,
            "already_generalized": False,
            "image_state": status.get("image_state"),
            "runs": [],
            "findings": [],
            "rearms_used": None,
            "remaining_rearm_count": status.get("remaining_rearm_count"),
            "elapsed": 0,
            "powered_off": False,
            "command": sysprep_run.sysprep_command_line(options["mode_vm"], options["after"],
                                                        options["answer_file_path"]),
            "answer_file_path": options["answer_file_path"],
            "answer_file_contains_password": answer["contains_password"],
        }

    def _plan(self, options, answer, status):
        running = sysprep_run.is_running(status)
        return {
            "start_sysprep": not running,
            "wait_for_running_sysprep": running,
            "command": sysprep_run.sysprep_command_line(options["mode_vm"], options["after"],
                                                        options["answer_file_path"]),
            "answer_file_path": options["answer_file_path"],
            "setupcomplete_cleanup": options["cleanup_answer_file"],
            "max_attempts": options["max_retries"] + 1,
            "remediate_appx": options["remediate"],
            "after": options["after"],
            "timeout": options["timeout"],
        }

    def _refuse_unusable_state(self, status, answer, result):
        """States in which starting sysprep cannot help: say so before spending a rearm."""
        if status.get("image_state") == sysprep_run.IMAGE_STATE_GENERALIZED_TO_AUDIT:
            raise SysprepFailed(
                "%s: Windows was already generalized to audit mode (%s) by an earlier sysprep run. Boot it into "
                "audit mode to customize it, or capture it as it is; running sysprep /generalize again would "
                "spend another rearm." % (MODULE_NAME, status.get("image_state")), **result)
        remaining = status.get("remaining_rearm_count")
        if remaining == 0 and status.get("skip_rearm") != 1 and not answer["skips_rearm"]:
            finding = make_finding(
                "rearm_exhausted", "sysprep",
                "RemainingWindowsReArmCount is 0 and SkipRearm is not set: sysprep /generalize would fail "
                "with 0xc004d307, so it was not started.",
                evidence={"remaining_rearm_count": remaining, "skip_rearm": status.get("skip_rearm")})
            raise SysprepFailed(sysprep_run.failure_message(
                "%s: no licensing rearm is left on this machine" % MODULE_NAME, [finding]),
                **dict(result, findings=[finding]))

    def _run_attempts(self, options, answer, status, task_vars, result):
        """Start (or join) sysprep, wait, diagnose and remediate until it succeeds or may not retry."""
        max_attempts = options["max_retries"] + 1
        join_running = sysprep_run.is_running(status)
        remaining_before = status.get("remaining_rearm_count")
        removed_packages = []
        for number in range(1, max_attempts + 1):
            attempt = {"attempt": number, "started": not join_running, "remaining_rearm_count": remaining_before,
                       "findings": [], "remediation": None}
            result["runs"].append(attempt)
            outcome, last_status, detail, elapsed = self._one_attempt(options, answer, task_vars, join_running, number)
            join_running = False
            attempt.update(outcome=outcome, detail=detail, elapsed=elapsed,
                           image_state=(last_status or {}).get("image_state"),
                           task_last_result=sysprep_run.hex32(sysprep_run.task_of(last_status).get("last_result")))
            if outcome in (sysprep_run.GENERALIZED, POWERED_OFF):
                result.update(image_state=attempt["image_state"], powered_off=outcome == POWERED_OFF,
                              rearms_used=sysprep_run.rearms_used(
                                  status.get("remaining_rearm_count"),
                                  (last_status or {}).get("remaining_rearm_count")))
                return last_status
            findings = self._diagnose(options, task_vars)
            attempt["findings"] = findings
            result.update(findings=findings, image_state=attempt["image_state"])
            self._fail_unless_remediable(options, outcome, detail, findings, number, max_attempts, removed_packages)
            packages = sysprep_run.remediable_packages(findings)
            attempt["remediation"] = self._remediate(packages, task_vars, findings)
            removed_packages.extend(packages)
            if last_status and last_status.get("remaining_rearm_count") is not None:
                remaining_before = last_status.get("remaining_rearm_count")
        # Not reached: _fail_unless_remediable raises on the last attempt.
        raise SysprepFailed("%s: no attempt left (max_retries=%d)" % (MODULE_NAME, options["max_retries"]))  # pragma: no cover

    def _one_attempt(self, options, answer, task_vars, join_running, number):
        started_at = time.monotonic()
        if join_running:
            display.warning("%s: sysprep is already running on this host; waiting for that run instead of "
                            "starting another one" % MODULE_NAME)
        else:
            started = self._start(options, answer, task_vars)
            if started.get("reason") == "already_generalized":
                return sysprep_run.GENERALIZED, started.get("status") or {
                    "image_state": sysprep_run.IMAGE_STATE_GENERALIZED}, "already generalized", 0
            display.display("%s: attempt %d: started %s" % (MODULE_NAME, number, started.get("command", "sysprep")))
        outcome, last_status, detail = self._wait_for_sysprep(options, task_vars, started_at,
                                                              started_by_us=not join_running)
        return outcome, last_status, detail, round(time.monotonic() - started_at)

    def _fail_unless_remediable(self, options, outcome, detail, findings, number, max_attempts, removed_packages):
        if outcome == TIMED_OUT:
            raise SysprepFailed(sysprep_run.failure_message(
                "%s: sysprep did not finish within timeout=%ds (attempt %d of %d); last state seen: %s. "
                "Sysprep was left running: it may still be working, or it hangs" % (
                    MODULE_NAME, options["timeout"], number, max_attempts, detail), findings))
        headline = "%s: sysprep /generalize failed on attempt %d of %d: %s" % (
            MODULE_NAME, number, max_attempts, detail)
        packages = sysprep_run.remediable_packages(findings)
        if not packages:
            raise SysprepFailed(sysprep_run.failure_message(headline, findings))
        if not options["remediate"]:
            raise SysprepFailed(sysprep_run.failure_message(
                headline + " (automatic Appx remediation is off: remediate=false)", findings))
        if sysprep_run.has_unremediable_blocker(findings):
            raise SysprepFailed(sysprep_run.failure_message(
                headline + " (not retried: removing Appx packages does not fix every blocker found)", findings))
        if set(packages) <= set(removed_packages):
            raise SysprepFailed(sysprep_run.failure_message(
                headline + " (not retried: the same packages are reported again after %s removed them: %s)"
                % (sysprep_run.APPX_CLEANUP_MODULE, ", ".join(packages)), findings))
        if number >= max_attempts:
            raise SysprepFailed(sysprep_run.failure_message(
                headline + " (no retry left: max_retries=%d)" % options["max_retries"], findings))

    def _remediate(self, packages, task_vars, findings):
        """Remove the packages with the appx_cleanup steps (read, plan in Python, remove exactly)."""
        display.display("%s: removing %d Appx package(s) sysprep stopped on, then retrying: %s"
                        % (MODULE_NAME, len(packages), ", ".join(packages)))

        def execute(module_args):
            try:
                result = self._execute_module(module_name=sysprep_run.APPX_CLEANUP_MODULE,
                                              module_args=module_args, task_vars=task_vars)
            except Exception as error:  # noqa: BLE001 - classified just below
                if is_connection_loss(error):
                    raise HostConnectionLost("%s: %s" % (type(error).__name__, error)) from None
                raise
            result = dict(result or {})
            result.pop("invocation", None)
            return result

        try:
            cleanup = run_appx_cleanup(execute, {"packages": list(packages)})
        except HostConnectionLost as error:
            cleanup = {"failed": True, "msg": "the host stopped answering (%s)" % error}
        for warning in cleanup.get("warnings") or []:
            display.warning("%s: %s" % (sysprep_run.APPX_CLEANUP_MODULE, warning))
        if cleanup.get("failed") or cleanup.get("unreachable"):
            raise SysprepFailed(sysprep_run.failure_message(
                "%s: sysprep failed and the automatic remediation %s failed too: %s"
                % (MODULE_NAME, sysprep_run.APPX_CLEANUP_MODULE, cleanup.get("msg")), findings))
        removed = list(cleanup.get("removed") or [])
        if not removed:
            skipped = [item.get("package_full_name") for item in cleanup.get("protected_skipped") or []]
            raise SysprepFailed(sysprep_run.failure_message(
                "%s: sysprep failed and %s removed none of the packages it named (not installed: %s; protected: %s), "
                "so a retry would fail the same way" % (
                    MODULE_NAME, sysprep_run.APPX_CLEANUP_MODULE,
                    ", ".join(cleanup.get("not_found") or []) or "none", ", ".join(skipped) or "none"), findings))
        return {"module": sysprep_run.APPX_CLEANUP_MODULE, "packages": list(packages), "removed": removed,
                "changed": bool(cleanup.get("changed"))}

    # ------------------------------------------------------------------
    # Polling

    def _wait_for_sysprep(self, options, task_vars, started_at, started_by_us):
        """Poll until generalized, failed, powered off (after=shutdown) or the deadline; never longer.

        Returns (outcome, last status seen, detail).
        """
        timeout, interval = options["timeout"], options["poll_interval"]
        deadline = started_at + timeout
        # A frozen or broken clock must not make this loop forever: the polls are bounded too.
        max_polls = timeout // interval + 3
        last_status, detail, lost_since, shown = None, "no status read yet", None, None
        for _poll in range(max_polls):
            now = time.monotonic()
            try:
                status = self._status(task_vars)
            except HostConnectionLost as error:
                lost_since = now if lost_since is None else lost_since
                detail = "the host stopped answering %ds ago (%s)" % (round(now - lost_since), error)
                display.vvv("%s: %s; reconnecting" % (MODULE_NAME, detail))
                self._reset_connection()
                if options["after"] == "shutdown" and now - lost_since >= SHUTDOWN_CONFIRM_SECONDS:
                    return POWERED_OFF, last_status, "sysprep /shutdown powered the host off"
            except ModuleFailed as error:
                # The host answers but cannot report right now (services restart during generalize).
                detail = "the status could not be read: %s" % error
                display.vvv("%s: %s" % (MODULE_NAME, detail))
            else:
                lost_since, last_status = None, status
                state, detail = sysprep_run.classify_run(
                    status, now - started_at if started_by_us else None)
                if state in (sysprep_run.GENERALIZED, sysprep_run.FAILED):
                    display.display("%s: sysprep finished: %s" % (MODULE_NAME, detail))
                    return state, status, detail
                summary = sysprep_run.describe_status(status)
                display.vvv("%s: %ds: %s" % (MODULE_NAME, round(now - started_at), summary))
                if summary != shown:
                    display.display("%s: %s" % (MODULE_NAME, summary))
                    shown = summary
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            time.sleep(min(interval, remaining))
        return TIMED_OUT, last_status, detail

    # ------------------------------------------------------------------
    # After success

    def _finish(self, options, final_status, task_vars, result):
        if result["powered_off"]:
            display.warning("%s: sysprep /shutdown powered the host off before the controller could read the "
                            "image state; check the captured image (winimage.generalize.verify)" % MODULE_NAME)
            return
        if options["after"] in ("quit", "poweroff"):
            self._cleanup_staged_answer_file(options, task_vars)
        if options["after"] == "poweroff":
            self._power_off(options, task_vars)
            result["powered_off"] = True
        elif options["after"] == "shutdown":
            gone, _elapsed = self._wait_until_gone(task_vars, options["shutdown_timeout"])
            if not gone:
                raise SysprepFailed("%s: sysprep generalized Windows but the host still answers %ds later; "
                                    "sysprep /shutdown should have powered it off"
                                    % (MODULE_NAME, options["shutdown_timeout"]))
            result["powered_off"] = True

    def _cleanup_staged_answer_file(self, options, task_vars):
        """Remove the staged copy now: sysprep keeps its own copy in %WINDIR%\\Panther, which
        SetupComplete.cmd deletes on every deployed machine."""
        try:
            self._call_module(MODULE_NAME, {"operation": "cleanup",
                                            "answer_file_path": options["answer_file_path"]}, task_vars)
        except (HostConnectionLost, ModuleFailed) as error:
            display.warning("%s: could not remove the staged answer file %s (%s); delete it before capture"
                            % (MODULE_NAME, options["answer_file_path"], error))

    def _power_off(self, options, task_vars):
        try:
            result = self._call_module(MODULE_NAME, {"operation": "poweroff"}, task_vars)
        except HostConnectionLost:
            result = {"rc": 0}  # the host went down while answering: that is what was asked
        if result.get("rc") not in (0, 1190):  # 1190: a shutdown is already scheduled
            raise SysprepFailed("%s: shutdown.exe /s failed with exit code %s: %s"
                                % (MODULE_NAME, result.get("rc"), result.get("stderr") or result.get("stdout") or ""))
        display.display("%s: powering the host off; waiting up to %ds for it to go away"
                        % (MODULE_NAME, options["shutdown_timeout"]))
        gone, elapsed = self._wait_until_gone(task_vars, options["shutdown_timeout"])
        if not gone:
            raise SysprepFailed("%s: the host still answers %ds after shutdown.exe /s; Windows is generalized, "
                                "power it off before capture" % (MODULE_NAME, options["shutdown_timeout"]))
        return elapsed

    # ------------------------------------------------------------------
    # Host calls

    def _answer_file(self, options):
        """XML and what the caller may know about it; never the content in any message."""
        if options.get("answer_file_xml") is not None:
            xml = options["answer_file_xml"]
            problems = check_answer_file_structure(xml)  # problems name elements, never values
            if problems:
                raise AnsibleActionFail("%s: answer_file_xml is not a usable answer file: %s"
                                        % (MODULE_NAME, "; ".join(problems[:5])))
            return {"xml": xml, "contains_password": bool(describe_answer_file(xml)["contains_password"]),
                    "skips_rearm": sysprep_run.answer_file_skips_rearm(xml=xml)}
        settings = dict(options.get("answer_file") or {})
        if settings.get("mode_vm") is not None and bool(settings["mode_vm"]) != options["mode_vm"]:
            raise AnsibleActionFail("%s: answer_file.mode_vm is %s but mode_vm is %s. Fix: set only the "
                                    "mode_vm option" % (MODULE_NAME, settings["mode_vm"], options["mode_vm"]))
        settings["mode_vm"] = options["mode_vm"]
        try:
            built = build_answer_file(settings)
        except AnswerFileError as error:  # its messages never hold a password
            raise AnsibleActionFail("%s: answer_file: %s" % (MODULE_NAME, error)) from None
        except Exception as error:  # noqa: BLE001 - the text could hold input values: show the type only
            raise AnsibleActionFail("%s: internal error (%s) while building the answer file; please report it "
                                    "with the setting keys used, never the passwords"
                                    % (MODULE_NAME, type(error).__name__)) from None
        for warning in built.warnings:
            display.warning("%s: answer file: %s" % (MODULE_NAME, warning))
        return {"xml": built.xml, "contains_password": bool(built.contains_password),
                "skips_rearm": sysprep_run.answer_file_skips_rearm(settings=settings)}

    def _status(self, task_vars):
        status = self._call_module(MODULE_NAME, {"operation": "status"}, task_vars)
        for error in status.get("errors") or []:
            display.vvv("%s: status: %s" % (MODULE_NAME, error))
        return {key: value for key, value in status.items() if key not in ("changed", "failed", "msg")}

    def _start(self, options, answer, task_vars):
        args = {
            "operation": "start",
            "answer_file_xml": answer["xml"],
            "answer_file_path": options["answer_file_path"],
            "mode_vm": options["mode_vm"],
            "after": options["after"],
        }
        if options["cleanup_answer_file"]:
            args["setupcomplete_script"] = options.get("setupcomplete_script") or \
                sysprep_run.setupcomplete_block(options["answer_file_path"])
        try:
            return self._call_module(MODULE_NAME, args, task_vars)
        except ModuleFailed as error:
            raise SysprepFailed("%s: sysprep could not be started: %s" % (MODULE_NAME, error)) from None

    def _logs(self, options, task_vars):
        result = self._call_module(MODULE_NAME, {"operation": "logs", "log_max_bytes": options["log_max_bytes"]},
                                   task_vars)
        return [entry for entry in result.get("logs") or [] if isinstance(entry, dict)]

    def _findings_from(self, entries):
        sources = [sysprep_run.decode_log(e) for e in entries
                   if e.get("exists") and str(e.get("path", "")).lower().endswith(
                       tuple(p.lower() for p in PARSED_LOGS))]
        return parse_logs(sources) if sources else []

    def _diagnose(self, options, task_vars):
        """Findings of the failed run; an empty list (and a warning) when the logs cannot be read."""
        try:
            entries = self._logs(options, task_vars)
        except (HostConnectionLost, ModuleFailed) as error:
            display.warning("%s: the sysprep logs could not be read (%s)" % (MODULE_NAME, error))
            return []
        return self._findings_from(entries)
