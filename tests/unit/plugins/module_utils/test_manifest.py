# Copyright: (c) 2026, winimage.generalize contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The image manifest: content, secret removal, lineage and the published schema."""

from __future__ import annotations

import json
import pathlib

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.winimage.generalize.plugins.module_utils import finding_catalog, manifest, rules
from ansible_collections.winimage.generalize.plugins.module_utils.finding_catalog import make_finding
from ansible_collections.winimage.generalize.plugins.module_utils.unattend import build_answer_file

ROOT = pathlib.Path(__file__).resolve().parents[4]
SCHEMA = json.loads((ROOT / "schemas" / "manifest.schema.json").read_text())
FINDING_SCHEMA = json.loads((ROOT / "schemas" / "finding.schema.json").read_text())
FACTS = json.loads((ROOT / "tests" / "data" / "facts" / "verify_win11_generalized.json").read_text())
PREFLIGHT_FACTS = json.loads((ROOT / "tests" / "data" / "facts" / "win10_22h2_blocked.json").read_text())
SHA = "ab" * 32

JOIN_PASSWORD = "J0in-Pw-7f3a91"
ADMIN_PASSWORD = "Adm1n-Pw-22c5e0"
AUTOLOGON_PASSWORD = "AutoL0gon-Pw-b81d"
LOCAL_PASSWORD = "L0cal-Pw-0e6d4c"
RAW_ELEMENT_PASSWORD = "Raw-Elem-Pw-5a5a"
SECRETS = (JOIN_PASSWORD, ADMIN_PASSWORD, AUTOLOGON_PASSWORD, LOCAL_PASSWORD, RAW_ELEMENT_PASSWORD)

# Answer-file settings as users write them for the builder (docs/answer-file.md), every
# password field planted.
SETTINGS = {
    "architecture": "amd64",
    "hide_passwords": True,
    "generalize": {"persist_all_device_installs": True, "skip_rearm": 0},
    "specialize": {
        "computer_name": "*",
        "time_zone": "W. Europe Standard Time",
        "domain_join": {"domain": "corp.example.com", "username": "svc-join", "password": JOIN_PASSWORD,
                        "machine_object_ou": "OU=Clients,DC=corp,DC=example,DC=com"},
    },
    "oobe_system": {
        "user_accounts": {"administrator_password": ADMIN_PASSWORD,
                          "local_accounts": [{"name": "support", "password": LOCAL_PASSWORD, "group": "Administrators"}]},
        "auto_logon": {"username": "Administrator", "password": AUTOLOGON_PASSWORD, "logon_count": 1},
    },
    "extra_components": [{
        "pass": "windowsPE", "component": "Microsoft-Windows-PnpCustomizationsWinPE",
        "settings": {"DriverPaths": {"PathAndCredentials": [{
            "wcm_key_value": "1", "Path": "\\\\files\\drivers",
            "Credentials": {"Domain": "CORP", "Username": "reader", "Password": RAW_ELEMENT_PASSWORD}}]}},
    }],
}


def build(**overrides):
    arguments = dict(image_id="win11-20260121-1", family="win11", created_at="2026-01-21T10:00:00Z",
                     image={"file": "win11-20260121-1.wim", "size": 123, "sha256": SHA, "index": 1})
    arguments.update(overrides)
    return manifest.build_manifest(**arguments)


def test_published_schema_is_the_module_schema():
    assert SCHEMA == manifest.json_schema()


def test_the_answer_file_builder_accepts_the_planted_settings():
    # The fixture is a real builder input, so the redaction is tested on the shape users pass.
    built = build_answer_file(SETTINGS)
    assert built.contains_password


def test_full_manifest_validates_and_carries_no_secret():
    verify = rules.evaluate(FACTS, phase="verify")
    preflight = rules.evaluate(PREFLIGHT_FACTS, phase="preflight")
    document = build(
        facts=FACTS, source={"host": "ref-win11", "kind": "vm", "hypervisor": "kvm", "disk": "/v/ref.qcow2"},
        answer_file_settings=SETTINGS, appx_removed=["Microsoft.BingNews"],
        drivers={"packages": ["oem1.inf"]}, preflight_findings=preflight, verify_findings=verify,
        verify_summary=rules.summarize(verify), wim_verified=True,
        capture={"compression": "max", "exclusions": ["\\pagefile.sys"], "volume_access": "loop",
                 "command": "wimlib-imagex capture ...", "fingerprint": "f" * 64, "verified": True,
                 "source": {"path": "/v/ref.qcow2", "format": "qcow2", "partition": 3, "secret_field": "x"}},
        secret_values=SECRETS)
    jsonschema.Draft202012Validator(SCHEMA).validate(document)
    text = json.dumps(document)
    for secret in SECRETS:
        assert secret not in text
    assert manifest.find_secret_keys(document) == []
    assert document["answer_file"]["removed_secrets"] == [
        "extra_components[0].settings.DriverPaths.PathAndCredentials[0].Credentials",
        "oobe_system.auto_logon.password",
        "oobe_system.user_accounts.administrator_password",
        "oobe_system.user_accounts.local_accounts[0].password",
        "specialize.domain_join.password",
    ]
    # What is not secret is kept: the reader learns how the image was built.
    assert document["answer_file"]["settings"]["specialize"]["domain_join"]["username"] == "svc-join"
    assert document["answer_file"]["settings"]["hide_passwords"] is True
    assert document["drivers"] == {"packages": ["oem1.inf"], "persist_all_device_installs": True}
    assert document["os"]["build"] == 22631 and document["facts"]["os"]["product_name"] == "Windows 10 Pro"
    assert document["verification"]["ready"] is True and document["verification"]["wim_verified"] is True
    assert document["capture"]["backend"] == "wimlib" and document["capture"]["compression"] == "max"
    assert document["source"]["kind"] == "vm"


def test_preflight_findings_resolved_are_those_no_longer_failing_on_the_image():
    preflight = [make_finding("domain_joined", "preflight", "joined"),
                 make_finding("pending_reboot", "preflight", "pending"),
                 make_finding("bitlocker_on", "preflight", "?", status="unknown")]
    verify = [make_finding("domain_joined", "verify", "still joined")]
    section = build(preflight_findings=preflight, verify_findings=verify)["preflight"]
    assert section["resolved"] == ["pending_reboot"]
    assert section["still_failing"] == ["domain_joined"]
    assert [f["id"] for f in section["findings"]] == ["domain_joined", "pending_reboot", "bitlocker_on"]
    assert all("message" not in f for f in section["findings"])


def test_verification_without_summary_is_derived_from_findings():
    verify = [make_finding("not_generalized", "verify", "not generalized")]
    section = build(verify_findings=verify)["verification"]
    assert section["ready"] is False and section["blockers"] == 1 and section["blocking_ids"] == ["not_generalized"]
    assert build()["verification"] is None


def test_os_comes_from_the_wim_when_no_facts_are_given():
    image = {"file": "a.wim", "size": 1, "sha256": SHA, "image_info": {"name": "W", "windows": {
        "product_name": "Windows 10 Enterprise", "edition_id": "Enterprise", "architecture": "amd64",
        "version": {"major": 10, "minor": 0, "build": 19045}, "default_language": "en-US"}}}
    document = build(image=image)
    assert document["os"]["build"] == 19045 and document["os"]["version"] == "10.0"
    assert document["facts"] is None and document["image"]["name"] == "W"


def test_a_secret_value_given_to_the_builder_is_refused_wherever_it_hides():
    with pytest.raises(manifest.ManifestError) as raised:
        build(source={"host": "ref-" + JOIN_PASSWORD, "kind": "vm"}, secret_values=[JOIN_PASSWORD])
    assert JOIN_PASSWORD not in str(raised.value)


def test_a_leftover_password_key_is_refused():
    with pytest.raises(manifest.ManifestError, match="capture.source.password"):
        manifest.assert_no_secrets({"capture": {"source": {"password": "x"}}})


@pytest.mark.parametrize("kind", ["laptop", "VM"])
def test_unknown_source_kind_is_named(kind):
    with pytest.raises(manifest.ManifestError, match="physical, vm, hyperv_host"):
        build(source={"kind": kind})


# --------------------------------------------------------------------------- lineage

def test_an_image_from_media_starts_the_lineage():
    lineage = build()["lineage"]
    assert lineage == {"built_from": "media", "parent_id": None, "parent_sha256": None, "generalize_count": 1,
                       "rearm_count": 1, "rearm_budget": 3, "remaining_rearms": 2, "skip_rearm": False,
                       "findings": [], "notes": []}


def test_each_rebuild_from_an_image_counts_and_the_budget_warning_cites_the_seed():
    parent = None
    counts = []
    for step in range(1, 5):
        document = build(image_id="w-20260101-%d" % step, parent=parent)
        counts.append((document["lineage"]["generalize_count"], document["lineage"]["rearm_count"]))
        parent = {"id": document["id"], "sha256": SHA, "lineage": document["lineage"]}
        if step < 3:
            assert document["lineage"]["findings"] == []
    assert counts == [(1, 1), (2, 2), (3, 3), (4, 4)]
    assert document["lineage"]["parent_id"] == "w-20260101-3"
    finding = document["lineage"]["findings"][0]
    assert finding["id"] == "lineage_rearm_budget" and finding["severity"] == "warning"
    assert (finding["status"], finding["phase"]) == ("fail", "verify")
    assert finding["reference"] == manifest.SEED_SKIP_REARM
    assert "installation media" in finding["remediation"]
    # One meaning wherever the id appears: title and remediation come from the finding catalogue.
    entry = finding_catalog.CATALOG["lineage_rearm_budget"]
    assert (finding["title"], finding["remediation"]) == (entry["title"], entry["remediation"])
    assert "generalized 4 times" in finding["message"] and "rearm budget of 3" in finding["message"]
    assert finding["evidence"] == {"generalize_count": 4, "rearm_count": 4, "rearm_budget": 3}
    jsonschema.Draft202012Validator(FINDING_SCHEMA).validate(finding)
    jsonschema.Draft202012Validator(SCHEMA).validate(document)


def test_the_last_rearm_of_the_budget_is_noted_before_it_is_exceeded():
    parent = {"id": "w-20260101-2", "sha256": SHA, "lineage": {"generalize_count": 2, "rearm_count": 2}}
    lineage = build(parent=parent)["lineage"]
    assert lineage["remaining_rearms"] == 0 and lineage["findings"] == []
    assert "installation media" in lineage["notes"][0]


def test_skip_rearm_generalizations_do_not_spend_a_rearm():
    parent = {"id": "w-20260101-3", "sha256": SHA, "lineage": {"generalize_count": 3, "rearm_count": 3}}
    settings_with_skip = {"generalize": {"skip_rearm": 1}}
    lineage = build(parent=parent, answer_file_settings=settings_with_skip)["lineage"]
    assert (lineage["generalize_count"], lineage["rearm_count"], lineage["skip_rearm"]) == (4, 3, True)
    assert lineage["findings"] == []


@pytest.mark.parametrize("budget", [0, -1, True, "3"])
def test_bad_rearm_budget_is_refused(budget):
    with pytest.raises(manifest.ManifestError, match="rearm_budget"):
        build(rearm_budget=budget)


# --------------------------------------------------------------------------- redaction, for any shape

SECRET_NAMES = st.sampled_from(["password", "Password", "AdministratorPassword", "machine_password",
                                "client_secret", "api_token", "Credentials", "ProductKey", "PWD"])
PLAIN_NAMES = st.sampled_from(["name", "domain", "username", "path", "settings", "value", "hide_passwords_note"])
SECRET_TEXT = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789!#", min_size=12, max_size=20).map(
    lambda s: "S3CRET" + s)


def _tree(depth):
    leaf = st.one_of(st.integers(), st.booleans(), st.text(alphabet="xyz", max_size=5), st.none())
    if depth == 0:
        return leaf
    child = _tree(depth - 1)
    return st.one_of(leaf, st.lists(child, max_size=3),
                     st.dictionaries(PLAIN_NAMES, child, max_size=3),
                     st.dictionaries(SECRET_NAMES, SECRET_TEXT, min_size=1, max_size=2))


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(st.one_of(PLAIN_NAMES, SECRET_NAMES), _tree(3), min_size=1, max_size=4))
def test_redaction_leaves_no_secret_value_in_any_shape(settings_tree):
    clean, removed = manifest.redact_settings(settings_tree)
    manifest.assert_no_secrets({"answer_file": clean})
    assert "S3CRET" not in json.dumps(clean)
    # Redaction only removes: whatever is left was there, and removing again changes nothing.
    assert manifest.redact_settings(clean) == (clean, [])
    if "S3CRET" in json.dumps(settings_tree):
        assert removed
