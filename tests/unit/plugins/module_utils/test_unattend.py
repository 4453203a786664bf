# Copyright: (c) 2026, winimage.generalize contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Tests of the answer-file builder (plugins/module_utils/unattend.py).

Built files are always parsed back with a namespace-aware parser, and compared by structure (passes,
components, setting paths, values) with real answer files of public pipelines in tests/data/unattend/.
"""

from __future__ import annotations

import base64
import copy
import re
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given, settings as hypothesis_settings, strategies as st

from ansible_collections.winimage.generalize.plugins.module_utils import unattend
from ansible_collections.winimage.generalize.plugins.module_utils.unattend import (
    AnswerFileError,
    build_answer_file,
    check_answer_file_structure,
    deobfuscate_password,
    describe_answer_file,
    obfuscate_password,
    setupcomplete_cleanup_script,
)

DATA = Path(__file__).resolve().parents[3] / 'data' / 'unattend'
NS = {'u': 'urn:schemas-microsoft-com:unattend'}
U = '{urn:schemas-microsoft-com:unattend}'
WCM = '{http://schemas.microsoft.com/WMIConfig/2002/State}'
SENTINEL = 'Zq9-Sentinel-Pw!'  # a password that must never show up outside the XML


# ---------------------------------------------------------------------------------------------- helpers

def build(settings):
    return build_answer_file(settings)


def root_of(xml_text):
    return ET.fromstring(xml_text.encode('utf-8'))


def local(tag):
    return tag.rsplit('}', 1)[-1]


def component(xml_text, pass_name, name):
    found = root_of(xml_text).findall("u:settings[@pass='%s']/u:component[@name='%s']" % (pass_name, name), NS)
    assert len(found) <= 1
    return found[0] if found else None


def passes_and_components(xml_text):
    return dict((pass_name, set(names)) for pass_name, names in describe_answer_file(xml_text)['passes'].items())


def leaf_values(xml_text):
    """Counter of (pass/component/.../leaf, text) over every leaf, comments ignored; text is not stripped."""
    values = Counter()
    for settings in root_of(xml_text).findall('u:settings', NS):
        for comp in settings.findall('u:component', NS):
            prefix = '%s/%s' % (settings.get('pass'), comp.get('name'))
            _collect(comp, prefix, values)
    return values


def _collect(element, prefix, values):
    children = [child for child in element if isinstance(child.tag, str)]
    if not children:
        values[(prefix, element.text or '')] += 1
    for child in children:
        _collect(child, '%s/%s' % (prefix, local(child.tag)), values)


def child_tags(element):
    return [local(child.tag) for child in element]


def error_of(settings):
    with pytest.raises(AnswerFileError) as caught:
        build(settings)
    return caught.value


# A settings mapping touching every pass and most components; reused by several tests.
KITCHEN_SINK = {
    'architecture': 'amd64',
    'image_stage': 'final',
    'generalize': {'persist_all_device_installs': True, 'do_not_clean_up_non_present_devices': False,
                   'skip_rearm': 0},
    'specialize': {
        'computer_name': 'APP-017',
        'time_zone': 'W. Europe Standard Time',
        'registered_owner': 'Platform team',
        'registered_organization': 'Example Corp',
        'copy_profile': True,
        'extend_os_partition': True,
        'network': {
            'interfaces': [
                {'mac': '00:50:56:8a:10:17',
                 'ipv4': {'addresses': ['10.20.30.17/24'], 'gateway': '10.20.30.1', 'metric': 10},
                 'ipv6': {'addresses': ['2001:db8:30::17/64'], 'gateway': 'fe80::1'},
                 'routes': [{'prefix': '10.99.0.0/16', 'next_hop': '10.20.30.254', 'metric': 5}],
                 'dns_servers': ['10.20.0.10', '10.20.0.11'], 'dns_domain': 'corp.example.com',
                 'register_adapter_domain_name': True, 'dynamic_dns_update': False},
                {'alias': 'Backup', 'ipv4': {'addresses': ['192.168.50.17/24']}},
            ],
            'dns_domain': 'corp.example.com',
            'dns_suffix_search_order': ['corp.example.com', 'example.com'],
            'use_domain_name_devolution': False,
        },
        'domain_join': {'domain': 'corp.example.com', 'username': 'svc-join', 'password': SENTINEL,
                        'machine_object_ou': 'OU=Servers,DC=corp,DC=example,DC=com'},
        'run_synchronous': [{'path': r'C:\Setup\first.cmd', 'description': 'First', 'will_reboot': 'never'}],
        'restore_hypervisor_launch': True,
    },
    'audit_system': {'auto_logon': {'username': 'Administrator', 'password': SENTINEL, 'logon_count': 3},
                     'user_accounts': {'administrator_password': SENTINEL}},
    'audit_user': {'run_synchronous': [{'path': r'C:\Setup\audit.cmd'}], 'reseal': {'mode': 'oobe'}},
    'oobe_system': {
        'international': {'input_locale': '0409:00000409', 'system_locale': 'en-US', 'ui_language': 'en-US',
                          'ui_language_fallback': 'en-US', 'user_locale': 'en-US'},
        'time_zone': 'W. Europe Standard Time',
        'oobe': {'hide_eula_page': True, 'hide_local_account_screen': True, 'hide_oem_registration_screen': True,
                 'hide_online_account_screens': True, 'hide_wireless_setup_in_oobe': True,
                 'network_location': 'work', 'protect_your_pc': 3},
        'user_accounts': {'administrator_password': SENTINEL,
                          'local_accounts': [{'name': 'ops', 'password': SENTINEL, 'group': 'Administrators',
                                              'display_name': 'Operations', 'description': 'Break glass'}]},
        'auto_logon': {'username': 'ops', 'password': SENTINEL, 'logon_count': 1},
        'first_logon_commands': [{'command_line': r'C:\Setup\once.cmd', 'description': 'Once'},
                                 {'command_line': 'cmd /c exit 0', 'requires_user_input': False}],
    },
    'extra_components': [{'pass': 'specialize', 'component': 'Microsoft-Windows-ServerManager-SvrMgrNc',
                          'settings': {'DoNotOpenServerManagerAtLogon': True}}],
}


def sink(**changes):
    """A deep copy of KITCHEN_SINK with dotted-path changes applied (value None deletes the key)."""
    settings = copy.deepcopy(KITCHEN_SINK)
    for dotted, value in changes.items():
        keys = dotted.split('__')
        target = settings
        for key in keys[:-1]:
            target = target.setdefault(key, {})
        if value is None:
            target.pop(keys[-1], None)
        else:
            target[keys[-1]] = value
    return settings


# ---------------------------------------------------------------------------------------------- document

def test_document_namespaces_and_declaration():
    result = build(KITCHEN_SINK)
    assert result.xml.startswith('<?xml version="1.0" encoding="utf-8"?>')
    root = root_of(result.xml)
    assert root.tag == U + 'unattend'
    # Windows SIM layout: default namespace on <unattend>, wcm and xsi declared on each component.
    assert result.xml.count('xmlns="urn:schemas-microsoft-com:unattend"') == 1
    component_count = len(root.findall('u:settings/u:component', NS))
    assert result.xml.count('xmlns:wcm="http://schemas.microsoft.com/WMIConfig/2002/State"') == component_count
    assert result.xml.count('xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"') == component_count
    # every element below the root sits in the unattend namespace
    assert all(element.tag.startswith(U) for element in root.iter())


def test_every_component_carries_the_identity_attributes():
    root = root_of(build(KITCHEN_SINK).xml)
    components = root.findall('u:settings/u:component', NS)
    assert len(components) >= 12
    for comp in components:
        assert comp.get('processorArchitecture') == 'amd64'
        assert comp.get('publicKeyToken') == '31bf3856ad364e35'
        assert comp.get('language') == 'neutral'
        assert comp.get('versionScope') == 'nonSxS'


def test_passes_are_written_in_windows_setup_order():
    settings = sink(extra_components=[
        {'pass': 'oobeSystem', 'component': 'Microsoft-Windows-TerminalServices-LocalSessionManager',
         'settings': {'fDenyTSConnections': False}},
        {'pass': 'windowsPE', 'component': 'Microsoft-Windows-Setup', 'settings': {'EnableFirewall': True}},
    ])
    order = [settings_element.get('pass') for settings_element in root_of(build(settings).xml)]
    assert order == [name for name in unattend.PASS_ORDER if name in order]
    assert order[0] == 'windowsPE' and order[-1] == 'oobeSystem'


def test_list_items_carry_wcm_action_and_key_values():
    root = root_of(build(KITCHEN_SINK).xml)
    keyed = root.findall('.//u:UnicastIpAddresses/u:IpAddress', NS) + root.findall(
        './/u:DNSServerSearchOrder/u:IpAddress', NS) + root.findall('.//u:DNSSuffixSearchOrder/u:DomainName', NS)
    assert keyed
    for item in keyed:
        assert item.get(WCM + 'action') == 'add'
        assert item.get(WCM + 'keyValue', '').isdigit()
    for path in ('.//u:RunSynchronousCommand', './/u:SynchronousCommand', './/u:LocalAccount',
                 './/u:Interfaces/u:Interface', './/u:Route'):
        items = root.findall(path, NS)
        assert items, path
        assert all(item.get(WCM + 'action') == 'add' for item in items)


@pytest.mark.parametrize('architecture', ['amd64', 'x86', 'arm64', 'AMD64'])
def test_architecture_reaches_every_component(architecture):
    root = root_of(build(sink(architecture=architecture)).xml)
    assert {comp.get('processorArchitecture') for comp in root.iter(U + 'component')} == {architecture.lower()}


@pytest.mark.parametrize('architecture, expected_fix', [
    ('x64', 'amd64'), ('x86_64', 'amd64'), ('aarch64', 'arm64'), ('wow64', 'amd64, x86 or arm64'),
    ('sparc', 'amd64, x86, arm64'),
])
def test_bad_architecture_names_the_fix(architecture, expected_fix):
    error = error_of({'architecture': architecture})
    assert error.setting == 'architecture'
    assert expected_fix in str(error)


def test_minimal_settings_give_a_random_computer_name():
    result = build({})
    assert passes_and_components(result.xml) == {'specialize': {'Microsoft-Windows-Shell-Setup'}}
    assert leaf_values(result.xml) == Counter({('specialize/Microsoft-Windows-Shell-Setup/ComputerName', '*'): 1})
    assert result.warnings == [] and result.secret_paths == [] and not result.contains_password


@pytest.mark.parametrize('settings, setting', [
    ({'specialise': {}}, 'specialise'),
    ({'specialize': {'computer_nme': 'A'}}, 'specialize.computer_nme'),
    ({'oobe_system': {'oobe': {'hide_eula': True}}}, 'oobe_system.oobe.hide_eula'),
    ({'specialize': {'network': {'interfaces': [{'mac': '00-11-22-33-44-55', 'ip': []}]}}},
     'specialize.network.interfaces[0].ip'),
])
def test_unknown_keys_are_refused_with_a_suggestion(settings, setting):
    error = error_of(settings)
    assert error.setting == setting
    assert 'unknown setting' in str(error)
    assert 'did you mean' in error.fix or 'allowed keys' in error.fix


def test_misplaced_generalize_setting_points_to_audit_user():
    error = error_of({'generalize': {'generalize': {'mode': 'oobe'}}})
    assert 'audit_user.generalize' in error.fix


@pytest.mark.parametrize('settings', ['not a mapping', ['a'], {'specialize': 'x'}, {'oobe_system': {'oobe': 5}}])
def test_non_mappings_are_refused(settings):
    assert 'mapping' in str(error_of(settings))


# ---------------------------------------------------------------------------------------------- generalize

def test_generalize_pass_components():
    xml_text = build({'generalize': {'persist_all_device_installs': True,
                                     'do_not_clean_up_non_present_devices': True, 'skip_rearm': 0}}).xml
    assert passes_and_components(xml_text)['generalize'] == {'Microsoft-Windows-PnpSysprep',
                                                             'Microsoft-Windows-Security-SPP'}
    pnp = component(xml_text, 'generalize', 'Microsoft-Windows-PnpSysprep')
    assert [(local(c.tag), c.text) for c in pnp] == [('PersistAllDeviceInstalls', 'true'),
                                                     ('DoNotCleanUpNonPresentDevices', 'true')]
    assert component(xml_text, 'generalize', 'Microsoft-Windows-Security-SPP').find('u:SkipRearm', NS).text == '0'


@pytest.mark.parametrize('value', [1, True, '1'])
def test_skip_rearm_1_is_refused_for_a_final_image(value):
    error = error_of({'generalize': {'skip_rearm': value}})
    assert error.setting == 'generalize.skip_rearm'
    assert 'CMID' in error.problem
    assert 'image_stage: intermediate' in error.fix and 'allow_skip_rearm_in_final_image' in error.fix


@pytest.mark.parametrize('override', [{'image_stage': 'intermediate'}, {'allow_skip_rearm_in_final_image': True}])
def test_skip_rearm_1_with_override_is_written_with_a_warning(override):
    settings = dict(override, generalize={'skip_rearm': 1})
    result = build(settings)
    assert component(result.xml, 'generalize', 'Microsoft-Windows-Security-SPP').find('u:SkipRearm', NS).text == '1'
    assert len(result.warnings) == 1
    warning = result.warnings[0]
    assert 'SkipRearm=1' in warning and next(iter(override)) in warning


def test_skip_rearm_0_and_overrides_without_skip_rearm_give_no_warning():
    assert build({'generalize': {'skip_rearm': 0}, 'allow_skip_rearm_in_final_image': True}).warnings == []
    assert build({'image_stage': 'intermediate'}).warnings == []


@pytest.mark.parametrize('value', [2, -1, 'yes please'])
def test_skip_rearm_outside_0_1_is_refused(value):
    assert error_of({'generalize': {'skip_rearm': value}}).setting == 'generalize.skip_rearm'


# ---------------------------------------------------------------------------------------------- mode_vm

@pytest.mark.parametrize('key', ['persist_all_device_installs', 'do_not_clean_up_non_present_devices'])
def test_mode_vm_warns_about_device_persistence(key):
    result = build({'mode_vm': True, 'generalize': {key: True}})
    assert any('mode_vm' in warning and 'same virtual machine' in warning for warning in result.warnings)
    assert build({'mode_vm': False, 'generalize': {key: True}}).warnings == []


def test_mode_vm_refuses_answer_file_driven_generalize():
    error = error_of({'mode_vm': True, 'audit_user': {'generalize': {'mode': 'oobe'}}})
    assert error.setting == 'audit_user.generalize'
    assert 'mode_vm' in error.fix


def test_vm_mode_optimizations_warn_without_mode_vm():
    settings = {'oobe_system': {'oobe': {'vm_mode_optimizations': {'skip_winre_initialization': True}}}}
    warned = build(settings).warnings
    assert any('/mode:vm' in warning for warning in warned)
    result = build(dict(settings, mode_vm=True))
    assert result.warnings == []
    oobe = component(result.xml, 'oobeSystem', 'Microsoft-Windows-Shell-Setup').find('u:OOBE', NS)
    assert oobe.find('u:VMModeOptimizations/u:SkipWinREInitialization', NS).text == 'true'


# ---------------------------------------------------------------------------------------------- specialize

def test_specialize_shell_setup_settings():
    xml_text = build(KITCHEN_SINK).xml
    shell = component(xml_text, 'specialize', 'Microsoft-Windows-Shell-Setup')
    assert [(local(c.tag), c.text) for c in shell] == [
        ('ComputerName', 'APP-017'), ('CopyProfile', 'true'), ('RegisteredOrganization', 'Example Corp'),
        ('RegisteredOwner', 'Platform team'), ('TimeZone', 'W. Europe Standard Time')]


def test_computer_name_false_leaves_the_element_out_and_empty_is_written_with_a_warning():
    assert component(build({'specialize': {'computer_name': False}}).xml, 'specialize',
                     'Microsoft-Windows-Shell-Setup') is None
    result = build({'specialize': {'computer_name': ''}})
    name = component(result.xml, 'specialize', 'Microsoft-Windows-Shell-Setup').find('u:ComputerName', NS)
    assert name is not None and not name.text
    assert any("'*'" in warning for warning in result.warnings)


@pytest.mark.parametrize('name, reason', [
    ('A' * 16, 'at most 15'), ('web_01', 'hyphens'), ('web 01', 'hyphens'), ('1234', 'only of digits'),
    ('-web', 'start or end'), ('web-', 'start or end'), ('web.corp', 'hyphens'), ('wéb', 'hyphens'),
])
def test_bad_computer_names_are_refused(name, reason):
    error = error_of({'specialize': {'computer_name': name}})
    assert error.setting == 'specialize.computer_name'
    assert reason in error.problem


@pytest.mark.parametrize('name', ['A' * 15, 'web-01', 'W1', 'x'])
def test_good_computer_names_are_written(name):
    xml_text = build({'specialize': {'computer_name': name}}).xml
    assert component(xml_text, 'specialize', 'Microsoft-Windows-Shell-Setup').find('u:ComputerName', NS).text == name


@given(st.text(min_size=1, max_size=20))
@hypothesis_settings(max_examples=150, deadline=None)
def test_any_computer_name_is_either_valid_or_refused_clearly(name):
    try:
        xml_text = build({'specialize': {'computer_name': name}}).xml
    except AnswerFileError as error:
        assert error.setting == 'specialize.computer_name'
        return
    written = component(xml_text, 'specialize', 'Microsoft-Windows-Shell-Setup').find('u:ComputerName', NS).text
    assert written == name
    assert name == '*' or (len(name) <= 15 and re.match(r'^[A-Za-z0-9-]+$', name) and not name.isdigit())


def test_iana_time_zone_is_refused_with_a_windows_example():
    error = error_of({'specialize': {'time_zone': 'Europe/Berlin'}})
    assert 'tzutil' in error.fix


def test_static_ip_interface_follows_microsofts_element_order():
    xml_text = build(KITCHEN_SINK).xml
    tcpip = component(xml_text, 'specialize', 'Microsoft-Windows-TCPIP')
    first, second = tcpip.findall('u:Interfaces/u:Interface', NS)
    assert child_tags(first) == ['Ipv4Settings', 'Ipv6Settings', 'Identifier', 'UnicastIpAddresses', 'Routes']
    assert child_tags(second) == ['Ipv4Settings', 'Identifier', 'UnicastIpAddresses']
    assert first.find('u:Identifier', NS).text == '00-50-56-8A-10-17'
    assert second.find('u:Identifier', NS).text == 'Backup'
    assert first.find('u:Ipv4Settings/u:DhcpEnabled', NS).text == 'false'
    assert first.find('u:Ipv4Settings/u:Metric', NS).text == '10'
    assert first.find('u:Ipv6Settings/u:DhcpEnabled', NS).text == 'false'
    addresses = [(a.get(WCM + 'keyValue'), a.text) for a in first.findall('u:UnicastIpAddresses/u:IpAddress', NS)]
    assert addresses == [('1', '10.20.30.17/24'), ('2', '2001:db8:30::17/64')]
    routes = first.findall('u:Routes/u:Route', NS)
    for route in routes:
        assert [tag for tag in child_tags(route) if tag != 'Metric'] == ['Identifier', 'NextHopAddress', 'Prefix']
        assert child_tags(route)[0] == 'Identifier'
    summary = [(r.find('u:Prefix', NS).text, r.find('u:NextHopAddress', NS).text) for r in routes]
    assert summary == [('0.0.0.0/0', '10.20.30.1'), ('::/0', 'fe80::1'), ('10.99.0.0/16', '10.20.30.254')]
    identifiers = [r.find('u:Identifier', NS).text for r in tcpip.iter(U + 'Route')]
    assert len(identifiers) == len(set(identifiers))


def test_dns_client_per_interface_and_global_settings():
    dns = component(build(KITCHEN_SINK).xml, 'specialize', 'Microsoft-Windows-DNS-Client')
    assert child_tags(dns) == ['DNSDomain', 'DNSSuffixSearchOrder', 'UseDomainNameDevolution', 'Interfaces']
    suffixes = [(d.get(WCM + 'keyValue'), d.text) for d in dns.findall('u:DNSSuffixSearchOrder/u:DomainName', NS)]
    assert suffixes == [('1', 'corp.example.com'), ('2', 'example.com')]
    interfaces = dns.findall('u:Interfaces/u:Interface', NS)
    assert len(interfaces) == 1  # the second adapter has no DNS settings
    interface = interfaces[0]
    assert interface.find('u:Identifier', NS).text == '00-50-56-8A-10-17'
    servers = [(s.get(WCM + 'keyValue'), s.text) for s in interface.findall('u:DNSServerSearchOrder/u:IpAddress', NS)]
    assert servers == [('1', '10.20.0.10'), ('2', '10.20.0.11')]
    assert interface.find('u:EnableAdapterDomainNameRegistration', NS).text == 'true'
    assert interface.find('u:DisableDynamicUpdate', NS).text == 'true'


def test_static_ip_dns_and_domain_join_land_in_the_same_specialize_pass_before_the_join():
    """The VMware cloning seed: a clone without DHCP must have its address and DNS before the join runs."""
    settings = {'specialize': {
        'network': {'interfaces': [{'mac': '00-50-56-8A-10-17',
                                    'ipv4': {'addresses': ['10.20.30.17/24'], 'gateway': '10.20.30.1'},
                                    'dns_servers': ['10.20.0.10']}]},
        'domain_join': {'domain': 'corp.example.com', 'username': 'svc-join', 'password': SENTINEL}}}
    xml_text = build(settings).xml
    specialize = root_of(xml_text).find("u:settings[@pass='specialize']", NS)
    names = [comp.get('name') for comp in specialize]
    assert {'Microsoft-Windows-TCPIP', 'Microsoft-Windows-DNS-Client', 'Microsoft-Windows-UnattendedJoin'} <= set(names)
    assert names.index('Microsoft-Windows-TCPIP') < names.index('Microsoft-Windows-DNS-Client') < names.index(
        'Microsoft-Windows-UnattendedJoin')
    # nothing network-related is deferred to a later pass or a first-logon script
    for later in ('oobeSystem', 'auditUser'):
        assert later not in describe_answer_file(xml_text)['passes']


def test_domain_join_identification():
    join = component(build(KITCHEN_SINK).xml, 'specialize', 'Microsoft-Windows-UnattendedJoin')
    identification = join.find('u:Identification', NS)
    assert child_tags(identification) == ['Credentials', 'JoinDomain', 'MachineObjectOU']
    credentials = identification.find('u:Credentials', NS)
    assert [(local(c.tag), c.text) for c in credentials] == [
        ('Domain', 'corp.example.com'), ('Password', SENTINEL), ('Username', 'svc-join')]
    assert identification.find('u:MachineObjectOU', NS).text == 'OU=Servers,DC=corp,DC=example,DC=com'


@pytest.mark.parametrize('username', ['svc-join@corp.example.com', 'CORP\\svc-join'])
def test_domain_join_with_qualified_user_name_writes_no_credentials_domain(username):
    join = component(build({'specialize': {'domain_join': {'domain': 'corp.example.com', 'username': username,
                                                           'password': SENTINEL}}}).xml,
                     'specialize', 'Microsoft-Windows-UnattendedJoin')
    assert child_tags(join.find('u:Identification/u:Credentials', NS)) == ['Password', 'Username']


def test_unsecure_join_and_workgroup():
    join = component(build({'specialize': {'domain_join': {
        'domain': 'corp.example.com', 'unsecure_join': True, 'machine_password': SENTINEL}}}).xml,
        'specialize', 'Microsoft-Windows-UnattendedJoin')
    assert child_tags(join.find('u:Identification', NS)) == ['JoinDomain', 'MachinePassword', 'UnsecureJoin']
    workgroup = component(build({'specialize': {'domain_join': {'workgroup': 'LAB'}}}).xml,
                          'specialize', 'Microsoft-Windows-UnattendedJoin')
    assert workgroup.find('u:Identification/u:JoinWorkgroup', NS).text == 'LAB'


@pytest.mark.parametrize('join, setting', [
    ({'domain': 'corp.example.com'}, 'specialize.domain_join'),
    ({'domain': 'corp.example.com', 'username': 'svc-join'}, 'specialize.domain_join'),
    ({'domain': 'corp.example.com', 'password': SENTINEL}, 'specialize.domain_join'),
    ({'domain': 'corp.example.com', 'workgroup': 'LAB'}, 'specialize.domain_join'),
    ({}, 'specialize.domain_join'),
    ({'workgroup': 'LAB', 'username': 'x'}, 'specialize.domain_join.username'),
    ({'domain': 'corp.example.com', 'username': 'u', 'password': SENTINEL, 'machine_object_ou': 'Servers'},
     'specialize.domain_join.machine_object_ou'),
    ({'domain': 'corp.example.com', 'username': 'u', 'password': SENTINEL, 'machine_password': SENTINEL},
     'specialize.domain_join.machine_password'),
    ({'domain': 'corp.example.com', 'unsecure_join': True, 'username': 'u', 'password': SENTINEL},
     'specialize.domain_join.unsecure_join'),
    ({'domain': 'corp example', 'username': 'u', 'password': SENTINEL}, 'specialize.domain_join.domain'),
    ({'domain': 'corp.example.com', 'username': 'u', 'password': 1234}, 'specialize.domain_join.password'),
    ({'domain': 'corp.example.com', 'username': 'u', 'password': ''}, 'specialize.domain_join.password'),
])
def test_bad_domain_join_settings_are_refused(join, setting):
    error = error_of({'specialize': {'domain_join': join}})
    assert error.setting == setting
    assert SENTINEL not in str(error)


def test_domain_join_without_dhcp_needs_dns_servers():
    settings = {'specialize': {
        'network': {'interfaces': [{'mac': '00-50-56-8A-10-17', 'ipv4': {'addresses': ['10.20.30.17/24']}}]},
        'domain_join': {'domain': 'corp.example.com', 'username': 'u', 'password': SENTINEL}}}
    error = error_of(settings)
    assert error.setting == 'specialize.domain_join.domain'
    assert 'DHCP' in error.problem and 'dns_servers' in error.fix


@pytest.mark.parametrize('interface, setting', [
    ({'mac': '00-11-22-33-44-55', 'ipv4': {'addresses': ['10.0.0.300/24']}}, 'ipv4.addresses[0]'),
    ({'mac': '00-11-22-33-44-55', 'ipv4': {'addresses': ['10.0.0.5']}}, 'ipv4.addresses[0]'),
    ({'mac': '00-11-22-33-44-55', 'ipv4': {'addresses': ['10.0.0.5/33']}}, 'ipv4.addresses[0]'),
    ({'mac': '00-11-22-33-44-55', 'ipv4': {'addresses': ['10.0.0.0/24']}}, 'ipv4.addresses[0]'),
    ({'mac': '00-11-22-33-44-55', 'ipv4': {'addresses': ['10.0.0.255/24']}}, 'ipv4.addresses[0]'),
    ({'mac': '00-11-22-33-44-55', 'ipv4': {'addresses': ['2001:db8::5/64']}}, 'ipv4.addresses[0]'),
    ({'mac': '00-11-22-33-44-55', 'ipv6': {'addresses': ['10.0.0.5/24']}}, 'ipv6.addresses[0]'),
    ({'mac': '00-11-22-33-44-55', 'ipv4': {'addresses': ['10.0.0.5/24'], 'gateway': '10.0.1.1'}}, 'ipv4.gateway'),
    ({'mac': '00-11-22-33-44-55', 'ipv4': {'addresses': ['10.0.0.5/24'], 'gateway': 'fe80::1'}}, 'ipv4.gateway'),
    ({'mac': '00-11-22-33-44-55', 'ipv4': {'gateway': '10.0.0.1'}}, 'ipv4.gateway'),
    ({'mac': '00-11-22-33-44-55', 'ipv4': {'addresses': ['10.0.0.5/24'], 'dhcp': True}}, 'ipv4.dhcp'),
    ({'mac': '00-11-22-33-44-55', 'ipv4': {'dhcp': False}}, 'ipv4.dhcp'),
    ({'mac': '00-11-22-33-44-55', 'ipv4': {}}, 'ipv4'),
    ({'mac': '00-11-22-33-44-55', 'ipv4': {'addresses': ['10.0.0.5/24'], 'metric': -1}}, 'ipv4.metric'),
    ({'mac': '00-11-22-33-44-55', 'dns_servers': ['10.0.0.300']}, 'dns_servers[0]'),
    ({'mac': '00-11-22-33-44-55', 'dns_domain': 'not a name'}, 'dns_domain'),
    ({'mac': '00-11-22-33-44-55', 'routes': [{'prefix': '10.1.0.1/16', 'next_hop': '10.0.0.1'}]}, 'routes[0].prefix'),
    ({'mac': '00-11-22-33-44-55', 'routes': [{'prefix': '10.1.0.0/16'}]}, 'routes[0].next_hop'),
    ({'mac': '00-11-22-33-44-5'}, 'mac'),
    ({'mac': 'zz-11-22-33-44-55'}, 'mac'),
    ({'mac': '00-11-22-33-44-55', 'alias': 'Ethernet'}, ''),
    ({'ipv4': {'addresses': ['10.0.0.5/24']}}, ''),
])
def test_bad_interface_settings_name_the_setting(interface, setting):
    error = error_of({'specialize': {'network': {'interfaces': [interface]}}})
    expected = 'specialize.network.interfaces[0]' + ('.' + setting if setting else '')
    assert error.setting == expected


def test_two_adapters_with_one_address_or_one_identifier_are_refused():
    same_address = [{'mac': '00-11-22-33-44-55', 'ipv4': {'addresses': ['10.0.0.5/24']}},
                    {'mac': '00-11-22-33-44-66', 'ipv4': {'addresses': ['10.0.0.5/24']}}]
    assert '10.0.0.5' in str(error_of({'specialize': {'network': {'interfaces': same_address}}}))
    same_mac = [{'mac': '00:11:22:33:44:55', 'ipv4': {'dhcp': True}},
                {'mac': '00-11-22-33-44-55', 'ipv4': {'dhcp': True}}]
    assert 'same adapter' in str(error_of({'specialize': {'network': {'interfaces': same_mac}}}))


def test_several_adapters_by_alias_warn():
    interfaces = [{'alias': 'Ethernet', 'ipv4': {'dhcp': True}}, {'alias': 'Ethernet 2', 'ipv4': {'dhcp': True}}]
    assert any('use mac' in w for w in build({'specialize': {'network': {'interfaces': interfaces}}}).warnings)


def test_run_synchronous_and_hypervisor_launch():
    deployment = component(build(KITCHEN_SINK).xml, 'specialize', 'Microsoft-Windows-Deployment')
    assert child_tags(deployment) == ['ExtendOSPartition', 'RunSynchronous']
    commands = deployment.findall('u:RunSynchronous/u:RunSynchronousCommand', NS)
    assert [c.find('u:Order', NS).text for c in commands] == ['1', '2']
    assert commands[0].find('u:Path', NS).text == r'C:\Setup\first.cmd'
    assert commands[0].find('u:WillReboot', NS).text == 'Never'
    assert 'bcdedit' in commands[1].find('u:Path', NS).text
    assert 'hypervisorlaunchtype auto' in commands[1].find('u:Path', NS).text


def test_scripts_merely_named_after_shutdown_are_accepted():
    xml_text = build({'specialize': {'run_synchronous': [{'path': r'C:\Setup\prevent-shutdown.cmd'}]}}).xml
    assert 'prevent-shutdown.cmd' in xml_text


def test_hypervisor_launch_is_not_added_twice():
    own = {'path': 'bcdedit.exe /set hypervisorlaunchtype auto'}
    deployment = component(build({'specialize': {'restore_hypervisor_launch': True, 'run_synchronous': [own]}}).xml,
                           'specialize', 'Microsoft-Windows-Deployment')
    assert len(deployment.findall('.//u:RunSynchronousCommand', NS)) == 1


@pytest.mark.parametrize('command, words', [
    ({'path': r'\\server\share\setup.cmd'}, 'UNC'),
    ({'path': 'shutdown /r /t 0'}, 'will_reboot'),
    ({'path': 'powershell -c Restart-Computer'}, 'will_reboot'),
    ({'path': r'C:\Windows\System32\shutdown.exe /r /t 0'}, 'will_reboot'),
    ({'path': 'cmd /c "shutdown"'}, 'will_reboot'),
    ({'path': 'x' * 260}, 'shorten'),
    ({'path': 'a.cmd', 'will_reboot': 'sometimes'}, 'on_request'),
    ({'description': 'no path'}, 'path'),
])
def test_bad_run_synchronous_commands_are_refused(command, words):
    assert words in str(error_of({'specialize': {'run_synchronous': [command]}}))


# ---------------------------------------------------------------------------------------------- audit passes

def test_audit_passes():
    xml_text = build({
        'audit_system': {'auto_logon': {'username': 'Administrator', 'password': SENTINEL, 'logon_count': 2},
                         'user_accounts': {'administrator_password': SENTINEL}, 'reseal': {'mode': 'oobe'}},
        'audit_user': {'generalize': {'mode': 'oobe', 'force_shutdown_now': True},
                       'run_synchronous': [{'path': r'C:\Setup\audit.cmd'}]},
    }).xml
    assert passes_and_components(xml_text) == {
        'specialize': {'Microsoft-Windows-Shell-Setup'},
        'auditSystem': {'Microsoft-Windows-Shell-Setup', 'Microsoft-Windows-Deployment'},
        'auditUser': {'Microsoft-Windows-Deployment'}}
    generalize = component(xml_text, 'auditUser', 'Microsoft-Windows-Deployment').find('u:Generalize', NS)
    assert [(local(c.tag), c.text) for c in generalize] == [('ForceShutdownNow', 'true'), ('Mode', 'OOBE')]
    shell = component(xml_text, 'auditSystem', 'Microsoft-Windows-Shell-Setup')
    assert child_tags(shell) == ['AutoLogon', 'UserAccounts']


def test_generalize_and_reseal_together_are_refused():
    error = error_of({'audit_user': {'generalize': {'mode': 'oobe'}, 'reseal': {'mode': 'audit'}}})
    assert error.setting == 'audit_user.reseal'


@pytest.mark.parametrize('settings, setting', [
    ({'audit_system': {'reseal': {'mode': 'audit', 'force_shutdown_now': True}}},
     'audit_system.reseal.force_shutdown_now'),
    ({'oobe_system': {'reseal': {'mode': 'oobe', 'force_shutdown_now': True}}},
     'oobe_system.reseal.force_shutdown_now'),
    ({'oobe_system': {'reseal': {'force_shutdown_now': False}}}, 'oobe_system.reseal.mode'),
    ({'audit_user': {'generalize': {'mode': 'sleep'}}}, 'audit_user.generalize.mode'),
])
def test_unsupported_reseal_and_generalize_combinations_are_refused(settings, setting):
    assert error_of(settings).setting == setting


# ---------------------------------------------------------------------------------------------- oobeSystem

def test_oobe_system_components_and_order():
    xml_text = build(KITCHEN_SINK).xml
    international = component(xml_text, 'oobeSystem', 'Microsoft-Windows-International-Core')
    assert [(local(c.tag), c.text) for c in international] == [
        ('InputLocale', '0409:00000409'), ('SystemLocale', 'en-US'), ('UILanguage', 'en-US'),
        ('UILanguageFallback', 'en-US'), ('UserLocale', 'en-US')]
    shell = component(xml_text, 'oobeSystem', 'Microsoft-Windows-Shell-Setup')
    assert child_tags(shell) == ['AutoLogon', 'FirstLogonCommands', 'OOBE', 'TimeZone', 'UserAccounts']
    oobe = shell.find('u:OOBE', NS)
    assert [(local(c.tag), c.text) for c in oobe] == [
        ('HideEULAPage', 'true'), ('HideLocalAccountScreen', 'true'), ('HideOEMRegistrationScreen', 'true'),
        ('HideOnlineAccountScreens', 'true'), ('HideWirelessSetupInOOBE', 'true'), ('NetworkLocation', 'Work'),
        ('ProtectYourPC', '3')]
    auto_logon = shell.find('u:AutoLogon', NS)
    assert child_tags(auto_logon) == ['Enabled', 'LogonCount', 'Password', 'Username']
    commands = shell.findall('u:FirstLogonCommands/u:SynchronousCommand', NS)
    assert [c.find('u:Order', NS).text for c in commands] == ['1', '2']
    assert commands[1].find('u:RequiresUserInput', NS).text == 'false'
    account = shell.find('u:UserAccounts/u:LocalAccounts/u:LocalAccount', NS)
    assert child_tags(account) == ['Password', 'Description', 'DisplayName', 'Group', 'Name']


def test_reseal_only_when_asked():
    assert component(build(KITCHEN_SINK).xml, 'oobeSystem', 'Microsoft-Windows-Deployment') is None
    reseal = component(build({'oobe_system': {'reseal': {'mode': 'audit'}}}).xml, 'oobeSystem',
                       'Microsoft-Windows-Deployment').find('u:Reseal', NS)
    assert [(local(c.tag), c.text) for c in reseal] == [('ForceShutdownNow', 'false'), ('Mode', 'Audit')]


@pytest.mark.parametrize('key', ['skip_machine_oobe', 'skip_user_oobe'])
def test_deprecated_skip_oobe_settings_warn(key):
    result = build({'oobe_system': {'oobe': {key: True}}})
    assert any('deprecated' in warning for warning in result.warnings)


def test_auto_logon_without_logon_count_warns():
    result = build({'oobe_system': {'auto_logon': {'username': 'ops', 'password': SENTINEL}}})
    assert any('logon_count' in warning for warning in result.warnings)
    assert SENTINEL not in ' '.join(result.warnings)


@pytest.mark.parametrize('oobe_system, setting', [
    ({'oobe': {'protect_your_pc': 4}}, 'oobe_system.oobe.protect_your_pc'),
    ({'oobe': {'network_location': 'office'}}, 'oobe_system.oobe.network_location'),
    ({'oobe': {'hide_eula_page': 'maybe'}}, 'oobe_system.oobe.hide_eula_page'),
    ({'international': {'ui_language': 'en US'}}, 'oobe_system.international.ui_language'),
    ({'international': {}}, 'oobe_system.international'),
    ({'user_accounts': {}}, 'oobe_system.user_accounts'),
    ({'user_accounts': {'local_accounts': [{'name': 'ops'}]}}, 'oobe_system.user_accounts.local_accounts[0].password'),
    ({'user_accounts': {'local_accounts': [{'name': 'a' * 21, 'password': SENTINEL}]}},
     'oobe_system.user_accounts.local_accounts[0].name'),
    ({'auto_logon': {'username': 'ops'}}, 'oobe_system.auto_logon.password'),
    ({'auto_logon': {'password': SENTINEL}}, 'oobe_system.auto_logon.username'),
    ({'first_logon_commands': [{'description': 'x'}]}, 'oobe_system.first_logon_commands[0].command_line'),
    ({'first_logon_commands': 'cmd /c x'}, 'oobe_system.first_logon_commands'),
])
def test_bad_oobe_settings_name_the_setting(oobe_system, setting):
    error = error_of({'oobe_system': oobe_system})
    assert error.setting == setting
    assert SENTINEL not in str(error)


def test_ansible_style_strings_are_accepted_for_flags_and_numbers():
    xml_text = build({'oobe_system': {'oobe': {'hide_eula_page': 'yes', 'protect_your_pc': '1',
                                               'network_location': 'Other'}}}).xml
    oobe = component(xml_text, 'oobeSystem', 'Microsoft-Windows-Shell-Setup').find('u:OOBE', NS)
    assert [(local(c.tag), c.text) for c in oobe] == [('HideEULAPage', 'true'), ('NetworkLocation', 'Other'),
                                                      ('ProtectYourPC', '1')]


# ---------------------------------------------------------------------------------------------- passwords

# Values from Microsoft's Unattended Windows Setup Reference examples (PlainText false).
MICROSOFT_HIDDEN_EXAMPLES = [
    ('cAB3AEEAZABtAGkAbgBpAHMAdAByAGEAdABvAHIAUABhAHMAcwB3AG8AcgBkAA==', 'AdministratorPassword', 'pw'),
    ('cABhAHMAcwB3AG8AcgBkAFAAYQBzAHMAdwBvAHIAZAA=', 'Password', 'password'),
    ('cAB3AFAAYQBzAHMAdwBvAHIAZAA', 'Password', 'pw'),  # printed without its base64 padding
]


@pytest.mark.parametrize('value, element, password', MICROSOFT_HIDDEN_EXAMPLES)
def test_obfuscation_matches_microsofts_examples(value, element, password):
    assert deobfuscate_password(value, element) == password
    assert obfuscate_password(password, element).rstrip('=') == value.rstrip('=')


@given(password=st.text(min_size=1), element=st.sampled_from(['AdministratorPassword', 'Password']))
@hypothesis_settings(max_examples=200, deadline=None)
def test_obfuscation_round_trip(password, element):
    hidden = obfuscate_password(password, element)
    assert deobfuscate_password(hidden, element) == password
    assert base64.b64decode(hidden).decode('utf-16-le') == password + element


def test_deobfuscate_refuses_a_foreign_value_without_echoing_it():
    with pytest.raises(AnswerFileError) as caught:
        deobfuscate_password(obfuscate_password(SENTINEL, 'Password'), 'AdministratorPassword')
    assert SENTINEL not in str(caught.value)
    with pytest.raises(AnswerFileError):
        deobfuscate_password('not base64 !!', 'Password')


def test_built_passwords_are_hidden_and_round_trip():
    result = build(KITCHEN_SINK)
    root = root_of(result.xml)
    hidden = root.findall('.//u:AdministratorPassword', NS) + root.findall('.//u:Password[u:Value]', NS)
    assert len(hidden) == 5  # two AdministratorPassword, two AutoLogon, one LocalAccount
    for element in hidden:
        assert element.find('u:PlainText', NS).text == 'false'
        assert deobfuscate_password(element.find('u:Value', NS).text, local(element.tag)) == SENTINEL
    # the domain-join password has no hidden form in this builder: it is listed as a secret all the same
    assert SENTINEL in result.xml
    assert 'specialize/Microsoft-Windows-UnattendedJoin/Identification/Credentials/Password' in result.secret_paths


@pytest.mark.parametrize('hide', [True, False])
def test_passwords_keep_surrounding_spaces(hide):
    password = '  ' + SENTINEL + ' '
    admin = root_of(build({'hide_passwords': hide, 'oobe_system': {'user_accounts': {
        'administrator_password': password}}}).xml).find('.//u:AdministratorPassword/u:Value', NS)
    assert (deobfuscate_password(admin.text, 'AdministratorPassword') if hide else admin.text) == password


def test_hide_passwords_false_writes_plain_text():
    result = build({'hide_passwords': False, 'oobe_system': {'user_accounts': {'administrator_password': SENTINEL}}})
    admin = root_of(result.xml).find('.//u:AdministratorPassword', NS)
    assert admin.find('u:Value', NS).text == SENTINEL and admin.find('u:PlainText', NS).text == 'true'


def test_secret_paths_cover_every_password_and_nothing_else():
    result = build(KITCHEN_SINK)
    assert result.contains_password
    assert result.secret_paths == sorted([
        'auditSystem/Microsoft-Windows-Shell-Setup/AutoLogon/Password/Value',
        'auditSystem/Microsoft-Windows-Shell-Setup/UserAccounts/AdministratorPassword/Value',
        'oobeSystem/Microsoft-Windows-Shell-Setup/AutoLogon/Password/Value',
        'oobeSystem/Microsoft-Windows-Shell-Setup/UserAccounts/AdministratorPassword/Value',
        'oobeSystem/Microsoft-Windows-Shell-Setup/UserAccounts/LocalAccounts/LocalAccount/Password/Value',
        'specialize/Microsoft-Windows-UnattendedJoin/Identification/Credentials/Password',
    ])
    # every leaf outside the secret paths is free of the password (hidden or plain)
    hidden = {obfuscate_password(SENTINEL, name) for name in ('Password', 'AdministratorPassword')}
    for (path, text), _count in leaf_values(result.xml).items():
        if path not in result.secret_paths:
            assert SENTINEL not in text and text not in hidden


INVALID_WITH_PASSWORDS = [
    sink(specialize__computer_name='bad_name'),
    sink(architecture='x64'),
    sink(generalize__skip_rearm=1),
    sink(specialize__domain_join={'domain': 'corp.example.com', 'password': SENTINEL}),
    sink(specialize__domain_join={'domain': 'corp.example.com', 'username': 'u', 'password': SENTINEL + '\x07'}),
    sink(oobe_system__auto_logon={'username': 'ops', 'password': SENTINEL + '\x00'}),
    sink(oobe_system__user_accounts={'administrator_password': [SENTINEL]}),
    sink(oobe_system__user_accounts={'administrator_password': SENTINEL, 'pasword': SENTINEL}),
    sink(mode_vm=True, audit_user={'generalize': {'mode': 'oobe'}}),
    sink(specialize__network={'interfaces': [{'mac': '00-11-22-33-44-55', 'ipv4': {'addresses': ['1.2.3.4']}}]}),
]


@pytest.mark.parametrize('settings', INVALID_WITH_PASSWORDS)
def test_errors_never_contain_a_password(settings):
    error = error_of(settings)
    for text in (str(error), repr(error), error.setting, error.problem, error.fix):
        assert SENTINEL not in text
    hidden = obfuscate_password(SENTINEL, 'Password')
    assert hidden not in str(error)


def test_warnings_never_contain_a_password():
    result = build(sink(image_stage='intermediate', generalize__skip_rearm=1, mode_vm=True,
                        oobe_system__auto_logon={'username': 'ops', 'password': SENTINEL}))
    assert len(result.warnings) >= 3
    assert SENTINEL not in ' '.join(result.warnings)


# ---------------------------------------------------------------------------------------------- escaping

NASTY = 'A & B <c> "d" \'e\' ]]> & done'


@pytest.mark.parametrize('settings, path', [
    ({'specialize': {'registered_owner': NASTY}}, 'specialize/Microsoft-Windows-Shell-Setup/RegisteredOwner'),
    ({'specialize': {'run_synchronous': [{'path': 'cmd /c "a & b" > c', 'description': NASTY}]}},
     'specialize/Microsoft-Windows-Deployment/RunSynchronous/RunSynchronousCommand/Description'),
    ({'oobe_system': {'first_logon_commands': [{'command_line': NASTY}]}},
     'oobeSystem/Microsoft-Windows-Shell-Setup/FirstLogonCommands/SynchronousCommand/CommandLine'),
    ({'specialize': {'domain_join': {'domain': 'corp.example.com', 'username': 'u', 'password': NASTY}}},
     'specialize/Microsoft-Windows-UnattendedJoin/Identification/Credentials/Password'),
    ({'hide_passwords': False, 'oobe_system': {'user_accounts': {'administrator_password': NASTY}}},
     'oobeSystem/Microsoft-Windows-Shell-Setup/UserAccounts/AdministratorPassword/Value'),
    ({'extra_components': [{'pass': 'oobeSystem', 'component': 'Microsoft-Windows-Shell-Setup',
                            'settings': {'OEMInformation': {'Manufacturer': NASTY}}}]},
     'oobeSystem/Microsoft-Windows-Shell-Setup/OEMInformation/Manufacturer'),
])
def test_special_characters_are_escaped_and_survive(settings, path):
    xml_text = build(settings).xml
    assert (path, NASTY) in leaf_values(xml_text)
    assert '&amp;' in xml_text and '&lt;c&gt;' in xml_text
    assert '<c>' not in xml_text


def test_attribute_values_are_escaped():
    settings = {'extra_components': [{'pass': 'windowsPE', 'component': 'Microsoft-Windows-PnpCustomizationsWinPE',
                                      'settings': {'DriverPaths': {'PathAndCredentials': [
                                          {'wcm_key_value': 'a"&<b', 'Path': r'D:\Drivers'}]}}}]}
    item = root_of(build(settings).xml).find('.//u:PathAndCredentials', NS)
    assert item.get(WCM + 'keyValue') == 'a"&<b'


@pytest.mark.parametrize('bad', ['\x00', '\x07', '\x1b', '\ufffe', '\r', '\n'])
def test_characters_xml_cannot_hold_are_refused(bad):
    error = error_of({'specialize': {'registered_owner': 'abc' + bad}})
    assert error.setting == 'specialize.registered_owner' and 'position 4' in error.problem


@given(st.text(max_size=40))
@hypothesis_settings(max_examples=150, deadline=None)
def test_any_free_text_is_written_faithfully_or_refused(text):
    try:
        result = build({'specialize': {'registered_organization': text},
                        'oobe_system': {'first_logon_commands': [{'command_line': text or 'x'}]}})
    except AnswerFileError as error:
        assert error.setting.startswith(('specialize.registered_organization', 'oobe_system.first_logon_commands'))
        return
    values = leaf_values(result.xml)
    assert ('specialize/Microsoft-Windows-Shell-Setup/RegisteredOrganization', text) in values
    assert check_answer_file_structure(result.xml) == []


# ---------------------------------------------------------------------------------------------- extra components

def test_extra_components_merge_and_refuse_overlap():
    settings = {'specialize': {'time_zone': 'UTC'}, 'extra_components': [
        {'pass': 'specialize', 'component': 'Microsoft-Windows-Shell-Setup',
         'settings': {'OEMInformation': {'HelpCustomized': False}}}]}
    shell = component(build(settings).xml, 'specialize', 'Microsoft-Windows-Shell-Setup')
    assert child_tags(shell) == ['ComputerName', 'TimeZone', 'OEMInformation']
    settings['extra_components'][0]['settings'] = {'TimeZone': 'UTC'}
    error = error_of(settings)
    assert error.setting == 'extra_components[0].settings.TimeZone'


def test_extra_component_lists():
    settings = {'extra_components': [{'pass': 'specialize', 'component': 'Microsoft-Windows-Example',
                                      'settings': {'Servers': {'Server': ['a', 'b']},
                                                   'Items': {'Item': [{'Name': 'x'}, {'Name': 'y'}]}}}]}
    comp = component(build(settings).xml, 'specialize', 'Microsoft-Windows-Example')
    servers = [(s.get(WCM + 'keyValue'), s.text) for s in comp.findall('u:Servers/u:Server', NS)]
    assert servers == [('1', 'a'), ('2', 'b')]
    items = comp.findall('u:Items/u:Item', NS)
    assert [i.get(WCM + 'action') for i in items] == ['add', 'add']
    assert all(i.get(WCM + 'keyValue') is None for i in items)


@pytest.mark.parametrize('item, setting', [
    ({'component': 'X', 'settings': {'A': 1}}, 'extra_components[0].pass'),
    ({'pass': 'later', 'component': 'X', 'settings': {'A': 1}}, 'extra_components[0].pass'),
    ({'pass': 'specialize', 'component': 'bad name', 'settings': {'A': 1}}, 'extra_components[0].component'),
    ({'pass': 'specialize', 'component': 'X', 'settings': {}}, 'extra_components[0].settings'),
    ({'pass': 'specialize', 'component': 'X', 'settings': {'bad name': 1}}, 'extra_components[0].settings.bad name'),
    ({'pass': 'specialize', 'component': 'X', 'settings': {'A': None}}, 'extra_components[0].settings.A'),
    ({'pass': 'specialize', 'component': 'X', 'settings': {'A': {}}}, 'extra_components[0].settings.A'),
])
def test_bad_extra_components_are_refused(item, setting):
    assert error_of({'extra_components': [item]}).setting == setting


def test_extra_component_secrets_are_reported():
    result = build({'extra_components': [{'pass': 'specialize', 'component': 'Microsoft-Windows-Example',
                                          'settings': {'Credentials': {'Password': SENTINEL}}}]})
    assert result.secret_paths == ['specialize/Microsoft-Windows-Example/Credentials/Password']
    assert result.contains_password


def test_setup_only_passes_warn():
    result = build({'extra_components': [{'pass': 'windowsPE', 'component': 'Microsoft-Windows-Setup',
                                          'settings': {'EnableFirewall': False}}]})
    assert any('windowsPE' in warning and 'sysprep' in warning for warning in result.warnings)


# ---------------------------------------------------------------------------------------------- real files

def reference(name):
    return (DATA / name).read_bytes()


REFERENCE_EQUIVALENTS = {
    'gce_compute_image_windows_unattended.xml': {
        'generalize': {'persist_all_device_installs': True},
        'specialize': {'computer_name': '', 'time_zone': 'Greenwich Standard Time', 'extend_os_partition': True},
        'oobe_system': {
            'international': {'input_locale': 'en-us', 'system_locale': 'en-us', 'ui_language': 'en-us',
                              'user_locale': 'en-us'},
            'time_zone': 'Greenwich Standard Time',
            'oobe': {'hide_eula_page': True, 'network_location': 'Other', 'protect_your_pc': 1,
                     'skip_machine_oobe': True, 'skip_user_oobe': True}},
        'extra_components': [{'pass': 'oobeSystem', 'component': 'Microsoft-Windows-Shell-Setup', 'settings': {
            'ShowWindowsLive': False,
            'OEMInformation': {'Manufacturer': 'Google Cloud Platform', 'Model': 'Google Compute Engine Virtual Machine',
                               'SupportURL': 'https://support.google.com/enterprisehelp/answer/142244?hl=en#cloud',
                               'Logo': r'C:\Program Files\Google Compute Engine\sysprep\gcp.bmp'}}}],
    },
    'cloudbase_init_installer_unattend.xml': {
        'generalize': {'persist_all_device_installs': True},
        'specialize': {'computer_name': False, 'run_synchronous': [{
            'path': 'cmd.exe /c ""%INSTALLDIR%Python\\Scripts\\cloudbase-init.exe" --config-file '
                    '"%CLOUDBASEINITCONFFOLDER%cloudbase-init-unattend.conf" && exit 1 || exit 2"',
            'description': 'Run Cloudbase-Init to set the hostname', 'will_reboot': 'on_request'}]},
        'oobe_system': {'oobe': {'hide_eula_page': True, 'network_location': 'work', 'protect_your_pc': 1,
                                 'skip_machine_oobe': True, 'skip_user_oobe': True}},
    },
    'stefanscherer_packer_windows_unattend.xml': {
        'hide_passwords': False,
        'generalize': {'skip_rearm': 0},
        'specialize': {'computer_name': 'vagrant', 'copy_profile': False},
        'oobe_system': {
            'oobe': {'hide_eula_page': True, 'protect_your_pc': 3, 'network_location': 'work',
                     'hide_wireless_setup_in_oobe': True, 'skip_user_oobe': True, 'skip_machine_oobe': True},
            'auto_logon': {'username': 'vagrant', 'password': 'vagrant', 'enabled': True, 'logon_count': 1}},
    },
    'rancher_windows_ws2025_sysprep_unattend.pkrtpl.xml': {
        'hide_passwords': False,
        'image_stage': 'intermediate',
        'generalize': {'skip_rearm': 1, 'persist_all_device_installs': True,
                       'do_not_clean_up_non_present_devices': True},
        'specialize': {'computer_name': False, 'time_zone': '${vm_guest_os_timezone}', 'registered_owner': ''},
        'oobe_system': {
            'international': {'input_locale': '${vm_inst_os_keyboard}', 'system_locale': '${vm_inst_os_language}',
                              'ui_language': '${vm_inst_os_language}',
                              'ui_language_fallback': '${vm_inst_os_language}',
                              'user_locale': '${vm_inst_os_language}'},
            'auto_logon': {'username': '${build_username}', 'password': '${build_password}', 'enabled': True},
            'oobe': {'hide_eula_page': True, 'hide_local_account_screen': True,
                     'hide_oem_registration_screen': True, 'hide_online_account_screens': True,
                     'hide_wireless_setup_in_oobe': True, 'network_location': 'work', 'protect_your_pc': 2},
            'user_accounts': {
                'administrator_password': '${build_password}',
                'local_accounts': [{'password': '${build_password}', 'group': 'administrators',
                                    'display_name': '${build_username}', 'name': '${build_username}',
                                    'description': 'Build Account'}]},
            'first_logon_commands': [
                {'command_line': r'%SystemRoot%\system32\WindowsPowerShell\v1.0\powershell.exe -Command '
                                 r'"Set-ExecutionPolicy -ExecutionPolicy RemoteSigned -Force"',
                 'description': 'Set Execution Policy 64-Bit', 'requires_user_input': True},
                {'command_line': r'%SystemRoot%\system32\WindowsPowerShell\v1.0\powershell.exe -Command '
                                 r'"Set-ExecutionPolicy -ExecutionPolicy RemoteSigned -Force"',
                 'description': 'Set Execution Policy 32-Bit', 'requires_user_input': True}]},
        'extra_components': [
            {'pass': 'windowsPE', 'component': 'Microsoft-Windows-International-Core-WinPE', 'settings': {
                'SetupUILanguage': {'UILanguage': '${vm_inst_os_language}'},
                'InputLocale': '${vm_inst_os_keyboard}', 'SystemLocale': '${vm_inst_os_language}',
                'UILanguage': '${vm_inst_os_language}', 'UILanguageFallback': '${vm_inst_os_language}',
                'UserLocale': '${vm_inst_os_language}'}},
            {'pass': 'windowsPE', 'component': 'Microsoft-Windows-PnpCustomizationsWinPE', 'settings': {
                'DriverPaths': {'PathAndCredentials': [{
                    'wcm_key_value': '1',
                    'Path': r'E:\Program Files\VMware\VMware Tools\Drivers\pvscsi\Win8\amd64'}]}}},
            {'pass': 'windowsPE', 'component': 'Microsoft-Windows-Setup', 'settings': {
                'UserData': {'AcceptEula': True, 'FullName': '${build_username}',
                             'Organization': '${build_username}', 'ProductKey': ''},
                'EnableFirewall': False}},
            {'pass': 'offlineServicing', 'component': 'Microsoft-Windows-LUA-Settings',
             'settings': {'EnableLUA': False}},
            {'pass': 'specialize', 'component': 'Microsoft-Windows-Shell-Setup',
             'settings': {'OEMInformation': {'HelpCustomized': False}}},
            {'pass': 'specialize', 'component': 'Microsoft-Windows-ServerManager-SvrMgrNc',
             'settings': {'DoNotOpenServerManagerAtLogon': True}},
            {'pass': 'specialize', 'component': 'Microsoft-Windows-OutOfBoxExperience',
             'settings': {'DoNotOpenInitialConfigurationTasksAtLogon': True}},
            {'pass': 'specialize', 'component': 'Microsoft-Windows-Security-SPP-UX',
             'settings': {'SkipAutoActivation': True}},
        ],
    },
}


@pytest.mark.parametrize('name', sorted(REFERENCE_EQUIVALENTS))
def test_equivalent_settings_rebuild_the_structure_of_real_answer_files(name):
    real = reference(name)
    built = build(REFERENCE_EQUIVALENTS[name]).xml
    assert passes_and_components(built) == passes_and_components(real)
    assert set(describe_answer_file(built)['setting_paths']) == set(describe_answer_file(real)['setting_paths'])
    # and the same values, so mapping and escaping (&&, quotes, backslashes) are right too
    assert leaf_values(built) == leaf_values(real.decode('utf-8'))


@pytest.mark.parametrize('name', sorted(REFERENCE_EQUIVALENTS))
def test_real_files_and_their_rebuilds_pass_the_structural_check(name):
    assert check_answer_file_structure(build(REFERENCE_EQUIVALENTS[name]).xml) == []
    problems = check_answer_file_structure(reference(name))
    if name.startswith('cloudbase'):
        # an MSI-time placeholder, not an architecture: one problem per component
        assert len(problems) == 3 and all("'%ARCH%'" in problem for problem in problems)
    else:
        assert problems == []


def test_real_file_secrets_are_found():
    rancher = describe_answer_file(reference('rancher_windows_ws2025_sysprep_unattend.pkrtpl.xml'))
    assert rancher['contains_password']
    assert 'oobeSystem/Microsoft-Windows-Shell-Setup/UserAccounts/AdministratorPassword/Value' in rancher[
        'secret_paths']
    gce = describe_answer_file(reference('gce_compute_image_windows_unattended.xml'))
    assert gce['secret_paths'] == [] and not gce['contains_password']


# ---------------------------------------------------------------------------------------------- structure check

GOOD = build(KITCHEN_SINK).xml


@pytest.mark.parametrize('broken, expected', [
    (GOOD.replace('urn:schemas-microsoft-com:unattend', 'urn:example'), 'root element'),
    (GOOD.replace('pass="specialize"', 'pass="later"', 1), "'later'"),
    (GOOD.replace('pass="generalize"', 'pass="specialize"', 1), 'appears twice'),
    (GOOD.replace('publicKeyToken="31bf3856ad364e35"', 'publicKeyToken="0"', 1), 'publicKeyToken'),
    (GOOD.replace('processorArchitecture="amd64"', 'processorArchitecture="x64"', 1), 'processorArchitecture'),
    (GOOD.replace('versionScope="nonSxS"', 'versionScope="SxS"', 1), 'versionScope'),
    (GOOD.replace('wcm:action="add"', 'wcm:action="append"', 1), 'wcm:action'),
    (GOOD.replace('<PlainText>false</PlainText>', '<PlainText>maybe</PlainText>', 1), 'PlainText'),
    (GOOD.replace('</unattend>', ''), 'not well-formed'),
    ('<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><unattend xmlns="urn:schemas-microsoft-com:unattend"/>',
     'DOCTYPE'),
])
def test_structural_check_reports_problems(broken, expected):
    problems = check_answer_file_structure(broken)
    assert problems and any(expected in problem for problem in problems)


def test_structural_check_finds_duplicate_components():
    duplicate = GOOD.replace('name="Microsoft-Windows-Security-SPP"', 'name="Microsoft-Windows-PnpSysprep"')
    assert any('appears twice' in problem for problem in check_answer_file_structure(duplicate))


def test_utf16_answer_files_are_read():
    data = GOOD.replace('encoding="utf-8"', 'encoding="utf-16"').encode('utf-16')
    assert check_answer_file_structure(data) == []
    assert describe_answer_file(data)['passes'] == describe_answer_file(GOOD)['passes']


# ---------------------------------------------------------------------------------------------- cleanup

def test_setupcomplete_cleanup_deletes_every_answer_file_copy():
    script = setupcomplete_cleanup_script([r'C:\Windows\Temp\winimage-unattend.xml'])
    assert script.endswith('\r\n') and '\n' not in script.replace('\r\n', '')
    lines = script.split('\r\n')
    deleted = [re.match(r'^del /f /q "([^"]+)" >nul 2>&1$', line).group(1) for line in lines if
               line.startswith('del ')]
    for required in (r'%WINDIR%\Panther\unattend.xml', r'%WINDIR%\Panther\Unattend\*.xml',
                     r'%WINDIR%\System32\Sysprep\unattend.xml', r'C:\Windows\Temp\winimage-unattend.xml'):
        assert required in deleted
    assert lines[0] == '@echo off'
    assert not any(line.lower().startswith('echo') for line in lines)
    assert unattend.SETUPCOMPLETE_PATH == r'%WINDIR%\Setup\Scripts\SetupComplete.cmd'


def test_setupcomplete_cleanup_without_extra_paths_and_duplicates():
    assert setupcomplete_cleanup_script() == setupcomplete_cleanup_script([])
    assert setupcomplete_cleanup_script([r'%WINDIR%\Panther\unattend.xml']) == setupcomplete_cleanup_script()


@pytest.mark.parametrize('path', ['unattend.xml', r'C:\a"b.xml', 'C:\\a\r\ndel C:\\x', '', 5, r'\\server\share\u.xml'])
def test_setupcomplete_cleanup_refuses_unsafe_paths(path):
    with pytest.raises(AnswerFileError) as caught:
        setupcomplete_cleanup_script([path])
    assert caught.value.setting == 'extra_paths[0]'


# ---------------------------------------------------------------------------------------------- documentation

def accepted_keys():
    """Every settings key the builder accepts, read from its key tables."""
    keys = set()
    for name in dir(unattend):
        value = getattr(unattend, name)
        if name.startswith('_') and name.endswith('_KEYS') and isinstance(value, tuple):
            keys.update(key if isinstance(key, str) else key[0] for key in value)
    keys.update(key for key, _tag in unattend._OOBE_FLAGS + unattend._VM_MODE_FLAGS)
    keys.add(unattend._KEY_VALUE)
    return keys


def test_every_accepted_key_is_documented():
    docs = (Path(__file__).resolve().parents[4] / 'docs' / 'answer-file.md').read_text(encoding='utf-8')
    keys = accepted_keys()
    assert {'computer_name', 'dns_servers', 'skip_rearm', 'next_hop', 'hide_eula_page', 'wcm_key_value'} <= keys
    missing = sorted(key for key in keys if '`%s`' % key not in docs)
    assert missing == []
