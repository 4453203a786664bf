# Copyright: (c) 2026, winimage.generalize contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Decisions of a sysprep run: what a status means, which findings are remediable, the command line."""

from __future__ import annotations

import base64
import codecs
import pathlib

import pytest

from ansible_collections.winimage.generalize.plugins.module_utils import sysprep_run as run
from ansible_collections.winimage.generalize.plugins.module_utils.panther import parse_logs

LOGS = pathlib.Path(__file__).resolve().parents[4] / "tests" / "data" / "sysprep-logs"
ONEDRIVE = "Microsoft.OneDriveSync_21220.1024.5.0_neutral__8wekyb3d8bbwe"


def status(image_state, pids=(), task_state="ready", last_result=0, exists=True):
    return {"image_state": image_state, "sysprep_processes": [{"pid": p} for p in pids],
            "task": {"exists": exists, "state": task_state if exists else None, "last_result": last_result}}


@pytest.mark.parametrize("report, since, expected, words", [
    (status("IMAGE_STATE_UNDEPLOYABLE", pids=(4242,), task_state="running", last_result=0x41301), 30,
     run.RUNNING, "pid 4242"),
    # The task runs but the process is not listed yet (or is named differently): still running.
    (status("IMAGE_STATE_COMPLETE", task_state="running", last_result=0x41301), 5, run.RUNNING, "not yet visible"),
    (status("IMAGE_STATE_COMPLETE", task_state="queued", last_result=0x41325), 5, run.RUNNING, ""),
    # Generalized, but sysprep still finishing up: wait for the process to end.
    (status("IMAGE_STATE_GENERALIZE_RESEAL_TO_OOBE", pids=(4242,), task_state="running"), 30, run.RUNNING, ""),
    (status("IMAGE_STATE_GENERALIZE_RESEAL_TO_OOBE"), 300, run.GENERALIZED, "RESEAL_TO_OOBE"),
    # Generalized even if the exit code is odd: ImageState is Microsoft's documented signal.
    (status("IMAGE_STATE_GENERALIZE_RESEAL_TO_OOBE", last_result=1), 300, run.GENERALIZED, ""),
    (status("IMAGE_STATE_COMPLETE", last_result=0x41303), 10, run.STARTING, "not started"),
    (status("IMAGE_STATE_COMPLETE", last_result=0x41303), run.START_GRACE_SECONDS + 1, run.FAILED,
     "never started sysprep.exe"),
    # Joined an existing run (since=None): no grace.
    (status("IMAGE_STATE_COMPLETE", last_result=0x41303), None, run.FAILED, "never started"),
    (status("IMAGE_STATE_COMPLETE", last_result=0), 60, run.FAILED, "image state is IMAGE_STATE_COMPLETE"),
    (status("IMAGE_STATE_UNDEPLOYABLE", last_result=-2147009294), 60, run.FAILED, "exited with 0x80073cf2"),
    (status("IMAGE_STATE_UNDEPLOYABLE"), 60, run.FAILED, "a Setup phase failed"),
    (status(None, exists=False), 60, run.FAILED, "scheduled task is gone"),
    # The task could not be read right after the start: wait; later, or for a joined run: decide.
    (dict(status("IMAGE_STATE_COMPLETE"), task=None), 10, run.STARTING, "could not be read"),
    (dict(status("IMAGE_STATE_COMPLETE"), task=None), run.START_GRACE_SECONDS, run.FAILED, "task is gone"),
    ({}, None, run.FAILED, "unknown"),
])
def test_classify_run(report, since, expected, words):
    state, detail = run.classify_run(report, since)

    assert state == expected
    assert words in detail


def test_sysprep_arguments_follow_the_options():
    path = "%WINDIR%\\Temp\\winimage\\unattend.xml"
    assert run.sysprep_arguments(False, "poweroff", path) == [
        "/generalize", "/oobe", "/quiet", "/quit", "/unattend:" + path]
    assert run.sysprep_arguments(False, "quit", path)[3] == "/quit"
    assert run.sysprep_arguments(True, "shutdown", path) == [
        "/generalize", "/oobe", "/quiet", "/shutdown", "/mode:vm", "/unattend:" + path]
    with pytest.raises(run.SysprepOptionError, match="after"):
        run.sysprep_arguments(False, "reboot", path)


@pytest.mark.parametrize("path", ["C:\\Windows\\Temp\\winimage\\unattend.xml", "%WINDIR%\\Temp\\u.xml",
                                  "D:\\stage\\Unattend.XML"])
def test_usable_answer_file_paths(path):
    assert run.check_answer_file_path(path) == path


@pytest.mark.parametrize("path", ["unattend.xml", "C:\\Program Files\\u.xml", 'C:\\a"b.xml', "C:\\u.txt",
                                  "\\\\server\\share\\u.xml", "/tmp/u.xml", None])
def test_unusable_answer_file_paths_are_refused(path):
    with pytest.raises(run.SysprepOptionError, match="answer_file_path"):
        run.check_answer_file_path(path)


def test_setupcomplete_block_is_marked_and_deletes_the_staged_copy():
    block = run.setupcomplete_block("%WINDIR%\\Temp\\winimage\\unattend.xml")
    lines = block.split("\r\n")

    assert block.endswith("\r\n")
    assert lines[0] == run.SETUPCOMPLETE_BEGIN and lines[-2] == run.SETUPCOMPLETE_END
    assert 'del /f /q "%WINDIR%\\Temp\\winimage\\unattend.xml" >nul 2>&1' in lines
    assert 'del /f /q "%WINDIR%\\Panther\\unattend.xml" >nul 2>&1' in lines
    # The block goes in front of other tools' lines: it must not end the script.
    assert not any(line.lower().startswith("exit") for line in lines)
    assert block.count(run.SETUPCOMPLETE_BEGIN) == 1 and block.count(run.SETUPCOMPLETE_END) == 1


@pytest.mark.parametrize("settings, xml, expected", [
    ({"generalize": {"skip_rearm": 1}}, None, True),
    ({"generalize": {"skip_rearm": 0}}, None, False),
    ({}, None, False),
    (None, "<unattend><SkipRearm> 1 </SkipRearm></unattend>", True),
    (None, "<unattend><SkipRearm>0</SkipRearm></unattend>", False),
])
def test_answer_file_skips_rearm(settings, xml, expected):
    assert run.answer_file_skips_rearm(settings=settings, xml=xml) is expected


def test_rearms_used():
    assert run.rearms_used(1001, 1000) == 1
    assert run.rearms_used(3, 3) == 0
    assert run.rearms_used(2, 3) == 0  # a service pack can add one; never negative
    assert run.rearms_used(None, 1000) is None
    assert run.rearms_used(1001, None) is None


def finding(finding_id, packages=None, status="fail", severity="blocker", **extra):
    item = {"id": finding_id, "status": status, "severity": severity, **extra}
    if packages is not None:
        item["packages"] = packages
    return item


def test_remediable_packages_keep_order_and_drop_duplicates():
    findings = [
        finding("appx_user_not_provisioned", ["A_1.0_x64__abc", "B_1.0_x64__abc"]),
        finding("appx_staged_removal", ["B_1.0_x64__abc", "C_1.0_x64__abc"]),
        finding("appx_user_not_provisioned", ["D_1.0_x64__abc"], status="unknown"),
        finding("bitlocker_on"),
    ]
    assert run.remediable_packages(findings) == ["A_1.0_x64__abc", "B_1.0_x64__abc", "C_1.0_x64__abc"]
    assert run.remediable_packages([finding("appx_user_not_provisioned", [])]) == []


def test_only_blockers_appx_removal_cannot_fix_prevent_a_retry():
    appx = finding("appx_user_not_provisioned", ["A_1.0_x64__abc"])
    assert not run.has_unremediable_blocker([appx, finding("sysprep_provider_failure", provider="AppxSysprep.dll")])
    assert not run.has_unremediable_blocker([appx, finding("pending_reboot", severity="warning")])
    assert run.has_unremediable_blocker([appx, finding("bitlocker_on")])
    assert run.has_unremediable_blocker([appx, finding("sysprep_provider_failure", provider="DscCore.dll")])


def utf16_log():
    text = (LOGS / "ms_configmgr_appx_onedrivesync.log").read_text(encoding="utf-8").replace("\n", "\r\n")
    return codecs.BOM_UTF16_LE + ("padding line\r\n" * 500 + text).encode("utf-16-le")


def test_a_utf16_log_tail_gets_its_byte_order_mark_back_and_parses():
    data = utf16_log()
    offset = len(data) - 3000  # the module always starts at an even offset
    assert offset % 2 == 0
    entry = {"offset": offset, "head_b64": base64.b64encode(data[:4]).decode(),
             "content_b64": base64.b64encode(data[offset:]).decode()}

    tail = run.decode_log(entry)

    assert tail.startswith(codecs.BOM_UTF16_LE)
    findings = parse_logs([tail])
    assert [f["id"] for f in findings] == ["appx_user_not_provisioned"]
    assert findings[0]["packages"] == [ONEDRIVE]
    assert ONEDRIVE in run.log_text(entry)


def test_log_text_reads_utf8_and_bom_less_utf16():
    text = "2026-03-01 09:30:12, Error SYSPRP something failed\r\n"
    for data in (text.encode("utf-8"), text.encode("utf-16-le")):
        entry = {"offset": 0, "head_b64": "", "content_b64": base64.b64encode(data).decode()}
        assert run.log_text(entry) == text


def test_failure_message_lists_each_finding_with_its_fix_and_points_to_the_guide():
    findings = [finding("appx_user_not_provisioned", [ONEDRIVE], title="Store app", message="seen " + ONEDRIVE,
                        remediation="remove it")]
    message = run.failure_message("sysprep failed.", findings)

    assert message.startswith("sysprep failed.\n")
    assert "- [blocker] Store app: seen %s Fix: remove it" % ONEDRIVE in message
    assert message.endswith("See docs/troubleshooting.md of winimage.generalize.")
    assert "setuperr.log" in run.failure_message("sysprep failed", [])


def test_hex32_turns_powershell_int32_into_the_documented_code():
    assert run.hex32(-2147009294) == "0x80073cf2"
    assert run.hex32(0x41303) == "0x00041303"
    assert run.hex32(None) is None
    assert run.hex32("garbage") is None
