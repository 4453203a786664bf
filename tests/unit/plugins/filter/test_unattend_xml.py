# Copyright: (c) 2026, winimage.generalize contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Tests of the unattend_xml and setupcomplete_cleanup filters (plugins/filter/unattend_xml.py)."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml
from ansible.errors import AnsibleFilterError

from ansible_collections.winimage.generalize.plugins.filter import unattend_xml as filter_module
from ansible_collections.winimage.generalize.plugins.module_utils import unattend
from ansible_collections.winimage.generalize.plugins.filter.unattend_xml import (
    FilterModule,
    setupcomplete_cleanup,
    unattend_xml,
)

SENTINEL = 'Zq9-Sentinel-Pw!'
U = '{urn:schemas-microsoft-com:unattend}'
SETTINGS = {
    'generalize': {'persist_all_device_installs': True},
    'specialize': {'computer_name': 'WEB-01',
                   'domain_join': {'domain': 'corp.example.com', 'username': 'svc-join', 'password': SENTINEL}},
    'oobe_system': {'user_accounts': {'administrator_password': SENTINEL}},
}


@pytest.fixture
def shown(monkeypatch):
    """Warnings the filter displays."""
    messages = []
    monkeypatch.setattr(filter_module.display, 'warning', messages.append)
    return messages


def test_both_filters_are_registered():
    filters = FilterModule().filters()
    assert filters['unattend_xml'] is unattend_xml
    assert filters['setupcomplete_cleanup'] is setupcomplete_cleanup


def test_xml_output_is_the_answer_file(shown):
    text = unattend_xml(SETTINGS)
    root = ET.fromstring(text.encode('utf-8'))
    assert root.tag == U + 'unattend'
    assert [s.get('pass') for s in root] == ['generalize', 'specialize', 'oobeSystem']
    assert shown == []


def test_details_output_lists_what_to_protect(shown):
    details = unattend_xml(SETTINGS, 'details')
    assert set(details) == {'xml', 'warnings', 'secret_paths', 'contains_password'}
    assert details['xml'] == unattend_xml(SETTINGS)
    assert details['contains_password'] is True
    assert 'specialize/Microsoft-Windows-UnattendedJoin/Identification/Credentials/Password' in details['secret_paths']
    json.dumps(details)  # plain data, safe to register and pass around


def test_warnings_are_displayed_and_returned(shown):
    settings = {'image_stage': 'intermediate', 'generalize': {'skip_rearm': 1}}
    details = unattend_xml(settings, output='details')
    assert len(details['warnings']) == 1 and 'SkipRearm=1' in details['warnings'][0]
    assert len(shown) == 1 and shown[0].startswith('winimage.generalize.unattend_xml: ')
    assert details['warnings'][0] in shown[0]


def test_bad_settings_fail_with_the_builders_message_and_no_password():
    with pytest.raises(AnsibleFilterError) as caught:
        unattend_xml({'specialize': {'domain_join': {'domain': 'corp.example.com', 'password': SENTINEL}}})
    message = str(caught.value)
    assert message.startswith('winimage.generalize.unattend_xml: specialize.domain_join: ')
    assert 'Fix:' in message and SENTINEL not in message
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


def test_skip_rearm_refusal_reaches_the_user():
    with pytest.raises(AnsibleFilterError) as caught:
        unattend_xml({'generalize': {'skip_rearm': 1}})
    assert 'allow_skip_rearm_in_final_image' in str(caught.value)


def test_unexpected_errors_do_not_leak_their_text(monkeypatch):
    def broken(_settings):
        raise TypeError('something with %s inside' % SENTINEL)

    monkeypatch.setattr(filter_module, 'build_answer_file', broken)
    with pytest.raises(AnsibleFilterError) as caught:
        unattend_xml(SETTINGS)
    assert 'internal error (TypeError)' in str(caught.value)
    assert SENTINEL not in str(caught.value)
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


def test_unknown_output_is_refused():
    with pytest.raises(AnsibleFilterError, match='output'):
        unattend_xml(SETTINGS, output='json')


@pytest.mark.parametrize('extra', [None, [], [r'C:\Windows\Temp\u.xml'], r'C:\Windows\Temp\u.xml'])
def test_setupcomplete_cleanup(extra):
    script = setupcomplete_cleanup(extra)
    assert script.startswith('@echo off\r\n')
    assert r'del /f /q "%WINDIR%\Panther\unattend.xml"' in script
    assert (r'C:\Windows\Temp\u.xml' in script) == bool(extra)


def test_setupcomplete_cleanup_refuses_relative_paths():
    with pytest.raises(AnsibleFilterError, match=r'setupcomplete_cleanup: extra_paths\[0\]'):
        setupcomplete_cleanup(['unattend.xml'])


# ---------------------------------------------------------------------------------------------- sidecars

FILTER_DIR = Path(filter_module.__file__).parent


@pytest.mark.parametrize('name', ['unattend_xml', 'setupcomplete_cleanup'])
def test_doc_sidecar_matches_the_filter(name):
    doc = yaml.safe_load((FILTER_DIR / ('%s.yml' % name)).read_text())
    assert set(doc) == {'DOCUMENTATION', 'EXAMPLES', 'RETURN'}
    assert doc['DOCUMENTATION']['name'] == name
    assert name in FilterModule().filters()
    examples = yaml.safe_load(doc['EXAMPLES'])
    assert examples and all('winimage.generalize.%s' % name in json.dumps(task) for task in examples
                            if 'name' in task and name in json.dumps(task))


def test_sidecar_options_match_the_signature():
    options = yaml.safe_load((FILTER_DIR / 'unattend_xml.yml').read_text())['DOCUMENTATION']['options']
    assert set(options) == {'_input', 'output'}
    assert set(options['_input']['suboptions']) == set(unattend._TOP_KEYS)
    assert options['_input']['suboptions']['architecture']['choices'] == list(unattend.ARCHITECTURES)
    assert options['output']['choices'] == list(filter_module._OUTPUTS)
    assert options['output']['default'] == unattend_xml.__defaults__[0]
