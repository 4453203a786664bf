# Copyright: (c) 2026, winimage.generalize contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""winimage.generalize.image_publish with real WIMs, run as separate processes like Ansible runs it."""

from __future__ import annotations

import json
import os
import pathlib
import subprocess

import jsonschema
import pytest

import capture_support as support
from capture_support import requires_tools

from ansible_collections.winimage.generalize.plugins.modules import image_facts  # noqa: E402
from winimage_testdata import windows_tree  # noqa: E402
from winimage_testdata.fixtures import winimage_artifacts  # noqa: E402,F401 pylint: disable=unused-import

pytestmark = requires_tools

ROOT = pathlib.Path(__file__).resolve().parents[2]
MANIFEST_SCHEMA = json.loads((ROOT / "schemas" / "manifest.schema.json").read_text())
CATALOG_SCHEMA = json.loads((ROOT / "schemas" / "catalog.schema.json").read_text())
JOIN_PASSWORD = "Join-Pw-41c9e2aa"
ADMIN_PASSWORD = "Admin-Pw-7d0b3f11"
PLANTED = (JOIN_PASSWORD, ADMIN_PASSWORD)


@pytest.fixture(scope="module")
def wims(winimage_artifacts, tmp_path_factory):
    """Real WIMs captured from builder volumes: preset name -> (path, wim_capture result)."""
    directory = tmp_path_factory.mktemp("publish-wims")
    captured = {}
    for preset in ("generalized", "audit_mode", "reference_complete", "with_secrets"):
        dest = directory / ("%s.wim" % preset)
        result = support.run_cli("wim_capture", {"src": str(winimage_artifacts.build("ntfs", preset=preset).path),
                                                 "dest": str(dest), "name": preset}, directory)
        assert result["changed"], result
        captured[preset] = (dest, result)
    return captured


def publish(store, workdir, **args):
    args.setdefault("store", str(store))
    return support.run_cli("image_publish", args, workdir)


@pytest.fixture
def store(tmp_path):
    directory = tmp_path / "store"
    directory.mkdir()
    return directory


def test_concurrent_publishes_from_separate_processes_all_land_with_distinct_versions(wims, store, tmp_path):
    presets = ("generalized", "audit_mode", "reference_complete")
    processes = []
    for preset in presets:
        path, result = wims[preset]
        (tmp_path / preset).mkdir()
        argv, env = support.module_command("image_publish", {
            "store": str(store), "family": "win10-ent", "src": str(path), "sha256": result["sha256"],
            "capture": result}, tmp_path / preset)
        processes.append(subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    outputs = [json.loads(p.communicate(timeout=300)[0]) for p in processes]
    assert all(o["changed"] for o in outputs), [o.get("msg") for o in outputs]
    ids = sorted(o["id"] for o in outputs)
    date = ids[0].split("-")[-2]
    assert ids == ["win10-ent-%s-%d" % (date, n) for n in (1, 2, 3)]
    catalog = json.loads((store / "catalog.json").read_text())
    jsonschema.Draft202012Validator(CATALOG_SCHEMA).validate(catalog)
    assert sorted(e["id"] for e in catalog["images"]) == ids
    for entry in catalog["images"]:
        assert support.sha256_of(store / entry["file"]) == entry["sha256"]
        assert support.wim_verify(store / entry["file"]).returncode == 0
        manifest = json.loads((store / entry["manifest"]).read_text())
        jsonschema.Draft202012Validator(MANIFEST_SCHEMA).validate(manifest)
        assert manifest["image"]["name"] == entry["image_name"]
    listing = (store / "catalog.md").read_text()
    assert all(i in listing for i in ids)
    assert not [n for n in os.listdir(store) if "partial" in n]


def test_retention_keeps_the_newest_and_the_parent_of_a_kept_image(wims, store, tmp_path):
    order = ("generalized", "audit_mode", "reference_complete")
    ids = []
    for index, preset in enumerate(order):
        path, result = wims[preset]
        args = {"family": "ref", "src": str(path), "sha256": result["sha256"], "keep": 1, "capture": result}
        if index == 1:
            args["parent"] = ids[0]
        outcome = publish(store, tmp_path, **args)
        assert outcome["changed"], outcome.get("msg")
        ids.append(outcome["id"])
        if index == 1:
            # ids[0] is the parent of the kept newest image: retention must not delete it.
            assert outcome["deleted"] == []
            assert outcome["manifest"]["lineage"]["generalize_count"] == 2
    assert outcome["deleted"] == ids[:2]
    remaining = sorted(p.name for p in store.iterdir() if not p.name.startswith("."))
    assert remaining == sorted(["catalog.json", "catalog.md", ids[2] + ".wim", ids[2] + ".json"])
    listed = publish(store, tmp_path)
    assert [e["id"] for e in listed["images"]] == [ids[2]] and listed["changed"] is False


def test_manifest_holds_the_build_record_and_no_secret(wims, store, tmp_path, capsys, winimage_artifacts):
    path, result = wims["with_secrets"]
    verified = support.run_inprocess(image_facts, capsys, path=str(path), phase="verify")
    assert verified["summary"]["blockers"] > 0  # the image itself carries planted secrets: they stay facts only
    settings = {"specialize": {"domain_join": {"domain": "corp.example.com", "username": "join",
                                               "password": JOIN_PASSWORD}},
                "oobe_system": {"user_accounts": {"administrator_password": ADMIN_PASSWORD}},
                "generalize": {"persist_all_device_installs": True}}
    argv, env = support.module_command("image_publish", {
        "store": str(store), "family": "secrets", "src": str(path), "sha256": result["sha256"], "capture": result,
        "facts": verified["facts"], "verify_findings": verified["findings"], "verify_summary": verified["summary"],
        "answer_file_settings": settings, "source": {"host": "ref-secret", "kind": "physical"},
        "appx_removed": ["Microsoft.BingWeather"], "secret_values": list(PLANTED)}, tmp_path)
    completed = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=300, check=False)
    outcome = json.loads(completed.stdout)
    assert outcome["changed"], outcome.get("msg")
    manifest_text = (store / (outcome["id"] + ".json")).read_text()
    manifest = json.loads(manifest_text)
    jsonschema.Draft202012Validator(MANIFEST_SCHEMA).validate(manifest)
    image_secrets = windows_tree.secret_values(windows_tree.preset("with_secrets"))
    assert image_secrets, "the with_secrets preset must plant secrets"
    everything = manifest_text + (store / "catalog.json").read_text() + (store / "catalog.md").read_text()
    module_output = json.dumps({k: v for k, v in outcome.items() if k != "invocation"})
    for secret in list(PLANTED) + list(image_secrets):
        assert secret not in everything
        assert secret not in module_output
    assert manifest["answer_file"]["removed_secrets"] == ["oobe_system.user_accounts.administrator_password",
                                                          "specialize.domain_join.password"]
    assert manifest["drivers"]["persist_all_device_installs"] is True
    assert manifest["verification"]["ready"] is False and "answer_file_secrets" in manifest["verification"][
        "blocking_ids"]
    assert manifest["capture"]["backend"] == "wimlib" and manifest["capture"]["exclusions"]
    assert manifest["os"]["build"] == verified["facts"]["os"]["build"]
    assert manifest["source"] == {"host": "ref-secret", "kind": "physical", "hypervisor": None, "disk": None}
    assert any("redact_secrets" in str(w) for w in outcome.get("warnings", []))


def test_a_secret_value_found_anywhere_publishes_nothing(wims, store, tmp_path):
    path, result = wims["generalized"]
    outcome = publish(store, tmp_path, family="x", src=str(path), source={"host": "host-" + ADMIN_PASSWORD},
                      secret_values=[ADMIN_PASSWORD])
    assert outcome["failed"] and "secret values" in outcome["msg"]
    assert ADMIN_PASSWORD not in json.dumps({k: v for k, v in outcome.items() if k != "invocation"})
    assert sorted(os.listdir(store)) in ([], [".catalog.lock"])


def test_a_lineage_beyond_the_rearm_budget_warns(wims, store, tmp_path):
    parent = None
    for preset in ("generalized", "audit_mode", "reference_complete"):
        path, result = wims[preset]
        args = {"family": "chain", "src": str(path), "rearm_budget": 2}
        if parent:
            args["parent"] = parent
        outcome = publish(store, tmp_path, **args)
        parent = outcome["id"]
    assert [f["id"] for f in outcome["lineage_findings"]] == ["lineage_rearm_budget"]
    assert any("lineage_rearm_budget" in str(w) for w in outcome["warnings"])
    assert outcome["entry"]["generalize_count"] == 3
    # Without a capture result (a WIM made by DISM or by hand) the image details come from the WIM's XML.
    image = outcome["manifest"]["image"]
    assert (image["index"], image["name"], image["image_count"]) == (1, "reference_complete", 1)
    assert outcome["manifest"]["os"]["build"] == image["windows"]["version"]["build"]
    assert outcome["entry"]["os"]["product_name"] == image["windows"]["product_name"]
