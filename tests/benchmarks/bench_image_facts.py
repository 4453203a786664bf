# Copyright: (c) 2026, winimage.generalize contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Benchmark: does image_facts cost the same on a big image as on a small one?

Builds, with the test-data builder, a WIM and a raw GPT disk of the same Windows preset padded
with incompressible data to about 0.5 GB and 4 GB, then times winimage.generalize.image_facts
on each:

* in-process (open the image, gather the facts, evaluate the verify rules), best of N rounds;
* end-to-end (the module run as Ansible runs it, a fresh Python process per run), best of N;
* rounds interleave the images, after one warm-up read of each (page cache as in steady use);
* bytes the NTFS reader read from the disk image (read-only instrumentation of FileSource).

It prints the figures and the large/small ratios; the target is ratio <= 1.5. Nothing is
asserted (performance is not a test). Building the 4 GB artifacts takes a few minutes and about
17 GB of scratch space; --sizes changes the sizes.

    .venv/bin/python tests/benchmarks/bench_image_facts.py [--sizes 0.5,4] [--repeat 9] [--workdir DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
COLLECTIONS = ROOT / ".build" / "collections"
sys.path.insert(0, str(ROOT / "tests" / "support"))
sys.path.insert(0, str(COLLECTIONS))

from winimage_testdata.images import ArtifactBuilder  # noqa: E402

from ansible_collections.winimage.generalize.plugins.module_utils import offline_source, rules  # noqa: E402
from ansible_collections.winimage.generalize.plugins.module_utils.offline_facts import (  # noqa: E402
    gather_facts, prefetch_patterns)
from ansible_collections.winimage.generalize.plugins.module_utils.offline_windows import (  # noqa: E402
    open_windows_image)

GB = 1000 ** 3
PRESET = "with_secrets"
TARGET_RATIO = 1.5


def build(builder, size_gb):
    """(wim artifact, raw disk artifact) padded so the image is about ``size_gb`` GB."""
    padding = int(size_gb * GB)
    wim = builder.wim(PRESET, compress="none", padding_bytes=padding, padding_kind="random")
    volume = builder.ntfs(PRESET, padding_bytes=padding, padding_kind="random")
    disk = builder.raw_gpt(windows_volume=volume, kind="raw_gpt_bench")
    return wim, disk


class CountingSource(offline_source.FileSource):
    bytes_read = 0
    reads = 0

    def read(self, offset, length):
        data = offline_source.FileSource.read(self, offset, length)
        CountingSource.bytes_read += len(data)
        CountingSource.reads += 1
        return data


def in_process(path):
    """Seconds for open + gather + verify rules, and the NTFS reader's byte count."""
    CountingSource.bytes_read = CountingSource.reads = 0
    original = offline_source.FileSource
    import ansible_collections.winimage.generalize.plugins.module_utils.offline_windows as windows
    windows.FileSource = CountingSource
    try:
        started = time.perf_counter()
        with tempfile.TemporaryDirectory() as workdir:
            opened = open_windows_image(str(path), 1, None, workdir)
            try:
                if opened.files.kind == "wim":
                    opened.files.prefetch(prefetch_patterns(opened.files.windows_dir))
                facts, _notes, _panther = gather_facts(opened.files, volume=opened.volume, workdir=workdir)
                rules.evaluate(facts, "verify")
            finally:
                opened.close()
        elapsed = time.perf_counter() - started
    finally:
        windows.FileSource = original
    return elapsed, CountingSource.bytes_read, CountingSource.reads


def end_to_end(path, scratch):
    """Seconds for the module run the way AnsiballZ runs it: a new Python process."""
    arguments = Path(scratch) / "args.json"
    arguments.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": {"path": str(path), "phase": "verify"}}))
    env = dict(os.environ, PYTHONPATH=str(COLLECTIONS))
    started = time.perf_counter()
    completed = subprocess.run(
        [sys.executable, "-m", "ansible_collections.winimage.generalize.plugins.modules.image_facts",
         str(arguments)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, check=False)
    elapsed = time.perf_counter() - started
    result = json.loads(completed.stdout)
    if result.get("failed"):
        raise SystemExit("image_facts failed on %s: %s" % (path, result.get("msg")))
    return elapsed


def measure_all(artifacts, repeat, scratch):
    """Figures per artifact. Rounds interleave the artifacts so that load from other processes
    on the machine hits small and large images alike; the best of the rounds is reported."""
    samples = dict((key, {"in": [], "e2e": [], "bytes": 0, "reads": 0}) for key in artifacts)
    for key, path in artifacts.items():
        in_process(path)  # warm the page cache: every image gets the same start
    for _round in range(repeat):
        for key, path in artifacts.items():
            seconds, read_bytes, reads = in_process(path)
            samples[key]["in"].append(seconds)
            samples[key]["bytes"], samples[key]["reads"] = read_bytes, reads
            samples[key]["e2e"].append(end_to_end(path, scratch))
    table = {}
    for key, path in artifacts.items():
        sample = samples[key]
        table[key] = {
            "file_bytes": path.stat().st_size,
            "in_process_best": min(sample["in"]), "in_process_median": statistics.median(sample["in"]),
            "end_to_end_best": min(sample["e2e"]), "end_to_end_median": statistics.median(sample["e2e"]),
            "bytes_read": sample["bytes"], "reads": sample["reads"],
        }
    return table


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--sizes", default="0.5,4", help="padding sizes in GB, smallest first (default 0.5,4)")
    parser.add_argument("--repeat", type=int, default=9)
    parser.add_argument("--workdir", help="where to build (default: a temporary directory, removed)")
    parser.add_argument("--keep", action="store_true", help="keep the built artifacts")
    options = parser.parse_args()
    sizes = [float(s) for s in options.sizes.split(",")]
    workdir = Path(options.workdir or tempfile.mkdtemp(prefix="bench-image-facts-"))
    # The cache directory lets a second run with the same --workdir reuse the artifacts.
    builder = ArtifactBuilder(workdir / "work", cache_dir=workdir / "cache")
    try:
        artifacts = {}
        for size in sizes:
            started = time.perf_counter()
            wim, disk = build(builder, size)
            print("built %.1f GB artifacts in %.0f s" % (size, time.perf_counter() - started), flush=True)
            artifacts[("wim", size)] = wim.path
            artifacts[("raw_gpt", size)] = disk.path
        table = measure_all(artifacts, options.repeat, workdir)
        print()
        print("%-8s %7s %10s %12s %12s %12s %12s %7s" % ("format", "size GB", "file GB", "in-proc best",
                                                         "in-proc med", "e2e best", "bytes read", "reads"))
        for (kind, size), row in sorted(table.items()):
            print("%-8s %7.1f %10.2f %11.3fs %11.3fs %11.3fs %12s %7s" % (
                kind, size, row["file_bytes"] / GB, row["in_process_best"], row["in_process_median"],
                row["end_to_end_best"], row["bytes_read"] or "-", row["reads"] or "-"))
        print()
        small, large = sizes[0], sizes[-1]
        verdicts = []
        for kind in ("wim", "raw_gpt"):
            a, b = table[(kind, small)], table[(kind, large)]
            for metric in ("in_process_best", "end_to_end_best"):
                ratio = b[metric] / a[metric]
                verdicts.append(ratio <= TARGET_RATIO)
                print("%-8s %-16s %.1f GB / %.1f GB = %.2fx (target <= %.1fx) %s" % (
                    kind, metric, large, small, ratio, TARGET_RATIO, "ok" if ratio <= TARGET_RATIO else "OVER"))
            if a["bytes_read"]:
                print("%-8s %-16s %d -> %d bytes" % (kind, "bytes_read", a["bytes_read"], b["bytes_read"]))
        print("\nall within target" if all(verdicts) else "\nSOME RATIOS ARE OVER TARGET")
    finally:
        if not options.keep and not options.workdir:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
