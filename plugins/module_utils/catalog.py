# Copyright: (c) 2026, winimage.generalize contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The image store: versioned WIMs, their manifests, one catalogue, retention.

Layout of a store directory::

    catalog.json                    the index (CATALOG_SCHEMA), the only file readers need
    catalog.md                      the same as a readable table, rewritten with catalog.json
    <family>-<yyyymmdd>-<n>.wim     published images; n counts up within a family and UTC day
    <family>-<yyyymmdd>-<n>.json    the manifest of each image
    .catalog.lock                   flock() taken by every writer
    .incoming.wim.partial-*         copies in progress (or leftovers of a killed publish)

Publishing copies the WIM into the store under a hidden name (fsynced) without holding the
lock, so a long copy never blocks other publishers. Then, under the lock: allocate the next
version, link the copy to its versioned name (``link`` never replaces an existing file), write
the manifest, write the new catalogue (temporary file, fsync, ``rename``), and only then delete
the files of images retention dropped. A failure before the catalogue is written removes the
new files again, so the catalogue and every existing image stay as they were.

Retention (``keep`` N per family) never deletes the newest image of a family, and never an
image that a kept image names as its parent. The protection is one level deep: the parent of a
kept parent may go, otherwise a lineage of rebuilds would never expire. Images not listed in the
catalogue are never deleted; they are reported as orphans.
"""

from __future__ import annotations

import copy
import datetime
import json
import os
import re

from ansible_collections.winimage.generalize.plugins.module_utils import atomic_files

CATALOG_SCHEMA_VERSION = "1.0"
CATALOG_KIND = "winimage.generalize.image_catalog"
CATALOG_FILE = "catalog.json"
LISTING_FILE = "catalog.md"
LOCK_FILE = ".catalog.lock"
INCOMING = "incoming.wim"
FAMILY_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
ID_PATTERN = re.compile(r"^(?P<family>[A-Za-z0-9][A-Za-z0-9._-]*)-(?P<date>[0-9]{8})-(?P<sequence>[0-9]+)$")
FILE_PATTERN = re.compile(r"^(?P<id>.+)\.(?:wim|json)$")


class CatalogError(Exception):
    """The store or catalogue cannot be used as asked; the message says why and what to do."""


def utc_now():
    return datetime.datetime.now(datetime.timezone.utc)


def iso(moment):
    return moment.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def check_family(family):
    if not isinstance(family, str) or not FAMILY_PATTERN.match(family) or re.search(r"-[0-9]{8}$", family):
        raise CatalogError("family %r is not usable: use 1-64 letters, digits, '.', '_' or '-', starting with a "
                           "letter or digit and not ending in -<8 digits> (e.g. win11-23h2-enterprise)" % (family,))


def image_id(family, date, sequence):
    return "%s-%s-%d" % (family, date, sequence)


def parse_id(value):
    match = ID_PATTERN.match(value or "")
    if not match:
        return None
    return match.group("family"), match.group("date"), int(match.group("sequence"))


def empty_catalog():
    return {"schema_version": CATALOG_SCHEMA_VERSION, "kind": CATALOG_KIND, "updated_at": None, "images": []}


def sort_entries(entries):
    """Family, then oldest to newest."""
    return sorted(entries, key=lambda e: (e["family"], e["date"], e["sequence"]))


def newest_first(entries):
    return sorted(entries, key=lambda e: (e["date"], e["sequence"]), reverse=True)


# --------------------------------------------------------------------------- retention

def plan_retention(entries, keep, families=None):
    """Ids retention would delete: beyond the ``keep`` newest of each family in ``families``
    (all when None), except the newest of a family and parents of any kept image."""
    if not keep or keep < 1:
        return []
    by_family = {}
    for entry in entries:
        by_family.setdefault(entry["family"], []).append(entry)
    candidates = []
    kept = []
    for family, members in by_family.items():
        ordered = newest_first(members)
        if families is not None and family not in families:
            kept.extend(ordered)
            continue
        kept.extend(ordered[:max(keep, 1)])
        candidates.extend(ordered[max(keep, 1):])
    protected = set(entry.get("parent_id") for entry in kept if entry.get("parent_id"))
    return sorted(entry["id"] for entry in candidates
                  if entry["id"] not in protected and not entry.get("pinned"))


# --------------------------------------------------------------------------- listing

def _size(value):
    if value is None:
        return "-"
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return ("%d %s" % (value, unit)) if unit == "B" else ("%.1f %s" % (value, unit))
        value /= 1024.0


def _cell(value):
    text = "-" if value is None or value == "" else str(value)
    return text.replace("|", "\\|").replace("\n", " ")


def render_listing(catalog):
    """catalog.md: one table per family, newest first."""
    lines = ["# Image catalogue", "",
             "Generated from `catalog.json` (do not edit). Updated %s." % (catalog.get("updated_at") or "-"), ""]
    entries = catalog.get("images") or []
    if not entries:
        lines.append("No images published yet.")
        return "\n".join(lines) + "\n"
    families = sorted(set(e["family"] for e in entries))
    for family in families:
        members = newest_first([e for e in entries if e["family"] == family])
        lines += ["## %s" % family, "",
                  "| id | published | operating system | build | arch | size | verified | lineage | sha256 |",
                  "|---|---|---|---|---|---|---|---|---|"]
        for entry in members:
            os_info = entry.get("os") or {}
            verification = entry.get("verification") or {}
            ready = verification.get("ready")
            lineage = "from media" if not entry.get("parent_id") else "from %s" % entry["parent_id"]
            lineage += ", generalized %sx" % entry.get("generalize_count", "?")
            lines.append("| %s |" % " | ".join(_cell(v) for v in (
                entry["id"], entry.get("published_at"), os_info.get("product_name"), os_info.get("build"),
                os_info.get("architecture"), _size(entry.get("size")),
                "-" if ready is None else ("ready" if ready else "BLOCKED (%s)" % ", ".join(
                    verification.get("blocking_ids") or []) or "blocked"),
                lineage, (entry.get("sha256") or "")[:16])))
        lines.append("")
    return "\n".join(lines)


# --------------------------------------------------------------------------- the store

class Store(object):
    """A directory of published images. Every change happens under ``.catalog.lock``."""

    def __init__(self, directory, lock_timeout=None):
        self.directory = os.path.abspath(directory)
        self.lock_timeout = lock_timeout
        self.listing_error = None

    # -------------------------------------------------------------- paths
    def path(self, name):
        return os.path.join(self.directory, name)

    @property
    def catalog_path(self):
        return self.path(CATALOG_FILE)

    @property
    def listing_path(self):
        return self.path(LISTING_FILE)

    def lock(self):
        return atomic_files.FileLock(self.path(LOCK_FILE), self.lock_timeout, what="the image store %s"
                                     % self.directory)

    def check_directory(self):
        if not os.path.isdir(self.directory):
            raise CatalogError("the image store %s does not exist; create the directory first" % self.directory)

    # -------------------------------------------------------------- catalogue
    def load(self):
        """The catalogue (an empty one when the file does not exist yet)."""
        try:
            with open(self.catalog_path, "rb") as handle:
                data = handle.read()
        except FileNotFoundError:
            return empty_catalog()
        try:
            catalog = json.loads(data.decode("utf-8"))
        except ValueError as error:
            raise CatalogError("%s is not valid JSON (%s); restore it from a backup or fix it by hand; nothing was "
                               "changed" % (self.catalog_path, error))
        if not isinstance(catalog, dict) or not isinstance(catalog.get("images"), list):
            raise CatalogError("%s is not a winimage.generalize catalogue (no images list); nothing was changed"
                               % self.catalog_path)
        if catalog.get("schema_version", "1.0").split(".", 1)[0] != CATALOG_SCHEMA_VERSION.split(".", 1)[0]:
            raise CatalogError("%s has schema version %s, this collection writes %s; upgrade the collection"
                               % (self.catalog_path, catalog.get("schema_version"), CATALOG_SCHEMA_VERSION))
        return catalog

    def save(self, catalog, now):
        catalog = copy.deepcopy(catalog)
        catalog["images"] = sort_entries(catalog["images"])
        catalog["updated_at"] = iso(now)
        atomic_files.write_file_atomic(self.catalog_path, json.dumps(catalog, indent=2, sort_keys=True) + "\n")
        # The listing is derived: written after the catalogue, so a crash between the two leaves an
        # older listing, never a catalogue that disagrees with the files.
        try:
            atomic_files.write_file_atomic(self.listing_path, render_listing(catalog))
        except OSError as error:
            self.listing_error = "%s could not be written: %s" % (self.listing_path, error.strerror or error)
        return catalog

    def find(self, catalog, image_id_value):
        for entry in catalog["images"]:
            if entry["id"] == image_id_value:
                return entry
        return None

    def find_sha(self, catalog, family, sha256):
        for entry in catalog["images"]:
            if entry["family"] == family and entry.get("sha256") == sha256:
                return entry
        return None

    def orphans(self, catalog):
        """Versioned files in the store that the catalogue does not list (never deleted by us)."""
        listed = set()
        for entry in catalog["images"]:
            listed.update((entry.get("file"), entry.get("manifest")))
        found = []
        for name in sorted(os.listdir(self.directory)):
            match = FILE_PATTERN.match(name)
            if match and parse_id(match.group("id")) and name not in listed:
                found.append(name)
        return found

    def next_sequence(self, catalog, family, date):
        """1 + the highest n of family/date in the catalogue or on disk (orphans keep their number)."""
        used = [e["sequence"] for e in catalog["images"] if e["family"] == family and e["date"] == date]
        for name in os.listdir(self.directory):
            match = FILE_PATTERN.match(name)
            parsed = parse_id(match.group("id")) if match else None
            if parsed and parsed[0] == family and parsed[1] == date:
                used.append(parsed[2])
        return max(used or [0]) + 1

    def incoming_leftovers(self):
        """Hidden copies of earlier publishes that no live process holds (killed runs)."""
        pattern = atomic_files.hidden_pattern(self.path(INCOMING), "partial")
        return [path for path in atomic_files.leftovers([pattern]) if not atomic_files.is_locked(path)]

    # -------------------------------------------------------------- publish
    def publish(self, src, family, make_manifest, sha256=None, mode="copy", keep=0, parent_id=None, now=None,
                check_mode=False):
        """Publish ``src`` as the next version of ``family``.

        ``make_manifest(image_id, image, parent_entry)`` returns the manifest document; ``image``
        carries file, size and sha256. Returns a result dict (changed, entry, deleted, ...).
        """
        self.check_directory()
        check_family(family)
        if mode not in ("copy", "move"):
            raise CatalogError("mode must be copy or move")
        if not os.path.isfile(src):
            raise CatalogError("src %s is not a file" % src)
        now = now or utc_now()
        catalog = self.load()
        parent = self._parent(catalog, parent_id)
        known_sha = sha256 or (None if not check_mode else atomic_files.sha256_file(src))
        if known_sha:
            existing = self.find_sha(catalog, family, known_sha)
            if existing is not None:
                return self._unchanged(catalog, existing)
        if check_mode:
            return self._plan(catalog, family, now, keep)
        incoming = _Incoming(self.path(INCOMING))
        try:
            copied_sha = incoming.fill(src, mode)
            actual_sha = copied_sha or sha256 or atomic_files.sha256_file(incoming.path)
            if sha256 and copied_sha and copied_sha != sha256:
                raise CatalogError("the copy of %s has SHA-256 %s but %s was expected (the file changed or the copy is "
                                   "damaged); nothing was published" % (src, copied_sha, sha256))
            with self.lock():
                result = self._publish_locked(incoming, family, actual_sha, make_manifest, keep, parent_id, now)
        finally:
            incoming.discard()
        if mode == "move" and result["changed"]:
            atomic_files.remove_path(src)
        return result

    def _parent(self, catalog, parent_id):
        if not parent_id:
            return None
        parent = self.find(catalog, parent_id)
        if parent is None:
            raise CatalogError("parent image %s is not in the catalogue of %s; give the id of a published image "
                               "(see catalog.md) or leave parent unset for an image built from media"
                               % (parent_id, self.directory))
        return parent

    def _unchanged(self, catalog, entry):
        return {"changed": False, "entry": entry, "id": entry["id"], "path": self.path(entry["file"]),
                "manifest_path": self.path(entry["manifest"]), "deleted": [], "orphans": self.orphans(catalog),
                "catalog": catalog}

    def _plan(self, catalog, family, now, keep):
        date = now.strftime("%Y%m%d")
        planned_id = image_id(family, date, self.next_sequence(catalog, family, date))
        entries = catalog["images"] + [{"id": planned_id, "family": family, "date": date, "sequence": 10 ** 9}]
        return {"changed": True, "entry": None, "id": planned_id, "path": self.path(planned_id + ".wim"),
                "manifest_path": self.path(planned_id + ".json"),
                "deleted": plan_retention(entries, keep, families=[family]), "orphans": self.orphans(catalog),
                "catalog": catalog}

    def _publish_locked(self, incoming, family, sha256, make_manifest, keep, parent_id, now):
        removed_leftovers = [p for p in self.incoming_leftovers() if atomic_files.remove_path(p)]
        catalog = self.load()  # again: another publisher may have changed it while we copied
        existing = self.find_sha(catalog, family, sha256)
        if existing is not None:
            return dict(self._unchanged(catalog, existing), removed_leftovers=removed_leftovers)
        parent = self._parent(catalog, parent_id)
        date = now.strftime("%Y%m%d")
        sequence = self.next_sequence(catalog, family, date)
        new_id = image_id(family, date, sequence)
        wim_name, manifest_name = new_id + ".wim", new_id + ".json"
        size = os.stat(incoming.path).st_size
        manifest = make_manifest(new_id, {"file": wim_name, "size": size, "sha256": sha256}, parent)
        created = []
        try:
            atomic_files.link_into_place(incoming.path, self.path(wim_name))
            created.append(self.path(wim_name))
            atomic_files.write_file_atomic(self.path(manifest_name),
                                           json.dumps(manifest, indent=2, sort_keys=True) + "\n", replace=False)
            created.append(self.path(manifest_name))
            entry = catalog_entry(new_id, family, date, sequence, wim_name, manifest_name, size, sha256, now, manifest)
            catalog["images"].append(entry)
            deleted_ids = plan_retention(catalog["images"], keep, families=[family])
            dropped = [e for e in catalog["images"] if e["id"] in deleted_ids]
            catalog["images"] = [e for e in catalog["images"] if e["id"] not in deleted_ids]
            catalog = self.save(catalog, now)
        except BaseException:
            for path in created:
                atomic_files.remove_path(path)
            raise
        deleted, errors = self._delete_files(dropped)
        return {"changed": True, "entry": entry, "id": new_id, "path": self.path(wim_name),
                "manifest_path": self.path(manifest_name), "manifest": manifest, "deleted": deleted,
                "retention_errors": errors, "removed_leftovers": removed_leftovers,
                "orphans": self.orphans(catalog), "catalog": catalog}

    def _delete_files(self, entries):
        deleted, errors = [], []
        for entry in entries:
            for name in (entry.get("file"), entry.get("manifest")):
                if not name:
                    continue
                try:
                    atomic_files.remove_path(self.path(name))
                except OSError as error:
                    errors.append("%s: %s" % (name, error.strerror or error))
            deleted.append(entry["id"])
        if entries:
            atomic_files.fsync_directory(self.directory)
        return deleted, errors

    # -------------------------------------------------------------- retention without publishing
    def prune(self, keep, families=None, now=None, check_mode=False):
        self.check_directory()
        now = now or utc_now()
        if check_mode:
            catalog = self.load()
            return {"changed": bool(plan_retention(catalog["images"], keep, families)), "catalog": catalog,
                    "deleted": plan_retention(catalog["images"], keep, families), "retention_errors": [],
                    "orphans": self.orphans(catalog)}
        with self.lock():
            catalog = self.load()
            deleted_ids = plan_retention(catalog["images"], keep, families)
            if not deleted_ids:
                return {"changed": False, "catalog": catalog, "deleted": [], "retention_errors": [],
                        "orphans": self.orphans(catalog)}
            dropped = [e for e in catalog["images"] if e["id"] in deleted_ids]
            catalog["images"] = [e for e in catalog["images"] if e["id"] not in deleted_ids]
            catalog = self.save(catalog, now)
            deleted, errors = self._delete_files(dropped)
        return {"changed": True, "catalog": catalog, "deleted": deleted, "retention_errors": errors,
                "orphans": self.orphans(catalog)}


class _Incoming(object):
    """The hidden copy of a WIM being published, flocked while we live so cleanup skips it."""

    def __init__(self, template):
        self.path = atomic_files.hidden_name(template, "partial")
        self._fd = None

    def fill(self, src, mode):
        """Copy src (for move on the same filesystem: hard-link it). Returns the SHA-256 when copied."""
        if mode == "move":
            try:
                os.link(src, self.path)
            except OSError:
                pass  # another filesystem or no hard links: copy, and delete src after publishing
            else:
                self._fd = atomic_files.open_locked(self.path)
                return None
        self._fd = atomic_files.create_locked(self.path)
        return atomic_files.copy_and_hash(src, self._fd)

    def discard(self):
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        atomic_files.remove_path(self.path)


def catalog_entry(new_id, family, date, sequence, wim_name, manifest_name, size, sha256, now, manifest):
    os_info = manifest.get("os") or {}
    lineage = manifest.get("lineage") or {}
    verification = manifest.get("verification") or {}
    source = manifest.get("source") or {}
    image = manifest.get("image") or {}
    return {
        "id": new_id,
        "family": family,
        "date": date,
        "sequence": sequence,
        "file": wim_name,
        "manifest": manifest_name,
        "size": size,
        "sha256": sha256,
        "published_at": iso(now),
        "image_name": image.get("name"),
        "index": image.get("index"),
        "os": {
            "product_name": os_info.get("product_name"),
            "edition_id": os_info.get("edition_id"),
            "build": os_info.get("build"),
            "architecture": os_info.get("architecture"),
        },
        "source_host": source.get("host"),
        "source_kind": source.get("kind"),
        "parent_id": lineage.get("parent_id"),
        "generalize_count": lineage.get("generalize_count"),
        "rearm_count": lineage.get("rearm_count"),
        "verification": {
            "ready": verification.get("ready"),
            "blockers": verification.get("blockers"),
            "blocking_ids": verification.get("blocking_ids") or [],
        },
    }


# --------------------------------------------------------------------------- schema

CATALOG_SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": "https://github.com/winimage/generalize/schemas/catalog.schema.json",
    "title": "winimage.generalize image catalogue",
    "description": "catalog.json of an image store. Version " + CATALOG_SCHEMA_VERSION + ".",
    "type": "object",
    "required": ["schema_version", "kind", "updated_at", "images"],
    "properties": {
        "schema_version": {"const": CATALOG_SCHEMA_VERSION},
        "kind": {"const": CATALOG_KIND},
        "updated_at": {"type": ["string", "null"], "description": "UTC, ISO 8601."},
        "images": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["id", "family", "date", "sequence", "file", "manifest", "size", "sha256",
                             "published_at", "parent_id", "generalize_count"],
                "properties": {
                    "id": {"type": "string", "pattern": ID_PATTERN.pattern},
                    "family": {"type": "string", "pattern": FAMILY_PATTERN.pattern},
                    "date": {"type": "string", "pattern": "^[0-9]{8}$"},
                    "sequence": {"type": "integer", "minimum": 1},
                    "file": {"type": "string"},
                    "manifest": {"type": "string"},
                    "size": {"type": "integer", "minimum": 0},
                    "sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
                    "published_at": {"type": "string"},
                    "image_name": {"type": ["string", "null"]},
                    "index": {"type": ["integer", "null"]},
                    "os": {"type": "object"},
                    "source_host": {"type": ["string", "null"]},
                    "source_kind": {"type": ["string", "null"]},
                    "parent_id": {"type": ["string", "null"]},
                    "generalize_count": {"type": ["integer", "null"]},
                    "rearm_count": {"type": ["integer", "null"]},
                    "pinned": {"type": "boolean", "description": "Set by hand to exempt an image from retention."},
                    "verification": {"type": "object"},
                },
            },
        },
    },
}


def json_schema():
    return copy.deepcopy(CATALOG_SCHEMA)
