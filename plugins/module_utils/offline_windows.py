# Copyright: (c) 2026, winimage.generalize contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Open any supported image and give read-only access to the Windows files in it.

``open_windows_image(path, index, partition, workdir)`` detects the format from magic
bytes, finds the Windows volume (for disks: the partition holding
``Windows/System32/config/SYSTEM``) and returns an :class:`OpenedImage` whose ``files``
answer ``read``/``exists``/``listdir``/``materialize`` with volume-relative,
case-insensitive paths, the same way for an NTFS volume and for a WIM image.
"""

from __future__ import annotations

import os
import shutil
import struct
import tempfile

from ansible_collections.winimage.generalize.plugins.module_utils import ntfs as ntfs_reader
from ansible_collections.winimage.generalize.plugins.module_utils import partitions as partition_reader
from ansible_collections.winimage.generalize.plugins.module_utils.offline_source import (
    FORMAT_NAMES, QEMU_FORMATS, FileSource, SliceSource, SourceError, VirtualDisk, detect_format)
from ansible_collections.winimage.generalize.plugins.module_utils.offline_wim import (
    WimFiles, select_image, wim_info)

SYSTEM_HIVE = "System32/config/SYSTEM"
DEFAULT_WINDOWS_DIR = "Windows"
VHD_FIXED = 2
MAX_PARTITIONS_SCANNED = 32


class ImageError(Exception):
    """The image cannot be read as a Windows installation. ``kind`` classifies the problem."""

    def __init__(self, message, kind="unreadable", details=None):
        Exception.__init__(self, message)
        self.kind = kind
        self.details = details or {}


class FileUnreadable(Exception):
    """One file is present but cannot be read (compressed, encrypted, damaged)."""


def _clean(path):
    return "/".join(p for p in path.replace("\\", "/").split("/") if p and p != ".")


class NtfsFiles(object):
    """Files of an NTFS volume read in place with the pure-Python reader."""

    kind = "ntfs"

    def __init__(self, volume, windows_dir):
        self.volume = volume
        self.windows_dir = windows_dir

    def _lookup(self, path):
        try:
            return self.volume.lookup(_clean(path))
        except ntfs_reader.NtfsError as error:
            raise FileUnreadable("%s: %s" % (path, error))

    def exists(self, path):
        return self._lookup(path) is not None

    def is_dir(self, path):
        found = self._lookup(path)
        return bool(found and found.is_directory)

    def size(self, path):
        found = self._lookup(path)
        return None if found is None or found.is_directory else found.size

    def read(self, path, max_size=None, tail=False):
        """Bytes of the file, None when absent. With ``tail``, the last ``max_size`` bytes."""
        found = self._lookup(path)
        if found is None or found.is_directory:
            return None
        try:
            stream = found.stream()
            if max_size is not None and stream.size > max_size:
                if not tail:
                    raise FileUnreadable("%s is %d bytes, more than the %d read" % (path, stream.size, max_size))
                return stream.read(stream.size - max_size, max_size)
            return stream.read(0, stream.size)
        except ntfs_reader.NtfsError as error:
            raise FileUnreadable("%s: %s" % (path, error))

    def listdir(self, path):
        found = self._lookup(path)
        if found is None or not found.is_directory:
            return None
        try:
            return self.volume.listdir(_clean(path))
        except ntfs_reader.NtfsError as error:
            raise FileUnreadable("%s: %s" % (path, error))

    def materialize(self, path, destination):
        """Copy the file to ``destination`` on this host (for regipy and sqlite); False when absent."""
        data = self.read(path)
        if data is None:
            return False
        with open(destination, "wb") as handle:
            handle.write(data)
        return True


class WimImageFiles(object):
    """Files of a WIM image: the needed ones are extracted once, up front."""

    kind = "wim"

    def __init__(self, wim_files, windows_dir):
        self.wim = wim_files
        self.windows_dir = windows_dir
        self._exists_cache = {}

    def prefetch(self, patterns):
        self.wim.extract(patterns)

    def exists(self, path):
        if self.wim.local_path(_clean(path)):
            return True
        key = _clean(path).lower()
        if key not in self._exists_cache:
            self._exists_cache[key] = self.wim.exists_unextracted(_clean(path))
        return self._exists_cache[key]

    def is_dir(self, path):
        return False

    def size(self, path):
        local = self.wim.local_path(_clean(path))
        return os.path.getsize(local) if local else None

    def read(self, path, max_size=None, tail=False):
        local = self.wim.local_path(_clean(path))
        if local is None:
            return None
        size = os.path.getsize(local)
        with open(local, "rb") as handle:
            if max_size is not None and size > max_size:
                if not tail:
                    raise FileUnreadable("%s is %d bytes, more than the %d read" % (path, size, max_size))
                handle.seek(size - max_size)
                return handle.read(max_size)
            return handle.read()

    def listdir(self, path):
        names = self.wim.listdir_extracted(_clean(path))
        return names or None

    def materialize(self, path, destination):
        data = self.read(path)
        if data is None:
            return False
        with open(destination, "wb") as handle:
            handle.write(data)
        return True


class OpenedImage(object):
    """What was opened: the files, the volume (None for a WIM) and a description."""

    def __init__(self, files, description, volume=None, closers=()):
        self.files = files
        self.description = description
        self.volume = volume
        self._closers = list(closers)

    def close(self):
        for closer in reversed(self._closers):
            try:
                closer()
            except Exception:
                pass
        self._closers = []


def find_windows_dir(volume):
    """The directory holding System32/config/SYSTEM on an NTFS volume ('Windows' first), or None."""
    if volume.lookup(DEFAULT_WINDOWS_DIR + "/" + SYSTEM_HIVE) is not None:
        return volume.lookup(DEFAULT_WINDOWS_DIR).name
    for name in volume.listdir(""):
        if name.startswith("$") or name.lower() == DEFAULT_WINDOWS_DIR.lower():
            continue
        entry = volume.lookup(name)
        if entry is not None and entry.is_directory and volume.lookup(name + "/" + SYSTEM_HIVE) is not None:
            return entry.name
    return None


def _vhd_fixed_size(source):
    """Data size of a fixed VHD (the file minus its 512-byte footer), or None when it is dynamic."""
    if source.size < 512:
        return None
    footer = source.read(source.size - 512, 512)
    if footer[:8] != b"conectix":
        return None
    disk_type = struct.unpack_from(">I", footer, 60)[0]
    return source.size - 512 if disk_type == VHD_FIXED else None


def open_windows_image(path, index=1, partition=None, workdir=None):
    """Open ``path`` read-only and locate Windows in it. Raises ImageError or SourceError."""
    if os.path.isdir(path):
        raise ImageError("%s is a directory; give the path of an image file or block device" % path,
                         kind="unsupported")
    source = FileSource(path)
    closers = [source.close]
    try:
        image_format = detect_format(source)
        description = {"path": path, "format": image_format, "file_size": source.size}
        if image_format == "wim":
            if partition is not None:
                raise ImageError("partition applies to disk images; %s is a WIM archive (use index)" % path,
                                 kind="bad_option")
            source.close()
            return _open_wim(path, index, workdir, description)
        if image_format is None:
            raise ImageError(
                "%s is not a supported image: its first bytes match none of WIM/ESD, VHD, VHDX, VMDK, qcow2, "
                "a raw MBR or GPT disk, an NTFS volume or a BitLocker volume" % path, kind="unsupported")
        disk = source
        if image_format in QEMU_FORMATS:
            fixed_size = _vhd_fixed_size(source) if image_format == "vhd" else None
            if fixed_size is not None:
                disk = SliceSource(source, 0, fixed_size)
                description["vhd_type"] = "fixed"
            else:
                virtual = VirtualDisk(path, image_format)
                closers.append(virtual.close)
                disk = virtual
                description["virtual_size"] = virtual.size
                description["read_through_qemu_bytes"] = virtual.qemu_bytes
                if virtual.backing_file:
                    description["backing_file"] = virtual.backing_file
        volume, volume_description = _open_volume_in_disk(disk, partition, path)
        description.update(volume_description)
        windows_dir = find_windows_dir(volume)
        if windows_dir is None:
            raise ImageError("the NTFS volume in %s holds no Windows installation (no "
                             "Windows/System32/config/SYSTEM)%s" % (path, _partition_hint(description)),
                             kind="not_windows", details=description)
        description["windows_dir"] = windows_dir
        return OpenedImage(NtfsFiles(volume, windows_dir), description, volume=volume, closers=closers)
    except Exception:
        for closer in reversed(closers):
            closer()
        raise


def _partition_hint(description):
    if description.get("partition") is not None:
        return " (partition %s)" % description["partition"]
    return ""


def _open_wim(path, index, workdir, description):
    info = wim_info(path)
    try:
        image = select_image(info, index, path)
    except SourceError as error:
        raise ImageError(str(error), kind="bad_option", details=description)
    description.update({
        "wim_index": index, "wim_image_count": len(info["images"]), "wim_image_name": image.get("name"),
        "wim_compression": info["header"].get("Compression"),
    })
    closers = []
    if workdir is None:
        workdir = tempfile.mkdtemp(prefix="winimage-wim-")
        closers.append(lambda: shutil.rmtree(workdir, ignore_errors=True))
    wim_files = WimFiles(path, index, workdir)
    files = WimImageFiles(wim_files, DEFAULT_WINDOWS_DIR)
    return OpenedImage(files, description, closers=closers)


def _open_ntfs(source, what):
    try:
        return ntfs_reader.NtfsVolume(source)
    except ntfs_reader.BitLockerError as error:
        raise ImageError("%s is BitLocker-encrypted: %s" % (what, str(error).split(": ", 1)[-1]),
                         kind="bitlocker")
    except ntfs_reader.NtfsError as error:
        raise ImageError("%s cannot be read as NTFS: %s" % (what, error), kind="corrupt")


def _open_volume_in_disk(disk, partition, path):
    """(NtfsVolume, description) for the Windows volume of a disk or a bare volume."""
    signature = ntfs_reader.looks_like_ntfs(disk)
    if signature is not None:
        if partition is not None:
            raise ImageError("%s is a bare %s without a partition table; remove the partition option"
                             % (path, "NTFS volume" if signature == "ntfs" else "BitLocker volume"),
                             kind="bad_option")
        volume = _open_ntfs(disk, path)
        return volume, {"volume": "bare NTFS volume", "partition": None}
    try:
        table = partition_reader.read_partition_table(disk)
    except partition_reader.PartitionTableError as error:
        raise ImageError("%s: %s" % (path, error), kind="corrupt")
    if table is None:
        raise ImageError("%s has neither a partition table nor an NTFS boot sector" % path, kind="unsupported")
    summary = [p.as_dict() for p in table.partitions]
    base = {"partition_table": table.scheme, "partitions": summary}
    if table.notes:
        base["partition_notes"] = list(table.notes)
    if partition is not None:
        chosen = table.get(partition)
        if chosen is None:
            raise ImageError("%s has no partition %s; it has: %s" % (path, partition, _describe_partitions(table)),
                             kind="bad_option")
        volume = _open_partition(disk, chosen, path)
        base.update({"partition": chosen.number, "partition_type": chosen.type_name})
        return volume, base
    return _find_windows_partition(disk, table, path, base)


def _open_partition(disk, chosen, path):
    slice_source = SliceSource(disk, chosen.start, chosen.size)
    signature = ntfs_reader.looks_like_ntfs(slice_source)
    what = "partition %d of %s" % (chosen.number, path)
    if signature is None:
        raise ImageError("%s (%s) is not an NTFS volume" % (what, chosen.type_name), kind="not_windows")
    return _open_ntfs(slice_source, what)


def _find_windows_partition(disk, table, path, base):
    bitlocker = []
    found = []
    seen = []
    for candidate in table.partitions[:MAX_PARTITIONS_SCANNED]:
        if candidate.type_id in ("0x42",) or "LDM" in candidate.type_name:
            seen.append("%d (%s: Windows dynamic disk, not supported)" % (candidate.number, candidate.type_name))
            continue
        slice_source = SliceSource(disk, candidate.start, candidate.size)
        signature = ntfs_reader.looks_like_ntfs(slice_source)
        if signature == "bitlocker":
            bitlocker.append(candidate.number)
            seen.append("%d (%s, BitLocker-encrypted)" % (candidate.number, candidate.type_name))
            continue
        if signature != "ntfs":
            seen.append("%d (%s, not NTFS)" % (candidate.number, candidate.type_name))
            continue
        try:
            volume = ntfs_reader.NtfsVolume(slice_source)
            windows_dir = find_windows_dir(volume)
        except ntfs_reader.NtfsError as error:
            seen.append("%d (%s, unreadable NTFS: %s)" % (candidate.number, candidate.type_name, error))
            continue
        if windows_dir is None:
            seen.append("%d (%s, NTFS without Windows)" % (candidate.number, candidate.type_name))
            continue
        found.append((candidate, volume))
    if found:
        chosen, volume = found[0]
        base.update({"partition": chosen.number, "partition_type": chosen.type_name})
        if len(found) > 1:
            base["other_windows_partitions"] = [c.number for c, _v in found[1:]]
        return volume, base
    if bitlocker:
        raise ImageError(
            "no readable Windows partition in %s: partition(s) %s are BitLocker-encrypted and cannot be read "
            "offline. Decrypt the OS volume on Windows (manage-bde -off C:) before capturing the image"
            % (path, ", ".join(str(n) for n in bitlocker)), kind="bitlocker", details=base)
    raise ImageError("no partition of %s holds Windows (Windows/System32/config/SYSTEM); partitions: %s"
                     % (path, "; ".join(seen) or "none"), kind="not_windows", details=base)


def _describe_partitions(table):
    if not table.partitions:
        return "no partitions"
    return "; ".join("%d (%s, %d MiB)" % (p.number, p.type_name, p.size // (1 << 20)) for p in table.partitions)


def format_name(image_format):
    return FORMAT_NAMES.get(image_format, image_format or "unknown")


def find_wim_windows_dir(files):
    """The top-level directory of a WIM image holding System32/config/SYSTEM, or None."""
    files.prefetch(["*/" + SYSTEM_HIVE])
    suffix = "/" + SYSTEM_HIVE.lower()
    for relative in sorted(files.wim._index):
        if relative.endswith(suffix) and relative.count("/") == SYSTEM_HIVE.count("/") + 1:
            local = files.wim._index[relative]
            top = os.path.relpath(local, files.wim._extracted).replace(os.sep, "/").split("/")[0]
            return top
    return None
