# Copyright: (c) 2026, winimage.generalize contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""MBR and GPT partition tables, read-only, from a block source.

Written from the UEFI specification (GPT header and entry layout, CRC32 checks, the
protective MBR) and the classic PC partition table layout (four primary entries at
offset 446, extended partitions chained through EBRs). Partitions are numbered the way
Linux numbers them: GPT entries 1.., MBR primaries 1-4 and logical partitions from 5.
"""

from __future__ import annotations

import struct
import uuid
import zlib

MBR_SIGNATURE = b"\x55\xaa"
GPT_SIGNATURE = b"EFI PART"
MBR_PROTECTIVE = 0xEE
MBR_EXTENDED_TYPES = (0x05, 0x0F, 0x85)
MAX_LOGICAL_PARTITIONS = 128
MAX_GPT_ENTRIES = 1024

# GPT partition type GUIDs that matter when looking for Windows.
GPT_TYPES = {
    "ebd0a0a2-b9e5-4433-87c0-68b6b72699c7": "Microsoft basic data",
    "c12a7328-f81f-11d2-ba4b-00a0c93ec93b": "EFI system",
    "e3c9e316-0b5c-4db8-817d-f92df00215ae": "Microsoft reserved",
    "de94bba4-06d1-4d40-a16a-bfd50179d6ac": "Windows recovery environment",
    "5808c8aa-7e8f-42e0-85d2-e1e90434cfb3": "Windows LDM metadata",
    "af9b60a0-1431-4f62-bc68-3311714a69ad": "Windows LDM data",
    "e75caf8f-f680-4cee-afa3-b001e56efc2d": "Windows Storage Spaces",
    "0fc63daf-8483-4772-8e79-3d69d8477de4": "Linux filesystem",
    "0657fd6d-a4ab-43c4-84e5-0933c84b4f4f": "Linux swap",
    "21686148-6449-6e6f-744e-656564454649": "BIOS boot",
}
GPT_BASIC_DATA = "ebd0a0a2-b9e5-4433-87c0-68b6b72699c7"

MBR_TYPES = {
    0x01: "FAT12", 0x04: "FAT16", 0x05: "extended", 0x06: "FAT16", 0x07: "NTFS/exFAT",
    0x0B: "FAT32", 0x0C: "FAT32 (LBA)", 0x0E: "FAT16 (LBA)", 0x0F: "extended (LBA)",
    0x17: "hidden NTFS", 0x27: "Windows recovery (hidden NTFS)", 0x42: "Windows dynamic disk",
    0x82: "Linux swap", 0x83: "Linux", 0x85: "Linux extended", 0x8E: "Linux LVM",
    0xEE: "GPT protective", 0xEF: "EFI system",
}


class PartitionTableError(Exception):
    """The partition table is present but cannot be trusted; the message says why."""


class Partition(object):
    """One partition: byte offset and size inside the disk, plus its type."""

    def __init__(self, number, start, size, type_id, type_name, name=None, guid=None, attributes=0,
                 bootable=False):
        self.number = number
        self.start = start
        self.size = size
        self.type_id = type_id
        self.type_name = type_name
        self.name = name
        self.guid = guid
        self.attributes = attributes
        self.bootable = bootable

    def as_dict(self):
        return {
            "number": self.number, "start": self.start, "size": self.size, "type_id": self.type_id,
            "type_name": self.type_name, "name": self.name, "guid": self.guid,
        }

    def __repr__(self):
        return "Partition(%d, start=%d, size=%d, %s)" % (self.number, self.start, self.size, self.type_name)


class PartitionTable(object):
    def __init__(self, scheme, sector_size, partitions, disk_guid=None, notes=None):
        self.scheme = scheme
        self.sector_size = sector_size
        self.partitions = partitions
        self.disk_guid = disk_guid
        self.notes = notes or []

    def get(self, number):
        for partition in self.partitions:
            if partition.number == number:
                return partition
        return None


def _mbr_entries(sector):
    entries = []
    for index in range(4):
        raw = sector[446 + index * 16:446 + (index + 1) * 16]
        status, type_id, first_lba, sectors = struct.unpack("<B3xB3xII", raw)
        entries.append((status, type_id, first_lba, sectors))
    return entries


def _mbr_looks_valid(sector):
    """An MBR whose signature is there and whose entries are plausible (not an NTFS boot sector)."""
    if sector[510:512] != MBR_SIGNATURE:
        return False
    return all(status in (0x00, 0x80) for status, _t, _f, _s in _mbr_entries(sector))


def read_partition_table(source, sector_size=None):
    """The disk's partition table, or None when the disk has neither GPT nor MBR.

    GPT wins when both are present (the MBR is then the protective one). ``sector_size``
    defaults to 512, or 4096 when the GPT header is found there (4Kn disks).
    """
    first = source.read(0, 512)
    sizes = (sector_size,) if sector_size else (512, 4096)
    for size in sizes:
        header = source.read(size, 512)
        if header[:8] == GPT_SIGNATURE:
            return _read_gpt(source, size, first)
    if len(first) == 512 and _mbr_looks_valid(first):
        entries = _mbr_entries(first)
        if any(type_id == MBR_PROTECTIVE for _s, type_id, _f, _n in entries):
            raise PartitionTableError(
                "the MBR is a GPT protective MBR but no GPT header was found at LBA 1 (damaged GPT); "
                "repair it with gdisk or name the partition offset yourself")
        return _read_mbr(source, sector_size or 512, entries)
    return None


def _read_mbr(source, sector_size, entries):
    partitions = []
    notes = []
    for index, (status, type_id, first_lba, sectors) in enumerate(entries):
        if type_id == 0 or sectors == 0:
            continue
        if type_id in MBR_EXTENDED_TYPES:
            partitions.extend(_read_logical(source, sector_size, first_lba, notes))
            continue
        partitions.append(Partition(index + 1, first_lba * sector_size, sectors * sector_size,
                                    "0x%02x" % type_id, MBR_TYPES.get(type_id, "type 0x%02x" % type_id),
                                    bootable=status == 0x80))
    return PartitionTable("mbr", sector_size, partitions, notes=notes)


def _read_logical(source, sector_size, extended_start, notes):
    """Logical partitions: a chain of EBRs, each relative to the extended partition's start."""
    partitions = []
    ebr_lba = extended_start
    seen = set()
    number = 5
    while len(partitions) < MAX_LOGICAL_PARTITIONS:
        if ebr_lba in seen:
            notes.append("extended partition chain loops at LBA %d; stopped" % ebr_lba)
            break
        seen.add(ebr_lba)
        sector = source.read(ebr_lba * sector_size, 512)
        if len(sector) < 512 or sector[510:512] != MBR_SIGNATURE:
            notes.append("extended boot record at LBA %d has no signature; stopped" % ebr_lba)
            break
        (_s1, type1, first1, count1), (_s2, type2, first2, _count2) = _mbr_entries(sector)[:2]
        if type1 and count1:
            partitions.append(Partition(number, (ebr_lba + first1) * sector_size, count1 * sector_size,
                                        "0x%02x" % type1, MBR_TYPES.get(type1, "type 0x%02x" % type1)))
            number += 1
        if type2 not in MBR_EXTENDED_TYPES or first2 == 0:
            break
        ebr_lba = extended_start + first2
    return partitions


def _crc_ok(data, crc_offset, expected):
    zeroed = bytearray(data)
    zeroed[crc_offset:crc_offset + 4] = b"\0\0\0\0"
    return (zlib.crc32(bytes(zeroed)) & 0xFFFFFFFF) == expected


def _parse_gpt_header(raw):
    if raw[:8] != GPT_SIGNATURE:
        return None
    header_size, header_crc = struct.unpack_from("<II", raw, 12)
    if header_size < 92 or header_size > len(raw):
        return None
    if not _crc_ok(raw[:header_size], 16, header_crc):
        return None
    current, backup, first_usable, last_usable = struct.unpack_from("<QQQQ", raw, 24)
    disk_guid = str(uuid.UUID(bytes_le=bytes(raw[56:72])))
    entries_lba, entry_count, entry_size, entries_crc = struct.unpack_from("<QIII", raw, 72)
    return {
        "current": current, "backup": backup, "first_usable": first_usable, "last_usable": last_usable,
        "disk_guid": disk_guid, "entries_lba": entries_lba, "entry_count": entry_count,
        "entry_size": entry_size, "entries_crc": entries_crc,
    }


def _read_gpt(source, sector_size, first_sector):
    notes = []
    header = _parse_gpt_header(source.read(sector_size, sector_size))
    entries = header and _read_gpt_entries(source, sector_size, header)
    if entries is None:
        # Primary header or entries damaged: the backup header lives in the disk's last sector.
        last_lba = source.size // sector_size - 1
        backup = _parse_gpt_header(source.read(last_lba * sector_size, sector_size))
        entries = backup and _read_gpt_entries(source, sector_size, backup)
        if entries is None:
            raise PartitionTableError("the GPT header or its partition entries fail their CRC32 check, "
                                      "and so does the backup GPT; the disk image is damaged")
        header = backup
        notes.append("primary GPT damaged; read the backup GPT at LBA %d" % last_lba)
    partitions = []
    for index, raw in enumerate(entries):
        type_guid = str(uuid.UUID(bytes_le=bytes(raw[0:16])))
        if type_guid == "00000000-0000-0000-0000-000000000000":
            continue
        unique = str(uuid.UUID(bytes_le=bytes(raw[16:32])))
        first_lba, last_lba, attributes = struct.unpack_from("<QQQ", raw, 32)
        if last_lba < first_lba:
            notes.append("GPT entry %d ends before it starts; skipped" % (index + 1))
            continue
        name = bytes(raw[56:128]).decode("utf-16-le", "replace").split("\0", 1)[0]
        partitions.append(Partition(index + 1, first_lba * sector_size, (last_lba - first_lba + 1) * sector_size,
                                    type_guid, GPT_TYPES.get(type_guid, "GPT type " + type_guid), name=name,
                                    guid=unique, attributes=attributes))
    return PartitionTable("gpt", sector_size, partitions, disk_guid=header["disk_guid"], notes=notes)


def _read_gpt_entries(source, sector_size, header):
    count, size = header["entry_count"], header["entry_size"]
    if count == 0 or count > MAX_GPT_ENTRIES or size < 128 or size > 4096:
        return None
    data = source.read(header["entries_lba"] * sector_size, count * size)
    if len(data) < count * size or (zlib.crc32(data) & 0xFFFFFFFF) != header["entries_crc"]:
        return None
    return [data[i * size:(i + 1) * size] for i in range(count)]
