# Copyright: (c) 2026, winimage.generalize contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""ansible-test's validate-modules for .ps1 modules on a machine without pwsh.

ansible-test 2.19 validates a PowerShell module in three parts: checks on the
.ps1 text (interpreter line, #AnsibleRequires lines, GPL header), the schema
of its docs sidecar, and the comparison of docs with the argument spec. Only
the spec needs pwsh: ``validate_modules.module_args.get_ps_argument_spec``
runs ``ps_argspec.ps1`` and, when pwsh is missing, raises FileNotFoundError,
which crashes the whole validator (ansible-test then reports a traceback).

This runs ansible-test's own validator (same code, same error codes) with that
one function replaced: the spec comes from the tree-sitter parse tree via
ps_contract.module_argument_spec, in the JSON shape ps_argspec.ps1 prints. A
spec that is not one literal hashtable is reported (ps_contract explains why)
instead of guessed at. Entries for these files in tests/sanity/ignore-2.19.txt
are honoured as ansible-test would.

Usage (from the staged collection root, ANSIBLE_COLLECTIONS_PATH set):
    python validate_ps_modules.py --collection-root DIR plugins/modules/NAME.ps1 ...
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import sys
import tempfile

import yaml

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import ps_contract  # noqa: E402  (needs HERE on sys.path)


def _validator_package_dir() -> pathlib.Path:
    import ansible_test

    return pathlib.Path(ansible_test.__file__).parent / '_util' / 'controller' / 'sanity' / 'validate-modules'


def _ignored(root: pathlib.Path) -> set[tuple[str, str]]:
    """(path, error code) pairs that tests/sanity/ignore-X.Y.txt waives for validate-modules."""
    from ansible import __version__ as ansible_version

    major_minor = '.'.join(ansible_version.split('.')[:2])
    ignore_file = root / 'tests' / 'sanity' / f'ignore-{major_minor}.txt'
    waived = set()
    if ignore_file.is_file():
        for line in ignore_file.read_text(encoding='utf-8').splitlines():
            entry = line.split('#', 1)[0].split()
            if len(entry) == 2 and entry[1].startswith('validate-modules:'):
                waived.add((entry[0], entry[1].split(':', 1)[1]))
    return waived


def patched_argument_spec(filename, collection):
    """Stand-in for module_args.get_ps_argument_spec: the spec from the parse tree."""
    from validate_modules.module_args import AnsibleModuleImportError

    try:
        kwargs = ps_contract.module_argument_spec(pathlib.Path(filename))
    except ValueError as error:
        raise AnsibleModuleImportError(f'argument spec not readable without pwsh: {error}') from None
    kwargs['argument_spec'] = kwargs.pop('options', {})
    return kwargs['argument_spec'], kwargs


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n', maxsplit=1)[0])
    parser.add_argument('--collection-root', type=pathlib.Path, required=True,
                        help='collection root, inside .../ansible_collections/NS/NAME')
    parser.add_argument('modules', nargs='+', help='.ps1 module paths relative to the collection root')
    args = parser.parse_args(argv)
    root = args.collection_root.resolve()
    os.chdir(root)
    galaxy = yaml.safe_load((root / 'galaxy.yml').read_text(encoding='utf-8'))
    collection_dir = f"ansible_collections/{galaxy['namespace']}/{galaxy['name']}"
    os.environ.setdefault('ANSIBLE_COLLECTIONS_PATH', str(root.parents[2]))

    with tempfile.NamedTemporaryFile(suffix='.json') as report:
        # The validator installs the collection loader at import time when
        # it sees --collection in sys.argv, so the arguments come first.
        sys.argv = ['validate-modules', '--format', 'json', '--output', report.name, '--arg-spec',
                    '--collection', collection_dir, '--collection-version', str(galaxy['version'])] + args.modules
        sys.path.insert(0, str(_validator_package_dir()))
        from validate_modules import main as validator, module_args

        module_args.get_ps_argument_spec = patched_argument_spec
        validator.get_ps_argument_spec = patched_argument_spec
        try:
            validator.run()
        except SystemExit:
            pass  # run() always exits; the report file holds the result
        messages = json.loads(pathlib.Path(report.name).read_text(encoding='utf-8') or '{}')

    waived = _ignored(root)
    errors = []
    for path, result in sorted(messages.items()):
        for item in result.get('errors', []):
            if (path, item['code']) in waived:
                continue
            errors.append(f"ERROR: {path}:{item.get('line', 0)}:{item.get('column', 0)}: {item['code']}: {item['msg']}")
    for error in errors:
        print(error)
    print(f'validate-modules (.ps1, spec from tree-sitter): {len(args.modules)} module(s), {len(errors)} issue(s)')
    return 1 if errors else 0


if __name__ == '__main__':
    sys.exit(main())
