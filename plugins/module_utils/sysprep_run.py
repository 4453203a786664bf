# Copyright: (c) 2026, winimage.generalize contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Decisions of a sysprep /generalize run, kept apart from the code that talks to the host.

The PowerShell module ``winimage.generalize.sysprep`` only reports data (image state, the
sysprep.exe processes, the scheduled task, log bytes) and performs small explicit steps. What
that data means - still starting, running, generalized, failed; which findings can be remediated;
what the user is told - is decided here, in plain functions the unit tests drive directly.

Runs on the controller (the action plugin); standard library only.
"""

from __future__ import annotations

import base64
import codecs
import re

from ansible_collections.winimage.generalize.plugins.module_utils.unattend import setupcomplete_cleanup_script

# Windows Setup states, HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Setup\State ImageState
# (https://learn.microsoft.com/windows-hardware/manufacture/desktop/windows-setup-states).
IMAGE_STATE_COMPLETE = "IMAGE_STATE_COMPLETE"
IMAGE_STATE_UNDEPLOYABLE = "IMAGE_STATE_UNDEPLOYABLE"
IMAGE_STATE_GENERALIZED = "IMAGE_STATE_GENERALIZE_RESEAL_TO_OOBE"
IMAGE_STATE_GENERALIZED_TO_AUDIT = "IMAGE_STATE_GENERALIZE_RESEAL_TO_AUDIT"

# Task Scheduler result codes that mean "no result yet", not an exit code of sysprep.exe
# (https://learn.microsoft.com/windows/win32/taskschd/task-scheduler-error-and-success-constants).
SCHED_S_TASK_RUNNING = 0x00041301
SCHED_S_TASK_HAS_NOT_RUN = 0x00041303
SCHED_S_TASK_QUEUED = 0x00041325
_NO_RESULT_YET = (SCHED_S_TASK_RUNNING, SCHED_S_TASK_HAS_NOT_RUN, SCHED_S_TASK_QUEUED)

# A task that was just started may take a moment before sysprep.exe shows up.
START_GRACE_SECONDS = 120

AFTER_CHOICES = ("poweroff", "shutdown", "quit")
REMEDIABLE_IDS = ("appx_user_not_provisioned", "appx_staged_removal")
APPX_CLEANUP_MODULE = "winimage.generalize.appx_cleanup"

SETUPCOMPLETE_BEGIN = "@rem BEGIN winimage.generalize answer-file cleanup"
SETUPCOMPLETE_END = "@rem END winimage.generalize answer-file cleanup"

# Generalize run states returned by classify_run().
RUNNING = "running"
STARTING = "starting"
GENERALIZED = "generalized"
FAILED = "failed"

_WINDOWS_PATH_RE = re.compile(r"^(?:[A-Za-z]:\\|%[A-Za-z_][A-Za-z0-9_]*%\\)[^\"<>|?*\s]+\.xml$", re.I)
_SKIP_REARM_XML_RE = re.compile(r"<SkipRearm>\s*1\s*</SkipRearm>", re.I)


class SysprepOptionError(ValueError):
    """An option value a user can fix; the message names the option and the fix."""


# ---------------------------------------------------------------------------
# Command line and staged files


def check_answer_file_path(path):
    """Refuse a staging path sysprep cannot be given safely on its command line.

    Sysprep documents ``/unattend:<answerfile>`` but not how it parses quotes, so paths with
    spaces or quotes are refused instead of guessed at.
    """
    if not isinstance(path, str) or not _WINDOWS_PATH_RE.match(path):
        raise SysprepOptionError(
            "answer_file_path: %r is not an absolute Windows path to an .xml file without spaces or "
            "quotes. Fix: use a path such as %%WINDIR%%\\Temp\\winimage\\unattend.xml" % (path,))
    return path


def sysprep_arguments(mode_vm, after, answer_file_path):
    """The sysprep.exe switches for a run (the module builds the same line; see sysprep.ps1).

    ``/quiet`` always (an unattended run must never wait on a dialog); ``/shutdown`` only when the
    user lets sysprep power the machine off itself, ``/quit`` otherwise so the controller can read
    the result before it powers off or hands over to capture.
    """
    if after not in AFTER_CHOICES:
        raise SysprepOptionError("after: %r is not one of %s" % (after, ", ".join(AFTER_CHOICES)))
    arguments = ["/generalize", "/oobe", "/quiet", "/shutdown" if after == "shutdown" else "/quit"]
    if mode_vm:
        arguments.append("/mode:vm")
    arguments.append("/unattend:%s" % answer_file_path)
    return arguments


def sysprep_command_line(mode_vm, after, answer_file_path):
    return "%WINDIR%\\System32\\Sysprep\\sysprep.exe " + " ".join(
        sysprep_arguments(mode_vm, after, answer_file_path))


def setupcomplete_block(answer_file_path):
    """The lines merged into SetupComplete.cmd so deployed machines delete every answer-file copy.

    Built by the answer-file builder's cleanup script (same list of copies), without its final
    ``exit /b 0`` so the block can sit in front of lines another tool already put there.
    """
    script = setupcomplete_cleanup_script([answer_file_path])
    lines = [line for line in script.split("\r\n") if line and line.strip().lower() != "exit /b 0"]
    return "\r\n".join([SETUPCOMPLETE_BEGIN] + lines + [SETUPCOMPLETE_END]) + "\r\n"


def answer_file_skips_rearm(settings=None, xml=None):
    """True when the answer file sets Microsoft-Windows-Security-SPP SkipRearm to 1."""
    if xml is not None:
        return bool(_SKIP_REARM_XML_RE.search(xml))
    generalize = (settings or {}).get("generalize") or {}
    value = generalize.get("skip_rearm") if isinstance(generalize, dict) else None
    return value in (1, True, "1", "true", "yes")


# ---------------------------------------------------------------------------
# Reading the status the module reports


def unsigned32(value):
    """A task result as the unsigned 32-bit number Windows documents (PowerShell gives Int32)."""
    if value is None:
        return None
    try:
        return int(value) & 0xFFFFFFFF
    except (TypeError, ValueError):
        return None


def hex32(value):
    number = unsigned32(value)
    return None if number is None else "0x%08x" % number


def sysprep_processes(status):
    return [p for p in (status or {}).get("sysprep_processes") or [] if isinstance(p, dict)]


def task_of(status):
    task = (status or {}).get("task")
    return task if isinstance(task, dict) else {}


def is_running(status):
    """sysprep.exe is running, or its scheduled task is (still) running or queued."""
    return bool(sysprep_processes(status)) or task_of(status).get("state") in ("running", "queued")


def is_generalized(status):
    return (status or {}).get("image_state") == IMAGE_STATE_GENERALIZED


def classify_run(status, seconds_since_start):
    """(state, detail) of a sysprep run from one status report.

    ``seconds_since_start`` is how long ago the controller started the task (None when it did not
    start it, for example when it attached to a run already in progress).
    """
    image_state = (status or {}).get("image_state")
    if is_running(status):
        pids = ", ".join(str(p.get("pid")) for p in sysprep_processes(status)) or "not yet visible"
        return RUNNING, "sysprep.exe is running (pid %s), image state %s" % (pids, image_state or "unknown")
    task = task_of(status)
    last_result = unsigned32(task.get("last_result"))
    if image_state == IMAGE_STATE_GENERALIZED:
        return GENERALIZED, "image state %s" % image_state
    just_started = seconds_since_start is not None and seconds_since_start < START_GRACE_SECONDS
    if just_started and task.get("exists") and last_result in _NO_RESULT_YET:
        return STARTING, "the scheduled task has not started sysprep.exe yet"
    if just_started and not (status or {}).get("task"):
        # The task could not be read this time (the module lists why in `errors`): no verdict yet.
        return STARTING, "the scheduled task could not be read yet"
    return FAILED, failure_detail(status)


def failure_detail(status):
    """What a finished-but-not-generalized run looks like, for the error message."""
    image_state = (status or {}).get("image_state")
    task = task_of(status)
    last_result = unsigned32(task.get("last_result"))
    parts = ["sysprep.exe is no longer running but the image state is %s, not %s"
             % (image_state or "unknown", IMAGE_STATE_GENERALIZED)]
    if image_state == IMAGE_STATE_UNDEPLOYABLE:
        parts.append("(Microsoft: UNDEPLOYABLE while Setup is not running means a Setup phase failed)")
    if not task.get("exists"):
        parts.append("; its scheduled task is gone")
    elif last_result == SCHED_S_TASK_HAS_NOT_RUN:
        parts.append("; the scheduled task never started sysprep.exe")
    elif last_result is not None and last_result not in _NO_RESULT_YET:
        parts.append("; sysprep.exe exited with %s" % hex32(last_result))
    return " ".join(parts).replace(" ;", ";")


def describe_status(status):
    """One line for progress output."""
    processes = sysprep_processes(status)
    running = ("sysprep.exe running (pid %s)" % ", ".join(str(p.get("pid")) for p in processes)
               if processes else "sysprep.exe not running")
    task = task_of(status)
    task_text = "task %s, last result %s" % (task.get("state") or "absent", hex32(task.get("last_result")) or "none")
    return "image state %s, %s, %s" % ((status or {}).get("image_state") or "unknown", running, task_text)


def rearms_used(before, after):
    """Rearms spent between two readings of RemainingWindowsReArmCount; None when unknown."""
    if not isinstance(before, int) or not isinstance(after, int) or isinstance(before, bool):
        return None
    return max(before - after, 0)


# ---------------------------------------------------------------------------
# Logs, findings and remediation


def decode_log(entry):
    """Bytes of one log tail the module returned (base64), with the file's BOM put back.

    The module reads the tail of large logs from an even offset; when the file starts with a
    UTF-16 byte-order mark the tail lost it, so it is restored for the Panther parser.
    """
    data = base64.b64decode(entry.get("content_b64") or "")
    head = base64.b64decode(entry.get("head_b64") or "")
    if entry.get("offset"):
        for bom in (codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
            if head.startswith(bom):
                return bom + data
    return data


def log_text(entry):
    """A log tail as text for people to read (UTF-16 or UTF-8, invalid bytes replaced)."""
    data = decode_log(entry)
    if data.startswith(codecs.BOM_UTF16_LE) or data.startswith(codecs.BOM_UTF16_BE):
        return data.decode("utf-16", "replace")
    sample = data[:4096]
    if len(sample) > 8 and sample[1::2].count(0) > 0.4 * (len(sample) // 2):
        return data.decode("utf-16-le", "replace")
    return data.decode("utf-8-sig", "replace")


def remediable_packages(findings):
    """Appx package names the automatic remediation may remove, in report order."""
    packages = []
    for finding in findings or []:
        if finding.get("id") not in REMEDIABLE_IDS or finding.get("status") != "fail":
            continue
        for package in finding.get("packages") or []:
            if package and package not in packages:
                packages.append(package)
    return packages


def has_unremediable_blocker(findings):
    """A blocker that removing Appx packages does not fix (BitLocker, rearm, ...)."""
    explained_by_appx = ("appxsysprep.dll",)
    for finding in findings or []:
        if finding.get("severity") != "blocker" or finding.get("id") in REMEDIABLE_IDS:
            continue
        if finding.get("id") == "sysprep_provider_failure" and \
                str(finding.get("provider", "")).lower() in explained_by_appx:
            continue
        return True
    return False


def format_findings(findings):
    """The findings as lines a Windows admin reads: severity, title, what was seen, what to do."""
    lines = []
    for finding in findings or []:
        lines.append("- [%s] %s: %s Fix: %s" % (
            finding.get("severity"), finding.get("title"), finding.get("message"), finding.get("remediation")))
    return "\n".join(lines)


def failure_message(headline, findings):
    text = headline.rstrip(".") + "."
    if findings:
        text += "\nFindings from the sysprep Panther logs:\n" + format_findings(findings)
    else:
        text += ("\nThe sysprep Panther logs name no error this collection recognises; read "
                 "%WINDIR%\\System32\\Sysprep\\Panther\\setuperr.log and setupact.log.")
    return text + "\nSee docs/troubleshooting.md of winimage.generalize."
