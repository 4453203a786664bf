# Copyright: (c) 2026, winimage.generalize contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Contract check for the collection's PowerShell code, without pwsh.

ansible-test reads a PowerShell module's argument spec by running it under
pwsh, which these machines do not have. This check reads the same facts from
the tree-sitter-powershell parse tree instead and holds every module to the
house style:

* every ``plugins/modules/*.ps1`` and ``plugins/module_utils/*.psm1`` parses
  (grammar gaps forgiven only through ``ps_grammar_allowlist.yml``) and
  carries the GPL-3.0-or-later header;
* a module starts with ``#!powershell``, requires ``Ansible.Basic``, builds
  ``[Ansible.Basic.AnsibleModule]::Create($args, $spec)`` from one literal
  ``$spec`` hashtable, and that spec agrees with the ``NAME.yml`` sidecar's
  DOCUMENTATION options (names, type, default, choices, required, aliases,
  elements, nested options) and check-mode attribute; options that look like
  secrets declare ``no_log``.

Usage: ``python tests/quality/ps_contract.py [--root COLLECTION_ROOT] [FILE...]``.
Exit status 1 when a problem is found; each problem names file, line,
option and mismatch.
"""

from __future__ import annotations

import argparse
import dataclasses
import fnmatch
import json
import os
import pathlib
import re
import sys
import typing as t

import yaml

HERE = pathlib.Path(__file__).resolve().parent
ALLOWLIST_PATH = HERE / 'ps_grammar_allowlist.yml'

MODULE_GLOB = 'plugins/modules/*.ps1'
MODULE_UTIL_GLOB = 'plugins/module_utils/*.psm1'

SHEBANG = '#!powershell'
GPL_LINE = re.compile(r'^#\s*GNU General Public License v3\.0\+', re.MULTILINE)
COPYRIGHT_LINE = re.compile(r'^#\s*Copyright:?\s*\(c\)', re.MULTILINE | re.IGNORECASE)
REQUIRES_ANSIBLE_BASIC = re.compile(r'^#\s*AnsibleRequires\s+-CSharpUtil\s+Ansible\.Basic\s*$',
                                    re.MULTILINE | re.IGNORECASE)

# Keys Ansible.Basic understands (lib/ansible/module_utils/csharp/Ansible.Basic.cs).
TOP_LEVEL_KEYS = {
    'options', 'supports_check_mode', 'mutually_exclusive', 'required_by', 'required_if',
    'required_one_of', 'required_together', 'no_log',
}
OPTION_KEYS = {
    'aliases', 'apply_defaults', 'choices', 'default', 'deprecated_aliases', 'elements', 'mutually_exclusive',
    'no_log', 'options', 'removed_at_date', 'removed_from_collection', 'removed_in_version', 'required',
    'required_by', 'required_if', 'required_one_of', 'required_together', 'type',
}
# Ansible.Basic types that document as another type (none today: the docs
# schema knows 'sid'); kept so a future alias is one line.
DOC_TYPE_OF_PS_TYPE: dict = {}

# Ansible warns when an option named like a password is not no_log; the
# project also treats these names as secrets (brief: secrets never in output).
SECRET_NAME = re.compile(
    r'^(?:.+[-_\s])?(?:pass(?:[-_\s]?(?:word|phrase|wrd|wd))?|secret|token|credential|private_?key|api_?key)'
    r'(?:[-_\s].+)?$',
    re.IGNORECASE,
)

# Expression nodes that only wrap one child in this grammar.
WRAPPER_NODES = {
    'pipeline', 'pipeline_chain', 'logical_expression', 'bitwise_expression', 'comparison_expression',
    'additive_expression', 'multiplicative_expression', 'format_expression', 'range_expression',
    'array_literal_expression', 'unary_expression', 'argument_expression', 'logical_argument_expression',
    'bitwise_argument_expression', 'comparison_argument_expression', 'additive_argument_expression',
    'multiplicative_argument_expression', 'format_argument_expression', 'range_argument_expression',
    'left_assignment_expression', 'key_expression', 'parenthesized_expression', 'sub_expression',
}


@dataclasses.dataclass(frozen=True)
class Problem:
    """One contract violation, printable as a compiler-style message."""

    path: str
    line: int
    message: str
    option: t.Optional[str] = None

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else self.path
        option = f" option '{self.option}':" if self.option else ''
        return f"{where}:{option} {self.message}"


class NonLiteral:
    """A spec value the parse tree cannot evaluate (a variable, a call ...)."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return f'<not a literal: {self.text}>'


# --------------------------------------------------------------------------
# Parsing


def _parser():
    # Imported lazily so `--help` works without the grammar installed.
    import tree_sitter
    import tree_sitter_powershell

    return tree_sitter.Parser(tree_sitter.Language(tree_sitter_powershell.language()))


def parse(source: bytes):
    """Return the tree-sitter tree of PowerShell source."""
    return _parser().parse(source)


@dataclasses.dataclass(frozen=True)
class AllowedGap:
    id: str
    pattern: re.Pattern
    reason: str
    example: str


def load_allowlist(path: pathlib.Path = ALLOWLIST_PATH) -> list[AllowedGap]:
    entries = yaml.safe_load(path.read_text(encoding='utf-8')) or []
    return [AllowedGap(e['id'], re.compile(e['pattern'], re.IGNORECASE), e['reason'], e['example']) for e in entries]


def _error_nodes(node) -> t.Iterator:
    if node.is_error or node.is_missing:
        yield node
        return
    for child in node.children:
        if child.has_error or child.is_missing:
            yield from _error_nodes(child)


def _forgiving_gap(error, lines: list[str], allowlist: list[AllowedGap]) -> t.Optional[AllowedGap]:
    """The allow-list entry that explains a grammar error, if any.

    Only errors confined to one line qualify, and the error must overlap the
    construct the entry describes (so other mistakes on that line still count).
    """
    (row, column), (end_row, end_column) = error.start_point, error.end_point
    if '\n' in _text(error).rstrip():
        return None
    line = lines[row] if row < len(lines) else ''
    end_column = end_column if end_row == row else len(line)
    for gap in allowlist:
        for match in gap.pattern.finditer(line):
            if match.start() <= max(end_column, column + 1) and column <= match.end():
                return gap
    return None


def syntax_problems(path: str, source: bytes, tree, allowlist: list[AllowedGap]) -> list[Problem]:
    """Grammar errors not explained by the allow-list."""
    if not tree.root_node.has_error:
        return []
    lines = source.decode('utf-8', errors='replace').splitlines()
    problems = []
    for error in _error_nodes(tree.root_node):
        if _forgiving_gap(error, lines, allowlist):
            continue
        row, column = error.start_point
        text = lines[row].strip() if row < len(lines) else ''
        kind = f"missing '{error.type}'" if error.is_missing else 'syntax error'
        problems.append(Problem(path, row + 1, f"{kind} at column {column + 1} (tree-sitter-powershell): {text[:80]}"))
    return problems


# --------------------------------------------------------------------------
# Literal evaluation of the parse tree


def _text(node) -> str:
    return node.text.decode('utf-8', errors='replace')


def unwrap(node):
    """Skip the single-child precedence layers of an expression."""
    while node is not None and node.type in WRAPPER_NODES:
        named = [c for c in node.children if c.is_named]
        if len(named) != 1 or (node.type == 'array_literal_expression' and ',' in [c.type for c in node.children]):
            break
        node = named[0]
    return node


_EXPANDABLE_ESCAPES = {'0': '\0', 'a': '\a', 'b': '\b', 'f': '\f', 'n': '\n', 'r': '\r', 't': '\t', 'v': '\v'}


def _string_value(node) -> t.Any:
    literal = node.named_children[0] if node.named_children else node
    raw = _text(literal)
    if literal.type == 'verbatim_string_characters':
        return raw[1:-1].replace("''", "'")
    if literal.type == 'verbatim_here_string_characters':
        return raw[2:-2].strip('\r\n')
    if any(child.type in ('variable', 'sub_expression') for child in literal.named_children) or '$(' in raw:
        return NonLiteral(raw)
    body = raw[2:-2].strip('\r\n') if literal.type == 'expandable_here_string_literal' else raw[1:-1]
    return re.sub(r'`(.)', lambda m: _EXPANDABLE_ESCAPES.get(m.group(1), m.group(1)), body.replace('""', '"'))


def _number_value(node) -> t.Any:
    text = _text(node).lower()
    multipliers = {'kb': 1024, 'mb': 1024 ** 2, 'gb': 1024 ** 3, 'tb': 1024 ** 4, 'pb': 1024 ** 5}
    factor = 1
    if text[-2:] in multipliers:
        factor, text = multipliers[text[-2:]], text[:-2]
    text = text.rstrip('ld')
    try:
        value = int(text, 16) if text.startswith('0x') else (float(text) if node.type == 'real_literal' else int(text))
    except ValueError:
        return NonLiteral(_text(node))
    return value * factor


def _array_items(node) -> list:
    """Items of `a, b`, `@(a, b)` or `@()` as Python values."""
    if node.type == 'array_expression':
        statements = [c for c in node.named_children if c.type == 'statement_list']
        if not statements:
            return []
        pipelines = statements[0].named_children
        if len(pipelines) != 1:  # several statements: each is one item
            return [literal_value(p) for p in pipelines]
        # @(x) is x when x is already an array, else an array holding x.
        value = literal_value(pipelines[0])
        return value if isinstance(value, list) else [value]
    return [literal_value(c) for c in node.named_children]


def hash_entries(node) -> list[tuple[str, t.Any, t.Any]]:
    """(key, value node, entry node) of a hash literal, in source order."""
    body = [c for c in node.named_children if c.type == 'hash_literal_body']
    entries = []
    for entry in body[0].named_children if body else []:
        if entry.type != 'hash_entry':
            continue
        key_node = unwrap(entry.child_by_field_name('key') or entry.named_children[0])
        key = literal_value(key_node) if key_node.type == 'string_literal' else _text(key_node)
        value_node = entry.named_children[-1]
        entries.append((str(key), value_node, entry))
    return entries


def literal_value(node) -> t.Any:
    """Evaluate a constant PowerShell expression; NonLiteral when it is not one."""
    node = unwrap(node)
    kind = node.type
    if kind == 'hash_literal_expression':
        return {key: literal_value(value) for key, value, _entry in hash_entries(node)}
    if kind in ('array_expression', 'array_literal_expression'):
        return _array_items(node)
    if kind == 'string_literal':
        return _string_value(node)
    if kind in ('integer_literal', 'real_literal'):
        return _number_value(node.named_children[0] if node.named_children else node)
    if kind == 'variable':
        return {'$true': True, '$false': False, '$null': None}.get(_text(node).lower(), NonLiteral(_text(node)))
    if kind == 'simple_name':
        return _text(node)
    if kind == 'expression_with_unary_operator':
        children = node.children
        if len(children) == 2 and children[0].type == ',':
            return [literal_value(children[1])]  # unary comma: an array of one item
        if len(children) == 2 and children[0].type in ('-', '+'):
            operand = literal_value(children[1])
            if isinstance(operand, (int, float)) and not isinstance(operand, bool):
                return -operand if children[0].type == '-' else operand
    return NonLiteral(_text(node))


def _walk(node) -> t.Iterator:
    yield node
    for child in node.children:
        yield from _walk(child)


# --------------------------------------------------------------------------
# Finding the module's spec


@dataclasses.dataclass
class ModuleSpec:
    spec: dict
    line: int
    option_lines: dict


def _create_calls(tree) -> list:
    calls = []
    for node in _walk(tree.root_node):
        if node.type != 'invokation_expression':
            continue
        type_literal = next((c for c in node.children if c.type == 'type_literal'), None)
        member = next((c for c in node.children if c.type == 'member_name'), None)
        if type_literal is None or member is None:
            continue
        type_name = _text(type_literal).strip('[]').replace(' ', '').lower()
        if type_name == 'ansible.basic.ansiblemodule' and _text(member).lower() == 'create':
            calls.append(node)
    return calls


def _call_arguments(call) -> list:
    arguments = next((c for c in call.children if c.type == 'argument_list'), None)
    expression_list = next((c for c in arguments.named_children if c.type == 'argument_expression_list'), None) \
        if arguments is not None else None
    return [unwrap(a) for a in expression_list.named_children] if expression_list is not None else []


def _option_lines(hash_node, prefix: str = '') -> dict:
    """Source line of every option (dotted path for nested options)."""
    lines = {}
    for key, value, entry in hash_entries(hash_node):
        if key.lower() != 'options':
            continue
        options = unwrap(value)
        if options.type != 'hash_literal_expression':
            continue
        for name, option_value, option_entry in hash_entries(options):
            dotted = f'{prefix}{name}'
            lines[dotted] = option_entry.start_point[0] + 1
            option_node = unwrap(option_value)
            if option_node.type == 'hash_literal_expression':
                lines.update(_option_lines(option_node, dotted + '.'))
    return lines


def find_module_spec(path: str, tree) -> tuple[t.Optional[ModuleSpec], list[Problem]]:
    """The literal hashtable given to AnsibleModule::Create, or the problems preventing that."""
    calls = _create_calls(tree)
    if not calls:
        return None, [Problem(path, 0, 'no [Ansible.Basic.AnsibleModule]::Create($args, $spec) call found')]
    call = calls[0]
    line = call.start_point[0] + 1
    arguments = _call_arguments(call)
    if len(arguments) != 2:
        return None, [Problem(path, line, f'Create() takes {len(arguments)} argument(s); use exactly ($args, $spec) '
                                          'with one literal $spec so the spec can be checked without pwsh')]
    spec_argument = arguments[1]
    if spec_argument.type != 'variable':
        return None, [Problem(path, line, 'the spec given to Create() must be a variable holding a literal hashtable')]
    spec_name = _text(spec_argument).lower()

    assignments, mutations = [], []
    for node in _walk(tree.root_node):
        if node.type != 'assignment_expression':
            continue
        target = unwrap(node.named_children[0])
        target_text = _text(target).lower()
        if target.type == 'variable' and target_text == spec_name:
            assignments.append(node)
        elif target_text.startswith(spec_name + '.') or target_text.startswith(spec_name + '['):
            mutations.append(node)
    for node in _walk(tree.root_node):
        # $spec.options.Add(...) / $spec.Remove(...) change the spec too.
        if node.type == 'invokation_expression' and node.named_children and \
                _text(node.named_children[0]).lower() == spec_name and node.start_point[0] + 1 != line:
            mutations.append(node)
    problems = [Problem(path, m.start_point[0] + 1, f'{_text(spec_argument)} is changed after it is built; keep the '
                                                    'whole spec in one literal hashtable') for m in mutations]
    if len(assignments) != 1:
        problems.append(Problem(path, line, f'{_text(spec_argument)} must be assigned exactly once '
                                            f'(found {len(assignments)} assignments)'))
        return None, problems
    value = unwrap(assignments[0].named_children[-1])
    if value.type != 'hash_literal_expression':
        problems.append(Problem(path, assignments[0].start_point[0] + 1,
                                f'{_text(spec_argument)} must be a literal hashtable @{{ ... }}'))
        return None, problems
    spec = literal_value(value)
    return ModuleSpec(spec, assignments[0].start_point[0] + 1, _option_lines(value)), problems


# --------------------------------------------------------------------------
# Sidecar documentation


_PLUGIN_LOADER_READY = []


def _add_doc_fragments(doc: dict, sidecar: pathlib.Path) -> None:
    from ansible.plugins.loader import fragment_loader, init_plugin_loader
    from ansible.utils.plugin_docs import add_fragments

    if not _PLUGIN_LOADER_READY:
        # Collection fragments resolve through ANSIBLE_COLLECTIONS_PATH, as in ansible-doc.
        init_plugin_loader()
        _PLUGIN_LOADER_READY.append(True)

    add_fragments(doc, str(sidecar), fragment_loader=fragment_loader, is_module=True)


def load_sidecar(path: str, sidecar: pathlib.Path) -> tuple[t.Optional[dict], list[Problem]]:
    """DOCUMENTATION of a module sidecar with its doc fragments merged in."""
    if not sidecar.is_file():
        return None, [Problem(path, 0, f'docs sidecar {sidecar.name} is missing (house style: NAME.ps1 + NAME.yml)')]
    shown = f'{pathlib.Path(path).parent}/{sidecar.name}'
    try:
        data = yaml.safe_load(sidecar.read_text(encoding='utf-8'))
    except yaml.YAMLError as error:
        return None, [Problem(shown, 0, f'is not valid YAML: {error}')]
    doc = data.get('DOCUMENTATION') if isinstance(data, dict) else None
    if isinstance(doc, str):
        doc = yaml.safe_load(doc)
    if not isinstance(doc, dict):
        return None, [Problem(shown, 0, 'has no DOCUMENTATION mapping')]
    if doc.get('extends_documentation_fragment'):
        try:
            _add_doc_fragments(doc, sidecar)
        except Exception as error:  # any loader failure is a documentation problem to report, not a crash
            return None, [Problem(shown, 0, f'extends_documentation_fragment cannot be resolved: {error}')]
    return doc, []


# --------------------------------------------------------------------------
# Comparing spec and documentation


def _doc_type(value: t.Any) -> str:
    return DOC_TYPE_OF_PS_TYPE.get(value, value) if isinstance(value, str) else value


def _normalise(value: t.Any, option_type: t.Optional[str]) -> t.Any:
    """Bring a spec or doc value to one comparable form for the option type."""
    if isinstance(value, list):
        return [_normalise(v, None) for v in value]
    if option_type == 'bool' and isinstance(value, str):
        lowered = value.lower()
        if lowered in ('yes', 'true', 'on', '1'):
            return True
        if lowered in ('no', 'false', 'off', '0'):
            return False
    if option_type in ('int', 'float') and isinstance(value, str):
        try:
            return int(value) if option_type == 'int' else float(value)
        except ValueError:
            return value
    if option_type in ('str', 'path', None) and isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    return value


def _show(value: t.Any) -> str:
    return json.dumps(value, default=repr) if not isinstance(value, NonLiteral) else repr(value)


def _compare_option(report, name: str, spec: dict, doc: dict) -> None:
    if not isinstance(spec, dict):
        report(name, f'$spec entry is not a hashtable: {_show(spec)}')
        return
    lowered = {str(k).lower(): v for k, v in spec.items()}
    for key in sorted(set(lowered) - OPTION_KEYS):
        report(name, f"$spec has unknown key '{key}' (Ansible.Basic would reject the spec)")

    spec_type = lowered.get('type', 'str')
    if isinstance(spec_type, NonLiteral):
        spec_type = 'raw'  # a converter scriptblock; ps_argspec.ps1 reports these as raw too
    doc_type = doc.get('type', 'str')
    if _doc_type(spec_type) != doc_type:
        report(name, f"type differs: $spec has '{spec_type}', sidecar has '{doc_type}'")
    option_type = doc_type

    if bool(lowered.get('required', False)) != bool(doc.get('required', False)):
        report(name, f"required differs: $spec has {bool(lowered.get('required', False))}, "
                     f"sidecar has {bool(doc.get('required', False))}")

    spec_default = lowered.get('default')
    if not isinstance(spec_default, NonLiteral):
        ps_default = _normalise(spec_default, option_type)
        doc_default = _normalise(doc.get('default'), option_type)
        if ps_default != doc_default:
            report(name, f'default differs: $spec has {_show(spec_default)}, sidecar has {_show(doc.get("default"))}')

    spec_choices, doc_choices = lowered.get('choices'), doc.get('choices')
    if spec_choices is not None or doc_choices is not None:
        elements = doc.get('elements') if option_type == 'list' else option_type
        if isinstance(doc_choices, dict):  # choices documented with a description each
            doc_choices = list(doc_choices)
        ps_set = sorted(map(_show, _normalise(list(spec_choices or []), elements)))
        doc_set = sorted(map(_show, _normalise(list(doc_choices or []), elements)))
        if ps_set != doc_set:
            report(name, f'choices differ: $spec has [{", ".join(ps_set)}], sidecar has [{", ".join(doc_set)}]')

    spec_aliases = sorted(map(str, lowered.get('aliases') or []))
    doc_aliases = sorted(map(str, doc.get('aliases') or []))
    if spec_aliases != doc_aliases:
        report(name, f'aliases differ: $spec has {spec_aliases}, sidecar has {doc_aliases}')

    spec_elements = lowered.get('elements')
    if _doc_type(spec_elements) != doc.get('elements'):
        report(name, f"elements differs: $spec has {_show(spec_elements)}, sidecar has {_show(doc.get('elements'))}")

    leaf = name.rsplit('.', 1)[-1]
    if SECRET_NAME.match(leaf) and 'no_log' not in lowered:
        report(name, 'looks like a secret but $spec does not set no_log (set no_log = $true, or $false '
                     'if it is not secret)')

    spec_suboptions = lowered.get('options')
    doc_suboptions = doc.get('suboptions')
    if spec_suboptions is not None or doc_suboptions is not None:
        _compare_options(report, spec_suboptions or {}, doc_suboptions or {}, prefix=name + '.')


def _compare_options(report, spec_options: t.Any, doc_options: t.Any, prefix: str = '') -> None:
    if not isinstance(spec_options, dict):
        report(prefix.rstrip('.') or None, f'$spec options is not a literal hashtable: {_show(spec_options)}')
        return
    doc_options = doc_options if isinstance(doc_options, dict) else {}
    for name in sorted(set(spec_options) - set(doc_options)):
        report(prefix + name, 'is in $spec but not documented in the sidecar')
    for name in sorted(set(doc_options) - set(spec_options)):
        report(prefix + name, 'is documented in the sidecar but missing from $spec')
    for name in sorted(set(spec_options) & set(doc_options)):
        _compare_option(report, prefix + name, spec_options[name], doc_options[name] or {})


def _check_mode_problems(report, spec: dict, doc: dict) -> None:
    attributes = doc.get('attributes') if isinstance(doc.get('attributes'), dict) else {}
    check_mode = attributes.get('check_mode')
    if not isinstance(check_mode, dict) or 'support' not in check_mode:
        report(None, 'sidecar lacks attributes.check_mode.support (full, partial or none)')
        return
    support = check_mode['support']
    declared = spec.get('supports_check_mode', False) is True
    if support in ('full', 'partial') and not declared:
        report(None, f"sidecar says check_mode support is '{support}' but $spec does not set "
                     'supports_check_mode = $true')
    if support == 'none' and declared:
        report(None, "$spec sets supports_check_mode = $true but the sidecar says check_mode support is 'none'")


def compare_spec_with_docs(path: str, module_spec: ModuleSpec, doc: dict) -> list[Problem]:
    problems: list[Problem] = []
    spec = module_spec.spec

    def report(option: t.Optional[str], message: str) -> None:
        line = module_spec.option_lines.get(option or '', module_spec.line)
        problems.append(Problem(path, line, message, option))

    for key in sorted({str(k).lower() for k in spec} - TOP_LEVEL_KEYS):
        report(None, f"$spec has unknown top-level key '{key}'")
    _compare_options(report, spec.get('options', {}), doc.get('options', {}))
    _check_mode_problems(report, spec, doc)
    return problems


# --------------------------------------------------------------------------
# Per-file checks


def _header_problems(path: str, text: str) -> list[Problem]:
    head = '\n'.join(text.splitlines()[:15])
    if COPYRIGHT_LINE.search(head) and GPL_LINE.search(head):
        return []
    return [Problem(path, 1, 'missing the copyright + GPL-3.0-or-later header in the first 15 lines')]


def check_module_util(root: pathlib.Path, path: pathlib.Path, allowlist: list[AllowedGap]) -> list[Problem]:
    shown = path.relative_to(root).as_posix() if path.is_relative_to(root) else str(path)
    source = path.read_bytes()
    return syntax_problems(shown, source, parse(source), allowlist) + \
        _header_problems(shown, source.decode('utf-8', errors='replace'))


def check_module(root: pathlib.Path, path: pathlib.Path, allowlist: list[AllowedGap]) -> list[Problem]:
    shown = path.relative_to(root).as_posix() if path.is_relative_to(root) else str(path)
    source = path.read_bytes()
    text = source.decode('utf-8', errors='replace')
    tree = parse(source)
    problems = syntax_problems(shown, source, tree, allowlist)
    if not text.startswith(SHEBANG + '\n') and not text.startswith(SHEBANG + '\r\n'):
        problems.append(Problem(shown, 1, f'first line must be exactly "{SHEBANG}"'))
    problems += _header_problems(shown, text)
    if not REQUIRES_ANSIBLE_BASIC.search(text):
        problems.append(Problem(shown, 0, 'does not use Ansible.Basic: add "#AnsibleRequires -CSharpUtil Ansible.Basic"'))
    module_spec, spec_problems = find_module_spec(shown, tree)
    problems += spec_problems
    doc, doc_problems = load_sidecar(shown, path.with_suffix('.yml'))
    problems += doc_problems
    if module_spec is not None and doc is not None:
        problems += compare_spec_with_docs(shown, module_spec, doc)
    return problems


def collection_files(root: pathlib.Path) -> list[pathlib.Path]:
    return sorted(root.glob(MODULE_GLOB)) + sorted(root.glob(MODULE_UTIL_GLOB))


def check_paths(root: pathlib.Path, paths: t.Iterable[pathlib.Path]) -> list[Problem]:
    allowlist = load_allowlist()
    problems: list[Problem] = []
    for path in paths:
        if fnmatch.fnmatch(path.name, '*.psm1'):
            problems += check_module_util(root, path, allowlist)
        else:
            problems += check_module(root, path, allowlist)
    return problems


def module_argument_spec(path: pathlib.Path) -> dict:
    """The spec as ansible-test's ps_argspec.ps1 would print it (used by validate_ps_modules.py)."""
    module_spec, problems = find_module_spec(str(path), parse(path.read_bytes()))
    if module_spec is None:
        raise ValueError('; '.join(map(str, problems)))

    def plain(value: t.Any) -> t.Any:
        if isinstance(value, dict):
            return {k: ('raw' if k == 'type' and isinstance(v, NonLiteral) else plain(v)) for k, v in value.items()}
        if isinstance(value, list):
            return [plain(v) for v in value]
        return value.text if isinstance(value, NonLiteral) else value

    return plain(module_spec.spec)


def main(argv: t.Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n', maxsplit=1)[0])
    parser.add_argument('--root', default='.', help='collection root (default: current directory)')
    parser.add_argument('files', nargs='*', help='check only these .ps1/.psm1 files')
    args = parser.parse_args(argv)
    root = pathlib.Path(args.root).resolve()
    paths = [pathlib.Path(f).resolve() for f in args.files] if args.files else collection_files(root)
    problems = check_paths(root, paths)
    for problem in problems:
        print(problem)
    print(f'ps-contract: {len(paths)} PowerShell file(s) checked, {len(problems)} problem(s)')
    return 1 if problems else 0


if __name__ == '__main__':
    os.environ.setdefault('ANSIBLE_NOCOLOR', '1')
    sys.exit(main())
