# Copyright: (c) 2026, winimage.generalize contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Each quality check passes on the clean fixture collection and reports one planted mistake.

A check that cannot fail proves nothing; these tests run the same qa.py
sub-command as the Makefile target, on a copy of
tests/quality/fixtures/collection, with the narrowest invocation that still
exercises the check.
"""

from __future__ import annotations

import pytest

from qa_helpers import replace_in, run_qa


def assert_reports(result, *expected: str) -> None:
    assert result.returncode != 0, f'the planted mistake went unnoticed:\n{result.stdout[-3000:]}'
    for text in expected:
        assert text in result.stdout, f'{text!r} not in the check output:\n{result.stdout[-3000:]}'


CLEAN_RUNS = [
    pytest.param(['sanity'], id='sanity', marks=pytest.mark.slow),
    pytest.param(['units'], id='units', marks=pytest.mark.slow),
    pytest.param(['lint'], id='lint', marks=pytest.mark.slow),
    pytest.param(['ps-contract'], id='ps-contract'),
    pytest.param(['docs'], id='docs', marks=pytest.mark.slow),
    pytest.param(['changelog'], id='changelog', marks=pytest.mark.slow),
]


@pytest.mark.parametrize('arguments', CLEAN_RUNS)
def test_check_passes_on_the_clean_fixture(fixture_collection, arguments):
    """The baseline: without it a failing check below could be failing for any reason."""
    result = run_qa(fixture_collection, *arguments)
    assert result.returncode == 0, result.stdout[-4000:]


def test_ps_contract_reports_spec_option_missing_from_sidecar(fixture_collection):
    replace_in(fixture_collection / 'plugins/modules/win_fixture.ps1',
               "retries = @{ type = 'int'; default = 3 }",
               "retries = @{ type = 'int'; default = 3 }\n        reboot = @{ type = 'bool'; default = $true }")
    result = run_qa(fixture_collection, 'ps-contract')
    assert_reports(result, "plugins/modules/win_fixture.ps1:", "option 'reboot': is in $spec but not documented")


def test_ps_contract_reports_parse_error(fixture_collection):
    replace_in(fixture_collection / 'plugins/modules/win_fixture.ps1', "if (-not $module.CheckMode) {", "if (-not $module.CheckMode {")
    assert_reports(run_qa(fixture_collection, 'ps-contract'), 'plugins/modules/win_fixture.ps1:', 'tree-sitter-powershell')


def test_ps_contract_reports_missing_interpreter_line(fixture_collection):
    replace_in(fixture_collection / 'plugins/modules/win_fixture.ps1', '#!powershell\n', '')
    assert_reports(run_qa(fixture_collection, 'ps-contract'), 'first line must be exactly "#!powershell"')


@pytest.mark.slow
def test_sanity_validate_modules_reports_python_module_doc_mismatch(fixture_collection):
    replace_in(fixture_collection / 'plugins/modules/fixture_info.py', "    type: str\n    required: true\n", '    type: str\n')
    result = run_qa(fixture_collection, 'sanity', '--test', 'validate-modules', 'plugins/modules/fixture_info.py')
    assert_reports(result, 'plugins/modules/fixture_info.py', 'doc-required-mismatch')


@pytest.mark.slow
def test_sanity_validate_modules_checks_ps1_spec_without_pwsh(fixture_collection):
    replace_in(fixture_collection / 'plugins/modules/win_fixture.ps1', "default = 'present'", "default = 'absent'")
    result = run_qa(fixture_collection, 'sanity', '--test', 'validate-modules', 'plugins/modules/win_fixture.ps1')
    assert_reports(result, 'plugins/modules/win_fixture.ps1', 'doc-default-does-not-match-spec')


@pytest.mark.slow
def test_sanity_validate_modules_checks_ps1_sidecar_schema(fixture_collection):
    replace_in(fixture_collection / 'plugins/modules/win_fixture.yml', '      type: int\n      default: 3', '      type: integer\n      default: 3')
    result = run_qa(fixture_collection, 'sanity', '--test', 'validate-modules', 'plugins/modules/win_fixture.yml')
    assert_reports(result, 'plugins/modules/win_fixture.yml', 'invalid-documentation')


@pytest.mark.slow
def test_sanity_pep8_reports_style_violation(fixture_collection):
    replace_in(fixture_collection / 'plugins/filter/fixture.py', "return str(value).upper()", "return str(value).upper( )")
    result = run_qa(fixture_collection, 'sanity', '--test', 'pep8', 'plugins/filter/fixture.py')
    assert_reports(result, 'plugins/filter/fixture.py', 'E201')


@pytest.mark.slow
def test_units_reports_failing_unit_test(fixture_collection):
    replace_in(fixture_collection / 'tests/unit/plugins/filter/test_fixture.py', "== 'QUIET'", "== 'quiet'")
    assert_reports(run_qa(fixture_collection, 'units'), 'test_shout_upper_cases', '1 failed')


@pytest.mark.slow
def test_lint_reports_role_violation(fixture_collection):
    replace_in(fixture_collection / 'roles/fixture/tasks/main.yml', '  ansible.builtin.debug:', '  debug:')
    assert_reports(run_qa(fixture_collection, 'lint'), 'fqcn[action-core]', 'roles/fixture/tasks/main.yml')


@pytest.mark.slow
def test_changelog_reports_broken_fragment(fixture_collection):
    (fixture_collection / 'changelogs/fragments/broken.yml').write_text('minorchanges:\n  - typo in the section\n')
    assert_reports(run_qa(fixture_collection, 'changelog'), 'changelogs/fragments/broken.yml', 'invalid section')


@pytest.mark.slow
def test_collection_docs_lint_reports_bad_markup(fixture_collection):
    replace_in(fixture_collection / 'plugins/modules/fixture_info.py', '    description: Any name.', '    description: Any O(nonexistent) name.')
    assert_reports(run_qa(fixture_collection, 'changelog'), 'fixture_info', 'nonexistent')


@pytest.mark.slow
def test_docs_reports_module_doc_that_does_not_render(fixture_collection):
    replace_in(fixture_collection / 'plugins/modules/win_fixture.yml', '  options:\n    path:', '  options:\n   path:')
    assert_reports(run_qa(fixture_collection, 'docs'), 'docs: FAILED module winimage.generalize.win_fixture')


@pytest.mark.slow
def test_docs_reports_undocumented_filter(fixture_collection):
    (fixture_collection / 'plugins/filter/shout.yml').unlink()
    assert_reports(run_qa(fixture_collection, 'docs'), 'docs: FAILED filter winimage.generalize.shout')
