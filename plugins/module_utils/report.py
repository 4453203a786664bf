# Copyright: (c) 2026, winimage.generalize contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The fleet readiness report: one JSON document and one self-contained HTML page.

Input is what the preflight role knows about each host of a play: the readiness facts,
the findings the rules engine produced from them, or the reason there are no facts. At the end
of a generalize or refresh run each host also carries its ``pipeline`` outcome
(``pipeline.host_outcome()``: status, failed step, capture, verify, published image, revert).
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

# 1.1: optional per-host "pipeline" and summary "pipeline" (generalize and refresh runs).
REPORT_SCHEMA_VERSION = "1.1"
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

# Pipeline outcome of a generalize or refresh run (module_utils/pipeline.py host_outcome()).
# Statuses worst first: the order the HTML lists hosts in when the report has them.
PIPELINE_STATUS_ORDER = ("failed", "blocked", "not_run", "checked", "published")
PIPELINE_STATUS_LABELS = {
    "failed": "Failed",
    "blocked": "Blocked",
    "not_run": "Not run",
    "checked": "Checked",
    "published": "Published",
}
PIPELINE_STATUS_MEANINGS = {
    "failed": "a step after the preflight failed, or the host stopped answering",
    "blocked": "the preflight found blockers: nothing was changed",
    "not_run": "the pipeline never started on this host",
    "checked": "check mode: only the read-only step ran",
    "published": "generalized, captured, verified and published",
}
# Statuses that complete a run: a published image, or a check run that found nothing wrong.
PIPELINE_DONE = ("published", "checked")
PIPELINE_LIST_FIELDS = ("planned_steps", "completed_steps", "remaining_steps")
PIPELINE_TEXT_FIELDS = ("kind", "flow", "failed_step", "error")
PIPELINE_SECTIONS = {
    "capture": ("dest", "index", "sha256", "backend"),
    "verify": ("ready", "blocker_ids", "warning_ids"),
    "published": ("id", "path", "manifest_path"),
}

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
        unknown = sorted(set(entry) - {"facts", "findings", "error", "pipeline"})
        if unknown:
            raise ReportInputError("%s has unexpected keys %s: only facts, findings, error and pipeline "
                                   "are accepted" % (where, ", ".join(unknown)))
        _validate_pipeline(where + ".pipeline", entry.get("pipeline"))
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


def _validate_pipeline(where, outcome):
    if outcome is None:
        return
    if not isinstance(outcome, dict):
        raise ReportInputError("%s must be the host's pipeline outcome mapping (winimage.generalize."
                               "pipeline_summary hosts[name]), got %s" % (where, type(outcome).__name__))
    if outcome.get("status") not in PIPELINE_STATUS_ORDER:
        raise ReportInputError("%s.status must be one of %s, not %r"
                               % (where, ", ".join(PIPELINE_STATUS_ORDER), outcome.get("status")))
    for key in PIPELINE_LIST_FIELDS:
        if not isinstance(outcome.get(key) or [], list):
            raise ReportInputError("%s.%s must be a list of step names, got %s"
                                   % (where, key, type(outcome[key]).__name__))
    for key in PIPELINE_SECTIONS:
        if not isinstance(outcome.get(key) or {}, dict):
            raise ReportInputError("%s.%s must be a mapping or null, got %s"
                                   % (where, key, type(outcome[key]).__name__))


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


def clean_pipeline(outcome):
    """The pipeline outcome's documented keys only, with password-like keys masked; None when absent."""
    if not outcome:
        return None
    cleaned = {"status": outcome["status"]}
    for key in PIPELINE_TEXT_FIELDS:
        value = outcome.get(key)
        cleaned[key] = None if value is None else str(value)
    for key in PIPELINE_LIST_FIELDS:
        cleaned[key] = [str(step) for step in outcome.get(key) or []]
    for key, fields in PIPELINE_SECTIONS.items():
        section = outcome.get(key) or None
        cleaned[key] = {field: section.get(field) for field in fields} if section else None
    if cleaned["capture"] and str(cleaned["capture"]["index"] or "").isdigit():
        cleaned["capture"]["index"] = int(cleaned["capture"]["index"])
    if "reverted" in outcome:
        cleaned["reverted"] = None if outcome["reverted"] is None else bool(outcome["reverted"])
    return mask_secrets(cleaned)


def pipeline_reasons(outcome):
    """Why the pipeline of this host did not complete: a list of reasons, empty when it did."""
    if not outcome or outcome["status"] in PIPELINE_DONE:
        return []
    if outcome.get("failed_step"):
        return ["stopped at step %s: %s" % (outcome["failed_step"], outcome.get("error") or "no message")]
    return ["%s: %s" % (PIPELINE_STATUS_LABELS[outcome["status"]].lower(), outcome.get("error") or "no message")]


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


# What a host that fails the gate is not, in each phase's words (%s: the fail_on setting).
_GATE_VERDICT = {
    "preflight": "is not ready for sysprep (preflight_fail_on=%s)",
    "verify": "must not be deployed (verify_fail_on=%s)",
    "generalize": "did not complete the pipeline",
    "refresh": "did not complete the refresh",
}
PIPELINE_PHASES = ("generalize", "refresh")
PHASES = tuple(_GATE_VERDICT)


def failure_message(name, reasons, fail_on, report_path=None, phase="preflight"):
    """The one message a failed host shows in the play output."""
    where = " Fleet report: %s" % report_path if report_path else ""
    verdict = _GATE_VERDICT.get(phase, "fails the gate of phase %s (fail_on=%%s)" % phase)
    if "%s" in verdict:
        verdict = verdict % fail_on
    return "%s %s: %s.%s" % (name, verdict, "; ".join(reason.rstrip(".") for reason in reasons), where)


# ---------------------------------------------------------------------------------------
# The report document
# ---------------------------------------------------------------------------------------

def _no_facts_reason(outcome):
    """Why a host of a generalize or refresh run has no preflight facts."""
    if outcome["status"] == "not_run":
        return "the pipeline never started on this host: %s" % (outcome.get("error") or "see the play output")
    if outcome.get("failed_step") and outcome["failed_step"] != "preflight":
        return "the pipeline stopped at step %s before the preflight evaluated the facts" % outcome["failed_step"]
    if "preflight" not in (outcome.get("planned_steps") or []):
        return "this run did not plan a preflight (status %s)" % outcome["status"]
    return "the preflight left no readiness facts; see the play output"


def _host_entry(name, entry, fail_on, fail_on_unknown):
    entry = entry or {}
    facts = entry.get("facts") or None
    error = entry.get("error") or None
    outcome = clean_pipeline(entry.get("pipeline"))
    if facts is None and error is None:
        error = _no_facts_reason(outcome) if outcome else (
            "the host failed or was unreachable before its facts were evaluated; see the play output")
    findings = clean_findings(entry.get("findings") if error is None else [])
    if outcome is None:
        reasons = gate(findings, error, fail_on, fail_on_unknown)
    else:
        # A generalize or refresh run: the pipeline says whether the host made it, findings only add to it.
        reasons = pipeline_reasons(outcome) + (gate(findings, None, fail_on, fail_on_unknown) if error is None else [])
    summary = host_summary(findings, error)
    host = {
        "name": name,
        "state": host_state(summary, error),
        "summary": summary,
        "passes_gate": not reasons,
        "gate_reasons": reasons,
        "error": error,
        "facts": key_facts(facts) if error is None else None,
        "findings": findings,
    }
    if outcome is not None:
        host["pipeline"] = outcome
    return host


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
    summary = {
        "hosts": len(hosts),
        "states": {state: len(names) for state, names in states.items()},
        "hosts_by_state": states,
        "failing_hosts": sorted(h["name"] for h in hosts if not h["passes_gate"]),
        "all_pass": bool(hosts) and all(h["passes_gate"] for h in hosts),
    }
    if any(h.get("pipeline") for h in hosts):
        by_status = {status: sorted(h["name"] for h in hosts if (h.get("pipeline") or {}).get("status") == status)
                     for status in PIPELINE_STATUS_ORDER}
        summary["pipeline"] = {"counts": {status: len(names) for status, names in by_status.items()},
                               "hosts_by_status": by_status}
    return summary


def build_report(hosts, generated_at, title="Windows image readiness", phase="preflight",
                 fail_on="blocker", fail_on_unknown=True):
    """The fleet report document from host name -> {facts, findings, error, pipeline}."""
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


def _host_stats(host):
    item = {
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
    if host.get("pipeline"):
        item["pipeline"] = host["pipeline"]
    return item


def stats(report, report_json=None, report_html=None):
    """The set_stats artifacts an AWX workflow branches on."""
    summary = report["summary"]
    result = {
        "report_json": report_json,
        "report_html": report_html,
        "generated_at": report["generated_at"],
        "all_pass": summary["all_pass"],
        "ready_hosts": summary["hosts_by_state"]["ready"],
        "failing_hosts": summary["failing_hosts"],
        "hosts": {host["name"]: _host_stats(host) for host in report["hosts"]},
    }
    if "pipeline" in summary:
        result["pipeline"] = summary["pipeline"]
    return result


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
_STEP_LIST = {"type": "array", "items": {"type": "string"}}
_PIPELINE = {
    "type": ["object", "null"],
    "description": "Outcome of this host in a generalize or refresh run (module_utils/pipeline.py "
                   "host_outcome()); absent in preflight and verify reports.",
    "properties": {
        "status": {"enum": list(PIPELINE_STATUS_ORDER),
                   "description": "; ".join("%s: %s" % item for item in PIPELINE_STATUS_MEANINGS.items())},
        "kind": _nullable("string", "physical, vm or hyperv_host."),
        "flow": _nullable("string", "generalize or refresh."),
        "failed_step": _nullable("string", "The step the host stopped at."),
        "error": _nullable("string", "Why it stopped, or why it never started."),
        "planned_steps": _STEP_LIST,
        "completed_steps": _STEP_LIST,
        "remaining_steps": _STEP_LIST,
        "capture": {
            "type": ["object", "null"],
            "description": "The captured WIM.",
            "properties": {"dest": _nullable("string", "Path of the WIM where it was written."),
                           "index": {"type": ["integer", "null"]},
                           "sha256": _nullable("string", "SHA-256 of the WIM."),
                           "backend": _nullable("string", "wimlib, hyperv_vm or winpe.")},
            "additionalProperties": False,
        },
        "verify": {
            "type": ["object", "null"],
            "description": "The offline verification of the captured image.",
            "properties": {"ready": {"type": ["boolean", "null"]},
                           "blocker_ids": _ID_LIST, "warning_ids": _ID_LIST},
            "additionalProperties": False,
        },
        "published": {
            "type": ["object", "null"],
            "description": "The image published into the store.",
            "properties": {"id": _nullable("string", "Catalogue id."),
                           "path": _nullable("string", "Path of the published WIM."),
                           "manifest_path": _nullable("string", "Path of its manifest.")},
            "additionalProperties": False,
        },
        "reverted": {"type": ["boolean", "null"],
                     "description": "Refresh: whether the VM was reverted to its baseline at the end."},
    },
    "required": ["status", "kind", "flow", "failed_step", "error", "planned_steps", "completed_steps",
                 "remaining_steps", "capture", "verify", "published"],
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
                "pipeline": {
                    "type": "object",
                    "description": "Hosts per pipeline status; only in generalize and refresh reports.",
                    "properties": {
                        "counts": {"type": "object",
                                   "properties": {s: {"type": "integer", "minimum": 0}
                                                  for s in PIPELINE_STATUS_ORDER},
                                   "required": list(PIPELINE_STATUS_ORDER), "additionalProperties": False},
                        "hosts_by_status": {"type": "object",
                                            "properties": {s: _ID_LIST for s in PIPELINE_STATUS_ORDER},
                                            "required": list(PIPELINE_STATUS_ORDER),
                                            "additionalProperties": False},
                    },
                    "required": ["counts", "hosts_by_status"],
                    "additionalProperties": False,
                },
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
                    "pipeline": _PIPELINE,
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
    # A generalize or refresh report lists the hosts whose pipeline did not complete first.
    status = (host.get("pipeline") or {}).get("status")
    pipeline_rank = PIPELINE_STATUS_ORDER.index(status) if status else 0
    return (pipeline_rank, STATE_ORDER.index(host["state"]), -host["summary"]["blockers"],
            -host["summary"]["warnings"], host["name"])


def _pipeline_badge(status):
    return '<span class="state run-%s">%s</span>' % (status, _e(PIPELINE_STATUS_LABELS[status]))


def _pipeline_tiles(report):
    counts = report["summary"]["pipeline"]["counts"]
    tiles = "".join(
        '<div class="tile run-%s%s"><span class="n">%d</span> %s<small>%s</small></div>'
        % (status, " muted" if counts[status] == 0 else "", counts[status],
           _e(PIPELINE_STATUS_LABELS[status]), _e(PIPELINE_STATUS_MEANINGS[status]))
        for status in PIPELINE_STATUS_ORDER)
    return '<p class="caption">Pipeline</p><div class="tiles">%s</div><p class="caption">Readiness</p>' % tiles


def _short_sha(sha256):
    return (sha256 or "")[:12]


def _image_text(outcome):
    capture = outcome.get("capture")
    if not capture:
        return ""
    return '<code title="%s">%s</code> %s' % (_e(capture.get("sha256")), _e(_short_sha(capture.get("sha256"))),
                                              _e(capture.get("backend")))


def _verify_text(outcome):
    verify = outcome.get("verify")
    if not verify:
        return ""
    if verify.get("blocker_ids"):
        return '%s %s' % (_badge("blocker", text="blocked"), _e(", ".join(verify["blocker_ids"])))
    if verify.get("ready"):
        warnings = verify.get("warning_ids") or []
        return "ready" + (" (%d warning%s)" % (len(warnings), "" if len(warnings) == 1 else "s") if warnings else "")
    return "not ready"


def _stopped_text(outcome):
    if not outcome.get("failed_step") and outcome["status"] in PIPELINE_DONE:
        return ""
    step = outcome.get("failed_step") or ""
    return '<strong>%s</strong><span class="why">%s</span>' % (_e(step), _e(outcome.get("error")))


def _pipeline_section(hosts):
    """One row per host: how far its pipeline got and what it produced."""
    with_revert = any("reverted" in (h.get("pipeline") or {}) for h in hosts)
    rows = []
    for host in hosts:
        outcome = host.get("pipeline")
        if not outcome:
            continue
        published = outcome.get("published") or {}
        revert = ""
        if with_revert:
            reverted = outcome.get("reverted")
            revert = '<td>%s</td>' % ("" if "reverted" not in outcome else "yes" if reverted
                                      else '<strong class="bad">NOT reverted</strong>')
        rows.append(
            '<tr data-host="%s" data-status="%s"><th scope="row" class="host">%s</th><td>%s</td><td>%s</td>'
            '<td class="stopped">%s</td><td>%s</td><td>%s</td><td><code>%s</code></td>%s</tr>'
            % (_e(host["name"].lower()), outcome["status"], _e(host["name"]), _e(outcome.get("kind")),
               _pipeline_badge(outcome["status"]), _stopped_text(outcome), _image_text(outcome),
               _verify_text(outcome), _e(published.get("id")), revert))
    if not rows:
        return ""
    return (
        '<section id="pipeline"><h2>Pipeline</h2>'
        '<p class="legend">How far each host got; hosts that did not complete come first.</p>'
        '<div class="scroll"><table class="pipeline"><thead><tr><th scope="col">Host</th><th scope="col">Kind</th>'
        '<th scope="col">Status</th><th scope="col">Stopped at</th><th scope="col">Captured WIM</th>'
        '<th scope="col">Verify</th><th scope="col">Published</th>%s</tr></thead><tbody>%s</tbody></table></div>'
        '</section>'
    ) % ('<th scope="col">Reverted</th>' if with_revert else "", "".join(rows))


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
    with_pipeline = "pipeline" in report["summary"]
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
        run = ""
        if with_pipeline:
            status = (host.get("pipeline") or {}).get("status")
            run = "<td>%s</td>" % (_pipeline_badge(status) if status else "")
        rows.append(
            '<tr data-host="%s" data-state="%s"><th scope="row" class="host">%s</th>%s<td>%s</td>'
            '<td class="machine">%s</td>%s</tr>'
            % (_e(host["name"].lower()), host["state"], _e(host["name"]), run,
               _state_badge(host["state"]), machine, "".join(cells)))
    return (
        '<section id="matrix"><h2>Hosts &times; findings</h2>'
        '<p class="legend">%s blocker %s warning %s info %s could not be checked (facts missing). '
        'Hosts are listed worst first; columns are finding ids, blockers first.</p>'
        '<div class="scroll"><table class="matrix"><thead><tr><th scope="col">Host</th>%s'
        '<th scope="col">Verdict</th><th scope="col">Windows</th>%s</tr>'
        '</thead><tbody>%s</tbody></table></div></section>'
    ) % (_badge("blocker", text="B"), _badge("warning", text="W"), _badge("info", text="I"),
         _badge("blocker", "unknown", "?"), '<th scope="col">Pipeline</th>' if with_pipeline else "",
         head, "".join(rows))


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


def _no_facts_section(hosts, pipeline_run=False):
    missing = [h for h in hosts if h["error"]]
    if not missing:
        return ""
    items = "".join('<li data-host="%s"><strong>%s</strong>: %s</li>'
                    % (_e(h["name"].lower()), _e(h["name"]), _e(h["error"])) for h in missing)
    why = ("No readiness facts of these hosts come from this run; their pipeline status says whether they "
           "completed." if pipeline_run else "Nothing is known about these hosts, so they fail the gate.")
    return ('<section id="no-facts"><h2>Hosts without facts</h2>'
            '<p>%s</p><ul>%s</ul></section>' % (why, items))


_CSS = """
:root{--blocker:#b71c1c;--warning:#f2a900;--info:#1565c0;--ready:#2e7d32;--nofacts:#455a64;
--unknown:#6a1b9a;--failed:#d84315;--line:#d0d4d9;--ink:#1b1f24;--soft:#5b6470;font-family:system-ui,-apple-system,
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
.run-failed{background:var(--failed)}.run-blocked{background:var(--blocker)}.run-not_run{background:var(--nofacts)}
.run-checked{background:var(--info)}.run-published{background:var(--ready)}
.caption{margin:10px 0 0;font-weight:600;color:var(--soft);text-transform:uppercase;font-size:.75rem;
letter-spacing:.05em}
.pipeline th,.pipeline td{border:1px solid var(--line);padding:4px 8px;text-align:left;vertical-align:top}
.pipeline thead th{background:#f3f5f7}.pipeline code{font-size:.8rem;white-space:nowrap}
.pipeline th.host{font-family:ui-monospace,Consolas,monospace;white-space:nowrap}
.pipeline td.stopped{max-width:32em}.pipeline .why{display:block;font-size:.8rem;color:var(--soft)}
.pipeline .bad{color:var(--blocker)}
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
    document.querySelectorAll("#no-facts li, #pipeline tbody tr").forEach(function (item) {
      item.hidden = !hostShown(item);
    });
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
    pipeline_run = "pipeline" in summary
    if pipeline_run:
        gate_text = "hosts fail when their pipeline did not complete" + (
            "" if report["gate"]["fail_on"] == "never" else " or on %s findings" % report["gate"]["fail_on"])
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
        '%d failing</p>%s%s</header>%s%s%s%s%s'
        '<footer>Written by %s (report schema %s). The same data is in report.json beside this page.'
        '</footer><script>%s</script></body></html>\n'
    ) % (
        policy, REPORT_KIND, REPORT_SCHEMA_VERSION, _e(report["title"]), _CSS, _e(report["title"]),
        summary["hosts"], "" if summary["hosts"] == 1 else "s", _e(report["phase"]),
        _e(report["generated_at"]), _e(gate_text), len(summary["failing_hosts"]),
        _pipeline_tiles(report) if pipeline_run else "", _tiles(report), _filters(report), _pipeline_section(hosts),
        _matrix(report, hosts, anchors), _finding_sections(report, hosts, anchors),
        _no_facts_section(hosts, pipeline_run), REPORT_KIND, REPORT_SCHEMA_VERSION, _JS)
