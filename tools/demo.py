# Copyright: (c) 2026, winimage.generalize contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The offline demo behind `make demo`: no Windows host needed.

1. Builds sample artifacts with the project's test-data builder (real registry hives, NTFS
   volumes, WIMs and virtual disks made by wimlib, ntfs-3g and qemu-img): three powered-off
   reference VM disks and two captured WIMs.
2. Runs the real preflight playbook offline on the reference disks (real blockers show).
3. Runs the real verify playbook on the captured WIMs (one clean, one that leaks secrets).
4. Prints a short summary and where the HTML and JSON reports are.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT / "tests" / "support"))

from winimage_testdata.images import ArtifactBuilder  # noqa: E402  (needs the path above)

# (inventory name, artifact kind, builder preset, what it shows)
REFERENCE_VMS = [
    ("ref-win10-store", "vhdx", "appx_per_user", "a Store app updated for one user"),
    ("ref-win10-updates", "qcow2", "pending_reboot", "updates waiting for a reboot"),
    ("ref-server-2012r2", "raw_gpt", "server_core_2012r2", "a Server Core reference"),
]
CAPTURED_IMAGES = [
    ("win11-generalized.wim", "generalized", "a properly generalized capture"),
    ("win10-leaky.wim", "with_secrets", "an image with auto-logon and answer-file passwords"),
]


def build_artifacts(builder):
    """Build the sample disks and WIMs; returns (reference hosts, images) with their paths."""
    hosts = {}
    for name, kind, preset, dummy in REFERENCE_VMS:
        hosts[name] = str(builder.build(kind, preset=preset).path)
    images = []
    for name, preset, dummy in CAPTURED_IMAGES:
        images.append({"name": name, "path": str(builder.build("wim", preset=preset).path), "index": 1})
    return hosts, images


def write_inventory(path, hosts):
    """An inventory of the reference VMs, each pointing at its powered-off disk."""
    inventory = {"reference_vms": {"hosts": {
        name: {"ansible_connection": "local", "ansible_python_interpreter": sys.executable,
               "preflight_image_path": disk}
        for name, disk in hosts.items()
    }}}
    path.write_text(json.dumps(inventory, indent=2))


def run_playbook(playbook, *arguments):
    """Run one of the collection's playbooks; its output goes to the terminal."""
    command = [str(Path(sys.executable).parent / "ansible-playbook"),
               str(REPO_ROOT / "playbooks" / playbook)] + list(arguments)
    print("\n$ " + " ".join(command), flush=True)
    completed = subprocess.run(command, stdin=subprocess.DEVNULL, check=False)
    if completed.returncode != 0:
        raise SystemExit("demo: %s failed (exit %d); see the output above" % (playbook, completed.returncode))


def print_report_summary(title, report_dir):
    report = json.loads((report_dir / "report.json").read_text())
    print("\n%s (%s)" % (title, report_dir / "report.html"))
    for host in report["hosts"]:
        blockers = [f["id"] + (" (could not be read)" if f["status"] == "unknown" else "")
                    for f in host["findings"] if f["severity"] == "blocker"]
        print("  %-26s %-9s %s" % (host["name"], host["state"], ", ".join(blockers) or "-"))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--out", default="demo-output", help="where artifacts and reports go")
    args = parser.parse_args(argv)
    out = Path(args.out).resolve()
    (out / "images").mkdir(parents=True, exist_ok=True)

    print("Building sample reference disks and captured WIMs in %s ..." % (out / "images"), flush=True)
    builder = ArtifactBuilder(out / "work", cache_dir=out / "images")
    hosts, images = build_artifacts(builder)
    inventory = out / "inventory.json"
    write_inventory(inventory, hosts)

    # The demo shows every finding instead of stopping at the first host that fails the gate.
    run_playbook("preflight.yml", "-i", str(inventory),
                 "-e", "preflight_hosts=reference_vms",
                 "-e", "preflight_facts_source=offline",
                 "-e", "preflight_fail_on=never",
                 "-e", "preflight_report_dir=%s" % (out / "preflight"))
    run_playbook("verify.yml",
                 "-e", json.dumps({"verify_images": images,
                                   "verify_fail_on": "never",
                                   "verify_rule_options": {"build_accounts": ["packer"]},
                                   "verify_report_dir": str(out / "verify")}))

    print("\n=== winimage.generalize offline demo ===")
    for name, kind, preset, shows in REFERENCE_VMS:
        print("  reference %-20s %-8s %s" % (name, kind, shows))
    for name, preset, shows in CAPTURED_IMAGES:
        print("  image     %-20s %-8s %s" % (name, "wim", shows))
    print_report_summary("Preflight of the reference VMs", out / "preflight")
    print_report_summary("Verification of the captured images", out / "verify")
    print("\nOpen the HTML reports in a browser; report.json beside each is the machine-readable form.")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("ANSIBLE_COLLECTIONS_PATH", str(REPO_ROOT / ".build" / "collections"))
    sys.exit(main())
