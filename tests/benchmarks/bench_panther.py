#!/usr/bin/env python
# Copyright: (c) 2026, winimage.generalize contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Benchmark of the Panther log parser against `grep -c SYSPRP` (a script, not a test).

Writes a realistic setupact.log of about 200 MB (many sysprep runs of Info/Warning lines in the
standard Panther layout, a few error lines, the last run failing on an Appx package) into a
temporary directory, then times `grep -c SYSPRP` and `panther.parse_stream` on it, best of N
runs each, and prints both figures and their ratio. The target is parser <= 3 x grep.
The same log in UTF-16 LE (as Windows tools often copy it) is timed too; grep cannot read that
one, so only the parser's throughput is printed.

Usage: PYTHONPATH=.build/collections .venv/bin/python tests/benchmarks/bench_panther.py [--size-mb 200]
"""

from __future__ import annotations

import argparse
import datetime
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time

from ansible_collections.winimage.generalize.plugins.module_utils import panther

# Shapes of lines a sysprep run writes (layout as in published setupact.log excerpts).
RUN_LINES = (
    "Info                  SYSPRP ========================================================",
    "Info                  SYSPRP ===          Beginning of a new sysprep run          ===",
    "Info                  SYSPRP ========================================================",
    "Info       [0x0f004d] SYSPRP The time is now {stamp}",
    "Info       [0x0f004e] SYSPRP Initialized SysPrep log at C:\\Windows\\System32\\Sysprep\\Panther",
    "Info       [0x0f0054] SYSPRP ValidatePrivileges:User has required privileges to sysprep machine",
    "Info       [0x0f005f] SYSPRP ParseCommands:Found supported command line option 'GENERALIZE'",
    "Info       [0x0f005f] SYSPRP ParseCommands:Found supported command line option 'OOBE'",
    "Warning               SYSPRP WinMain: File operations pending",
)
BODY_LINES = (
    "Info                  SYSPRP SysprepSession::CreateSession: Successfully created instance with action file "
    "C:\\Windows\\System32\\Sysprep\\ActionFiles\\Cleanup.xml",
    "Info                  SYSPRP ActionPlatform::LaunchModule: Executing method 'Sysprep_Clean_Validate_Opk' from "
    "C:\\Windows\\System32\\spopk.dll",
    "Info                  SYSPRP ActionPlatform::LaunchModule: Successfully executed 'Sysprep_Clean_Validate_Opk' "
    "from C:\\Windows\\System32\\spopk.dll without error",
    "Info                  CSI    00000001 Shim considered [l:125]'\\??\\C:\\Windows\\Servicing\\amd64_microsoft-"
    "windows-servicingstack_31bf3856ad364e35_10.0.20348.169_none\\wcp.dll' : got STATUS_OBJECT_PATH_NOT_FOUND",
    "Info                  SYSPRP Entering SysprepGeneralizeValidate (Appx) - validating whether all apps are "
    "also provisioned.",
    "Info       [0x0f0081] SYSPRP LaunchDll:Successfully executed 'C:\\Windows\\System32\\spbcd.dll,"
    "Sysprep_Generalize_Bcd' without error",
    "Info                  SYSPRP GeneralizeBcdStore: Successfully generalized application device. Status = [0x0]",
)
# An earlier run that failed and was fixed: its error must not be reported.
OLD_FAILURE = (
    "Error                 SYSPRP BitLocker-Sysprep: BitLocker is on for the OS volume. Turn BitLocker off to "
    "run Sysprep. (0x80310039)",
)
LAST_FAILURE = (
    "Error                 SYSPRP Package Microsoft.Copilot_0.4.2.0_neutral__8wekyb3d8bbwe was installed for a "
    "user, but not provisioned for all users. This package will not function properly in the sysprep image.",
    "Error                 SYSPRP Failed to remove apps for the current user: 0x80073cf2.",
    "Error                 SYSPRP Exit code of RemoveAllApps thread was 0x3cf2.",
    "Error                 SYSPRP ActionPlatform::LaunchModule: Failure occurred while executing "
    "'SysprepGeneralizeValidate' from C:\\Windows\\System32\\AppxSysprep.dll; dwRet = 0x3cf2",
    "Error      [0x0f0070] SYSPRP RunDlls:An error occurred while running registry sysprep DLLs, halting "
    "sysprep execution. dwRet = 0x3cf2",
)


def write_log(path, size_bytes):
    """A CRLF setupact.log of about size_bytes, written block by block."""
    clock = datetime.datetime(2024, 6, 20, 8, 0, 0)
    written = 0
    runs = 0
    with open(path, "w", encoding="utf-8", newline="\r\n") as log:
        while written < size_bytes:
            lines = []
            for line in RUN_LINES + BODY_LINES * 4000 + (OLD_FAILURE if runs == 0 else ()):
                clock += datetime.timedelta(milliseconds=40)
                stamp = clock.strftime("%Y-%m-%d %H:%M:%S")
                lines.append("%s, %s" % (stamp, line.replace("{stamp}", stamp)))
            block = "\n".join(lines) + "\n"
            log.write(block)
            written += len(block) + len(lines)
            runs += 1
        stamp = clock.strftime("%Y-%m-%d %H:%M:%S")
        log.write("\n".join("%s, %s" % (stamp, line) for line in RUN_LINES + LAST_FAILURE) + "\n")
    return runs + 1


def best_of(runs, action):
    timings = []
    result = None
    for _attempt in range(runs):
        start = time.perf_counter()
        result = action()
        timings.append(time.perf_counter() - start)
    return min(timings), result


def time_grep(path, runs):
    grep = shutil.which("grep")
    if not grep:
        sys.exit("grep is not installed")

    def count():
        done = subprocess.run([grep, "-c", "SYSPRP", path], capture_output=True, text=True, check=False)
        return int(done.stdout.strip() or 0)

    return best_of(runs, count)


def time_parser(path, runs):
    def parse():
        with open(path, "rb") as log:
            return panther.parse_stream(log)

    return best_of(runs, parse)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=200, help="size of the generated log (default 200)")
    parser.add_argument("--runs", type=int, default=5, help="timed runs of each tool; the best counts")
    parser.add_argument("--max-ratio", type=float, default=3.0, help="target: parser time / grep time")
    parser.add_argument("--no-utf16", action="store_true", help="skip the UTF-16 LE variant")
    args = parser.parse_args()

    workdir = tempfile.mkdtemp(prefix="bench_panther_")
    try:
        path = os.path.join(workdir, "setupact.log")
        runs_in_log = write_log(path, args.size_mb * 1024 * 1024)
        size_mb = os.path.getsize(path) / 1024.0 / 1024.0
        grep_s, grep_count = time_grep(path, args.runs)
        parse_s, findings = time_parser(path, args.runs)
        ids = [finding["id"] for finding in findings]
        ratio = parse_s / grep_s
        print("log: %.1f MB UTF-8, CRLF, %d sysprep runs, %d lines with SYSPRP" % (size_mb, runs_in_log, grep_count))
        print("grep -c SYSPRP : %.3f s (%.0f MB/s)" % (grep_s, size_mb / grep_s))
        print("parse_stream   : %.3f s (%.0f MB/s) -> %s" % (parse_s, size_mb / parse_s, ids))
        print("ratio parser/grep: %.2f (target <= %.1f): %s"
              % (ratio, args.max_ratio, "OK" if ratio <= args.max_ratio else "ABOVE TARGET"))
        # Peak resident memory of this whole process (generation included): bounded, not ~log size.
        print("peak RSS of the benchmark process: %.0f MB"
              % (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0))

        if not args.no_utf16:
            wide = os.path.join(workdir, "setupact-utf16.log")
            with open(path, "rb") as source, open(wide, "wb") as target:
                target.write(b"\xff\xfe")
                for chunk in iter(lambda: source.read(1 << 20), b""):
                    target.write(chunk.decode("utf-8").encode("utf-16-le"))
            os.remove(path)
            wide_mb = os.path.getsize(wide) / 1024.0 / 1024.0
            wide_s, wide_findings = time_parser(wide, args.runs)
            print("parse_stream UTF-16 LE (%.1f MB): %.3f s (%.0f MB/s) -> %s"
                  % (wide_mb, wide_s, wide_mb / wide_s, [finding["id"] for finding in wide_findings]))
        return 0 if ratio <= args.max_ratio else 1
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
