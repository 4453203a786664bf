# Copyright: (c) 2026, winimage.generalize contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The remediation roles in real ansible-playbook runs (no Windows host here).

* ``--syntax-check`` of a playbook using appx_cleanup, domain_unjoin and drivers by FQCN;
* the domain_unjoin decisions that happen before any Windows module runs, played against
  localhost with recorded readiness facts: refusal for a domain-account connection and for a
  domain controller, no-op on a workgroup machine, the credential check before the unjoin - and no
  password in any output;
* the drivers role's answer-file settings fed to the answer-file builder.

Each run takes a few seconds.
"""

from __future__ import annotations

import copy
import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from ansible_collections.winimage.generalize.plugins.filter import remediation as filter_module

FACTS_DIR = Path(__file__).resolve().parents[1] / "data" / "facts"
SENTINEL = "Zq9-Unjoin-Sentinel!"

pytestmark = pytest.mark.slow


def _collections_path():
    # plugins/filter/remediation.py -> .../ansible_collections/winimage/generalize/plugins/filter
    return str(Path(os.path.abspath(filter_module.__file__)).parents[5])


def run_playbook(tmp_path, playbook, extra_vars=None, *options):
    binary = Path(sys.executable).parent / "ansible-playbook"
    if not binary.exists():
        pytest.skip("ansible-playbook is not installed next to this Python")
    path = tmp_path / "play.yml"
    path.write_text(textwrap.dedent(playbook))
    command = [str(binary), "-i", "localhost,", "-c", "local", str(path)] + list(options)
    if extra_vars is not None:
        vars_file = tmp_path / "vars.json"
        vars_file.write_text(json.dumps(extra_vars))
        command += ["-e", "@%s" % vars_file]
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=_collections_path(), ANSIBLE_NOCOLOR="1",
               ANSIBLE_LOCALHOST_WARNING="false", ANSIBLE_INVENTORY_UNPARSED_WARNING="false",
               ANSIBLE_LOCAL_TEMP=str(tmp_path / "tmp"), ANSIBLE_HOME=str(tmp_path / "home"),
               ANSIBLE_RETRY_FILES_ENABLED="false")
    completed = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300, check=False)
    return completed.returncode, completed.stdout + completed.stderr


def recorded(name):
    return json.loads((FACTS_DIR / name).read_text(encoding="utf-8"))


def test_playbook_using_every_remediation_role_passes_syntax_check(tmp_path):
    playbook = """\
        - name: Remediate the reference machines
          hosts: all
          gather_facts: false
          roles:
            - role: winimage.generalize.domain_unjoin
              vars:
                domain_unjoin_domain_admin_user: CORP\\svc-unjoin
                domain_unjoin_domain_admin_password: "{{ vault_unjoin_password }}"
            - role: winimage.generalize.appx_cleanup
            - role: winimage.generalize.drivers
              vars:
                drivers_store_path: /srv/driver-store
          tasks:
            - name: The module by FQCN
              winimage.generalize.appx_cleanup:
                packages: [Microsoft.MicrosoftEdge.Stable]
            - name: The driver export module by FQCN
              winimage.generalize.driver_export:
                state: inventory
        """
    rc, output = run_playbook(tmp_path, playbook, None, "--syntax-check")
    assert rc == 0, output
    assert "playbook:" in output


UNJOIN_PLAY = """\
    - name: Leave the domain
      hosts: localhost
      gather_facts: false
      roles:
        - role: winimage.generalize.domain_unjoin
          vars:
            domain_unjoin_gather_facts: false
    """


def unjoin_vars(facts, **extra):
    variables = {"winimage_facts": facts, "domain_unjoin_domain_admin_user": "CORP\\svc-unjoin",
                 "domain_unjoin_domain_admin_password": SENTINEL}
    variables.update(extra)
    return variables


def test_domain_account_connection_is_refused_before_anything_changes(tmp_path):
    rc, output = run_playbook(tmp_path, UNJOIN_PLAY, unjoin_vars(recorded("win10_22h2_blocked.json")))
    assert rc == 2, output
    assert "Ansible is connected to W10-REF02 as CORP\\\\svc-imaging, a domain account" in output
    assert "set ansible_user to a local administrator" in output
    assert "Leave the domain for workgroup" not in output  # the membership task never ran
    assert SENTINEL not in output
    assert "Traceback" not in output


def test_domain_controller_is_refused(tmp_path):
    rc, output = run_playbook(tmp_path, UNJOIN_PLAY, unjoin_vars(recorded("server2025_dc_blocked.json")))
    assert rc == 2, output
    assert "is a domain controller of corp.example.com" in output
    assert SENTINEL not in output


def test_workgroup_machine_is_left_alone(tmp_path):
    rc, output = run_playbook(tmp_path, UNJOIN_PLAY, unjoin_vars(recorded("win11_23h2_clean.json")))
    assert rc == 0, output
    assert "noop (workgroup)" in output
    assert "changed=0" in output
    assert SENTINEL not in output


def test_unjoin_without_domain_credentials_stops_before_the_unjoin(tmp_path):
    facts = copy.deepcopy(recorded("win10_22h2_blocked.json"))
    facts["connection"].update(user="W10-REF02\\winimage-admin", is_domain_account=False)
    rc, output = run_playbook(tmp_path, UNJOIN_PLAY, unjoin_vars(facts, domain_unjoin_domain_admin_password=""))
    assert rc == 2, output
    assert "unjoin (joined): W10-REF02 leaves corp.example.com for workgroup WORKGROUP" in output
    assert "Leaving the domain needs domain_unjoin_domain_admin_user and domain_unjoin_domain_admin_password" in output


def test_bad_workgroup_name_is_a_clear_error(tmp_path):
    rc, output = run_playbook(tmp_path, UNJOIN_PLAY, unjoin_vars(recorded("win11_23h2_clean.json"),
                                                                 domain_unjoin_workgroup_name="NAME/WITH:BAD*CHARS"))
    assert rc == 2, output
    assert "winimage.generalize.unjoin_plan: workgroup_name 'NAME/WITH:BAD*CHARS' is not a valid NetBIOS name" in output
    assert "Traceback" not in output and SENTINEL not in output


DRIVERS_PLAY = """\
    - name: Driver settings for the answer file
      hosts: localhost
      gather_facts: false
      roles:
        - role: winimage.generalize.drivers
      tasks:
        - name: Build the answer file with the drivers settings merged in
          ansible.builtin.debug:
            msg: "{{ ({'architecture': 'amd64'} | combine(drivers_answer_file_settings, recursive=true))
                     | winimage.generalize.unattend_xml }}"
    """


def test_drivers_settings_reach_the_answer_file(tmp_path):
    rc, output = run_playbook(tmp_path, DRIVERS_PLAY, {})
    assert rc == 0, output
    assert "Microsoft-Windows-PnpSysprep" in output
    assert "<PersistAllDeviceInstalls>true</PersistAllDeviceInstalls>" in output
    assert "<DoNotCleanUpNonPresentDevices>false</DoNotCleanUpNonPresentDevices>" in output


def test_drivers_null_setting_is_left_out_and_a_useless_one_is_flagged(tmp_path):
    rc, output = run_playbook(tmp_path, DRIVERS_PLAY, {"drivers_persist_all_device_installs": None,
                                                       "drivers_do_not_clean_up_non_present_devices": True})
    assert rc == 0, output
    assert "PersistAllDeviceInstalls" not in output.replace("drivers_persist_all_device_installs", "")
    assert "<DoNotCleanUpNonPresentDevices>true</DoNotCleanUpNonPresentDevices>" in output
    assert "Microsoft documents that DoNotCleanUpNonPresentDevices then has no effect" in output


# --------------------------------------------------------------------------- drivers, controller mode
#
# The role's controller-side flow (store key from the facts, inventory, comparison with the
# manifest on the controller, export + fetch, idempotence, check mode) played on localhost: a
# shadow collection links the real roles and plugins and replaces the Windows module
# driver_export with tests/integration/fake_windows_modules/driver_export.py.

FAKE_MODULES = Path(__file__).resolve().parent / "fake_windows_modules"
REPO = Path(__file__).resolve().parents[2]
DRIVERS_EXPORT_PLAY = """\
    - name: Export the drivers to the controller's store
      hosts: localhost
      gather_facts: false
      roles:
        - role: winimage.generalize.drivers
          vars:
            drivers_keep_staging: true   # win_file cannot run on localhost
      tasks:
        - name: Show the summary
          ansible.builtin.debug:
            var: drivers_exported
    """


@pytest.fixture
def shadow_collection(tmp_path):
    root = tmp_path / "collections" / "ansible_collections" / "winimage" / "generalize"
    (root / "plugins" / "modules").mkdir(parents=True)
    (root / "meta").mkdir()
    (root / "meta" / "runtime.yml").write_text('requires_ansible: ">=2.16.0"\n')
    (root / "roles").symlink_to(REPO / "roles")
    for kind in ("action", "filter", "module_utils", "plugin_utils"):
        (root / "plugins" / kind).symlink_to(REPO / "plugins" / kind)
    (root / "plugins" / "modules" / "driver_export.py").symlink_to(FAKE_MODULES / "driver_export.py")
    return tmp_path / "collections"


def run_drivers(tmp_path, collections, drivers, *options):
    inventory_file = tmp_path / "installed-drivers.json"
    inventory_file.write_text(json.dumps(drivers))
    variables = {"winimage_facts": recorded("win11_23h2_clean.json"),
                 "drivers_store_path": str(tmp_path / "store"),
                 "drivers_staging_dir": str(tmp_path / "staging")}
    os.environ["WINIMAGE_FAKE_DRIVERS"] = str(inventory_file)
    try:
        binary = Path(sys.executable).parent / "ansible-playbook"
        playbook = tmp_path / "drivers.yml"
        playbook.write_text(textwrap.dedent(DRIVERS_EXPORT_PLAY))
        vars_file = tmp_path / "drivers-vars.json"
        vars_file.write_text(json.dumps(variables))
        env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(collections), ANSIBLE_NOCOLOR="1",
                   ANSIBLE_LOCALHOST_WARNING="false", ANSIBLE_INVENTORY_UNPARSED_WARNING="false",
                   ANSIBLE_LOCAL_TEMP=str(tmp_path / "tmp"), ANSIBLE_HOME=str(tmp_path / "home"),
                   ANSIBLE_PYTHON_INTERPRETER=sys.executable)
        completed = subprocess.run([str(binary), "-i", "localhost,", "-c", "local", str(playbook),
                                    "-e", "@%s" % vars_file] + list(options),
                                   capture_output=True, text=True, env=env, timeout=300, check=False)
    finally:
        del os.environ["WINIMAGE_FAKE_DRIVERS"]
    return completed.returncode, completed.stdout + completed.stderr


def driver(original, version):
    return {"published_name": "oem1.inf", "original_name": original, "provider": "Red Hat, Inc.",
            "class_name": "SCSIAdapter", "version": version, "date": "2024-01-01", "boot_critical": True}


def test_drivers_are_exported_to_the_controller_by_model_and_only_again_when_they_change(tmp_path, shadow_collection):
    store = tmp_path / "store" / "QEMU" / "Standard PC (Q35 + ICH9, 2009)" / "22631"
    first = [driver("viostor.inf", "100.94.104.24500"), driver("netkvm.inf", "100.94.104.24500")]

    rc, output = run_drivers(tmp_path, shadow_collection, first)
    assert rc == 0, output
    manifest = json.loads((store / "winimage-drivers.json").read_text())
    assert sorted(d["original_name"] for d in manifest["drivers"]) == ["netkvm.inf", "viostor.inf"]
    assert (store / "drivers.zip").is_file()

    # The controller copy decides: even without the staging copy nothing is exported again.
    # (On Linux the Windows-style staging paths are single names such as 'staging\\export'.)
    staged = sorted(tmp_path.glob("staging*"))
    assert staged, "the export was not staged"
    for path in staged:
        shutil.rmtree(path) if path.is_dir() else path.unlink()
    rc, output = run_drivers(tmp_path, shadow_collection, first)
    assert rc == 0, output
    assert "changed=0" in output
    assert not list(tmp_path.glob("staging*"))

    updated = [driver("viostor.inf", "100.95.104.26200"), driver("netkvm.inf", "100.94.104.24500")]
    rc, output = run_drivers(tmp_path, shadow_collection, updated, "--check")
    assert rc == 0, output
    assert "changed=0" not in output
    assert json.loads((store / "winimage-drivers.json").read_text()) == manifest  # check mode wrote nothing

    rc, output = run_drivers(tmp_path, shadow_collection, updated)
    assert rc == 0, output
    versions = {d["original_name"]: d["version"] for d in json.loads((store / "winimage-drivers.json").read_text())["drivers"]}
    assert versions["viostor.inf"] == "100.95.104.26200"
