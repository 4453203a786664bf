# Copyright: (c) 2026, winimage.generalize contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""driver_export.ps1 read from its parse tree: it parses, runs only known commands, lists
third-party drivers only, and swaps a complete export in (statically; there is no PowerShell here).
The comparison fields are checked against module_utils/driver_store.py in test_driver_store.py.
"""

from __future__ import annotations

import pathlib
import re

import tree_sitter
import tree_sitter_powershell

PS1 = pathlib.Path(__file__).resolve().parents[4] / "plugins" / "modules" / "driver_export.ps1"

ALLOWED_COMMANDS = {
    "add-type", "convertto-json", "export-driverpackage", "export-windowsdriver", "foreach-object",
    "get-command", "get-driveridentity", "get-identityline", "get-thirdpartydriver", "get-windowsdriver",
    "join-path", "move-item", "new-item", "new-object", "publish-archive", "publish-export", "read-manifest",
    "remove-item", "remove-tree", "resolve-exportmethod", "run-command", "sort-object", "split-path", "test-path",
    "where-object", "write-manifest",
}


def walk(node):
    yield node
    for child in node.children:
        yield from walk(child)


def tree():
    parser = tree_sitter.Parser(tree_sitter.Language(tree_sitter_powershell.language()))
    return parser.parse(PS1.read_bytes())


def test_module_parses_without_syntax_errors():
    errors = [n for n in walk(tree().root_node) if n.type == "ERROR" or n.is_missing]
    assert not errors, ["line %d" % (n.start_point[0] + 1) for n in errors]


def test_module_runs_only_known_commands():
    used = set()
    for node in walk(tree().root_node):
        if node.type == "command":
            name = node.child_by_field_name("command_name") or node.children[0]
            used.add(name.text.decode("utf-8").lower())
    assert "get-windowsdriver" in used and "export-windowsdriver" in used
    assert used <= ALLOWED_COMMANDS, sorted(used - ALLOWED_COMMANDS)


def test_lists_third_party_drivers_only_and_exports_them_with_either_method():
    body = PS1.read_text(encoding="utf-8")
    assert re.search(r"Get-WindowsDriver -Online \|", body)
    assert "-All" not in re.search(r"Get-WindowsDriver[^\n]*", body).group(0)
    assert "Export-WindowsDriver -Online -Destination $Directory" in body
    assert '/export-driver * `"$Directory`"' in body


def test_removals_stay_inside_the_export_and_the_archive():
    body = PS1.read_text(encoding="utf-8")
    removed = re.findall(r"Remove-Tree -Path (\$\w+)", body)
    assert set(removed) == {"$partial", "$previous", "$archivePath"}
    assert '$partial = "$destination.partial"' in body and '$previous = "$destination.previous"' in body
    assert '$partial = "$archivePath.partial"' in body
