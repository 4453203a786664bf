# Copyright: (c) 2026, winimage.generalize contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Real runs of ``ansible-playbook playbooks/preflight.yml``, shared by the integration tests.

One inventory of local hosts whose recorded facts are the fixtures in ``tests/data/facts``
(the verify-phase fixtures are left out: they describe captured images), plus one host
without a facts file. The inventory carries a WinRM-style password and a vault-encrypted
domain-join password: neither may reach any output or report.

Each run happens once per test session (the browser test reads the report of the normal run).
"""

from __future__ import annotations

import functools
import json
import os
import pathlib
import shutil
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]
COLLECTIONS = ROOT / ".build" / "collections"
PLAYBOOK = ROOT / "playbooks" / "preflight.yml"
FACTS_FIXTURES = ROOT / "tests" / "data" / "facts"
REPORT_SCHEMA = ROOT / "schemas" / "report.schema.json"
ANSIBLE_PLAYBOOK = pathlib.Path(sys.executable).parent / "ansible-playbook"
ANSIBLE_VAULT = pathlib.Path(sys.executable).parent / "ansible-vault"

MISSING_HOST = "ref-without-facts"
WINRM_PASSWORD = "WinRM-P@ss-5b1f0c7e"
DOMAIN_JOIN_PASSWORD = "J0in-Secret-9d2e4a61"
VAULT_PASSWORD = "vault-key-3c8a"
SECRETS = (WINRM_PASSWORD, DOMAIN_JOIN_PASSWORD, VAULT_PASSWORD)


def host_name(fixture):
    return fixture.stem.replace("_", "-")


def preflight_fixtures():
    """Facts fixtures of running machines (not of captured images)."""
    return sorted(p for p in FACTS_FIXTURES.glob("*.json") if not p.name.startswith("verify_"))


def load_facts(path):
    loaded = json.loads(path.read_text(encoding="utf-8"))
    return loaded if "schema_version" in loaded else loaded["facts"]


def expected_findings():
    """What the rules engine says about each fixture host: the oracle for the report."""
    from ansible_collections.winimage.generalize.plugins.module_utils import rules
    return {host_name(p): rules.evaluate(load_facts(p), phase="preflight") for p in preflight_fixtures()}


def _encrypt(secret, password_file, env):
    completed = subprocess.run(
        [str(ANSIBLE_VAULT), "encrypt_string", "--vault-password-file", str(password_file),
         "--name", "vault_domain_join_password", secret],
        env=env, check=True, capture_output=True, text=True, timeout=120)
    return completed.stdout


def environment(home):
    env = dict(os.environ)
    env.update(
        ANSIBLE_COLLECTIONS_PATH=str(COLLECTIONS),
        ANSIBLE_HOME=str(home / "ansible-home"),
        ANSIBLE_LOCAL_TEMP=str(home / "ansible-local"),
        ANSIBLE_REMOTE_TEMP=str(home / "ansible-remote"),
        ANSIBLE_STDOUT_CALLBACK="ansible.posix.json",
        ANSIBLE_SHOW_CUSTOM_STATS="true",
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_RETRY_FILES_ENABLED="false",
        ANSIBLE_DEPRECATION_WARNINGS="false",
    )
    env.pop("ANSIBLE_CONFIG", None)
    return env


@functools.lru_cache(maxsize=None)
def workspace(base):
    """A working directory with the facts, a vault password file and the inventory."""
    base = pathlib.Path(base)
    facts_dir = base / "facts"
    facts_dir.mkdir(parents=True)
    for fixture in preflight_fixtures():
        shutil.copy(fixture, facts_dir / (host_name(fixture) + ".json"))
    password_file = base / "vault-password"
    password_file.write_text(VAULT_PASSWORD + "\n")
    vaulted = _encrypt(DOMAIN_JOIN_PASSWORD, password_file, environment(base))
    hosts = [host_name(p) for p in preflight_fixtures()] + [MISSING_HOST]
    lines = ["windows:", "  hosts:"] + ["    %s:" % name for name in hosts] + [
        "  vars:",
        "    ansible_connection: local",
        "    ansible_python_interpreter: %s" % sys.executable,
        "    ansible_user: builder",
        "    ansible_password: %s" % WINRM_PASSWORD,
    ] + ["    " + line for line in vaulted.rstrip("\n").splitlines()]
    (base / "inventory.yml").write_text("\n".join(lines) + "\n")
    return base


@functools.lru_cache(maxsize=None)
def run_preflight(base, mode, report_name=None, extra=()):
    """Run the playbook in ``base``; mode is 'normal' or 'check'. Returns a result dict.

    Each mode writes its own report directory (report-normal, report-check) unless told otherwise.
    """
    base = workspace(base)
    report_name = report_name or "report-%s" % mode
    command = [str(ANSIBLE_PLAYBOOK), "-i", "inventory.yml", str(PLAYBOOK),
               "--vault-password-file", "vault-password",
               "-e", "preflight_facts_source=recorded",
               "-e", "preflight_recorded_facts_dir=facts",
               "-e", "preflight_report_dir=%s" % report_name] + list(extra)
    if mode == "check":
        command.append("--check")
    # check=False: a blocked host makes ansible-playbook exit 2, which the tests assert on.
    completed = subprocess.run(command, cwd=str(base), env=environment(base), capture_output=True,
                               text=True, timeout=600, check=False)
    try:
        output = json.loads(completed.stdout)
    except ValueError:
        raise AssertionError("ansible-playbook did not print JSON (rc=%d):\n%s\n%s"
                             % (completed.returncode, completed.stdout[-3000:], completed.stderr[-3000:]))
    return {
        "rc": completed.returncode,
        "stdout": completed.stdout,
        "stderr": completed.stderr,
        "output": output,
        "report_dir": base / report_name,
    }


def task_results(run, name_suffix):
    """host -> result of the task whose name ends with name_suffix."""
    for play in run["output"]["plays"]:
        for task in play["tasks"]:
            if task["task"]["name"].endswith(name_suffix):
                return task["hosts"]
    raise AssertionError("no task named ...%s in the run" % name_suffix)
