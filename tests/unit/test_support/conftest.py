# Copyright: (c) 2026, winimage.generalize contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Make tests/support importable (as ``winimage_testdata``) and expose its fixtures."""

import sys
from pathlib import Path

SUPPORT = Path(__file__).resolve().parents[2] / "support"
if str(SUPPORT) not in sys.path:
    sys.path.insert(0, str(SUPPORT))

from winimage_testdata import fixtures  # noqa: E402

# pytest finds a fixture by its name in a conftest: this binding makes it available to this directory.
winimage_artifacts = fixtures.winimage_artifacts
