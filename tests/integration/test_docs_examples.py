# Copyright: (c) 2026, winimage.generalize contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The copy-paste examples of the guides, checked by Ansible itself.

A fenced ```yaml block right after a marker comment is an example someone will paste:

    <!-- syntax-check: playbook -->   ansible-playbook --syntax-check
    <!-- syntax-check: tasks -->      the tasks wrapped in a play, then --syntax-check
    <!-- syntax-check: inventory -->  ansible-inventory --list, failing on an unparsed source
    <!-- syntax-check: vars -->       a YAML mapping of variables

The example files under docs/examples/ and the collection's fleet playbooks are checked the same way.
"""

from __future__ import annotations

import json
import os
import pathlib
import re
import subprocess
import sys

import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
COLLECTIONS = ROOT / ".build" / "collections"
BIN = pathlib.Path(sys.executable).parent
GUIDES_WITH_EXAMPLES = ("targets-physical.md", "targets-vms.md", "targets-hyperv-hosts.md", "awx.md",
                        "fleet-refresh.md", "generalize-playbook.md")
_BLOCK = re.compile(r"<!--\s*syntax-check:\s*(?P<kind>\w+)\s*-->\s*\n```yaml\n(?P<body>.*?)\n```", re.DOTALL)
KINDS = ("playbook", "tasks", "inventory", "vars")


def examples():
    found = []
    for path in sorted(DOCS.glob("*.md")):
        text = path.read_text(encoding="utf-8")
        for number, match in enumerate(_BLOCK.finditer(text), 1):
            line = text.count("\n", 0, match.start()) + 2
            found.append(pytest.param(match.group("kind"), match.group("body"), id="%s:%d" % (path.name, line)))
    return found


def environment(tmp_path):
    env = dict(os.environ)
    env.update(ANSIBLE_COLLECTIONS_PATH=str(COLLECTIONS), ANSIBLE_HOME=str(tmp_path / "ansible-home"),
               ANSIBLE_LOCAL_TEMP=str(tmp_path / "ansible-local"), ANSIBLE_NOCOLOR="1",
               ANSIBLE_INVENTORY_UNPARSED_FAILED="true", ANSIBLE_DEPRECATION_WARNINGS="false")
    env.pop("ANSIBLE_CONFIG", None)
    return env


def syntax_check(playbook, tmp_path):
    completed = subprocess.run([str(BIN / "ansible-playbook"), "--syntax-check", "-i", "localhost,", str(playbook)],
                               cwd=str(tmp_path), env=environment(tmp_path), capture_output=True, text=True,
                               timeout=300, check=False)
    assert completed.returncode == 0, completed.stdout + completed.stderr


def inventory_hosts(inventory, tmp_path):
    completed = subprocess.run([str(BIN / "ansible-inventory"), "-i", str(inventory), "--list"],
                               cwd=str(tmp_path), env=environment(tmp_path), capture_output=True, text=True,
                               timeout=120, check=False)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    return json.loads(completed.stdout)["_meta"]["hostvars"]


@pytest.fixture(scope="module", autouse=True)
def collection_linked():
    if not (COLLECTIONS / "ansible_collections" / "winimage" / "generalize").exists():
        pytest.fail("the collection is not linked into %s: run `make setup` first" % COLLECTIONS)


def test_every_fleet_guide_has_checked_examples():
    counted = {}
    for param in examples():
        guide = param.id.split(":")[0]
        counted[guide] = counted.get(guide, 0) + 1
    for guide in GUIDES_WITH_EXAMPLES:
        assert counted.get(guide, 0) >= 1, "%s has no <!-- syntax-check: ... --> example" % guide


@pytest.mark.parametrize("kind, body", examples())
def test_example(kind, body, tmp_path):
    assert kind in KINDS, "unknown syntax-check kind %r (use one of %s)" % (kind, ", ".join(KINDS))
    loaded = yaml.safe_load(body)
    if kind == "vars":
        assert isinstance(loaded, dict) and loaded, "a vars example is a mapping of variables"
        return
    if kind == "inventory":
        path = tmp_path / "inventory.yml"
        path.write_text(body)
        assert inventory_hosts(path, tmp_path), "the inventory example defines no host"
        return
    if kind == "tasks":
        assert isinstance(loaded, list) and loaded, "a tasks example is a list of tasks"
        body = yaml.safe_dump([{"name": "Example", "hosts": "localhost", "gather_facts": False, "tasks": loaded}],
                              sort_keys=False)
    path = tmp_path / "playbook.yml"
    path.write_text(body)
    syntax_check(path, tmp_path)


EXAMPLE_INVENTORIES = sorted((DOCS / "examples").glob("inventory-*.yml"))
PLAYBOOKS = [ROOT / "playbooks" / name for name in ("generalize.yml", "refresh.yml", "awx_setup.yml")] + sorted(
    (DOCS / "examples" / "awx-project" / "playbooks").glob("*.yml"))


@pytest.mark.parametrize("inventory", EXAMPLE_INVENTORIES, ids=lambda p: p.name)
def test_example_inventories_parse_and_put_hosts_in_the_kind_groups(inventory, tmp_path):
    hosts = inventory_hosts(inventory, tmp_path)
    assert hosts
    completed = subprocess.run([str(BIN / "ansible-inventory"), "-i", str(inventory), "--graph"],
                               cwd=str(tmp_path), env=environment(tmp_path), capture_output=True, text=True,
                               timeout=120, check=True)
    assert re.search(r"@(physical|vms|hyperv_hosts):", completed.stdout)


def test_example_vm_inventory_names_a_hypervisor_for_every_vm(tmp_path):
    hosts = inventory_hosts(DOCS / "examples" / "inventory-vms.yml", tmp_path)
    vms = {name: variables for name, variables in hosts.items() if "hypervisor_kind" in variables}
    assert {variables["hypervisor_kind"] for variables in vms.values()} == {"hyperv", "vmware", "libvirt"}
    for name, variables in vms.items():
        if variables["hypervisor_kind"] != "vmware":
            assert variables.get("hypervisor_host") in hosts, name


@pytest.mark.parametrize("playbook", PLAYBOOKS, ids=lambda p: "/".join(p.parts[-2:]))
def test_playbooks_pass_syntax_check(playbook, tmp_path):
    syntax_check(playbook, tmp_path)


@pytest.mark.parametrize("inventory", EXAMPLE_INVENTORIES, ids=lambda p: p.name)
def test_generalize_targets_the_example_hosts(inventory, tmp_path):
    """--list-hosts shows the playbook picks every host of the kind groups, and no hypervisor host."""
    completed = subprocess.run([str(BIN / "ansible-playbook"), "-i", str(inventory), "--list-hosts",
                                str(ROOT / "playbooks" / "generalize.yml")], cwd=str(tmp_path),
                               env=environment(tmp_path), capture_output=True, text=True, timeout=300, check=False)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    hosts = inventory_hosts(inventory, tmp_path)
    first_play = completed.stdout.split("play #2")[0]
    for name, variables in hosts.items():
        is_target = "hypervisor_kind" in variables or "publish_family" in variables
        assert (name in first_play) == is_target, name
