# Copyright: (c) 2026, winimage.generalize contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The findings / findings_summary filters: thin wrappers with clear errors and matching docs."""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys
import textwrap

import pytest
import yaml
from ansible.errors import AnsibleFilterError

from ansible_collections.winimage.generalize.plugins.filter.findings import FilterModule
from ansible_collections.winimage.generalize.plugins.module_utils import rules

COLLECTION_ROOT = pathlib.Path(__file__).resolve().parents[4]
FACTS_DIR = COLLECTION_ROOT / "tests" / "data" / "facts"
FILTERS = FilterModule().filters()
findings = FILTERS["findings"]
findings_summary = FILTERS["findings_summary"]


def load(name):
    return json.loads((FACTS_DIR / (name + ".json")).read_text())


def test_filter_names():
    assert sorted(FILTERS) == ["findings", "findings_summary"]


def test_findings_default_phase_is_preflight():
    found = findings(load("server2025_dc_blocked"))
    assert [f["id"] for f in found] == ["domain_controller", "unsupported_server_role", "domain_joined"]
    assert {f["phase"] for f in found} == {"preflight"}


def test_findings_phase_and_options_as_keywords():
    found = findings(load("verify_win10_dirty"), phase="verify", build_accounts=["packer"])
    assert "build_profile_leftover" in [f["id"] for f in found]
    found = findings(load("verify_win10_dirty"), phase="verify")
    assert "build_profile_leftover" not in [f["id"] for f in found]


def test_findings_override_option():
    facts = load("server2008_hyperv_blocked")
    by_id = {f["id"]: f for f in findings(facts, allow_hyperv_vms=True)}
    assert by_id["hyperv_vms_present"]["severity"] == "warning"
    assert by_id["checkpoints_present"]["severity"] == "blocker"


def test_findings_summary():
    summary = findings_summary(findings(load("win10_22h2_blocked")))
    assert summary["ready"] is False
    assert summary["blocking_ids"] == ["appx_user_not_provisioned", "bitlocker_on", "pending_reboot"]
    assert (summary["blockers"], summary["warnings"], summary["unknown_blockers"]) == (3, 4, 0)


@pytest.mark.parametrize("facts, kwargs, words", [
    ("not facts", {}, "winimage.generalize.findings: facts must be the mapping returned by"),
    (None, {}, "got NoneType"),
    ({"schema_version": "9.0"}, {}, "schema_version '9.0' is not supported"),
    ({"os": {}}, {}, "no schema_version"),
    ("FIXTURE", {"phase": "sysprep"}, "Panther log parser"),
    ("FIXTURE", {"phase": "postflight"}, "phase must be one of preflight, verify"),
    ("FIXTURE", {"min_free_gb": 10}, "unknown option min_free_gb: valid options are allow_hyperv_vms, "
                                     "allow_skip_rearm, allowed_profiles, build_accounts, low_rearm_count, "
                                     "min_free_bytes"),
    ("FIXTURE", {"allow_hyperv_vms": "perhaps"}, "allow_hyperv_vms must be true or false"),
])
def test_findings_bad_input_is_a_filter_error(facts, kwargs, words):
    if facts == "FIXTURE":
        facts = load("win7_sp1_clean")
    with pytest.raises(AnsibleFilterError) as raised:
        findings(facts, **kwargs)
    assert words in str(raised.value)
    assert raised.value.__cause__ is None  # no chained traceback in the user's output


@pytest.mark.parametrize("value", ["text", [{"id": "x"}], {"severity": "blocker"}, 5])
def test_findings_summary_bad_input_is_a_filter_error(value):
    with pytest.raises(AnsibleFilterError,
                       match="winimage.generalize.findings_summary: .*pass the list returned by"):
        findings_summary(value)


# --------------------------------------------------------------------------- docs sidecars

def sidecar(name):
    return yaml.safe_load((COLLECTION_ROOT / "plugins" / "filter" / (name + ".yml")).read_text())


def test_findings_sidecar_documents_exactly_the_options_and_their_defaults():
    options = sidecar("findings")["DOCUMENTATION"]["options"]
    assert set(options) == {"_input", "phase"} | set(rules.OPTIONS)
    assert options["phase"]["choices"] == list(rules.PHASES) and options["phase"]["default"] == "preflight"
    for name, spec in rules.OPTIONS.items():
        assert options[name].get("default") == spec["default"], name
    assert options["allow_hyperv_vms"]["type"] == "bool"
    assert options["low_rearm_count"]["type"] == "int"


def test_summary_sidecar_documents_every_key():
    returned = sidecar("findings_summary")["RETURN"]["_value"]["contains"]
    assert set(returned) == set(rules.summarize([]))


def test_sidecars_have_the_ansible_doc_keys():
    for name in ("findings", "findings_summary"):
        document = sidecar(name)
        assert set(document) == {"DOCUMENTATION", "EXAMPLES", "RETURN"}
        assert document["DOCUMENTATION"]["name"] == name
        yaml.safe_load(document["EXAMPLES"])  # the examples are valid YAML


# --------------------------------------------------------------------------- through Ansible

def test_filters_in_a_real_playbook(tmp_path, collections_path):
    """The filters load by FQCN and report bad input as a normal task failure, not a traceback."""
    playbook = tmp_path / "play.yml"
    playbook.write_text(textwrap.dedent("""\
        - hosts: localhost
          gather_facts: false
          vars:
            facts: "{{ lookup('ansible.builtin.file', fixture) | from_json }}"
          tasks:
            - name: Evaluate and summarize
              ansible.builtin.set_fact:
                found: "{{ facts | winimage.generalize.findings(phase='preflight', min_free_bytes='20 GiB') }}"
            - ansible.builtin.set_fact:
                summary: "{{ found | winimage.generalize.findings_summary }}"
            - ansible.builtin.assert:
                that:
                  - found | map(attribute='id') | list == ['domain_controller', 'unsupported_server_role', 'domain_joined']
                  - not summary.ready
                  - summary.blocking_ids == ['domain_controller', 'unsupported_server_role']
            - name: Bad input fails the task with the filter's message
              ansible.builtin.debug:
                msg: "{{ facts | winimage.generalize.findings(phase='sysprep') }}"
              register: bad
              ignore_errors: true
            - ansible.builtin.assert:
                that:
                  - bad is failed
                  - "'Panther log parser' in bad.msg"
        """))
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collections_path,
               ANSIBLE_NOCOLOR="1", ANSIBLE_LOCALHOST_WARNING="0", ANSIBLE_INVENTORY_UNPARSED_WARNING="0")
    bin_dir = pathlib.Path(sys.executable).parent
    result = subprocess.run(
        [str(bin_dir / "ansible-playbook"), str(playbook), "-e",
         "fixture=%s" % (FACTS_DIR / "server2025_dc_blocked.json")],
        capture_output=True, text=True, env=env, timeout=300, check=False)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "Traceback" not in result.stdout + result.stderr
