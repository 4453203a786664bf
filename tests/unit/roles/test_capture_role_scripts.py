# Copyright: (c) 2026, winimage.generalize contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The capture role's Hyper-V PowerShell scripts: they parse, and only the read-only ones run in check mode.

ansible.windows.win_powershell runs a script in check mode only when it declares
[CmdletBinding(SupportsShouldProcess)]; the role relies on that to read the VM state in check mode
while never mounting, dismounting or converting a disk.
"""

from __future__ import annotations

import pathlib
import re
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[3]
FILES = ROOT / "roles" / "capture" / "files"
sys.path.insert(0, str(ROOT / "tests" / "quality"))
import ps_contract  # noqa: E402  (tests/quality is not a package)

READ_ONLY = {"hyperv_wait_off.ps1", "hyperv_vm_disk.ps1"}
WRITING = {"hyperv_mount.ps1", "hyperv_dismount.ps1", "hyperv_template.ps1"}
SHOULD_PROCESS = re.compile(r"\[CmdletBinding\(SupportsShouldProcess\)\]")


def test_every_role_script_is_known():
    assert {p.name for p in FILES.glob("*.ps1")} == READ_ONLY | WRITING


@pytest.mark.parametrize("name", sorted(READ_ONLY | WRITING))
def test_role_scripts_parse_and_carry_the_licence_header(name):
    path = FILES / name
    source = path.read_bytes()
    problems = ps_contract.syntax_problems(name, source, ps_contract.parse(source), ps_contract.load_allowlist())
    problems += ps_contract._header_problems(name, source.decode("utf-8"))

    assert problems == []


@pytest.mark.parametrize("name", sorted(READ_ONLY))
def test_read_only_scripts_run_in_check_mode(name):
    assert SHOULD_PROCESS.search((FILES / name).read_text(encoding="utf-8"))


@pytest.mark.parametrize("name", sorted(WRITING))
def test_scripts_that_change_disks_are_skipped_in_check_mode(name):
    assert not SHOULD_PROCESS.search((FILES / name).read_text(encoding="utf-8"))


def test_the_vm_disk_is_only_ever_mounted_read_only():
    text = (FILES / "hyperv_mount.ps1").read_text(encoding="utf-8")
    code = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))

    assert re.findall(r"Mount-VHD[^\n]*", code) == ["Mount-VHD -Path $Path -ReadOnly -PassThru"]


def test_the_template_never_overwrites_and_never_merges_into_the_vm_chain():
    text = (FILES / "hyperv_template.ps1").read_text(encoding="utf-8")
    code = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))

    assert "Merge-VHD" not in code and "-Force" not in code.replace("Remove-Item -LiteralPath $partial -Force", "")
    assert code.index("Test-Path -LiteralPath $Destination") < code.index("Convert-VHD")
