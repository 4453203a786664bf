# Copyright: (c) 2026, winimage.generalize contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure-Python MBR and GPT partition tables, and a tiny FAT12 formatter.

Written so the test data needs no sfdisk/sgdisk/mkfs.fat. The layouts follow
the UEFI specification (GPT header, CRC32s, backup header and entries at the
end of the disk, protective MBR) and the classic MBR partition entry.
"""

from __future__ import annotations

import struct
import uuid
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional, Sequence

SECTOR = 512
MIB = 1024 * 1024
GPT_ENTRIES = 128
GPT_ENTRY_SIZE = 128
GPT_ENTRY_SECTORS = GPT_ENTRIES * GPT_ENTRY_SIZE // SECTOR  # 32

# Partition type GUIDs (UEFI spec / Microsoft partition docs).
GPT_ESP = "c12a7328-f81f-11d2-ba4b-00a0c93ec93b"
GPT_MSR = "e3c9e316-0b5c-4db8-817d-f92df00215ae"
GPT_BASIC_DATA = "ebd0a0a2-b9e5-4433-87c0-68b6b72699c7"
GPT_WINRE = "de94bba4-06d1-4d40-a16a-bfd50179d6ac"
# MBR partition type bytes.
MBR_NTFS = 0x07
MBR_ESP = 0xEF
MBR_PROTECTIVE = 0xEE


@dataclass
class Partition:
    """One partition to lay out. ``source`` is a file copied in at the partition
    start (its length must fit); ``None`` leaves it zeroed."""

    size: int  # bytes, multiple of 512
    gpt_type: str = GPT_BASIC_DATA
    mbr_type: int = MBR_NTFS
    name: str = ""
    source: Optional[Path] = None
    active: bool = False
    attributes: int = 0
    # filled by layout
    start: int = 0

    @property
    def start_lba(self) -> int:
        return self.start // SECTOR

    @property
    def end_lba(self) -> int:  # inclusive
        return (self.start + self.size) // SECTOR - 1


def _align(value: int, unit: int) -> int:
    return (value + unit - 1) // unit * unit


def layout(partitions: Sequence[Partition], scheme: str, alignment: int = MIB) -> int:
    """Place partitions from 1 MiB on, each aligned; return the disk size in bytes."""
    offset = alignment
    for part in partitions:
        if part.size % SECTOR:
            raise ValueError("partition size %d is not a multiple of 512" % part.size)
        part.start = offset
        offset = _align(offset + part.size, alignment)
    tail = (GPT_ENTRY_SECTORS + 1) * SECTOR if scheme == "gpt" else 0
    return _align(offset + tail, alignment)


def _chs(lba: int) -> bytes:
    # LBA-only disks: CHS fields saturate at 1023/254/63 like modern tools write.
    if lba >= 1024 * 255 * 63:
        return b"\xfe\xff\xff"
    cylinder, rest = divmod(lba, 255 * 63)
    head, sector = divmod(rest, 63)
    return bytes([head, ((cylinder >> 2) & 0xC0) | (sector + 1), cylinder & 0xFF])


def mbr_bytes(entries, disk_signature: int) -> bytes:
    """entries: (boot flag, type byte, first LBA, sector count) up to four."""
    mbr = bytearray(SECTOR)
    struct.pack_into("<I", mbr, 440, disk_signature)
    for index, (active, type_byte, first, count) in enumerate(entries):
        last = first + count - 1
        entry = (bytes([0x80 if active else 0x00]) + _chs(first) + bytes([type_byte]) + _chs(last)
                 + struct.pack("<II", first, count))
        mbr[446 + 16 * index:446 + 16 * (index + 1)] = entry
    mbr[510:512] = b"\x55\xaa"
    return bytes(mbr)


def _gpt_entries(partitions: Sequence[Partition], disk_guid: uuid.UUID) -> bytes:
    table = bytearray(GPT_ENTRIES * GPT_ENTRY_SIZE)
    for index, part in enumerate(partitions):
        unique = uuid.uuid5(disk_guid, "partition-%d" % index)
        name = part.name.encode("utf-16-le")[:72].ljust(72, b"\x00")
        entry = (uuid.UUID(part.gpt_type).bytes_le + unique.bytes_le
                 + struct.pack("<QQQ", part.start_lba, part.end_lba, part.attributes) + name)
        table[index * GPT_ENTRY_SIZE:(index + 1) * GPT_ENTRY_SIZE] = entry
    return bytes(table)


def _gpt_header(current: int, backup: int, first_usable: int, last_usable: int, disk_guid: uuid.UUID,
                entries_lba: int, entries_crc: int) -> bytes:
    fields = [b"EFI PART", 0x00010000, 92, 0, 0, current, backup, first_usable, last_usable,
              disk_guid.bytes_le, entries_lba, GPT_ENTRIES, GPT_ENTRY_SIZE, entries_crc]
    fmt = "<8sIIIIQQQQ16sQIII"
    header = struct.pack(fmt, *fields)
    crc = zlib.crc32(header) & 0xFFFFFFFF
    fields[3] = crc
    return struct.pack(fmt, *fields).ljust(SECTOR, b"\x00")


def write_disk(path: Path, partitions: Sequence[Partition], scheme: str, seed: str = "winimage") -> List[Partition]:
    """Write a sparse raw disk image with an MBR or GPT table and the partitions' contents."""
    if scheme not in ("mbr", "gpt"):
        raise ValueError("scheme must be 'mbr' or 'gpt', got %r" % scheme)
    if scheme == "mbr" and len(partitions) > 4:
        raise ValueError("an MBR holds at most four primary partitions")
    size = layout(partitions, scheme)
    sectors = size // SECTOR
    disk_guid = uuid.uuid5(uuid.NAMESPACE_URL, "winimage-testdata:" + seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as disk:
        disk.truncate(size)
        if scheme == "mbr":
            entries = [(p.active, p.mbr_type, p.start_lba, p.size // SECTOR) for p in partitions]
            disk.write(mbr_bytes(entries, disk_guid.int & 0xFFFFFFFF))
        else:
            disk.write(mbr_bytes([(False, MBR_PROTECTIVE, 1, min(sectors - 1, 0xFFFFFFFF))], 0))
            table = _gpt_entries(partitions, disk_guid)
            table_crc = zlib.crc32(table) & 0xFFFFFFFF
            last_usable = sectors - GPT_ENTRY_SECTORS - 2
            first_usable = 2 + GPT_ENTRY_SECTORS
            disk.seek(SECTOR)
            disk.write(_gpt_header(1, sectors - 1, first_usable, last_usable, disk_guid, 2, table_crc))
            disk.write(table)
            disk.seek((sectors - 1 - GPT_ENTRY_SECTORS) * SECTOR)
            disk.write(table)
            disk.write(_gpt_header(sectors - 1, 1, first_usable, last_usable, disk_guid,
                                   sectors - 1 - GPT_ENTRY_SECTORS, table_crc))
        for part in partitions:
            if part.source is not None:
                _copy_sparse(part.source, disk, part.start, part.size)
    return list(partitions)


def _copy_sparse(source: Path, disk, offset: int, limit: int, chunk: int = MIB) -> None:
    """Copy ``source`` into the open disk at ``offset``, skipping all-zero chunks."""
    length = source.stat().st_size
    if length > limit:
        raise ValueError("%s (%d bytes) does not fit its %d-byte partition" % (source, length, limit))
    zero = bytes(chunk)
    with open(source, "rb") as src:
        position = 0
        while position < length:
            data = src.read(chunk)
            if not data:
                break
            if data != zero[:len(data)]:
                disk.seek(offset + position)
                disk.write(data)
            position += len(data)


def fat12_volume(path: Path, size: int, label: str = "SYSTEM", hidden_sectors: int = 0) -> Path:
    """An empty FAT12 file system (boot sector, two FATs, root directory with a label)."""
    sectors = size // SECTOR
    if not 64 <= sectors <= 8000:
        raise ValueError("fat12_volume supports 32 KiB .. 4 MiB")
    fat_sectors = _align((sectors * 3 + 1) // 2 + 3, SECTOR) // SECTOR
    boot = bytearray(SECTOR)
    boot[0:3] = b"\xeb\x3c\x90"
    boot[3:11] = b"MSDOS5.0"
    struct.pack_into("<HBHBHHBHHHI", boot, 11, SECTOR, 1, 1, 2, 512, sectors, 0xF8, fat_sectors, 63, 255,
                     hidden_sectors)
    struct.pack_into("<I", boot, 32, 0)
    struct.pack_into("<BBBI11s8s", boot, 36, 0x80, 0, 0x29, 0x57494E49,
                     label.upper().encode("ascii")[:11].ljust(11), b"FAT12   ")
    boot[510:512] = b"\x55\xaa"
    fat = bytearray(fat_sectors * SECTOR)
    fat[0:3] = b"\xf8\xff\xff"
    root = bytearray(32 * SECTOR)
    root[0:11] = label.upper().encode("ascii")[:11].ljust(11)
    root[11] = 0x08  # volume label entry
    with open(path, "wb") as volume:
        volume.truncate(size)
        volume.write(boot)
        volume.write(fat)
        volume.write(fat)
        volume.write(root)
    return path
