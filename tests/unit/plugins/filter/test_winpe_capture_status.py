# Copyright: (c) 2026, winimage.generalize contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The winpe_capture_status filter accepts what the role hands it: slurp results, text or JSON."""

from __future__ import annotations

import base64
import json

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.winimage.generalize.plugins.filter.winpe_capture_status import (
    FilterModule,
    winpe_capture_status,
)

STATUS = {"schema": "winimage.generalize/winpe-capture-status/1", "token": "tok", "step": "capture",
          "exit_code": 5, "image": "ref.wim", "sha256": "", "boot_wim_removed": True,
          "dism_log": "ref.tok.dism.log", "console_log": "ref.tok.dism-console.log"}


def slurp(data):
    raw = data.encode("utf-8") if isinstance(data, str) else data
    return {"content": base64.b64encode(raw).decode(), "encoding": "base64", "source": "/mnt/x"}


def test_slurp_results_of_status_and_console_log_are_decoded():
    verdict = winpe_capture_status(slurp(json.dumps(STATUS)), token="tok",
                                   console_log=slurp(b"Error: 5\r\n\r\nAccess is denied.\r\n"))

    assert verdict["ok"] is False and verdict["exit_code"] == 5
    assert verdict["log_tail"] == "Error: 5\nAccess is denied."


def test_parsed_json_and_text_are_accepted():
    ok = dict(STATUS, step="done", exit_code=0)
    assert winpe_capture_status(ok, token="tok")["ok"] is True
    assert winpe_capture_status(json.dumps(ok), token="tok", image_sha256="", tail_lines="5")["ok"] is True


def test_a_failed_console_slurp_is_treated_as_no_log():
    verdict = winpe_capture_status(STATUS, token="tok", console_log={"failed": True, "msg": "file not found"})

    assert verdict["log_tail"] == ""


@pytest.mark.parametrize("value, words", [
    (None, "got nothing"),
    ({"msg": "x"}, "neither"),
    (42, "must be text"),
    ({"content": "%%%", "encoding": "base64"}, "not valid base64"),
])
def test_unusable_input_is_a_clear_error(value, words):
    with pytest.raises(AnsibleFilterError, match=words):
        winpe_capture_status(value)


def test_tail_lines_must_be_a_number():
    with pytest.raises(AnsibleFilterError, match="tail_lines"):
        winpe_capture_status(STATUS, tail_lines="many")


def test_the_filter_is_registered_under_its_documented_name():
    assert FilterModule().filters() == {"winpe_capture_status": winpe_capture_status}
