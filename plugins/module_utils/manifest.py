# Copyright: (c) 2026, winimage.generalize contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The image manifest: what went into a published image and what came out.

One JSON document per published image, written beside the WIM in the image store
(``<id>.json``). It records the operating system (selected readiness facts), where the image
came from (host and kind), the answer-file settings with every password removed, the Store
apps removed, driver persistence, the preflight findings before remediation and which of them
were resolved, the capture backend and options, size and SHA-256, the verification result, and
the lineage (parent image and how many times the lineage has been generalized).

Nothing secret may reach a manifest: settings are stripped of password-like keys here and
``assert_no_secrets`` refuses a document that still carries one. ``MANIFEST_SCHEMA`` is the
published schema (``schemas/manifest.schema.json``, kept identical by a test).
"""

from __future__ import annotations

import copy
import re

from ansible_collections.winimage.generalize.plugins.module_utils import finding_catalog

MANIFEST_SCHEMA_VERSION = "1.0"
MANIFEST_KIND = "winimage.generalize.image_manifest"

SOURCE_KINDS = ("physical", "vm", "hyperv_host")
CAPTURE_BACKENDS = ("wimlib", "dism")

# Microsoft support: "With Windows Vista and later you can only run sysprep 3 times on an image"
# (seed: Sysprep, SkipRearm, and Image Build Best Practices).
DEFAULT_REARM_BUDGET = 3
SEED_SKIP_REARM = finding_catalog.SEED_SKIP_REARM
LINEAGE_FINDING_ID = "lineage_rearm_budget"

# Keys whose values are secrets wherever they appear in answer-file settings (the builder's
# password, administrator_password, machine_password; the raw Password / AdministratorPassword /
# MachinePassword elements of extra_components; keys ending in secret, token or product key; a
# Credentials mapping, but not PathAndCredentials, whose Path is worth keeping).
# Booleans under such names (hide_passwords, contains_password) say nothing secret and stay.
_SECRET_KEY = re.compile(r"(password|passwd|pwd|secret|token|product_?key)$|(^|_)credentials?$", re.IGNORECASE)

# Readiness facts copied into the manifest: whole sections or selected fields. Nothing else.
FACT_SELECTION = (
    ("os", None),
    ("setup", ("image_state", "generalization_state", "audit_mode", "upgraded")),
    ("domain", ("joined", "is_domain_controller")),
    ("licensing", ("skip_rearm", "remaining_rearm_count")),
    ("disk", ("size_bytes", "free_bytes")),
    ("virtualization", ("is_virtual", "hypervisor_vendor", "manufacturer", "model")),
)
GATHERER_FIELDS = ("kind", "name", "source", "gathered_at", "format", "partition", "wim_index")
FINDING_FIELDS = ("id", "severity", "status", "phase", "title")
CAPTURE_FIELDS = ("compression", "exclusions", "check_integrity", "verify", "boot", "threads", "volume_access",
                  "command", "fingerprint", "copied_bytes", "timings", "append", "action")


class ManifestError(ValueError):
    """A manifest input is unusable, or the document would carry a secret; the message says which."""


# --------------------------------------------------------------------------- secrets

def is_secret_key(key):
    return bool(_SECRET_KEY.search(str(key)))


def redact_settings(settings, path=""):
    """(copy of ``settings`` without password-like keys, sorted dotted paths of what was removed)."""
    removed = []

    def walk(value, where):
        if isinstance(value, dict):
            kept = {}
            for key, item in value.items():
                here = "%s.%s" % (where, key) if where else str(key)
                if is_secret_key(key) and not isinstance(item, bool):
                    removed.append(here)
                    continue
                kept[key] = walk(item, here)
            return kept
        if isinstance(value, (list, tuple)):
            return [walk(item, "%s[%d]" % (where, index)) for index, item in enumerate(value)]
        return value

    clean = walk(copy.deepcopy(settings), path)
    return clean, sorted(removed)


def find_secret_keys(document, path=""):
    """Dotted paths of non-boolean values stored under password-like keys."""
    found = []
    if isinstance(document, dict):
        for key, item in document.items():
            here = "%s.%s" % (path, key) if path else str(key)
            if is_secret_key(key) and not isinstance(item, bool) and item is not None:
                found.append(here)
            else:
                found.extend(find_secret_keys(item, here))
    elif isinstance(document, list):
        for index, item in enumerate(document):
            found.extend(find_secret_keys(item, "%s[%d]" % (path, index)))
    return found


def _strings(document):
    if isinstance(document, dict):
        for key, item in document.items():
            yield str(key)
            yield from _strings(item)
    elif isinstance(document, list):
        for item in document:
            yield from _strings(item)
    elif isinstance(document, str):
        yield document


def assert_no_secrets(document, secret_values=()):
    """Raise ManifestError when the document holds a password-like key or any ``secret_values``.

    The message names where, never what.
    """
    keys = find_secret_keys(document)
    if keys:
        raise ManifestError("the manifest would carry secret values under %s; they must be removed"
                            % ", ".join(keys))
    values = [v for v in (secret_values or ()) if isinstance(v, str) and len(v) >= 4]
    if values:
        for text in _strings(document):
            for secret in values:
                if secret in text:
                    raise ManifestError("the manifest would contain one of the secret values it was given; "
                                        "nothing was published")


# --------------------------------------------------------------------------- sections

def select_facts(facts):
    """The selected readiness facts, or None without facts."""
    if not isinstance(facts, dict) or not facts:
        return None
    selected = {"schema_version": facts.get("schema_version")}
    gatherer = facts.get("gatherer") or {}
    selected["gatherer"] = dict((k, gatherer.get(k)) for k in GATHERER_FIELDS if gatherer.get(k) is not None)
    for section, fields in FACT_SELECTION:
        values = facts.get(section)
        if not isinstance(values, dict):
            continue
        names = fields if fields is not None else sorted(values)
        selected[section] = dict((name, values.get(name)) for name in names)
    return selected


def os_from_image(image):
    """OS fields from the WIM's own XML when no facts were given (wim_capture image_info.windows)."""
    windows = (image or {}).get("windows") or {}
    version = windows.get("version") or {}
    if not windows:
        return None
    return {
        "product_name": windows.get("product_name"),
        "edition_id": windows.get("edition_id"),
        "installation_type": windows.get("installation_type"),
        "product_type": windows.get("product_type"),
        "architecture": windows.get("architecture"),
        "version": ("%s.%s" % (version.get("major"), version.get("minor"))
                    if version.get("major") is not None else None),
        "build": version.get("build"),
        "language": windows.get("default_language"),
    }


def trim_findings(findings):
    out = []
    for finding in findings or []:
        if isinstance(finding, dict) and finding.get("id"):
            out.append(dict((k, finding.get(k)) for k in FINDING_FIELDS if finding.get(k) is not None))
    return out


def _failing_ids(findings):
    return sorted(set(f["id"] for f in findings or [] if isinstance(f, dict) and f.get("id")
                      and f.get("status", "fail") == "fail"))


def preflight_section(preflight_findings, verify_findings):
    """Findings before remediation, and the ids among them that no longer fail on the image."""
    if preflight_findings is None:
        return None
    before = _failing_ids(preflight_findings)
    after = set(_failing_ids(verify_findings))
    return {
        "findings": trim_findings(preflight_findings),
        "resolved": [finding_id for finding_id in before if finding_id not in after],
        "still_failing": [finding_id for finding_id in before if finding_id in after],
    }


def verification_section(verify_findings, summary, wimlib_verified):
    if verify_findings is None and summary is None and wimlib_verified is None:
        return None
    findings = trim_findings(verify_findings)
    counted = summary if isinstance(summary, dict) else None
    blockers = [f["id"] for f in findings if f.get("severity") == "blocker" and f.get("status") == "fail"]
    return {
        "phase": "verify",
        "ready": (counted.get("ready") if counted and "ready" in counted else
                  (not blockers if verify_findings is not None else None)),
        "blockers": counted.get("blockers", len(blockers)) if counted else len(blockers),
        "warnings": counted.get("warnings") if counted else
        len([f for f in findings if f.get("severity") == "warning" and f.get("status") == "fail"]),
        "unknown": counted.get("unknown") if counted else len([f for f in findings if f.get("status") == "unknown"]),
        "blocking_ids": sorted(set(counted.get("blocking_ids", blockers) if counted else blockers)),
        "findings": findings,
        "wim_verified": wimlib_verified,
    }


def capture_section(backend, capture):
    """Backend and options of the capture (from a wim_capture result or the DISM equivalent)."""
    if backend not in CAPTURE_BACKENDS:
        raise ManifestError("capture backend must be one of %s, not %r" % (", ".join(CAPTURE_BACKENDS), backend))
    capture = capture or {}
    arguments = (capture.get("invocation") or {}).get("module_args") or {}
    section = {"backend": backend}
    for key in CAPTURE_FIELDS:
        value = capture.get(key, arguments.get(key))
        if value is not None:
            section[key] = value
    source = capture.get("source")
    if isinstance(source, dict):
        section["source"] = dict((k, source.get(k)) for k in (
            "path", "format", "container", "partition", "volume_size", "used_bytes", "dirty") if k in source)
    return section


def lineage_section(parent, rearm_budget=DEFAULT_REARM_BUDGET, skip_rearm=False):
    """Parent, generalize and rearm counts of the lineage; findings when the budget is exceeded.

    From media the count starts at 1. Built from a previous image it is the parent's count + 1:
    Microsoft support explains each sysprep /generalize spends one of the 3 rearms unless
    SkipRearm is set, and recommends rebuilding from media instead (seed: Sysprep, SkipRearm...).
    """
    if not isinstance(rearm_budget, int) or isinstance(rearm_budget, bool) or rearm_budget < 1:
        raise ManifestError("rearm_budget must be a whole number of 1 or more")
    if parent:
        parent_lineage = parent.get("lineage") or parent
        generalize_count = int(parent_lineage.get("generalize_count") or 1) + 1
        rearm_count = int(parent_lineage.get("rearm_count", parent_lineage.get("generalize_count")) or 0)
    else:
        generalize_count = 1
        rearm_count = 0
    if not skip_rearm:
        rearm_count += 1
    remaining = rearm_budget - rearm_count
    section = {
        "built_from": "image" if parent else "media",
        "parent_id": parent.get("id") if parent else None,
        "parent_sha256": parent.get("sha256") if parent else None,
        "generalize_count": generalize_count,
        "rearm_count": rearm_count,
        "rearm_budget": rearm_budget,
        "remaining_rearms": remaining,
        "skip_rearm": bool(skip_rearm),
        "findings": [],
        "notes": [],
    }
    if remaining < 0:
        section["findings"].append(lineage_finding(rearm_count, rearm_budget, generalize_count))
    elif remaining == 0 and parent:
        section["notes"].append("this lineage has used all %d rearms of its budget: an image built from this one "
                                "would fail sysprep /generalize; build the next image from installation media"
                                % rearm_budget)
    return section


def lineage_finding(rearm_count, rearm_budget, generalize_count):
    """The lineage warning from the finding catalogue (phase verify: it is about the artifact)."""
    message = ("This image was generalized %d times along its lineage, %d of them spending a rearm, "
               "more than its rearm budget of %d; sysprep /generalize on a machine built from it "
               "is expected to fail, and activation may not reset."
               % (generalize_count, rearm_count, rearm_budget))
    return finding_catalog.make_finding(
        LINEAGE_FINDING_ID, "verify", message,
        evidence={"generalize_count": generalize_count, "rearm_count": rearm_count, "rearm_budget": rearm_budget})


def answer_file_section(settings, removed_before=None):
    """The settings without secrets; ``removed_before`` lists paths already removed upstream
    (the redact_secrets filter on the controller), so the manifest still says they were set."""
    if settings is None:
        return None
    if not isinstance(settings, dict):
        raise ManifestError("answer_file_settings must be a mapping (the settings given to the answer-file "
                            "builder), got %s" % type(settings).__name__)
    clean, removed = redact_settings(settings)
    removed = sorted(set(removed) | set(str(path) for path in (removed_before or [])))
    generalize = clean.get("generalize") if isinstance(clean.get("generalize"), dict) else {}
    return {
        "settings": clean,
        "removed_secrets": removed,
        "persist_all_device_installs": generalize.get("persist_all_device_installs"),
        "skip_rearm": generalize.get("skip_rearm"),
    }


def _skip_rearm_used(answer_file):
    value = (answer_file or {}).get("skip_rearm")
    return value in (1, True, "1", "true", "True")


def build_manifest(image_id, family, created_at, image, capture_backend="wimlib", capture=None, facts=None,
                   source=None, answer_file_settings=None, answer_file_removed_secrets=None,
                   appx_removed=None, drivers=None,
                   preflight_findings=None, verify_findings=None, verify_summary=None, wim_verified=None,
                   parent=None, rearm_budget=DEFAULT_REARM_BUDGET, secret_values=()):
    """The manifest document. Raises ManifestError for bad inputs or a leftover secret."""
    if not isinstance(image, dict) or not image.get("sha256") or image.get("size") is None:
        raise ManifestError("image needs at least file, size and sha256")
    source = dict(source or {})
    if source.get("kind") is not None and source["kind"] not in SOURCE_KINDS:
        raise ManifestError("source kind must be one of %s, not %r" % (", ".join(SOURCE_KINDS), source["kind"]))
    answer_file = answer_file_section(answer_file_settings, answer_file_removed_secrets)
    selected = select_facts(facts)
    manifest = {
        "schema_version": MANIFEST_SCHEMA_VERSION,
        "kind": MANIFEST_KIND,
        "id": image_id,
        "family": family,
        "created_at": created_at,
        "image": _image_section(image),
        "os": (selected or {}).get("os") or os_from_image(image.get("image_info")),
        "facts": selected,
        "source": {
            "host": source.get("host"),
            "kind": source.get("kind"),
            "hypervisor": source.get("hypervisor"),
            "disk": source.get("disk"),
        },
        "answer_file": answer_file,
        "appx_removed": _plain_list(appx_removed, "appx_removed"),
        "drivers": _drivers(drivers, answer_file),
        "preflight": preflight_section(preflight_findings, verify_findings),
        "capture": capture_section(capture_backend, capture),
        "verification": verification_section(verify_findings, verify_summary, wim_verified),
        "lineage": lineage_section(parent, rearm_budget, _skip_rearm_used(answer_file)),
    }
    assert_no_secrets(manifest, secret_values)
    return manifest


def _image_section(image):
    info = image.get("image_info") or {}
    section = {
        "file": image.get("file"),
        "size": image.get("size"),
        "sha256": image.get("sha256"),
        "index": image.get("index", info.get("index")),
        "image_count": image.get("image_count"),
        "name": info.get("name", image.get("name")),
        "description": info.get("description", image.get("description")),
        "images": image.get("images") or [],
        "file_count": info.get("file_count"),
        "dir_count": info.get("dir_count"),
        "total_bytes": info.get("total_bytes"),
        "windows": info.get("windows"),
    }
    return section


def _plain_list(value, what):
    if value is None:
        return None
    if not isinstance(value, (list, tuple)):
        raise ManifestError("%s must be a list" % what)
    return list(value)


def _drivers(drivers, answer_file):
    if drivers is None and answer_file is None:
        return None
    drivers = dict(drivers or {}) if isinstance(drivers, dict) else {"packages": _plain_list(drivers, "drivers")}
    if drivers.get("persist_all_device_installs") is None and answer_file is not None:
        drivers["persist_all_device_installs"] = answer_file.get("persist_all_device_installs")
    return drivers


# --------------------------------------------------------------------------- schema

def _nullable(kind, **extra):
    schema = {"type": [kind, "null"]}
    schema.update(extra)
    return schema


_FINDING = {
    "type": "object",
    "required": ["id", "severity", "status"],
    "properties": {
        "id": {"type": "string", "pattern": "^[a-z][a-z0-9_]*$"},
        "severity": {"enum": ["blocker", "warning", "info"]},
        "status": {"enum": ["fail", "unknown"]},
        "phase": {"enum": ["preflight", "verify", "sysprep"]},
        "title": {"type": "string"},
    },
}

MANIFEST_SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": "https://github.com/winimage/generalize/schemas/manifest.schema.json",
    "title": "winimage.generalize image manifest",
    "description": "What went into a published Windows image and what came out. Version "
                   + MANIFEST_SCHEMA_VERSION + ". Never holds a secret.",
    "type": "object",
    "required": ["schema_version", "kind", "id", "family", "created_at", "image", "os", "source", "capture",
                 "lineage"],
    "properties": {
        "schema_version": {"const": MANIFEST_SCHEMA_VERSION},
        "kind": {"const": MANIFEST_KIND},
        "id": {"type": "string", "description": "<family>-<yyyymmdd>-<n>, the catalogue id."},
        "family": {"type": "string"},
        "created_at": {"type": "string", "description": "UTC, ISO 8601."},
        "image": {
            "type": "object",
            "required": ["file", "size", "sha256"],
            "properties": {
                "file": {"type": "string", "description": "WIM file name in the store."},
                "size": {"type": "integer", "minimum": 0},
                "sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
                "index": _nullable("integer", description="Index of the captured image in the WIM."),
                "image_count": _nullable("integer"),
                "name": _nullable("string"),
                "description": _nullable("string"),
                "images": {"type": "array", "items": {"type": "object"}},
                "file_count": _nullable("integer"),
                "dir_count": _nullable("integer"),
                "total_bytes": _nullable("integer"),
                "windows": _nullable("object", description="Windows details wimlib or DISM recorded in the WIM."),
            },
        },
        "os": _nullable("object", description="The os section of the readiness facts (or, without facts, what "
                                              "the WIM's XML says)."),
        "facts": _nullable("object", description="Selected readiness facts: os, setup, domain, licensing, disk, "
                                                 "virtualization, gatherer."),
        "source": {
            "type": "object",
            "properties": {
                "host": _nullable("string"),
                "kind": {"enum": list(SOURCE_KINDS) + [None]},
                "hypervisor": _nullable("string"),
                "disk": _nullable("string"),
            },
        },
        "answer_file": _nullable("object", properties={
            "settings": {"type": "object", "description": "Answer-file settings with every password removed."},
            "removed_secrets": {"type": "array", "items": {"type": "string"},
                                "description": "Dotted paths of the secret settings that were removed."},
            "persist_all_device_installs": {},
            "skip_rearm": {},
        }),
        "appx_removed": _nullable("array"),
        "drivers": _nullable("object"),
        "preflight": _nullable("object", properties={
            "findings": {"type": "array", "items": _FINDING},
            "resolved": {"type": "array", "items": {"type": "string"}},
            "still_failing": {"type": "array", "items": {"type": "string"}},
        }),
        "capture": {
            "type": "object",
            "required": ["backend"],
            "properties": {
                "backend": {"enum": list(CAPTURE_BACKENDS)},
                "compression": _nullable("string"),
                "exclusions": _nullable("array", items={"type": "string"}),
                "command": _nullable("string"),
            },
        },
        "verification": _nullable("object", properties={
            "phase": {"const": "verify"},
            "ready": _nullable("boolean"),
            "blockers": _nullable("integer"),
            "findings": {"type": "array", "items": _FINDING},
            "wim_verified": _nullable("boolean"),
        }),
        "lineage": {
            "type": "object",
            "required": ["built_from", "parent_id", "generalize_count", "rearm_count", "rearm_budget"],
            "properties": {
                "built_from": {"enum": ["media", "image"]},
                "parent_id": _nullable("string"),
                "parent_sha256": _nullable("string"),
                "generalize_count": {"type": "integer", "minimum": 1},
                "rearm_count": {"type": "integer", "minimum": 0},
                "rearm_budget": {"type": "integer", "minimum": 1},
                "remaining_rearms": {"type": "integer"},
                "skip_rearm": {"type": "boolean"},
                "findings": {"type": "array", "items": _FINDING},
                "notes": {"type": "array", "items": {"type": "string"}},
            },
        },
    },
}


def json_schema():
    return copy.deepcopy(MANIFEST_SCHEMA)


def check_manifest(manifest):
    """Light structural check without jsonschema (the module may run where it is not installed)."""
    problems = []
    for key in MANIFEST_SCHEMA["required"]:
        if key not in manifest:
            problems.append("missing %s" % key)
    if manifest.get("schema_version") != MANIFEST_SCHEMA_VERSION:
        problems.append("schema_version is not %s" % MANIFEST_SCHEMA_VERSION)
    sha = (manifest.get("image") or {}).get("sha256") or ""
    if not re.match(r"^[0-9a-f]{64}$", sha):
        problems.append("image.sha256 is not a SHA-256")
    if problems:
        raise ManifestError("invalid manifest: %s" % "; ".join(problems))
    return manifest
