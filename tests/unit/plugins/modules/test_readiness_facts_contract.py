# Copyright: (c) 2026, winimage.generalize contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Contract of readiness_facts.ps1 with the facts schema, read from the parse tree.

There is no PowerShell here, so the module is checked statically with
tree-sitter-powershell:

* every section template (``New-EmptySection``) has exactly the schema's fields;
* every section has a probe, the probes only assign template fields, never a
  field the schema marks "Computed", and every other field is either assigned
  or declared in ``unavailable``;
* ``gather_subset``/``exclude`` accept exactly the section names;
* the module is read-only: every command it runs is on a list of readers,
  no method that writes the registry or files is called, and the only
  external programs are ``bcdedit /enum`` and the Appx child query.
"""

from __future__ import annotations

import pathlib
import re

import pytest
import tree_sitter
import tree_sitter_powershell
import yaml

from ansible_collections.winimage.generalize.plugins.module_utils import facts_schema

MODULES = pathlib.Path(__file__).resolve().parents[4] / "plugins" / "modules"
PS1 = MODULES / "readiness_facts.ps1"
SIDECAR = MODULES / "readiness_facts.yml"

SECTIONS = list(facts_schema.SECTIONS)

# Commands the module may run: readers, pipeline plumbing, in-memory object creation,
# Add-CSharpType (compiles the LSA reader into the module's temp directory) and
# Run-Command (its command lines are checked separately).
READ_ONLY_COMMANDS = {
    "add-csharptype", "foreach-object", "get-appxpackage", "get-appxprovisionedpackage", "get-bitlockervolume",
    "get-childitem", "get-ciminstance", "get-command", "get-content", "get-npsradiusclient", "get-process",
    "get-service", "get-vm", "get-vmhost", "get-vmsnapshot", "get-vmswitch", "get-windowsfeature",
    "get-windowsoptionalfeature", "invoke-cimmethod", "join-path", "new-object", "run-command", "select-object",
    "sort-object", "split-path", "test-path", "where-object",
}
# .NET members that write the registry, files or processes.
WRITING_METHODS = {
    "appendalllines", "appendalltext", "appendtext", "copy", "copyto", "create", "createdirectory", "createsubkey",
    "createtext", "delete", "deletesubkey", "deletesubkeytree", "deletevalue", "flush", "kill", "move", "moveto",
    "open", "openwrite", "replace", "save", "setaccesscontrol", "setattributes", "setvalue", "start", "stop",
    "writeallbytes", "writealllines", "writealltext",
}
# Type-qualified calls that are reads although their name is on the list above.
READING_STATIC_CALLS = {("xmlreader", "create"), ("ansiblemodule", "create")}
ALLOWED_COMMAND_LINES = (
    re.compile(r"^'bcdedit\.exe /enum \{current\}'$"),
    re.compile(r'^"`"\$powershell`" -NoProfile -NonInteractive -ExecutionPolicy Bypass -EncodedCommand \$encoded"$'),
)
LSA_ENTRY_POINTS = {"LsaOpenPolicy", "LsaQueryInformationPolicy", "LsaFreeMemory", "LsaClose", "LsaNtStatusToWinError"}


# ---------------------------------------------------------------------------
# Parse-tree helpers


def parse(source: bytes):
    parser = tree_sitter.Parser(tree_sitter.Language(tree_sitter_powershell.language()))
    return parser.parse(source)


def walk(node):
    yield node
    for child in node.children:
        yield from walk(child)


def text(node) -> str:
    return node.text.decode("utf-8")


def unquote(literal: str) -> str:
    if len(literal) >= 2 and literal[0] == literal[-1] and literal[0] in "'\"":
        return literal[1:-1]
    return literal


def functions(tree) -> dict:
    found = {}
    for node in walk(tree.root_node):
        if node.type == "function_statement":
            name = next(c for c in node.children if c.type == "function_name")
            found[text(name).lower()] = node
    return found


def hash_keys(hash_node) -> list:
    """Keys of a hash literal, in order, without descending into nested hash literals."""
    body = next((c for c in hash_node.children if c.type == "hash_literal_body"), None)
    if body is None:
        return []
    return [unquote(text(entry.child_by_field_name("key") or entry.children[0]))
            for entry in body.children if entry.type == "hash_entry"]


def hash_items(hash_node) -> dict:
    body = next((c for c in hash_node.children if c.type == "hash_literal_body"), None)
    items = {}
    for entry in (body.children if body is not None else []):
        if entry.type == "hash_entry":
            key = unquote(text(entry.children[0]))
            value = entry.children[-1]
            items[key] = value
    return items


def first(node, node_type):
    return next((n for n in walk(node) if n.type == node_type), None)


def assignment_hash(tree, variable: str):
    """The hash literal assigned to a script variable, e.g. ``$spec = @{...}``."""
    for node in walk(tree.root_node):
        if node.type == "assignment_expression" and text(node.children[0]).strip().lower() == variable.lower():
            return first(node.children[-1], "hash_literal_expression")
    raise AssertionError("no hash literal assigned to %s" % variable)


def string_array(node) -> list:
    return [unquote(text(s)) for s in walk(node) if s.type == "string_literal"]


def section_templates(tree) -> dict:
    """Section name -> field names, from the switch in New-EmptySection."""
    function = functions(tree)["new-emptysection"]
    templates = {}
    for clause in walk(function):
        if clause.type != "switch_clause":
            continue
        condition = text(clause.children[0]).strip()
        if condition == "default":
            continue
        templates[unquote(condition)] = hash_keys(first(clause, "hash_literal_expression"))
    return templates


def probe_table(tree) -> dict:
    table = assignment_hash(tree, "$sectionProbes")
    return {key: unquote(text(value).strip()) for key, value in hash_items(table).items()}


def assigned_fields(function_node) -> set:
    return set(re.findall(r"\$Section\.(\w+)\s*=(?!=)", text(function_node)))


def called_with_section(function_node, known_functions) -> set:
    """Helper functions a probe hands its section to (``Name -Section $Section``)."""
    called = set()
    for command in walk(function_node):
        if command.type != "command":
            continue
        name = first(command, "command_name")
        if name is not None and text(name).lower() in known_functions and "-Section $Section" in text(command):
            called.add(text(name).lower())
    return called


def probe_assignments(tree, probe: str) -> set:
    known = functions(tree)
    pending, seen, fields = [probe.lower()], set(), set()
    while pending:
        name = pending.pop()
        if name in seen:
            continue
        seen.add(name)
        fields |= assigned_fields(known[name])
        pending.extend(called_with_section(known[name], known))
    return fields


def unavailable_paths(source: str) -> set:
    return set(re.findall(r"\$unavailable\['([\w.]+)'\]\s*=", source))


def computed_fields(section: str) -> set:
    properties = facts_schema.SECTIONS[section]["properties"]
    return {name for name, schema in properties.items() if schema.get("description", "").startswith("Computed")}


def read_only_violations(source: bytes) -> list:
    """Everything in the source that could change the host, as readable messages."""
    tree = parse(source)
    own_functions = set(functions(tree))
    problems = []
    for node in walk(tree.root_node):
        if node.type == "command":
            name_node = first(node, "command_name")
            if name_node is None:
                continue  # `& $scriptblock` / `& $name`: checked through the probe table
            name = text(name_node).lower()
            elements = first(node, "command_elements")
            arguments = text(elements) if elements is not None else ""
            if name not in READ_ONLY_COMMANDS and name not in own_functions:
                problems.append("runs %s %s" % (text(name_node), arguments.strip()))
            if name == "invoke-cimmethod":
                method = re.search(r"-MethodName\s+'?(\w+)", arguments)
                if not method or not method.group(1).lower().startswith("get"):
                    problems.append("calls CIM method %s" % (method.group(1) if method else "?"))
            if name == "run-command":
                line = re.search(r"-command\s+(.+)$", arguments.strip(), re.DOTALL)
                if not line or not any(p.match(line.group(1).strip()) for p in ALLOWED_COMMAND_LINES):
                    problems.append("runs the command line %s" % arguments.strip())
        elif node.type == "invokation_expression":
            member = first(node, "member_name")
            if member is None:
                continue
            method = text(member).lower()
            receiver = text(node.children[0]).strip("[]").split(".")[-1].lower()
            if method in WRITING_METHODS and (receiver, method) not in READING_STATIC_CALLS:
                problems.append("calls %s" % text(node))
            if method == "opensubkey" and "," in text(first(node, "argument_list")):
                problems.append("opens a registry key with write access: %s" % text(node))
    return problems


@pytest.fixture(scope="module")
def source() -> bytes:
    return PS1.read_bytes()


@pytest.fixture(scope="module")
def tree(source):
    return parse(source)


@pytest.fixture(scope="module")
def sidecar() -> dict:
    return yaml.safe_load(SIDECAR.read_text(encoding="utf-8"))


# ---------------------------------------------------------------------------
# Grammar


def test_module_parses_without_grammar_errors(tree, source):
    lines = source.decode("utf-8").splitlines()
    errors = ["line %d: %s" % (n.start_point[0] + 1, lines[n.start_point[0]].strip())
              for n in walk(tree.root_node) if n.is_error or n.is_missing]
    assert not tree.root_node.has_error and errors == []


# ---------------------------------------------------------------------------
# Schema contract


def test_section_templates_have_exactly_the_schema_fields(tree):
    templates = section_templates(tree)

    assert list(templates) == SECTIONS
    for section in SECTIONS:
        assert templates[section] == list(facts_schema.SECTIONS[section]["properties"]), section


def test_every_section_has_a_defined_probe(tree):
    probes = probe_table(tree)
    known = functions(tree)

    assert list(probes) == SECTIONS
    for section, probe in probes.items():
        assert probe.lower() in known, "%s: probe %s is not defined" % (section, probe)
        assert "[System.Collections.IDictionary]$Section" in text(known[probe.lower()]), probe


def test_probes_assign_only_template_fields_and_never_computed_ones(tree):
    templates = section_templates(tree)
    for section, probe in probe_table(tree).items():
        assigned = probe_assignments(tree, probe)
        assert assigned, "%s assigns nothing" % probe
        assert assigned <= set(templates[section]), "%s assigns unknown fields %s" % (
            probe, sorted(assigned - set(templates[section])))
        assert not assigned & computed_fields(section), "%s sets a computed field" % probe


def test_every_field_is_read_computed_or_declared_unavailable(tree, source):
    unavailable = unavailable_paths(source.decode("utf-8"))
    for section, probe in probe_table(tree).items():
        assigned = probe_assignments(tree, probe)
        for field in facts_schema.SECTIONS[section]["properties"]:
            path = "%s.%s" % (section, field)
            assert field in assigned or field in computed_fields(section) or path in unavailable, (
                "%s is neither gathered by %s, computed, nor declared unavailable" % (path, probe))
    assert unavailable <= set(facts_schema.field_paths())


def test_document_header_matches_the_schema(tree, source):
    facts = assignment_hash(tree, "$facts")
    assert hash_keys(facts) == ["schema_version", "gatherer", "errors", "unavailable"]
    gatherer = hash_items(first(hash_items(facts)["gatherer"], "hash_literal_expression"))
    assert list(gatherer) == list(facts_schema.GATHERER["properties"])
    assert unquote(text(gatherer["kind"]).strip()) == "online"
    assert unquote(text(gatherer["name"]).strip()) == "winimage.generalize.readiness_facts"

    code = source.decode("utf-8")
    assert re.search(r"^\$schemaVersion = '%s'$" % re.escape(facts_schema.SCHEMA_VERSION), code, re.MULTILINE)
    assert re.search(r"^\$excludedReason = 'excluded by gather_subset'$", code, re.MULTILINE)
    assert "$module.Result.changed = $false" in code


# ---------------------------------------------------------------------------
# Options


def test_exclude_choices_are_the_section_names(tree):
    options = hash_items(first(hash_items(assignment_hash(tree, "$spec"))["options"], "hash_literal_expression"))
    exclude = hash_items(first(options["exclude"], "hash_literal_expression"))

    assert string_array(exclude["choices"]) == SECTIONS


def test_gather_subset_accepts_the_section_names_and_negations(tree, source):
    options = hash_items(first(hash_items(assignment_hash(tree, "$spec"))["options"], "hash_literal_expression"))
    gather_subset = hash_items(first(options["gather_subset"], "hash_literal_expression"))

    # Ansible.Basic would reject '!appx' against a choices list, so the module checks the
    # names itself, against the probe table's keys (= the schema sections, tested above).
    assert "choices" not in gather_subset
    assert string_array(gather_subset["default"]) == ["all"]
    code = source.decode("utf-8")
    assert "$sectionNames = [string[]]@($sectionProbes.Keys)" in code
    assert re.search(r"Resolve-GatherSubset -Requested @\(\$module\.Params\.gather_subset\) "
                     r"-Excluded @\(\$module\.Params\.exclude\) -Known \$sectionNames", code)


def test_sidecar_documents_the_same_options(sidecar):
    options = sidecar["DOCUMENTATION"]["options"]

    assert set(options) == {"gather_subset", "exclude"}
    assert options["exclude"]["choices"] == SECTIONS
    assert options["exclude"]["default"] == []
    assert options["gather_subset"]["default"] == ["all"]
    assert "choices" not in options["gather_subset"]
    described = " ".join(options["gather_subset"]["description"])
    for section in SECTIONS:
        assert "C(%s)" % section in described, section


def test_sidecar_attributes_are_those_of_a_read_only_windows_module(sidecar):
    attributes = sidecar["DOCUMENTATION"]["attributes"]

    assert attributes["check_mode"]["support"] == "full"
    assert attributes["diff_mode"]["support"] == "none"
    assert attributes["platform"]["platforms"] == ["windows"]
    assert "docs/facts.md" in " ".join(sidecar["RETURN"]["facts"]["description"])
    assert set(sidecar["RETURN"]["facts"]["contains"]) == {
        "schema_version", "gatherer", "errors", "unavailable", *SECTIONS}


# ---------------------------------------------------------------------------
# Read-only guarantee


def test_module_changes_nothing_on_the_host(source):
    assert read_only_violations(source) == []


def test_only_read_only_lsa_calls_are_compiled(source):
    code = source.decode("utf-8")
    csharp = re.search(r"\$lsaSource = @'\n(.*?)\n'@", code, re.DOTALL).group(1)

    assert set(re.findall(r"extern \w+ (\w+)\(", csharp)) == LSA_ENTRY_POINTS
    assert re.findall(r"LsaOpenPolicy\([^)]*\)", csharp.split("private static IntPtr Query")[1]) == [
        "LsaOpenPolicy(IntPtr.Zero, ref attributes, POLICY_VIEW_LOCAL_INFORMATION, out policy)"]


def test_appx_child_process_only_queries(tree):
    child_script = text(functions(tree)["get-appxchildscript"])
    here_string = re.search(r'@"\n(.*?)\n"@', child_script, re.DOTALL).group(1)

    commands = set(re.findall(r"\b([A-Z][A-Za-z]+-[A-Z][A-Za-z]+)\b", here_string))
    assert commands == {"Get-AppxPackage", "ForEach-Object", "ConvertTo-Json", "ConvertTo-AppxPackageFact"}


def test_secret_values_are_never_read(tree, source):
    code = source.decode("utf-8")
    autologon = text(functions(tree)["read-autologonfact"])

    # DefaultPassword is only looked up by name; answer file text is only tested for emptiness.
    assert "Test-MachineValue $winlogon 'DefaultPassword'" in autologon
    assert "Get-MachineValue $winlogon 'DefaultPassword'" not in code
    secret = text(functions(tree)["test-secretelement"])
    assert "return" in secret and "IsNullOrWhiteSpace" in secret
    reader = text(functions(tree)["read-answerfile"])
    assert ".Exception.Message" not in reader  # XML errors can quote file content


@pytest.mark.parametrize("snippet, expected", [
    ("Set-ItemProperty -Path HKLM:\\SOFTWARE\\X -Name Y -Value 1", "runs Set-ItemProperty"),
    ("Remove-Item -LiteralPath C:\\Windows\\Panther\\unattend.xml", "runs Remove-Item"),
    ("'x' | Out-File -FilePath C:\\x.txt", "runs Out-File"),
    ("$key.SetValue('SkipRearm', 0)", "calls $key.SetValue"),
    ("[System.IO.File]::WriteAllText('C:\\x', 'y')", "calls [System.IO.File]::WriteAllText"),
    ("$machineHive.OpenSubKey('SOFTWARE\\X', $true)", "opens a registry key with write access"),
    ("Invoke-CimMethod -InputObject $s -MethodName ReArmWindows", "calls CIM method ReArmWindows"),
    ("$r = Run-Command -command 'bcdedit.exe /set {current} hypervisorlaunchtype off'", "runs the command line"),
    ("bcdedit.exe /deletevalue {current} hypervisorlaunchtype", "runs bcdedit.exe"),
])
def test_read_only_check_catches_writes(snippet, expected):
    problems = read_only_violations(snippet.encode("utf-8"))
    assert any(problem.startswith(expected) for problem in problems), problems


def test_read_only_check_accepts_reads():
    snippet = (b"$key = $machineHive.OpenSubKey('SOFTWARE\\X')\n"
               b"$reader = [System.Xml.XmlReader]::Create($stream, $settings)\n"
               b"$disk = Get-CimInstance -ClassName Win32_LogicalDisk\n"
               b"$c = Invoke-CimMethod -InputObject $v -MethodName GetConversionStatus\n")
    assert read_only_violations(snippet) == []


def test_contract_helpers_catch_a_misspelled_field():
    snippet = (b"function New-EmptySection { param([string]$Name)\n switch ($Name) {\n"
               b" 'disk' { [ordered]@{ system_drive = $null; free_bytes = $null } }\n } }\n"
               b"function Read-DiskFact { param([System.Collections.IDictionary]$Section)\n"
               b" $Section.system_drive = 'C:'\n $Section.free_byte = 1\n}\n")
    tree = parse(snippet)

    assert section_templates(tree) == {"disk": ["system_drive", "free_bytes"]}
    assert probe_assignments(tree, "Read-DiskFact") - set(section_templates(tree)["disk"]) == {"free_byte"}
