# Copyright: (c) 2026, winimage.generalize contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The verify playbook, the offline preflight and the demo, run for real on built artifacts.

The WIMs and disks come from tests/support/winimage_testdata (real hives, wimlib, mkntfs,
qemu-img); the playbooks run through ansible-playbook with the collection from .build.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

ROOT = Path(__file__).resolve().parents[2]
SUPPORT = ROOT / "tests" / "support"
if str(SUPPORT) not in sys.path:
    sys.path.insert(0, str(SUPPORT))

from winimage_testdata import windows_tree  # noqa: E402

from ansible_collections.winimage.generalize.plugins.module_utils import report  # noqa: E402

ANSIBLE_PLAYBOOK = str(Path(sys.executable).parent / "ansible-playbook")


def _environment():
    env = dict(os.environ)
    env.update(ANSIBLE_COLLECTIONS_PATH=str(ROOT / ".build" / "collections"),
               ANSIBLE_STDOUT_CALLBACK="ansible.builtin.json", ANSIBLE_NOCOLOR="1",
               ANSIBLE_LOCALHOST_WARNING="0", ANSIBLE_INVENTORY_UNPARSED_WARNING="0",
               ANSIBLE_SHOW_CUSTOM_STATS="true")
    return env


def _run_playbook(playbook, *arguments, cwd):
    command = [ANSIBLE_PLAYBOOK, str(ROOT / "playbooks" / playbook)] + list(arguments)
    completed = subprocess.run(command, cwd=cwd, env=_environment(), capture_output=True, text=True,
                               stdin=subprocess.DEVNULL, check=False, timeout=600)
    output = json.loads(completed.stdout) if completed.stdout.strip().startswith("{") else {}
    return completed, output


def _report(report_dir):
    document = json.loads((report_dir / "report.json").read_text())
    jsonschema.validate(document, report.json_schema())
    return {host["name"]: host for host in document["hosts"]}


def _blocker_ids(host):
    return sorted(f["id"] for f in host["findings"] if f["severity"] == "blocker" and f["status"] == "fail")


@pytest.fixture(scope="module")
def verify_run(winimage_artifacts, tmp_path_factory):
    clean = winimage_artifacts.build("wim", preset="generalized")
    leaky = winimage_artifacts.build("wim", preset="with_secrets")
    work = tmp_path_factory.mktemp("verify")
    extra = {
        "verify_images": [{"name": "clean", "path": str(clean.path)},
                          {"name": "leaky", "path": str(leaky.path), "index": 1}],
        "verify_report_dir": str(work / "reports"),
        "verify_rule_options": {"build_accounts": ["packer"]},
    }
    completed, output = _run_playbook("verify.yml", "-e", json.dumps(extra), cwd=work)
    return {"completed": completed, "output": output, "reports": work / "reports",
            "secrets": windows_tree.secret_values(windows_tree.preset("with_secrets"))}


def test_verify_fails_the_leaky_image_and_passes_the_generalized_one(verify_run):
    assert verify_run["completed"].returncode == 2, verify_run["completed"].stderr
    hosts = _report(verify_run["reports"])
    assert hosts["clean"]["state"] == "ready" and _blocker_ids(hosts["clean"]) == []
    assert _blocker_ids(hosts["leaky"]) == ["answer_file_secrets", "autologon_secret", "not_generalized"]
    stats = verify_run["output"]["global_custom_stats"]["winimage_verify"]
    assert "leaky" in json.dumps(stats) and "winimage_preflight" not in verify_run["output"]["global_custom_stats"]


def test_verify_never_reveals_the_planted_secrets(verify_run):
    texts = [verify_run["completed"].stdout, verify_run["completed"].stderr]
    texts += [path.read_text() for path in verify_run["reports"].iterdir()]
    for secret in verify_run["secrets"]:
        assert all(secret not in text for text in texts), "a planted secret reached the output or reports"


def test_verify_playbook_asks_for_an_image(tmp_path):
    completed, output = _run_playbook("verify.yml", "-e", "verify_report_dir=%s" % tmp_path, cwd=tmp_path)
    assert completed.returncode != 0
    assert "Name the image to verify" in completed.stdout


def test_offline_preflight_reads_a_powered_off_vm_disk(winimage_artifacts, tmp_path):
    disk = winimage_artifacts.build("qcow2", preset="appx_per_user")
    inventory = {"reference_vms": {"hosts": {"ref-vm": {
        "ansible_connection": "local", "ansible_python_interpreter": sys.executable,
        "preflight_image_path": str(disk.path)}}}}
    (tmp_path / "inventory.json").write_text(json.dumps(inventory))
    completed, dummy = _run_playbook("preflight.yml", "-i", str(tmp_path / "inventory.json"),
                                     "-e", "preflight_hosts=reference_vms", "-e", "preflight_facts_source=offline",
                                     "-e", "preflight_report_dir=%s" % (tmp_path / "reports"), cwd=tmp_path)
    assert completed.returncode == 2, completed.stderr
    host = _report(tmp_path / "reports")["ref-vm"]
    assert host["state"] == "blocked"
    appx = [f for f in host["findings"] if f["id"] == "appx_user_not_provisioned"]
    assert appx and appx[0]["status"] == "fail"
    assert "Microsoft.MicrosoftEdge.Stable" in appx[0]["message"]


def test_offline_preflight_names_the_missing_image_path(tmp_path):
    inventory = {"reference_vms": {"hosts": {"ref-vm": {"ansible_connection": "local"}}}}
    (tmp_path / "inventory.json").write_text(json.dumps(inventory))
    completed, dummy = _run_playbook("preflight.yml", "-i", str(tmp_path / "inventory.json"),
                                     "-e", "preflight_hosts=reference_vms", "-e", "preflight_facts_source=offline",
                                     "-e", "preflight_report_dir=%s" % (tmp_path / "reports"), cwd=tmp_path)
    assert completed.returncode != 0
    assert "preflight_image_path is empty for ref-vm" in completed.stdout


@pytest.mark.slow
def test_demo_runs_and_shows_blockers_and_a_clean_image(tmp_path):
    env = _environment()
    env.pop("ANSIBLE_STDOUT_CALLBACK")
    completed = subprocess.run([sys.executable, str(ROOT / "tools" / "demo.py"), "--out", str(tmp_path)],
                               env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL,
                               check=False, timeout=600)
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    preflight = _report(tmp_path / "preflight")
    verify = _report(tmp_path / "verify")
    assert "appx_user_not_provisioned" in _blocker_ids(preflight["ref-win10-store"])
    assert "pending_reboot" in _blocker_ids(preflight["ref-win10-updates"])
    assert verify["win11-generalized.wim"]["state"] == "ready"
    assert verify["win10-leaky.wim"]["state"] == "blocked"
    assert str(tmp_path / "preflight" / "report.html") in completed.stdout


def test_verify_failure_names_the_image_and_its_blockers(verify_run):
    failed = [result for play in verify_run["output"]["plays"] for task in play["tasks"]
              for host, result in task["hosts"].items() if host == "leaky" and result.get("failed")]
    assert failed, "the leaky image did not fail"
    assert failed[-1]["msg"].startswith("leaky must not be deployed (verify_fail_on=blocker): ")
    assert "not generalized" in failed[-1]["msg"]
