# Copyright: (c) 2026, winimage.generalize contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every artifact kind builds with the real tools and those tools accept the result."""

import hashlib
import json
import subprocess

import pytest

from winimage_testdata import images
from winimage_testdata.fixtures import skip_without_tools

pytestmark = skip_without_tools("wimlib-imagex", "mkntfs", "ntfsls", "ntfscat", "qemu-img")


def tool(*command, check=True):
    return subprocess.run([str(c) for c in command], check=check, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def ntfs_listing(volume, path):
    return tool("ntfsls", "-p", path, volume).stdout.decode().split()


def ntfs_read(volume, path):
    return tool("ntfscat", volume, path).stdout


def extract(disk, offset, size, target):
    """Copy one partition out of a raw disk (by byte offset) into its own file."""
    with open(disk, "rb") as source, open(target, "wb") as out:
        source.seek(offset)
        remaining = size
        while remaining:
            chunk = source.read(min(remaining, 1024 * 1024))
            if not chunk:
                break
            out.write(chunk)
            remaining -= len(chunk)
    return target


def test_single_index_wim_is_valid_and_has_no_index_2(winimage_artifacts):
    wim = winimage_artifacts.build("wim", preset="generalized")
    tool("wimlib-imagex", "verify", wim.path)
    info = tool("wimlib-imagex", "info", wim.path, "1").stdout.decode()
    assert "Image Count:    1" in tool("wimlib-imagex", "info", wim.path).stdout.decode()
    # wimlib parses the hives itself: its view must agree with the expected facts.
    assert "Product Name:           %s" % wim.expected["os"]["product_name"] in info
    assert "Build:                  %d" % wim.expected["os"]["build"] in info
    assert "Architecture:           x86_64" in info
    assert "Languages:              en-US" in info
    missing = tool("wimlib-imagex", "info", wim.path, "2", check=False)
    assert missing.returncode != 0 and b"image" in missing.stderr.lower()


def test_multi_index_wim_holds_both_images(winimage_artifacts):
    wim = winimage_artifacts.build("wim_multi", presets=("audit_mode", "generalized"))
    tool("wimlib-imagex", "verify", wim.path)
    assert "Image Count:    2" in tool("wimlib-imagex", "info", wim.path).stdout.decode()
    second = tool("wimlib-imagex", "dir", wim.path, "2", "--path=/Windows/Setup/State").stdout.decode()
    assert "/Windows/Setup/State/State.ini" in second
    state = tool("wimlib-imagex", "extract", wim.path, "2", "/Windows/Setup/State/State.ini", "--to-stdout").stdout
    assert b"IMAGE_STATE_GENERALIZE_RESEAL_TO_OOBE" in state
    assert len(wim.wim_images) == 2


def test_ntfs_volume_exposes_the_windows_tree(winimage_artifacts):
    volume = winimage_artifacts.build("ntfs", preset="domain_joined")
    tree = winimage_artifacts.tree("domain_joined").path
    assert {"SYSTEM", "SOFTWARE", "SAM", "SECURITY"} <= set(ntfs_listing(volume.path, "/Windows/System32/config"))
    for relative in ("Windows/Setup/State/State.ini", "Windows/System32/config/SYSTEM",
                     "ProgramData/Microsoft/Windows/AppRepository/StateRepository-Machine.srd"):
        assert ntfs_read(volume.path, "/" + relative) == (tree / relative).read_bytes(), relative
    assert volume.expected["domain"]["dns_domain"] == "corp.example.com"


@pytest.mark.parametrize("kind, windows_number, first_role", [("raw_mbr", 2, "system_reserved"),
                                                              ("raw_gpt", 3, "esp")])
def test_partitioned_disks_hold_windows_after_a_system_partition(winimage_artifacts, tmp_path, kind,
                                                                 windows_number, first_role):
    disk = winimage_artifacts.build(kind, preset="generalized")
    assert disk.windows_partition == windows_number
    assert disk.partitions[0].role == first_role and disk.partitions[0].number == 1
    windows = [p for p in disk.partitions if p.number == windows_number][0]
    assert disk.windows_offset == windows.offset
    volume = extract(disk.path, windows.offset, windows.size, tmp_path / "windows.ntfs")
    assert "config" in ntfs_listing(volume, "/Windows/System32")
    assert b"IMAGE_STATE_GENERALIZE_RESEAL_TO_OOBE" in ntfs_read(volume, "/Windows/Setup/State/State.ini")
    if kind == "raw_mbr":
        reserved = extract(disk.path, disk.partitions[0].offset, disk.partitions[0].size, tmp_path / "sr.ntfs")
        assert "Windows" not in ntfs_listing(reserved, "/") and "bootmgr" in ntfs_listing(reserved, "/")
    else:
        with open(disk.path, "rb") as raw:
            raw.seek(disk.partitions[0].offset + 54)
            assert raw.read(8) == b"FAT12   "


@skip_without_tools("sfdisk")
@pytest.mark.parametrize("kind, label", [("raw_mbr", "dos"), ("raw_gpt", "gpt")])
def test_sfdisk_agrees_with_the_partition_layout(winimage_artifacts, kind, label):
    disk = winimage_artifacts.build(kind, preset="generalized")
    tool("sfdisk", "--verify", disk.path)
    table = json.loads(tool("sfdisk", "--json", disk.path).stdout)["partitiontable"]
    assert table["label"] == label
    starts = [p["start"] * 512 for p in table["partitions"]]
    assert starts == [p.offset for p in disk.partitions]
    if label == "gpt":
        types = [p["type"].lower() for p in table["partitions"]]
        assert types == [p.gpt_type for p in disk.partitions]
    else:
        assert [int(p["type"], 16) for p in table["partitions"]] == [7, 7]
        assert table["partitions"][0].get("bootable") is True


@pytest.mark.parametrize("fmt, qemu_name", sorted(images.QEMU_FORMATS.items()))
def test_virtual_disk_formats_convert_back_to_the_same_raw_disk(winimage_artifacts, tmp_path, fmt, qemu_name):
    image = winimage_artifacts.build(fmt, preset="generalized")
    raw = winimage_artifacts.build("raw_gpt", preset="generalized")
    info = json.loads(tool("qemu-img", "info", "--output=json", image.path).stdout)
    assert info["format"] == qemu_name
    assert info["virtual-size"] == raw.path.stat().st_size
    back = tmp_path / "back.raw"
    tool("qemu-img", "convert", "-f", qemu_name, "-O", "raw", image.path, back)
    assert _sha256(back) == _sha256(raw.path)
    assert image.windows_offset == raw.windows_offset


def test_not_a_windows_volume_is_ntfs_without_windows(winimage_artifacts):
    volume = winimage_artifacts.build("not_windows")
    listing = ntfs_listing(volume.path, "/")
    assert "Windows" not in listing and "Data" in listing


def test_random_bytes_are_not_a_file_system(winimage_artifacts):
    blob = winimage_artifacts.build("random_bytes", size=2 * 1024 * 1024)
    assert blob.path.stat().st_size == 2 * 1024 * 1024
    assert tool("ntfsls", blob.path, check=False).returncode != 0


def test_bitlocker_like_volume_and_disk(winimage_artifacts):
    volume = winimage_artifacts.build("bitlocker")
    assert volume.path.read_bytes()[3:11] == b"-FVE-FS-"
    assert tool("ntfsls", volume.path, check=False).returncode != 0
    disk = winimage_artifacts.build("bitlocker_gpt")
    with open(disk.path, "rb") as raw:
        raw.seek(disk.windows_offset + 3)
        assert raw.read(8) == b"-FVE-FS-"


@skip_without_tools("hivexsh")
def test_corrupt_hive_inside_an_otherwise_fine_volume(winimage_artifacts, tmp_path):
    volume = winimage_artifacts.build("corrupt_hive", preset="generalized", hive="SOFTWARE")
    assert volume.expected["corrupt_hives"] == ["SOFTWARE"]
    software = tmp_path / "SOFTWARE"
    software.write_bytes(ntfs_read(volume.path, "/Windows/System32/config/SOFTWARE"))
    system = tmp_path / "SYSTEM"
    system.write_bytes(ntfs_read(volume.path, "/Windows/System32/config/SYSTEM"))
    assert tool("hivexsh", software, check=False).returncode != 0
    assert tool("hivexsh", system, check=False).returncode == 0


def test_artifacts_are_built_once_per_builder(winimage_artifacts):
    first = winimage_artifacts.build("wim", preset="generalized")
    again = winimage_artifacts.build("wim", preset="generalized")
    assert first is again


def test_disk_cache_is_reused_between_builders(tmp_path):
    cache = tmp_path / "cache"
    one = images.ArtifactBuilder(tmp_path / "one", cache_dir=cache).build("ntfs", preset="skip_rearm")
    stamp = one.path.stat().st_mtime_ns
    two = images.ArtifactBuilder(tmp_path / "two", cache_dir=cache).build("ntfs", preset="skip_rearm")
    assert two.path == one.path and two.path.stat().st_mtime_ns == stamp
    assert two.expected == one.expected


def test_size_is_configurable_with_padding(tmp_path):
    builder = images.ArtifactBuilder(tmp_path)
    volume = builder.ntfs("reference_complete", padding_bytes=3 * 1024 * 1024, padding_kind="random")
    padding = ntfs_read(volume.path, "/ProgramData/Padding/padding.bin")
    assert len(padding) == 3 * 1024 * 1024 and padding != bytes(len(padding))
    fixed = builder.ntfs("reference_complete", size_mb=40)
    assert fixed.path.stat().st_size == 40 * 1024 * 1024


def test_missing_tool_gives_a_clear_message(monkeypatch):
    monkeypatch.setattr(images.shutil, "which", lambda name: None)
    with pytest.raises(images.ToolMissing, match="install the Debian package.*wimtools"):
        images.require_tools("wimlib-imagex")


def test_unknown_kind_is_refused(winimage_artifacts):
    with pytest.raises(ValueError, match="unknown artifact kind 'iso'"):
        winimage_artifacts.build("iso")


def _sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for chunk in iter(lambda: stream.read(1024 * 1024), b""):
            digest.update(chunk)
    return digest.hexdigest()
