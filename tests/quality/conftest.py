# Copyright: (c) 2026, winimage.generalize contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fixtures for the quality-harness tests (helpers live in qa_helpers.py)."""

from __future__ import annotations

import pathlib
import shutil

import pytest

from qa_helpers import FIXTURES

# The fixture collection's own tests are data for these tests, not tests of this repository.
collect_ignore_glob = ['fixtures/*']


@pytest.fixture
def fixture_collection(tmp_path: pathlib.Path) -> pathlib.Path:
    """A fresh copy of the tiny fixture collection, safe to plant mistakes in."""
    root = tmp_path / 'collection'
    shutil.copytree(FIXTURES / 'collection', root)
    return root
