# Copyright: (c) 2026, winimage.generalize contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Time winimage.generalize.wim_capture against plain wimlib-imagex capture of the same NTFS image.

    .venv/bin/python tests/benchmarks/bench_wim_capture.py [--size-mb 1024] [--compression fast]
        [--threads N] [--repeat 3] [--workdir DIR] [--disk ntfs|raw_gpt|qcow2|vhdx] [--access copy]
        [--drop-caches]

Builds a Windows volume (the test-data builder's "generalized" tree) plus --size-mb of mixed files,
60 % compressible text-like data and 40 % random bytes in 8 MiB files, packs it into an NTFS
image (with --disk also a GPT disk around it, or that disk converted to qcow2/VHDX), then in the
same run:

* ``cat image > /dev/null``: the read throughput of this machine, the physical limit;
* ``wimlib-imagex capture VOLUME WIM`` of the bare NTFS volume, same compression, threads and
  exclusion list (for a disk source the module's extra work includes exposing the partition);
* the module, run as its own process exactly as Ansible runs it (including source inspection,
  fingerprint, lock, SHA-256 of the result and reading the WIM's XML back).

Runs alternate plain/module; the best of --repeat runs of each is compared (the target is the
module at most 10 % slower). Prints figures; no assertions.
"""

import argparse
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "support"))

from winimage_testdata import images as builder_images  # noqa: E402
from winimage_testdata.images import ArtifactBuilder  # noqa: E402

MIB = 1 << 20
FILE_SIZE = 8 * MIB
WORDS = ("windows", "image", "driver", "update", "servicing", "component", "registry", "profile", "sysprep",
         "generalize", "capture", "deployment", "catalog", "manifest", "package", "provisioned", "volume")


def compressible_block(rng, size):
    """Text-like bytes (words, numbers, line breaks): LZX/XPRESS compress them 3-5 times."""
    parts = []
    length = 0
    while length < size:
        line = " ".join(rng.choice(WORDS) for _word in range(rng.randint(4, 12))) + " %d\r\n" % rng.randint(0, 99999)
        parts.append(line)
        length += len(line)
    return "".join(parts).encode("ascii")[:size]


def build_tree(builder, workdir, size_mb):
    tree = workdir / "tree"
    shutil.copytree(builder.build("tree", preset="generalized").path, tree, symlinks=True)
    data = tree / "ProgramData" / "Bench"
    data.mkdir(parents=True)
    rng = random.Random(2026)
    count = max(1, size_mb * MIB // FILE_SIZE)
    for index in range(count):
        kind = "random" if index % 5 in (0, 3) else "text"
        content = rng.randbytes(FILE_SIZE) if kind == "random" else compressible_block(rng, FILE_SIZE)
        (data / ("%s-%04d.bin" % (kind, index))).write_bytes(content)
    return tree, count * FILE_SIZE


def build_volume(workdir, size_mb, disk_kind):
    builder = ArtifactBuilder(workdir / "artifacts")
    volume = workdir / "volume.ntfs"
    if volume.exists():  # --workdir keeps the volume between runs
        return _around(builder, volume, disk_kind), volume
    started = time.monotonic()
    tree, data_bytes = build_tree(builder, workdir, size_mb)
    wim = workdir / "source.wim"
    subprocess.run(["wimlib-imagex", "capture", str(tree), str(wim), "bench", "--compress=none"], check=True,
                   stdout=subprocess.DEVNULL)
    partial = workdir / "volume.ntfs.partial"
    builder_images.ntfs_from_wim(wim, partial, builder_images.volume_size_for(tree), hidden_sectors=3 * 2048)
    partial.rename(volume)
    shutil.rmtree(tree)
    wim.unlink()
    source = _around(builder, volume, disk_kind)
    print("built %s: %.0f MiB apparent, %.0f MiB of bench data, in %.1f s"
          % (source.name, source.stat().st_size / MIB, data_bytes / MIB, time.monotonic() - started))
    return source, volume


def _around(builder, volume, disk_kind):
    if disk_kind == "ntfs":
        return volume
    artifact = builder_images.Artifact("ntfs", volume, "ntfs", "generalized", {}, key="bench-volume")
    disk = builder.raw_gpt(windows_volume=artifact, kind="raw_gpt").path
    if disk_kind == "raw_gpt":
        return disk
    converted = volume.parent / ("disk." + disk_kind)
    if not converted.exists():
        builder_images.convert_disk(disk, volume.parent / ("partial." + disk_kind), disk_kind)
        (volume.parent / ("partial." + disk_kind)).rename(converted)
    return converted


def drop_caches():
    """Empty the page cache so reads come from the disk (root only; slows other work briefly)."""
    subprocess.run(["sync"], check=True)
    with open("/proc/sys/vm/drop_caches", "w") as handle:
        handle.write("3\n")


CPU_SECONDS = []  # CPU time (user + system) of each timed command and all its descendants


def timed(argv, **kwargs):
    """Wall time of a command; its CPU time is appended to CPU_SECONDS (less sensitive to other load)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    check = kwargs.pop("check", False)
    completed = subprocess.run(argv, check=check, **kwargs)
    elapsed = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    CPU_SECONDS.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return elapsed, completed


def cat_throughput(path):
    elapsed, _completed = timed(["sh", "-c", 'cat "$1" > /dev/null', "sh", str(path)], check=True)
    return elapsed


def plain_capture(volume, target, compression, threads, config):
    argv = ["wimlib-imagex", "capture", str(volume), str(target), "plain", "--config=%s" % config]
    argv += {"fast": ["--compress=XPRESS"], "max": ["--compress=LZX"], "none": ["--compress=none"]}[compression]
    if threads:
        argv.append("--threads=%d" % threads)
    elapsed, _completed = timed(argv, check=True, stdout=subprocess.DEVNULL)
    return elapsed


def module_capture(source, target, compression, threads, workdir, access):
    args = {"src": str(source), "dest": str(target), "name": "module", "compression": compression,
            "volume_access": access}
    if threads:
        args["threads"] = threads
    args_file = workdir / "module-args.json"
    args_file.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": args}))
    env = dict(os.environ, PYTHONPATH=str(ROOT / ".build" / "collections"))
    elapsed, completed = timed([sys.executable, str(ROOT / "plugins" / "modules" / "wim_capture.py"),
                                str(args_file)], env=env, capture_output=True, text=True)
    result = json.loads(completed.stdout)
    if result.get("failed"):
        raise SystemExit("wim_capture failed: %s" % result.get("msg"))
    return elapsed, result


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=1024, help="bench data in the volume (default 1024)")
    parser.add_argument("--compression", default="fast", choices=["none", "fast", "max"])
    parser.add_argument("--threads", type=int, default=0, help="compression threads (default: wimlib's choice)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--disk", default="ntfs", choices=["ntfs", "raw_gpt", "qcow2", "vhdx"],
                        help="capture the bare volume (default), a GPT disk around it, or that disk converted")
    parser.add_argument("--drop-caches", action="store_true",
                        help="also time a cold read (empties the page cache first; needs root)")
    parser.add_argument("--access", default="auto", choices=["auto", "loop", "copy"],
                        help="volume_access for --disk raw_gpt")
    parser.add_argument("--workdir", help="keep the built volume in DIR/bench-wim-capture-SIZE and reuse it "
                                          "(default: a temporary directory, removed at the end)")
    args = parser.parse_args()
    for tool in ("wimlib-imagex", "mkntfs"):
        if shutil.which(tool) is None:
            raise SystemExit("needs %s" % tool)
    sys.path.insert(0, str(ROOT / ".build" / "collections"))
    if args.workdir:
        workdir = Path(args.workdir) / ("bench-wim-capture-%d" % args.size_mb)
        workdir.mkdir(parents=True, exist_ok=True)
        run(args, workdir)
    else:
        with tempfile.TemporaryDirectory() as temp:
            run(args, Path(temp))
    return 0


def run(args, workdir):
    from ansible_collections.winimage.generalize.plugins.module_utils.wimlib_capture import (
        DEFAULT_EXCLUSIONS, exclusion_config)

    source, volume = build_volume(workdir, args.size_mb, args.disk)
    config = workdir / "exclusions.ini"
    config.write_text(exclusion_config(DEFAULT_EXCLUSIONS))
    size = volume.stat().st_size
    if args.drop_caches:
        drop_caches()
        cold = cat_throughput(source)
        print("cat image > /dev/null : %6.2f s  %7.0f MiB/s  (cold: page cache emptied first)"
              % (cold, source.stat().st_size / MIB / cold))
    cat_times = [cat_throughput(source) for _attempt in range(2)]
    plain_times, module_times, results, plain_cpu, module_cpu = [], [], [], [], []
    for attempt in range(args.repeat):
        plain_target, module_target = workdir / ("plain-%d.wim" % attempt), workdir / ("module-%d.wim" % attempt)
        plain_times.append(plain_capture(volume, plain_target, args.compression, args.threads, config))
        plain_cpu.append(CPU_SECONDS[-1])
        elapsed, result = module_capture(source, module_target, args.compression, args.threads, workdir,
                                         args.access)
        module_cpu.append(CPU_SECONDS[-1])
        module_times.append(elapsed)
        results.append(result)
        wim_sizes = (plain_target.stat().st_size, module_target.stat().st_size)
        plain_target.unlink()
        module_target.unlink()
    best_plain, best_module = min(plain_times), min(module_times)
    timings = results[module_times.index(best_module)]["timings"]
    print("volume: %.0f MiB (source %s, %.0f MiB), compression %s, threads %s, %d run(s) each"
          % (size / MIB, args.disk, source.stat().st_size / MIB, args.compression, args.threads or "auto",
             args.repeat))
    print("cat image > /dev/null : %6.2f s  %7.0f MiB/s  (physical read limit, page cache warm)"
          % (min(cat_times), source.stat().st_size / MIB / min(cat_times)))
    print("wimlib-imagex capture : %6.2f s  %7.0f MiB/s  runs %s" % (
        best_plain, size / MIB / best_plain, ", ".join("%.2f" % t for t in plain_times)))
    print("wim_capture (module)  : %6.2f s  %7.0f MiB/s  runs %s" % (
        best_module, size / MIB / best_module, ", ".join("%.2f" % t for t in module_times)))
    print("  module breakdown    : %s, volume access %s" % (
        ", ".join("%s %.2f s" % (k, v) for k, v in sorted(timings.items())),
        results[-1]["volume_access"]))
    print("  WIM sizes           : plain %.1f MiB, module %.1f MiB" % (wim_sizes[0] / MIB, wim_sizes[1] / MIB))
    print("CPU seconds (user+sys): plain %s | module %s" % (
        ", ".join("%.2f" % t for t in plain_cpu), ", ".join("%.2f" % t for t in module_cpu)))
    overhead = (best_module - best_plain) / best_plain * 100
    cpu_overhead = (min(module_cpu) - min(plain_cpu)) / min(plain_cpu) * 100
    verdict = "met" if overhead <= 10 else "NOT met"
    print("overhead              : %+.1f %% wall, %+.1f %% CPU (target <= 10 %%): %s"
          % (overhead, cpu_overhead, verdict))


if __name__ == "__main__":
    sys.exit(main())
