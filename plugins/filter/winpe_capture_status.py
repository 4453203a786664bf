# Copyright: (c) 2026, winimage.generalize contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""winimage.generalize.winpe_capture_status: the WinPE capture status file in, a verdict out.

A thin wrapper: the decision lives in module_utils/winpe.py (evaluate_status). Documentation is
in winpe_capture_status.yml beside this file.
"""

from __future__ import annotations

import base64
import binascii

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.text.converters import to_text

from ansible_collections.winimage.generalize.plugins.module_utils.winpe import evaluate_status

_USAGE = ("winpe_capture_status expects the status file's text, its parsed JSON or an ansible.builtin.slurp "
          "result, for example \"{{ status_slurp | winimage.generalize.winpe_capture_status(token=stage.token) }}\"")


def _text_of(value, what):
    """Text of a string, bytes, or a slurp result (base64 content); None stays None."""
    if value is None or isinstance(value, (str, bytes)):
        return value
    if isinstance(value, dict) and "content" in value:
        if value.get("encoding", "base64") != "base64":
            return value["content"]
        try:
            return base64.b64decode(value["content"], validate=True)
        except (binascii.Error, TypeError, ValueError) as err:
            raise AnsibleFilterError("winpe_capture_status: %s is not valid base64 (%s)" % (what, to_text(err)))
    if isinstance(value, dict) and value.get("failed"):
        return None
    raise AnsibleFilterError("winpe_capture_status: %s must be text or a slurp result, got %s"
                             % (what, type(value).__name__))


def winpe_capture_status(status, token=None, console_log=None, image_sha256=None, tail_lines=40):
    """ok, exit_code, step, message, sha256, log_tail ... for one WinPE capture run."""
    if isinstance(status, dict) and "content" not in status and "schema" in status:
        document = status
    elif isinstance(status, dict) and "content" not in status:
        raise AnsibleFilterError("%s; the input has neither 'content' nor 'schema'" % _USAGE)
    else:
        document = _text_of(status, "the status")
        if document is None:
            raise AnsibleFilterError("%s; got nothing" % _USAGE)
    log = _text_of(console_log, "console_log")
    if isinstance(log, bytes):
        # DISM's redirected console output is in the OEM code page; ASCII is what matters here.
        log = log.decode("utf-8", "replace")
    try:
        lines = int(tail_lines)
    except (TypeError, ValueError):
        raise AnsibleFilterError("winpe_capture_status: tail_lines must be a number, got %r" % (tail_lines,))
    return evaluate_status(document, console_log=log, token=token, image_sha256=image_sha256 or None,
                           tail_lines=max(lines, 0))


class FilterModule(object):
    """WinPE capture filters."""

    def filters(self):
        return {"winpe_capture_status": winpe_capture_status}
