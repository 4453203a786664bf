# Copyright: (c) 2026, winimage.generalize contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Turn what the user points at into a device or file holding just the Windows NTFS volume.

wimlib's NTFS-3G mode reads a whole device or file as one NTFS volume; libntfs-3g has no
"offset" option. Format detection and the search for the Windows partition are the offline
reader's (``offline_windows.open_windows_image``); this module only decides how to hand that
partition to wimlib, cheapest first:

=====================  ==============================================  =======================
source                 how wimlib gets the volume                      extra cost
=====================  ==============================================  =======================
NTFS volume file/dev   the path itself                                 none
partition of a disk    the kernel's partition device (/dev/sdb3)       none
  block device
partition of a raw     a read-only loop device with offset and size    none (root only)
  disk or fixed VHD    (``volume_access: loop``; auto when root)
                       or a sparse copy of the partition in            reads + writes the
                       ``scratch_dir`` (``copy``; no root needed)      allocated bytes once,
                                                                       a reflink on XFS/btrfs
VHD/VHDX/VMDK/qcow2    ``qemu-img convert`` of the partition's byte    reads + writes the
                       range (raw driver offset/size) to a sparse      allocated bytes once
                       file in ``scratch_dir``
=====================  ==============================================  =======================

Loop devices are set up with ``LO_FLAGS_AUTOCLEAR``: the kernel detaches them when the last
user closes them, so a killed capture does not leak one.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import json
import os
import shutil
import stat
import struct
import tempfile
import time

from ansible_collections.winimage.generalize.plugins.module_utils import atomic_files
from ansible_collections.winimage.generalize.plugins.module_utils.ntfs import NtfsFile, NtfsError
from ansible_collections.winimage.generalize.plugins.module_utils.offline_source import (
    FORMAT_NAMES, QEMU_FORMATS, FileSource, SourceError, detect_format)
from ansible_collections.winimage.generalize.plugins.module_utils.offline_windows import (
    ImageError, open_windows_image)
from ansible_collections.winimage.generalize.plugins.module_utils.wimlib_capture import (
    CaptureError, ToolError, run_child)

ACCESS_CHOICES = ("auto", "loop", "copy")
FINGERPRINT_VERSION = 1
LOGFILE_RECORD = 2          # $LogFile's MFT record number
LOGFILE_HEAD = 8192         # its two restart pages: rewritten by Windows and by ntfs-3g on every mount
SCRATCH_MARGIN = 64 << 20

# linux/loop.h
LOOP_SET_FD = 0x4C00
LOOP_CLR_FD = 0x4C01
LOOP_SET_STATUS64 = 0x4C04
LOOP_CTL_GET_FREE = 0x4C82
LO_FLAGS_AUTOCLEAR = 4
LOOP_INFO64 = struct.Struct("<QQQQQIIII64s64s32sQQ")


class SourcePlan(object):
    """What the source is and where its Windows volume lies. No device or file is changed."""

    def __init__(self, **fields):
        self.src = None
        self.format = None
        self.container = None       # volume | raw_disk | virtual_disk
        self.is_block = False
        self.partition = None
        self.offset = 0
        self.size = 0
        self.used_bytes = None
        self.dirty = None
        self.fingerprint_data = {}
        self.description = {}
        self.__dict__.update(fields)

    def fingerprint(self, settings=None):
        """SHA-256 over the source identity, its change markers and the capture ``settings``."""
        data = dict(self.fingerprint_data, settings=settings or {}, version=FINGERPRINT_VERSION)
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode("utf-8")).hexdigest()

    def as_dict(self):
        out = {
            "path": self.src, "format": self.format, "format_name": FORMAT_NAMES.get(self.format, self.format),
            "container": self.container, "block_device": self.is_block, "partition": self.partition,
            "volume_offset": self.offset, "volume_size": self.size, "used_bytes": self.used_bytes,
            "dirty": self.dirty,
        }
        for key in ("partition_table", "partition_type", "windows_dir", "vhd_type", "backing_file"):
            if self.description.get(key) is not None:
                out[key] = self.description[key]
        return out


# --------------------------------------------------------------------------- inspecting

def inspect_source(src, partition=None, qemu_img="qemu-img"):
    """A SourcePlan for ``src``: format, Windows partition, offsets, change markers.

    Raises CaptureError with a message naming the problem and the fix.
    """
    if not os.path.exists(src):
        raise CaptureError("src %s does not exist" % src)
    if os.path.isdir(src):
        raise CaptureError("src %s is a directory; give an NTFS volume, a disk image or a block device "
                           "(capturing from a mounted directory loses NTFS metadata)" % src)
    try:
        with FileSource(src) as source:
            image_format = detect_format(source)
    except SourceError as error:
        raise CaptureError(str(error))
    if image_format == "wim":
        raise CaptureError("src %s is already a WIM/ESD archive; nothing to capture (use wimlib-imagex export "
                           "to copy an image into another WIM)" % src)
    try:
        opened = open_windows_image(src, 1, partition)
    except ImageError as error:
        raise CaptureError(_image_error_message(src, error, partition))
    except SourceError as error:
        raise CaptureError(str(error))
    try:
        return _plan_from_opened(src, opened, image_format, qemu_img)
    finally:
        opened.close()


def _image_error_message(src, error, partition):
    message = str(error)
    if error.kind == "not_windows" and partition is None:
        message += ". Set partition to the number of the Windows partition if it was not recognised"
    return message


def _plan_from_opened(src, opened, image_format, qemu_img):
    description = dict(opened.description)
    volume = opened.volume
    is_block = stat.S_ISBLK(os.stat(src).st_mode)
    if image_format in QEMU_FORMATS and description.get("vhd_type") != "fixed":
        container = "virtual_disk"
    elif description.get("partition") is None and image_format in ("ntfs", "bitlocker"):
        container = "volume"
    else:
        container = "raw_disk"
    if description.get("partition") is not None:
        chosen = [p for p in description.get("partitions", []) if p["number"] == description["partition"]][0]
        offset, size = chosen["start"], chosen["size"]
    elif container == "virtual_disk":
        offset, size = 0, description.get("virtual_size") or 0
    elif description.get("vhd_type") == "fixed":
        offset, size = 0, description["file_size"] - 512
    else:
        offset, size = 0, description.get("file_size") or 0
    plan = SourcePlan(src=src, format=image_format, container=container, is_block=is_block,
                      partition=description.get("partition"), offset=offset, size=size, description=description)
    try:
        plan.used_bytes = volume.size_bytes - volume.free_bytes()
    except NtfsError:
        plan.used_bytes = None
    try:
        plan.dirty = volume.is_dirty()
    except NtfsError:
        plan.dirty = None
    plan.fingerprint_data = _fingerprint_data(src, plan, volume, qemu_img)
    return plan


def _logfile_head(volume):
    """SHA-256 of $LogFile's restart pages, or None when they cannot be read."""
    try:
        logfile = NtfsFile(volume, volume.record(LOGFILE_RECORD), "$LogFile")
        return hashlib.sha256(logfile.stream().read(0, LOGFILE_HEAD)).hexdigest()
    except (NtfsError, IndexError, ValueError):
        return None


def _file_identity(path):
    try:
        info = os.stat(path)
    except OSError:
        return [path, None, None]
    return [os.path.realpath(path), info.st_size, info.st_mtime_ns]


def _fingerprint_data(src, plan, volume, qemu_img):
    """What identifies the source and changes when it changes.

    Image files: size and modification time of every file holding data (VMDK extents, backing
    files). Every source: the NTFS serial number and the head of $LogFile, whose restart area
    Windows rewrites at each clean shutdown and ntfs-3g rewrites at each read-write mount.
    """
    files = []
    if not plan.is_block:
        files.append(_file_identity(src))
        if plan.container == "virtual_disk":
            files.extend(_file_identity(path) for path in _qemu_data_files(src, plan.format, qemu_img))
    return {
        "path": os.path.realpath(src),
        "partition": plan.partition,
        "offset": plan.offset,
        "size": plan.size,
        "files": files,
        "ntfs_serial": "%016x" % volume.serial_number,
        "logfile_head": _logfile_head(volume),
    }


def _qemu_data_files(src, image_format, qemu_img):
    """Files behind a virtual disk besides itself: VMDK extents and the backing chain."""
    try:
        output = run_child([qemu_img, "info", "--backing-chain", "--output=json", "-f", QEMU_FORMATS[image_format],
                            src], "qemu-img info", timeout=120, missing_package="qemu-utils")
        chain = json.loads(output)
    except (CaptureError, ValueError):
        return []
    if isinstance(chain, dict):
        chain = [chain]
    found = []
    for info in chain:
        filename = info.get("filename")
        if filename and os.path.realpath(filename) != os.path.realpath(src):
            found.append(filename)
        for extent in ((info.get("format-specific") or {}).get("data") or {}).get("extents") or []:
            name = extent.get("filename")
            if name and os.path.realpath(name) != os.path.realpath(src):
                found.append(name)
    return sorted(set(found))


# --------------------------------------------------------------------------- safety checks

def mounted_at(path):
    """Mount point when ``path`` (a block device, or a file behind a loop device) is mounted."""
    try:
        info = os.stat(path)
    except OSError:
        return None
    devices = set()
    if stat.S_ISBLK(info.st_mode):
        devices.add((os.major(info.st_rdev), os.minor(info.st_rdev)))
        devices.update(_partition_devices(info.st_rdev))
    elif stat.S_ISREG(info.st_mode):
        devices.update(_loop_devices_backed_by(path))
    if not devices:
        return None
    try:
        with open("/proc/self/mountinfo") as handle:
            for line in handle:
                fields = line.split()
                major, _colon, minor = fields[2].partition(":")
                if (int(major), int(minor)) in devices:
                    return fields[4]
    except (OSError, ValueError, IndexError):
        return None
    return None


def _partition_devices(rdev):
    sys_dir = "/sys/dev/block/%d:%d" % (os.major(rdev), os.minor(rdev))
    found = set()
    try:
        for child in os.listdir(sys_dir):
            dev_file = os.path.join(sys_dir, child, "dev")
            if os.path.exists(os.path.join(sys_dir, child, "partition")) and os.path.exists(dev_file):
                with open(dev_file) as handle:
                    major, _colon, minor = handle.read().strip().partition(":")
                found.add((int(major), int(minor)))
    except (OSError, ValueError):
        pass
    return found


def _loop_devices_backed_by(path):
    real = os.path.realpath(path)
    found = set()
    try:
        names = os.listdir("/sys/block")
    except OSError:
        return found
    for name in names:
        if not name.startswith("loop"):
            continue
        try:
            with open("/sys/block/%s/loop/backing_file" % name) as handle:
                backing = handle.read().strip()
            with open("/sys/block/%s/dev" % name) as handle:
                major, _colon, minor = handle.read().strip().partition(":")
        except (OSError, ValueError):
            continue
        if os.path.realpath(backing) == real:
            rdev = os.makedev(int(major), int(minor))
            found.add((int(major), int(minor)))
            found.update(_partition_devices(rdev))
    return found


def check_not_in_use(plan, qemu_img="qemu-img"):
    """Refuse a mounted volume or a disk a running VM holds (its image lock)."""
    where = mounted_at(plan.src)
    if where:
        raise CaptureError("%s (or a partition of it) is mounted at %s; unmount it first: wimlib reads the NTFS "
                           "volume directly and needs it unmounted and consistent" % (plan.src, where))
    if plan.is_block or plan.container == "virtual_disk":
        return  # qemu-img itself refuses a locked virtual disk when it opens it
    # A raw disk file: qemu-img info and map ignore qemu's image lock, convert honours it, so
    # converting its first sector is the cheapest way to ask "does a running VM hold this?".
    scratch = tempfile.mkdtemp(prefix="winimage-lock-probe-")
    try:
        run_child([qemu_img, "convert", "-O", "raw", "--image-opts", _qemu_spec(plan.src, None, 0, 512),
                   os.path.join(scratch, "probe.raw")], "qemu-img lock check", timeout=60)
    except ToolError as error:
        if "lock" in (error.output or "").lower():
            raise CaptureError("%s is in use by a running VM (qemu holds a lock on it); shut the VM down before "
                               "capturing: %s" % (plan.src, error.output))
    except CaptureError:
        pass  # qemu-img not installed: then no qemu process holds a lock on it either
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


# --------------------------------------------------------------------------- preparing

class PreparedVolume(object):
    """The path wimlib reads, how it was obtained, and how to undo that."""

    def __init__(self, path, access, copied_bytes=0, notes=None, cleanup=None):
        self.path = path
        self.access = access
        self.copied_bytes = copied_bytes
        self.notes = notes or []
        self._cleanup = cleanup

    def close(self):
        if self._cleanup is not None:
            cleanup, self._cleanup = self._cleanup, None
            cleanup()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def planned_access(plan, access):
    """The access method prepare_volume will try first (for check mode and reports)."""
    if plan.container == "volume":
        return "direct"
    if plan.container == "virtual_disk":
        return "qemu_convert"
    if plan.is_block and _kernel_partition_node(plan) is not None:
        return "partition_device"
    if access == "copy" or (access == "auto" and not loop_available()):
        return "copy"
    return "loop"


def prepare_volume(plan, access, scratch_path, qemu_img="qemu-img"):
    """A PreparedVolume for ``plan``. ``scratch_path`` is the file a copy or conversion may create."""
    if access not in ACCESS_CHOICES:
        raise CaptureError("volume_access must be one of %s" % ", ".join(ACCESS_CHOICES))
    if plan.container == "volume":
        return PreparedVolume(plan.src, "direct")
    if plan.container == "virtual_disk":
        if access == "loop":
            raise CaptureError(
                "volume_access loop needs a raw disk, but %s is %s. Use auto or copy (qemu-img convert into "
                "scratch_dir), or attach it yourself with qemu-nbd --read-only and pass the /dev/nbdXpN device as "
                "src" % (plan.src, FORMAT_NAMES.get(plan.format, plan.format)))
        _check_scratch_space(plan, scratch_path)
        return _convert_partition(plan, scratch_path, qemu_img)
    node = _kernel_partition_node(plan) if plan.is_block else None
    if node is not None:
        return PreparedVolume(node, "partition_device")
    notes = []
    if access in ("auto", "loop"):
        if access == "loop" or loop_available():
            try:
                loop = LoopDevice(plan.src, plan.offset, plan.size)
                return PreparedVolume(loop.path, "loop", cleanup=loop.close)
            except (OSError, CaptureError) as error:
                if access == "loop":
                    raise CaptureError("could not attach %s to a loop device: %s. Use volume_access copy (no root "
                                       "needed) instead" % (plan.src, error))
                notes.append("loop device unavailable (%s); copied the partition instead" % error)
    _check_scratch_space(plan, scratch_path)
    try:
        copied = atomic_files.copy_range(plan.src, scratch_path, plan.offset, plan.size)
    except BaseException:
        atomic_files.remove_path(scratch_path)
        raise
    return PreparedVolume(scratch_path, "copy", copied_bytes=copied, notes=notes,
                          cleanup=lambda: atomic_files.remove_path(scratch_path))


def _check_scratch_space(plan, scratch_path):
    directory = os.path.dirname(os.path.abspath(scratch_path))
    if not os.path.isdir(directory):
        raise CaptureError("scratch_dir %s does not exist; create it or choose another directory" % directory)
    needed = (plan.used_bytes if plan.used_bytes is not None else plan.size) + SCRATCH_MARGIN
    available = atomic_files.free_bytes(directory)
    if available < needed:
        raise CaptureError("scratch_dir %s has %d MiB free but the Windows volume holds about %d MiB of data that "
                           "must be copied there first; free space or set scratch_dir to a larger filesystem"
                           % (directory, available >> 20, needed >> 20))


def _qemu_spec(path, driver, offset, size):
    """--image-opts for bytes [offset, offset+size) of the guest disk of ``path`` (``driver`` None:
    ``path`` is itself the raw disk). A comma inside a value is written twice."""
    escaped = os.path.abspath(path).replace(",", ",,")
    inner = "file.driver=file,file.filename=%s" % escaped if driver is None else \
        "file.driver=%s,file.file.filename=%s" % (driver, escaped)
    return "driver=raw,offset=%d,size=%d,%s" % (offset, size, inner)


def convert_argv(plan, target, qemu_img="qemu-img"):
    return [qemu_img, "convert", "-O", "raw", "--image-opts",
            _qemu_spec(plan.src, QEMU_FORMATS[plan.format], plan.offset, plan.size), target]


def _convert_partition(plan, scratch_path, qemu_img):
    argv = convert_argv(plan, scratch_path, qemu_img)
    try:
        run_child(argv, "qemu-img convert of the Windows partition", missing_package="qemu-utils")
    except ToolError as error:
        atomic_files.remove_path(scratch_path)
        if "lock" in (error.output or "").lower():
            raise CaptureError("%s is in use (qemu holds a lock on it, probably a running VM); shut the VM down "
                               "before capturing: %s" % (plan.src, error.output))
        raise
    except BaseException:
        atomic_files.remove_path(scratch_path)
        raise
    copied = os.stat(scratch_path).st_blocks * 512
    return PreparedVolume(scratch_path, "qemu_convert", copied_bytes=copied,
                          cleanup=lambda: atomic_files.remove_path(scratch_path))


def _kernel_partition_node(plan):
    """/dev/<name> of the kernel's device for the chosen partition of a block device, or None."""
    if plan.partition is None:
        return None
    rdev = os.stat(plan.src).st_rdev
    sys_dir = "/sys/dev/block/%d:%d" % (os.major(rdev), os.minor(rdev))
    try:
        children = os.listdir(sys_dir)
    except OSError:
        return None
    for child in children:
        try:
            with open(os.path.join(sys_dir, child, "partition")) as handle:
                number = int(handle.read().strip())
            with open(os.path.join(sys_dir, child, "start")) as handle:
                start = int(handle.read().strip()) * 512
        except (OSError, ValueError):
            continue
        node = os.path.join("/dev", child)
        if number == plan.partition and start == plan.offset and os.path.exists(node) \
                and stat.S_ISBLK(os.stat(node).st_mode):
            return node
    return None


# --------------------------------------------------------------------------- loop devices

def loop_available():
    """True when this process may attach loop devices (root and /dev/loop-control present)."""
    return hasattr(os, "geteuid") and os.geteuid() == 0 and os.path.exists("/dev/loop-control")


class LoopDevice(object):
    """A read-only loop device over [offset, offset+size) of a file, detached automatically.

    LO_FLAGS_AUTOCLEAR makes the kernel detach the device when its last user closes it: we keep
    one descriptor open for the whole capture, wimlib opens its own, and when both are gone
    (normal end or SIGKILL) the device is free again.
    """

    ATTEMPTS = 20

    def __init__(self, backing_path, offset, size):
        self.path = None
        self._fd = None
        last_error = None
        control = os.open("/dev/loop-control", os.O_RDWR | os.O_CLOEXEC)
        try:
            for _attempt in range(self.ATTEMPTS):
                number = fcntl.ioctl(control, LOOP_CTL_GET_FREE)
                path = "/dev/loop%d" % number
                if not os.path.exists(path):
                    raise CaptureError("the kernel offered %s but that device node does not exist here "
                                       "(container without it)" % path)
                try:
                    self._attach(path, backing_path, offset, size)
                    return
                except OSError as error:
                    if error.errno != errno.EBUSY:
                        raise
                    last_error = error  # another process took it first: ask again
                    time.sleep(0.05)
        finally:
            os.close(control)
        raise CaptureError("no free loop device after %d attempts (%s)" % (self.ATTEMPTS, last_error))

    def _attach(self, path, backing_path, offset, size):
        loop_fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        try:
            backing_fd = os.open(backing_path, os.O_RDONLY | os.O_CLOEXEC)
            try:
                fcntl.ioctl(loop_fd, LOOP_SET_FD, backing_fd)
            finally:
                os.close(backing_fd)
            try:
                name = os.path.basename(backing_path).encode("utf-8", "replace")[:63]
                info = LOOP_INFO64.pack(0, 0, 0, offset, size, 0, 0, 0, LO_FLAGS_AUTOCLEAR, name, b"", b"", 0, 0)
                fcntl.ioctl(loop_fd, LOOP_SET_STATUS64, info)
                self._check(loop_fd, backing_path, offset, size, path)
            except BaseException:
                fcntl.ioctl(loop_fd, LOOP_CLR_FD, 0)
                raise
        except BaseException:
            os.close(loop_fd)
            raise
        self.path = path
        self._fd = loop_fd

    @staticmethod
    def _check(loop_fd, backing_path, offset, size, path):
        """The device must show exactly the partition: same size, same first sector."""
        actual = os.lseek(loop_fd, 0, os.SEEK_END)
        with open(backing_path, "rb") as backing:
            backing.seek(offset)
            expected_head = backing.read(512)
        head = os.pread(loop_fd, 512, 0)
        if actual != size or head != expected_head:
            raise CaptureError("%s does not show the partition (size %d instead of %d)" % (path, actual, size))

    def close(self):
        if self._fd is not None:
            fd, self._fd = self._fd, None
            os.close(fd)  # autoclear detaches once wimlib has closed it too
