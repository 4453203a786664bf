# Copyright: (c) 2026, winimage.generalize contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import base64
import hashlib
import html.parser
import json
import pathlib
import re

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.winimage.generalize.plugins.module_utils import report
from ansible_collections.winimage.generalize.plugins.module_utils.facts_schema import empty_facts
from ansible_collections.winimage.generalize.plugins.module_utils.finding_catalog import make_finding

COLLECTION_ROOT = pathlib.Path(__file__).resolve().parents[4]
PUBLISHED_SCHEMA = COLLECTION_ROOT / "schemas" / "report.schema.json"
NOW = "2026-01-10T10:05:00Z"
SECRET = "Pa55w0rd-never-in-a-report"


def facts_for(name, build=20348, joined=False, gathered_at="2026-01-10T10:00:00Z"):
    facts = empty_facts("online", "winimage.generalize.readiness_facts", name, gathered_at)
    facts["os"].update(product_name="Windows Server 2022 Datacenter", build=build, ubr=2700,
                       computer_name=name.upper(), display_version="21H2")
    facts["domain"].update(joined=joined, dns_domain="corp.example.com" if joined else None,
                           workgroup=None if joined else "WORKGROUP")
    return facts


def fleet():
    return {
        "ref-blocked": {"facts": facts_for("ref-blocked", joined=True), "findings": [
            make_finding("domain_joined", "preflight", "Member of corp.example.com."),
            make_finding("pending_reboot", "preflight", "3 file renames wait for a restart."),
        ]},
        "ref-unknown": {"facts": facts_for("ref-unknown"), "findings": [
            make_finding("bitlocker_on", "preflight", "BitLocker state unreadable.", status="unknown"),
        ]},
        "ref-warn": {"facts": facts_for("ref-warn"), "findings": [
            make_finding("low_disk_space", "preflight", "Only 4 GB free on C:."),
        ]},
        "ref-clean": {"facts": facts_for("ref-clean"), "findings": []},
        "ref-gone": {"error": "the host could not be reached: timed out"},
    }


def host(rep, name):
    return next(h for h in rep["hosts"] if h["name"] == name)


def test_report_validates_against_its_schema_and_the_published_file():
    rep = report.build_report(fleet(), NOW)
    jsonschema.validate(rep, report.json_schema())
    published = json.loads(PUBLISHED_SCHEMA.read_text(encoding="utf-8"))
    assert published == report.json_schema(), (
        "schemas/report.schema.json is stale: regenerate it with "
        "python -c 'from ansible_collections.winimage.generalize.plugins.module_utils import report; "
        "import json; print(json.dumps(report.json_schema(), indent=2, sort_keys=True))' > schemas/report.schema.json")
    jsonschema.Draft202012Validator.check_schema(published)
    jsonschema.validate(rep, published)


def test_host_states_follow_the_worst_finding():
    rep = report.build_report(fleet(), NOW)
    states = {h["name"]: h["state"] for h in rep["hosts"]}
    assert states == {"ref-blocked": "blocked", "ref-unknown": "unknown", "ref-warn": "ready",
                      "ref-clean": "ready", "ref-gone": "no_facts"}
    # The rules engine's "ready" is "no blocker fired"; the state adds unchecked blockers.
    assert [h["name"] for h in rep["hosts"] if h["summary"]["ready"]] == ["ref-clean", "ref-unknown", "ref-warn"]
    assert rep["summary"]["all_pass"] is False
    assert rep["summary"]["hosts_by_state"]["blocked"] == ["ref-blocked"]


def test_unknown_blocker_is_never_a_pass():
    findings = [make_finding("bitlocker_on", "preflight", "unreadable", status="unknown")]
    summary = report.host_summary(findings)
    assert summary["unknown_blockers"] == 1
    assert report.host_state(summary) == "unknown"
    assert report.gate(findings, None) != []


def test_host_without_facts_is_never_ready():
    summary = report.host_summary([], error="unreachable")
    assert summary["ready"] is False
    assert report.host_state(summary, "unreachable") == "no_facts"


def test_blocked_host_summary_comes_from_the_rules_engine():
    blocked = host(report.build_report(fleet(), NOW), "ref-blocked")
    assert blocked["summary"]["blocking_ids"] == ["pending_reboot"]
    assert blocked["summary"]["blockers"] == 1 and blocked["summary"]["warnings"] == 1
    assert blocked["state"] == "blocked"


@pytest.mark.parametrize("fail_on, fail_on_unknown, failing", [
    ("blocker", True, ["ref-blocked", "ref-gone", "ref-unknown"]),
    ("blocker", False, ["ref-blocked", "ref-gone"]),
    ("warning", True, ["ref-blocked", "ref-gone", "ref-unknown", "ref-warn"]),
    ("never", True, ["ref-gone"]),
])
def test_gate_fails_the_hosts_the_policy_names(fail_on, fail_on_unknown, failing):
    rep = report.build_report(fleet(), NOW, fail_on=fail_on, fail_on_unknown=fail_on_unknown)
    assert rep["summary"]["failing_hosts"] == failing
    assert sorted(h["name"] for h in rep["hosts"] if not h["passes_gate"]) == failing


def test_gate_reasons_name_the_blockers():
    blocked = host(report.build_report(fleet(), NOW), "ref-blocked")
    assert blocked["gate_reasons"] == ["A reboot is pending [pending_reboot]"]
    message = report.failure_message("ref-blocked", blocked["gate_reasons"], "blocker", "/r/report.html")
    assert "A reboot is pending" in message and "pending_reboot" in message
    assert "/r/report.html" in message
    assert "Machine is joined to a domain" not in message


def test_unknown_reason_says_it_could_not_be_checked():
    reasons = host(report.build_report(fleet(), NOW), "ref-unknown")["gate_reasons"]
    assert reasons == ["could not check: BitLocker protects or encrypts the OS volume [bitlocker_on]"]


def test_host_failed_before_the_role_is_reported_without_facts():
    rep = report.build_report({"ref-lost": {}}, NOW)
    lost = host(rep, "ref-lost")
    assert lost["state"] == "no_facts"
    assert "failed or was unreachable" in lost["error"]
    assert lost["passes_gate"] is False


def test_error_wins_over_findings():
    rep = report.build_report({"h": {"facts": facts_for("h"), "error": "facts unreadable",
                                     "findings": [make_finding("pending_reboot", "preflight", "x")]}}, NOW)
    assert host(rep, "h")["findings"] == [] and host(rep, "h")["facts"] is None


def test_fleet_findings_are_listed_worst_first_with_their_hosts():
    rep = report.build_report(fleet(), NOW)
    assert [(f["id"], f["severity"]) for f in rep["findings"]] == [
        ("pending_reboot", "blocker"), ("bitlocker_on", "blocker"),
        ("domain_joined", "warning"), ("low_disk_space", "warning")]
    bitlocker = rep["findings"][1]
    assert bitlocker["hosts_fail"] == [] and bitlocker["hosts_unknown"] == ["ref-unknown"]


def test_only_key_facts_are_copied():
    facts = facts_for("h")
    facts["autologon"].update(enabled=True, username="builder", password_stored=True)
    facts["answer_files"]["files"] = [{"path": "C:\\" + SECRET + ".xml", "contains_password": True}]
    facts["connection"]["user"] = SECRET
    rep = report.build_report({"h": {"facts": facts, "findings": []}}, NOW)
    assert set(host(rep, "h")["facts"]) == {"os", "domain", "virtualization", "gatherer", "schema_version"}
    assert SECRET not in report.to_json(rep)
    assert SECRET not in report.render_html(rep)


def test_password_like_evidence_is_masked():
    finding = make_finding("autologon_secret", "preflight", "DefaultPassword is stored.",
                           evidence={"password_stored": True, "DefaultPassword": SECRET,
                                     "password_elements": ["AdministratorPassword"],
                                     "nested": [{"secret": SECRET}]})
    rep = report.build_report({"h": {"facts": facts_for("h"), "findings": [finding]}}, NOW)
    evidence = host(rep, "h")["findings"][0]["evidence"]
    assert evidence == {"password_stored": True, "DefaultPassword": report.MASK,
                        "password_elements": ["AdministratorPassword"], "nested": [{"secret": report.MASK}]}
    assert SECRET not in report.to_json(rep) + report.render_html(rep)


@pytest.mark.parametrize("hosts, fragment", [
    ([], "hosts must be a mapping"),
    ({"h": "nope"}, "hosts['h'] must be a mapping"),
    ({"h": {"facts": {}, "finding": []}}, "unexpected keys finding"),
    ({"h": {"facts": [], "findings": []}}, "hosts['h'].facts must be"),
    ({"h": {"findings": {"id": "x"}}}, "hosts['h'].findings must be a list"),
    ({"h": {"findings": [{"id": "x"}]}}, "hosts['h'].findings[0] lacks severity, status, title, message"),
    ({"h": {"findings": [dict(make_finding("pending_reboot", "preflight", "x"), severity="fatal")]}},
     "severity must be one of blocker, warning, info, not 'fatal'"),
    ({"h": {"error": 3}}, "hosts['h'].error must be a string"),
])
def test_bad_input_names_the_host_and_the_key(hosts, fragment):
    with pytest.raises(report.ReportInputError) as err:
        report.build_report(hosts, NOW)
    assert fragment in str(err.value)


def test_bad_fail_on_is_refused():
    with pytest.raises(report.ReportInputError, match="fail_on must be one of"):
        report.build_report(fleet(), NOW, fail_on="sometimes")


def test_timestamps_do_not_count_as_content():
    first = report.build_report(fleet(), NOW)
    later_hosts = fleet()
    later_hosts["ref-clean"]["facts"]["gatherer"]["gathered_at"] = "2026-02-01T00:00:00Z"
    later = report.build_report(later_hosts, "2026-02-01T00:05:00Z")
    assert first != later
    assert report.without_timestamps(first) == report.without_timestamps(later)
    later_hosts["ref-clean"]["findings"] = [make_finding("pending_reboot", "preflight", "x")]
    changed = report.build_report(later_hosts, NOW)
    assert report.without_timestamps(first) != report.without_timestamps(changed)


def test_json_is_byte_stable():
    assert report.to_json(report.build_report(fleet(), NOW)) == report.to_json(report.build_report(fleet(), NOW))


def test_stats_give_awx_per_host_readiness_and_paths():
    stats = report.stats(report.build_report(fleet(), NOW), "/r/report.json", "/r/report.html")
    assert stats["report_html"] == "/r/report.html"
    assert stats["all_pass"] is False
    assert stats["ready_hosts"] == ["ref-clean", "ref-warn"]
    assert stats["failing_hosts"] == ["ref-blocked", "ref-gone", "ref-unknown"]
    assert stats["hosts"]["ref-blocked"] == {
        "state": "blocked", "ready": False, "passes_gate": False, "blockers": 1, "warnings": 1,
        "unknown": 0, "blocker_ids": ["pending_reboot"], "warning_ids": ["domain_joined"], "unknown_ids": []}


# ---------------------------------------------------------------------------------------
# HTML
# ---------------------------------------------------------------------------------------

class _Page(html.parser.HTMLParser):
    """Collects what a browser would see: tags, attributes, and the text of host cells."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags = []
        self.host_cells = []
        self.scripts = []
        self.styles = []
        self._capture = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.append((tag, attrs))
        if tag == "th" and attrs.get("class") == "host":
            self._capture = self.host_cells
            self.host_cells.append("")
        elif tag in ("script", "style"):
            self._capture = self.scripts if tag == "script" else self.styles
            self._capture.append("")

    def handle_endtag(self, tag):
        if tag in ("th", "script", "style"):
            self._capture = None

    def handle_data(self, data):
        if self._capture is not None:
            self._capture[-1] += data


def parse(page):
    parser = _Page()
    parser.feed(page)
    return parser


def test_html_escapes_untrusted_names_and_messages():
    hostile = '<img src=x onerror="alert(1)">'
    hosts = {"ref-<script>alert(1)</script>": {"facts": facts_for("x"), "findings": [
        make_finding("pending_reboot", "preflight", "seen " + hostile)]}}
    page = report.render_html(report.build_report(hosts, NOW))
    assert "<script>alert(1)" not in page and "<img" not in page
    parsed = parse(page)
    assert parsed.host_cells == ["ref-<script>alert(1)</script>"]
    assert len(parsed.scripts) == 1
    assert all(tag != "img" for tag, attrs in parsed.tags)


PAGE_TAGS = {tag for tag, attrs in parse(report.render_html(report.build_report(fleet(), NOW))).tags} | {"code"}


@settings(max_examples=60, deadline=None)
@given(names=st.lists(st.text(min_size=1, max_size=20), min_size=1, max_size=4, unique=True),
       message=st.text(alphabet=st.sampled_from("<>&\"'`/ =ab"), max_size=40))
def test_any_text_comes_back_as_text(names, message):
    hosts = {name: {"facts": facts_for("x"), "findings": [make_finding("pending_reboot", "preflight", message)]}
             for name in names}
    parsed = parse(report.render_html(report.build_report(hosts, NOW)))
    assert sorted(parsed.host_cells) == sorted(names)
    assert len(parsed.scripts) == 1 and len(parsed.styles) == 1
    assert {tag for tag, attrs in parsed.tags} <= PAGE_TAGS


def test_html_is_self_contained():
    page = report.render_html(report.build_report(fleet(), NOW))
    parsed = parse(page)
    loading = [(tag, attrs) for tag, attrs in parsed.tags
               if tag in ("link", "img", "iframe", "object", "embed") or (tag == "script" and "src" in attrs)]
    assert loading == []
    assert "@import" not in page and "url(" not in page
    external_links = [attrs["href"] for tag, attrs in parsed.tags if tag == "a" and attrs["href"].startswith("http")]
    references = {f["reference"] for f in report.build_report(fleet(), NOW)["findings"]}
    assert set(external_links) <= references


def test_content_security_policy_allows_exactly_the_inline_script_and_style():
    parsed = parse(report.render_html(report.build_report(fleet(), NOW)))
    policy = next(attrs["content"] for tag, attrs in parsed.tags
                  if tag == "meta" and attrs.get("http-equiv") == "Content-Security-Policy")
    assert "default-src 'none'" in policy

    def digest(text):
        return "'sha256-%s'" % base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()

    assert "script-src %s;" % digest(parsed.scripts[0]) in policy
    assert "style-src %s;" % digest(parsed.styles[0]) in policy


def test_blocked_hosts_and_blockers_come_first():
    page = report.render_html(report.build_report(fleet(), NOW))
    rows = re.findall(r'<tr data-host="([^"]+)" data-state="([^"]+)">', page)
    assert [state for name, state in rows] == ["blocked", "no_facts", "unknown", "ready", "ready"]
    assert rows[-1] == ("ref-clean", "ready")
    sections = re.findall(r'<article class="finding sev-(\w+)"', page)
    assert sections == ["blocker", "blocker", "warning", "warning"]


def test_each_finding_shows_message_and_remediation():
    page = report.render_html(report.build_report(fleet(), NOW))
    assert "3 file renames wait for a restart." in page
    assert "Reboot the machine (ansible.windows.win_reboot) and gather facts again." in page
    # Commands in backticks are shown as code.
    assert "<code>Disable-BitLocker -MountPoint C:</code>" in report.render_html(report.build_report(
        {"h": {"facts": facts_for("h"), "findings": [make_finding("bitlocker_on", "preflight", "on")]}}, NOW))


def test_filters_are_hidden_until_script_runs_and_list_every_finding():
    page = report.render_html(report.build_report(fleet(), NOW))
    assert '<form id="filters" class="filters" hidden>' in page
    assert "<noscript>" in page
    options = re.findall(r'<option value="([^"]*)">', page)
    assert options == ["", "pending_reboot", "bitlocker_on", "domain_joined", "low_disk_space"]


def test_report_without_findings_says_so():
    page = report.render_html(report.build_report({"h": {"facts": facts_for("h"), "findings": []}}, NOW))
    assert "No findings: every host passed every rule." in page


def test_failure_message_speaks_the_verify_phase():
    message = report.failure_message("win11.wim", ["1 blocker: The image is not generalized"], "blocker",
                                     phase="verify")
    assert message.startswith("win11.wim must not be deployed (verify_fail_on=blocker): ")
    assert "sysprep" not in message.split(":")[0]


# ---------------------------------------------------------------------------------------
# Pipeline outcomes (the report at the end of generalize.yml and refresh.yml)
# ---------------------------------------------------------------------------------------

def outcome(status, failed_step=None, error=None, **extra):
    """A pipeline.host_outcome() for one host, as the pipeline_summary filter returns it."""
    completed = ["preflight", "domain_unjoin", "sysprep", "capture", "verify", "publish"]
    if failed_step:
        completed = completed[:completed.index(failed_step)] if failed_step in completed else []
    value = {"name": "ignored", "kind": "vm", "flow": "generalize", "status": status,
             "planned_steps": ["preflight", "domain_unjoin", "sysprep", "capture", "verify", "publish"],
             "completed_steps": completed, "remaining_steps": [], "failed_step": failed_step, "error": error,
             "preflight": {"ready": True, "blocker_ids": [], "warning_ids": []},
             "capture": None, "verify": None, "published": None}
    if status == "published":
        value.update(capture={"dest": "/srv/capture/h.wim", "index": 1, "sha256": "ab12" * 16, "backend": "hyperv_vm"},
                     verify={"ready": True, "blocker_ids": [], "warning_ids": ["pagefile_present"]},
                     published={"id": "h-20260110-1", "path": "/store/h-20260110-1.wim",
                                "manifest_path": "/store/h-20260110-1.json"})
    value.update(extra)
    return value


def pipeline_fleet():
    hosts = fleet()
    del hosts["ref-unknown"], hosts["ref-warn"]
    hosts["ref-clean"]["pipeline"] = outcome("published")
    hosts["ref-blocked"]["pipeline"] = outcome("blocked", "preflight", "ref-blocked is not ready for sysprep")
    hosts["ref-gone"] = {"pipeline": outcome("failed", "windows_update", "the host stopped answering", reverted=False)}
    hosts["ref-sysprep"] = {"facts": facts_for("ref-sysprep"), "findings": [],
                            "pipeline": outcome("failed", "sysprep", "sysprep failed: see setuperr.log")}
    return hosts


def test_pipeline_outcome_is_kept_and_validates_against_the_schema():
    rep = report.build_report(pipeline_fleet(), NOW, phase="generalize", fail_on="never")
    assert rep["schema_version"] == "1.1"
    jsonschema.validate(rep, json.loads(PUBLISHED_SCHEMA.read_text(encoding="utf-8")))
    clean = host(rep, "ref-clean")["pipeline"]
    assert clean["status"] == "published" and clean["published"]["id"] == "h-20260110-1"
    assert clean["capture"]["backend"] == "hyperv_vm" and clean["verify"]["warning_ids"] == ["pagefile_present"]
    # Only the documented keys: the preflight summary is already the host's findings.
    assert "preflight" not in clean and "name" not in clean
    assert host(rep, "ref-sysprep")["pipeline"]["failed_step"] == "sysprep"
    assert host(rep, "ref-gone")["pipeline"]["reverted"] is False
    assert rep["summary"]["pipeline"]["hosts_by_status"] == {
        "failed": ["ref-gone", "ref-sysprep"], "blocked": ["ref-blocked"], "not_run": [], "checked": [],
        "published": ["ref-clean"]}


def test_a_report_without_pipelines_has_no_pipeline_keys():
    rep = report.build_report(fleet(), NOW)
    assert "pipeline" not in rep["summary"] and not any("pipeline" in h for h in rep["hosts"])
    assert 'id="pipeline"' not in report.render_html(rep)


def test_the_pipeline_gate_fails_the_hosts_that_did_not_complete():
    rep = report.build_report(pipeline_fleet(), NOW, phase="generalize", fail_on="never")
    assert rep["summary"]["failing_hosts"] == ["ref-blocked", "ref-gone", "ref-sysprep"]
    assert host(rep, "ref-sysprep")["gate_reasons"] == ["stopped at step sysprep: sysprep failed: see setuperr.log"]
    # A host that stopped before its preflight has no facts, and the report says why.
    gone = host(rep, "ref-gone")
    assert gone["state"] == "no_facts" and "windows_update" in gone["error"]
    message = report.failure_message("ref-sysprep", host(rep, "ref-sysprep")["gate_reasons"], "never",
                                     phase="generalize")
    assert message.startswith("ref-sysprep did not complete the pipeline: stopped at step sysprep")
    assert report.failure_message("r", ["x"], "never", phase="refresh").startswith("r did not complete the refresh")


def test_a_checked_host_without_facts_passes_the_pipeline_gate():
    rep = report.build_report({"ref-vm": {"pipeline": outcome("checked", planned_steps=["hypervisor_inspect"],
                                                              completed_steps=["hypervisor_inspect"])}},
                              NOW, phase="refresh", fail_on="never")
    entry = host(rep, "ref-vm")
    assert entry["passes_gate"] is True and entry["state"] == "no_facts"
    assert "did not plan a preflight" in entry["error"]


def test_findings_still_count_in_the_pipeline_gate_when_asked():
    hosts = pipeline_fleet()
    hosts["ref-clean"]["findings"] = [make_finding("low_disk_space", "preflight", "Only 4 GB free on C:.")]
    rep = report.build_report(hosts, NOW, phase="generalize", fail_on="warning")
    assert host(rep, "ref-clean")["gate_reasons"] == ["Little free space on the system volume [low_disk_space]"]


def test_secrets_in_the_pipeline_outcome_are_masked():
    hosts = {"h": {"facts": facts_for("h"), "pipeline": outcome(
        "published", capture={"dest": "/c/h.wim", "index": "2", "sha256": "00", "backend": "wimlib",
                              "share_password": SECRET})}}
    rep = report.build_report(hosts, NOW, phase="generalize")
    assert SECRET not in report.to_json(rep) and SECRET not in report.render_html(rep)
    assert host(rep, "h")["pipeline"]["capture"]["index"] == 2
    # Error text is kept as is, but password-like keys never pass.
    hosts["h"]["pipeline"]["published"] = {"id": "x", "path": "p", "manifest_path": "m", "token": SECRET}
    assert SECRET not in report.to_json(report.build_report(hosts, NOW, phase="generalize"))


@pytest.mark.parametrize("pipeline, fragment", [
    ("published", "pipeline must be the host's pipeline outcome mapping"),
    ({"status": "done"}, "pipeline.status must be one of failed, blocked"),
    ({"status": "failed", "completed_steps": "capture"}, "completed_steps must be a list"),
    ({"status": "failed", "capture": ["x"]}, "capture must be a mapping or null"),
])
def test_bad_pipeline_input_names_the_host_and_the_key(pipeline, fragment):
    with pytest.raises(report.ReportInputError, match=re.escape(fragment)) as raised:
        report.build_report({"ref-1": {"pipeline": pipeline}}, NOW)
    assert "hosts['ref-1']" in str(raised.value)


def test_stats_carry_the_pipeline_of_each_host():
    stats = report.stats(report.build_report(pipeline_fleet(), NOW, phase="generalize", fail_on="never"))
    assert stats["hosts"]["ref-sysprep"]["pipeline"]["failed_step"] == "sysprep"
    assert stats["hosts"]["ref-clean"]["pipeline"]["published"]["id"] == "h-20260110-1"
    assert stats["pipeline"]["counts"]["failed"] == 2


def test_html_shows_the_pipeline_first_and_worst_first():
    rep = report.build_report(pipeline_fleet(), NOW, phase="generalize", fail_on="never")
    page = report.render_html(rep)
    parse(page)  # well formed enough for the parser
    section = page[page.index('<section id="pipeline">'):page.index('<section id="matrix">')]
    rows = re.findall(r'<tr data-host="([^"]+)" data-status="([^"]+)">', section)
    assert rows == [("ref-gone", "failed"), ("ref-sysprep", "failed"), ("ref-blocked", "blocked"),
                    ("ref-clean", "published")]
    assert ("ab12" * 16)[:12] in section and "h-20260110-1" in section and "hyperv_vm" in section
    assert "NOT reverted" in section and "sysprep failed: see setuperr.log" in section
    assert "hosts fail when their pipeline did not complete" in page
    matrix = re.findall(r'<tr data-host="([^"]+)" data-state="([^"]+)">', page)
    assert [name for name, state in matrix] == ["ref-gone", "ref-sysprep", "ref-blocked", "ref-clean"]
