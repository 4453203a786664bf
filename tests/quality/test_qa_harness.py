# Copyright: (c) 2026, winimage.generalize contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The harness itself: what the staged copy holds, and that a hung tool cannot hang CI."""

from __future__ import annotations

import pathlib
import subprocess
import sys

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import qa  # noqa: E402


def make_repository(root: pathlib.Path) -> None:
    (root / 'plugins' / 'modules').mkdir(parents=True)
    (root / 'galaxy.yml').write_text('namespace: winimage\nname: generalize\nversion: 0.1.0\n')
    (root / '.gitignore').write_text('.venv/\nscratch.txt\n')
    (root / 'plugins' / 'modules' / 'tracked.py').write_text('# tracked\n')
    (root / 'plugins' / 'modules' / 'new.py').write_text('# untracked, not ignored\n')
    (root / 'scratch.txt').write_text('ignored\n')
    (root / '.venv').mkdir()
    (root / '.venv' / 'big').write_text('ignored\n')
    subprocess.run(['git', 'init', '-q', str(root)], check=True)
    subprocess.run(['git', '-C', str(root), 'add', 'galaxy.yml', '.gitignore', 'plugins/modules/tracked.py'], check=True)


def staged_files(staged: pathlib.Path) -> set[str]:
    return {p.relative_to(staged).as_posix() for p in staged.rglob('*') if p.is_file() and '.git' not in p.parts}


def test_stage_copies_what_git_would_commit(tmp_path):
    make_repository(tmp_path)
    staged = qa.stage(tmp_path)
    assert staged == tmp_path / '.build/ansible-test/ansible_collections/winimage/generalize'
    assert staged_files(staged) == {'galaxy.yml', '.gitignore', 'plugins/modules/tracked.py', 'plugins/modules/new.py'}


def test_staged_copy_is_a_git_root_of_its_own(tmp_path):
    """ansible-test would otherwise walk up to the repository, which ignores .build/, and find no files."""
    make_repository(tmp_path)
    staged = qa.stage(tmp_path)
    top = subprocess.run(['git', 'rev-parse', '--show-toplevel'], cwd=staged, capture_output=True, text=True, check=True)
    assert pathlib.Path(top.stdout.strip()) == staged


def test_restaging_drops_files_deleted_since(tmp_path):
    make_repository(tmp_path)
    qa.stage(tmp_path)
    (tmp_path / 'plugins' / 'modules' / 'new.py').unlink()
    assert 'plugins/modules/new.py' not in staged_files(qa.stage(tmp_path))


def test_stage_without_git_skips_tooling_directories(tmp_path):
    (tmp_path / 'galaxy.yml').write_text('namespace: winimage\nname: generalize\nversion: 0.1.0\n')
    (tmp_path / 'plugins').mkdir()
    (tmp_path / 'plugins' / 'a.py').write_text('')
    (tmp_path / '.venv').mkdir()
    (tmp_path / '.venv' / 'b.py').write_text('')
    assert staged_files(qa.stage(tmp_path)) == {'galaxy.yml', 'plugins/a.py'}


def test_hung_command_is_killed_and_fails(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(qa, 'COMMAND_TIMEOUT', 1)
    status = qa.run([sys.executable, '-c', 'import time; time.sleep(30)'], tmp_path)
    assert status == 124
    assert 'still running after 1s; killed' in capsys.readouterr().out
