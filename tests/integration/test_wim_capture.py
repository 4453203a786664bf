# Copyright: (c) 2026, winimage.generalize contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""winimage.generalize.wim_capture on real artifacts of every source format.

The sources are built by tests/support/winimage_testdata (bare NTFS volumes, raw MBR and GPT
disks, VHD, VHDX, VMDK, qcow2). Each captured WIM is checked with wimlib's own verify, and its
files and metadata are compared with the source volume read by the ntfs-3g tools (ntfsls,
ntfscat), so the comparison does not depend on the code under test.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time

import pytest

import capture_support as support
from capture_support import requires_tools

from ansible_collections.winimage.generalize.plugins.module_utils import wimlib_capture as wimlib  # noqa: E402
from ansible_collections.winimage.generalize.plugins.modules import wim_capture  # noqa: E402
from winimage_testdata.fixtures import winimage_artifacts  # noqa: E402,F401 pylint: disable=unused-import

pytestmark = requires_tools

FORMATS = ("ntfs", "raw_mbr", "raw_gpt", "vhd", "vhdx", "vmdk", "qcow2")
DEFAULT_EXCLUDED = ("/pagefile.sys", "/hiberfil.sys", "/swapfile.sys", "/System Volume Information",
                    "/$Recycle.Bin", "/Windows/CSC", "/$WinREAgent")


def capture(capsys, **args):
    return support.run_inprocess(wim_capture, capsys, **args)


def excluded(path, prefixes):
    return any(path.lower() == p.lower() or path.lower().startswith(p.lower() + "/") for p in prefixes)


def assert_same_content(volume, wim, index, workdir, leave_out=DEFAULT_EXCLUDED):
    """The WIM image holds exactly the volume's files (minus ``leave_out``, by default what the
    default exclusions leave out): same tree, sizes, bytes and modification times, each with a
    security descriptor."""
    source = dict((p, e) for p, e in support.ntfs_entries(volume).items() if not excluded(p, leave_out))
    captured = support.wim_detailed(wim, index)
    assert sorted(captured) == sorted(source)
    for path, entry in source.items():
        got = captured[path]
        assert (got["dir"], got["size"], got["mtime"]) == (entry["dir"], entry["size"], entry["mtime"]), path
        assert got["security"], "%s has no security descriptor in the WIM" % path
    hashes = support.wim_file_hashes(wim, index, workdir)
    files = sorted(p for p, e in source.items() if not e["dir"])
    assert sorted(hashes) == files
    for path in files:
        assert hashes[path] == support.ntfs_file_hash(volume, path), path
    return source


@pytest.mark.parametrize("fmt", FORMATS)
def test_capture_of_each_format_matches_its_source(winimage_artifacts, tmp_path, capsys, fmt):
    artifact = winimage_artifacts.build(fmt, preset="generalized")
    dest = tmp_path / "image.wim"
    result = capture(capsys, src=str(artifact.path), dest=str(dest), name="Windows %s" % fmt,
                     description="from %s" % fmt, volume_access="copy" if fmt == "raw_mbr" else "auto")
    assert result.get("failed") is not True, result.get("msg")
    assert result["changed"] is True and result["action"] == "capture"
    assert support.wim_verify(dest).returncode == 0
    assert result["sha256"] == support.sha256_of(dest) and result["size"] == dest.stat().st_size
    assert (result["index"], result["image_count"]) == (1, 1)
    info = result["image_info"]
    assert (info["name"], info["description"]) == ("Windows %s" % fmt, "from %s" % fmt)
    assert info["windows"]["version"]["build"] == artifact.expected["os"]["build"]
    assert info["source_fingerprint"] == result["fingerprint"]
    assert result["source"]["partition"] == artifact.windows_partition
    expected_access = {"ntfs": "direct", "raw_mbr": "copy", "vhd": "qemu_convert", "vhdx": "qemu_convert",
                       "vmdk": "qemu_convert", "qcow2": "qemu_convert"}.get(fmt)
    if expected_access:
        assert result["volume_access"] == expected_access
    source = assert_same_content(support.windows_volume(artifact, tmp_path), dest, 1, tmp_path)
    assert info["file_count"] == len([e for e in source.values() if not e["dir"]])
    # Nothing but the WIM and its lock file is left beside it, nothing in the module's scratch.
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == [".image.wim.lock"]


def test_raw_disk_through_loop_device_and_through_copy_give_the_same_image(winimage_artifacts, tmp_path, capsys):
    if not wim_capture.capture_source.loop_available():
        pytest.skip("loop devices need root and /dev/loop-control")
    artifact = winimage_artifacts.build("raw_gpt", preset="reference_complete")
    results = {}
    for access in ("loop", "copy"):
        dest = tmp_path / ("%s.wim" % access)
        results[access] = capture(capsys, src=str(artifact.path), dest=str(dest), name="Ref", volume_access=access)
        assert results[access]["volume_access"] == access
    assert results["loop"]["copied_bytes"] == 0 and results["copy"]["copied_bytes"] > 0
    assert support.wim_detailed(tmp_path / "loop.wim", 1) == support.wim_detailed(tmp_path / "copy.wim", 1)
    assert support.wim_file_hashes(tmp_path / "loop.wim", 1, tmp_path) == \
        support.wim_file_hashes(tmp_path / "copy.wim", 1, tmp_path)
    # The loop device detached itself (autoclear) once the capture closed it.
    listing = subprocess.run(["losetup", "-j", str(artifact.path)], capture_output=True, text=True, check=False)
    assert listing.stdout.strip() == ""


def test_default_exclusions_leave_memory_files_and_restore_points_out(winimage_artifacts, tmp_path, capsys):
    volume = support.volume_with_memory_files(winimage_artifacts, tmp_path)
    present = support.ntfs_entries(volume)
    for path in DEFAULT_EXCLUDED:
        assert path in present, "the test volume must hold %s" % path
    dest = tmp_path / "clean.wim"
    result = capture(capsys, src=str(volume), dest=str(dest), name="Clean")
    assert result["changed"]
    assert_same_content(volume, dest, 1, tmp_path, leave_out=DEFAULT_EXCLUDED)
    captured = support.wim_detailed(dest, 1)
    assert "/pagefile.sys" not in captured and "/Users/Public/Documents/keep-me.txt" in captured


def test_custom_exclusions_replace_the_default_list(winimage_artifacts, tmp_path, capsys):
    volume = support.volume_with_memory_files(winimage_artifacts, tmp_path)
    dest = tmp_path / "custom.wim"
    result = capture(capsys, src=str(volume), dest=str(dest), name="Custom",
                     exclusions=["/Users/Public/Documents", "HIBERFIL.SYS"])
    assert result["exclusions"] == ["\\Users\\Public\\Documents", "HIBERFIL.SYS"]
    assert_same_content(volume, dest, 1, tmp_path, leave_out=("/Users/Public/Documents", "/hiberfil.sys"))
    assert "/pagefile.sys" in support.wim_detailed(dest, 1)


def _data_region(path):
    """Bytes of the WIM between its header and its first table: the resources of its images."""
    header = wimlib.read_header(str(path))
    end = min(r["offset"] for r in (header["blob_table"], header["xml"], header["integrity"]) if r["offset"])
    with open(path, "rb") as handle:
        handle.seek(wimlib.WIM_HEADER_SIZE)
        return handle.read(end - wimlib.WIM_HEADER_SIZE)


def test_append_adds_index_two_and_keeps_index_one_byte_identical(winimage_artifacts, tmp_path, capsys):
    first = winimage_artifacts.build("ntfs", preset="generalized")
    second = winimage_artifacts.build("qcow2", preset="audit_mode")
    dest = tmp_path / "multi.wim"
    capture(capsys, src=str(first.path), dest=str(dest), name="Generalized", compression="max")
    os.chmod(dest, 0o640)
    region_before = _data_region(dest)
    index1_before = support.wim_detailed(dest, 1)
    hashes_before = support.wim_file_hashes(dest, 1, tmp_path)
    result = capture(capsys, src=str(second.path), dest=str(dest), name="Audit mode", append=True, check_integrity=True)
    assert result["changed"] and result["action"] == "append"
    assert (result["index"], result["image_count"]) == (2, 2)
    assert result["compression"] == "max"
    assert [i["name"] for i in result["images"]] == ["Generalized", "Audit mode"]
    assert support.wim_verify(dest).returncode == 0
    assert _data_region(dest)[:len(region_before)] == region_before
    assert support.wim_detailed(dest, 1) == index1_before
    assert support.wim_file_hashes(dest, 1, tmp_path) == hashes_before
    assert oct(dest.stat().st_mode & 0o777) == oct(0o640)
    assert_same_content(support.windows_volume(second, tmp_path), dest, 2, tmp_path)


def test_an_existing_dest_is_never_overwritten(winimage_artifacts, tmp_path, capsys):
    volume = winimage_artifacts.build("ntfs", preset="generalized")
    other = winimage_artifacts.build("ntfs", preset="audit_mode")
    dest = tmp_path / "a.wim"
    capture(capsys, src=str(volume.path), dest=str(dest), name="One")
    digest = support.sha256_of(dest)
    refused = capture(capsys, src=str(other.path), dest=str(dest), name="Two")
    assert refused["failed"] and "never overwritten" in refused["msg"] and "append: true" in refused["msg"]
    changed_source = capture(capsys, src=str(other.path), dest=str(dest), name="one", append=True)
    assert changed_source["failed"] and "already has an image named 'one'" in changed_source["msg"]
    not_a_wim = tmp_path / "notes.wim"
    not_a_wim.write_text("my notes, not a WIM")
    foreign = capture(capsys, src=str(volume.path), dest=str(not_a_wim), name="One", append=True)
    assert foreign["failed"] and "cannot be read as a WIM" in foreign["msg"]
    assert support.sha256_of(dest) == digest and not_a_wim.read_text() == "my notes, not a WIM"
    assert not [p for p in os.listdir(tmp_path) if ".partial-" in p or ".scratch-" in p]


def test_rerun_with_unchanged_source_changes_nothing_and_a_changed_source_is_detected(
        winimage_artifacts, tmp_path, capsys):
    volume = tmp_path / "copy.ntfs"
    shutil.copyfile(winimage_artifacts.build("ntfs", preset="generalized").path, volume)
    dest = tmp_path / "a.wim"
    first = capture(capsys, src=str(volume), dest=str(dest), name="Ref")
    stat_before = dest.stat()
    again = capture(capsys, src=str(volume), dest=str(dest), name="Ref")
    assert again["changed"] is False and again["action"] == "none"
    assert (again["index"], again["sha256"], again["fingerprint"]) == (1, first["sha256"], first["fingerprint"])
    assert dest.stat().st_mtime_ns == stat_before.st_mtime_ns
    os.utime(volume, ns=(stat_before.st_atime_ns, stat_before.st_mtime_ns + 10 ** 9))  # the disk was written
    changed = capture(capsys, src=str(volume), dest=str(dest), name="Ref")
    assert changed["failed"] and "changed source" in changed["msg"]
    different_settings = capture(capsys, src=str(volume), dest=str(dest), name="Ref", exclusions=["\\pagefile.sys"])
    assert different_settings["failed"]
    assert capture(capsys, src=str(volume), dest=str(dest), name="Ref 2", append=True)["changed"] is True


def test_check_mode_reports_the_plan_and_writes_nothing(winimage_artifacts, tmp_path, capsys):
    artifact = winimage_artifacts.build("vhdx", preset="generalized")
    dest = tmp_path / "planned.wim"
    result = capture(capsys, src=str(artifact.path), dest=str(dest), name="Plan", verify=True, _ansible_check_mode=True)
    assert result["changed"] is True and result["action"] == "capture"
    assert result["volume_access"] == "qemu_convert" and result["source"]["partition"] == 3
    assert result["commands"][0].startswith("qemu-img convert") and "wimlib-imagex verify" in result["commands"][2]
    assert "wimlib-imagex capture" in result["command"]
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("kind,message", [
    ("wim", "already a WIM/ESD archive"),
    ("bitlocker", "BitLocker"),
    ("random_bytes", "not a supported image"),
    ("not_windows", "holds no Windows installation"),
])
def test_unusable_sources_are_named(winimage_artifacts, tmp_path, capsys, kind, message):
    artifact = winimage_artifacts.build(kind) if kind in ("bitlocker", "random_bytes", "not_windows") \
        else winimage_artifacts.build(kind, preset="generalized")
    result = capture(capsys, src=str(artifact.path), dest=str(tmp_path / "x.wim"), name="X")
    assert result["failed"] and message in result["msg"]
    assert "Traceback" not in result["msg"]
    assert os.listdir(tmp_path) == []


def test_a_disk_held_by_a_running_vm_is_refused(winimage_artifacts, tmp_path, capsys):
    if shutil.which("qemu-io") is None:
        pytest.skip("needs qemu-io (qemu-utils) to hold an image lock like a running VM")
    for kind, driver in (("raw_gpt", "raw"), ("qcow2", "qcow2")):
        disk = tmp_path / ("running-" + kind)
        shutil.copyfile(winimage_artifacts.build(kind, preset="generalized").path, disk)
        holder = subprocess.Popen(["qemu-io", "-f", driver, "-c", "sleep 60000", str(disk)],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            time.sleep(0.5)
            result = capture(capsys, src=str(disk), dest=str(tmp_path / ("%s.wim" % kind)), name="X")
        finally:
            holder.kill()
            holder.wait()
        assert result["failed"] and "lock" in result["msg"] and "VM" in result["msg"], result["msg"]
        assert not (tmp_path / ("%s.wim" % kind)).exists()


# --------------------------------------------------------------------------- interruption

@pytest.fixture(scope="module")
def large_volume(winimage_artifacts):
    # 128 MiB of random data: long enough at LZX with one thread to be interrupted midway.
    return winimage_artifacts.build("ntfs", preset="generalized", padding_bytes=128 << 20, padding_kind="random")


def _start(args, workdir):
    argv, env = support.module_command("wim_capture", args, workdir)
    return subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for_partial(process, directory, name, minimum=1 << 20, timeout=120):
    """The partial file once wimlib has written ``minimum`` bytes into it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for entry in os.listdir(directory):
            if entry.startswith(".%s.partial-" % name):
                try:
                    if os.path.getsize(os.path.join(directory, entry)) >= minimum:
                        return os.path.join(directory, entry)
                except FileNotFoundError:
                    pass
        if process.poll() is not None:
            pytest.fail("the capture ended before it could be interrupted: %s" % process.communicate())
        time.sleep(0.01)
    pytest.fail("no partial file appeared")


@pytest.mark.parametrize("append", [False, True])
def test_sigkill_midway_leaves_no_artifact_and_the_next_run_cleans_up(large_volume, winimage_artifacts, tmp_path,
                                                                      capsys, append):
    dest = tmp_path / "big.wim"
    if append:
        capture(capsys, src=str(winimage_artifacts.build("ntfs", preset="audit_mode").path), dest=str(dest),
                name="Existing", compression="max")
        old_digest = support.sha256_of(dest)
    process = _start({"src": str(large_volume.path), "dest": str(dest), "name": "Big", "compression": "max",
                      "threads": 1, "append": append}, tmp_path)
    partial = _wait_for_partial(process, tmp_path, "big.wim")
    process.kill()  # SIGKILL: no handler runs
    process.wait(30)
    # wimlib died with the module (PR_SET_PDEATHSIG), so nothing keeps writing the partial file.
    time.sleep(0.3)
    size = os.path.getsize(partial)
    time.sleep(0.5)
    assert os.path.getsize(partial) == size
    if append:
        assert support.sha256_of(dest) == old_digest
        assert support.wim_verify(dest).returncode == 0
    else:
        assert not dest.exists()
    rerun = capture(capsys, src=str(winimage_artifacts.build("ntfs", preset="generalized").path), dest=str(dest),
                    name="After the kill", append=append)
    assert rerun["changed"] and partial in rerun["removed_leftovers"]
    assert not os.path.exists(partial)
    assert support.wim_verify(dest).returncode == 0
    if append:
        assert [i["name"] for i in rerun["images"]] == ["Existing", "After the kill"]


def test_sigterm_stops_the_capture_and_removes_its_files(large_volume, tmp_path):
    dest = tmp_path / "term.wim"
    process = _start({"src": str(large_volume.path), "dest": str(dest), "name": "Big", "compression": "max",
                      "threads": 1}, tmp_path)
    _wait_for_partial(process, tmp_path, "term.wim")
    process.send_signal(signal.SIGTERM)
    stdout, _stderr = process.communicate(timeout=60)
    result = json.loads(stdout)
    assert result["failed"] and "stopped by signal %d" % signal.SIGTERM in result["msg"]
    assert not dest.exists()
    assert [p for p in os.listdir(tmp_path) if p.startswith(".term.wim.") and p != ".term.wim.lock"] == []


def test_a_second_capture_into_the_same_dest_waits_or_fails_clearly(
        large_volume, winimage_artifacts, tmp_path, capsys):
    dest = tmp_path / "shared.wim"
    process = _start({"src": str(large_volume.path), "dest": str(dest), "name": "Big", "compression": "max",
                      "threads": 1}, tmp_path)
    try:
        _wait_for_partial(process, tmp_path, "shared.wim", minimum=1)
        second = capture(capsys, src=str(winimage_artifacts.build("ntfs", preset="audit_mode").path),
                         dest=str(dest), name="Second", append=True)
        assert second["failed"] and "another capture into the same dest is running" in second["msg"]
    finally:
        process.kill()
        process.wait(30)
    assert not dest.exists()
