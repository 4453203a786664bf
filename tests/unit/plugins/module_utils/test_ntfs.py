# Copyright: (c) 2026, winimage.generalize contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The pure-Python NTFS reader, cross-checked against ntfs-3g's own tools on real volumes.

The volume is made by the real tools (mkntfs, then wimlib-imagex apply in NTFS-3G mode) from a
directory tree chosen to exercise the hard parts: a directory large enough for a multi-level
$I30 B+ tree, a sparse file fragmented into hundreds of runs (its $DATA spills into extension
records through a non-resident $ATTRIBUTE_LIST), a file with five long hard-link names (its
$FILE_NAME attributes live in extension records), resident and empty files, and non-ASCII names
that only the volume's $UpCase table folds correctly. Every answer is compared with ntfscat,
ntfsls or ntfscluster reading the same image.
"""

from __future__ import annotations

import hashlib
import os
import random
import shutil
import struct
import subprocess

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.winimage.generalize.plugins.module_utils import ntfs
from ansible_collections.winimage.generalize.plugins.module_utils.offline_source import FileSource, SliceSource

TOOLS = ("mkntfs", "wimlib-imagex", "ntfscat", "ntfsls", "ntfscluster")
pytestmark = pytest.mark.skipif(
    any(shutil.which(tool) is None for tool in TOOLS),
    reason="needs %s (Debian packages ntfs-3g and wimtools)" % ", ".join(TOOLS))

MIB = 1 << 20
LONG = "L" * 200
UNICODE_NAMES = ("Łukasz.txt", "ÄÖÜ-Straße.ini", "Ωμέγα.log", "日本語.xml", "emoji-\U0001F600.txt")
BIG_DIRECTORY_FILES = 1500
SPARSE_PIECES = 600


def _run(*argv):
    result = subprocess.run([str(a) for a in argv], stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False)
    assert result.returncode == 0, result.stderr.decode("utf-8", "replace")
    return result.stdout


def _write_tree(root):
    """The directory tree the volume is built from; returns {volume path: content} of its files."""
    rng = random.Random(7)
    files = {}

    def put(relative, data):
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        files[relative] = data

    put("Windows/System32/config/SYSTEM", bytes(rng.getrandbits(8) for dummy in range(300000)))
    put("Windows/Setup/State/State.ini", b"[State]\r\nImageState=IMAGE_STATE_COMPLETE\r\n")
    put("tiny.txt", b"resident data")  # small enough to stay inside its MFT record
    put("empty.bin", b"")
    for index in range(BIG_DIRECTORY_FILES):
        put("Windows/WinSxS/file%04d.manifest" % index, ("manifest %d\n" % index).encode())
    for name in UNICODE_NAMES:
        put("Intl/" + name, name.encode("utf-8"))
    # Hard links: five 200-character names cannot share one 1 KiB MFT record.
    first = root / "Links" / (LONG + "1.txt")
    first.parent.mkdir(parents=True)
    first.write_bytes(b"hard linked\n" * 50)
    for index in range(2, 6):
        os.link(first, root / "Links" / ("%s%d.txt" % (LONG, index)))
        files["Links/%s%d.txt" % (LONG, index)] = first.read_bytes()
    files["Links/%s1.txt" % LONG] = first.read_bytes()
    # A sparse file: data every 64 KiB, holes between (hundreds of runs, an attribute list).
    sparse = root / "Sparse" / "holes.bin"
    sparse.parent.mkdir()
    with open(sparse, "wb") as handle:
        for index in range(SPARSE_PIECES):
            handle.seek(index * 65536)
            handle.write(bytes([index % 251 + 1]) * 4096)
        handle.truncate(SPARSE_PIECES * 65536)
    files["Sparse/holes.bin"] = sparse.read_bytes()
    return files


@pytest.fixture(scope="module")
def volume_image(tmp_path_factory):
    """(image path, {path: content}) of a 64 MiB NTFS volume built by mkntfs + wimlib."""
    base = tmp_path_factory.mktemp("ntfs")
    files = _write_tree(base / "tree")
    wim = base / "tree.wim"
    _run("wimlib-imagex", "capture", base / "tree", wim, "test", "--compress=none")
    image = base / "volume.ntfs"
    with open(image, "wb") as handle:
        handle.truncate(64 * MIB)
    _run("mkntfs", "-F", "-Q", "-q", image)
    _run("wimlib-imagex", "apply", wim, "1", image)
    return image, files


@pytest.fixture
def volume(volume_image):
    source = FileSource(str(volume_image[0]))
    yield ntfs.NtfsVolume(source)
    source.close()


def _ntfscat(image, path):
    return _run("ntfscat", image, "/" + path)


def _ntfsls(image, path):
    output = _run("ntfsls", "-a", "-s", "-p", "/" + path, image).decode("utf-8")
    return sorted(line for line in output.splitlines() if line and line not in (".", ".."))


def _ntfscluster(image):
    output = _run("ntfscluster", "-i", image).decode()
    values = {}
    for line in output.splitlines():
        key, dummy, value = line.partition(":")
        values[key.strip()] = value.strip()
    return values


def test_boot_sector_geometry_matches_ntfscluster(volume, volume_image):
    info = _ntfscluster(volume_image[0])
    assert volume.cluster_size == int(info["bytes per cluster"])
    assert volume.bytes_per_sector == int(info["bytes per sector"])
    assert volume.size_bytes == int(info["bytes per volume"])
    assert volume.record_size == 1024


def test_free_space_from_bitmap_matches_ntfscluster(volume, volume_image):
    assert volume.free_bytes() == int(_ntfscluster(volume_image[0])["bytes of free space"])


@pytest.mark.parametrize("path", [
    "Windows/System32/config/SYSTEM",
    "Windows/Setup/State/State.ini",
    "tiny.txt",
    "empty.bin",
    "Windows/WinSxS/file0000.manifest",
    "Windows/WinSxS/file0777.manifest",
    "Windows/WinSxS/file1499.manifest",
    "Sparse/holes.bin",
    "Links/%s3.txt" % LONG,
] + ["Intl/" + name for name in UNICODE_NAMES])
def test_file_content_matches_ntfscat_and_the_source(volume, volume_image, path):
    image, files = volume_image
    found = volume.lookup(path)
    assert found is not None and not found.is_directory
    data = found.read()
    assert data == files[path]
    assert hashlib.sha256(data).digest() == hashlib.sha256(_ntfscat(image, path)).digest()


def test_sparse_file_spans_extension_records_through_an_attribute_list(volume):
    record = volume.lookup("Sparse/holes.bin").record
    extents = record.find(ntfs.ATTR_DATA)
    assert len(extents) > 1, "the fixture should force $DATA into several extents"
    assert len({extent.record for extent in extents}) > 1
    assert any(attribute.type == ntfs.ATTR_ATTRIBUTE_LIST for attribute in record.attributes)
    stream = volume.lookup("Sparse/holes.bin").stream()
    assert any(lcn is None for _vcn, _count, lcn in stream.runs), "holes must be sparse runs"
    # A read across a hole and data in the middle of the file.
    assert stream.read(65536 * 10 + 4000, 200) == bytes([11]) * 96 + b"\0" * 104


def test_hard_link_names_in_extension_records(volume):
    found = volume.lookup("Links/%s5.txt" % LONG)
    names = sorted(name for name, _namespace, _parent in found.record.file_names())
    assert names == sorted("%s%d.txt" % (LONG, i) for i in range(1, 6))
    assert {a.record for a in found.record.attributes if a.type == ntfs.ATTR_FILE_NAME} != {found.record.number}


@pytest.mark.parametrize("path", ["", "Windows", "Windows/WinSxS", "Intl", "Links", "Windows/System32/config"])
def test_directory_listing_matches_ntfsls(volume, volume_image, path):
    assert sorted(volume.listdir(path)) == _ntfsls(volume_image[0], path)


def test_large_directory_uses_a_multi_level_index(volume):
    directory = volume.lookup("Windows/WinSxS").record
    root, _block_size = volume._index_root(directory)
    assert root[16 + 12] & ntfs.INDEX_NODE_HAS_SUBNODES
    assert len(volume.listdir("Windows/WinSxS")) == BIG_DIRECTORY_FILES


@pytest.mark.parametrize("query, stored", [
    ("windows/system32/CONFIG/system", "SYSTEM"),
    ("WINDOWS\\SETUP\\STATE\\state.INI", "State.ini"),
    ("intl/łUKASZ.TXT", "Łukasz.txt"),
    ("intl/äöü-STRASSE.ini", None),  # ß does not fold to SS in NTFS: not the same name
    ("intl/äöü-straße.INI", "ÄÖÜ-Straße.ini"),
    ("intl/ΩΜΈΓΑ.LOG", "Ωμέγα.log"),
    ("Windows/WinSxS/FILE1234.MANIFEST", "file1234.manifest"),
])
def test_lookup_is_case_insensitive_with_the_volume_upcase_table(volume, query, stored):
    found = volume.lookup(query)
    if stored is None:
        assert found is None
    else:
        assert found is not None and found.name == stored


@pytest.mark.parametrize("path", ["missing.txt", "Windows/missing/SYSTEM", "tiny.txt/child",
                                  "Windows/WinSxS/file1500.manifest", "Windows/WinSxS/file.manifest"])
def test_missing_paths_are_none(volume, path):
    assert volume.lookup(path) is None


def test_reads_a_volume_inside_a_larger_file_in_place(volume_image, tmp_path):
    image, files = volume_image
    disk = tmp_path / "disk.img"
    with open(disk, "wb") as out, open(image, "rb") as source:
        out.write(b"\xAA" * (3 * MIB))  # whatever precedes the partition must not matter
        shutil.copyfileobj(source, out)
        out.write(b"\x55" * MIB)
    with FileSource(str(disk)) as whole:
        inner = ntfs.NtfsVolume(SliceSource(whole, 3 * MIB, os.path.getsize(image)))
        assert inner.read_file("Windows/System32/config/SYSTEM") == files["Windows/System32/config/SYSTEM"]
        assert inner.read_file("Sparse/holes.bin") == files["Sparse/holes.bin"]


def test_reading_never_changes_the_image(volume_image):
    image, _files = volume_image
    before = (hashlib.sha256(image.read_bytes()).hexdigest(), os.stat(image).st_mtime_ns)
    with FileSource(str(image)) as source:
        reader = ntfs.NtfsVolume(source)
        reader.read_file("Windows/System32/config/SYSTEM")
        reader.listdir("Windows/WinSxS")
        reader.free_bytes()
    assert (hashlib.sha256(image.read_bytes()).hexdigest(), os.stat(image).st_mtime_ns) == before


def _copy(volume_image, tmp_path):
    target = tmp_path / "copy.ntfs"
    shutil.copyfile(volume_image[0], target)
    return target


def _record_offset(image, path):
    with FileSource(str(image)) as source:
        reader = ntfs.NtfsVolume(source)
        number = reader.lookup(path).record.number
        offset = reader.mft_lcn * reader.cluster_size + number * reader.record_size
        assert reader._mft_runs[0][0] == 0 and number < reader._mft_runs[0][1] * reader.cluster_size // 1024
        return offset


def test_torn_mft_record_is_a_clear_error(volume_image, tmp_path):
    image = _copy(volume_image, tmp_path)
    offset = _record_offset(image, "Windows/System32/config/SYSTEM")
    with open(image, "r+b") as handle:
        handle.seek(offset + 510)
        handle.write(b"\xde\xad")  # the update sequence number at the end of the first sector
    with FileSource(str(image)) as source:
        with pytest.raises(ntfs.NtfsError, match="update sequence mismatch"):
            ntfs.NtfsVolume(source).read_file("Windows/System32/config/SYSTEM")


def test_compressed_file_is_refused_clearly(volume_image, tmp_path):
    image = _copy(volume_image, tmp_path)
    offset = _record_offset(image, "Windows/System32/config/SYSTEM")
    with open(image, "r+b") as handle:
        handle.seek(offset)
        record = bytearray(handle.read(1024))
        position = struct.unpack_from("<H", record, 0x14)[0]
        while struct.unpack_from("<I", record, position)[0] != ntfs.ATTR_DATA:
            position += struct.unpack_from("<I", record, position + 4)[0]
        flags = struct.unpack_from("<H", record, position + 12)[0] | ntfs.ATTR_FLAG_COMPRESSED
        struct.pack_into("<H", record, position + 12, flags)
        handle.seek(offset)
        handle.write(record)
    with FileSource(str(image)) as source:
        with pytest.raises(ntfs.NtfsError, match="NTFS-compressed"):
            ntfs.NtfsVolume(source).read_file("Windows/System32/config/SYSTEM")


def test_not_ntfs_and_bitlocker_volumes_are_recognised(tmp_path):
    plain = tmp_path / "zeros.img"
    plain.write_bytes(b"\0" * 4096)
    with FileSource(str(plain)) as source:
        with pytest.raises(ntfs.NotNtfsError, match="no NTFS boot sector"):
            ntfs.NtfsVolume(source)
    locked = tmp_path / "bitlocker.img"
    locked.write_bytes(b"\xeb\x58\x90-FVE-FS-" + b"\0" * 4085)
    with FileSource(str(locked)) as source:
        with pytest.raises(ntfs.BitLockerError, match="BitLocker-encrypted"):
            ntfs.NtfsVolume(source)


def _encode_runs(runs):
    """Mapping pairs for [(clusters, lcn or None)] the way NTFS writes them (relative LCNs)."""
    out = bytearray()
    previous = 0
    for clusters, lcn in runs:
        length = clusters.to_bytes((clusters.bit_length() + 8) // 8, "little")
        if lcn is None:
            out.append(len(length))
            out += length
            continue
        delta = lcn - previous
        size = 1
        while not -(1 << (8 * size - 1)) <= delta < (1 << (8 * size - 1)):
            size += 1
        out.append(len(length) | (size << 4))
        out += length + delta.to_bytes(size, "little", signed=True)
        previous = lcn
    return bytes(out) + b"\0"


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 1 << 40), st.one_of(st.none(), st.integers(0, 1 << 47))),
                min_size=1, max_size=40))
def test_data_runs_round_trip(runs):
    decoded = ntfs.decode_runs(_encode_runs(runs))
    vcn = 0
    expected = []
    for clusters, lcn in runs:
        expected.append((vcn, clusters, lcn))
        vcn += clusters
    assert decoded == expected


@pytest.mark.parametrize("data", [b"\x31\x05", b"\x09" + b"\0" * 9, b"\x91\x01" + b"\0" * 9])
def test_corrupt_data_runs_raise(data):
    with pytest.raises(ntfs.NtfsError, match="corrupt data run"):
        ntfs.decode_runs(data)


def test_fixups_restore_the_sector_ends():
    record = bytearray(1024)
    record[0:4] = b"FILE"
    struct.pack_into("<HH", record, 4, 48, 3)
    record[48:50] = b"\x07\x00"
    record[50:52] = b"AB"
    record[52:54] = b"CD"
    record[510:512] = b"\x07\x00"
    record[1022:1024] = b"\x07\x00"
    ntfs.apply_fixups(record, "test record")
    assert record[510:512] == b"AB" and record[1022:1024] == b"CD"
