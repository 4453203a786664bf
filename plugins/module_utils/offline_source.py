# Copyright: (c) 2026, winimage.generalize contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Read-only access to disk images: format detection and *block sources*.

A block source is any object with a ``size`` (bytes) and ``read(offset, length)``
returning bytes (short only at the end). The NTFS and partition readers take one, so
the same code reads a bare volume, a partition inside a raw disk, or the guest disk of
a VHD, VHDX, VMDK or qcow2 file in place, without copying or mounting anything.

Virtual disks are mapped with ``qemu-img map --output=json`` (metadata only): guest
ranges with a host offset are read straight from the file, unallocated ranges read as
zeros, and ranges qemu cannot point at (compressed qcow2 clusters, streamOptimized VMDK,
VHDX in qemu-img 7, backing files) are read through ``qemu-img dd`` for just that range.
The source file is only ever opened read-only.
"""

from __future__ import annotations

import bisect
import errno
import json
import os
import shutil
import stat
import subprocess
import tempfile

WIM_MAGIC = b"MSWIM\0\0\0"
PIPABLE_WIM_MAGIC = b"WLPWM\0\0\0"
VHDX_MAGIC = b"vhdxfile"
QCOW_MAGIC = b"QFI\xfb"
VMDK_SPARSE_MAGIC = b"KDMV"
VMDK_DESCRIPTOR_MARK = b"# Disk DescriptorFile"
VHD_COOKIE = b"conectix"
NTFS_OEM = b"NTFS    "
BITLOCKER_OEM = b"-FVE-FS-"
GPT_SIGNATURE = b"EFI PART"

# Formats read through qemu-img and the qemu driver name for each.
QEMU_FORMATS = {"vhd": "vpc", "vhdx": "vhdx", "vmdk": "vmdk", "qcow2": "qcow2"}
FORMAT_NAMES = {
    "wim": "WIM/ESD archive", "vhd": "VHD", "vhdx": "VHDX", "vmdk": "VMDK", "qcow2": "qcow2",
    "ntfs": "NTFS volume", "bitlocker": "BitLocker-encrypted volume", "gpt": "raw disk (GPT)",
    "mbr": "raw disk (MBR)",
}

QEMU_CHUNK = 1 << 20        # qemu-img dd reads whole MiB chunks, cached
QEMU_CACHE_CHUNKS = 64      # at most 64 MiB of cached chunks
QEMU_TIMEOUT = 300


class SourceError(Exception):
    """The image cannot be opened or read; the message says why and what to do."""


def _open_read_only(path):
    """An O_RDONLY descriptor, with O_NOATIME when allowed so reading leaves no trace."""
    flags = os.O_RDONLY | getattr(os, "O_CLOEXEC", 0)
    noatime = getattr(os, "O_NOATIME", 0)
    try:
        return os.open(path, flags | noatime)
    except OSError as error:
        if noatime and error.errno == errno.EPERM:
            return os.open(path, flags)
        raise


def describe_os_error(path, error):
    """A sentence for an OSError raised while opening ``path``."""
    if error.errno == errno.ENOENT:
        return "%s does not exist" % path
    if error.errno in (errno.EACCES, errno.EPERM):
        return ("permission denied reading %s: run as a user who can read it (block devices "
                "usually need root or the 'disk' group; use become: true)" % path)
    if error.errno == errno.EISDIR:
        return "%s is a directory, not an image file or block device" % path
    return "cannot read %s: %s" % (path, error.strerror or error)


class FileSource(object):
    """A regular file or block device, read with pread()."""

    def __init__(self, path):
        self.path = path
        try:
            self._fd = _open_read_only(path)
        except OSError as error:
            raise SourceError(describe_os_error(path, error))
        try:
            if stat.S_ISDIR(os.fstat(self._fd).st_mode):
                raise OSError(errno.EISDIR, "Is a directory")
            self.size = os.lseek(self._fd, 0, os.SEEK_END)
        except OSError as error:
            os.close(self._fd)
            raise SourceError(describe_os_error(path, error))

    def read(self, offset, length):
        if offset < 0 or length <= 0 or offset >= self.size:
            return b""
        length = min(length, self.size - offset)
        chunks = []
        while length > 0:
            try:
                data = os.pread(self._fd, length, offset)
            except OSError as error:
                raise SourceError("read error in %s at offset %d: %s" % (self.path, offset, error.strerror))
            if not data:
                break
            chunks.append(data)
            offset += len(data)
            length -= len(data)
        return b"".join(chunks)

    def close(self):
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class SliceSource(object):
    """A window (a partition) of another source."""

    def __init__(self, parent, offset, length):
        self.parent = parent
        self.offset = offset
        self.size = max(0, min(length, parent.size - offset))

    def read(self, offset, length):
        if offset < 0 or offset >= self.size or length <= 0:
            return b""
        return self.parent.read(self.offset + offset, min(length, self.size - offset))

    def close(self):
        pass


class QemuRangeReader(object):
    """Reads guest ranges through ``qemu-img dd`` (compressed or otherwise unmapped data).

    Whole 1 MiB chunks are read and kept in a small cache: NTFS metadata reads are small and
    clustered, file reads are large and sequential.
    """

    def __init__(self, path, driver, size, qemu_img="qemu-img"):
        self.path = path
        self.driver = driver
        self.size = size
        self.qemu_img = qemu_img
        self._cache = {}
        self._order = []
        self.calls = 0

    def read(self, offset, length):
        end = min(offset + length, self.size)
        if offset >= end:
            return b""
        first = offset // QEMU_CHUNK
        last = (end - 1) // QEMU_CHUNK
        chunks = dict((c, self._cache[c]) for c in range(first, last + 1) if c in self._cache)
        missing = [c for c in range(first, last + 1) if c not in chunks]
        if missing:
            # A read larger than the cache must not depend on what the cache kept.
            chunks.update(self._fetch(missing[0], missing[-1]))
        data = b"".join(chunks[c] for c in range(first, last + 1))
        start = offset - first * QEMU_CHUNK
        return data[start:start + (end - offset)]

    def _fetch(self, first, last):
        count = last - first + 1
        scratch = tempfile.mkdtemp(prefix="winimage-qemu-")
        target = os.path.join(scratch, "range.raw")
        what = "qemu-img dd of guest bytes %d-%d" % (first * QEMU_CHUNK, (last + 1) * QEMU_CHUNK)
        try:
            # qemu-img dd up to 7.x counts ``count`` from the start of the disk, not from ``skip``
            # (and later versions from ``skip``): asking for last+1 blocks is right for both, the
            # output always starts at block ``first`` and extra blocks are ignored.
            run_command([self.qemu_img, "dd", "-f", self.driver, "-O", "raw", "bs=%d" % QEMU_CHUNK,
                         "skip=%d" % first, "count=%d" % (last + 1), "if=%s" % self.path, "of=%s" % target],
                        what)
            self.calls += 1
            with open(target, "rb") as handle:
                data = handle.read(count * QEMU_CHUNK)
        except (IOError, OSError) as error:
            raise SourceError("%s produced no output: %s" % (what, error))
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        wanted = min(count * QEMU_CHUNK, self.size - first * QEMU_CHUNK)
        if len(data) < wanted:
            # Some qemu-img versions report errors with exit code 0 and write nothing.
            raise SourceError("%s returned %d bytes instead of %d; the image may be damaged or this "
                              "qemu-img cannot read it" % (what, len(data), wanted))
        fetched = {}
        for index in range(count):
            chunk = data[index * QEMU_CHUNK:(index + 1) * QEMU_CHUNK]
            fetched[first + index] = chunk
            self._remember(first + index, chunk)
        return fetched

    def _remember(self, index, chunk):
        self._cache[index] = chunk
        self._order.append(index)
        while len(self._order) > QEMU_CACHE_CHUNKS:
            old = self._order.pop(0)
            self._cache.pop(old, None)


class ExtentMapSource(object):
    """The guest disk of a virtual disk file, from a ``qemu-img map`` extent list.

    ``extents``: sorted (guest start, length, kind, host offset) with kind 'host' (read the
    host file at the offset), 'zero' (reads as zeros) or 'qemu' (ask qemu-img dd).
    """

    def __init__(self, host, extents, size, fallback):
        self.host = host
        self.extents = extents
        self.size = size
        self.fallback = fallback
        self._starts = [e[0] for e in extents]

    def read(self, offset, length):
        end = min(offset + length, self.size)
        if offset < 0 or offset >= end:
            return b""
        out = []
        position = offset
        index = max(0, bisect.bisect_right(self._starts, position) - 1)
        while position < end and index < len(self.extents):
            start, extent_length, kind, host_offset = self.extents[index]
            extent_end = start + extent_length
            if extent_end <= position:
                index += 1
                continue
            if start > position:
                # Not described by the map: treat as unallocated.
                gap = min(start, end) - position
                out.append(b"\0" * gap)
                position += gap
                continue
            piece = min(end, extent_end) - position
            if kind == "host":
                data = self.host.read(host_offset + (position - start), piece)
                if len(data) < piece:
                    raise SourceError("%s is truncated: guest offset %d maps past the end of the file"
                                      % (self.host.path, position))
            elif kind == "zero":
                data = b"\0" * piece
            else:
                data = self.fallback.read(position, piece)
            out.append(data)
            position += piece
            index += 1
        if position < end:
            out.append(b"\0" * (end - position))
        return b"".join(out)

    def close(self):
        self.host.close()


def run_command(argv, what, timeout=QEMU_TIMEOUT, env=None):
    """Run a tool, return stdout (text). Raise SourceError with the tool's own words on failure."""
    try:
        result = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout,
                                env=env, stdin=subprocess.DEVNULL, check=False)
    except OSError as error:
        if error.errno == errno.ENOENT:
            raise SourceError("%s needs %s, which is not installed (Debian: apt install %s)"
                              % (what, argv[0], TOOL_PACKAGES.get(argv[0], argv[0])))
        raise SourceError("%s failed to start: %s" % (what, error))
    except subprocess.TimeoutExpired:
        raise SourceError("%s did not finish within %d seconds" % (what, timeout))
    if result.returncode != 0:
        message = result.stderr.decode("utf-8", "replace").strip() or result.stdout.decode("utf-8", "replace")
        raise CommandError(what, result.returncode, message.strip())
    return result.stdout.decode("utf-8", "replace")


TOOL_PACKAGES = {"qemu-img": "qemu-utils", "wimlib-imagex": "wimtools"}


class CommandError(SourceError):
    def __init__(self, what, returncode, output):
        SourceError.__init__(self, "%s failed (exit %d): %s" % (what, returncode, output))
        self.returncode = returncode
        self.output = output


def read_head_and_tail(source):
    head = source.read(0, 8192)
    tail = source.read(max(0, source.size - 512), 512) if source.size >= 512 else b""
    return head, tail


def detect_format(source):
    """The container format of an image from its magic bytes, or None.

    Containers first (they wrap everything else), then volume signatures (an NTFS boot
    sector also ends in 0x55AA), then partition tables.
    """
    head, tail = read_head_and_tail(source)
    if head[:8] in (WIM_MAGIC, PIPABLE_WIM_MAGIC):
        return "wim"
    if head[:8] == VHDX_MAGIC:
        return "vhdx"
    if head[:4] == QCOW_MAGIC:
        return "qcow2"
    if head[:4] == VMDK_SPARSE_MAGIC or VMDK_DESCRIPTOR_MARK in head[:1024]:
        return "vmdk"
    if head[:8] == VHD_COOKIE or tail[:8] == VHD_COOKIE:
        return "vhd"
    if head[3:11] == NTFS_OEM:
        return "ntfs"
    if head[3:11] == BITLOCKER_OEM:
        return "bitlocker"
    for sector_size in (512, 4096):
        if head[sector_size:sector_size + 8] == GPT_SIGNATURE:
            return "gpt"
    if len(head) >= 512 and head[510:512] == b"\x55\xaa":
        return "mbr"
    return None


def qemu_info(path, driver, qemu_img="qemu-img"):
    """``qemu-img info --output=json`` as a dict, with clear errors for locks and encryption."""
    try:
        output = run_command([qemu_img, "info", "--output=json", "-f", driver, path], "qemu-img info")
    except CommandError as error:
        raise SourceError(_qemu_message(path, error))
    try:
        info = json.loads(output)
    except ValueError:
        raise SourceError("qemu-img info printed something that is not JSON for %s" % path)
    if info.get("encrypted"):
        raise SourceError("%s is an encrypted %s image; decrypt it with qemu-img convert first" % (path, driver))
    return info


def _qemu_message(path, error):
    text = error.output
    if "lock" in text.lower():
        return ("%s is in use (qemu holds a lock on it, probably a running VM); shut the VM down or read a "
                "copy: %s" % (path, text))
    return "qemu-img cannot read %s: %s" % (path, text)


def qemu_map(path, driver, qemu_img="qemu-img"):
    try:
        output = run_command([qemu_img, "map", "--output=json", "-f", driver, path], "qemu-img map")
    except CommandError as error:
        raise SourceError(_qemu_message(path, error))
    try:
        return json.loads(output)
    except ValueError:
        raise SourceError("qemu-img map printed something that is not JSON for %s" % path)


def _single_extent_file(path, info):
    """The file holding the guest data when qemu's offsets point into one known file."""
    specific = (info.get("format-specific") or {}).get("data") or {}
    if specific.get("data-file"):
        return None
    extents = specific.get("extents")
    if extents is None:
        return path
    if len(extents) != 1:
        return None
    filename = extents[0].get("filename") or path
    if not os.path.isabs(filename):
        filename = os.path.join(os.path.dirname(os.path.abspath(path)), os.path.basename(filename))
    return filename


def map_extents(entries, direct):
    """qemu-img map entries -> ExtentMapSource extents. ``direct``: offsets may be used."""
    extents = []
    for entry in entries:
        start, length = int(entry["start"]), int(entry["length"])
        if entry.get("depth", 0) > 0 and entry.get("present", True):
            kind, offset = "qemu", None  # data from a backing file
        elif not entry.get("data") and entry.get("zero"):
            kind, offset = "zero", None
        elif not entry.get("present", True):
            kind, offset = "zero", None
        elif entry.get("data") and direct and "offset" in entry and not entry.get("compressed"):
            kind, offset = "host", int(entry["offset"])
        else:
            kind, offset = "qemu", None
        if extents and extents[-1][2] == kind and extents[-1][0] + extents[-1][1] == start and (
                kind != "host" or extents[-1][3] + extents[-1][1] == offset):
            previous = extents[-1]
            extents[-1] = (previous[0], previous[1] + length, kind, previous[3])
        else:
            extents.append((start, length, kind, offset))
    return extents


class VirtualDisk(object):
    """The guest disk of a VHD/VHDX/VMDK/qcow2 file as a block source, plus what qemu said."""

    def __init__(self, path, image_format, qemu_img="qemu-img"):
        driver = QEMU_FORMATS[image_format]
        self.info = qemu_info(path, driver, qemu_img)
        reported = self.info.get("format")
        if reported and reported != driver:
            raise SourceError("%s looks like %s by its magic bytes but qemu-img reads it as %s"
                              % (path, FORMAT_NAMES[image_format], reported))
        self.size = int(self.info["virtual-size"])
        data_file = _single_extent_file(path, self.info)
        entries = qemu_map(path, driver, qemu_img)
        extents = map_extents(entries, direct=data_file is not None)
        self.fallback = QemuRangeReader(path, driver, self.size, qemu_img)
        self.direct_bytes = sum(e[1] for e in extents if e[2] == "host")
        self.qemu_bytes = sum(e[1] for e in extents if e[2] == "qemu")
        host = FileSource(data_file) if data_file else FileSource(path)
        self._source = ExtentMapSource(host, extents, self.size, self.fallback)
        self.backing_file = self.info.get("backing-filename")

    def read(self, offset, length):
        return self._source.read(offset, length)

    def close(self):
        self._source.close()

    @property
    def qemu_calls(self):
        return self.fallback.calls
