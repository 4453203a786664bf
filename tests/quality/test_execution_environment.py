# Copyright: (c) 2026, winimage.generalize contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""execution-environment.yml produces a complete ansible-builder context (no container engine needed)."""

from __future__ import annotations

import pathlib
import re
import shutil

import yaml

from qa_helpers import replace_in, run_qa

REPO_ROOT = pathlib.Path(__file__).resolve().parents[2]


def test_builder_create_writes_containerfile_with_the_project_dependencies(tmp_path):
    context = tmp_path / 'context'
    result = run_qa(REPO_ROOT, 'ee', '--context', str(context))
    assert result.returncode == 0, result.stdout[-3000:]
    containerfile = (context / 'Containerfile').read_text(encoding='utf-8')
    assert 'install-from-bindep' in containerfile
    assert 'requirements.yml' in containerfile
    assert (context / '_build' / 'requirements.txt').read_text() == (REPO_ROOT / 'requirements.txt').read_text()


def test_image_runs_the_ansible_core_that_ci_tests():
    definition = yaml.safe_load((REPO_ROOT / 'execution-environment.yml').read_text(encoding='utf-8'))
    image_core = definition['dependencies']['ansible_core']['package_pip']
    pinned = re.search(r'^ansible-core==\S+', (REPO_ROOT / 'requirements.txt').read_text(), re.MULTILINE)
    assert pinned, 'requirements.txt no longer pins ansible-core'
    assert image_core == pinned.group(0)


def test_definition_naming_a_missing_file_fails(tmp_path):
    for name in ('execution-environment.yml', 'requirements.txt', 'bindep.txt', 'requirements.yml'):
        shutil.copy(REPO_ROOT / name, tmp_path / name)
    shutil.copy(REPO_ROOT / 'galaxy.yml', tmp_path / 'galaxy.yml')
    replace_in(tmp_path / 'execution-environment.yml', 'system: bindep.txt', 'system: bindep-missing.txt')
    result = run_qa(tmp_path, 'ee', '--context', str(tmp_path / 'context'))
    assert result.returncode != 0
    assert 'bindep-missing.txt' in result.stdout
