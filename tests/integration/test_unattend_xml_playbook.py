# Copyright: (c) 2026, winimage.generalize contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The answer-file filters in a real ansible-playbook run: FQCN lookup, displayed warnings, clean errors.

Runs ansible-playbook against localhost (about two seconds); the unit tests of the same filters are in
tests/unit/plugins/filter/test_unattend_xml.py.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from ansible_collections.winimage.generalize.plugins.filter import unattend_xml as filter_module

SENTINEL = 'Zq9-Sentinel-Pw!'

PLAYBOOK = textwrap.dedent('''\
    - hosts: localhost
      gather_facts: false
      vars:
        settings:
          image_stage: intermediate
          generalize: {skip_rearm: 1}
          oobe_system:
            user_accounts: {administrator_password: "%(secret)s"}
      tasks:
        - name: build
          ansible.builtin.set_fact:
            answer_file: "{{ settings | winimage.generalize.unattend_xml('details') }}"
          no_log: true
        - name: show what is safe to show
          ansible.builtin.debug:
            msg: "{{ answer_file.secret_paths }} {{ answer_file.xml is search('<SkipRearm>1</SkipRearm>') }}"
        - name: cleanup script
          ansible.builtin.debug:
            msg: "{{ [] | winimage.generalize.setupcomplete_cleanup }}"
        # No no_log here on purpose: only the warnings are printed, and the error must leak nothing.
        - name: validate settings whose passwords come from variables, as they do from Ansible Vault
          ansible.builtin.debug:
            msg: "{{ (bad_settings | winimage.generalize.unattend_xml('details')).warnings }}"
          vars:
            bad_settings:
              specialize:
                domain_join: {domain: corp.example.com, password: "%(secret)s"}
''')


def _collections_path():
    # plugins/filter/unattend_xml.py -> .../ansible_collections/winimage/generalize/plugins/filter
    return str(Path(os.path.abspath(filter_module.__file__)).parents[5])


@pytest.mark.slow
def test_filters_work_by_fqcn_in_a_playbook(tmp_path):
    playbook_bin = Path(sys.executable).parent / 'ansible-playbook'
    if not playbook_bin.exists():
        pytest.skip('ansible-playbook is not installed next to this Python')
    playbook = tmp_path / 'play.yml'
    playbook.write_text(PLAYBOOK % {'secret': SENTINEL})
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=_collections_path(), ANSIBLE_NOCOLOR='1',
               ANSIBLE_LOCALHOST_WARNING='false', ANSIBLE_INVENTORY_UNPARSED_WARNING='false',
               ANSIBLE_LOCAL_TEMP=str(tmp_path / 'tmp'), ANSIBLE_HOME=str(tmp_path / 'home'))
    completed = subprocess.run([str(playbook_bin), '-i', 'localhost,', '-c', 'local', str(playbook)],
                               capture_output=True, text=True, env=env, timeout=300, check=False)
    output = completed.stdout + completed.stderr
    assert completed.returncode == 2, output  # the last task fails on purpose
    assert 'oobeSystem/Microsoft-Windows-Shell-Setup/UserAccounts/AdministratorPassword/Value' in output
    assert 'True' in output  # SkipRearm 1 was written for the intermediate image
    assert 'winimage.generalize.unattend_xml: generalize.skip_rearm' in output  # the warning was shown
    assert r'%WINDIR%\\Panther\\unattend.xml' in output or r'%WINDIR%\Panther\unattend.xml' in output
    assert 'specialize.domain_join: joining domain corp.example.com needs credentials' in output
    assert SENTINEL not in output
    assert 'Traceback' not in output
