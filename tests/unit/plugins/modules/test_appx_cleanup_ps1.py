# Copyright: (c) 2026, winimage.generalize contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""appx_cleanup.ps1 read from its parse tree: it parses, does only what the plan says, and agrees
with the Python side (policy table, option defaults, plan keys).

There is no PowerShell here, so the module is checked statically with tree-sitter-powershell.
"""

from __future__ import annotations

import pathlib
import re

import tree_sitter
import tree_sitter_powershell
import yaml

from ansible_collections.winimage.generalize.plugins.module_utils import appx_cleanup

MODULES = pathlib.Path(__file__).resolve().parents[4] / "plugins" / "modules"
PS1 = MODULES / "appx_cleanup.ps1"
SIDECAR = MODULES / "appx_cleanup.yml"

# Every command the module runs. Writers are the two Appx removal cmdlets only; the policy
# values are written through RegistryKey.SetValue (checked below).
ALLOWED_COMMANDS = {
    "convertto-appxpackagedata", "convertto-json", "foreach-object", "get-appxchildscript",
    "get-appxpackage", "get-appxprovisionedpackage", "get-appxstate", "get-command", "get-policyvalue",
    "invoke-appxinchild", "invoke-appxplan", "invoke-appxrequest", "invoke-appxwork", "join-path", "new-object",
    "remove-appxpackage", "remove-appxprovisionedpackage", "remove-plannedpackage", "run-command", "select-object",
    "set-policyvalue", "test-appxinprocess", "where-object",
}


def parse(source: bytes):
    parser = tree_sitter.Parser(tree_sitter.Language(tree_sitter_powershell.language()))
    return parser.parse(source)


def walk(node):
    yield node
    for child in node.children:
        yield from walk(child)


def text(node) -> str:
    return node.text.decode("utf-8")


def source() -> str:
    return PS1.read_text(encoding="utf-8")


def commands(tree) -> list:
    names = []
    for node in walk(tree.root_node):
        if node.type == "command":
            name = node.child_by_field_name("command_name") or node.children[0]
            names.append(text(name).lower())
    return names


def sidecar_options():
    return yaml.safe_load(SIDECAR.read_text(encoding="utf-8"))["DOCUMENTATION"]["options"]


def test_module_parses_without_syntax_errors():
    tree = parse(PS1.read_bytes())
    errors = [n for n in walk(tree.root_node) if n.type == "ERROR" or n.is_missing]
    assert not errors, ["line %d: %s" % (n.start_point[0] + 1, text(n)[:80]) for n in errors]


def test_module_runs_only_known_commands():
    used = set(commands(parse(PS1.read_bytes())))
    assert used, "no command found: the parse-tree walk is broken"
    assert used <= ALLOWED_COMMANDS, sorted(used - ALLOWED_COMMANDS)


def test_removals_use_all_users_and_a_per_user_fallback():
    body = source()
    assert "Remove-AppxPackage -Package $target -AllUsers -ErrorAction Stop" in body
    assert "Remove-AppxPackage -Package $target -User $sid -ErrorAction Stop" in body
    assert "Parameters.ContainsKey('AllUsers')" in body
    # Provisioned packages are removed from the running OS only by the names the plan gives.
    assert "Remove-AppxProvisionedPackage -Online -PackageName $name -ErrorAction Stop" in body


def test_the_only_registry_writes_are_the_planned_policies():
    body = source()
    assert len(re.findall(r"\.SetValue\(", body)) == 1
    assert len(re.findall(r"\.CreateSubKey\(", body)) == 1
    assert re.search(r"foreach \(\$name in @\(\$plan\.policies\)\)", body)


def test_policy_table_mirrors_the_python_one():
    tables = dict(
        (name, (sub_key, value_name, int(data)))
        for name, sub_key, value_name, data in re.findall(
            r"(\w+) = @\{ SubKey = '([^']+)'; Name = '([^']+)'; Data = (\d+) \}", source()))
    expected = dict(
        (name, (policy["key"].replace("HKLM:\\", ""), policy["value_name"], policy["data"]))
        for name, policy in appx_cleanup.POLICIES.items())
    assert tables == expected


def test_documented_defaults_are_the_action_plugin_defaults():
    options = sidecar_options()
    documented = dict((name, spec.get("default")) for name, spec in options.items() if not name.startswith("_"))
    assert documented == appx_cleanup.OPTION_DEFAULTS
    assert options["protect"]["default"] == list(appx_cleanup.DEFAULT_PROTECT)


def test_plan_keys_the_python_side_sends_are_the_module_options():
    plan_options = sidecar_options()["_plan"]["suboptions"]
    sent = appx_cleanup.module_plan({"remove": [{"package_full_name": "a", "bundle_full_name": None,
                                                 "user_sids": []}], "deprovision": [], "policies": {}})
    assert set(sent) == set(plan_options)
    assert set(sent["remove_packages"][0]) == set(plan_options["remove_packages"]["suboptions"])
    assert set(plan_options["policies"]["choices"]) == set(appx_cleanup.POLICIES)


def test_child_script_carries_every_function_the_appx_work_calls():
    body = source()
    listed = re.search(r"\$names = @\(([^)]*)\)", body).group(1)
    carried = set(re.findall(r"'([\w-]+)'", listed))
    assert carried == {"ConvertTo-AppxPackageData", "Get-AppxState", "Remove-PlannedPackage", "Invoke-AppxPlan",
                       "Invoke-AppxWork"}
    for name in carried:
        assert re.search(r"^function %s \{" % re.escape(name), body, re.MULTILINE), name
