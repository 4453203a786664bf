# Copyright: (c) 2026, winimage.generalize contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The capture role's Windows backends (hyperv_vm, winpe) in real ansible-playbook runs.

There is no Windows or Hyper-V host here. As in test_sysprep_role.py, the test builds a
collection tree whose roles, action plugins, filters and module_utils are this repository's
(symlinks) but whose PowerShell modules are Python stand-ins answering from a JSON script. It
also shadows ansible.windows with stand-ins for win_powershell (recognising the role's Hyper-V
scripts, honouring their check-mode support as the real module does) and win_command.

The WinPE restart is simulated from the capture script the real code generated: the stand-in
for ``shutdown.exe /r`` reads capture.cmd as staged, takes the status, image and console-log
paths from its own lines, and writes the status file the way cmd.exe expands the script's echo
lines. The role then waits for it, reads it and judges it with the real filter.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SHARE_PASSWORD = "Sh4re&Pass%word!"

FAKE_HEADER = '''\
#!/usr/bin/python
# Test stand-in (%(name)s): answers from the JSON script in WINIMAGE_FAKE_CAPTURE_HOST and records calls.
import json
import os
import re

from ansible.module_utils.basic import AnsibleModule

SECRET_OPTIONS = ("share_password", "secret_files", "credential_verifier")


def load():
    with open(os.environ["WINIMAGE_FAKE_CAPTURE_HOST"]) as handle:
        return json.load(handle)


def save(host):
    with open(os.environ["WINIMAGE_FAKE_CAPTURE_HOST"], "w") as handle:
        json.dump(host, handle)


def answer(host, key):
    answers = host["script"][key]
    return answers.pop(0) if len(answers) > 1 else answers[0]
'''

FAKE_WINIMAGE_MODULE = FAKE_HEADER + '''

OPTIONS = %(options)r


def main():
    spec = dict((name, dict(type="raw", no_log=name in SECRET_OPTIONS)) for name in OPTIONS)
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True)
    host = load()
    args = dict((k, v) for k, v in module.params.items() if v is not None and k not in SECRET_OPTIONS)
    operation = args.get("operation")
    record = {"module": "%(name)s", "operation": operation, "check_mode": module.check_mode}
    for key in ("src", "dest", "name", "state", "target"):
        if key in args:
            record[key] = args[key]
    plan = args.get("plan") or {}
    if plan.get("steps"):
        record["commands"] = [step["command"] for step in plan["steps"]]
    if operation == "apply":
        secret = json.dumps(module.params.get("secret_files") or {})
        record["password_in_secret_files"] = %(password)r in secret
        record["verifier_set"] = bool(module.params.get("credential_verifier"))
        record["password_elsewhere"] = %(password)r in json.dumps(args)
        host["staged"] = {"token": plan["token"],
                          "capture_cmd": plan["public_files"]["Windows\\\\System32\\\\winimage\\\\capture.cmd"]}
    host["calls"].append(record)
    result = answer(host, "%(name)s:" + str(operation))
    if operation == "apply" and "token" not in result:
        result = dict(result, token=plan["token"])
    save(host)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
'''

FAKE_WIN_POWERSHELL = FAKE_HEADER + '''

# The role's scripts, recognised by a command only they run (Dismount before Mount: substring).
SCRIPTS = (("dismount", "Dismount-VHD -Path"), ("template", "Convert-VHD -Path"), ("mount", "Mount-VHD -Path"),
           ("disk", "Get-VMHardDiskDrive"), ("wait_off", "Get-VM -Name"))


def main():
    module = AnsibleModule(argument_spec=dict(script=dict(type="str", required=True), parameters=dict(type="dict"),
                                              depth=dict(type="int")), supports_check_mode=True)
    script = module.params["script"]
    kind = next(name for name, marker in SCRIPTS if marker in script)
    if module.check_mode and "SupportsShouldProcess" not in script:
        module.exit_json(changed=True, msg="skipped, running in check mode")  # as ansible.windows does
    host = load()
    host["calls"].append({"module": "win_powershell", "script": kind, "parameters": module.params["parameters"],
                          "check_mode": module.check_mode})
    result = answer(host, "win_powershell:" + kind)
    save(host)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
'''

FAKE_WIN_COMMAND = FAKE_HEADER + '''
import hashlib


def expand(text, variables):
    """cmd.exe percent expansion: %% -> %, %NAME% -> value, undefined -> empty."""
    return re.sub(r"%%|%([^%\\s]+)%",
                  lambda m: "%" if m.group(0) == "%%" else variables.get(m.group(1).upper(), ""), text)


def share_path(root, windows_path):
    relative = windows_path.strip('"').replace("\\\\", "/").lstrip("/")
    return os.path.join(root, relative)


def simulate_winpe(host):
    """What the staged WinPE run would leave on the share, following the staged capture.cmd."""
    sim, cmd = host["winpe"], host["staged"]["capture_cmd"]
    if sim.get("never_reports"):
        return
    lines = cmd.split("\\r\\n")
    status = next(l for l in lines if l.startswith("if defined WI_OUT call :write_status "))
    status = expand(status.split(":write_status ", 1)[1], {"WI_OUT": ""})
    rename = next(l for l in lines if l.startswith("ren "))
    partial, leaf = [expand(part, {"WI_OUT": ""}) for part in rename.split(" ")[1:3]]
    image = partial.rsplit("\\\\", 1)[0] + "\\\\" + leaf.strip('"')
    dism = next(l for l in lines if l.startswith("dism.exe "))
    console = expand(dism.rsplit(" >", 1)[1].split(" 2>&1")[0], {"WI_OUT": ""})
    variables = {"WI_TOKEN": host["staged"]["token"], "WI_SHA256": ""}
    variables.update(sim["variables"])
    if sim.get("image_bytes") is not None:
        path = share_path(sim["share_dir"], image)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as handle:
            handle.write(sim["image_bytes"].encode())
        if sim.get("certutil_sha256"):
            variables["WI_SHA256"] = sim["certutil_sha256"]
    with open(share_path(sim["share_dir"], console), "w") as handle:
        handle.write(sim.get("console", ""))
    block = cmd.split(":write_status\\r\\n", 1)[1].split("goto :eof", 1)[0]
    echoed = [expand(m.group(1), variables) for m in
              (re.match(r'^>>?"%~1" echo (.*)$', line) for line in block.split("\\r\\n")) if m]
    with open(share_path(sim["share_dir"], status), "w") as handle:
        handle.write("\\r\\n".join(echoed) + "\\r\\n")


def main():
    module = AnsibleModule(argument_spec=dict(argv=dict(type="list", elements="str"), _raw_params=dict(type="str")),
                           supports_check_mode=False)
    host = load()
    argv = module.params["argv"] or []
    host["calls"].append({"module": "win_command", "argv": argv})
    if argv and argv[0] == "shutdown.exe" and "/r" in argv:
        simulate_winpe(host)
    save(host)
    module.exit_json(changed=True, rc=0, stdout="", stderr="")


if __name__ == "__main__":
    main()
'''

DISM_OPTIONS = ["src", "dest", "name", "description", "compression", "append", "exclusions", "check_integrity",
                "verify", "scratch_dir", "split_size_mb", "operation", "plan"]
WINPE_OPTIONS = ["state", "boot_wim", "boot_wim_index", "boot_sdi", "target", "share", "share_username",
                 "share_password", "share_drive", "target_volume", "dest", "name", "description", "compression",
                 "exclusions", "check_integrity", "verify", "scratch_dir", "on_failure", "operation", "plan",
                 "secret_files", "credential_verifier"]

COMMON_VARS = {
    "capture_image_name": "Windows 11 Enterprise 2026-03", "capture_image_description": "",
    "capture_compression": "fast", "capture_append": False, "capture_exclusions": [],
    "capture_check_integrity": False, "capture_verify": True, "capture_scratch_dir": "", "capture_split_size_mb": 0,
}
HYPERV_VARS = dict(COMMON_VARS, capture_hyperv_host="localhost", capture_hyperv_vm_name="REF-W11",
                   capture_hyperv_off_timeout=60, capture_hyperv_poll_interval=1, capture_hyperv_disk_number=0,
                   capture_hyperv_partition_number=0, capture_hyperv_keep_vhdx_as_template=True,
                   capture_hyperv_template_dir="D:\\Templates\\", capture_hyperv_template_name="",
                   capture_dest="D:\\Images\\win11.wim")
WINPE_VARS = dict(COMMON_VARS, capture_winpe_boot_wim="C:\\ADK\\winpe.wim", capture_winpe_boot_sdi="",
                  capture_winpe_target="share", capture_winpe_share="\\\\files01\\images",
                  capture_winpe_share_username="CORP\\svc-capture", capture_winpe_share_drive="N:",
                  capture_winpe_target_volume="", capture_winpe_on_failure="shutdown", capture_winpe_restart_delay=10,
                  capture_winpe_status_host="localhost", capture_winpe_timeout=30, capture_winpe_checksum=True,
                  capture_winpe_log_tail_lines=5, capture_dest="captures\\win11.wim")

PLAYBOOK = textwrap.dedent('''\
    - hosts: localhost
      gather_facts: false
      vars_files: [vars.json]
      tasks:
        - name: Run the capture backend
          ansible.builtin.include_role:
            name: winimage.generalize.capture
%(tasks_from)s        - name: Write the capture fact for the test
          ansible.builtin.copy:
            content: "{{ winimage_capture | default({}) | to_json }}"
            dest: "%(fact)s"
          check_mode: false
''')

MOUNT = {"changed": True, "result": {"path": "C:\\VMs\\ref_1A2B.avhdx", "disk_number": 3, "read_only": True,
                                     "mounted_here": True, "partitions": [
                                         {"number": 1, "letter": "", "windows": False, "type": "System"},
                                         {"number": 3, "letter": "F", "windows": True, "type": "Basic"},
                                         {"number": 4, "letter": "G", "windows": False, "type": "Recovery"}]}}
DISK = {"changed": False, "result": {"leaf": "C:\\VMs\\ref_1A2B.avhdx", "checkpoints": 1, "controller": "SCSI 0:0",
                                     "chain": [{"path": "C:\\VMs\\ref_1A2B.avhdx", "type": "Differencing"},
                                               {"path": "C:\\VMs\\ref.vhdx", "type": "Dynamic"}]}}
DISM_INSPECT = {"changed": False, "src_is_dir": True, "dest_dir_exists": True, "dest_exists": False,
                "dest_is_file": False, "images": [], "split_parts": [], "leftovers": []}
DISM_RAN = {"changed": True, "dest": "D:\\Images\\win11.wim", "index": 1, "size": 42, "sha256": "ab" * 32,
            "images": [{"index": 1, "name": "Windows 11 Enterprise 2026-03"}], "parts": [], "timings": {},
            "image_info": {"index": 1, "windows": {"architecture": "x64"}}}


def hyperv_script(dism_run=None):
    return {
        "win_powershell:wait_off": [{"changed": False, "result": {"name": "REF-W11", "state": "Off"}}],
        "win_powershell:disk": [DISK],
        "win_powershell:mount": [MOUNT],
        "win_powershell:dismount": [{"changed": True}],
        "win_powershell:template": [{"changed": True, "result": {"path": "D:\\Templates\\REF-W11.vhdx",
                                                                 "created": True}}],
        "dism_capture:inspect": [DISM_INSPECT],
        "dism_capture:run": [dism_run or DISM_RAN],
    }


WINPE_INSPECT = {"changed": False, "staged": False, "state": None, "boot_wim_present": False,
                 "verifier_present": False, "loader_exists": False, "device_exists": False,
                 "bootsequence_set": False, "system_drive": "C:", "firmware": "efi",
                 "boot_wim_source": {"exists": True, "size": 420000000, "modified": "2026-01-01T00:00:00Z"}}
WINPE_APPLIED = {"changed": True, "loader_id": "{11111111-2222-3333-4444-555555555555}",
                 "device_id": "{66666666-7777-8888-9999-000000000000}",
                 "winload": "\\Windows\\System32\\Boot\\winload.efi", "bcd_commands": ["bcdedit.exe /bootsequence {1}"]}
IMAGE = "MSWIM fake image bytes"


def winpe_script():
    return {"winpe_stage:inspect": [WINPE_INSPECT], "winpe_stage:apply": [WINPE_APPLIED]}


def fill(template, **values):
    """%(key)s / %(key)r placeholders only, so the templates may hold cmd.exe's own % signs."""
    for key, value in values.items():
        template = template.replace("%%(%s)s" % key, str(value)).replace("%%(%s)r" % key, repr(value))
    return template


def write_fake_module(directory, name, text):
    directory.mkdir(parents=True, exist_ok=True)
    (directory / (name + ".py")).write_text(text)


def fake_collections(tmp_path):
    root = tmp_path / "collections" / "ansible_collections"
    ours = root / "winimage" / "generalize"
    (ours / "plugins").mkdir(parents=True)
    for name in ("galaxy.yml", "meta", "roles"):
        (ours / name).symlink_to(REPO / name)
    for name in ("action", "module_utils", "plugin_utils", "filter", "doc_fragments"):
        if (REPO / "plugins" / name).exists():
            (ours / "plugins" / name).symlink_to(REPO / "plugins" / name)
    modules = ours / "plugins" / "modules"
    write_fake_module(modules, "dism_capture", fill(FAKE_WINIMAGE_MODULE, name="dism_capture", options=DISM_OPTIONS,
                                                    password=SHARE_PASSWORD))
    write_fake_module(modules, "winpe_stage", fill(FAKE_WINIMAGE_MODULE, name="winpe_stage", options=WINPE_OPTIONS,
                                                   password=SHARE_PASSWORD))
    windows = root / "ansible" / "windows" / "plugins" / "modules"
    write_fake_module(windows, "win_powershell", fill(FAKE_WIN_POWERSHELL, name="win_powershell"))
    write_fake_module(windows, "win_command", fill(FAKE_WIN_COMMAND, name="win_command"))
    return tmp_path / "collections"


def run_backend(tmp_path, tasks, variables, script, winpe=None, check=False):
    playbook_bin = Path(sys.executable).parent / "ansible-playbook"
    if not playbook_bin.exists():
        pytest.skip("ansible-playbook is not installed next to this Python")
    host_file = tmp_path / "host.json"
    host_file.write_text(json.dumps({"script": script, "calls": [], "winpe": winpe or {}}))
    (tmp_path / "vars.json").write_text(json.dumps(variables))
    fact = tmp_path / "fact.json"
    # tasks=None runs the role's main entry point: argument validation, backend assertion, dispatch.
    tasks_from = "            tasks_from: %s.yml\n" % tasks if tasks else ""
    (tmp_path / "play.yml").write_text(PLAYBOOK % {"tasks_from": tasks_from, "fact": fact})
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(fake_collections(tmp_path)), ANSIBLE_NOCOLOR="1",
               ANSIBLE_LOCALHOST_WARNING="false", ANSIBLE_INVENTORY_UNPARSED_WARNING="false",
               ANSIBLE_LOCAL_TEMP=str(tmp_path / "tmp"), ANSIBLE_HOME=str(tmp_path / "home"),
               WINIMAGE_FAKE_CAPTURE_HOST=str(host_file), ANSIBLE_PYTHON_INTERPRETER=sys.executable)
    argv = [str(playbook_bin), "-i", "localhost,", "-c", "local", "-v"] + (["--check"] if check else [])
    completed = subprocess.run(argv + [str(tmp_path / "play.yml")], capture_output=True, text=True, env=env,
                               timeout=300, check=False, cwd=str(tmp_path))
    calls = json.loads(host_file.read_text())["calls"]
    captured = json.loads(fact.read_text()) if fact.exists() and fact.read_text().strip() else None
    return completed, calls, captured


def steps(calls):
    return [c.get("script") or "%s:%s" % (c["module"], c.get("operation") or (c.get("argv") or [""])[0])
            for c in calls]


# --------------------------------------------------------------------------- Hyper-V

@pytest.mark.slow
def test_hyperv_vm_waits_mounts_captures_dismounts_and_keeps_a_template(tmp_path):
    completed, calls, captured = run_backend(tmp_path, "hyperv_vm", HYPERV_VARS, hyperv_script())
    output = completed.stdout + completed.stderr

    assert completed.returncode == 0, output
    assert steps(calls) == ["wait_off", "disk", "mount", "dism_capture:inspect", "dism_capture:run", "dismount",
                            "template"]
    assert calls[0]["parameters"]["Name"] == "REF-W11"
    assert calls[2]["parameters"] == {"Path": "C:\\VMs\\ref_1A2B.avhdx"}        # the leaf: the merged view
    assert calls[3]["src"] == "F:\\" and calls[3]["dest"] == "D:\\Images\\win11.wim"
    assert "/CaptureDir:F:\\" in calls[4]["commands"][0]
    assert calls[6]["parameters"] == {"Source": "C:\\VMs\\ref_1A2B.avhdx",
                                      "Destination": "D:\\Templates\\REF-W11-Windows-11-Enterprise-2026-03.vhdx"}
    assert captured["backend"] == "hyperv_vm" and captured["index"] == 1
    assert captured["disk_chain"] == ["C:\\VMs\\ref_1A2B.avhdx", "C:\\VMs\\ref.vhdx"]
    assert captured["image_info"]["windows"]["architecture"] == "amd64"


@pytest.mark.slow
def test_hyperv_vm_dismounts_even_when_dism_fails(tmp_path):
    failure = {"failed": True, "msg": "DISM capture failed with exit code 112; dest D:\\Images\\win11.wim is unchanged.",
               "rc": 112}
    completed, calls, _captured = run_backend(tmp_path, "hyperv_vm", HYPERV_VARS, hyperv_script(dism_run=failure))
    output = completed.stdout + completed.stderr

    assert completed.returncode == 2, output
    assert steps(calls) == ["wait_off", "disk", "mount", "dism_capture:inspect", "dism_capture:run", "dismount"]
    assert "exit code 112" in output


@pytest.mark.slow
def test_hyperv_vm_check_mode_only_reads(tmp_path):
    completed, calls, _captured = run_backend(tmp_path, "hyperv_vm", HYPERV_VARS, hyperv_script(), check=True)
    output = completed.stdout + completed.stderr

    assert completed.returncode == 0, output
    assert steps(calls) == ["wait_off", "disk"]
    assert all(call["check_mode"] for call in calls)


# --------------------------------------------------------------------------- WinPE

def winpe_vars(tmp_path, **overrides):
    share = tmp_path / "share"
    (share / "captures").mkdir(parents=True, exist_ok=True)
    variables = dict(WINPE_VARS, capture_winpe_share_password=SHARE_PASSWORD, capture_winpe_status_dir=str(share))
    variables.update(overrides)
    return variables, share


@pytest.mark.slow
def test_winpe_stages_restarts_and_reports_the_capture(tmp_path):
    variables, share = winpe_vars(tmp_path)
    sha = hashlib.sha256(IMAGE.encode()).hexdigest()
    winpe = {"share_dir": str(share), "image_bytes": IMAGE, "certutil_sha256": " ".join([sha[i:i + 2] for i in
                                                                                        range(0, 64, 2)]),
             "variables": {"WI_STEP": "done", "WI_RC": "0", "WI_STARTED": "Mon 03/02/2026 10:00:00.00",
                           "WI_FINISHED": "Mon 03/02/2026 10:31:07.12", "WI_BOOTWIM_REMOVED": "true"},
             "console": "Deployment Image Servicing and Management tool\r\nThe operation completed successfully.\r\n"}
    completed, calls, captured = run_backend(tmp_path, "winpe", variables, winpe_script(), winpe=winpe)
    output = completed.stdout + completed.stderr

    assert completed.returncode == 0, output
    assert steps(calls) == ["winpe_stage:inspect", "winpe_stage:apply", "win_command:shutdown.exe"]
    apply = calls[1]
    assert apply["password_in_secret_files"] is True and apply["verifier_set"] is True
    assert apply["password_elsewhere"] is False
    assert calls[2]["argv"][:4] == ["shutdown.exe", "/r", "/t", "10"]
    assert captured["backend"] == "winpe" and captured["sha256"] == sha
    assert captured["dest"] == str(share / "captures" / "win11.wim")
    assert captured["status"]["ok"] is True and captured["status"]["boot_wim_removed"] is True
    assert SHARE_PASSWORD not in output


@pytest.mark.slow
def test_winpe_dism_failure_fails_the_play_with_the_console_tail(tmp_path):
    variables, share = winpe_vars(tmp_path)
    winpe = {"share_dir": str(share), "image_bytes": None,
             "variables": {"WI_STEP": "capture", "WI_RC": "112", "WI_BOOTWIM_REMOVED": "true"},
             "console": "Error: 112\r\n\r\nThere is not enough space on the disk.\r\n"}
    completed, calls, _captured = run_backend(tmp_path, "winpe", variables, winpe_script(), winpe=winpe)
    output = completed.stdout + completed.stderr

    assert completed.returncode == 2, output
    assert "WinPE capture failed at step capture with exit code 112: DISM /Capture-Image failed" in output
    assert "There is not enough space on the disk." in output
    assert SHARE_PASSWORD not in output


@pytest.mark.slow
def test_winpe_without_a_status_file_explains_how_to_recover(tmp_path):
    variables, share = winpe_vars(tmp_path, capture_winpe_timeout=2)
    completed, _calls, _captured = run_backend(tmp_path, "winpe", variables, winpe_script(),
                                               winpe={"share_dir": str(share), "never_reports": True})
    output = completed.stdout + completed.stderr

    assert completed.returncode == 2, output
    assert "power the machine on: the WinPE boot was one-time" in output
    assert "state=absent" in output


@pytest.mark.slow
def test_winpe_check_mode_stages_nothing_and_does_not_restart(tmp_path):
    variables, _share = winpe_vars(tmp_path)
    completed, calls, _captured = run_backend(tmp_path, "winpe", variables, winpe_script(), check=True)
    output = completed.stdout + completed.stderr

    assert completed.returncode == 0, output
    assert steps(calls) == ["winpe_stage:inspect"]
    assert SHARE_PASSWORD not in output


# --------------------------------------------------------------------------- the role's main entry point

# Only what a user must set; everything else comes from the role's defaults.
HYPERV_MINIMAL = {"capture_backend": "hyperv_vm", "capture_hyperv_host": "localhost",
                  "capture_dest": "D:\\Images\\win11.wim", "capture_image_name": "Windows 11 Enterprise 2026-03"}
WINPE_MINIMAL = {"capture_backend": "winpe", "capture_winpe_boot_wim": "C:\\ADK\\winpe.wim",
                 "capture_winpe_share": "\\\\files01\\images", "capture_winpe_share_username": "CORP\\svc-capture",
                 "capture_winpe_share_password": SHARE_PASSWORD, "capture_dest": "captures\\win11.wim",
                 "capture_image_name": "Windows 11 Enterprise 2026-03"}


@pytest.mark.slow
def test_role_entry_point_accepts_hyperv_vm_with_its_defaults(tmp_path):
    completed, calls, captured = run_backend(tmp_path, None, HYPERV_MINIMAL, hyperv_script(), check=True)
    output = completed.stdout + completed.stderr

    assert completed.returncode == 0, output
    assert "The arg spec validation passed" in output
    assert steps(calls) == ["wait_off", "disk"]
    # The VM name defaults to the inventory hostname, the timeouts to the role's defaults.
    assert calls[0]["parameters"] == {"Name": "localhost", "TimeoutSeconds": 1800, "PollSeconds": 10}
    assert calls[1]["parameters"] == {"Name": "localhost", "DiskNumber": 0}
    assert captured["backend"] == "hyperv_vm" and captured["vm"] == "localhost"


@pytest.mark.slow
def test_role_entry_point_accepts_winpe_with_its_defaults(tmp_path):
    completed, calls, _captured = run_backend(tmp_path, None, WINPE_MINIMAL, winpe_script(), check=True)
    output = completed.stdout + completed.stderr

    assert completed.returncode == 0, output
    assert "The arg spec validation passed" in output
    assert steps(calls) == ["winpe_stage:inspect"]
    assert calls[0]["target"] == "share" and calls[0]["dest"] == "captures\\win11.wim"
    assert SHARE_PASSWORD not in output


@pytest.mark.slow
def test_role_entry_point_rejects_an_unknown_winpe_target_by_name(tmp_path):
    variables = dict(WINPE_MINIMAL, capture_winpe_target="usb")
    completed, calls, _captured = run_backend(tmp_path, None, variables, winpe_script(), check=True)
    output = completed.stdout + completed.stderr

    assert completed.returncode == 2, output
    assert "value of capture_winpe_target must be one of: share, volume, got: usb" in output
    assert calls == []
    assert SHARE_PASSWORD not in output
