# Copyright: (c) 2026, winimage.generalize contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The image store: versioned names, atomic publishing, failure safety, retention, listing."""

from __future__ import annotations

import datetime
import hashlib
import json
import multiprocessing
import os
import pathlib

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.winimage.generalize.plugins.module_utils import atomic_files
from ansible_collections.winimage.generalize.plugins.module_utils import catalog as catalog_utils
from ansible_collections.winimage.generalize.plugins.module_utils import manifest as manifest_utils

ROOT = pathlib.Path(__file__).resolve().parents[4]
CATALOG_SCHEMA = json.loads((ROOT / "schemas" / "catalog.schema.json").read_text())
MANIFEST_SCHEMA = json.loads((ROOT / "schemas" / "manifest.schema.json").read_text())
DAY1 = datetime.datetime(2026, 1, 21, 9, 30, tzinfo=datetime.timezone.utc)
DAY2 = datetime.datetime(2026, 1, 22, 23, 59, tzinfo=datetime.timezone.utc)


def make_wim(directory, name, content=None):
    path = pathlib.Path(directory) / name
    path.write_bytes(content if content is not None else os.urandom(4096))
    return path


def sha(path):
    return hashlib.sha256(pathlib.Path(path).read_bytes()).hexdigest()


def manifest_maker(family="win11"):
    def make(image_id, image, parent):
        return manifest_utils.build_manifest(image_id, family, "2026-01-21T09:30:00Z", image, parent=parent)
    return make


def publish(store, src, family="win11", **kwargs):
    kwargs.setdefault("now", DAY1)
    return store.publish(str(src), family, manifest_maker(family), **kwargs)


def store_files(store_dir):
    return sorted(p.name for p in pathlib.Path(store_dir).iterdir() if not p.name.startswith("."))


def test_published_schema_is_the_module_schema():
    assert CATALOG_SCHEMA == catalog_utils.json_schema()


@pytest.fixture
def store(tmp_path):
    directory = tmp_path / "store"
    directory.mkdir()
    return catalog_utils.Store(str(directory), lock_timeout=30)


def test_versions_count_up_within_a_day_and_restart_the_next_day(store, tmp_path):
    ids = [publish(store, make_wim(tmp_path, "a%d.wim" % i))["id"] for i in range(3)]
    ids.append(publish(store, make_wim(tmp_path, "b.wim"), now=DAY2)["id"])
    ids.append(publish(store, make_wim(tmp_path, "c.wim"), family="win10")["id"])
    assert ids == ["win11-20260121-1", "win11-20260121-2", "win11-20260121-3", "win11-20260122-1",
                   "win10-20260121-1"]
    catalog = json.loads(pathlib.Path(store.catalog_path).read_text())
    jsonschema.Draft202012Validator(CATALOG_SCHEMA).validate(catalog)
    assert [e["id"] for e in catalog["images"]] == ["win10-20260121-1"] + ids[:4]
    for entry in catalog["images"]:
        wim = pathlib.Path(store.path(entry["file"]))
        assert sha(wim) == entry["sha256"] and wim.stat().st_size == entry["size"]
        manifest = json.loads(pathlib.Path(store.path(entry["manifest"])).read_text())
        jsonschema.Draft202012Validator(MANIFEST_SCHEMA).validate(manifest)
        assert manifest["id"] == entry["id"] and manifest["image"]["sha256"] == entry["sha256"]


def test_publishing_the_same_wim_again_changes_nothing(store, tmp_path):
    wim = make_wim(tmp_path, "a.wim")
    first = publish(store, wim)
    before = pathlib.Path(store.catalog_path).read_bytes()
    again = publish(store, wim, sha256=sha(wim))
    assert again["changed"] is False and again["id"] == first["id"]
    third = publish(store, wim)  # without the checksum: found after hashing the copy
    assert third["changed"] is False
    assert pathlib.Path(store.catalog_path).read_bytes() == before
    assert store_files(store.directory) == ["catalog.json", "catalog.md", first["id"] + ".json", first["id"] + ".wim"]


def test_a_wrong_expected_checksum_publishes_nothing(store, tmp_path):
    wim = make_wim(tmp_path, "a.wim")
    with pytest.raises(catalog_utils.CatalogError, match="was expected"):
        publish(store, wim, sha256="0" * 64)
    assert store_files(store.directory) == []
    assert os.listdir(store.directory) in ([], [".catalog.lock"])


def test_move_removes_the_source_and_keeps_its_bytes(store, tmp_path):
    wim = make_wim(tmp_path, "a.wim")
    digest = sha(wim)
    result = publish(store, wim, mode="move", sha256=digest)
    assert not wim.exists()
    assert sha(result["path"]) == digest


def test_check_mode_plans_the_id_and_writes_nothing(store, tmp_path):
    publish(store, make_wim(tmp_path, "a.wim"))
    before = sorted(os.listdir(store.directory))
    plan = publish(store, make_wim(tmp_path, "b.wim"), check_mode=True, keep=1)
    assert plan["changed"] is True and plan["id"] == "win11-20260121-2"
    assert plan["deleted"] == ["win11-20260121-1"]
    assert sorted(os.listdir(store.directory)) == before


@pytest.mark.parametrize("failing_step", ["manifest", "manifest_write", "catalog_write"])
def test_a_failure_at_any_step_leaves_catalogue_and_images_intact(store, tmp_path, monkeypatch, failing_step):
    first = publish(store, make_wim(tmp_path, "a.wim"))
    catalog_before = pathlib.Path(store.catalog_path).read_bytes()
    files_before = {name: sha(store.path(name)) for name in store_files(store.directory)}

    def broken_manifest(image_id, image, parent):
        raise manifest_utils.ManifestError("planted failure")

    real_write = atomic_files.write_file_atomic

    def failing_write(path, data, replace=True, mode=0o644):
        target = "json" if failing_step == "manifest_write" else "catalog.json"
        if path.endswith(target) and (failing_step == "catalog_write") == path.endswith("catalog.json"):
            raise OSError(28, "No space left on device", path)
        return real_write(path, data, replace, mode)

    maker = manifest_maker()
    if failing_step == "manifest":
        maker = broken_manifest
    else:
        monkeypatch.setattr(atomic_files, "write_file_atomic", failing_write)
    with pytest.raises((manifest_utils.ManifestError, OSError)):
        store.publish(str(make_wim(tmp_path, "b.wim")), "win11", maker, now=DAY1, keep=1)
    monkeypatch.undo()
    assert pathlib.Path(store.catalog_path).read_bytes() == catalog_before
    assert {name: sha(store.path(name)) for name in store_files(store.directory)} == files_before
    assert not [n for n in os.listdir(store.directory) if "partial" in n or ".tmp-" in n]
    # The store still works and the failed attempt did not use up a version number.
    assert publish(store, make_wim(tmp_path, "c.wim"))["id"] == "win11-20260121-2"
    assert first["id"] in [e["id"] for e in store.load()["images"]]


def test_an_unreadable_catalogue_stops_everything(store, tmp_path):
    pathlib.Path(store.catalog_path).write_text("{not json")
    with pytest.raises(catalog_utils.CatalogError, match="not valid JSON.*nothing was changed"):
        publish(store, make_wim(tmp_path, "a.wim"))
    assert store_files(store.directory) == ["catalog.json"]


def test_orphans_are_reported_never_deleted_and_keep_their_number(store, tmp_path):
    orphan = make_wim(store.directory, "win11-20260121-1.wim")
    result = publish(store, make_wim(tmp_path, "a.wim"), keep=1)
    assert result["id"] == "win11-20260121-2"
    assert result["orphans"] == ["win11-20260121-1.wim"]
    assert orphan.exists()


def test_leftover_copies_of_killed_publishes_are_removed_live_ones_kept(store, tmp_path):
    dead = pathlib.Path(atomic_files.hidden_name(store.path(catalog_utils.INCOMING), "partial"))
    dead.write_bytes(b"half a copy")
    live = atomic_files.hidden_name(store.path(catalog_utils.INCOMING), "partial")
    fd = atomic_files.create_locked(live)
    try:
        result = publish(store, make_wim(tmp_path, "a.wim"))
        assert result["removed_leftovers"] == [str(dead)]
        assert not dead.exists() and os.path.exists(live)
    finally:
        os.close(fd)


def test_unknown_parent_is_refused_and_known_parent_feeds_the_lineage(store, tmp_path):
    with pytest.raises(catalog_utils.CatalogError, match="parent image win11-20250101-1 is not in the catalogue"):
        publish(store, make_wim(tmp_path, "a.wim"), parent_id="win11-20250101-1")
    first = publish(store, make_wim(tmp_path, "b.wim"))
    child = publish(store, make_wim(tmp_path, "c.wim"), parent_id=first["id"])
    assert child["manifest"]["lineage"]["parent_id"] == first["id"]
    assert child["entry"]["generalize_count"] == 2 and child["entry"]["parent_id"] == first["id"]


@pytest.mark.parametrize("family", ["", "-win", "win/11", "a" * 65, "win11-20260121", "wïn"])
def test_unusable_family_names_are_refused(store, tmp_path, family):
    with pytest.raises(catalog_utils.CatalogError, match="family"):
        publish(store, make_wim(tmp_path, "a.wim"), family=family)


def test_missing_store_is_named(tmp_path):
    store = catalog_utils.Store(str(tmp_path / "nope"))
    with pytest.raises(catalog_utils.CatalogError, match="does not exist; create the directory"):
        publish(store, make_wim(tmp_path, "a.wim"))


# --------------------------------------------------------------------------- concurrency

def _publish_in_process(directory, src, barrier, results):
    store = catalog_utils.Store(directory, lock_timeout=60)
    barrier.wait(30)
    result = store.publish(src, "win11", manifest_maker(), now=DAY1)
    results.put(result["id"])


def test_concurrent_publishers_get_distinct_versions_and_all_land(store, tmp_path):
    count = 4
    sources = [str(make_wim(tmp_path, "c%d.wim" % i, os.urandom(2 << 20))) for i in range(count)]
    barrier = multiprocessing.Barrier(count)
    results = multiprocessing.Queue()
    workers = [multiprocessing.Process(target=_publish_in_process, args=(store.directory, s, barrier, results))
               for s in sources]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(120)
        assert worker.exitcode == 0
    ids = sorted(results.get(timeout=10) for _worker in workers)
    assert ids == ["win11-20260121-%d" % n for n in range(1, count + 1)]
    catalog = store.load()
    assert sorted(e["id"] for e in catalog["images"]) == ids
    assert sorted(e["sha256"] for e in catalog["images"]) == sorted(sha(s) for s in sources)


# --------------------------------------------------------------------------- retention

def entry(family, date, sequence, parent=None, pinned=False):
    item = {"id": catalog_utils.image_id(family, date, sequence), "family": family, "date": date,
            "sequence": sequence, "parent_id": parent}
    if pinned:
        item["pinned"] = True
    return item


def test_retention_keeps_the_newest_and_parents_of_kept_images():
    entries = [entry("w", "20260101", 1), entry("w", "20260101", 2), entry("w", "20260102", 1),
               entry("w", "20260103", 1, parent="w-20260101-1"), entry("x", "20250101", 1)]
    assert catalog_utils.plan_retention(entries, 1) == ["w-20260101-2", "w-20260102-1"]
    assert catalog_utils.plan_retention(entries, 1, families=["x"]) == []
    assert catalog_utils.plan_retention(entries, 0) == []
    assert catalog_utils.plan_retention(entries, 10) == []


def test_retention_protection_is_one_level_deep_so_lineages_expire():
    chain = [entry("w", "20260101", 1), entry("w", "20260102", 1, parent="w-20260101-1"),
             entry("w", "20260103", 1, parent="w-20260102-1"), entry("w", "20260104", 1, parent="w-20260103-1")]
    assert catalog_utils.plan_retention(chain, 1) == ["w-20260101-1", "w-20260102-1"]


def test_pinned_images_are_never_deleted():
    entries = [entry("w", "20260101", 1, pinned=True), entry("w", "20260102", 1), entry("w", "20260103", 1)]
    assert catalog_utils.plan_retention(entries, 1) == ["w-20260102-1"]


ENTRIES = st.lists(
    st.tuples(st.sampled_from(["a", "b"]), st.integers(20260101, 20260105), st.integers(1, 3),
              st.integers(0, 30)),
    min_size=1, max_size=25, unique_by=lambda t: t[:3])


@settings(max_examples=200, deadline=None)
@given(ENTRIES, st.integers(0, 4))
def test_retention_never_deletes_the_newest_nor_a_parent_of_what_stays(rows, keep):
    entries = [entry(f, str(d), s) for f, d, s, _p in rows]
    ids = [e["id"] for e in entries]
    for item, (_f, _d, _s, parent_pick) in zip(entries, rows):
        candidate = ids[parent_pick % len(ids)]
        item["parent_id"] = candidate if candidate != item["id"] else None
    deleted = set(catalog_utils.plan_retention(entries, keep))
    remaining = [e for e in entries if e["id"] not in deleted]
    for family in set(e["family"] for e in entries):
        newest = catalog_utils.newest_first([e for e in entries if e["family"] == family])[0]
        assert newest["id"] not in deleted
    if keep:
        kept_by_count = set()
        for family in set(e["family"] for e in entries):
            kept_by_count.update(e["id"] for e in catalog_utils.newest_first(
                [e for e in entries if e["family"] == family])[:keep])
        for item in entries:
            if item["id"] in kept_by_count and item["parent_id"]:
                assert item["parent_id"] not in deleted
        for family in set(e["family"] for e in entries):
            assert len([e for e in remaining if e["family"] == family]) >= min(
                keep, len([e for e in entries if e["family"] == family]))
    else:
        assert not deleted


def test_publishing_applies_retention_to_the_family_and_deletes_files_after_the_catalogue(store, tmp_path):
    ids = [publish(store, make_wim(tmp_path, "a%d.wim" % i), keep=2)["id"] for i in range(4)]
    publish(store, make_wim(tmp_path, "other.wim"), family="win10", keep=2)
    catalog = store.load()
    assert [e["id"] for e in catalog["images"]] == ["win10-20260121-1", ids[2], ids[3]]
    assert store_files(store.directory) == sorted(
        ["catalog.json", "catalog.md"] + ["%s.%s" % (i, ext) for i in ("win10-20260121-1", ids[2], ids[3])
                                          for ext in ("json", "wim")])


def test_prune_without_publishing(store, tmp_path):
    for i in range(3):
        publish(store, make_wim(tmp_path, "a%d.wim" % i))
    planned = store.prune(1, check_mode=True)
    assert planned["deleted"] == ["win11-20260121-1", "win11-20260121-2"] and len(store.load()["images"]) == 3
    done = store.prune(1)
    assert done["changed"] and done["deleted"] == planned["deleted"]
    assert [e["id"] for e in store.load()["images"]] == ["win11-20260121-3"]
    assert store.prune(1)["changed"] is False


def test_listing_shows_every_image_newest_first(store, tmp_path):
    for i in range(2):
        publish(store, make_wim(tmp_path, "a%d.wim" % i))
    text = pathlib.Path(store.listing_path).read_text()
    assert text.index("win11-20260121-2") < text.index("win11-20260121-1")
    assert "## win11" in text and "from media, generalized 1x" in text
    assert catalog_utils.render_listing(catalog_utils.empty_catalog()).endswith("No images published yet.\n")
