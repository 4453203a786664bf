# Copyright: (c) 2026, winimage.generalize contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The sysprep role in a real ansible-playbook run, against a scripted stand-in for the host.

There is no Windows host here. The test builds a copy of the collection whose action plugins,
module_utils and roles are this repository's (symlinks), but whose plugins/modules holds small
Python stand-ins for the PowerShell modules: ``sysprep`` answers each operation from a JSON
script and records what it was called with, ``appx_cleanup`` records the packages. Over a local
connection Ansible picks those Python files, so the real role, action plugin, argument checks,
no_log handling, display and Panther parsing run as they do against Windows.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
LOGS = REPO / "tests" / "data" / "sysprep-logs"
ONEDRIVE = "Microsoft.OneDriveSync_21220.1024.5.0_neutral__8wekyb3d8bbwe"
JOIN_PASSWORD = "Rol3-Join-Secret!9"

FAKE_MODULE = textwrap.dedent('''\
    #!/usr/bin/python
    # Test stand-in for the PowerShell module %(name)s: answers from the JSON script in
    # WINIMAGE_FAKE_HOST and records every call there.
    import json
    import os

    from ansible.module_utils.basic import AnsibleModule

    OPTIONS = %(options)r


    def main():
        spec = dict((name, dict(type="raw", no_log=name in ("answer_file", "answer_file_xml"))) for name in OPTIONS)
        module = AnsibleModule(argument_spec=spec, supports_check_mode=True)
        path = os.environ["WINIMAGE_FAKE_HOST"]
        with open(path) as handle:
            host = json.load(handle)
        args = dict((k, v) for k, v in module.params.items() if v is not None)
        if "answer_file_xml" in args:
            args["answer_file_xml"] = {"length": len(args["answer_file_xml"]),
                                       "has_join_password": %(secret)r in args["answer_file_xml"],
                                       "masked_text": args["answer_file_xml"].replace(%(secret)r, "********")}
        kind = args.get("operation", "%(name)s")
        host["calls"].append(dict(args, module="%(name)s"))
        answers = host["script"][kind]
        answer = answers.pop(0) if len(answers) > 1 else answers[0]
        with open(path, "w") as handle:
            json.dump(host, handle)
        module.exit_json(**answer)


    if __name__ == "__main__":
        main()
''')

SYSPREP_OPTIONS = ["operation", "answer_file", "answer_file_xml", "answer_file_path", "mode_vm", "after", "timeout",
                   "poll_interval", "max_retries", "shutdown_timeout", "remediate", "cleanup_answer_file",
                   "setupcomplete_script", "log_max_bytes"]

PLAYBOOK = textwrap.dedent('''\
    - hosts: localhost
      gather_facts: false
      vars:
        vault_join_password: "%(secret)s"
        sysprep_after: quit
        sysprep_poll_interval: 1
        sysprep_answer_file:
          specialize:
            network: {interfaces: [{alias: Ethernet, dns_servers: [10.0.0.10]}]}
            domain_join: {domain: corp.example.com, username: svc-join, password: "{{ vault_join_password }}"}
      roles:
        - winimage.generalize.sysprep
''')


# The remediation roles' fragments as the generalize playbook hands them over: the drivers role's
# generalize settings, then a fragment that repeats one command of the user's and adds another.
PLAYBOOK_FRAGMENTS = textwrap.dedent('''\
    - hosts: localhost
      gather_facts: false
      vars:
        vault_join_password: "%(secret)s"
        sysprep_after: quit
        sysprep_poll_interval: 1
        drivers_answer_file_settings:
          generalize: {persist_all_device_installs: true}
        hyperv_host_answer_file_settings:
          specialize:
            restore_hypervisor_launch: true
            run_synchronous: [{path: 'cmd /c echo second'}, {path: 'cmd /c echo first'}]
        sysprep_answer_file:
          generalize: {persist_all_device_installs: false}
          specialize:
            run_synchronous: [{path: 'cmd /c echo first'}]
            domain_join: {domain: corp.example.com, username: svc-join, password: "{{ vault_join_password }}"}
        sysprep_answer_file_fragments:
          - "{{ drivers_answer_file_settings }}"
          - "{{ hyperv_host_answer_file_settings | default({}) }}"
          - "{{ missing_role_settings | default({}) }}"
      roles:
        - winimage.generalize.sysprep
''')


APPX_STATE = {"changed": False, "state": {
    "packages": [{"name": "Microsoft.OneDriveSync", "package_full_name": ONEDRIVE, "version": "21220.1024.5.0",
                  "users": [{"sid": "S-1-5-21-1-2-3-1001", "username": "REF01\\builder", "install_state": "Installed"}],
                  "is_framework": False, "non_removable": False, "signature_kind": "Store"}],
    "provisioned": [], "bundles": None, "policies": {"store_auto_update": None, "consumer_features": None},
    "remove_all_users_supported": True, "appx_runner": "in_process"}}


def status(image_state, running=False, last_result=0):
    return {"changed": False, "image_state": image_state, "sysprep_processes": [{"pid": 4242}] if running else [],
            "task": {"exists": True, "state": "running" if running else "ready",
                     "last_result": 0x41301 if running else last_result},
            "remaining_rearm_count": 1001, "skip_rearm": None, "errors": []}


def logs(name):
    data = (LOGS / name).read_bytes()
    entry = {"path": "C:\\Windows\\System32\\Sysprep\\Panther\\setupact.log", "exists": True, "size": len(data),
             "offset": 0, "head_b64": base64.b64encode(data[:4]).decode(),
             "content_b64": base64.b64encode(data).decode()}
    return {"changed": False, "logs": [entry]}


def fake_collection(tmp_path):
    """A collection tree: this repository's plugins and roles, Python stand-ins as modules."""
    root = tmp_path / "collections" / "ansible_collections" / "winimage" / "generalize"
    (root / "plugins" / "modules").mkdir(parents=True)
    for name in ("galaxy.yml", "meta", "roles"):
        (root / name).symlink_to(REPO / name)
    for name in ("action", "module_utils", "plugin_utils", "filter", "doc_fragments"):
        if (REPO / "plugins" / name).exists():
            (root / "plugins" / name).symlink_to(REPO / "plugins" / name)
    modules = {"sysprep": SYSPREP_OPTIONS, "appx_cleanup": ["_plan"]}
    for name, options in modules.items():
        text = FAKE_MODULE % {"name": name, "options": options, "secret": JOIN_PASSWORD}
        (root / "plugins" / "modules" / (name + ".py")).write_text(text)
    return tmp_path / "collections"


def run_role(tmp_path, script, *options, playbook_text=PLAYBOOK):
    playbook_bin = Path(sys.executable).parent / "ansible-playbook"
    if not playbook_bin.exists():
        pytest.skip("ansible-playbook is not installed next to this Python")
    host_file = tmp_path / "host.json"
    host_file.write_text(json.dumps({"script": script, "calls": []}))
    playbook = tmp_path / "play.yml"
    playbook.write_text(playbook_text % {"secret": JOIN_PASSWORD})
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(fake_collection(tmp_path)), ANSIBLE_NOCOLOR="1",
               ANSIBLE_LOCALHOST_WARNING="false", ANSIBLE_INVENTORY_UNPARSED_WARNING="false",
               ANSIBLE_LOCAL_TEMP=str(tmp_path / "tmp"), ANSIBLE_HOME=str(tmp_path / "home"),
               WINIMAGE_FAKE_HOST=str(host_file), ANSIBLE_PYTHON_INTERPRETER=sys.executable)
    completed = subprocess.run([str(playbook_bin), "-i", "localhost,", "-c", "local", "-v", *options, str(playbook)],
                               capture_output=True, text=True, env=env, timeout=300, check=False)
    return completed, json.loads(host_file.read_text())["calls"]


@pytest.mark.slow
def test_role_generalizes_and_hides_the_password(tmp_path):
    completed, calls = run_role(tmp_path, {
        "status": [status("IMAGE_STATE_COMPLETE"), status("IMAGE_STATE_UNDEPLOYABLE", running=True),
                   status("IMAGE_STATE_GENERALIZE_RESEAL_TO_OOBE")],
        "start": [{"changed": True, "started": True, "reason": "started", "command": "sysprep.exe"}],
        "cleanup": [{"changed": True, "removed": [], "task_removed": True}],
    })
    output = completed.stdout + completed.stderr

    assert completed.returncode == 0, output
    assert [c.get("operation") for c in calls] == ["status", "start", "status", "status", "cleanup"]
    start = calls[1]
    assert start["answer_file_xml"]["has_join_password"] is True
    assert start["after"] == "quit" and start["mode_vm"] is False
    assert "runs: generalized; image state IMAGE_STATE_GENERALIZE_RESEAL_TO_OOBE; rearms used 0" in output
    assert JOIN_PASSWORD not in output
    assert "Traceback" not in output


@pytest.mark.slow
def test_role_remediates_then_fails_the_host_with_the_findings(tmp_path):
    completed, calls = run_role(tmp_path, {
        "status": [status("IMAGE_STATE_COMPLETE"), status("IMAGE_STATE_COMPLETE", last_result=0)],
        "start": [{"changed": True, "started": True, "reason": "started", "command": "sysprep.exe"}],
        "logs": [logs("ms_configmgr_appx_onedrivesync.log")],
        # The appx_cleanup module reads the Appx state, then removes what the plan names.
        "appx_cleanup": [APPX_STATE, {"changed": True, "removed": [{"package_full_name": ONEDRIVE}]}],
        "cleanup": [{"changed": True, "removed": [], "task_removed": True}],
    })
    output = completed.stdout + completed.stderr

    assert completed.returncode == 2, output
    plans = [c["_plan"] for c in calls if c["module"] == "appx_cleanup" and "_plan" in c]
    assert [[p["package_full_name"] for p in plan["remove_packages"]] for plan in plans] == [[ONEDRIVE]]
    assert len([c for c in calls if c.get("operation") == "start"]) == 2
    assert calls[-1].get("operation") == "cleanup"  # the staged answer file is removed after the failure
    # The sysprep task itself is hidden, the failure still explains itself.
    assert "the output has been hidden" in output
    assert "same packages are reported again" in output
    assert "Store app installed for a user but not provisioned for all users" in output
    assert JOIN_PASSWORD not in output
    assert "Traceback" not in output


@pytest.mark.slow
def test_role_in_check_mode_reads_the_state_and_starts_nothing(tmp_path):
    completed, calls = run_role(tmp_path, {"status": [status("IMAGE_STATE_COMPLETE")]}, "--check")
    output = completed.stdout + completed.stderr

    assert completed.returncode == 0, output
    assert [c.get("operation") for c in calls] == ["status"]
    assert "check mode, would run: %WINDIR%" in output
    assert "sysprep.exe /generalize /oobe /quiet /quit /unattend:" in output


@pytest.mark.slow
def test_role_merges_the_answer_file_fragments_in_order(tmp_path):
    completed, calls = run_role(tmp_path, {
        "status": [status("IMAGE_STATE_COMPLETE"), status("IMAGE_STATE_GENERALIZE_RESEAL_TO_OOBE")],
        "start": [{"changed": True, "started": True, "reason": "started", "command": "sysprep.exe"}],
        "cleanup": [{"changed": True, "removed": [], "task_removed": True}],
    }, playbook_text=PLAYBOOK_FRAGMENTS)
    output = completed.stdout + completed.stderr
    assert completed.returncode == 0, output
    start = next(c for c in calls if c.get("operation") == "start")
    xml = start["answer_file_xml"]["masked_text"]
    # The drivers fragment wins over the user's setting; the user's password is still there.
    assert "<PersistAllDeviceInstalls>true</PersistAllDeviceInstalls>" in xml
    assert start["answer_file_xml"]["has_join_password"] is True
    # Lists are appended: the repeated command once, after the new one; the Hyper-V launch is added.
    assert xml.count("cmd /c echo first") == 1
    assert xml.index("cmd /c echo second") < xml.index("cmd /c echo first")
    assert "hypervisorlaunchtype auto" in xml
    assert JOIN_PASSWORD not in output
