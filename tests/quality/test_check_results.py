# Copyright: (c) 2026, winimage.generalize contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Turns the checks `make test` ran before pytest into test results.

`make test` runs each check target (sanity, units, lint, ...) and records its
exit status in $WINIMAGE_QA_RESULTS/NAME.rc with its output in NAME.log, then
runs pytest last so that pytest's summary is the run's closing line. A failed
check becomes a failed test here, with the end of its log. Run alone, pytest
skips this file: the checks have their own make targets.
"""

from __future__ import annotations

import os
import pathlib

import pytest

RESULTS = os.environ.get('WINIMAGE_QA_RESULTS')
LOG_LINES_SHOWN = 80


def recorded_checks() -> list[pathlib.Path]:
    return sorted(pathlib.Path(RESULTS).glob('*.rc')) if RESULTS else []


pytestmark = pytest.mark.skipif(not RESULTS, reason='check results exist only under `make test`')


def test_make_test_recorded_its_checks():
    assert recorded_checks(), f'no check results in {RESULTS}: did the checks run?'


@pytest.mark.parametrize('status_file', recorded_checks(), ids=lambda path: path.stem)
def test_check_passed(status_file):
    status = status_file.read_text(encoding='utf-8').strip()
    log = status_file.with_suffix('.log')
    tail = log.read_text(encoding='utf-8', errors='replace').splitlines()[-LOG_LINES_SHOWN:] if log.exists() else []
    assert status == '0', (f'`make {status_file.stem}` failed with exit status {status}; end of {log}:\n'
                           + '\n'.join(tail))
