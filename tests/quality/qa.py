# Copyright: (c) 2026, winimage.generalize contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The collection's quality checks, one sub-command each.

Every Makefile check target calls one sub-command, and the planted-mistake
tests in tests/quality/ call the same sub-commands on a copy of a small
collection, so a check and its proof cannot drift apart.

    python tests/quality/qa.py stage        copy the collection where ansible-test wants it
    python tests/quality/qa.py sanity       ansible-test sanity (+ .ps1 modules via validate_ps_modules.py)
    python tests/quality/qa.py units        ansible-test units
    python tests/quality/qa.py lint         ansible-lint --offline, production profile
    python tests/quality/qa.py ps-contract  PowerShell modules against their sidecars
    python tests/quality/qa.py docs         galaxy build + install + ansible-doc every plugin
    python tests/quality/qa.py changelog    antsibull-changelog lint + antsibull-docs lint-collection-docs
    python tests/quality/qa.py ee           ansible-builder create on execution-environment.yml

`--root DIR` picks the collection (default: this repository). Exit status is
non-zero when the check finds a problem; the last line says what was checked.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import os
import pathlib
import shutil
import signal
import subprocess
import sys
import tempfile
import typing as t

import yaml

HERE = pathlib.Path(__file__).resolve().parent
REPO_ROOT = HERE.parent.parent
BIN = pathlib.Path(sys.executable).parent
PYTHON_VERSION = f'{sys.version_info.major}.{sys.version_info.minor}'

# Never copied into a staged collection: local tooling state and build output.
STAGE_SKIP_DIRS = {'.git', '.venv', '.build', '.pytest_cache', '.hypothesis', '.tox', '.mypy_cache', '__pycache__',
                   'htmlcov', 'output', 'demo-output', '.ansible'}

# ansible-test's pip bootstrap script is downloaded from a host these machines
# cannot reach; it takes a cached copy first (see get_pip_offline.py).
ANSIBLE_TEST_PIP_VERSIONS = ('24.2',)

PS_MODULE_PATTERN = r'plugins/modules/.*\.ps1'

# Seconds one tool may run (sanity or units of the whole collection take minutes).
COMMAND_TIMEOUT = int(os.environ.get('QA_COMMAND_TIMEOUT', '1500'))


def tool(name: str) -> str:
    """A console script of the running virtualenv, else from PATH."""
    candidate = BIN / name
    return str(candidate) if candidate.exists() else (shutil.which(name) or name)


def run(command: list[str], cwd: pathlib.Path, env: t.Optional[dict] = None) -> int:
    """Run a command with its output streaming through; return its status.

    A command that outlives COMMAND_TIMEOUT is killed with its whole process
    group and counts as failed: a hung tool must not hang CI until its limit.
    """
    print(f"+ (cd {cwd} && {' '.join(command)})", flush=True)
    merged = dict(os.environ, **(env or {}))
    # Tools call each other by name (antsibull-docs runs `ansible`): this venv first.
    merged['PATH'] = f"{BIN}{os.pathsep}{merged.get('PATH', '')}"
    process = subprocess.Popen(command, cwd=str(cwd), env=merged, start_new_session=True)
    try:
        return process.wait(timeout=COMMAND_TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        print(f'FAILED: {command[0]} still running after {COMMAND_TIMEOUT}s; killed', flush=True)
        return 124
    except KeyboardInterrupt:
        os.killpg(process.pid, signal.SIGTERM)
        raise


@contextlib.contextmanager
def staged_copy_lock(root: pathlib.Path) -> t.Iterator[None]:
    """Serialise the checks that rebuild and use the staged copy of ROOT.

    Two runs at once (two shells, or a person and an editor hook) would
    delete each other's copy mid-test.
    """
    lock_path = default_stage_dir(root).parents[2] / '.qa.lock'
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, 'w', encoding='utf-8') as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print(f'waiting for another qa.py run using {lock_path.parent} ...', flush=True)
            fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def galaxy_info(root: pathlib.Path) -> dict:
    return yaml.safe_load((root / 'galaxy.yml').read_text(encoding='utf-8'))


# --------------------------------------------------------------------------
# stage


def _git_listed_files(root: pathlib.Path) -> t.Optional[list[str]]:
    """Tracked plus untracked-but-not-ignored files, or None outside a git work tree."""
    if not (root / '.git').exists():
        return None
    try:
        output = subprocess.run(['git', 'ls-files', '-z', '--cached', '--others', '--exclude-standard'],
                                cwd=root, check=True, capture_output=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    return [name for name in output.decode('utf-8').split('\0') if name]


def _walked_files(root: pathlib.Path) -> list[str]:
    files = []
    for directory, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in STAGE_SKIP_DIRS)
        for filename in filenames:
            if not filename.endswith(('.pyc', '.tar.gz')):
                files.append(os.path.relpath(os.path.join(directory, filename), root))
    return files


def default_stage_dir(root: pathlib.Path) -> pathlib.Path:
    info = galaxy_info(root)
    return root / '.build' / 'ansible-test' / 'ansible_collections' / info['namespace'] / info['name']


def stage(root: pathlib.Path, destination: t.Optional[pathlib.Path] = None) -> pathlib.Path:
    """Copy the collection to .../ansible_collections/NS/NAME (ansible-test does not follow symlinks).

    Copies what git would commit (tracked + untracked, not ignored) so local
    clutter never reaches the checks; a tree without git is walked instead.
    """
    destination = destination or default_stage_dir(root)
    if destination.exists():
        shutil.rmtree(destination)
    names = _git_listed_files(root)
    names = _walked_files(root) if names is None else names
    for name in names:
        source = root / name
        if not source.is_file() or source.is_symlink() and not source.exists():
            continue  # tracked but deleted in the work tree
        target = destination / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_symlink():
            os.symlink(os.readlink(source), target)
        else:
            shutil.copy2(source, target)
    destination.mkdir(parents=True, exist_ok=True)
    # ansible-test walks up from its working directory to the first .git; in
    # .build/ that would be this repository, which ignores .build/ and so
    # hides every file. A repository of its own (no commits) stops the walk;
    # ansible-test then lists its untracked, not ignored files.
    subprocess.run(['git', 'init', '-q', str(destination)], check=True)
    return destination


def ansible_test_environment(staged: pathlib.Path) -> dict:
    """Environment for ansible-test in a staged copy: offline pip bootstrap, this venv first on PATH."""
    cache = pathlib.Path.home() / '.ansible' / 'test' / 'cache'
    cache.mkdir(parents=True, exist_ok=True)
    for version in ANSIBLE_TEST_PIP_VERSIONS:
        bootstrap = cache / f"get_pip_{version.replace('.', '_')}.py"
        if not bootstrap.exists():
            shutil.copy(HERE / 'get_pip_offline.py', bootstrap)
    return {'ANSIBLE_COLLECTIONS_PATH': str(staged.parents[2])}


# --------------------------------------------------------------------------
# sanity / units


def sanity(root: pathlib.Path, tests: list[str], targets: list[str], staged: t.Optional[pathlib.Path] = None) -> int:
    """ansible-test sanity on a staged copy.

    validate-modules crashes on an Ansible.Basic .ps1 module without pwsh
    (module_args.get_ps_argument_spec raises FileNotFoundError), so it runs
    over everything else, and validate_ps_modules.py runs the same validator
    on the .ps1 modules with the spec read from the parse tree.
    """
    staged = staged or stage(root)
    env = ansible_test_environment(staged)
    base = [tool('ansible-test'), 'sanity', '--python', PYTHON_VERSION, '--color', 'no']
    wanted = set(tests)
    ps_targets = [p for p in targets if p.endswith('.ps1') and p.startswith('plugins/modules/')]
    other_targets = [p for p in targets if p not in ps_targets]
    status = 0

    if not wanted or wanted - {'validate-modules'}:
        command = base + [arg for name in sorted(wanted - {'validate-modules'}) for arg in ('--test', name)]
        if not wanted:
            command += ['--skip-test', 'validate-modules']
        if not targets or other_targets:
            status |= run(command + other_targets, staged, env)

    if not wanted or 'validate-modules' in wanted:
        ps_modules = ps_targets if targets else sorted(p.relative_to(staged).as_posix()
                                                       for p in staged.glob('plugins/modules/*.ps1'))
        if not targets or other_targets:
            command = base + ['--test', 'validate-modules']
            if ps_modules and not targets:
                command += ['--exclude', PS_MODULE_PATTERN]  # ansible-test rejects a pattern matching nothing
            status |= run(command + other_targets, staged, env)
        if ps_modules:
            command = [sys.executable, str(HERE / 'validate_ps_modules.py'), '--collection-root', str(staged)]
            status |= run(command + ps_modules, staged, env)
    return 1 if status else 0


def units(root: pathlib.Path, targets: list[str]) -> int:
    staged = stage(root)
    if not list((staged / 'tests' / 'unit').rglob('test_*.py')):
        print('units: no tests under tests/unit yet; nothing to run')
        return 0
    command = [tool('ansible-test'), 'units', '--python', PYTHON_VERSION, '--color', 'no'] + targets
    return run(command, staged, ansible_test_environment(staged))


# --------------------------------------------------------------------------
# lint


def lint(root: pathlib.Path) -> int:
    paths = [name for name in ('roles', 'playbooks') if (root / name).is_dir() and any((root / name).rglob('*.yml'))]
    if not paths:
        print('lint: no roles/ or playbooks/ content yet; nothing to lint')
        return 0
    command = [tool('ansible-lint'), '--offline', '--profile', 'production', '--nocolor'] + paths
    # Offline, ansible-lint puts $ANSIBLE_HOME/collections (~/.ansible/collections)
    # first on the collections path: a stale winimage.generalize installed there
    # would shadow the one under test. A home of its own keeps the lint honest.
    lint_home = root / '.build' / 'ansible-lint-home'
    lint_home.mkdir(parents=True, exist_ok=True)
    return run(command, root, {'ANSIBLE_COLLECTIONS_PATH': collections_path_for(root), 'ANSIBLE_HOME': str(lint_home)})


def collections_path_for(root: pathlib.Path) -> str:
    """A collections path where ansible finds ROOT as winimage.generalize (staged copy for foreign roots)."""
    if root.resolve() == REPO_ROOT:
        return str(REPO_ROOT / '.build' / 'collections')
    staged = default_stage_dir(root)
    if not staged.exists():
        stage(root, staged)
    return str(staged.parents[2])


# --------------------------------------------------------------------------
# docs: build, install, render


PLUGIN_DIRS = {
    # plugin type: (directory, how a file names a plugin)
    'module': 'modules', 'filter': 'filter', 'test': 'test', 'lookup': 'lookup', 'inventory': 'inventory',
    'callback': 'callback', 'connection': 'connection', 'become': 'become', 'cache': 'cache', 'vars': 'vars',
    'strategy': 'strategy', 'shell': 'shell', 'cliconf': 'cliconf', 'httpapi': 'httpapi', 'netconf': 'netconf',
}


def _documented_names(collection: pathlib.Path, plugin_type: str) -> list[str]:
    """Plugin names as files declare them: NAME.py, or NAME.yml docs sidecars (ps1 modules, Jinja2 plugins)."""
    directory = collection / 'plugins' / PLUGIN_DIRS[plugin_type]
    if not directory.is_dir():
        return []
    names = set()
    for path in directory.iterdir():
        if path.name.startswith('_') or path.suffix not in ('.py', '.yml', '.yaml', '.ps1'):
            continue
        if plugin_type in ('filter', 'test') and path.suffix == '.py':
            continue  # one .py may hold many Jinja2 plugins; their docs are the .yml sidecars
        names.add(path.stem)
    return sorted(names)


def _listed_names(env: dict, plugin_type: str, collection_name: str) -> list[str]:
    result = subprocess.run([tool('ansible-doc'), '-t', plugin_type, '--list', '--json', collection_name],
                            env=env, capture_output=True, text=True, check=False)
    try:
        listed = json.loads(result.stdout or '{}')
    except json.JSONDecodeError:
        return []
    return sorted(name.rsplit('.', 1)[-1] for name in listed)


def docs(root: pathlib.Path) -> int:
    """Build the tarball, install it into a temporary path and render every plugin's docs from there."""
    info = galaxy_info(root)
    collection_name = f"{info['namespace']}.{info['name']}"
    with tempfile.TemporaryDirectory(prefix='qa-docs-') as temp:
        temp_dir = pathlib.Path(temp)
        status = run([tool('ansible-galaxy'), 'collection', 'build', '--force', '--output-path', str(temp_dir),
                      str(root)], root)
        tarballs = sorted(temp_dir.glob('*.tar.gz'))
        if status or not tarballs:
            print('docs: FAILED - the collection tarball could not be built')
            return 1
        installed_path = temp_dir / 'collections'
        # --force and a collections path of its own: the repository link would
        # otherwise count as "already installed" and the tarball be skipped.
        status = run([tool('ansible-galaxy'), 'collection', 'install', '--no-deps', '--offline', '--force', '-p',
                      str(installed_path), str(tarballs[0])], temp_dir,
                     {'ANSIBLE_COLLECTIONS_PATH': str(installed_path)})
        installed = installed_path / 'ansible_collections' / info['namespace'] / info['name']
        if status or not installed.is_dir():
            print('docs: FAILED - the built tarball could not be installed')
            return 1
        # Only the installed copy: the repository link must not stand in for a broken tarball.
        env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(installed_path), ANSIBLE_NOCOLOR='1',
                   ANSIBLE_DEPRECATION_WARNINGS='0')
        return _render_all(installed, env, collection_name)


def _render_all(installed: pathlib.Path, env: dict, collection_name: str) -> int:
    failures, rendered = [], 0
    for plugin_type in PLUGIN_DIRS:
        names = set(_documented_names(installed, plugin_type))
        if plugin_type == 'module':
            # Action plugins are documented by the module of the same name.
            names |= {p.stem for p in (installed / 'plugins' / 'action').glob('*.py') if not p.stem.startswith('_')}
        if plugin_type in ('filter', 'test') and (installed / 'plugins' / PLUGIN_DIRS[plugin_type]).is_dir():
            names |= set(_listed_names(env, plugin_type, collection_name))
        for name in sorted(names):
            fqcn = f'{collection_name}.{name}'
            result = subprocess.run([tool('ansible-doc'), '-t', plugin_type, fqcn], env=env, capture_output=True,
                                    text=True, check=False)
            problem = _render_problem(result)
            if problem:
                failures.append(f'{plugin_type} {fqcn}: {problem}')
            else:
                rendered += 1
    for failure in failures:
        print(f'docs: FAILED {failure}')
    print(f'docs: {rendered} plugin doc(s) rendered from the installed tarball, {len(failures)} failed')
    return 1 if failures else 0


def _render_problem(result: subprocess.CompletedProcess) -> t.Optional[str]:
    lines = [line.strip() for line in (result.stderr or '').splitlines() if line.strip()]
    errors = [line for line in lines if 'ERROR' in line or 'WARNING' in line]
    if result.returncode != 0 or errors or not result.stdout.strip():
        return ' '.join(errors or lines or [f'ansible-doc exited {result.returncode} with no output'])[:600]
    if 'UNDOCUMENTED' in result.stdout:
        return 'plugin has no documentation'
    return None


# --------------------------------------------------------------------------
# changelog + collection docs lint


def changelog(root: pathlib.Path) -> int:
    status = run([tool('antsibull-changelog'), 'lint'], root)
    staged = stage(root)
    env = {'ANSIBLE_COLLECTIONS_PATH': str(staged.parents[2])}
    status |= run([tool('antsibull-docs'), 'lint-collection-docs', '--plugin-docs', '--skip-rstcheck',
                   '--validate-collection-refs', 'self', str(staged)], staged, env)
    return 1 if status else 0


# --------------------------------------------------------------------------
# execution environment


def ee(root: pathlib.Path, context: t.Optional[pathlib.Path] = None) -> int:
    definition = root / 'execution-environment.yml'
    if not definition.is_file():
        print(f'ee: FAILED - {definition} is missing')
        return 1
    with tempfile.TemporaryDirectory(prefix='qa-ee-') as temp:
        context_dir = context or pathlib.Path(temp) / 'context'
        status = run([tool('ansible-builder'), 'create', '--file', str(definition), '--context', str(context_dir),
                      '--output-filename', 'Containerfile'], root)
        if status:
            return status
        return _ee_context_problems(root, context_dir)


def _ee_context_problems(root: pathlib.Path, context_dir: pathlib.Path) -> int:
    """The generated context must carry this project's dependency files, unchanged."""
    expected = {
        'requirements.txt': root / 'requirements.txt',
        'bindep.txt': root / 'bindep.txt',
        'requirements.yml': root / 'requirements.yml',
    }
    problems = []
    if not (context_dir / 'Containerfile').is_file():
        problems.append('no Containerfile generated')
    for name, source in expected.items():
        copied = list(context_dir.rglob(name))
        if not copied:
            problems.append(f'{name} not in the build context')
        elif copied[0].read_text(encoding='utf-8').strip() != source.read_text(encoding='utf-8').strip():
            problems.append(f'{name} in the build context differs from {source.name}')
    for problem in problems:
        print(f'ee: FAILED {problem}')
    print(f"ee: build context {'has problems' if problems else 'complete'} in {context_dir}")
    return 1 if problems else 0


# --------------------------------------------------------------------------


def main(argv: t.Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n', maxsplit=1)[0])
    parser.add_argument('--root', type=pathlib.Path, default=REPO_ROOT, help='collection root (default: repository)')
    commands = parser.add_subparsers(dest='command', required=True)
    stage_parser = commands.add_parser('stage')
    stage_parser.add_argument('--dest', type=pathlib.Path)
    sanity_parser = commands.add_parser('sanity')
    sanity_parser.add_argument('--test', action='append', default=[], help='run only this sanity test (repeatable)')
    sanity_parser.add_argument('targets', nargs='*', help='paths relative to the collection root')
    units_parser = commands.add_parser('units')
    units_parser.add_argument('targets', nargs='*')
    commands.add_parser('lint')
    contract_parser = commands.add_parser('ps-contract')
    contract_parser.add_argument('files', nargs='*')
    commands.add_parser('docs')
    commands.add_parser('changelog')
    ee_parser = commands.add_parser('ee')
    ee_parser.add_argument('--context', type=pathlib.Path, help='keep the build context here')
    args = parser.parse_args(argv)
    root = args.root.resolve()
    if args.command in ('stage', 'sanity', 'units', 'lint', 'changelog'):
        with staged_copy_lock(root):
            return run_command(root, args)
    return run_command(root, args)


def run_command(root: pathlib.Path, args: argparse.Namespace) -> int:
    if args.command == 'stage':
        print(stage(root, args.dest))
        return 0
    if args.command == 'sanity':
        return sanity(root, args.test, args.targets)
    if args.command == 'units':
        return units(root, args.targets)
    if args.command == 'lint':
        return lint(root)
    if args.command == 'ps-contract':
        if root == REPO_ROOT:
            # Doc fragments of this collection resolve from this tree, never from an installed copy.
            os.environ['ANSIBLE_COLLECTIONS_PATH'] = collections_path_for(root)
        sys.path.insert(0, str(HERE))
        import ps_contract

        return ps_contract.main(['--root', str(root)] + args.files)
    if args.command == 'docs':
        return docs(root)
    if args.command == 'changelog':
        return changelog(root)
    if args.command == 'ee':
        return ee(root, args.context)
    raise AssertionError(args.command)


if __name__ == '__main__':
    sys.exit(main())
