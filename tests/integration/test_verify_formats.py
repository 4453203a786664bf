# Copyright: (c) 2026, winimage.generalize contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The verify playbook on every image format the offline reader supports, in one real run.

A generalized installation and one carrying secrets are packed by the test-data builder into
each format; the playbook verifies all of them as one fleet and the report must tell them apart
the same way whatever the container.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


FORMATS = ("wim", "ntfs", "raw_mbr", "raw_gpt", "vhd", "vhdx", "vmdk", "qcow2")


@pytest.mark.slow
def test_verify_playbook_reads_every_format_alike(winimage_artifacts, tmp_path):
    images = []
    for kind in FORMATS:
        for preset in ("generalized", "with_secrets"):
            artifact = winimage_artifacts.build(kind, preset=preset)
            images.append({"name": "%s-%s" % (preset, kind), "path": str(artifact.path)})
    extra = {"verify_images": images, "verify_report_dir": str(tmp_path / "reports"),
             "verify_rule_options": {"build_accounts": ["packer"]}}
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(ROOT / ".build" / "collections"),
               ANSIBLE_NOCOLOR="1")
    completed = subprocess.run(
        [str(Path(sys.executable).parent / "ansible-playbook"), str(ROOT / "playbooks" / "verify.yml"),
         "-e", json.dumps(extra)],
        cwd=tmp_path, env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL, check=False,
        timeout=900)
    assert completed.returncode == 2, completed.stdout[-3000:]

    report = json.loads((tmp_path / "reports" / "report.json").read_text())
    blockers = {host["name"]: sorted(f["id"] for f in host["findings"]
                                     if f["severity"] == "blocker" and f["status"] == "fail")
                for host in report["hosts"]}
    for kind in FORMATS:
        assert blockers["generalized-%s" % kind] == [], kind
        assert blockers["with_secrets-%s" % kind] == [
            "answer_file_secrets", "autologon_secret", "not_generalized"], kind
