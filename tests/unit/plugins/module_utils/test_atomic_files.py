# Copyright: (c) 2026, winimage.generalize contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Locks, hidden names, no-overwrite links and sparse range copies used by capture and publish."""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import random

import pytest

from ansible_collections.winimage.generalize.plugins.module_utils import atomic_files


def test_link_into_place_refuses_to_replace_an_existing_file(tmp_path):
    final = tmp_path / "image.wim"
    final.write_bytes(b"published image")
    temp = tmp_path / ".image.wim.partial-1"
    temp.write_bytes(b"new image")
    with pytest.raises(FileExistsError):
        atomic_files.link_into_place(str(temp), str(final))
    assert final.read_bytes() == b"published image"
    assert temp.read_bytes() == b"new image"


def test_link_into_place_gives_the_final_name_and_drops_the_temporary_one(tmp_path):
    final = tmp_path / "image.wim"
    temp = tmp_path / ".image.wim.partial-1"
    temp.write_bytes(b"new image")
    atomic_files.link_into_place(str(temp), str(final))
    assert final.read_bytes() == b"new image"
    assert not temp.exists()


def test_link_into_place_falls_back_to_rename_without_hard_links(tmp_path, monkeypatch):
    def no_links(*_args):
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(atomic_files.os, "link", no_links)
    final, temp = tmp_path / "a.wim", tmp_path / ".a.wim.partial-1"
    temp.write_bytes(b"x")
    atomic_files.link_into_place(str(temp), str(final))
    assert final.read_bytes() == b"x" and not temp.exists()
    temp.write_bytes(b"y")
    with pytest.raises(FileExistsError):
        atomic_files.link_into_place(str(temp), str(final))
    assert final.read_bytes() == b"x"


def test_write_file_atomic_leaves_no_temporary_file(tmp_path):
    target = tmp_path / "catalog.json"
    atomic_files.write_file_atomic(str(target), "first")
    atomic_files.write_file_atomic(str(target), "second")
    assert target.read_text() == "second"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["catalog.json"]
    with pytest.raises(FileExistsError):
        atomic_files.write_file_atomic(str(target), "third", replace=False)
    assert target.read_text() == "second"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["catalog.json"]


def test_hidden_names_match_the_documented_pattern(tmp_path):
    dest = tmp_path / "win [11].wim"
    name = atomic_files.hidden_name(str(dest), "partial")
    assert os.path.basename(name).startswith(".win [11].wim.partial-")
    open(name, "w").close()
    (tmp_path / ".other.wim.partial-1").write_text("")
    assert atomic_files.leftovers([atomic_files.hidden_pattern(str(dest), "partial")]) == [name]


def _hold_lock(path, ready, release):
    with atomic_files.FileLock(path):
        ready.set()
        release.wait(30)


def test_a_held_lock_times_out_and_is_released_when_its_holder_ends(tmp_path):
    path = str(tmp_path / ".catalog.lock")
    ready, release = multiprocessing.Event(), multiprocessing.Event()
    holder = multiprocessing.Process(target=_hold_lock, args=(path, ready, release))
    holder.start()
    try:
        assert ready.wait(30)
        assert atomic_files.is_locked(path)
        with pytest.raises(atomic_files.LockTimeout, match="locked by another process"):
            atomic_files.FileLock(path, timeout=0).acquire()
    finally:
        release.set()
        holder.join(30)
    assert not atomic_files.is_locked(path)
    with atomic_files.FileLock(path, timeout=0):
        assert atomic_files.is_locked(path)


def test_a_killed_holder_does_not_keep_the_lock(tmp_path):
    path = str(tmp_path / ".catalog.lock")
    ready, release = multiprocessing.Event(), multiprocessing.Event()
    holder = multiprocessing.Process(target=_hold_lock, args=(path, ready, release))
    holder.start()
    assert ready.wait(30)
    holder.kill()
    holder.join(30)
    with atomic_files.FileLock(path, timeout=5):
        pass


def _sparse_source(path, layout, size):
    rng = random.Random(7)
    with open(path, "wb") as handle:
        handle.truncate(size)
        for offset, length in layout:
            handle.seek(offset)
            handle.write(rng.randbytes(length))


@pytest.mark.parametrize("offset,length", [(0, 8 << 20), (1 << 20, 4 << 20), (3 << 20, (5 << 20) - 512)])
def test_copy_range_copies_exactly_the_range_and_keeps_holes(tmp_path, offset, length):
    source = tmp_path / "disk.raw"
    _sparse_source(source, [(512 * 1024, 256 * 1024), (3 << 20, 1 << 20), (7 << 20, 4096)], 8 << 20)
    target = tmp_path / "volume.raw"
    atomic_files.copy_range(str(source), str(target), offset, length)
    data = source.read_bytes()[offset:offset + length]
    assert target.stat().st_size == length
    assert hashlib.sha256(target.read_bytes()).hexdigest() == hashlib.sha256(data).hexdigest()
    # Only the data ranges take space: far less than the range on any filesystem with holes.
    assert target.stat().st_blocks * 512 <= 2 << 20


def test_copy_range_without_kernel_copy_skips_zero_chunks(tmp_path, monkeypatch):
    monkeypatch.delattr(atomic_files.os, "copy_file_range", raising=False)
    monkeypatch.setattr(atomic_files, "COPY_CHUNK", 64 * 1024)
    source = tmp_path / "disk.raw"
    payload = bytes(1 << 20) + os.urandom(1 << 20) + bytes(1 << 20)
    source.write_bytes(payload)  # zeros written as data: only the buffered copy can skip them
    target = tmp_path / "volume.raw"
    atomic_files.copy_range(str(source), str(target), 0, len(payload))
    assert target.read_bytes() == payload
    assert target.stat().st_blocks * 512 < 2 << 20


def test_copy_and_hash_returns_the_hash_of_the_copy(tmp_path):
    source = tmp_path / "a.wim"
    source.write_bytes(os.urandom(300_000))
    fd = atomic_files.create_locked(str(tmp_path / ".incoming"))
    try:
        digest = atomic_files.copy_and_hash(str(source), fd)
    finally:
        os.close(fd)
    assert digest == hashlib.sha256(source.read_bytes()).hexdigest()
    assert (tmp_path / ".incoming").read_bytes() == source.read_bytes()
