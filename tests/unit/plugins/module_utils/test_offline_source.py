# Copyright: (c) 2026, winimage.generalize contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Block sources and format detection: every read path of a virtual disk returns the raw bytes.

Each virtual disk is made by ``qemu-img convert`` from a raw file of known random content; reading
it back through VirtualDisk (qemu-img map + direct reads, zeros, or qemu-img dd) must give that
content byte for byte, at any offset.
"""

from __future__ import annotations

import os
import random
import shutil
import subprocess

import pytest

from ansible_collections.winimage.generalize.plugins.module_utils import offline_source
from ansible_collections.winimage.generalize.plugins.module_utils.offline_source import (
    FileSource, SliceSource, SourceError, VirtualDisk, detect_format, map_extents)

MIB = 1 << 20
needs_qemu = pytest.mark.skipif(shutil.which("qemu-img") is None, reason="needs qemu-img (qemu-utils)")


@pytest.fixture(scope="module")
def raw_disk(tmp_path_factory):
    """8 MiB: random data with a 3 MiB hole in the middle (so maps have unallocated ranges)."""
    path = tmp_path_factory.mktemp("raw") / "disk.raw"
    generator = random.Random(5)
    # 16 distinct byte values: random enough to catch misplaced reads, compressible enough that
    # qemu-img convert -c really stores compressed clusters.
    data = bytearray(generator.randbytes(8 * MIB).translate(bytes(65 + (b & 15) for b in range(256))))
    data[3 * MIB:6 * MIB] = b"\0" * (3 * MIB)
    path.write_bytes(bytes(data))
    return path, bytes(data)


def _convert(raw, target, fmt, *options):
    subprocess.run(["qemu-img", "convert", "-f", "raw", "-O", fmt] + list(options) + [str(raw), str(target)],
                   check=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    return target


OFFSETS = [(0, 512), (4095, 10), (MIB - 7, 20), (3 * MIB - 100, 300), (5 * MIB, 64), (8 * MIB - 33, 33),
           (2 * MIB, 3 * MIB)]


@needs_qemu
@pytest.mark.parametrize("fmt, qemu_format, options", [
    ("qcow2", "qcow2", ()),
    ("qcow2", "qcow2", ("-c",)),
    ("vhdx", "vhdx", ()),
    ("vhd", "vpc", ("-o", "subformat=dynamic")),
    ("vmdk", "vmdk", ()),
    ("vmdk", "vmdk", ("-o", "subformat=streamOptimized")),
    ("vmdk", "vmdk", ("-o", "subformat=monolithicFlat")),
])
def test_virtual_disk_reads_match_the_raw_content(raw_disk, tmp_path, fmt, qemu_format, options):
    raw, content = raw_disk
    image = _convert(raw, tmp_path / ("disk." + fmt), qemu_format, *options)
    with FileSource(str(image)) as source:
        assert detect_format(source) == fmt
    disk = VirtualDisk(str(image), fmt)
    try:
        assert disk.size >= len(content)
        for offset, length in OFFSETS:
            assert disk.read(offset, length) == content[offset:offset + length], (offset, length)
    finally:
        disk.close()


@needs_qemu
def test_reads_larger_than_the_qemu_cache(raw_disk, tmp_path, monkeypatch):
    raw, content = raw_disk
    image = _convert(raw, tmp_path / "c.qcow2", "qcow2", "-c")
    monkeypatch.setattr(offline_source, "QEMU_CACHE_CHUNKS", 2)
    disk = VirtualDisk(str(image), "qcow2")
    try:
        assert disk.read(MIB // 2, 6 * MIB) == content[MIB // 2:MIB // 2 + 6 * MIB]
        assert disk.read(0, 100) == content[:100]
        assert disk.fallback.calls >= 1
    finally:
        disk.close()


@needs_qemu
def test_qemu_errors_are_clear(tmp_path):
    broken = tmp_path / "broken.qcow2"
    broken.write_bytes(b"QFI\xfb" + b"\0" * 1000)
    with pytest.raises(SourceError, match="qemu-img cannot read"):
        VirtualDisk(str(broken), "qcow2")


def test_map_extents_kinds_and_merging():
    entries = [
        {"start": 0, "length": 10, "depth": 0, "present": True, "zero": False, "data": True, "offset": 100},
        {"start": 10, "length": 5, "depth": 0, "present": True, "zero": False, "data": True, "offset": 110},
        {"start": 15, "length": 5, "depth": 0, "present": False, "zero": True, "data": False},
        {"start": 20, "length": 5, "depth": 0, "present": True, "zero": False, "data": True},
        {"start": 25, "length": 5, "depth": 1, "present": True, "zero": False, "data": True, "offset": 7},
    ]
    assert map_extents(entries, direct=True) == [(0, 15, "host", 100), (15, 5, "zero", None), (20, 10, "qemu", None)]
    assert map_extents(entries, direct=False)[0] == (0, 15, "qemu", None)


@pytest.mark.parametrize("head, tail, expected", [
    (b"MSWIM\0\0\0", b"", "wim"),
    (b"WLPWM\0\0\0", b"", "wim"),
    (b"vhdxfile", b"", "vhdx"),
    (b"QFI\xfb", b"", "qcow2"),
    (b"KDMV", b"", "vmdk"),
    (b"# Disk DescriptorFile\n", b"", "vmdk"),
    (b"", b"conectix", "vhd"),
    (b"\xebR\x90NTFS    ", b"", "ntfs"),
    (b"\xebX\x90-FVE-FS-", b"", "bitlocker"),
    (b"\0" * 512 + b"EFI PART", b"", "gpt"),
    (b"\0" * 510 + b"\x55\xaa", b"", "mbr"),
    (b"hello", b"", None),
])
def test_detect_format_from_magic_bytes(tmp_path, head, tail, expected):
    path = tmp_path / "image"
    body = bytearray(64 * 1024)
    body[:len(head)] = head
    if tail:
        body[-512:-512 + len(tail)] = tail
    path.write_bytes(bytes(body))
    with FileSource(str(path)) as source:
        assert detect_format(source) == expected


def test_file_and_slice_sources_are_bounded(tmp_path):
    path = tmp_path / "data"
    path.write_bytes(bytes(range(256)) * 4)
    with FileSource(str(path)) as source:
        assert source.size == 1024
        assert source.read(1020, 100) == bytes([252, 253, 254, 255])
        assert source.read(2000, 10) == b""
        window = SliceSource(source, 256, 300)
        assert window.size == 300 and window.read(0, 2) == b"\x00\x01"
        assert window.read(299, 10) == bytes([43])
        assert SliceSource(source, 1000, 100).size == 24


def test_missing_file_and_directory_errors(tmp_path):
    with pytest.raises(SourceError, match="does not exist"):
        FileSource(str(tmp_path / "absent"))
    with pytest.raises(SourceError, match="is a directory"):
        FileSource(str(tmp_path))


def test_source_is_opened_read_only(tmp_path, monkeypatch):
    path = tmp_path / "image"
    path.write_bytes(b"x" * 10)
    seen = []
    real_open = os.open

    def spy(name, flags, *args, **kwargs):
        seen.append(flags)
        return real_open(name, flags, *args, **kwargs)
    monkeypatch.setattr(os, "open", spy)
    FileSource(str(path)).close()
    assert seen and all(flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC) == 0 for flags in seen)
