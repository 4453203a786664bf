# Copyright: (c) 2026, winimage.generalize contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The molecule scenarios under extensions/molecule.

- offline: `molecule test -s offline` runs green here (disks built by the test-data builder).
- windows, hyperv, libvirt: without their environment they skip with a message naming every
  missing variable, and change nothing; the README documents every variable they read. The skip is
  proved once through molecule itself (windows) and for each playbook with ansible-playbook.
"""

from __future__ import annotations

import os
import pathlib
import re
import shutil
import subprocess
import sys

import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
MOLECULE = ROOT / "extensions" / "molecule"
COLLECTIONS = ROOT / ".build" / "collections"
BIN = pathlib.Path(sys.executable).parent
REAL_MACHINE_SCENARIOS = ("windows", "hyperv", "libvirt")
TOOLS = ("wimlib-imagex", "mkntfs", "qemu-img")

pytestmark = pytest.mark.slow


def environment(tmp_path, **extra):
    env = {key: value for key, value in os.environ.items() if not key.startswith(("WINIMAGE_TEST_", "MOLECULE_"))}
    env.update(PATH="%s:%s" % (BIN, env.get("PATH", "")), ANSIBLE_COLLECTIONS_PATH=str(COLLECTIONS),
               ANSIBLE_HOME=str(tmp_path / "ansible-home"), ANSIBLE_LOCAL_TEMP=str(tmp_path / "ansible-local"),
               ANSIBLE_NOCOLOR="1", NO_COLOR="1", ANSIBLE_DEPRECATION_WARNINGS="false",
               XDG_CACHE_HOME=str(tmp_path / "cache"))
    env.pop("ANSIBLE_CONFIG", None)
    env.update(extra)
    return env


def molecule(scenario, tmp_path):
    return subprocess.run([str(BIN / "molecule"), "test", "-s", scenario], cwd=str(ROOT),
                          env=environment(tmp_path), capture_output=True, text=True, timeout=900, check=False)


def required_env(scenario):
    """The variables a scenario's playbooks say they need (vars/main.yml or the playbooks)."""
    names = set()
    for path in (MOLECULE / scenario).rglob("*.yml"):
        text = path.read_text()
        names.update(re.findall(r"\b(WINIMAGE_TEST_[A-Z_]+)\b", text))
    return names


@pytest.fixture(scope="module", autouse=True)
def collection_linked():
    if not (COLLECTIONS / "ansible_collections" / "winimage" / "generalize").exists():
        pytest.fail("the collection is not linked into %s: run `make setup` first" % COLLECTIONS)


@pytest.mark.skipif(any(shutil.which(t) is None for t in TOOLS),
                    reason="needs wimlib-imagex, mkntfs and qemu-img (wimtools, ntfs-3g, qemu-utils)")
def test_offline_scenario_runs_green(tmp_path):
    completed = molecule("offline", tmp_path)
    output = completed.stdout + completed.stderr
    assert completed.returncode == 0, output[-4000:]
    for action in ("create", "converge", "verify", "destroy"):
        assert re.search(r"offline\W+%s: Executed: Successful" % action, output), action
    assert re.search(r"offline\s*: actions=5\s+successful=5 .*failed=0", output)


def test_windows_scenario_skips_through_molecule_without_its_environment(tmp_path):
    completed = molecule("windows", tmp_path)
    output = completed.stdout + completed.stderr
    assert completed.returncode == 0, output[-4000:]
    assert "SKIPPED: molecule scenario windows needs a real machine" in re.sub(r"\s+", " ", output)


def scenario_playbooks():
    for scenario in REAL_MACHINE_SCENARIOS:
        for path in sorted((MOLECULE / scenario).glob("*.yml")):
            if path.name != "molecule.yml":
                yield pytest.param(scenario, path, id="%s/%s" % (scenario, path.name))


@pytest.mark.parametrize("scenario, playbook", list(scenario_playbooks()))
def test_each_playbook_skips_naming_the_missing_variables(scenario, playbook, tmp_path):
    ephemeral = tmp_path / "ephemeral"
    ephemeral.mkdir()
    env = environment(tmp_path, MOLECULE_EPHEMERAL_DIRECTORY=str(ephemeral),
                      MOLECULE_SCENARIO_DIRECTORY=str(playbook.parent), MOLECULE_PROJECT_DIRECTORY=str(ROOT))
    completed = subprocess.run([str(BIN / "ansible-playbook"), "-i", str(MOLECULE / "shared" / "inventory" / "hosts.yml"),
                                str(playbook)], cwd=str(tmp_path), env=env, capture_output=True, text=True,
                               timeout=300, check=False)
    output = re.sub(r"\s+", " ", completed.stdout + completed.stderr)
    assert completed.returncode == 0, output[-3000:]
    assert "SKIPPED: molecule scenario %s needs a real machine" % scenario in output
    listed = re.search(r"which are not set: ([A-Z_, ]+)\.", output).group(1).split(", ")
    declared = yaml.safe_load((MOLECULE / scenario / "vars" / "main.yml").read_text())["molecule_required_env"] \
        if (MOLECULE / scenario / "vars" / "main.yml").exists() else None
    if declared:
        assert listed == declared
    recap = output.split("PLAY RECAP")[-1]
    hosts = re.findall(r"(\S+)\s*: ok=\d+", recap)
    assert hosts == ["localhost"], "a skipped scenario reached machines: %s" % hosts


@pytest.mark.parametrize("scenario", REAL_MACHINE_SCENARIOS)
def test_readme_documents_every_variable_a_scenario_reads(scenario):
    readme = (MOLECULE / "README.md").read_text()
    for name in required_env(scenario):
        short = re.sub(r"^(WINIMAGE_TEST_[A-Z]+)_", r"\1_", name)
        documented = name in readme or ("`_%s`" % name.rsplit("_", 1)[-1]) in readme
        assert documented, "%s reads %s, which extensions/molecule/README.md does not explain" % (scenario, short)


def test_every_scenario_has_its_playbooks():
    for scenario in ("offline",) + REAL_MACHINE_SCENARIOS:
        config = yaml.safe_load((MOLECULE / scenario / "molecule.yml").read_text())
        for action in config["scenario"]["test_sequence"]:
            if action in ("create", "converge", "verify", "destroy"):
                assert (MOLECULE / scenario / ("%s.yml" % action)).is_file(), (scenario, action)
