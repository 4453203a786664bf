# Copyright: (c) 2026, winimage.generalize contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Build large test artifacts (0.5 GB and, with --large, 4 GB) and print how long each step took.

    .venv/bin/python tests/benchmarks/bench_testdata_builder.py [--large] [--random] [--workdir DIR]

The padding is a sparse file of zeros by default (fast to write, compresses well);
--random makes it incompressible. Artifacts are sparse files: disk use stays far
below the apparent size with zeros. Prints one line per artifact; no assertions.
"""

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "support"))

from winimage_testdata.images import ArtifactBuilder  # noqa: E402

GIB = 1024 ** 3


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--large", action="store_true", help="also build the 4 GB variant")
    parser.add_argument("--random", action="store_true", help="random (incompressible) padding")
    parser.add_argument("--workdir", help="where to build (default: a temporary directory)")
    parser.add_argument("--preset", default="generalized")
    args = parser.parse_args()
    sizes = [GIB // 2] + ([4 * GIB] if args.large else [])
    kind = "random" if args.random else "zeros"
    with tempfile.TemporaryDirectory(dir=args.workdir) as workdir:
        builder = ArtifactBuilder(workdir)
        for size in sizes:
            for artifact_kind in ("wim", "ntfs", "raw_gpt", "vhdx", "qcow2"):
                started = time.monotonic()
                if artifact_kind in ("wim", "ntfs"):
                    artifact = getattr(builder, artifact_kind)(args.preset, padding_bytes=size, padding_kind=kind)
                else:
                    artifact = _disk(builder, artifact_kind, args.preset, size, kind)
                elapsed = time.monotonic() - started
                stat = artifact.path.stat()
                print("padding=%-6s %-8s %-7s apparent=%8.1f MiB on-disk=%8.1f MiB build=%6.2f s"
                      % ("%.1fG" % (size / GIB), kind, artifact_kind, stat.st_size / 2 ** 20,
                         stat.st_blocks * 512 / 2 ** 20, elapsed))
    return 0


def _disk(builder, kind, preset, size, padding_kind):
    # Disks wrap the padded NTFS volume built just before (already cached by the builder).
    windows = builder.ntfs(preset, padding_bytes=size, padding_kind=padding_kind, hidden_sectors=3 * 2048)
    disk = builder.raw_gpt(windows_volume=windows, kind="raw_gpt")
    if kind == "raw_gpt":
        return disk
    import dataclasses

    from winimage_testdata.images import convert_disk
    target = Path(str(disk.path) + "." + kind)
    convert_disk(disk.path, target, kind)
    return dataclasses.replace(disk, path=target)


if __name__ == "__main__":
    sys.exit(main())
