# -*- coding: utf-8 -*-
# Copyright: (c) 2026, winimage.generalize contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Filter of the fleet report: report_key_facts (the facts a report keeps of a host).

Documentation: report_key_facts.yml beside this file, and docs/preflight.md.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from collections.abc import Mapping

from ansible.errors import AnsibleFilterError

from ansible_collections.winimage.generalize.plugins.module_utils import report
from ansible_collections.winimage.generalize.plugins.plugin_utils.filter_data import plain_data


def report_key_facts(facts):
    """Readiness facts -> only the fields the fleet report shows; None for no facts."""
    if facts and not isinstance(facts, Mapping):
        raise AnsibleFilterError("winimage.generalize.report_key_facts: expected the readiness facts mapping, "
                                 "got %s" % type(facts).__name__)
    return report.key_facts(plain_data(facts) if facts else facts)


class FilterModule(object):
    """winimage.generalize fleet report filters."""

    def filters(self):
        return {"report_key_facts": report_key_facts}
