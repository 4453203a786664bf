# Copyright: (c) 2026, winimage.generalize contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The PowerShell scripts of the hypervisor and hyperv_host roles (run by ansible.windows.win_powershell).

There is no PowerShell here, so each script is parsed with the tree-sitter PowerShell grammar (as
tests/quality does for the modules), checked for the conventions the roles rely on (check mode
through SupportsShouldProcess, an honest $Ansible.Changed), and every task that runs one is
checked to pass exactly parameters the script declares, and all its mandatory ones.
"""

from __future__ import annotations

import pathlib
import re
import sys

import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "quality"))

import ps_contract  # noqa: E402

ROLES = ("hypervisor", "hyperv_host")
SCRIPTS = sorted(path for role in ROLES for path in (ROOT / "roles" / role / "files").glob("*.ps1"))
_SCRIPT_LOOKUP = re.compile(r"lookup\('ansible\.builtin\.file', '([\w.]+\.ps1)'\)")


def parameters(script):
    """Name -> mandatory, from the script's param ( ... ) block."""
    text = script.read_text(encoding="utf-8")
    if re.search(r"^param\s*\(\s*\)", text, re.MULTILINE):
        return {}
    block = re.search(r"^param\s*\((.*?)^\)", text, re.MULTILINE | re.DOTALL)
    assert block, "%s has no param () block" % script.name
    found = {}
    for line in block.group(1).splitlines():
        names = re.findall(r"\$(\w+)", line)
        if names:
            found[names[-1]] = "Mandatory" in line
    return found


def powershell_tasks():
    """(task file, task name, script, parameters) for every task that runs a role script."""
    for role in ROLES:
        for path in sorted((ROOT / "roles" / role / "tasks").rglob("*.yml")):
            for task in _tasks(yaml.safe_load(path.read_text()) or []):
                module = task.get("ansible.windows.win_powershell")
                if not module:
                    continue
                match = _SCRIPT_LOOKUP.search(module.get("script", ""))
                assert match, "%s: %s runs a script that is not one of the role's files" % (path, task["name"])
                yield path, task["name"], ROOT / "roles" / role / "files" / match.group(1), module.get("parameters") or {}


def _tasks(items):
    for item in items:
        yield item
        for key in ("block", "rescue", "always"):
            yield from _tasks(item.get(key) or [])


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_script_parses(script):
    source = script.read_bytes()
    problems = ps_contract.syntax_problems(str(script), source, ps_contract.parse(source), [])
    assert problems == []


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_script_conventions(script):
    text = script.read_text(encoding="utf-8")
    assert text.startswith("# Copyright: (c) 2026, winimage.generalize contributors")
    assert "[CmdletBinding(SupportsShouldProcess)]" in text, "check mode needs SupportsShouldProcess"
    assert "$ErrorActionPreference = 'Stop'" in text
    assert "$Ansible.Changed = $false" in text
    assert "https://learn.microsoft.com/" in text, "cite the Microsoft documentation the script relies on"
    changes = re.findall(r"\b(Remove|Set|New|Enable|Start|Stop|Restore|Checkpoint)-VM\w*", text)
    if changes:
        assert "ShouldProcess(" in text, "a script that changes something must ask ShouldProcess"
        assert "$Ansible.Changed = $true" in text


def test_every_script_is_used():
    used = {task[2] for task in powershell_tasks()}
    assert used == set(SCRIPTS)


@pytest.mark.parametrize("task", list(powershell_tasks()), ids=lambda t: "%s:%s" % (t[0].name, t[1]))
def test_tasks_pass_the_parameters_the_script_declares(task):
    path, name, script, given = task
    declared = parameters(script)
    assert set(given) <= set(declared), "%s passes unknown parameters %s" % (name, set(given) - set(declared))
    missing = {param for param, mandatory in declared.items() if mandatory and param not in given}
    assert not missing, "%s does not pass mandatory %s" % (name, missing)
