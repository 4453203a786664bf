# -*- coding: utf-8 -*-
# Copyright: (c) 2026, winimage.generalize contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Filters exposing the rules engine: findings (facts -> findings) and findings_summary.

Documentation: findings.yml and findings_summary.yml beside this file, and docs/findings.md.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError

from ansible_collections.winimage.generalize.plugins.module_utils import rules


def findings(facts, phase="preflight", **options):
    """Readiness facts -> findings of ``phase`` ('preflight' or 'verify'), options as keywords."""
    try:
        return rules.evaluate(facts, phase=phase, options=options)
    except (ValueError, TypeError) as error:
        raise AnsibleFilterError("winimage.generalize.findings: %s" % error) from None


def findings_summary(found):
    """Findings -> counts per severity and status, ``ready`` and ``unknown_blockers``."""
    try:
        return rules.summarize(rules.to_plain(found))
    except (ValueError, TypeError) as error:
        raise AnsibleFilterError("winimage.generalize.findings_summary: %s; pass the list returned by "
                                 "winimage.generalize.findings" % error) from None


class FilterModule(object):
    """winimage.generalize rules-engine filters."""

    def filters(self):
        return {
            "findings": findings,
            "findings_summary": findings_summary,
        }
