# Copyright: (c) 2026, winimage.generalize contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""winimage.generalize.panther_findings: sysprep Panther log text in, findings out.

A thin wrapper: the parsing lives in module_utils/panther.py. Documentation is in
panther_findings.yml beside this file.
"""

from __future__ import annotations

import base64
import binascii
import re

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.text.converters import to_text

from ansible_collections.winimage.generalize.plugins.module_utils.panther import parse_logs

_USAGE = (
    "panther_findings expects the text of setupact.log / setuperr.log (a string), an "
    "ansible.builtin.slurp result, or a list of those, for example "
    "\"{{ slurped.results | winimage.generalize.panther_findings }}\""
)
# Base64 text has no spaces; a Panther log always has. Parsing base64 would silently find nothing.
_BASE64_RE = re.compile(r"[A-Za-z0-9+/]{16,}={0,2}")
_NOT_EMPTY = "A log that could not be fetched must not be treated as 'no findings': fix the fetch instead."


def _type_name(value):
    return "nothing (None)" if value is None else type(value).__name__


def _slurped_bytes(result, where):
    """The raw bytes of an ansible.builtin.slurp result (its base64 'content')."""
    if "content" not in result:
        reason = to_text(result.get("msg", "it holds no 'content' key"))
        raise AnsibleFilterError("panther_findings: %s is not a readable slurp result (%s). %s"
                                 % (where, reason, _NOT_EMPTY))
    content = result["content"]
    if result.get("encoding", "base64") != "base64":
        return content
    try:
        return base64.b64decode(content, validate=True)
    except (binascii.Error, TypeError, ValueError) as err:
        raise AnsibleFilterError("panther_findings: the content of %s is not valid base64 (%s)"
                                 % (where, to_text(err)))


def _one_log(item, where):
    if isinstance(item, str) and _BASE64_RE.fullmatch(item[:4096].strip()):
        raise AnsibleFilterError("panther_findings: %s looks like base64, not log text: pass the slurp "
                                 "result itself (or its content through ansible.builtin.b64decode)." % where)
    if isinstance(item, (str, bytes)):
        return item
    if isinstance(item, dict):
        return _slurped_bytes(item, where)
    raise AnsibleFilterError("%s; %s is %s. %s" % (_USAGE, where, _type_name(item), _NOT_EMPTY))


def _log_texts(data):
    if isinstance(data, (list, tuple)):
        if not data:
            raise AnsibleFilterError("%s; got an empty list. %s" % (_USAGE, _NOT_EMPTY))
        return [_one_log(item, "item %d of the list" % index) for index, item in enumerate(data)]
    return [_one_log(data, "the input")]


def panther_findings(data):
    """Findings (phase sysprep) from one Panther log or a list of logs of the same run."""
    texts = _log_texts(data)
    try:
        # bytes are passed through: the parser detects UTF-16 and UTF-8 itself.
        return parse_logs(texts)
    except (TypeError, ValueError) as err:
        raise AnsibleFilterError("panther_findings could not read the log: %s" % to_text(err))


class FilterModule(object):
    """Sysprep Panther log filters."""

    def filters(self):
        return {"panther_findings": panther_findings}
