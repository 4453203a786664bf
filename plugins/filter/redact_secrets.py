# -*- coding: utf-8 -*-
# Copyright: (c) 2026, winimage.generalize contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Filter redact_secrets: answer-file settings (or any mapping) without password-like keys.

Documentation: redact_secrets.yml beside this file, and docs/capture.md.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from collections.abc import Mapping

from ansible.errors import AnsibleFilterError

from ansible_collections.winimage.generalize.plugins.module_utils import manifest
from ansible_collections.winimage.generalize.plugins.plugin_utils.filter_data import plain_data


def redact_secrets(settings, details=False):
    """The settings without password-like keys; with ``details`` also the removed dotted paths."""
    if not isinstance(settings, Mapping):
        raise AnsibleFilterError("winimage.generalize.redact_secrets expects a mapping (for example the "
                                 "answer-file settings), got %s" % type(settings).__name__)
    clean, removed = manifest.redact_settings(plain_data(settings))
    if details:
        return {"settings": clean, "removed": removed}
    return clean


class FilterModule(object):
    """winimage.generalize secret redaction filter."""

    def filters(self):
        return {"redact_secrets": redact_secrets}
