# Copyright: (c) 2026, winimage.generalize contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""pytest fixtures: import them into a conftest.py to make them available, e.g.

    from winimage_testdata.fixtures import winimage_artifacts, skip_without_tools  # noqa: F401
"""

from __future__ import annotations

import pytest

from .images import ArtifactBuilder, TOOL_PACKAGES, missing_tools


@pytest.fixture(scope="session")
def winimage_artifacts(tmp_path_factory):
    """One :class:`ArtifactBuilder` per test session: each artifact is built once.

    Set WINIMAGE_TESTDATA_CACHE=/some/dir to also keep artifacts between sessions.
    """
    return ArtifactBuilder(tmp_path_factory.mktemp("winimage-artifacts"))


def skip_without_tools(*names: str):
    """A pytest mark that skips with the missing tool and the package to install."""
    absent = missing_tools(*names)
    reason = "needs %s (Debian package %s)" % (
        ", ".join(absent), ", ".join(sorted({TOOL_PACKAGES.get(n, n) for n in absent})))
    return pytest.mark.skipif(bool(absent), reason=reason)
