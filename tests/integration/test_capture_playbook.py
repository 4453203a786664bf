# Copyright: (c) 2026, winimage.generalize contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The real ``ansible-playbook winimage.generalize.capture`` (capture -> verify -> publish) on a
local "image host" against powered-off VM disks built by the test-data builder."""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys

import jsonschema
import pytest
import yaml

import capture_support as support
from capture_support import requires_tools

from winimage_testdata import windows_tree  # noqa: E402
from winimage_testdata.fixtures import winimage_artifacts  # noqa: E402,F401 pylint: disable=unused-import

pytestmark = [requires_tools, pytest.mark.slow]

ROOT = pathlib.Path(__file__).resolve().parents[2]
ANSIBLE_PLAYBOOK = pathlib.Path(sys.executable).parent / "ansible-playbook"
MANIFEST_SCHEMA = json.loads((ROOT / "schemas" / "manifest.schema.json").read_text())
JOIN_PASSWORD = "Pb-Join-Pw-93e1c7"
ADMIN_PASSWORD = "Pb-Admin-Pw-5f20aa"


def environment(home):
    env = dict(os.environ)
    env.update(ANSIBLE_COLLECTIONS_PATH=str(support.COLLECTIONS), ANSIBLE_HOME=str(home / "ansible-home"),
               ANSIBLE_LOCAL_TEMP=str(home / "ansible-local"), ANSIBLE_REMOTE_TEMP=str(home / "ansible-remote"),
               ANSIBLE_STDOUT_CALLBACK="ansible.posix.json", ANSIBLE_NOCOLOR="1",
               ANSIBLE_RETRY_FILES_ENABLED="false", ANSIBLE_DEPRECATION_WARNINGS="false")
    env.pop("ANSIBLE_CONFIG", None)
    return env


def run_playbook(workdir, disk, extra=(), **overrides):
    workdir = pathlib.Path(workdir)
    for name in ("incoming", "store"):
        (workdir / name).mkdir(exist_ok=True)
    inventory = workdir / "inventory.yml"
    inventory.write_text(yaml.safe_dump({"image_hosts": {"hosts": {"imagehost": {
        "ansible_connection": "local", "ansible_python_interpreter": sys.executable}}}}))
    variables = {
        "capture_src": str(disk), "capture_dest": str(workdir / "incoming" / "ref.wim"),
        "capture_image_name": "Windows 10 Enterprise", "capture_compression": "max",
        "publish_store": str(workdir / "store"), "publish_family": "win10-ent", "publish_keep": 2,
        "publish_source": {"host": "ref-win10", "kind": "vm", "hypervisor": "kvm", "disk": str(disk)},
        "publish_answer_file_settings": {
            "generalize": {"persist_all_device_installs": True},
            "specialize": {"domain_join": {"domain": "corp.example.com", "username": "join",
                                           "password": JOIN_PASSWORD}},
            "oobe_system": {"user_accounts": {"administrator_password": ADMIN_PASSWORD}}},
        "publish_secret_values": [JOIN_PASSWORD, ADMIN_PASSWORD],
        "publish_appx_removed": ["Microsoft.BingNews"],
    }
    variables.update(overrides)
    variables_file = workdir / "vars.yml"
    variables_file.write_text(yaml.safe_dump(variables))
    completed = subprocess.run(
        [str(ANSIBLE_PLAYBOOK), "-i", str(inventory), "winimage.generalize.capture", "-e", "@%s" % variables_file]
        + list(extra), cwd=str(workdir), env=environment(workdir), capture_output=True, text=True, timeout=600,
        check=False)
    output = json.loads(completed.stdout) if completed.stdout.strip().startswith("{") else {}
    return {"rc": completed.returncode, "output": output, "stdout": completed.stdout, "stderr": completed.stderr,
            "store": workdir / "store", "incoming": workdir / "incoming"}


def task_result(run, name):
    for play in run["output"]["plays"]:
        for task in play["tasks"]:
            if task["task"]["name"].endswith(name):
                return task["hosts"]["imagehost"]
    raise KeyError(name)


def host_stats(run):
    return run["output"]["stats"]["imagehost"]


@pytest.fixture(scope="module")
def generalized_disk(winimage_artifacts):
    return winimage_artifacts.build("qcow2", preset="generalized")


def test_capture_verify_publish_end_to_end_then_idempotent(generalized_disk, tmp_path):
    run = run_playbook(tmp_path, generalized_disk.path)
    assert run["rc"] == 0, run["stdout"][-3000:] + run["stderr"][-3000:]
    captured = task_result(run, "Capture the disk into the WIM %s" % (tmp_path / "incoming" / "ref.wim"))
    assert captured["changed"] and captured["volume_access"] == "qemu_convert" and captured["verified"] is True
    published = task_result(run, "Publish the WIM into the image store as family win10-ent")
    assert published["changed"]
    manifest_text = pathlib.Path(published["manifest_path"]).read_text()
    manifest = json.loads(manifest_text)
    jsonschema.Draft202012Validator(MANIFEST_SCHEMA).validate(manifest)
    assert manifest["image"]["sha256"] == support.sha256_of(published["path"]) == captured["sha256"]
    assert manifest["verification"]["ready"] is True and manifest["verification"]["wim_verified"] is True
    assert manifest["capture"]["compression"] == "max" and manifest["capture"]["volume_access"] == "qemu_convert"
    assert manifest["facts"]["setup"]["image_state"] == "IMAGE_STATE_GENERALIZE_RESEAL_TO_OOBE"
    assert manifest["appx_removed"] == ["Microsoft.BingNews"]
    assert manifest["answer_file"]["removed_secrets"] == ["oobe_system.user_accounts.administrator_password",
                                                          "specialize.domain_join.password"]
    everything = run["stdout"] + run["stderr"] + manifest_text + (run["store"] / "catalog.json").read_text()
    for secret in (JOIN_PASSWORD, ADMIN_PASSWORD):
        assert secret not in everything
    assert published["id"] in (run["store"] / "catalog.md").read_text()
    # The verify role's fleet report, by default beside the captured image.
    report = json.loads((tmp_path / "incoming" / "ref.wim.verify" / "report.json").read_text())
    assert report["phase"] == "verify" and report["gate"]["fail_on"] == "blocker"
    assert [(h["name"], h["state"], h["passes_gate"]) for h in report["hosts"]] == [("imagehost", "ready", True)]
    again = run_playbook(tmp_path, generalized_disk.path)
    assert again["rc"] == 0 and host_stats(again)["changed"] == 0, again["stdout"][-2000:]


def test_an_image_with_blockers_is_not_published(winimage_artifacts, tmp_path):
    disk = winimage_artifacts.build("qcow2", preset="with_secrets")
    run = run_playbook(tmp_path, disk.path, capture_verify_report_dir=str(tmp_path / "reports"))
    assert run["rc"] == 2
    stopped = task_result(run, "Stop when the captured image is not fit to publish")
    assert stopped["failed"]
    for finding_id in ("answer_file_secrets", "autologon_secret", "not_generalized"):
        assert finding_id in stopped["msg"]
    assert "capture_verify_allow_blockers" in stopped["msg"]
    assert not [p for p in run["store"].iterdir() if not p.name.startswith(".")]
    report_dir = tmp_path / "reports"
    assert str(report_dir) in stopped["msg"]
    report = json.loads((report_dir / "report.json").read_text())
    assert report["hosts"][0]["state"] == "blocked" and not report["hosts"][0]["passes_gate"]
    secrets = windows_tree.secret_values(windows_tree.preset("with_secrets"))
    for secret in secrets:
        assert secret not in run["stdout"] + run["stderr"] + (report_dir / "report.html").read_text()

    # Allowed explicitly, the same image is published and its manifest says it was not ready.
    allowed = run_playbook(tmp_path, disk.path, capture_verify_allow_blockers=True,
                           capture_verify_report_dir=str(report_dir))
    assert allowed["rc"] == 0, allowed["stdout"][-3000:] + allowed["stderr"][-3000:]
    published = task_result(allowed, "Publish the WIM into the image store as family win10-ent")
    verification = json.loads(pathlib.Path(published["manifest_path"]).read_text())["verification"]
    assert verification["ready"] is False
    assert {"answer_file_secrets", "autologon_secret", "not_generalized"} <= set(verification["blocking_ids"])
    assert json.loads((report_dir / "report.json").read_text())["gate"]["fail_on"] == "never"


def test_check_mode_plans_and_writes_nothing(generalized_disk, tmp_path):
    run = run_playbook(tmp_path, generalized_disk.path, extra=["--check"])
    assert run["rc"] == 0, run["stdout"][-2000:]
    captured = task_result(run, "Capture the disk into the WIM %s" % (tmp_path / "incoming" / "ref.wim"))
    # (the json callback shows the task's action under "action"; the plan is in the commands)
    assert captured["changed"] and captured["command"].startswith("wimlib-imagex capture ")
    assert captured["commands"][0].startswith("qemu-img convert")
    assert os.listdir(run["incoming"]) == [] and os.listdir(run["store"]) == []
