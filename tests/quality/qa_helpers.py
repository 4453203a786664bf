# Copyright: (c) 2026, winimage.generalize contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Helpers shared by the quality-harness tests (a module of its own: `conftest`
is a name every test directory uses, so tests do not import from it)."""

from __future__ import annotations

import pathlib
import subprocess
import sys

HERE = pathlib.Path(__file__).resolve().parent
FIXTURES = HERE / 'fixtures'
QA = HERE / 'qa.py'
REPO_ROOT = HERE.parent.parent


def run_qa(root: pathlib.Path, *arguments: str) -> subprocess.CompletedProcess:
    """Run one qa.py check on ROOT the way its make target does; output is stdout+stderr."""
    return subprocess.run([sys.executable, str(QA), '--root', str(root), *arguments],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, stdin=subprocess.DEVNULL,
                          check=False)


def replace_in(path: pathlib.Path, old: str, new: str) -> None:
    """Plant a mistake by replacing text that must be present exactly once."""
    text = path.read_text(encoding='utf-8')
    assert text.count(old) == 1, f'{old!r} is not in {path.name} exactly once'
    path.write_text(text.replace(old, new), encoding='utf-8')
