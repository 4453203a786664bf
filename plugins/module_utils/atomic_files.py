# Copyright: (c) 2026, winimage.generalize contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Files that appear whole or not at all: locks, temporary names, durable renames, copies.

Capture and publish both follow one pattern: write under a hidden temporary name in the
destination directory, ``fsync`` it, then give it its final name in one step (``link`` when
the name must not exist yet, ``rename`` when an old version is replaced) and ``fsync`` the
directory. A crash or kill at any moment leaves either the old state or the new one under the
final name, plus at worst a hidden leftover that the next run removes while it holds the lock.

Locks are ``fcntl.flock`` on a lock file: the kernel drops them when the holder dies (even by
SIGKILL), so a leftover never blocks anyone. Lock files are left in place on purpose: deleting
a lock file while another process waits on it would let two processes hold "the" lock.
"""

from __future__ import annotations

import errno
import fcntl
import glob
import hashlib
import os
import shutil
import time
import uuid

COPY_CHUNK = 8 << 20
HASH_CHUNK = 8 << 20


class LockTimeout(Exception):
    """The lock is held by another process for longer than we were willing to wait."""


class FileLock(object):
    """An exclusive ``flock`` on ``path`` (created when missing), as a context manager.

    ``timeout`` None waits forever, 0 fails at once, N waits up to N seconds.
    """

    def __init__(self, path, timeout=None, what=None):
        self.path = path
        self.timeout = timeout
        self.what = what or path
        self._fd = None

    def acquire(self):
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o644)
        deadline = None if self.timeout is None else time.monotonic() + self.timeout
        try:
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | (0 if deadline is None else fcntl.LOCK_NB))
                    break
                except OSError as error:
                    if error.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                        raise
                    if time.monotonic() >= deadline:
                        raise LockTimeout("%s is locked by another process (lock file %s); waited %s seconds"
                                          % (self.what, self.path, self.timeout))
                    time.sleep(0.2)
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd
        return self

    def release(self):
        if self._fd is not None:
            try:
                fcntl.flock(self._fd, fcntl.LOCK_UN)
            finally:
                os.close(self._fd)
                self._fd = None

    def __enter__(self):
        return self.acquire()

    def __exit__(self, *exc):
        self.release()


def is_locked(path):
    """True when another open file description holds a flock on ``path``."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return True
    finally:
        os.close(fd)
    return False


# --------------------------------------------------------------------------- hidden names

def hidden_name(final_path, tag):
    """``/dir/.name.<tag>-<random>``: hidden, in the final directory (same filesystem, so the
    final rename is atomic), recognisable by the documented ``.name.<tag>-*`` pattern."""
    directory, name = os.path.split(os.path.abspath(final_path))
    return os.path.join(directory, ".%s.%s-%s" % (name, tag, uuid.uuid4().hex[:12]))


def hidden_pattern(final_path, tag, directory=None):
    folder, name = os.path.split(os.path.abspath(final_path))
    return os.path.join(directory or folder, ".%s.%s-*" % (glob.escape(name), tag))


def lock_path(final_path):
    directory, name = os.path.split(os.path.abspath(final_path))
    return os.path.join(directory, ".%s.lock" % name)


def remove_path(path):
    """Remove a file or directory tree; True when something was removed."""
    try:
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path)
        else:
            os.unlink(path)
        return True
    except FileNotFoundError:
        return False


def leftovers(patterns):
    """Existing paths matching any of the glob ``patterns`` (sorted, unique)."""
    found = set()
    for pattern in patterns:
        found.update(glob.glob(pattern))
    return sorted(found)


# --------------------------------------------------------------------------- durability

def fsync_path(path):
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_directory(path):
    """Make a rename or link in ``path`` durable. Some filesystems refuse: that is not fatal."""
    try:
        fsync_path(path)
    except OSError as error:
        if error.errno not in (errno.EINVAL, errno.EBADF, errno.EACCES, errno.EPERM, errno.EISDIR):
            raise


def link_into_place(temp_path, final_path):
    """Give ``temp_path`` the name ``final_path`` only if that name does not exist yet.

    ``link`` fails with EEXIST instead of replacing, so an existing image is never overwritten,
    even by a process that does not honour our locks. Filesystems without hard links (some SMB
    shares, vfat) fall back to ``rename`` after a check; callers hold the lock then.
    Raises FileExistsError when ``final_path`` exists.
    """
    try:
        os.link(temp_path, final_path)
    except FileExistsError:
        raise
    except OSError as error:
        if error.errno not in (errno.EPERM, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EMLINK, errno.ENOSYS,
                               errno.EXDEV):
            raise
        if os.path.lexists(final_path):
            raise FileExistsError(errno.EEXIST, "File exists", final_path)
        os.rename(temp_path, final_path)
    else:
        os.unlink(temp_path)
    fsync_directory(os.path.dirname(os.path.abspath(final_path)))


def replace_into_place(temp_path, final_path):
    """Atomically replace ``final_path`` with ``temp_path`` (POSIX rename) and make it durable."""
    os.replace(temp_path, final_path)
    fsync_directory(os.path.dirname(os.path.abspath(final_path)))


def write_file_atomic(path, data, replace=True, mode=0o644):
    """Write bytes or text to ``path`` via a hidden temporary file, fsync, then rename or link."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    temp_path = hidden_name(path, "tmp")
    fd = os.open(temp_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), mode)
    try:
        try:
            view = memoryview(data)
            while view:
                written = os.write(fd, view)
                view = view[written:]
            os.fsync(fd)
        finally:
            os.close(fd)
        if replace:
            replace_into_place(temp_path, path)
        else:
            link_into_place(temp_path, path)
    except BaseException:
        remove_path(temp_path)
        raise


# --------------------------------------------------------------------------- copies and hashes

def sha256_file(path, chunk=HASH_CHUNK):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while True:
            data = handle.read(chunk)
            if not data:
                break
            digest.update(data)
    return digest.hexdigest()


def _kernel_copy(src_fd, dst_fd, offset, length, dst_offset):
    """copy_file_range in a loop (reflink on XFS/btrfs, in-kernel copy elsewhere).

    Returns the bytes copied; fewer than ``length`` (0 included) when the kernel cannot do it.
    """
    copy_file_range = getattr(os, "copy_file_range", None)
    if copy_file_range is None:
        return 0
    done = 0
    while done < length:
        try:
            count = copy_file_range(src_fd, dst_fd, min(length - done, 1 << 30), offset + done, dst_offset + done)
        except OSError as error:
            if error.errno in (errno.EXDEV, errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.ENOTSUP,
                               errno.EBADF, errno.EPERM):
                return done
            raise
        if count == 0:
            return done
        done += count
    return done


def _buffered_copy(src_fd, dst_fd, offset, length, dst_offset, sparse, digest=None):
    """pread/pwrite copy; with ``sparse`` all-zero chunks are skipped (left as holes)."""
    done = 0
    zero = None
    while done < length:
        size = min(COPY_CHUNK, length - done)
        data = os.pread(src_fd, size, offset + done)
        if not data:
            raise IOError("unexpected end of data at offset %d" % (offset + done))
        if digest is not None:
            digest.update(data)
        if sparse:
            if zero is None or len(zero) != len(data):
                zero = bytes(len(data))
            if data == zero:
                done += len(data)
                continue
        view = memoryview(data)
        position = dst_offset + done
        while view:
            written = os.pwrite(dst_fd, view, position)
            view = view[written:]
            position += written
        done += len(data)
    return done


def _data_segments(fd, offset, length):
    """(start, length) of the ranges holding data inside [offset, offset+length), via SEEK_DATA/
    SEEK_HOLE; the whole range when the file or filesystem does not say."""
    seek_data = getattr(os, "SEEK_DATA", None)
    seek_hole = getattr(os, "SEEK_HOLE", None)
    end = offset + length
    if seek_data is None:
        return [(offset, length)]
    segments = []
    position = offset
    try:
        while position < end:
            try:
                start = os.lseek(fd, position, seek_data)
            except OSError as error:
                if error.errno == errno.ENXIO:  # only a hole up to the end of the file
                    break
                raise
            if start >= end:
                break
            stop = min(os.lseek(fd, start, seek_hole), end)
            segments.append((start, stop - start))
            position = stop
    except OSError as error:
        if error.errno in (errno.EINVAL, errno.EOPNOTSUPP, errno.ENOTSUP):
            return [(offset, length)]
        raise
    return segments


def copy_range(src_path, dst_path, offset=0, length=None, sparse=True):
    """Copy ``length`` bytes of ``src_path`` from ``offset`` into a new file ``dst_path``.

    Holes in the source stay holes (SEEK_DATA), data goes through copy_file_range (a reflink on
    XFS/btrfs, so nearly free there) or, where that is refused, through a buffered copy that
    also skips all-zero chunks. The result is exactly ``length`` bytes long.
    Returns the number of bytes that were actually read as data.
    """
    src_fd = os.open(src_path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    try:
        if length is None:
            length = os.lseek(src_fd, 0, os.SEEK_END) - offset
        dst_fd = os.open(dst_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o600)
        try:
            copied = 0
            for start, size in (_data_segments(src_fd, offset, length) if sparse else [(offset, length)]):
                target = start - offset
                done = _kernel_copy(src_fd, dst_fd, start, size, target)
                if done < size:
                    done += _buffered_copy(src_fd, dst_fd, start + done, size - done, target + done, sparse)
                copied += done
            os.ftruncate(dst_fd, length)
            os.fsync(dst_fd)
        finally:
            os.close(dst_fd)
    finally:
        os.close(src_fd)
    return copied


def copy_and_hash(src_path, dst_fd):
    """Copy a whole file into the open, empty file ``dst_fd`` (fsynced); return the SHA-256 of what was read."""
    digest = hashlib.sha256()
    src_fd = os.open(src_path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    try:
        length = os.fstat(src_fd).st_size
        _buffered_copy(src_fd, dst_fd, 0, length, 0, sparse=False, digest=digest)
        os.fsync(dst_fd)
    finally:
        os.close(src_fd)
    return digest.hexdigest()


def create_locked(path, mode=0o644):
    """Create ``path`` (must not exist) and hold a flock on it; returns the writable descriptor."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), mode)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BaseException:
        os.close(fd)
        os.unlink(path)
        raise
    return fd


def open_locked(path):
    """Open an existing ``path`` read-only and hold a flock on it; returns the descriptor."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BaseException:
        os.close(fd)
        raise
    return fd


def free_bytes(directory):
    stats = os.statvfs(directory)
    return stats.f_bavail * stats.f_frsize
