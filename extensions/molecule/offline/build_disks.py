# Copyright: (c) 2026, winimage.generalize contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Build the disks of the offline scenario with the collection's test-data builder.

    build_disks.py <collection root> <output directory>

For each reference machine of the scenario's inventory, two disks of the same Windows: the powered-off
reference before sysprep (<host>-before.<format>) and after `sysprep /generalize /shutdown`
(<host>-after.<format>). They are synthetic Windows volumes (real registry hives, State.ini, logs)
built by tests/support/winimage_testdata with mkntfs, wimlib and qemu-img; nothing is mounted.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

# host -> (disk format, preset before sysprep)
DISKS = {
    "ref-win11-kvm": ("qcow2", "audit_mode"),
    "ref-win11-hyperv": ("vhdx", "reference_complete"),
}


def main(root, output):
    sys.path.insert(0, str(Path(root) / "tests" / "support"))
    from winimage_testdata.images import ArtifactBuilder

    output = Path(output)
    output.mkdir(parents=True, exist_ok=True)
    builder = ArtifactBuilder(output / ".build")
    for host, (fmt, before) in DISKS.items():
        for stage, preset in (("before", before), ("after", "generalized")):
            target = output / ("%s-%s.%s" % (host, stage, fmt))
            if not target.exists():
                shutil.copyfile(builder.build(fmt, preset=preset).path, target)
            print(target)
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: build_disks.py <collection root> <output directory>")
    sys.exit(main(sys.argv[1], sys.argv[2]))
