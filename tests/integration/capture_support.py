# Copyright: (c) 2026, winimage.generalize contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Shared by the capture and publish integration tests: running the modules, and reading the
source volume (ntfs-3g tools) and the captured WIM (wimlib) independently of the code under test."""

from __future__ import annotations

import hashlib
import json
import os
import pathlib
import re
import shutil
import subprocess
import sys

import pytest
from ansible.module_utils.testing import patch_module_args

ROOT = pathlib.Path(__file__).resolve().parents[2]
COLLECTIONS = ROOT / ".build" / "collections"
SUPPORT = ROOT / "tests" / "support"
if str(SUPPORT) not in sys.path:
    sys.path.insert(0, str(SUPPORT))

from winimage_testdata import images as builder_images  # noqa: E402

TOOLS = ("wimlib-imagex", "mkntfs", "ntfsls", "ntfscat", "qemu-img")
MISSING = [tool for tool in TOOLS if shutil.which(tool) is None]
requires_tools = pytest.mark.skipif(bool(MISSING), reason="needs %s (packages wimtools, ntfs-3g, qemu-utils)"
                                    % ", ".join(MISSING))

_ENTRY = re.compile(r"^\s*(\d+)\s+(\w{3}\s+\d+\s+\d\d:\d\d\s+\d{4})\s(.*)$")
_MONTHS = dict((m, i + 1) for i, m in enumerate(
    ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")))


def run_inprocess(module, capsys, **args):
    """Run an Ansible module's main() in this process; return its result dict."""
    with patch_module_args(args):
        with pytest.raises(SystemExit):
            module.main()
    return json.loads(capsys.readouterr().out)


def module_command(name, args, workdir):
    """argv + env to run plugins/modules/<name>.py as its own process (as Ansible would)."""
    args_file = pathlib.Path(workdir) / ("%s-args-%d.json" % (name, os.getpid()))
    args_file.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": args}))
    env = dict(os.environ, PYTHONPATH=str(COLLECTIONS))
    return [sys.executable, str(ROOT / "plugins" / "modules" / (name + ".py")), str(args_file)], env


def run_cli(name, args, workdir, timeout=300):
    argv, env = module_command(name, args, workdir)
    completed = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=timeout, check=False)
    return json.loads(completed.stdout)


def sha256_of(path):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


# --------------------------------------------------------------------------- the source volume

def windows_volume(artifact, workdir):
    """A bare NTFS volume file of the artifact's Windows partition, cut out with plain file reads
    (raw disks) or a whole-disk qemu-img conversion (virtual disks), not with the code under test."""
    if artifact.format == "ntfs":
        return pathlib.Path(artifact.path)
    workdir = pathlib.Path(workdir)
    disk = pathlib.Path(artifact.path)
    if artifact.format != "raw":
        disk = workdir / (artifact.kind + "-whole.raw")
        if not disk.exists():
            subprocess.run(["qemu-img", "convert", "-O", "raw", str(artifact.path), str(disk)], check=True)
    part = [p for p in artifact.partitions if p.number == artifact.windows_partition][0]
    volume = workdir / (artifact.kind + "-volume.ntfs")
    if not volume.exists():
        with open(disk, "rb") as source, open(volume, "wb") as target:
            source.seek(part.offset)
            remaining = part.size
            while remaining:
                chunk = source.read(min(remaining, 1 << 20))
                target.write(chunk)
                remaining -= len(chunk)
    return volume


def ntfs_entries(volume):
    """path -> {'dir', 'size', 'mtime'} of every file and directory of the volume (ntfsls)."""
    output = subprocess.run(["ntfsls", "-R", "-l", "-F", "-a", str(volume)], capture_output=True, text=True,
                            check=True, env=dict(os.environ, TZ="UTC", LC_ALL="C")).stdout
    entries = {}
    directory = None
    for line in output.splitlines():
        if line.startswith("/") and line.endswith(":"):
            directory = line[:-1].rstrip("/")
            continue
        match = _ENTRY.match(line)
        if not match or directory is None:
            continue
        size, mtime, name = match.groups()
        if name in ("./", "../"):
            continue
        is_dir = name.endswith("/")
        path = "%s/%s" % (directory, name.rstrip("/"))
        entries[path] = {"dir": is_dir, "size": 0 if is_dir else int(size), "mtime": _minute(mtime)}
    return entries


def _minute(ntfsls_time):
    month, day, clock, year = ntfsls_time.split()
    return "%s-%02d-%02d %s" % (year, _MONTHS[month], int(day), clock)


def ntfs_file_hash(volume, path):
    data = subprocess.run(["ntfscat", str(volume), path], capture_output=True, check=True).stdout
    return hashlib.sha256(data).hexdigest()


# --------------------------------------------------------------------------- the WIM

def wim_detailed(wim, index):
    """path -> {'dir', 'size', 'mtime', 'security'} from ``wimlib-imagex dir --detailed``."""
    output = subprocess.run(["wimlib-imagex", "dir", str(wim), str(index), "--detailed"], capture_output=True,
                            check=True).stdout.decode("utf-8", "replace")
    entries = {}
    for block in output.split("-" * 76):
        path = re.search(r'^Full Path\s+= "(.*)"$', block, re.M)
        if not path or path.group(1) == "/":
            continue
        attributes = int(re.search(r"^Attributes\s+= (0x[0-9a-f]+)", block, re.M).group(1), 16)
        written = re.search(r"^Last Write Time\s+= \w{3} (\w{3}) +(\d+) (\d\d:\d\d):\d\d (\d{4}) UTC", block, re.M)
        size = re.search(r"Unnamed data stream:\s*\n(?:.*\n)*?Uncompressed size = (\d+) bytes", block)
        is_dir = bool(attributes & 0x10)
        entries[path.group(1)] = {
            "dir": is_dir,
            "size": 0 if is_dir else int(size.group(1)) if size else 0,
            "mtime": "%s-%02d-%02d %s" % (written.group(4), _MONTHS[written.group(1)], int(written.group(2)),
                                          written.group(3)),
            "security": bool(re.search(r"^Security Descriptor = [0-9a-f]{40,}", block, re.M)),
        }
    return entries


def wim_file_hashes(wim, index, workdir):
    """path -> sha256 of every file of the image, extracted with wimlib (UNIX mode)."""
    target = pathlib.Path(workdir) / ("extract-%s-%s" % (pathlib.Path(wim).name, index))
    if target.exists():
        shutil.rmtree(target)
    subprocess.run(["wimlib-imagex", "apply", str(wim), str(index), str(target), "--no-acls"], check=True,
                   capture_output=True)
    hashes = {}
    for path in sorted(target.rglob("*")):
        if path.is_file():
            hashes["/" + path.relative_to(target).as_posix()] = sha256_of(path)
    shutil.rmtree(target)
    return hashes


def wim_verify(wim):
    return subprocess.run(["wimlib-imagex", "verify", str(wim)], capture_output=True, text=True, check=False)


# --------------------------------------------------------------------------- a volume with memory files

EXTRAS = {
    "pagefile.sys": 64 * 1024,
    "hiberfil.sys": 32 * 1024,
    "swapfile.sys": 16 * 1024,
    "System Volume Information/tracking.log": 100,
    "$Recycle.Bin/S-1-5-21-1-2-3-1001/$R1X2Y3Z.txt": 50,
    "Windows/CSC/v2.0.6/namespace/file.bin": 10,
    "$WinREAgent/Scratch/update.cab": 10,
    "Users/Public/Documents/keep-me.txt": 42,
}


def volume_with_memory_files(builder, workdir, preset="generalized"):
    """An NTFS volume holding pagefile.sys, hiberfil.sys, restore points, a recycle bin ... (the
    builder's own volumes leave them out: its WIMs use wimlib's default exclusions)."""
    workdir = pathlib.Path(workdir)
    volume = workdir / ("memory-files-%s.ntfs" % preset)
    if volume.exists():
        return volume
    tree = workdir / ("memory-files-%s.tree" % preset)
    shutil.copytree(builder.build("tree", preset=preset).path, tree, symlinks=True)
    for relative, size in EXTRAS.items():
        target = tree / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(os.urandom(size))
    config = workdir / "no-exclusions.ini"
    config.write_text("[ExclusionList]\n")
    wim = workdir / ("memory-files-%s.wim" % preset)
    subprocess.run(["wimlib-imagex", "capture", str(tree), str(wim), "with memory files", "--config=%s" % config],
                   check=True, capture_output=True)
    builder_images.ntfs_from_wim(wim, volume, builder_images.volume_size_for(tree))
    return volume
