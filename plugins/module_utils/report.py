# Copyright: (c) 2026, winimage.generalize contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The fleet readiness report: one JSON document and one self-contained HTML page.

Input is what the preflight role knows about each host of a play: the readiness facts,
the findings the rules engine produced from them, or the reason there are no facts.
Output is a versioned JSON document (``REPORT_SCHEMA`` / ``schemas/report.schema.json``)
and an HTML page rendered from that document alone, so the page never shows anything the
JSON does not hold.

The report copies only a handful of key facts per host (never the whole facts document)
and masks any string stored under a password-like key in finding evidence: a report is
mailed around and attached to tickets, so it must never carry a secret.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import html
import json
import re

from ansible_collections.winimage.generalize.plugins.module_utils import rules

REPORT_SCHEMA_VERSION = "1.0"
REPORT_KIND = "winimage.generalize.fleet_report"

SEVERITY_ORDER = ("blocker", "warning", "info")
FAIL_ON_CHOICES = ("blocker", "warning", "never")

# Host states, worst first: the order the HTML lists hosts in.
STATE_ORDER = ("blocked", "no_facts", "unknown", "ready")
STATE_LABELS = {
    "blocked": "Blocked",
    "no_facts": "No facts",
    "unknown": "Unverified",
    "ready": "Ready",
}
STATE_MEANINGS = {
    "blocked": "at least one blocker fired",
    "no_facts": "facts could not be gathered, loaded or evaluated",
    "unknown": "no blocker fired, but facts a blocker rule needs could not be read",
    "ready": "no blocker, and every blocker rule could be checked",
}

# Key facts copied into the report: (section, field). Nothing else of the facts is kept.
KEY_FACTS = (
    ("os", "computer_name"),
    ("os", "product_name"),
    ("os", "edition_id"),
    ("os", "build"),
    ("os", "ubr"),
    ("os", "display_version"),
    ("os", "architecture"),
    ("domain", "joined"),
    ("domain", "dns_domain"),
    ("domain", "workgroup"),
    ("domain", "role"),
    ("virtualization", "is_virtual"),
    ("virtualization", "hypervisor_vendor"),
)
GATHERER_FIELDS = ("kind", "name", "source", "gathered_at")

# Evidence keys whose string values are masked, whatever a rule put there.
_SECRET_KEY = re.compile(r"(password|passwd|pwd|secret|credential|token)$", re.IGNORECASE)
MASK = "********"


class ReportInputError(ValueError):
    """The per-host input cannot be turned into a report; the message says what to fix."""


# ---------------------------------------------------------------------------------------
# Input validation
# ---------------------------------------------------------------------------------------

_REQUIRED_FINDING_KEYS = ("id", "severity", "status", "title", "message")


def validate_hosts(hosts):
    """Raise ReportInputError naming the first host and key that is not usable."""
    if not isinstance(hosts, dict):
        raise ReportInputError(
            "hosts must be a mapping of host name -> {facts, findings, error}, got %s"
            % type(hosts).__name__)
    for name, entry in hosts.items():
        where = "hosts[%r]" % (name,)
        if entry is None:
            continue
        if not isinstance(entry, dict):
            raise ReportInputError("%s must be a mapping with facts, findings and error, got %s"
                                   % (where, type(entry).__name__))
        unknown = sorted(set(entry) - {"facts", "findings", "error"})
        if unknown:
            raise ReportInputError("%s has unexpected keys %s: only facts, findings and error are "
                                   "accepted" % (where, ", ".join(unknown)))
        facts = entry.get("facts")
        if facts is not None and not isinstance(facts, dict):
            raise ReportInputError("%s.facts must be the readiness facts mapping, got %s"
                                   % (where, type(facts).__name__))
        error = entry.get("error")
        if error is not None and not isinstance(error, str):
            raise ReportInputError("%s.error must be a string, got %s" % (where, type(error).__name__))
        findings = entry.get("findings")
        if findings is None:
            continue
        if not isinstance(findings, list):
            raise ReportInputError("%s.findings must be a list of findings, got %s"
                                   % (where, type(findings).__name__))
        for index, finding in enumerate(findings):
            _validate_finding("%s.findings[%d]" % (where, index), finding)


def _validate_finding(where, finding):
    if not isinstance(finding, dict):
        raise ReportInputError("%s must be a finding mapping, got %s" % (where, type(finding).__name__))
    missing = [key for key in _REQUIRED_FINDING_KEYS if key not in finding]
    if missing:
        raise ReportInputError("%s lacks %s: pass findings produced by the "
                               "winimage.generalize.findings filter" % (where, ", ".join(missing)))
    if finding["severity"] not in SEVERITY_ORDER:
        raise ReportInputError("%s.severity must be one of %s, not %r"
                               % (where, ", ".join(SEVERITY_ORDER), finding["severity"]))
    if finding["status"] not in ("fail", "unknown"):
        raise ReportInputError("%s.status must be fail or unknown, not %r" % (where, finding["status"]))


# ---------------------------------------------------------------------------------------
# Per-host content
# ---------------------------------------------------------------------------------------

def key_facts(facts):
    """The few facts a reader needs to recognise a host; None when there are no facts."""
    if not facts:
        return None
    selected = {}
    for section, field in KEY_FACTS:
        selected.setdefault(section, {})[field] = (facts.get(section) or {}).get(field)
    gatherer = facts.get("gatherer") or {}
    selected["gatherer"] = {field: gatherer.get(field) for field in GATHERER_FIELDS}
    selected["schema_version"] = facts.get("schema_version")
    return selected


def mask_secrets(value):
    """A copy of value where strings under password-like keys are replaced by a mask."""
    if isinstance(value, dict):
        return {
            key: (MASK if isinstance(item, str) and _SECRET_KEY.search(str(key)) else mask_secrets(item))
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [mask_secrets(item) for item in value]
    return value


def _finding_sort_key(finding):
    return (SEVERITY_ORDER.index(finding["severity"]), finding["status"] != "fail", finding["id"])


def clean_findings(findings):
    """Findings sorted worst first, with evidence and extra keys masked."""
    return [mask_secrets(f) for f in sorted(findings or [], key=_finding_sort_key)]


def host_summary(findings, error=None):
    """The rules engine's summary of one host (counts, ``ready``, ``unknown_blockers``).

    A host without facts is never ready, whatever its (empty) findings say.
    """
    summary = rules.summarize(findings)
    if error is not None:
        summary["ready"] = False
    return summary


def host_state(summary, error=None):
    """One word for the host: blocked, no_facts, unknown (a blocker could not be checked) or ready."""
    if error is not None:
        return "no_facts"
    if not summary["ready"]:
        return "blocked"
    if summary["unknown_blockers"]:
        return "unknown"
    return "ready"


def finding_ids(findings, severity=None, status="fail"):
    """Sorted distinct ids of the findings with this status (and severity, when given)."""
    return sorted({f["id"] for f in findings
                   if f["status"] == status and severity in (None, f["severity"])})


def gate(findings, error, fail_on="blocker", fail_on_unknown=True):
    """Why this host fails the preflight gate: a list of reasons, empty when it passes.

    A host without facts always fails: nothing is known about it, whatever ``fail_on``.
    ``fail_on`` picks the lowest severity that fails a host (``never``: findings never do);
    with ``fail_on_unknown`` a rule of that severity that could not be checked fails it too.
    """
    if fail_on not in FAIL_ON_CHOICES:
        raise ReportInputError("fail_on must be one of %s, not %r" % (", ".join(FAIL_ON_CHOICES), fail_on))
    if error is not None:
        return ["no readiness facts: %s" % error]
    if fail_on == "never":
        return []
    failing = SEVERITY_ORDER[:SEVERITY_ORDER.index(fail_on) + 1]
    reasons = []
    for finding in sorted(findings, key=_finding_sort_key):
        if finding["severity"] not in failing:
            continue
        if finding["status"] == "fail":
            reasons.append("%s [%s]" % (finding["title"], finding["id"]))
        elif fail_on_unknown:
            reasons.append("could not check: %s [%s]" % (finding["title"], finding["id"]))
    return reasons


# What a host that fails the gate is not, in each phase's words.
_GATE_VERDICT = {
    "preflight": "is not ready for sysprep (preflight_fail_on=%s)",
    "verify": "must not be deployed (verify_fail_on=%s)",
}


def failure_message(name, reasons, fail_on, report_path=None, phase="preflight"):
    """The one message a failed host shows in the play output."""
    where = " Fleet report: %s" % report_path if report_path else ""
    return "%s %s: %s.%s" % (
        name, _GATE_VERDICT[phase] % fail_on, "; ".join(reason.rstrip(".") for reason in reasons), where)


# ---------------------------------------------------------------------------------------
# The report document
# ---------------------------------------------------------------------------------------

def _host_entry(name, entry, fail_on, fail_on_unknown):
    entry = entry or {}
    facts = entry.get("facts") or None
    error = entry.get("error") or None
    if facts is None and error is None:
        error = "the host failed or was unreachable before its facts were evaluated; see the play output"
    findings = clean_findings(entry.get("findings") if error is None else [])
    reasons = gate(findings, error, fail_on, fail_on_unknown)
    summary = host_summary(findings, error)
    return {
        "name": name,
        "state": host_state(summary, error),
        "summary": summary,
        "passes_gate": not reasons,
        "gate_reasons": reasons,
        "error": error,
        "facts": key_facts(facts) if error is None else None,
        "findings": findings,
    }


def _fleet_findings(hosts):
    """One entry per finding id: what it is and which hosts have it, worst first."""
    index = {}
    for host in hosts:
        for finding in host["findings"]:
            item = index.setdefault(finding["id"], {
                "id": finding["id"],
                "severity": finding["severity"],
                "title": finding["title"],
                "remediation": finding.get("remediation"),
                "reference": finding.get("reference"),
                "hosts_fail": [],
                "hosts_unknown": [],
            })
            # The same id keeps the worst severity seen, so it is never under-reported.
            if SEVERITY_ORDER.index(finding["severity"]) < SEVERITY_ORDER.index(item["severity"]):
                item["severity"] = finding["severity"]
            bucket = item["hosts_fail"] if finding["status"] == "fail" else item["hosts_unknown"]
            if host["name"] not in bucket:
                bucket.append(host["name"])
    return sorted(index.values(), key=lambda item: (
        SEVERITY_ORDER.index(item["severity"]), -len(item["hosts_fail"]),
        -len(item["hosts_unknown"]), item["id"]))


def _fleet_summary(hosts):
    states = {state: sorted(h["name"] for h in hosts if h["state"] == state)
              for state in STATE_ORDER}
    return {
        "hosts": len(hosts),
        "states": {state: len(names) for state, names in states.items()},
        "hosts_by_state": states,
        "failing_hosts": sorted(h["name"] for h in hosts if not h["passes_gate"]),
        "all_pass": bool(hosts) and all(h["passes_gate"] for h in hosts),
    }


def build_report(hosts, generated_at, title="Windows image readiness", phase="preflight",
                 fail_on="blocker", fail_on_unknown=True):
    """The fleet report document from host name -> {facts, findings, error}."""
    validate_hosts(hosts)
    entries = [_host_entry(str(name), hosts[name], fail_on, fail_on_unknown)
               for name in sorted(hosts, key=str)]
    return {
        "schema_version": REPORT_SCHEMA_VERSION,
        "kind": REPORT_KIND,
        "title": title,
        "phase": phase,
        "generated_at": generated_at,
        "gate": {"fail_on": fail_on, "fail_on_unknown": bool(fail_on_unknown)},
        "summary": _fleet_summary(entries),
        "findings": _fleet_findings(entries),
        "hosts": entries,
    }


def without_timestamps(report):
    """The report minus the times that change on every run: what 'changed' compares."""
    stripped = copy.deepcopy(report)
    stripped.pop("generated_at", None)
    for host in stripped.get("hosts") or []:
        gatherer = (host.get("facts") or {}).get("gatherer") or {}
        gatherer.pop("gathered_at", None)
    return stripped


def to_json(report):
    """Stable serialisation: same report, same bytes."""
    return json.dumps(report, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def stats(report, report_json=None, report_html=None):
    """The set_stats artifacts an AWX workflow branches on."""
    summary = report["summary"]
    return {
        "report_json": report_json,
        "report_html": report_html,
        "generated_at": report["generated_at"],
        "all_pass": summary["all_pass"],
        "ready_hosts": summary["hosts_by_state"]["ready"],
        "failing_hosts": summary["failing_hosts"],
        "hosts": {
            host["name"]: {
                "state": host["state"],
                "ready": host["summary"]["ready"],
                "passes_gate": host["passes_gate"],
                "blockers": host["summary"]["blockers"],
                "warnings": host["summary"]["warnings"],
                "unknown": host["summary"]["unknown"],
                "blocker_ids": finding_ids(host["findings"], "blocker"),
                "warning_ids": finding_ids(host["findings"], "warning"),
                "unknown_ids": finding_ids(host["findings"], status="unknown"),
            }
            for host in report["hosts"]
        },
    }


# ---------------------------------------------------------------------------------------
# JSON Schema of the report (published as schemas/report.schema.json)
# ---------------------------------------------------------------------------------------

def _nullable(json_type, description):
    return {"type": [json_type, "null"], "description": description}


_ID_LIST = {"type": "array", "items": {"type": "string"}}
_FINDING = {
    "type": "object",
    "description": "A finding in the shared shape (see docs/findings.md); extra rule-specific keys allowed.",
    "properties": {
        "id": {"type": "string"},
        "severity": {"enum": list(SEVERITY_ORDER)},
        "status": {"enum": ["fail", "unknown"]},
        "phase": {"type": "string"},
        "title": {"type": "string"},
        "message": {"type": "string"},
        "remediation": {"type": ["string", "null"]},
        "reference": {"type": ["string", "null"]},
        "evidence": {"type": ["object", "null"]},
    },
    "required": ["id", "severity", "status", "title", "message"],
    "additionalProperties": True,
}
_COUNT = {"type": "integer", "minimum": 0}
_HOST_SUMMARY = {
    "type": "object",
    "description": "The rules engine's summary (winimage.generalize.findings_summary); a host "
                   "without facts has ready false.",
    "properties": {
        "ready": {"type": "boolean", "description": "No blocker fired (and the host has facts)."},
        "total": _COUNT, "blockers": _COUNT, "warnings": _COUNT, "info": _COUNT, "unknown": _COUNT,
        "unknown_blockers": dict(_COUNT, description="Blockers that could not be checked."),
        "counts": {
            "type": "object",
            "description": "Findings per severity and status.",
            "properties": {
                severity: {"type": "object",
                           "properties": {"fail": _COUNT, "unknown": _COUNT},
                           "required": ["fail", "unknown"]}
                for severity in SEVERITY_ORDER},
            "required": list(SEVERITY_ORDER),
        },
        "blocking_ids": _ID_LIST,
    },
    "required": ["ready", "total", "blockers", "warnings", "info", "unknown", "unknown_blockers",
                 "counts", "blocking_ids"],
    "additionalProperties": True,
}
_KEY_SECTIONS = sorted({section for section, field in KEY_FACTS})
_KEY_FACTS = {
    "type": ["object", "null"],
    "description": "A few facts to recognise the host; null when there are no facts.",
    "properties": dict(
        {section: {"type": "object",
                   "properties": {field: {} for owner, field in KEY_FACTS if owner == section},
                   "additionalProperties": False}
         for section in _KEY_SECTIONS},
        gatherer={"type": "object",
                  "properties": {field: _nullable("string", field) for field in GATHERER_FIELDS},
                  "additionalProperties": False},
        schema_version=_nullable("string", "Facts schema version."),
    ),
    "required": _KEY_SECTIONS + ["gatherer", "schema_version"],
    "additionalProperties": False,
}
REPORT_SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": "https://github.com/winimage/generalize/schemas/report.schema.json",
    "title": "winimage.generalize fleet readiness report",
    "description": "report.json written by winimage.generalize.fleet_report. Version "
                   + REPORT_SCHEMA_VERSION + ".",
    "type": "object",
    "properties": {
        "schema_version": {"const": REPORT_SCHEMA_VERSION},
        "kind": {"const": REPORT_KIND},
        "title": {"type": "string"},
        "phase": {"type": "string"},
        "generated_at": {"type": "string", "description": "UTC, ISO 8601: when this content was first written."},
        "gate": {
            "type": "object",
            "properties": {"fail_on": {"enum": list(FAIL_ON_CHOICES)},
                           "fail_on_unknown": {"type": "boolean"}},
            "required": ["fail_on", "fail_on_unknown"],
            "additionalProperties": False,
        },
        "summary": {
            "type": "object",
            "properties": {
                "hosts": {"type": "integer", "minimum": 0},
                "states": {"type": "object",
                           "properties": {s: {"type": "integer", "minimum": 0} for s in STATE_ORDER},
                           "required": list(STATE_ORDER), "additionalProperties": False},
                "hosts_by_state": {"type": "object",
                                   "properties": {s: _ID_LIST for s in STATE_ORDER},
                                   "required": list(STATE_ORDER), "additionalProperties": False},
                "failing_hosts": _ID_LIST,
                "all_pass": {"type": "boolean", "description": "Every host passes the gate."},
            },
            "required": ["hosts", "states", "hosts_by_state", "failing_hosts", "all_pass"],
            "additionalProperties": False,
        },
        "findings": {
            "type": "array",
            "description": "One entry per finding id seen in the fleet, worst first.",
            "items": {
                "type": "object",
                "properties": {
                    "id": {"type": "string"},
                    "severity": {"enum": list(SEVERITY_ORDER)},
                    "title": {"type": "string"},
                    "remediation": {"type": ["string", "null"]},
                    "reference": {"type": ["string", "null"]},
                    "hosts_fail": _ID_LIST,
                    "hosts_unknown": _ID_LIST,
                },
                "required": ["id", "severity", "title", "remediation", "reference",
                             "hosts_fail", "hosts_unknown"],
                "additionalProperties": False,
            },
        },
        "hosts": {
            "type": "array",
            "description": "Every host of the play, sorted by name.",
            "items": {
                "type": "object",
                "properties": {
                    "name": {"type": "string"},
                    "state": {"enum": list(STATE_ORDER),
                              "description": "; ".join("%s: %s" % item for item in STATE_MEANINGS.items())},
                    "summary": _HOST_SUMMARY,
                    "passes_gate": {"type": "boolean"},
                    "gate_reasons": {"type": "array", "items": {"type": "string"}},
                    "error": _nullable("string", "Why there are no facts for this host."),
                    "facts": _KEY_FACTS,
                    "findings": {"type": "array", "items": _FINDING},
                },
                "required": ["name", "state", "summary", "passes_gate", "gate_reasons", "error", "facts",
                             "findings"],
                "additionalProperties": False,
            },
        },
    },
    "required": ["schema_version", "kind", "title", "phase", "generated_at", "gate", "summary",
                 "findings", "hosts"],
    "additionalProperties": False,
}


def json_schema():
    """A deep copy of the report JSON Schema."""
    return copy.deepcopy(REPORT_SCHEMA)


# ---------------------------------------------------------------------------------------
# HTML rendering
# ---------------------------------------------------------------------------------------

def _e(value):
    """Escape any value for HTML text and attribute values."""
    return html.escape("" if value is None else str(value), quote=True)


def _prose(text):
    """Escaped text where `backticked` commands are shown as code."""
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", _e(text))


def _reference_html(reference):
    """A link for http(s) references, plain text otherwise (seed names, other schemes)."""
    if not reference:
        return ""
    if re.match(r"^https?://", reference, re.IGNORECASE):
        return '<a href="%s" rel="noopener noreferrer">%s</a>' % (_e(reference), _e(reference))
    return _e(reference)


def _badge(severity, status="fail", text=None):
    label = text or severity
    css = "badge sev-%s%s" % (severity, " st-unknown" if status == "unknown" else "")
    return '<span class="%s">%s</span>' % (css, _e(label))


def _state_badge(state):
    return '<span class="state state-%s">%s</span>' % (state, _e(STATE_LABELS[state]))


def _os_text(facts):
    if not facts:
        return ""
    os_facts = facts["os"]
    build = os_facts.get("build")
    if build is not None and os_facts.get("ubr") is not None:
        build = "%s.%s" % (build, os_facts["ubr"])
    parts = [os_facts.get("product_name"), os_facts.get("display_version"),
             "build %s" % build if build is not None else None]
    return " · ".join(str(p) for p in parts if p)


def _domain_text(facts):
    if not facts:
        return ""
    domain = facts["domain"]
    if domain.get("joined"):
        return "domain %s" % (domain.get("dns_domain") or "(name unknown)")
    if domain.get("joined") is False:
        return "workgroup %s" % (domain.get("workgroup") or "")
    return "unknown"


def _host_order(host):
    return (STATE_ORDER.index(host["state"]), -host["summary"]["blockers"],
            -host["summary"]["warnings"], host["name"])


def _tiles(report):
    states = report["summary"]["states"]
    tiles = []
    for state in STATE_ORDER:
        count = states[state]
        muted = " muted" if count == 0 else ""
        tiles.append('<div class="tile state-%s%s"><span class="n">%d</span> %s'
                     '<small>%s</small></div>'
                     % (state, muted, count, _e(STATE_LABELS[state]), _e(STATE_MEANINGS[state])))
    return '<div class="tiles">%s</div>' % "".join(tiles)


def _filters(report):
    options = "".join('<option value="%s">%s (%s)</option>' % (_e(f["id"]), _e(f["id"]), _e(f["severity"]))
                      for f in report["findings"])
    checks = "".join('<label><input type="checkbox" name="severity" value="%s" checked> %s</label>'
                     % (s, _badge(s)) for s in SEVERITY_ORDER)
    return (
        '<form id="filters" class="filters" hidden>'
        '<fieldset><legend>Severity</legend>%s</fieldset>'
        '<label>Host <input type="search" id="host-filter" name="host" placeholder="name contains"></label>'
        '<label>Finding <select id="finding-filter" name="finding"><option value="">all findings</option>'
        '%s</select></label>'
        '<button type="reset" id="filter-reset">Show all</button>'
        '<output id="filter-count"></output>'
        '</form>'
        '<noscript><p class="note">Filters need JavaScript; every host and finding is shown below.</p></noscript>'
    ) % (checks, options)


def _matrix(report, hosts, anchors):
    findings = report["findings"]
    head = "".join(
        '<th class="col sev-%s" data-finding="%s" data-severity="%s" scope="col">'
        '<a href="#%s" title="%s"><span>%s</span></a></th>'
        % (f["severity"], _e(f["id"]), f["severity"], anchors[f["id"]], _e(f["title"]), _e(f["id"]))
        for f in findings)
    rows = []
    for host in hosts:
        by_id = {f["id"]: f for f in host["findings"]}
        cells = []
        for f in findings:
            finding = by_id.get(f["id"])
            if finding is None:
                cells.append('<td class="cell" data-finding="%s" data-severity="%s"></td>'
                             % (_e(f["id"]), f["severity"]))
                continue
            mark = "?" if finding["status"] == "unknown" else finding["severity"][0].upper()
            cells.append('<td class="cell hit" data-finding="%s" data-severity="%s" title="%s">'
                         '%s</td>' % (_e(f["id"]), f["severity"],
                                      _e("%s: %s" % (finding["status"], finding["message"])),
                                      _badge(finding["severity"], finding["status"], mark)))
        if host["error"]:
            machine = '<a href="#no-facts" title="%s">no facts: see why below</a>' % _e(host["error"])
        else:
            machine = '%s<span class="dom">%s</span>' % (
                _e(_os_text(host["facts"])), _e(_domain_text(host["facts"])))
        rows.append(
            '<tr data-host="%s" data-state="%s"><th scope="row" class="host">%s</th><td>%s</td>'
            '<td class="machine">%s</td>%s</tr>'
            % (_e(host["name"].lower()), host["state"], _e(host["name"]),
               _state_badge(host["state"]), machine, "".join(cells)))
    return (
        '<section id="matrix"><h2>Hosts &times; findings</h2>'
        '<p class="legend">%s blocker %s warning %s info %s could not be checked (facts missing). '
        'Hosts are listed worst first; columns are finding ids, blockers first.</p>'
        '<div class="scroll"><table class="matrix"><thead><tr><th scope="col">Host</th>'
        '<th scope="col">Verdict</th><th scope="col">Windows</th>%s</tr>'
        '</thead><tbody>%s</tbody></table></div></section>'
    ) % (_badge("blocker", text="B"), _badge("warning", text="W"), _badge("info", text="I"),
         _badge("blocker", "unknown", "?"), head, "".join(rows))


def _finding_sections(report, hosts, anchors):
    by_host = {h["name"]: h for h in hosts}
    sections = []
    for item in report["findings"]:
        rows = []
        for name in item["hosts_fail"] + item["hosts_unknown"]:
            finding = next(f for f in by_host[name]["findings"] if f["id"] == item["id"])
            status = "fired" if finding["status"] == "fail" else "could not check"
            rows.append('<tr data-host="%s"><th scope="row">%s</th><td>%s</td><td>%s</td></tr>'
                        % (_e(name.lower()), _e(name), _e(status), _prose(finding["message"])))
        affected = len(item["hosts_fail"]) + len(item["hosts_unknown"])
        sections.append(
            '<article class="finding sev-%s" id="%s" data-finding="%s" data-severity="%s">'
            '<h3>%s %s <code>%s</code> <span class="count">%d host%s</span></h3>'
            '<p class="fix"><strong>What to do:</strong> %s</p>'
            '<p class="ref">Reference: %s</p>'
            '<table class="hits"><thead><tr><th scope="col">Host</th><th scope="col">Status</th>'
            '<th scope="col">What was seen</th></tr></thead><tbody>%s</tbody></table></article>'
            % (item["severity"], anchors[item["id"]], _e(item["id"]), item["severity"],
               _badge(item["severity"]), _e(item["title"]), _e(item["id"]), affected,
               "" if affected == 1 else "s", _prose(item["remediation"]),
               _reference_html(item["reference"]), "".join(rows)))
    if not sections:
        sections.append('<p class="note">No findings: every host passed every rule.</p>')
    return '<section id="findings"><h2>Findings</h2>%s</section>' % "".join(sections)


def _no_facts_section(hosts):
    missing = [h for h in hosts if h["error"]]
    if not missing:
        return ""
    items = "".join('<li data-host="%s"><strong>%s</strong>: %s</li>'
                    % (_e(h["name"].lower()), _e(h["name"]), _e(h["error"])) for h in missing)
    return ('<section id="no-facts"><h2>Hosts without facts</h2>'
            '<p>Nothing is known about these hosts, so they fail the gate.</p><ul>%s</ul></section>'
            % items)


_CSS = """
:root{--blocker:#b71c1c;--warning:#f2a900;--info:#1565c0;--ready:#2e7d32;--nofacts:#455a64;
--unknown:#6a1b9a;--line:#d0d4d9;--ink:#1b1f24;--soft:#5b6470;font-family:system-ui,-apple-system,
"Segoe UI",Roboto,Arial,sans-serif;color:var(--ink);background:#fff}
body{margin:0 auto;max-width:1400px;padding:16px 24px 48px;line-height:1.4}
[hidden]{display:none!important}
h1{font-size:1.6rem;margin:0 0 4px}h2{font-size:1.2rem;margin:28px 0 8px;border-bottom:2px solid var(--line)}
h3{font-size:1.05rem;margin:0 0 6px}.meta{color:var(--soft);margin:0 0 12px}
.tiles{display:flex;gap:12px;flex-wrap:wrap;margin:8px 0 12px}
.tile{flex:1 1 180px;padding:10px 14px;border-radius:8px;color:#fff;font-weight:600;font-size:1.05rem}
.tile .n{font-size:1.9rem;margin-right:6px;vertical-align:-3px}.tile small{display:block;font-weight:400;
font-size:.8rem;opacity:.92}.tile.muted{opacity:.35}
.state-blocked{background:var(--blocker)}.state-no_facts{background:var(--nofacts)}
.state-unknown{background:var(--unknown)}.state-ready{background:var(--ready)}
.state{display:inline-block;color:#fff;border-radius:4px;padding:1px 8px;font-weight:600;font-size:.85rem;
white-space:nowrap}
.badge{display:inline-block;min-width:1.3em;text-align:center;border-radius:4px;padding:0 5px;
font-weight:700;font-size:.8rem;text-transform:uppercase;border:2px solid transparent}
.badge.sev-blocker{background:var(--blocker);color:#fff}.badge.sev-warning{background:var(--warning);color:#111}
.badge.sev-info{background:var(--info);color:#fff}
.badge.st-unknown{background:#fff;color:var(--ink);border-style:dashed}
.badge.st-unknown.sev-blocker{border-color:var(--blocker);color:var(--blocker)}
.badge.st-unknown.sev-warning{border-color:#b07a00;color:#7a5500}
.badge.st-unknown.sev-info{border-color:var(--info);color:var(--info)}
.filters{display:flex;gap:16px;align-items:end;flex-wrap:wrap;background:#f3f5f7;padding:8px 14px;
border-radius:8px}.filters fieldset{border:0;margin:0;padding:0;display:flex;gap:10px}
.filters legend{font-weight:600;padding:0 0 2px}.filters label{font-weight:600}
.filters input[type=search],.filters select{font:inherit;padding:3px 6px;display:block;max-width:16em}
#filter-count{color:var(--soft)}.note{color:var(--soft)}.legend{color:var(--soft);margin:4px 0}
.scroll{overflow-x:auto}table{border-collapse:collapse}
.matrix th,.matrix td{border:1px solid var(--line);padding:4px 8px;text-align:left;vertical-align:middle}
.matrix thead th{background:#f3f5f7;vertical-align:bottom}
.matrix th.col{padding:4px 2px;border-top:4px solid var(--line)}
.matrix th.col.sev-blocker{border-top-color:var(--blocker)}.matrix th.col.sev-warning{border-top-color:var(--warning)}
.matrix th.col.sev-info{border-top-color:var(--info)}
.matrix th.col a{writing-mode:vertical-rl;transform:rotate(180deg);display:inline-block;max-height:15em;
font-weight:600;font-size:.75rem;color:var(--ink);text-decoration:none;white-space:nowrap}
.matrix td.cell{text-align:center;padding:2px;min-width:26px}
.matrix td.cell .badge{padding:0 3px}
.matrix th.host{font-family:ui-monospace,Consolas,monospace;white-space:nowrap}
.matrix td.machine{font-size:.8rem;color:var(--soft);min-width:14em;max-width:20em;line-height:1.25}
.matrix td.machine .dom{display:block}
.matrix tbody tr[data-state=blocked] th.host{border-left:5px solid var(--blocker)}
.matrix tbody tr[data-state=no_facts] th.host{border-left:5px solid var(--nofacts)}
.matrix tbody tr[data-state=unknown] th.host{border-left:5px solid var(--unknown)}
.matrix tbody tr[data-state=ready] th.host{border-left:5px solid var(--ready)}
.finding{border:1px solid var(--line);border-left:6px solid var(--line);border-radius:6px;padding:10px 14px;
margin:10px 0}.finding.sev-blocker{border-left-color:var(--blocker)}
.finding.sev-warning{border-left-color:var(--warning)}.finding.sev-info{border-left-color:var(--info)}
.finding code{font-size:.85rem;color:var(--soft)}.finding .count{color:var(--soft);font-weight:400;font-size:.9rem}
.fix,.ref{margin:4px 0}.ref{font-size:.85rem;color:var(--soft);word-break:break-all}
.hits{width:100%}.hits th,.hits td{border-top:1px solid var(--line);padding:3px 10px 3px 0;text-align:left;
vertical-align:top}.hits th:first-child{width:16em}.hits td:nth-child(2){width:7em;white-space:nowrap}
.hits th[scope=row]{font-family:ui-monospace,Consolas,monospace;white-space:nowrap}
footer{margin-top:32px;color:var(--soft);font-size:.85rem}
@media print{.filters{display:none}}
"""

# Plain JS, no library: filters rows, columns and finding sections from the form or from
# the URL fragment (report.html#severity=blocker&host=web&finding=pending_reboot).
_JS = """
(function () {
  "use strict";
  var form = document.getElementById("filters");
  if (!form) { return; }
  var hostInput = document.getElementById("host-filter");
  var findingSelect = document.getElementById("finding-filter");
  var boxes = form.querySelectorAll("input[name=severity]");
  var all = ["blocker", "warning", "info"];

  function fromUrl() {
    var raw = window.location.hash.replace(/^#/, "") || window.location.search.replace(/^\\?/, "");
    var params = new URLSearchParams(raw);
    var severities = params.get("severity");
    var chosen = severities ? severities.split(",") : all;
    boxes.forEach(function (box) { box.checked = chosen.indexOf(box.value) !== -1; });
    hostInput.value = params.get("host") || "";
    var finding = params.get("finding") || "";
    findingSelect.value = finding;
    if (findingSelect.value !== finding) { findingSelect.value = ""; }
  }

  function toUrl(severities, host, finding) {
    var params = new URLSearchParams();
    if (severities.length !== all.length) { params.set("severity", severities.join(",")); }
    if (host) { params.set("host", host); }
    if (finding) { params.set("finding", finding); }
    var text = params.toString();
    history.replaceState(null, "", text ? "#" + text : window.location.pathname + window.location.search);
  }

  function apply(updateUrl) {
    var severities = [];
    boxes.forEach(function (box) { if (box.checked) { severities.push(box.value); } });
    var host = hostInput.value.trim().toLowerCase();
    var finding = findingSelect.value;
    var narrowed = severities.length !== all.length || finding !== "";
    function findingShown(el) {
      return severities.indexOf(el.dataset.severity) !== -1 && (!finding || el.dataset.finding === finding);
    }
    function hostShown(el) { return !host || el.dataset.host.indexOf(host) !== -1; }

    document.querySelectorAll(".matrix [data-finding]").forEach(function (el) {
      el.hidden = !findingShown(el);
    });
    var shown = 0, rows = document.querySelectorAll(".matrix tbody tr");
    rows.forEach(function (row) {
      var visible = hostShown(row);
      if (visible && narrowed) {
        var hit = Array.prototype.some.call(row.querySelectorAll("td.hit"), findingShown);
        var noFacts = row.dataset.state === "no_facts" && !finding && severities.indexOf("blocker") !== -1;
        visible = hit || noFacts;
      }
      row.hidden = !visible;
      if (visible) { shown += 1; }
    });
    document.querySelectorAll("article.finding").forEach(function (article) {
      var any = false;
      article.querySelectorAll("tbody tr").forEach(function (row) {
        row.hidden = !hostShown(row);
        if (!row.hidden) { any = true; }
      });
      article.hidden = !(findingShown(article) && any);
    });
    document.querySelectorAll("#no-facts li").forEach(function (item) { item.hidden = !hostShown(item); });
    document.getElementById("filter-count").textContent = shown + " of " + rows.length + " hosts shown";
    document.body.dataset.filtered = narrowed || host ? "yes" : "no";
    if (updateUrl) { toUrl(severities, host, finding); }
  }

  form.hidden = false;
  form.addEventListener("input", function () { apply(true); });
  form.addEventListener("change", function () { apply(true); });
  form.addEventListener("submit", function (event) { event.preventDefault(); });
  form.addEventListener("reset", function () { window.setTimeout(function () { apply(true); }, 0); });
  window.addEventListener("hashchange", function () { fromUrl(); apply(false); });
  fromUrl();
  apply(false);
}());
"""


def _csp_hash(text):
    return "'sha256-%s'" % base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii")


def render_html(report):
    """A self-contained page: inline CSS and JS only, and a policy that forbids loading anything."""
    hosts = sorted(report["hosts"], key=_host_order)
    anchors = {item["id"]: "finding-%d" % index for index, item in enumerate(report["findings"], 1)}
    summary = report["summary"]
    gate_text = "hosts fail on %s findings%s" % (
        report["gate"]["fail_on"],
        " and on rules that could not be checked" if report["gate"]["fail_on_unknown"] else "")
    if report["gate"]["fail_on"] == "never":
        gate_text = "findings never fail a host"
    # Only the page's own style and script may run: even an escaping bug could not load or run more.
    policy = "default-src 'none'; style-src %s; script-src %s; img-src data:; base-uri 'none'; form-action 'none'" % (
        _csp_hash(_CSS), _csp_hash(_JS))
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta http-equiv="Content-Security-Policy" content="%s">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta name="generator" content="%s %s">'
        '<title>%s</title><style>%s</style></head>'
        '<body data-filtered="no"><header><h1>%s</h1>'
        '<p class="meta">%d host%s &middot; phase %s &middot; generated %s &middot; gate: %s &middot; '
        '%d failing</p>%s</header>%s%s%s%s'
        '<footer>Written by %s (report schema %s). The same data is in report.json beside this page.'
        '</footer><script>%s</script></body></html>\n'
    ) % (
        policy, REPORT_KIND, REPORT_SCHEMA_VERSION, _e(report["title"]), _CSS, _e(report["title"]),
        summary["hosts"], "" if summary["hosts"] == 1 else "s", _e(report["phase"]),
        _e(report["generated_at"]), _e(gate_text), len(summary["failing_hosts"]), _tiles(report),
        _filters(report), _matrix(report, hosts, anchors), _finding_sections(report, hosts, anchors),
        _no_facts_section(hosts), REPORT_KIND, REPORT_SCHEMA_VERSION, _JS)
