# Copyright: (c) 2026, winimage.generalize contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""MBR and GPT parsing, checked against sfdisk (util-linux) on tables sfdisk itself wrote.

sfdisk writes the tables (including extended partitions with their EBR chain and the GPT
backup header), our parser reads them, and ``sfdisk --json`` is the oracle. Cases sfdisk cannot
write (4Kn sectors) are built here from the UEFI layout and checked by value.
"""

from __future__ import annotations

import json
import shutil
import struct
import subprocess
import sys
import uuid
import zlib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ansible_collections.winimage.generalize.plugins.module_utils import partitions
from ansible_collections.winimage.generalize.plugins.module_utils.offline_source import FileSource

SUPPORT = Path(__file__).resolve().parents[3] / "support"
if str(SUPPORT) not in sys.path:
    sys.path.insert(0, str(SUPPORT))
from winimage_testdata import fixtures  # noqa: E402

# pytest finds a fixture by its name in the module: this binding makes it available here.
winimage_artifacts = fixtures.winimage_artifacts

SFDISK = shutil.which("sfdisk")
needs_sfdisk = pytest.mark.skipif(SFDISK is None, reason="needs sfdisk (Debian package fdisk)")
MIB = 1 << 20
BASIC_DATA = "EBD0A0A2-B9E5-4433-87C0-68B6B72699C7"
ESP = "C12A7328-F81F-11D2-BA4B-00A0C93EC93B"
MSR = "E3C9E316-0B5C-4DB8-817D-F92DF00215AE"
WINRE = "DE94BBA4-06D1-4D40-A16A-BFD50179D6AC"


def _sfdisk_write(path, script, size=64 * MIB):
    with open(path, "wb") as handle:
        handle.truncate(size)
    result = subprocess.run([SFDISK, "-q", str(path)], input=script.encode(), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, check=False)
    assert result.returncode == 0, result.stderr.decode()


def _sfdisk_read(path):
    output = subprocess.run([SFDISK, "--json", str(path)], stdout=subprocess.PIPE, check=True).stdout
    return json.loads(output)["partitiontable"]


def _read(path):
    with FileSource(str(path)) as source:
        return partitions.read_partition_table(source)


def _expected_from_sfdisk(table):
    sector = table["sectorsize"]
    rows = []
    for entry in table["partitions"]:
        number = int(entry["node"].rsplit("img", 1)[1])
        if table["label"] == "dos" and entry["type"].lower() in ("5", "f", "85"):
            continue  # the extended container itself is not a volume
        type_id = entry["type"].lower() if table["label"] == "gpt" else "0x%02x" % int(entry["type"], 16)
        rows.append((number, entry["start"] * sector, entry["size"] * sector, type_id))
    return rows


def _parsed(table):
    return [(p.number, p.start, p.size, p.type_id) for p in table.partitions]


@needs_sfdisk
def test_mbr_with_extended_and_logical_partitions(tmp_path):
    disk = tmp_path / "ext.img"
    _sfdisk_write(disk, "label: dos\n,8M,7,*\n,8M,c\n,,5\n,4M,7\n,4M,83\n,,7\n")
    table = _read(disk)
    assert table.scheme == "mbr"
    assert _parsed(table) == _expected_from_sfdisk(_sfdisk_read(disk))
    assert [p.number for p in table.partitions] == [1, 2, 5, 6, 7]
    assert table.get(1).bootable and table.get(5).type_name == "NTFS/exFAT"


@needs_sfdisk
def test_gpt_entries_types_and_names(tmp_path):
    disk = tmp_path / "gpt.img"
    _sfdisk_write(disk, "label: gpt\n"
                        "size=100M, type=%s, name=\"EFI system partition\"\n"
                        "size=16M, type=%s\n"
                        "size=300M, type=%s, name=\"Windows\"\n"
                        "type=%s\n" % (ESP, MSR, BASIC_DATA, WINRE), size=512 * MIB)
    table = _read(disk)
    oracle = _sfdisk_read(disk)
    assert table.scheme == "gpt" and table.disk_guid == oracle["id"].lower()
    assert _parsed(table) == _expected_from_sfdisk(oracle)
    assert [p.type_name for p in table.partitions] == [
        "EFI system", "Microsoft reserved", "Microsoft basic data", "Windows recovery environment"]
    assert table.get(3).name == "Windows"
    assert table.get(3).guid == oracle["partitions"][2]["uuid"].lower()


@needs_sfdisk
def test_damaged_primary_gpt_falls_back_to_the_backup(tmp_path):
    disk = tmp_path / "gpt.img"
    _sfdisk_write(disk, "label: gpt\n,8M,%s\n,,%s\n" % (ESP, BASIC_DATA))
    expected = _parsed(_read(disk))
    with open(disk, "r+b") as handle:
        handle.seek(512 + 40)
        handle.write(b"\xff" * 8)  # breaks the primary header's CRC32
    table = _read(disk)
    assert _parsed(table) == expected
    assert any("backup GPT" in note for note in table.notes)


@needs_sfdisk
def test_both_gpt_copies_damaged_is_a_clear_error(tmp_path):
    disk = tmp_path / "gpt.img"
    _sfdisk_write(disk, "label: gpt\n,,%s\n" % BASIC_DATA)
    size = disk.stat().st_size
    with open(disk, "r+b") as handle:
        for offset in (512 + 40, size - 512 + 40):
            handle.seek(offset)
            handle.write(b"\xff" * 8)
    with pytest.raises(partitions.PartitionTableError, match="CRC32"):
        _read(disk)


@needs_sfdisk
def test_protective_mbr_without_gpt_is_a_clear_error(tmp_path):
    disk = tmp_path / "gpt.img"
    _sfdisk_write(disk, "label: gpt\n,,%s\n" % BASIC_DATA)
    size = disk.stat().st_size
    with open(disk, "r+b") as handle:
        for offset in (512, size - 512):
            handle.seek(offset)
            handle.write(b"\0" * 8)  # no "EFI PART" signature anywhere
    with pytest.raises(partitions.PartitionTableError, match="protective MBR"):
        _read(disk)


def test_no_table_on_a_blank_disk(tmp_path):
    blank = tmp_path / "blank.img"
    blank.write_bytes(b"\0" * MIB)
    assert _read(blank) is None


def _gpt_disk(path, sector, entries, total_sectors=4096):
    """A GPT disk with ``sector``-byte sectors: entries are (type guid, first lba, last lba, name)."""
    table = bytearray(128 * 128)
    for index, (type_guid, first, last, name) in enumerate(entries):
        struct.pack_into("<16s16sQQQ", table, index * 128, uuid.UUID(type_guid).bytes_le,
                         uuid.uuid4().bytes_le, first, last, 0)
        encoded = name.encode("utf-16-le")
        table[index * 128 + 56:index * 128 + 56 + len(encoded)] = encoded
    header = bytearray(92)
    struct.pack_into("<8sIIIIQQQQ16sQIII", header, 0, b"EFI PART", 0x10000, 92, 0, 0, 1, total_sectors - 1,
                     34, total_sectors - 34, uuid.uuid4().bytes_le, 2, 128, 128, zlib.crc32(table))
    struct.pack_into("<I", header, 16, zlib.crc32(header))
    mbr = bytearray(512)
    struct.pack_into("<B3xB3xII", mbr, 446, 0, 0xEE, 1, total_sectors - 1)
    mbr[510:512] = b"\x55\xaa"
    with open(path, "wb") as handle:
        handle.truncate(total_sectors * sector)
        handle.write(mbr)
        handle.seek(sector)
        handle.write(header)
        handle.seek(2 * sector)
        handle.write(table)


def test_gpt_on_4k_sectors(tmp_path):
    disk = tmp_path / "4kn.img"
    _gpt_disk(disk, 4096, [(ESP, 256, 511, "EFI"), (BASIC_DATA, 512, 3999, "Windows")])
    table = _read(disk)
    assert table.sector_size == 4096
    assert _parsed(table) == [(1, 256 * 4096, 256 * 4096, ESP.lower()),
                              (2, 512 * 4096, 3488 * 4096, BASIC_DATA.lower())]


layouts = st.lists(st.tuples(st.integers(1, 6), st.sampled_from(["7", "c", "83", "27"])), min_size=1, max_size=7)


@needs_sfdisk
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(layout=layouts, extended=st.booleans())
def test_random_mbr_layouts_match_sfdisk(tmp_path, layout, extended):
    disk = tmp_path / "random.img"
    lines = ["label: dos"]
    primaries = layout if not extended else layout[:2]
    lines += [",%dM,%s" % (size, kind) for size, kind in primaries]
    if extended and len(layout) > 2:
        lines.append(",,5")
        lines += [",%dM,%s" % (size, kind) for size, kind in layout[2:]]
    _sfdisk_write(disk, "\n".join(lines) + "\n")
    assert _parsed(_read(disk)) == _expected_from_sfdisk(_sfdisk_read(disk))


def test_builder_disks_match_their_recorded_layout(winimage_artifacts):
    for kind in ("raw_mbr", "raw_gpt"):
        artifact = winimage_artifacts.build(kind, preset="generalized")
        table = _read(artifact.path)
        assert table.scheme == ("mbr" if kind == "raw_mbr" else "gpt")
        recorded = [(p.number, p.offset, p.size) for p in artifact.partitions]
        assert [(p.number, p.start, p.size) for p in table.partitions] == recorded
