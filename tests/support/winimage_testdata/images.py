# Copyright: (c) 2026, winimage.generalize contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pack synthetic Windows trees into real artifacts, with real tools, without
mounting anything and without root.

=================  ==============================================================
kind               what is built
=================  ==============================================================
``tree``           the directory tree (:func:`windows_tree.build_tree`)
``wim``            ``wimlib-imagex capture`` of the tree, one index
``wim_multi``      a WIM with two indexes (``wimlib-imagex append``)
``ntfs``           bare NTFS volume: ``mkntfs -F -Q`` on a sparse file, then
                   ``wimlib-imagex apply <wim> 1 <file>`` (NTFS-3G mode)
``raw_mbr``        MBR disk: 1 "System Reserved" NTFS (active, no Windows dir),
                   2 Windows NTFS
``raw_gpt``        GPT disk: 1 EFI system (FAT12), 2 MSR, 3 Windows NTFS, 4 WinRE
``vhd`` ``vhdx``   ``qemu-img convert`` of ``raw_gpt`` (``vhd`` is qemu's "vpc")
``vmdk`` ``qcow2``
``not_windows``    NTFS volume with files but no Windows directory
``random_bytes``   a file of (seeded) random bytes
``bitlocker``      a volume whose boot sector carries ``-FVE-FS-`` at offset 3
``bitlocker_gpt``  ``raw_gpt`` whose Windows partition is that BitLocker volume
``corrupt_hive``   ``ntfs`` of the preset with a damaged SOFTWARE hive
=================  ==============================================================

Every builder returns an :class:`Artifact` (path, format, expected facts,
partition offsets). An :class:`ArtifactBuilder` caches what it built, keyed by
the parameters, so one pytest session builds each artifact once.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import random
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Union

from . import partitions as pt
from . import windows_tree
from .regf import HiveError

MIB = 1024 * 1024
QEMU_FORMATS = {"vhd": "vpc", "vhdx": "vhdx", "vmdk": "vmdk", "qcow2": "qcow2"}
REQUIRED_TOOLS = {
    "wim": ("wimlib-imagex",),
    "ntfs": ("wimlib-imagex", "mkntfs"),
    "qemu": ("qemu-img",),
}
# The apt packages providing each tool on Debian/Ubuntu (for clear error messages).
TOOL_PACKAGES = {"wimlib-imagex": "wimtools", "mkntfs": "ntfs-3g", "ntfsls": "ntfs-3g", "ntfscat": "ntfs-3g",
                 "qemu-img": "qemu-utils", "hivexsh": "libhivex-bin", "hivexml": "libhivex-bin",
                 "hivexregedit": "libwin-hivex-perl", "sfdisk": "fdisk"}


class ToolMissing(RuntimeError):
    """A system tool needed to build an artifact is not installed."""


def missing_tools(*names: str) -> List[str]:
    return [name for name in names if shutil.which(name) is None]


def require_tools(*names: str) -> None:
    absent = missing_tools(*names)
    if absent:
        packages = sorted({TOOL_PACKAGES.get(n, n) for n in absent})
        raise ToolMissing("missing tool(s) %s; install the Debian package(s) %s (see bindep.txt)"
                          % (", ".join(absent), ", ".join(packages)))


def run(command: Sequence[str], **kwargs) -> subprocess.CompletedProcess:
    """Run a tool; on failure raise with its stderr (no traceback noise in the message)."""
    result = subprocess.run([str(c) for c in command], stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False,
                            **kwargs)
    if result.returncode != 0:
        stderr = result.stderr.decode("utf-8", "replace").strip()[-2000:]
        raise RuntimeError("%s failed (exit %d): %s" % (command[0], result.returncode, stderr))
    return result


@dataclass
class PartitionInfo:
    number: int  # 1-based, as tools count
    offset: int  # bytes from the start of the disk
    size: int
    role: str  # "esp" | "msr" | "system_reserved" | "windows" | "recovery"
    gpt_type: Optional[str] = None
    mbr_type: Optional[int] = None


@dataclass
class Artifact:
    kind: str
    path: Path
    format: str  # "dir" | "wim" | "ntfs" | "raw" | "vpc" | "vhdx" | "vmdk" | "qcow2" | "bytes"
    preset: Optional[str] = None
    expected: Optional[dict] = None  # windows_tree.expected_facts(), None for negatives
    partitions: List[PartitionInfo] = field(default_factory=list)
    wim_images: List[str] = field(default_factory=list)  # image names by index-1
    windows_partition: Optional[int] = None  # partition number holding Windows (disks)
    key: str = ""  # cache key: kind + digest of the parameters and of this package's source

    @property
    def windows_offset(self) -> Optional[int]:
        for part in self.partitions:
            if part.number == self.windows_partition:
                return part.offset
        return None


Profile = Union[str, windows_tree.WindowsProfile]


class ArtifactBuilder:
    """Builds artifacts under ``workdir`` and remembers them.

    ``cache_dir`` (or env ``WINIMAGE_TESTDATA_CACHE``) keeps artifacts between
    runs, keyed by the parameters and this package's source, so editing a builder
    rebuilds. Without it everything lives in ``workdir`` only.
    """

    def __init__(self, workdir: Union[str, Path], cache_dir: Union[str, Path, None] = None):
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        cache = cache_dir or os.environ.get("WINIMAGE_TESTDATA_CACHE")
        self.cache_dir = Path(cache) if cache else None
        self._memo: Dict[str, Artifact] = {}
        self.timings: Dict[str, float] = {}

    # ------------------------------------------------------------------ plumbing
    def build(self, kind: str, **params) -> Artifact:
        """Build (or reuse) an artifact of ``kind`` (see module doc)."""
        builders = {
            "tree": self.tree, "wim": self.wim, "wim_multi": self.wim_multi, "ntfs": self.ntfs,
            "raw_mbr": self.raw_mbr, "raw_gpt": self.raw_gpt, "vhd": self.converted, "vhdx": self.converted,
            "vmdk": self.converted, "qcow2": self.converted, "not_windows": self.not_windows,
            "random_bytes": self.random_bytes, "bitlocker": self.bitlocker, "bitlocker_gpt": self.bitlocker_gpt,
            "corrupt_hive": self.corrupt_hive,
        }
        if kind not in builders:
            raise ValueError("unknown artifact kind %r; known: %s" % (kind, ", ".join(sorted(builders))))
        if kind in QEMU_FORMATS:
            params["fmt"] = kind
        return builders[kind](**params)

    def _key(self, kind: str, params: dict) -> str:
        text = json.dumps({"kind": kind, "params": params, "source": _source_digest()}, sort_keys=True, default=repr)
        return kind + "-" + hashlib.sha256(text.encode()).hexdigest()[:16]

    def _memoized(self, kind: str, params: dict, make, suffix: str = "") -> Artifact:
        key = self._key(kind, params)
        if key in self._memo:
            return self._memo[key]
        import time

        started = time.monotonic()
        target = self.workdir / (key + suffix)
        cached = self.cache_dir / (key + suffix) if self.cache_dir else None
        meta = None
        if cached is not None and cached.exists() and Path(str(cached) + ".json").exists():
            meta = json.loads(Path(str(cached) + ".json").read_text())
            target = cached
        if meta is None:
            if cached is not None:
                target = cached
                cached.parent.mkdir(parents=True, exist_ok=True)
            _remove(target)
            artifact = make(target)
            if cached is not None:
                Path(str(cached) + ".json").write_text(json.dumps(_to_json(artifact)))
        else:
            artifact = _from_json(meta, target)
        artifact.key = key
        self.timings[key] = time.monotonic() - started
        self._memo[key] = artifact
        return artifact

    # ------------------------------------------------------------------ trees and WIMs
    def tree(self, preset: Profile = "generalized", padding_bytes: int = 0, padding_kind: str = "zeros") -> Artifact:
        profile = _profile(preset)
        params = {"profile": repr(profile), "padding": padding_bytes, "padding_kind": padding_kind}

        def make(target: Path) -> Artifact:
            expected = windows_tree.build_tree(profile, target)
            if padding_bytes:
                write_padding(target / "ProgramData" / "Padding" / "padding.bin", padding_bytes, padding_kind)
            return Artifact("tree", target, "dir", profile.name, expected)

        return self._memoized("tree", params, make)

    def wim(self, preset: Profile = "generalized", compress: str = "XPRESS", padding_bytes: int = 0,
            padding_kind: str = "zeros") -> Artifact:
        require_tools(*REQUIRED_TOOLS["wim"])
        source = self.tree(preset, padding_bytes, padding_kind)
        params = {"tree": source.key, "compress": compress}

        def make(target: Path) -> Artifact:
            name = _image_name(source.expected)
            capture_wim(source.path, target, name, compress=compress)
            return Artifact("wim", target, "wim", source.preset, source.expected, wim_images=[name])

        return self._memoized("wim", params, make, ".wim")

    def wim_multi(self, presets: Sequence[Profile] = ("audit_mode", "generalized"),
                  compress: str = "XPRESS") -> Artifact:
        require_tools(*REQUIRED_TOOLS["wim"])
        trees = [self.tree(p) for p in presets]
        params = {"trees": [t.key for t in trees], "compress": compress}

        def make(target: Path) -> Artifact:
            names = []
            for index, source in enumerate(trees):
                name = "%s (%s)" % (_image_name(source.expected), source.preset)
                names.append(name)
                if index == 0:
                    capture_wim(source.path, target, name, compress=compress)
                else:
                    run(["wimlib-imagex", "append", source.path, target, name, "--compress=" + compress,
                         "--config=%s" % capture_everything_config(Path(target).parent)])
            return Artifact("wim_multi", target, "wim", trees[-1].preset, trees[-1].expected, wim_images=names)

        return self._memoized("wim_multi", params, make, ".wim")

    # ------------------------------------------------------------------ NTFS volumes and disks
    def ntfs(self, preset: Profile = "generalized", size_mb: Optional[int] = None, padding_bytes: int = 0,
             padding_kind: str = "zeros", hidden_sectors: int = 0) -> Artifact:
        require_tools(*REQUIRED_TOOLS["ntfs"])
        image = self.wim(preset, padding_bytes=padding_bytes, padding_kind=padding_kind)
        params = {"wim": image.key, "size_mb": size_mb, "hidden": hidden_sectors}

        def make(target: Path) -> Artifact:
            size = size_mb * MIB if size_mb else volume_size_for(self.tree(preset, padding_bytes,
                                                                           padding_kind).path)
            ntfs_from_wim(image.path, target, size, label="Windows", hidden_sectors=hidden_sectors)
            return Artifact("ntfs", target, "ntfs", image.preset, image.expected)

        return self._memoized("ntfs", params, make, ".ntfs")

    def raw_mbr(self, preset: Profile = "generalized", size_mb: Optional[int] = None) -> Artifact:
        # Windows on BIOS/MBR: a 0x07 "System Reserved" NTFS partition (active, boot files only)
        # precedes the Windows partition, also 0x07: readers must look inside to choose.
        windows_start = MIB + 8 * MIB  # after the 1 MiB gap and the 8 MiB System Reserved partition
        windows = self.ntfs(preset, size_mb=size_mb, hidden_sectors=windows_start // pt.SECTOR)
        reserved = self._system_reserved()
        params = {"windows": windows.key, "reserved": "system_reserved"}

        def make(target: Path) -> Artifact:
            parts = [
                pt.Partition(size=8 * MIB, mbr_type=pt.MBR_NTFS, source=reserved, active=True),
                pt.Partition(size=windows.path.stat().st_size, mbr_type=pt.MBR_NTFS, source=windows.path),
            ]
            pt.write_disk(target, parts, "mbr", seed=target.name)
            infos = [PartitionInfo(1, parts[0].start, parts[0].size, "system_reserved", mbr_type=pt.MBR_NTFS),
                     PartitionInfo(2, parts[1].start, parts[1].size, "windows", mbr_type=pt.MBR_NTFS)]
            if parts[1].start != windows_start:
                raise AssertionError("MBR layout moved the Windows partition")
            return Artifact("raw_mbr", target, "raw", windows.preset, windows.expected, infos, windows_partition=2)

        return self._memoized("raw_mbr", params, make, ".img")

    def raw_gpt(self, preset: Profile = "generalized", size_mb: Optional[int] = None,
                windows_volume: Optional[Artifact] = None, kind: str = "raw_gpt") -> Artifact:
        # UEFI/GPT layout Windows Setup creates: ESP, MSR, Windows, recovery (WinRE).
        windows_start = 3 * MIB  # 1 MiB gap, 1 MiB ESP, 1 MiB MSR
        if windows_volume is None:
            windows = self.ntfs(preset, size_mb=size_mb, hidden_sectors=windows_start // pt.SECTOR)
            source = windows
        else:
            source = windows_volume
        volume, profile_name, expected = source.path, source.preset, source.expected
        esp = self._esp()
        params = {"windows": source.key, "esp": "fat12-1MiB", "kind": kind}

        def make(target: Path) -> Artifact:
            parts = [
                pt.Partition(size=MIB, gpt_type=pt.GPT_ESP, mbr_type=pt.MBR_ESP, name="EFI system partition",
                             source=esp, attributes=0x8000000000000000),
                pt.Partition(size=MIB, gpt_type=pt.GPT_MSR, name="Microsoft reserved partition"),
                pt.Partition(size=_align(volume.stat().st_size, MIB), gpt_type=pt.GPT_BASIC_DATA,
                             name="Basic data partition", source=volume),
                pt.Partition(size=MIB, gpt_type=pt.GPT_WINRE, name="Recovery",
                             attributes=0x8000000000000001),
            ]
            pt.write_disk(target, parts, "gpt", seed=target.name)
            roles = ("esp", "msr", "windows", "recovery")
            infos = [PartitionInfo(i + 1, p.start, p.size, roles[i], gpt_type=p.gpt_type) for i, p in enumerate(parts)]
            if parts[2].start != windows_start:
                raise AssertionError("GPT layout moved the Windows partition")
            return Artifact(kind, target, "raw", profile_name, expected, infos, windows_partition=3)

        return self._memoized(kind, params, make, ".img")

    def converted(self, fmt: str = "vhdx", preset: Profile = "generalized", source: str = "raw_gpt") -> Artifact:
        if fmt not in QEMU_FORMATS:
            raise ValueError("format must be one of %s" % ", ".join(sorted(QEMU_FORMATS)))
        require_tools(*REQUIRED_TOOLS["qemu"])
        disk = self.raw_gpt(preset) if source == "raw_gpt" else self.raw_mbr(preset)
        params = {"disk": disk.key, "fmt": fmt}

        def make(target: Path) -> Artifact:
            convert_disk(disk.path, target, fmt)
            return dataclasses.replace(disk, kind=fmt, path=target, format=QEMU_FORMATS[fmt],
                                       partitions=list(disk.partitions))

        return self._memoized(fmt, params, make, "." + fmt)

    # ------------------------------------------------------------------ negative artifacts
    def not_windows(self, size_mb: int = 8) -> Artifact:
        require_tools(*REQUIRED_TOOLS["ntfs"])
        params = {"size_mb": size_mb}

        def make(target: Path) -> Artifact:
            tree = self.workdir / (target.name + ".tree")
            _remove(tree)
            (tree / "Data" / "Projects").mkdir(parents=True)
            (tree / "Data" / "Projects" / "readme.txt").write_text("Just data, no Windows here.\r\n")
            (tree / "Program Files").mkdir()
            image = self.workdir / (target.name + ".wim")
            capture_wim(tree, image, "Data volume")
            ntfs_from_wim(image, target, size_mb * MIB, label="Data")
            return Artifact("not_windows", target, "ntfs")

        return self._memoized("not_windows", params, make, ".ntfs")

    def random_bytes(self, size: int = 4 * MIB, seed: int = 1234) -> Artifact:
        params = {"size": size, "seed": seed}

        def make(target: Path) -> Artifact:
            generator = random.Random(seed)
            with open(target, "wb") as out:
                remaining = size
                while remaining:
                    chunk = min(remaining, MIB)
                    out.write(generator.randbytes(chunk))
                    remaining -= chunk
            return Artifact("random_bytes", target, "bytes")

        return self._memoized("random_bytes", params, make, ".bin")

    def bitlocker(self, size_mb: int = 8) -> Artifact:
        params = {"size_mb": size_mb}

        def make(target: Path) -> Artifact:
            write_bitlocker_like_volume(target, size_mb * MIB)
            return Artifact("bitlocker", target, "bitlocker")

        return self._memoized("bitlocker", params, make, ".vol")

    def bitlocker_gpt(self, size_mb: int = 8) -> Artifact:
        volume = self.bitlocker(size_mb)
        return self.raw_gpt(windows_volume=volume, kind="bitlocker_gpt")

    def corrupt_hive(self, preset: Profile = "generalized", hive: str = "SOFTWARE") -> Artifact:
        profile = _profile(preset)
        broken = dataclasses.replace(profile, corrupt_hives=(hive,))
        return self.ntfs(broken)

    # ------------------------------------------------------------------ helpers
    def _system_reserved(self) -> Path:
        target = self.workdir / "system-reserved.ntfs"
        if not target.exists():
            tree = self.workdir / "system-reserved.tree"
            _remove(tree)
            (tree / "Boot").mkdir(parents=True)
            (tree / "Boot" / "BCD").write_bytes(b"placeholder BCD store\n")
            (tree / "bootmgr").write_bytes(b"placeholder boot manager\n")
            image = self.workdir / "system-reserved.wim"
            _remove(image)
            capture_wim(tree, image, "System Reserved")
            ntfs_from_wim(image, target, 8 * MIB, label="System Reserved", hidden_sectors=MIB // pt.SECTOR)
        return target

    def _esp(self) -> Path:
        target = self.workdir / "esp.fat"
        if not target.exists():
            pt.fat12_volume(target, MIB, label="SYSTEM", hidden_sectors=MIB // pt.SECTOR)
        return target


# ---------------------------------------------------------------------- tool wrappers


def capture_everything_config(directory: Path) -> Path:
    """An empty wimlib capture configuration.

    Without ``--config`` wimlib applies its built-in exclusions (pagefile.sys, hiberfil.sys,
    swapfile.sys ...), but the test images must hold exactly what the tree holds so that the
    verify rules about captured swap files can fire.
    """
    config = Path(directory) / "capture-everything.ini"
    if not config.exists():
        config.write_text("")
    return config


def capture_wim(source: Path, target: Path, name: str, description: str = "winimage test image",
                compress: str = "XPRESS") -> Path:
    """``wimlib-imagex capture`` a directory into a new WIM (one image), excluding nothing."""
    require_tools("wimlib-imagex")
    config = capture_everything_config(Path(target).parent)
    run(["wimlib-imagex", "capture", source, target, name, description, "--compress=" + compress,
         "--config=%s" % config])
    return target


def ntfs_from_wim(image: Path, target: Path, size: int, label: str = "Windows", index: int = 1,
                  hidden_sectors: int = 0) -> Path:
    """Make an NTFS volume file of ``size`` bytes (sparse) and apply a WIM image into it."""
    require_tools("wimlib-imagex", "mkntfs")
    _remove(target)
    with open(target, "wb") as volume:
        volume.truncate(size)
    run(["mkntfs", "-F", "-Q", "-q", "-s", "512", "-L", label, "-p", str(hidden_sectors), "-H", "255", "-S", "63",
         target])
    run(["wimlib-imagex", "apply", image, str(index), target])
    return target


def convert_disk(source: Path, target: Path, fmt: str) -> Path:
    """``qemu-img convert`` a raw disk into vhd (vpc) / vhdx / vmdk / qcow2."""
    require_tools("qemu-img")
    options = ["-o", "subformat=dynamic,force_size=on"] if fmt == "vhd" else []
    run(["qemu-img", "convert", "-f", "raw", "-O", QEMU_FORMATS[fmt]] + options + [source, target])
    return target


def volume_size_for(tree: Path) -> int:
    """A comfortable NTFS size for the tree: content * 1.25 + 12 MiB, at least 16 MiB."""
    content = sum(p.stat().st_size for p in tree.rglob("*") if p.is_file())
    return max(16 * MIB, _align(int(content * 1.25) + 12 * MIB, MIB))


def write_padding(path: Path, size: int, kind: str = "zeros", seed: int = 42) -> Path:
    """A filler file for size benchmarks: sparse zeros or seeded random bytes."""
    if kind not in ("zeros", "random"):
        raise ValueError("padding kind must be 'zeros' or 'random', got %r" % kind)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as out:
        if kind == "zeros":
            out.truncate(size)
        else:
            generator = random.Random(seed)
            remaining = size
            while remaining:
                chunk = min(remaining, 4 * MIB)
                out.write(generator.randbytes(chunk))
                remaining -= chunk
    return path


def write_bitlocker_like_volume(path: Path, size: int) -> Path:
    """A volume that identifies as BitLocker: boot sector OEM id "-FVE-FS-" at
    offset 3 (what BitLocker writes), and the FVE metadata GUID at 0xA0, the rest
    is ciphertext-looking random data. Nothing here is really decryptable."""
    boot = bytearray(512)
    boot[0:3] = b"\xeb\x58\x90"
    boot[3:11] = b"-FVE-FS-"
    boot[11:13] = (512).to_bytes(2, "little")
    boot[13] = 8
    # BitLocker's metadata GUID {4967D63B-2E29-4AD8-8399-F6A339E3D001} (as stored, little endian).
    import uuid

    boot[0xA0:0xB0] = uuid.UUID("4967d63b-2e29-4ad8-8399-f6a339e3d001").bytes_le
    boot[510:512] = b"\x55\xaa"
    generator = random.Random(99)
    with open(path, "wb") as out:
        out.write(boot)
        out.write(generator.randbytes(MIB - 512))
        out.truncate(size)
    return path


# ---------------------------------------------------------------------- small helpers


def _align(value: int, unit: int) -> int:
    return (value + unit - 1) // unit * unit


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()


def _profile(preset: Profile) -> windows_tree.WindowsProfile:
    if isinstance(preset, windows_tree.WindowsProfile):
        return preset
    if isinstance(preset, str):
        return windows_tree.preset(preset)
    raise HiveError("preset must be a preset name or a WindowsProfile, got %s" % type(preset).__name__)


def _image_name(expected: Optional[dict]) -> str:
    if not expected:
        return "Windows"
    return "%s %s" % (expected["os"]["product_name"], expected["os"]["edition_id"])


_SOURCE_DIGEST = None


def _source_digest() -> str:
    global _SOURCE_DIGEST
    if _SOURCE_DIGEST is None:
        digest = hashlib.sha256()
        for source in sorted(Path(__file__).parent.glob("*.py")):
            digest.update(source.read_bytes())
        _SOURCE_DIGEST = digest.hexdigest()
    return _SOURCE_DIGEST


def _to_json(artifact: Artifact) -> dict:
    data = dataclasses.asdict(artifact)
    data["path"] = str(artifact.path)
    return data


def _from_json(data: dict, path: Path) -> Artifact:
    data = dict(data)
    data["path"] = path
    data["partitions"] = [PartitionInfo(**p) for p in data.get("partitions", [])]
    return Artifact(**data)
