# Copyright: (c) 2026, winimage.generalize contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The PowerShell contract check: on the repository, and on fixtures with one planted mistake each."""

from __future__ import annotations

import pathlib
import shutil
import sys

import pytest

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import ps_contract  # noqa: E402

REPO_ROOT = HERE.parent.parent
POWERSHELL_FIXTURES = HERE / 'fixtures' / 'powershell'


def test_every_collection_powershell_file_meets_the_contract():
    """Check 5 on the real collection (passes with zero modules, and keeps working as they land)."""
    files = ps_contract.collection_files(REPO_ROOT)
    problems = ps_contract.check_paths(REPO_ROOT, files)
    assert not problems, '\n'.join(map(str, problems))


@pytest.fixture
def module(tmp_path):
    """A copy of the fixture module whose spec and sidecar agree."""
    for suffix in ('.ps1', '.yml'):
        shutil.copy(POWERSHELL_FIXTURES / f'win_fixture_full{suffix}', tmp_path / f'win_fixture_full{suffix}')
    return tmp_path / 'win_fixture_full.ps1'


def problems_of(path: pathlib.Path) -> list[str]:
    return [str(p) for p in ps_contract.check_paths(path.parent, [path])]


def plant(path: pathlib.Path, old: str, new: str) -> None:
    text = path.read_text(encoding='utf-8')
    assert text.count(old) == 1, f'{old!r} not exactly once in {path.name}'
    path.write_text(text.replace(old, new), encoding='utf-8')


def test_matching_spec_and_sidecar_have_no_problems(module):
    assert problems_of(module) == []


def test_spec_is_read_from_the_parse_tree():
    spec = ps_contract.module_argument_spec(POWERSHELL_FIXTURES / 'win_fixture_full.ps1')
    assert spec['supports_check_mode'] is True
    assert spec['mutually_exclusive'] == [['force', 'schedule']]
    options = spec['options']
    assert options['path'] == {'type': 'path', 'required': True, 'aliases': ['dest', 'target']}
    assert options['state']['choices'] == ['present', 'absent']
    assert options['retries']['default'] == 3
    assert options['force']['default'] is False
    assert options['account_password']['no_log'] is True
    assert options['exclusions']['default'] == ['pagefile.sys', 'hiberfil.sys']
    assert options['schedule']['options']['unit']['default'] == 'minutes'


MISMATCHES = [
    # (what is planted, file, old text, new text, expected words in the message)
    ('option missing from the sidecar', '.ps1', "retries = @{ type = 'int'; default = 3 }",
     "retries = @{ type = 'int'; default = 3 }\n        extra_flag = @{ type = 'bool' }",
     ["option 'extra_flag'", 'not documented in the sidecar']),
    ('option missing from the spec', '.ps1', "        retries = @{ type = 'int'; default = 3 }\n", '',
     ["option 'retries'", 'missing from $spec']),
    ('type', '.ps1', "retries = @{ type = 'int'", "retries = @{ type = 'str'",
     ["option 'retries'", "type differs: $spec has 'str', sidecar has 'int'"]),
    ('default', '.ps1', "default = 'present'", "default = 'absent'",
     ["option 'state'", 'default differs: $spec has "absent", sidecar has "present"']),
    ('choices', '.ps1', "choices = 'present', 'absent'", "choices = 'present', 'absent', 'gone'",
     ["option 'state'", 'choices differ']),
    ('required', '.ps1', "type = 'path'; required = $true;", "type = 'path';",
     ["option 'path'", 'required differs: $spec has False, sidecar has True']),
    ('aliases', '.ps1', "aliases = @('dest', 'target')", "aliases = @('dest')",
     ["option 'path'", 'aliases differ']),
    ('elements', '.ps1', "elements = 'str'", "elements = 'path'",
     ["option 'exclusions'", 'elements differs']),
    ('nested option', '.yml', 'choices: [minutes, hours]', 'choices: [minutes, hours, days]',
     ["option 'schedule.unit'", 'choices differ']),
    ('nested option missing', '.ps1', "                interval = @{ type = 'int'; required = $true }\n", '',
     ["option 'schedule.interval'", 'missing from $spec']),
    ('no_log on a secret', '.ps1', "type = 'str'; no_log = $true", "type = 'str'",
     ["option 'account_password'", 'no_log']),
    ('check mode', '.ps1', 'supports_check_mode = $true', 'supports_check_mode = $false',
     ["check_mode support is 'full'", 'supports_check_mode']),
    ('unknown key', '.ps1', "retries = @{ type = 'int'; default = 3 }", "retries = @{ type = 'int'; defualt = 3 }",
     ["option 'retries'", "unknown key 'defualt'"]),
    ('missing shebang', '.ps1', '#!powershell\n', '',
     ['first line must be exactly "#!powershell"']),
    ('no Ansible.Basic', '.ps1', '#AnsibleRequires -CSharpUtil Ansible.Basic\n', '',
     ['does not use Ansible.Basic']),
    ('spec changed later', '.ps1', '$module = [Ansible.Basic.AnsibleModule]',
     "$spec.options.retries.default = 5\n$module = [Ansible.Basic.AnsibleModule]",
     ['changed after it is built']),
    ('merged extra spec', '.ps1', 'Create($args, $spec)', 'Create($args, $spec, @(Get-ExtraSpec))',
     ['Create() takes 3 argument(s)']),
    ('parse error', '.ps1', "        force = @{ type = 'bool'; default = $false }\n",
     "        force = @{ type = 'bool'; default = $false\n", ['syntax error']),
    ('header', '.ps1', '# GNU General Public License v3.0+', '# Licence: see elsewhere',
     ['GPL-3.0-or-later header']),
]


@pytest.mark.parametrize('planted, suffix, old, new, expected', MISMATCHES, ids=[m[0] for m in MISMATCHES])
def test_planted_mismatch_is_reported_with_file_option_and_cause(module, planted, suffix, old, new, expected):
    plant(module.with_suffix(suffix), old, new)
    problems = problems_of(module)
    assert problems, f'planting "{planted}" went unnoticed'
    matching = [p for p in problems if all(word in p for word in expected)]
    assert matching, f'no problem mentions {expected}; got:\n' + '\n'.join(problems)
    assert all(p.startswith('win_fixture_full.') for p in matching), matching


def test_problem_names_the_line_of_the_option(module):
    plant(module, "retries = @{ type = 'int'", "retries = @{ type = 'float'")
    [problem] = problems_of(module)
    line = next(n for n, text in enumerate(module.read_text().splitlines(), 1) if 'retries = @{' in text)
    assert problem.startswith(f'win_fixture_full.ps1:{line}:')


def test_missing_sidecar_is_reported(module):
    module.with_suffix('.yml').unlink()
    assert any('docs sidecar win_fixture_full.yml is missing' in p for p in problems_of(module))


def test_broken_sidecar_yaml_is_reported_not_raised(module):
    plant(module.with_suffix('.yml'), '  options:\n    path:', '  options:\n   path:')
    assert any('win_fixture_full.yml' in p and 'not valid YAML' in p for p in problems_of(module))


def test_unknown_doc_fragment_is_reported(module):
    plant(module.with_suffix('.yml'), 'ansible.builtin.action_common_attributes', 'ansible.builtin.no_such_fragment')
    assert any('extends_documentation_fragment cannot be resolved' in p for p in problems_of(module))


def test_module_util_parse_error_and_header_are_checked(tmp_path):
    util = tmp_path / 'Fixture.psm1'
    util.write_text('Function Get-Thing {\n    param($Name\n    $Name\n}\n', encoding='utf-8')
    problems = problems_of(util)
    assert any('Fixture.psm1' in p and 'syntax error' in p or "missing ')'" in p for p in problems), problems
    assert any('GPL-3.0-or-later header' in p for p in problems), problems


# --------------------------------------------------------------------------
# The grammar allow-list


def test_grammar_gap_fixture_passes_only_thanks_to_the_allowlist():
    path = POWERSHELL_FIXTURES / 'win_fixture_grammar_gaps.ps1'
    assert problems_of(path) == []
    source = path.read_bytes()
    unforgiven = ps_contract.syntax_problems(path.name, source, ps_contract.parse(source), allowlist=[])
    assert unforgiven, 'the grammar now parses these lines: drop the allow-list entries that are no longer needed'


@pytest.mark.parametrize('gap', ps_contract.load_allowlist(), ids=lambda gap: gap.id)
def test_every_allowlist_entry_is_needed_and_narrow(gap):
    example = f'{gap.example}\n$after = 1\n'.encode()
    tree = ps_contract.parse(example)
    assert ps_contract.syntax_problems('x.ps1', example, tree, allowlist=[]), \
        f'{gap.id}: its example parses cleanly now; remove the entry'
    assert ps_contract.syntax_problems('x.ps1', example, tree, allowlist=[gap]) == [], \
        f'{gap.id}: its example is not forgiven by its own pattern'
    broken = example + b'$broken = @{ a = \n'
    assert ps_contract.syntax_problems('x.ps1', broken, ps_contract.parse(broken), allowlist=[gap]), \
        f'{gap.id}: forgives a real syntax error elsewhere in the file'


def test_real_error_on_a_line_with_an_allowed_construct_elsewhere_is_reported():
    source = b'$names = [System.Collections.Generic.List`1[String]]@()\n$x = @{ a = \n$y = 2\n'
    problems = ps_contract.syntax_problems('x.ps1', source, ps_contract.parse(source), ps_contract.load_allowlist())
    assert problems and all(p.line >= 2 for p in problems)


def test_command_line_reports_problems_and_exit_status(module, capsys):
    assert ps_contract.main(['--root', str(module.parent), str(module)]) == 0
    plant(module, "default = 'present'", "default = 'absent'")
    assert ps_contract.main(['--root', str(module.parent), str(module)]) == 1
    output = capsys.readouterr().out
    assert "win_fixture_full.ps1:" in output and "option 'state': default differs" in output
    assert output.rstrip().endswith('1 PowerShell file(s) checked, 1 problem(s)')
