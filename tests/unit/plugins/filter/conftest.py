# Copyright: (c) 2026, winimage.generalize contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fixtures for the filter tests that run ansible, ansible-playbook or ansible-doc by FQCN."""

from __future__ import annotations

import os
import pathlib

import pytest

# The collection these tests belong to: the repository, or the copy ansible-test units runs in.
COLLECTION_ROOT = pathlib.Path(__file__).resolve().parents[4]
NAMESPACE, NAME = "winimage", "generalize"


def _holds_this_collection(entry):
    """Whether a collections path entry resolves winimage.generalize to COLLECTION_ROOT (not another copy)."""
    candidate = pathlib.Path(entry) / "ansible_collections" / NAMESPACE / NAME
    return candidate.is_dir() and candidate.resolve() == COLLECTION_ROOT


@pytest.fixture(scope="session")
def collections_path(tmp_path_factory):
    """An ANSIBLE_COLLECTIONS_PATH value under which ansible loads the code under test as winimage.generalize.

    make exports ANSIBLE_COLLECTIONS_PATH (the link `make setup` creates) and ansible-test units sets it to
    the directory holding its staged copy; the entry that holds this very collection goes first. A bare
    pytest run without it gets a temporary link, so these tests run everywhere instead of skipping.
    """
    entries = [entry for entry in os.environ.get("ANSIBLE_COLLECTIONS_PATH", "").split(os.pathsep) if entry]
    ours = [entry for entry in entries if _holds_this_collection(entry)]
    if not ours:
        root = tmp_path_factory.mktemp("collections")
        link = root / "ansible_collections" / NAMESPACE / NAME
        link.parent.mkdir(parents=True)
        link.symlink_to(COLLECTION_ROOT, target_is_directory=True)
        ours = [str(root)]
    return os.pathsep.join(ours[:1] + [entry for entry in entries if entry != ours[0]])
