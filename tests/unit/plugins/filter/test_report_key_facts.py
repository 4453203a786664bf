# Copyright: (c) 2026, winimage.generalize contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""report_key_facts: the report is the same from the key facts as from the whole facts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.winimage.generalize.plugins.filter.report import report_key_facts
from ansible_collections.winimage.generalize.plugins.module_utils import report, rules

FACTS_DIR = Path(__file__).resolve().parents[3] / "data" / "facts"


def _hosts(transform):
    hosts = {}
    for path in sorted(FACTS_DIR.glob("*.json")):
        facts = json.loads(path.read_text())
        hosts[path.stem] = {"facts": transform(facts), "findings": rules.evaluate(facts), "error": ""}
    return hosts


def test_the_report_is_the_same_from_key_facts_as_from_whole_facts():
    whole = report.build_report(_hosts(lambda facts: facts), "2026-11-21T00:00:00Z", title="t", phase="preflight")
    key = report.build_report(_hosts(report_key_facts), "2026-11-21T00:00:00Z", title="t", phase="preflight")
    whole.pop("generated_at")
    key.pop("generated_at")
    assert key == whole


def test_key_facts_keep_no_section_the_report_does_not_show():
    facts = json.loads(next(FACTS_DIR.glob("*.json")).read_text())
    kept = report_key_facts(facts)
    assert set(kept) == {"os", "domain", "virtualization", "gatherer", "schema_version"}
    assert len(json.dumps(kept)) < len(json.dumps(facts)) / 5


def test_no_facts_stay_no_facts_and_bad_input_is_named():
    assert report_key_facts({}) is None
    assert report_key_facts(None) is None
    with pytest.raises(AnsibleFilterError, match="expected the readiness facts mapping, got list"):
        report_key_facts(["os"])
