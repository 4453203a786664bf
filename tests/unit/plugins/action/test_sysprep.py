# Copyright: (c) 2026, winimage.generalize contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The sysprep action plugin against a scripted Windows host.

No Windows here: ``_execute_module`` is replaced by a fake host that answers each module call
from a script (status reports, start results, Panther log bytes, connection failures), and the
plugin's clock is a fake one that only moves when the plugin sleeps or calls the host. The
Panther logs are real published excerpts from tests/data/sysprep-logs (sources in SOURCE.md).
"""

from __future__ import annotations

import base64
import copy
import json
import pathlib
from unittest import mock

import pytest
import yaml
from ansible.errors import AnsibleActionFail, AnsibleConnectionFailure, AnsibleError

from ansible_collections.winimage.generalize.plugins.action import sysprep as sysprep_action
from ansible_collections.winimage.generalize.plugins.plugin_utils import windows_host

REPO = pathlib.Path(__file__).resolve().parents[4]
LOGS = REPO / "tests" / "data" / "sysprep-logs"
SIDECAR = REPO / "plugins" / "modules" / "sysprep.yml"

ONEDRIVE = "Microsoft.OneDriveSync_21220.1024.5.0_neutral__8wekyb3d8bbwe"  # ms_configmgr_appx_onedrivesync.log
EDGE = "Microsoft.MicrosoftEdge.Stable_131.0.2903.99_neutral__8wekyb3d8bbwe"  # 07_appx_edge_stable_...log
PHOTOS = "Microsoft.Windows.Photos_2018.18051.21218.0_x64__8wekyb3d8bbwe"  # 12_appx_photos_...log

SYSPREP_PANTHER = "C:\\Windows\\System32\\Sysprep\\Panther\\"
JOIN_PASSWORD = "Join-Pa55word!7q"
ADMIN_PASSWORD = "Adm1n-Secret#42"


# ---------------------------------------------------------------------------
# The fake world: clock, host, display


class FakeClock:
    """Stands in for the ``time`` module of the plugin: monotonic() and sleep()."""

    def __init__(self, frozen=False):
        self.now = 1000.0
        self.slept = 0.0
        self.frozen = frozen

    def monotonic(self):
        return self.now

    def sleep(self, seconds):
        assert seconds >= 0
        self.slept += seconds
        if not self.frozen:
            self.now += seconds

    def advance(self, seconds):
        if not self.frozen:
            self.now += seconds


def status(image_state="IMAGE_STATE_COMPLETE", pids=(), task_state="ready", last_result=0x41303, rearm=1001,
           task_exists=True, skip_rearm=None):
    """A status report as the PowerShell module returns it."""
    return {
        "changed": False,
        "image_state": image_state,
        "image_state_source": "registry",
        "generalization_state": 7,
        "cleanup_state": 2,
        "sysprep_processes": [{"pid": pid, "started": "2026-03-01T09:30:12.0000000Z"} for pid in pids],
        "task": {"exists": task_exists, "state": task_state if task_exists else None,
                 "state_code": {"ready": 3, "running": 4}.get(task_state), "last_result": last_result,
                 "last_run_time": None},
        "remaining_rearm_count": rearm,
        "skip_rearm": skip_rearm,
        "setuperr_bytes": 0,
        "errors": [],
        "invocation": {"module_args": {"operation": "status"}},
    }


BEFORE = status()
RUNNING = status("IMAGE_STATE_UNDEPLOYABLE", pids=(4242,), task_state="running", last_result=0x41301)
FAILED = status("IMAGE_STATE_COMPLETE", task_state="ready", last_result=0)
GENERALIZED = status("IMAGE_STATE_GENERALIZE_RESEAL_TO_OOBE", task_state="ready", last_result=0, rearm=1000)


def log_entry(name, data, path=None):
    return {"path": path or SYSPREP_PANTHER + name, "exists": True, "size": len(data), "offset": 0,
            "head_b64": base64.b64encode(data[:4]).decode(), "content_b64": base64.b64encode(data).decode()}


def panther_logs(log_file, encoding=None):
    """What operation=logs returns when setupact.log holds a real excerpt."""
    data = (LOGS / log_file).read_bytes()
    if encoding == "utf-16":
        data = b"\xff\xfe" + data.decode("utf-8").replace("\n", "\r\n").encode("utf-16-le")
    return {"changed": False, "logs": [
        log_entry("setupact.log", data),
        log_entry("setuperr.log", b""),
        {"path": "C:\\Windows\\Panther\\setupact.log", "exists": False, "size": None, "offset": 0,
         "head_b64": "", "content_b64": ""},
    ]}


def appx_package(full_name):
    """An Appx package installed for the build account only, as the appx_cleanup module reports it."""
    name, version = full_name.split("_")[:2]
    return {"name": name, "package_full_name": full_name, "version": version,
            "users": [{"sid": "S-1-5-21-1-2-3-1001", "username": "REF01\\builder", "install_state": "Installed"}],
            "is_framework": False, "non_removable": False, "signature_kind": "Store"}


class FakeHost:
    """Answers _execute_module calls from a script, one list per kind of call.

    Each list is consumed in order and its last item repeats. An item that is an exception is
    raised, as a connection plugin would. The appx_cleanup module is played as the real one
    behaves: without ``_plan`` it reports the Appx state, with ``_plan`` it removes what the plan
    names (``appx_sticky``: the Store puts them back, as it does when it keeps updating apps).
    """

    def __init__(self, clock, statuses, logs=(), appx_installed=(ONEDRIVE, EDGE, PHOTOS), appx_sticky=False,
                 appx_error=None, poweroff=({"changed": True, "rc": 0},),
                 pings=(AnsibleConnectionFailure("host went away"),), starts=None, call_seconds=1):
        self.clock = clock
        self.script = {
            "status": list(statuses),
            "logs": list(logs) or [panther_logs("issue_virtual_desktop_optimization_18_banner.log")],
            "poweroff": list(poweroff),
            "ping": list(pings),
            "start": list(starts or [{"changed": True, "started": True, "reason": "started",
                                      "command": "C:\\Windows\\System32\\Sysprep\\sysprep.exe /generalize"}]),
            "cleanup": [{"changed": True, "removed": ["C:\\Windows\\Temp\\winimage\\unattend.xml"],
                         "task_removed": True}],
        }
        self.appx_installed = [appx_package(name) for name in appx_installed]
        self.appx_sticky = appx_sticky
        self.appx_error = appx_error
        self.call_seconds = call_seconds
        self.calls = []

    def _next(self, kind):
        items = self.script[kind]
        item = items.pop(0) if len(items) > 1 else items[0]
        if isinstance(item, BaseException):
            raise item
        return copy.deepcopy(item)

    def _appx_cleanup(self, module_args):
        if "_plan" not in module_args:
            return {"changed": False, "state": {
                "packages": copy.deepcopy(self.appx_installed), "provisioned": [], "bundles": None,
                "policies": {"store_auto_update": None, "consumer_features": None},
                "remove_all_users_supported": True, "appx_runner": "in_process"}}
        if self.appx_error:
            return {"failed": True, "msg": self.appx_error}
        names = [item["package_full_name"] for item in module_args["_plan"]["remove_packages"]]
        if not self.appx_sticky:
            self.appx_installed = [p for p in self.appx_installed if p["package_full_name"] not in names]
        return {"changed": bool(names), "removed": [{"package_full_name": n, "removed_as": n, "method": "all_users"}
                                                    for n in names],
                "remove_failed": [], "deprovisioned": [], "deprovision_failed": [], "policies_set": [],
                "policies_failed": [], "appx_runner": "in_process"}

    def __call__(self, module_name=None, module_args=None, task_vars=None, **_kwargs):
        self.calls.append((module_name, copy.deepcopy(module_args)))
        self.clock.advance(self.call_seconds)
        if module_name == "ansible.windows.win_ping":
            return self._next("ping")
        if module_name == "winimage.generalize.appx_cleanup":
            return self._appx_cleanup(module_args)
        assert module_name == "winimage.generalize.sysprep", module_name
        return self._next(module_args["operation"])

    def operations(self):
        return [args.get("operation", name) if name == "winimage.generalize.sysprep" else name
                for name, args in self.calls]

    def calls_of(self, operation):
        return [args for name, args in self.calls
                if (args or {}).get("operation") == operation or name == operation]

    def appx_removals(self):
        """The package full names each appx_cleanup run was told to remove."""
        return [[item["package_full_name"] for item in args["_plan"]["remove_packages"]]
                for name, args in self.calls if name == "winimage.generalize.appx_cleanup" and "_plan" in args]


class DisplayRecorder:
    """Collects every line the plugin would print, whatever the verbosity."""

    def __init__(self):
        self.lines = []

    def __getattr__(self, level):
        def record(message, *args, **kwargs):
            self.lines.append((level, str(message)))
        return record

    def text(self, level=None):
        return "\n".join(msg for lvl, msg in self.lines if level is None or lvl == level)


def make_action(args=None, check_mode=False):
    task = mock.MagicMock()
    task.args = {} if args is None else args
    task.check_mode = check_mode
    task.async_val = 0
    task.action = "winimage.generalize.sysprep"
    connection = mock.MagicMock()
    connection._shell.tmpdir = "/remote/tmp"
    return sysprep_action.ActionModule(task, connection, mock.MagicMock(), mock.MagicMock(), mock.MagicMock(), None)


def run(args=None, check_mode=False, clock=None, **host_script):
    """Run the plugin against a fake host; return (result, host, display, clock, action)."""
    clock = clock or FakeClock()
    host = FakeHost(clock, **host_script)
    recorder = DisplayRecorder()
    action = make_action(args, check_mode)
    # What the sysprep action asks the appx_cleanup steps for (they then call the module twice).
    host.appx_requests = []
    real_cleanup = sysprep_action.run_appx_cleanup

    def spy(execute, cleanup_args, check_mode=False):
        host.appx_requests.append(copy.deepcopy(cleanup_args))
        return real_cleanup(execute, cleanup_args, check_mode=check_mode)

    with mock.patch.object(action, "_execute_module", side_effect=host), \
            mock.patch.object(sysprep_action, "run_appx_cleanup", spy), \
            mock.patch.object(sysprep_action, "time", clock), \
            mock.patch.object(windows_host, "time", clock), \
            mock.patch.object(sysprep_action, "display", recorder), \
            mock.patch.object(windows_host, "display", recorder):
        result = action.run(task_vars={"inventory_hostname": "ref01"})
    return result, host, recorder, clock, action


# ---------------------------------------------------------------------------
# Success


def test_success_generalizes_then_powers_off_and_waits_until_the_host_is_gone():
    result, host, display, _clock, _action = run(
        {"mode_vm": True}, statuses=[BEFORE, RUNNING, RUNNING, GENERALIZED])

    assert not result.get("failed"), result.get("msg")
    assert result["changed"] is True
    assert result["already_generalized"] is False
    assert result["image_state"] == "IMAGE_STATE_GENERALIZE_RESEAL_TO_OOBE"
    assert result["powered_off"] is True
    assert result["rearms_used"] == 1
    assert [a["outcome"] for a in result["runs"]] == ["generalized"]
    assert result["findings"] == []
    # One start; the staged answer file is removed before power-off; the probe then fails: gone.
    assert host.operations() == ["status", "start", "status", "status", "status", "cleanup", "poweroff",
                                 "ansible.windows.win_ping"]
    start = host.calls_of("start")[0]
    assert start["after"] == "poweroff" and start["mode_vm"] is True
    assert start["answer_file_xml"].startswith("<?xml")
    assert "@rem BEGIN winimage.generalize answer-file cleanup" in start["setupcomplete_script"]
    assert result["command"].endswith("/generalize /oobe /quiet /quit /mode:vm "
                                      "/unattend:%WINDIR%\\Temp\\winimage\\unattend.xml")
    assert "sysprep finished" in display.text("display")


def test_after_quit_leaves_the_host_running_for_the_capture_hand_over():
    result, host, _display, _clock, _action = run({"after": "quit"}, statuses=[BEFORE, RUNNING, GENERALIZED])

    assert result["changed"] is True and result["powered_off"] is False
    assert "poweroff" not in host.operations()
    assert "ansible.windows.win_ping" not in host.operations()
    assert host.operations()[-1] == "cleanup"
    assert host.calls_of("start")[0]["after"] == "quit"
    assert "/quit" in result["command"]


def test_already_generalized_runs_nothing():
    result, host, _display, _clock, _action = run(statuses=[GENERALIZED])

    assert result["changed"] is False
    assert result["already_generalized"] is True
    assert not result.get("failed")
    assert host.operations() == ["status"]


def test_check_mode_reports_the_plan_without_starting_sysprep():
    result, host, _display, _clock, _action = run({"after": "quit", "max_retries": 1}, check_mode=True,
                                                  statuses=[BEFORE])

    assert result["changed"] is True
    assert host.operations() == ["status"]
    plan = result["plan"]
    assert plan["start_sysprep"] is True
    assert plan["max_attempts"] == 2
    assert plan["command"].startswith("%WINDIR%\\System32\\Sysprep\\sysprep.exe /generalize /oobe /quiet /quit")


def test_check_mode_on_a_generalized_machine_reports_no_change():
    result, host, _display, _clock, _action = run(check_mode=True, statuses=[GENERALIZED])

    assert result["changed"] is False and result["already_generalized"] is True
    assert "plan" not in result
    assert host.operations() == ["status"]


def test_a_running_sysprep_is_waited_for_not_started_again():
    result, host, display, _clock, _action = run(statuses=[RUNNING, RUNNING, GENERALIZED])

    assert not result.get("failed"), result.get("msg")
    assert "start" not in host.operations()
    assert result["runs"][0]["started"] is False
    assert "already running" in display.text("warning")


# ---------------------------------------------------------------------------
# Failure, diagnosis, remediation, retry


def test_appx_failure_is_remediated_with_the_logged_package_then_sysprep_runs_again():
    result, host, display, _clock, _action = run(
        statuses=[BEFORE, RUNNING, FAILED, RUNNING, GENERALIZED],
        logs=[panther_logs("ms_configmgr_appx_onedrivesync.log")], appx_installed=[ONEDRIVE])

    assert not result.get("failed"), result.get("msg")
    # The exact package the real log names, nothing else, and only once.
    assert host.appx_requests == [{"packages": [ONEDRIVE]}]
    assert host.appx_removals() == [[ONEDRIVE]]
    assert len(host.calls_of("start")) == 2
    ops = host.operations()
    assert ops.index("logs") < ops.index("winimage.generalize.appx_cleanup") < len(ops) - ops[::-1].index("start")
    first, second = result["runs"]
    assert first["outcome"] == "failed"
    assert [f["id"] for f in first["findings"]] == ["appx_user_not_provisioned"]
    assert first["remediation"] == {"module": "winimage.generalize.appx_cleanup", "packages": [ONEDRIVE],
                                    "removed": [ONEDRIVE], "changed": True}
    assert second["outcome"] == "generalized"
    assert result["changed"] is True
    assert ONEDRIVE in display.text("display")


def test_utf16_panther_logs_are_decoded_for_diagnosis():
    result, host, _display, _clock, _action = run(
        statuses=[BEFORE, FAILED, GENERALIZED],
        logs=[panther_logs("07_appx_edge_stable_rgl_windows_vagrant.log", encoding="utf-16")])

    assert not result.get("failed"), result.get("msg")
    assert host.appx_requests == [{"packages": [EDGE]}]


def test_failures_are_retried_at_most_max_retries_times_then_fail_with_the_findings():
    result, host, _display, _clock, _action = run(
        {"max_retries": 2},
        statuses=[BEFORE, FAILED],
        logs=[panther_logs("07_appx_edge_stable_rgl_windows_vagrant.log"),
              panther_logs("12_appx_photos_guyrleech_script.log"),
              panther_logs("ms_configmgr_appx_onedrivesync.log")],
        appx_sticky=True)

    assert result["failed"] is True
    assert len(host.calls_of("start")) == 3
    assert host.appx_requests == [{"packages": [EDGE]}, {"packages": [PHOTOS]}]
    assert [a["outcome"] for a in result["runs"]] == ["failed", "failed", "failed"]
    assert result["runs"][-1]["remediation"] is None
    message = result["msg"]
    assert "attempt 3 of 3" in message and "no retry left: max_retries=2" in message
    # The final error lists the findings: title, what was seen and what to do.
    assert "Store app installed for a user but not provisioned for all users" in message
    assert ONEDRIVE in message
    assert "Remove the listed packages for all users" in message
    assert "docs/troubleshooting.md" in message
    assert [f["id"] for f in result["findings"]] == ["appx_user_not_provisioned"]
    assert result["findings"][0]["packages"] == [ONEDRIVE]


def test_the_same_packages_reported_again_stop_the_retries():
    result, host, _display, _clock, _action = run(
        {"max_retries": 5}, statuses=[BEFORE, FAILED],
        logs=[panther_logs("ms_configmgr_appx_onedrivesync.log")])

    assert result["failed"] is True
    assert len(host.calls_of("start")) == 2
    assert host.appx_requests == [{"packages": [ONEDRIVE]}]
    assert "same packages are reported again" in result["msg"]


def test_a_failure_appx_removal_cannot_fix_is_not_retried():
    result, host, _display, _clock, _action = run(
        statuses=[BEFORE, FAILED], logs=[panther_logs("issue_incus_windows_30_bitlocker.log")])

    assert result["failed"] is True
    assert len(host.calls_of("start")) == 1
    assert host.appx_requests == [] and host.calls_of("winimage.generalize.appx_cleanup") == []
    assert host.operations()[-1] == "cleanup"  # sysprep stopped: the staged answer file goes
    assert [f["id"] for f in result["findings"]] == ["bitlocker_on"]
    assert "BitLocker protects or encrypts the OS volume" in result["msg"]
    assert "Disable-BitLocker" in result["msg"]


def test_remediate_false_makes_the_first_failure_final():
    result, host, _display, _clock, _action = run(
        {"remediate": False}, statuses=[BEFORE, FAILED], logs=[panther_logs("ms_configmgr_appx_onedrivesync.log")])

    assert result["failed"] is True
    assert host.appx_requests == []
    assert "remediate=false" in result["msg"]


def test_a_failing_remediation_is_reported_with_the_findings():
    result, _host, _display, _clock, _action = run(
        statuses=[BEFORE, FAILED], logs=[panther_logs("ms_configmgr_appx_onedrivesync.log")],
        appx_error="Remove-AppxPackage: access denied")

    assert result["failed"] is True
    assert "appx_cleanup failed too: Remove-AppxPackage: access denied" in result["msg"]
    assert ONEDRIVE in result["msg"]


def test_a_package_appx_cleanup_cannot_find_fails_without_a_useless_retry():
    result, host, _display, _clock, _action = run(
        statuses=[BEFORE, FAILED], logs=[panther_logs("ms_configmgr_appx_onedrivesync.log")], appx_installed=[])

    assert result["failed"] is True
    assert len(host.calls_of("start")) == 1
    assert "removed none of the packages" in result["msg"] and ONEDRIVE in result["msg"]


def test_no_rearm_left_fails_before_sysprep_is_started():
    result, host, _display, _clock, _action = run(statuses=[status(rearm=0)])

    assert result["failed"] is True
    assert host.operations() == ["status"]
    assert [f["id"] for f in result["findings"]] == ["rearm_exhausted"]
    assert "no licensing rearm is left" in result["msg"]


def test_skip_rearm_lets_a_machine_without_rearms_run():
    result, host, _display, _clock, _action = run(
        {"answer_file": {"image_stage": "intermediate", "generalize": {"skip_rearm": 1}}},
        statuses=[status(rearm=0), GENERALIZED])

    assert not result.get("failed"), result.get("msg")
    assert "start" in host.operations()


# ---------------------------------------------------------------------------
# Never forever: timeouts and lost connections


def test_a_hanging_sysprep_times_out_with_the_last_state_and_the_log_findings():
    clock = FakeClock()
    start_time = clock.now
    result, host, _display, clock, _action = run(
        {"timeout": 600, "poll_interval": 15}, clock=clock, statuses=[BEFORE, RUNNING],
        logs=[panther_logs("ms_configmgr_appx_onedrivesync.log")])

    assert result["failed"] is True
    assert "did not finish within timeout=600s" in result["msg"]
    assert "sysprep.exe is running (pid 4242)" in result["msg"]
    assert "Sysprep was left running" in result["msg"]
    assert [f["id"] for f in result["findings"]] == ["appx_user_not_provisioned"]
    # A timeout is not retried, and the waiting stopped at the deadline.
    assert len(host.calls_of("start")) == 1
    assert host.appx_requests == []
    assert 600 <= clock.now - start_time <= 600 + 15 + 10
    assert len(host.calls_of("status")) <= 600 // 15 + 3
    assert result["runs"][0]["outcome"] == "timeout"
    assert "cleanup" not in host.operations()  # sysprep may still need its answer file


def test_polling_ends_even_when_the_clock_does_not_move():
    clock = FakeClock(frozen=True)
    result, host, _display, _clock, _action = run({"timeout": 300, "poll_interval": 30}, clock=clock,
                                                  statuses=[BEFORE, RUNNING])

    assert result["failed"] is True and "timeout=300s" in result["msg"]
    assert len(host.calls_of("status")) <= 1 + 300 // 30 + 3


def test_connection_losses_while_polling_are_tolerated_and_the_connection_is_reset():
    result, host, _display, _clock, action = run(
        {"after": "quit"},
        statuses=[BEFORE, RUNNING, AnsibleConnectionFailure("winrm connection error"),
                  AnsibleError("the connection attempt timed out"), RUNNING, GENERALIZED])

    assert not result.get("failed"), result.get("msg")
    assert result["image_state"] == "IMAGE_STATE_GENERALIZE_RESEAL_TO_OOBE"
    assert action._connection.close.call_count >= 2
    assert action._connection.reset.call_count >= 2


def test_a_host_that_never_comes_back_while_polling_times_out_and_says_so():
    result, _host, _display, _clock, _action = run(
        {"timeout": 300, "after": "quit"}, statuses=[BEFORE, RUNNING, AnsibleConnectionFailure("refused")],
        logs=[AnsibleConnectionFailure("refused")])

    assert result["failed"] is True
    assert "timeout=300s" in result["msg"] and "stopped answering" in result["msg"]


def test_an_error_that_is_not_a_connection_loss_is_not_retried_until_the_timeout():
    with pytest.raises(AnsibleError, match="module not found"):
        run(statuses=[BEFORE, RUNNING, AnsibleError("The module winimage.generalize.sysprep was not found: "
                                                    "module not found")])


def test_connection_loss_during_power_off_is_success():
    result, host, _display, _clock, _action = run(
        statuses=[BEFORE, GENERALIZED], poweroff=[AnsibleConnectionFailure("connection reset by peer")])

    assert not result.get("failed"), result.get("msg")
    assert result["powered_off"] is True
    assert host.operations()[-2:] == ["poweroff", "ansible.windows.win_ping"]


def test_a_host_still_answering_after_shutdown_timeout_fails_clearly():
    result, host, _display, _clock, _action = run(
        {"shutdown_timeout": 60}, statuses=[BEFORE, GENERALIZED], pings=[{"ping": "pong"}])

    assert result["failed"] is True
    assert "still answers 60s after shutdown.exe /s" in result["msg"]
    assert result["image_state"] == "IMAGE_STATE_GENERALIZE_RESEAL_TO_OOBE"
    assert len(host.calls_of("ansible.windows.win_ping")) <= 60 // 5 + 2


def test_sysprep_shutdown_that_takes_the_host_away_counts_as_powered_off():
    result, host, display, _clock, _action = run(
        {"after": "shutdown"}, statuses=[BEFORE, RUNNING, AnsibleConnectionFailure("timed out")])

    assert not result.get("failed"), result.get("msg")
    assert result["powered_off"] is True
    assert result["runs"][0]["outcome"] == "powered_off"
    assert host.calls_of("start")[0]["after"] == "shutdown"
    assert "poweroff" not in host.operations()
    assert "could read the image state" in display.text("warning")


# ---------------------------------------------------------------------------
# Secrets


SECRET_SETTINGS = {
    "specialize": {
        "network": {"interfaces": [{"alias": "Ethernet", "dns_servers": ["10.0.0.10"]}]},
        "domain_join": {"domain": "corp.example.com", "username": "svc-join", "password": JOIN_PASSWORD},
    },
    "oobe_system": {"user_accounts": {"administrator_password": ADMIN_PASSWORD},
                    "auto_logon": {"username": "Administrator", "password": ADMIN_PASSWORD}},
}


def assert_no_secret(*texts):
    for text in texts:
        assert JOIN_PASSWORD not in text
        assert ADMIN_PASSWORD not in text


@pytest.mark.parametrize("script", [
    {"statuses": [BEFORE, RUNNING, GENERALIZED]},
    {"statuses": [BEFORE, FAILED], "logs": [panther_logs("ms_configmgr_appx_onedrivesync.log")]},
    {"statuses": [BEFORE, RUNNING], "logs": [panther_logs("issue_incus_windows_30_bitlocker.log")]},
], ids=["success", "failure", "timeout"])
def test_passwords_reach_the_host_in_the_answer_file_and_nowhere_else(script):
    result, host, display, _clock, _action = run({"answer_file": copy.deepcopy(SECRET_SETTINGS), "timeout": 120},
                                                 **script)

    start = host.calls_of("start")[0]
    assert JOIN_PASSWORD in start["answer_file_xml"]  # the domain join needs it on the host
    assert result["answer_file_contains_password"] is True
    other_calls = [args for name, args in host.calls if (args or {}).get("operation") != "start"]
    assert_no_secret(json.dumps(result, default=str), display.text(), json.dumps(other_calls),
                     json.dumps({k: v for k, v in start.items() if k != "answer_file_xml"}))
    assert "auto_logon" in display.text("warning")  # builder warnings are shown (logon_count unset)


def test_a_bad_setting_beside_a_password_is_reported_without_the_password():
    settings = copy.deepcopy(SECRET_SETTINGS)
    settings["specialize"]["computer_nme"] = "REF01"
    action = make_action({"answer_file": settings})
    with mock.patch.object(action, "_execute_module") as execute:
        with pytest.raises(AnsibleActionFail) as raised:
            action.run(task_vars={})
    execute.assert_not_called()
    assert "computer_name" in str(raised.value)
    assert_no_secret(str(raised.value))


def test_a_password_of_the_wrong_type_is_reported_without_the_value():
    action = make_action({"answer_file": "password=" + JOIN_PASSWORD})
    with pytest.raises(AnsibleActionFail) as raised:
        action.run(task_vars={})
    assert "answer_file" in str(raised.value)
    assert_no_secret(str(raised.value))


# ---------------------------------------------------------------------------
# Options and single operations


@pytest.mark.parametrize("args, words", [
    ({"timeout": 30}, "timeout is 30, outside 60"),
    ({"max_retries": 11}, "max_retries is 11"),
    ({"poll_interval": 0}, "poll_interval is 0"),
    ({"after": "reboot"}, "after"),
    ({"answer_file_path": "C:\\Program Files\\unattend.xml"}, "without spaces or quotes"),
    ({"answer_file_path": "unattend.xml"}, "not an absolute Windows path"),
    ({"answer_file": {}, "answer_file_xml": "<unattend/>"}, "mutually exclusive"),
    ({"answer_file": {"mode_vm": False}, "mode_vm": True}, "answer_file.mode_vm"),
    ({"answer_file_xml": "<unattend><settings pass='nope'/></unattend>"}, "not a usable answer file"),
])
def test_bad_options_fail_before_anything_runs_on_the_host(args, words):
    action = make_action(args)
    with mock.patch.object(action, "_execute_module") as execute:
        with pytest.raises(AnsibleActionFail, match="winimage.generalize.sysprep|Invalid options") as raised:
            action.run(task_vars={})
    execute.assert_not_called()
    assert words in str(raised.value)


def test_async_is_refused():
    action = make_action()
    action._task.async_val = 60
    with pytest.raises(AnsibleActionFail, match="async"):
        action.run(task_vars={})


def test_operation_status_reports_what_the_module_read_and_what_it_means():
    result, host, _display, _clock, _action = run({"operation": "status"}, statuses=[RUNNING])

    assert host.operations() == ["status"]
    assert result["changed"] is False
    assert result["running"] is True and result["generalized"] is False
    assert result["sysprep_processes"][0]["pid"] == 4242
    assert "invocation" not in result
    assert "sysprep.exe running (pid 4242)" in result["summary"]


def test_operation_logs_returns_readable_text_and_findings():
    result, host, _display, _clock, _action = run(
        {"operation": "logs"}, statuses=[BEFORE], logs=[panther_logs("ms_configmgr_appx_onedrivesync.log",
                                                                     encoding="utf-16")])

    assert host.operations() == ["logs"]
    assert result["changed"] is False
    assert ONEDRIVE in result["logs"][0]["text"]
    assert result["logs"][2]["exists"] is False
    assert [f["id"] for f in result["findings"]] == ["appx_user_not_provisioned"]


def test_operation_start_starts_without_waiting():
    result, host, _display, _clock, _action = run({"operation": "start"}, statuses=[BEFORE])

    assert host.operations() == ["status", "start"]
    assert result["changed"] is True and result["started"] is True


def test_operation_cleanup_and_poweroff_run_their_single_step():
    result, host, _display, _clock, _action = run({"operation": "cleanup"}, statuses=[BEFORE])
    assert host.operations() == ["cleanup"] and result["task_removed"] is True

    result, host, _display, _clock, _action = run({"operation": "poweroff"}, statuses=[BEFORE])
    assert host.operations() == ["poweroff", "ansible.windows.win_ping"]
    assert result["powered_off"] is True


def test_the_action_options_match_the_documented_options():
    documented = yaml.safe_load(SIDECAR.read_text(encoding="utf-8"))["DOCUMENTATION"]["options"]

    assert set(documented) == set(sysprep_action.ARGUMENT_SPEC)
    for name, spec in sysprep_action.ARGUMENT_SPEC.items():
        doc = documented[name]
        assert doc.get("type", "str") == spec["type"], name
        assert doc.get("default") == spec.get("default"), name
        assert sorted(doc.get("choices") or []) == sorted(spec.get("choices") or []), name


# ---------------------------------------------------------------------------
# Less common paths


def test_an_unreachable_host_is_reported_as_unreachable_not_failed():
    result, host, _display, _clock, _action = run(statuses=[AnsibleConnectionFailure("no route to host")])

    assert result["unreachable"] is True and "unreachable" in result["msg"]
    assert host.operations() == ["status"]


def test_a_status_the_module_cannot_read_is_a_clear_failure_before_anything_starts():
    result, host, _display, _clock, _action = run(statuses=[{"failed": True, "msg": "Access is denied"}])

    assert result["failed"] is True and result["msg"] == "winimage.generalize.sysprep: Access is denied"
    assert host.operations() == ["status"]


def test_a_start_the_module_refuses_fails_with_its_reason():
    result, _host, _display, _clock, _action = run(
        statuses=[BEFORE], starts=[{"failed": True, "msg": "RegisterTaskDefinition: access denied"}])

    assert result["failed"] is True
    assert "could not be started: RegisterTaskDefinition: access denied" in result["msg"]


def test_a_machine_generalized_between_status_and_start_is_not_generalized_again():
    result, host, _display, _clock, _action = run(
        {"after": "quit"}, statuses=[BEFORE],
        starts=[{"changed": False, "started": False, "reason": "already_generalized", "status": GENERALIZED}])

    assert not result.get("failed"), result.get("msg")
    assert result["image_state"] == "IMAGE_STATE_GENERALIZE_RESEAL_TO_OOBE"
    assert host.operations() == ["status", "start", "cleanup"]


def test_a_status_failure_while_polling_is_tolerated():
    result, _host, display, _clock, _action = run(
        {"after": "quit"}, statuses=[BEFORE, RUNNING, {"failed": True, "msg": "WMI is restarting"}, GENERALIZED])

    assert not result.get("failed"), result.get("msg")
    assert "WMI is restarting" in display.text("vvv")


def test_generalized_to_audit_mode_is_refused_before_a_rearm_is_spent():
    result, host, _display, _clock, _action = run(statuses=[status("IMAGE_STATE_GENERALIZE_RESEAL_TO_AUDIT")])

    assert result["failed"] is True and "audit mode" in result["msg"]
    assert host.operations() == ["status"]


def test_a_failing_shutdown_command_is_reported():
    result, _host, _display, _clock, _action = run(
        statuses=[BEFORE, GENERALIZED], poweroff=[{"changed": True, "rc": 5, "stdout": "Access is denied.(5)"}])

    assert result["failed"] is True
    assert "shutdown.exe /s failed with exit code 5: Access is denied.(5)" in result["msg"]


def test_after_shutdown_waits_for_the_host_sysprep_powers_off():
    result, host, _display, _clock, _action = run({"after": "shutdown"}, statuses=[BEFORE, GENERALIZED])

    assert not result.get("failed"), result.get("msg")
    assert result["powered_off"] is True
    assert host.operations() == ["status", "start", "status", "ansible.windows.win_ping"]


def test_a_given_answer_file_xml_is_passed_through_unchanged():
    xml = (REPO / "tests" / "data" / "unattend" / "gce_compute_image_windows_unattended.xml").read_text()
    result, host, _display, _clock, _action = run({"answer_file_xml": xml, "after": "quit"},
                                                  statuses=[BEFORE, GENERALIZED])

    assert not result.get("failed"), result.get("msg")
    assert host.calls_of("start")[0]["answer_file_xml"] == xml


def test_cleanup_answer_file_false_leaves_setupcomplete_alone():
    _result, host, _display, _clock, _action = run({"cleanup_answer_file": False, "after": "quit"},
                                                   statuses=[BEFORE, GENERALIZED])

    assert "setupcomplete_script" not in host.calls_of("start")[0]


def test_operation_start_on_a_running_or_generalized_machine_changes_nothing():
    result, host, display, _clock, _action = run({"operation": "start"}, statuses=[RUNNING])
    assert result["changed"] is False and result["started"] is False
    assert "already running" in display.text("warning")

    result, host, _display, _clock, _action = run({"operation": "start"}, statuses=[GENERALIZED])
    assert result["changed"] is False and result["already_generalized"] is True
    assert host.operations() == ["status"]


def test_operation_poweroff_in_check_mode_does_nothing():
    result, host, _display, _clock, _action = run({"operation": "poweroff"}, check_mode=True, statuses=[BEFORE])
    assert result["changed"] is True and result["powered_off"] is False
    assert host.operations() == []
