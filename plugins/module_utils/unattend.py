# -*- coding: utf-8 -*-
# Copyright: (c) 2026, winimage.generalize contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Answer-file (unattend.xml) builder for sysprep /generalize.

The answer file is built from a structured settings mapping (snake_case keys, as Ansible variables
are written) with xml.etree.ElementTree, never by pasting strings. The settings reference lives in
docs/answer-file.md; every key accepted here is documented there.

Public API:
  build_answer_file(settings)        -> AnswerFile(xml, warnings, secret_paths, contains_password)
  describe_answer_file(xml_text)     -> passes, components, setting paths and secret paths of any answer file
  check_answer_file_structure(xml)   -> list of structural problems (empty when the file is sound)
  obfuscate_password / deobfuscate_password (the Windows SIM "hide sensitive data" encoding)
  setupcomplete_cleanup_script(...)  -> SetupComplete.cmd text that deletes the answer files after deployment
  AnswerFileError                    -> raised for bad settings; the message names the setting and the fix,
                                        and never contains a password.

This module runs on the controller and may run on Linux image hosts (offline facts), so it keeps to the
standard library and avoids syntax newer than Python 3.8.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import binascii
import difflib
import ipaddress
import re
import xml.etree.ElementTree as ET
from collections import namedtuple
from collections.abc import Mapping


UNATTEND_NS = 'urn:schemas-microsoft-com:unattend'
WCM_NS = 'http://schemas.microsoft.com/WMIConfig/2002/State'
XSI_NS = 'http://www.w3.org/2001/XMLSchema-instance'
PUBLIC_KEY_TOKEN = '31bf3856ad364e35'
ARCHITECTURES = ('amd64', 'x86', 'arm64')
# Windows Setup's configuration passes, in the order Windows System Image Manager writes them.
PASS_ORDER = ('windowsPE', 'offlineServicing', 'generalize', 'specialize', 'auditSystem', 'auditUser', 'oobeSystem')
# Passes that never run when Windows boots after `sysprep /generalize`: they belong to setup from media.
SETUP_ONLY_PASSES = ('windowsPE', 'offlineServicing')

SETUPCOMPLETE_PATH = r'%WINDIR%\Setup\Scripts\SetupComplete.cmd'
# Where an answer file given to sysprep, or found by Windows Setup, can remain in the deployed image.
ANSWER_FILE_COPIES = (
    r'%WINDIR%\Panther\unattend.xml',
    r'%WINDIR%\Panther\Unattend\*.xml',
    r'%WINDIR%\System32\Sysprep\unattend.xml',
)

# Element names whose text (or whose <Value> child) carries a secret.
SECRET_ELEMENTS = ('Password', 'AdministratorPassword', 'MachinePassword')

HYPERVISOR_LAUNCH_COMMAND = r'%WINDIR%\System32\bcdedit.exe /set hypervisorlaunchtype auto'

AnswerFile = namedtuple('AnswerFile', ['xml', 'warnings', 'secret_paths', 'contains_password'])

_XML_DECLARATION = '<?xml version="1.0" encoding="utf-8"?>\n'
# Characters XML 1.0 cannot carry at all, even escaped.
_INVALID_XML_CHARS = re.compile(u'[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]')
_COMPUTER_NAME = re.compile(r'^[A-Za-z0-9](?:[A-Za-z0-9-]{0,13}[A-Za-z0-9])?$')
_DNS_NAME = re.compile(r'^(?=.{1,255}$)[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?'
                       r'(?:\.[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)*\.?$')
_MAC = re.compile(r'^[0-9A-Fa-f]{2}([-:]?)[0-9A-Fa-f]{2}(?:\1[0-9A-Fa-f]{2}){4}$')
_COMPONENT_NAME = re.compile(r'^[A-Za-z][A-Za-z0-9.-]*$')
_ELEMENT_NAME = re.compile(r'^[A-Za-z][A-Za-z0-9_.-]*$')
# The shutdown program as a command word (not inside a file name such as prevent-shutdown.cmd), or the cmdlets.
_SHUTDOWN_COMMAND = re.compile(r'(^|[\s&|"\\/])shutdown(\.exe)?(\s|"|$)|\b(restart|stop)-computer\b', re.IGNORECASE)
_RUN_PATH_MAX = 259  # Microsoft-Windows-Deployment | RunSynchronousCommand | Path and Description limit


class AnswerFileError(ValueError):
    """A settings problem a user can fix. The message names the setting, the problem and the fix.

    Messages are built from setting names and non-secret values only, so they can be shown and logged.
    """

    def __init__(self, setting, problem, fix):
        self.setting = setting
        self.problem = problem
        self.fix = fix
        super(AnswerFileError, self).__init__('%s: %s. Fix: %s' % (setting or 'settings', problem, fix))


# --------------------------------------------------------------------------------------------------
# Reading the settings mapping with validation
# --------------------------------------------------------------------------------------------------

_TRUE_WORDS = ('true', 'yes', 'on', '1')
_FALSE_WORDS = ('false', 'no', 'off', '0')

# Keys users reach for in the wrong place, with where they belong.
_KEY_HINTS = {
    'generalize': 'the Microsoft-Windows-Deployment Generalize setting is only valid in the auditUser pass; '
                  'set it as audit_user.generalize',
    'deployment_generalize': 'the Microsoft-Windows-Deployment Generalize setting is only valid in the auditUser '
                             'pass; set it as audit_user.generalize',
    'reseal': 'Reseal is valid in the auditSystem, auditUser and oobeSystem passes: set it under audit_system, '
              'audit_user or oobe_system',
    'oobe': 'OOBE settings belong to the oobeSystem pass: set them as oobe_system.oobe',
    'skip_rearm': 'SkipRearm is a generalize-pass setting: set it as generalize.skip_rearm',
    'mode_vm': 'mode_vm is a top-level key of the settings mapping',
}


def _type_name(value):
    if isinstance(value, bool):
        return 'a boolean'
    if isinstance(value, int):
        return 'a number'
    if isinstance(value, str):
        return 'a string'
    if isinstance(value, Mapping):
        return 'a mapping'
    if isinstance(value, (list, tuple)):
        return 'a list'
    if value is None:
        return 'null'
    return 'a %s' % type(value).__name__


def _check_xml_text(setting, text, secret=False):
    """Refuse what an answer file cannot carry faithfully; for secrets say where, never what.

    Line breaks are refused too: XML parsers turn CR and CRLF into LF, so the value Windows reads would
    differ from the one given.
    """
    bad = _INVALID_XML_CHARS.search(text) or re.search(r'[\r\n]', text)
    if bad:
        what = 'a character' if secret else 'the character U+%04X' % ord(bad.group())
        raise AnswerFileError(setting, 'contains %s at position %d that an answer file cannot hold faithfully'
                              % (what, bad.start() + 1), 'remove control characters and line breaks from the value')


class _Settings:
    """One mapping of the user's settings, checked for unknown keys; `where` is its dotted path."""

    def __init__(self, data, where, allowed):
        if not isinstance(data, Mapping):
            raise AnswerFileError(where or 'settings', 'must be a mapping of key: value pairs, got %s'
                                  % _type_name(data), 'write it as a dictionary')
        self._data = data
        self.where = where
        unknown = sorted(str(key) for key in data if key not in allowed)
        if unknown:
            self._refuse_unknown_key(unknown[0], allowed)

    def _refuse_unknown_key(self, key, allowed):
        close = difflib.get_close_matches(key, sorted(allowed), n=1)
        if key in _KEY_HINTS:
            fix = _KEY_HINTS[key]
        elif close:
            fix = 'did you mean %r? Allowed keys here: %s' % (close[0], ', '.join(sorted(allowed)))
        else:
            fix = 'allowed keys here: %s' % ', '.join(sorted(allowed))
        raise AnswerFileError(self.path(key), 'unknown setting', fix)

    def path(self, key):
        return '%s.%s' % (self.where, key) if self.where else str(key)

    def has(self, key):
        return self._data.get(key) is not None

    def raw(self, key):
        return self._data.get(key)

    def text(self, key, required=False, default=None, allow_empty=False, max_length=None):
        value = self._data.get(key)
        if value is None:
            if required:
                raise AnswerFileError(self.path(key), 'is required', 'set %s' % self.path(key))
            return default
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            raise AnswerFileError(self.path(key), 'must be a string, got %s' % _type_name(value),
                                  'quote the value')
        value = str(value)
        if not value and not allow_empty:
            raise AnswerFileError(self.path(key), 'must not be empty', 'set a value or remove the key')
        if max_length is not None and len(value) > max_length:
            raise AnswerFileError(self.path(key), 'is %d characters long, the limit is %d' % (len(value), max_length),
                                  'shorten it')
        _check_xml_text(self.path(key), value)
        return value

    def secret(self, key, required=False):
        """A password: a non-empty string; errors never contain the value."""
        value = self._data.get(key)
        if value is None:
            if required:
                raise AnswerFileError(self.path(key), 'is required', 'set %s (keep it in Ansible Vault)'
                                      % self.path(key))
            return None
        if not isinstance(value, str):
            raise AnswerFileError(self.path(key), 'must be a string, got %s' % _type_name(value),
                                  'quote the password so YAML keeps it as text (leading zeros, yes/no ...)')
        if not value:
            raise AnswerFileError(self.path(key), 'is empty, which would leave the account without a password',
                                  'set a password')
        _check_xml_text(self.path(key), value, secret=True)
        return value

    def flag(self, key, default=None):
        value = self._data.get(key)
        if value is None:
            return default
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in _TRUE_WORDS + _FALSE_WORDS:
            return value.strip().lower() in _TRUE_WORDS
        raise AnswerFileError(self.path(key), 'must be true or false, got %r' % (value,), 'write true or false')

    def number(self, key, minimum, maximum, default=None):
        value = self._data.get(key)
        if value is None:
            return default
        if isinstance(value, str) and value.strip().isdigit():
            value = int(value.strip())
        if isinstance(value, bool) or not isinstance(value, int):
            raise AnswerFileError(self.path(key), 'must be a whole number, got %r' % (value,),
                                  'write a number between %d and %d' % (minimum, maximum))
        if not minimum <= value <= maximum:
            raise AnswerFileError(self.path(key), 'is %d, outside %d..%d' % (value, minimum, maximum),
                                  'write a number between %d and %d' % (minimum, maximum))
        return value

    def choice(self, key, choices, default=None):
        """`choices` maps the lower-case input word to the value Windows expects."""
        value = self._data.get(key)
        if value is None:
            return default
        word = str(value).strip().lower()
        if isinstance(value, bool) or word not in choices:
            raise AnswerFileError(self.path(key), 'is %r, not one of %s' % (value, ', '.join(choices)),
                                  'use one of %s' % ', '.join(choices))
        return choices[word]

    def section(self, key, allowed):
        value = self._data.get(key)
        if value is None:
            return None
        return _Settings(value, self.path(key), allowed)

    def sections(self, key, allowed):
        value = self._data.get(key)
        if value is None:
            return []
        if not isinstance(value, (list, tuple)):
            raise AnswerFileError(self.path(key), 'must be a list, got %s' % _type_name(value),
                                  'write a YAML list (one "- " item per entry)')
        return [_Settings(item, '%s[%d]' % (self.path(key), index), allowed) for index, item in enumerate(value)]

    def strings(self, key):
        value = self._data.get(key)
        if value is None:
            return []
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, (list, tuple)):
            raise AnswerFileError(self.path(key), 'must be a list of strings, got %s' % _type_name(value),
                                  'write a YAML list')
        result = []
        for index, item in enumerate(value):
            where = '%s[%d]' % (self.path(key), index)
            if isinstance(item, bool) or not isinstance(item, (str, int)) or not str(item):
                raise AnswerFileError(where, 'must be a non-empty string, got %s' % _type_name(item), 'quote it')
            _check_xml_text(where, str(item))
            result.append(str(item))
        return result


# --------------------------------------------------------------------------------------------------
# The XML document being built
# --------------------------------------------------------------------------------------------------

def _xml_value(value):
    if isinstance(value, bool):
        return 'true' if value else 'false'
    return str(value)


def _child(parent, tag, value=None):
    element = ET.SubElement(parent, tag)
    if value is not None:
        element.text = _xml_value(value)
    return element


def _list_item(parent, tag, key_value=None, value=None):
    """A member of an unattend list: wcm:action="add", plus wcm:keyValue for lists keyed by attribute."""
    element = _child(parent, tag, value)
    element.set('wcm:action', 'add')
    if key_value is not None:
        element.set('wcm:keyValue', _xml_value(key_value))
    return element


class _Document:
    """Settings elements per pass and component elements per (pass, component), in creation order.

    Tags are written unqualified with the namespace declarations as attributes, exactly the layout
    Windows System Image Manager produces (xmlns on <unattend>, xmlns:wcm and xmlns:xsi on each
    component), without touching ElementTree's process-wide prefix registry.
    """

    def __init__(self, architecture, hide_passwords):
        self.architecture = architecture
        self.hide_passwords = hide_passwords
        self.root = ET.Element('unattend', {'xmlns': UNATTEND_NS})
        self._passes = {}
        self._components = {}
        self.warnings = []

    def warn(self, message):
        if message not in self.warnings:
            self.warnings.append(message)

    def component(self, pass_name, name):
        key = (pass_name, name)
        if key not in self._components:
            if pass_name not in self._passes:
                self._passes[pass_name] = ET.Element('settings', {'pass': pass_name})
            self._components[key] = ET.SubElement(self._passes[pass_name], 'component', {
                'name': name,
                'processorArchitecture': self.architecture,
                'publicKeyToken': PUBLIC_KEY_TOKEN,
                'language': 'neutral',
                'versionScope': 'nonSxS',
                'xmlns:wcm': WCM_NS,
                'xmlns:xsi': XSI_NS,
            })
        return self._components[key]

    def has_component(self, pass_name, name):
        return (pass_name, name) in self._components

    def password(self, parent, tag, password):
        """<tag><Value/><PlainText/></tag>, hidden with the Windows SIM encoding unless asked not to."""
        element = _child(parent, tag)
        if self.hide_passwords:
            _child(element, 'Value', obfuscate_password(password, tag))
            _child(element, 'PlainText', False)
        else:
            _child(element, 'Value', password)
            _child(element, 'PlainText', True)
        return element

    def to_xml(self):
        for pass_name in PASS_ORDER:
            if pass_name in self._passes:
                self.root.append(self._passes[pass_name])
        _indent(self.root)
        return _XML_DECLARATION + ET.tostring(self.root, encoding='unicode') + '\n'


def _indent(element, level=0):
    """Pretty-print in place (ElementTree.indent needs Python 3.9)."""
    pad = '\n' + '  ' * level
    children = list(element)
    if children:
        if not (element.text and element.text.strip()):
            element.text = pad + '  '
        for child in children:
            _indent(child, level + 1)
            if not (child.tail and child.tail.strip()):
                child.tail = pad + '  '
        children[-1].tail = pad


# --------------------------------------------------------------------------------------------------
# Passwords
# --------------------------------------------------------------------------------------------------

def obfuscate_password(password, element_name):
    """Encode a password the way Windows SIM "Hide Sensitive Data" does.

    base64(UTF-16LE(password + element_name)), written with <PlainText>false</PlainText>. element_name
    is the element holding <Value>: "AdministratorPassword" or "Password". This is an encoding anyone
    can reverse, not encryption: the answer file still has to be protected and removed.
    """
    return base64.b64encode((password + element_name).encode('utf-16-le')).decode('ascii')


def deobfuscate_password(value, element_name):
    """Reverse obfuscate_password. Raises AnswerFileError (without the value) on a malformed input."""
    padded = value.strip() + '=' * (-len(value.strip()) % 4)
    try:
        decoded = base64.b64decode(padded, validate=True).decode('utf-16-le')
    except (binascii.Error, UnicodeDecodeError, ValueError):
        decoded = None
    if decoded is None or not decoded.endswith(element_name):
        raise AnswerFileError(element_name, 'the value is not a hidden (PlainText false) %s' % element_name,
                              'check that PlainText is false and the value was produced by Windows SIM or this '
                              'builder')
    return decoded[:-len(element_name)]


# --------------------------------------------------------------------------------------------------
# Building: top level
# --------------------------------------------------------------------------------------------------

_TOP_KEYS = ('architecture', 'image_stage', 'allow_skip_rearm_in_final_image', 'mode_vm', 'hide_passwords',
             'generalize', 'specialize', 'audit_system', 'audit_user', 'oobe_system', 'extra_components')


def build_answer_file(settings):
    """Build an answer file from a settings mapping (see docs/answer-file.md).

    Returns AnswerFile(xml, warnings, secret_paths, contains_password). Warnings must be shown to the
    user; secret_paths lists the pass/component/... paths that hold passwords so callers can no_log.
    Raises AnswerFileError for settings that are invalid or contradict each other.
    """
    top = _Settings({} if settings is None else settings, '', _TOP_KEYS)
    architecture = _architecture(top)
    doc = _Document(architecture, top.flag('hide_passwords', default=True))
    options = {
        'mode_vm': top.flag('mode_vm', default=False),
        'image_stage': top.choice('image_stage', {'final': 'final', 'intermediate': 'intermediate'},
                                  default='final'),
        'allow_skip_rearm_in_final_image': top.flag('allow_skip_rearm_in_final_image', default=False),
    }

    _build_generalize(doc, top.section('generalize', _GENERALIZE_KEYS), options)
    _build_specialize(doc, top.section('specialize', _SPECIALIZE_KEYS) or _Settings({}, 'specialize', ()))
    _build_audit_system(doc, top.section('audit_system', _AUDIT_SYSTEM_KEYS))
    _build_audit_user(doc, top.section('audit_user', _AUDIT_USER_KEYS), options)
    _build_oobe_system(doc, top.section('oobe_system', _OOBE_SYSTEM_KEYS), options)
    _build_extra_components(doc, top.sections('extra_components', _EXTRA_COMPONENT_KEYS))

    xml_text = doc.to_xml()
    described = describe_answer_file(xml_text)
    return AnswerFile(xml_text, list(doc.warnings), described['secret_paths'], described['contains_password'])


_ARCHITECTURE_HINTS = {'x64': 'amd64', 'x86_64': 'amd64', 'aarch64': 'arm64', 'i386': 'x86', 'i686': 'x86'}


def _architecture(top):
    value = top.raw('architecture')
    hint = _ARCHITECTURE_HINTS.get(str(value).lower()) if isinstance(value, str) else None
    if hint:
        raise AnswerFileError('architecture', '%r is not a processorArchitecture value Windows uses' % value,
                              'write %s' % hint)
    if isinstance(value, str) and value.lower() == 'wow64':
        raise AnswerFileError('architecture', 'wow64 only exists for a few 32-bit components on 64-bit Windows',
                              'write the architecture of the Windows image: amd64, x86 or arm64')
    return top.choice('architecture', dict((arch, arch) for arch in ARCHITECTURES), default='amd64')


# --------------------------------------------------------------------------------------------------
# generalize pass
# --------------------------------------------------------------------------------------------------

_GENERALIZE_KEYS = ('persist_all_device_installs', 'do_not_clean_up_non_present_devices', 'skip_rearm')


def _build_generalize(doc, section, options):
    if section is None:
        return
    persist = section.flag('persist_all_device_installs')
    keep_absent = section.flag('do_not_clean_up_non_present_devices')
    if persist is not None or keep_absent is not None:
        component = doc.component('generalize', 'Microsoft-Windows-PnpSysprep')
        if persist is not None:
            _child(component, 'PersistAllDeviceInstalls', persist)
        if keep_absent is not None:
            _child(component, 'DoNotCleanUpNonPresentDevices', keep_absent)
        if options['mode_vm'] and (persist or keep_absent):
            doc.warn('generalize: PersistAllDeviceInstalls/DoNotCleanUpNonPresentDevices are set while mode_vm is '
                     'true. VM mode is for redeploying the image on the same virtual machine or hypervisor, so '
                     'keeping drivers for other hardware has no purpose there; drop these settings or mode_vm.')

    skip_rearm = _skip_rearm_value(section)
    if skip_rearm is not None:
        _check_skip_rearm_policy(doc, section.path('skip_rearm'), skip_rearm, options)
        _child(doc.component('generalize', 'Microsoft-Windows-Security-SPP'), 'SkipRearm', skip_rearm)


def _skip_rearm_value(section):
    value = section.raw('skip_rearm')
    if value is None:
        return None
    if isinstance(value, bool):
        return int(value)
    return section.number('skip_rearm', 0, 1)


def _check_skip_rearm_policy(doc, setting, skip_rearm, options):
    """SkipRearm=1 must never reach the final sysprep run (seed: Sysprep, SkipRearm and image build practice)."""
    if skip_rearm != 1:
        return
    consequence = ('SkipRearm=1 keeps sysprep from resetting the activation grace period and the client machine ID '
                   '(CMID), so clones share one CMID and KMS activation breaks')
    if options['image_stage'] == 'intermediate':
        doc.warn('%s: %s. Accepted because image_stage is intermediate: the final sysprep run of this image must '
                 'use skip_rearm 0 or leave it out.' % (setting, consequence))
    elif options['allow_skip_rearm_in_final_image']:
        doc.warn('%s: %s. Accepted ONLY because allow_skip_rearm_in_final_image is true; Microsoft support advises '
                 'removing SkipRearm (or setting 0) on the final sysprep run.' % (setting, consequence))
    else:
        raise AnswerFileError(setting, consequence, 'leave skip_rearm out or set it to 0 for the final image; if '
                              'this is not the last sysprep run set image_stage: intermediate; to force it anyway '
                              'set allow_skip_rearm_in_final_image: true')


# --------------------------------------------------------------------------------------------------
# specialize pass
# --------------------------------------------------------------------------------------------------

_SPECIALIZE_KEYS = ('computer_name', 'time_zone', 'registered_owner', 'registered_organization', 'copy_profile',
                    'extend_os_partition', 'network', 'domain_join', 'run_synchronous',
                    'restore_hypervisor_launch')


def _build_specialize(doc, section):
    _build_specialize_shell(doc, section)
    network = _build_network(doc, section.section('network', _NETWORK_KEYS))
    _build_domain_join(doc, section.section('domain_join', _DOMAIN_JOIN_KEYS), network)
    _build_specialize_deployment(doc, section)


def _build_specialize_shell(doc, section):
    children = []
    name = _computer_name(doc, section)
    if name is not None:
        children.append(('ComputerName', name))
    copy_profile = section.flag('copy_profile')
    if copy_profile is not None:
        children.append(('CopyProfile', copy_profile))
    children.extend(_owner_and_time_zone(section))
    if children:
        component = doc.component('specialize', 'Microsoft-Windows-Shell-Setup')
        for tag, value in children:
            _child(component, tag, value)


def _computer_name(doc, section):
    """'*' (default) asks Windows for a random name; false leaves the element out."""
    value = section.raw('computer_name')
    if value is None:
        return '*'
    if value is False:
        return None
    setting = section.path('computer_name')
    name = section.text('computer_name', allow_empty=True)
    if name in ('*', ''):
        if name == '':
            doc.warn("%s: an empty ComputerName is written as-is; Microsoft's reference uses '*' to ask Windows "
                     "for a random name." % setting)
        return name
    if len(name) > 15:
        raise AnswerFileError(setting, 'is %d characters long; Windows computer (NetBIOS) names hold at most 15'
                              % len(name), "shorten it to 15 characters or use '*' for a random name")
    if name.isdigit():
        raise AnswerFileError(setting, 'consists only of digits, which Windows does not accept as a computer name',
                              'add a letter')
    if not _COMPUTER_NAME.match(name):
        raise AnswerFileError(setting, 'may only hold letters, digits and hyphens, and may not start or end with '
                              'a hyphen (DNS host name rules)', "rename it, or use '*' for a random name")
    return name


def _owner_and_time_zone(section):
    children = []
    organization = section.text('registered_organization', allow_empty=True, max_length=256)
    owner = section.text('registered_owner', allow_empty=True, max_length=256)
    if organization is not None:
        children.append(('RegisteredOrganization', organization))
    if owner is not None:
        children.append(('RegisteredOwner', owner))
    time_zone = section.text('time_zone')
    if time_zone is not None:
        if '/' in time_zone:
            raise AnswerFileError(section.path('time_zone'), '%r looks like an IANA zone; Windows wants its own '
                                  'time zone ID' % time_zone,
                                  "use a Windows ID such as 'W. Europe Standard Time' (list them with tzutil /l)")
        children.append(('TimeZone', time_zone))
    return children


_RUN_SYNCHRONOUS_KEYS = ('path', 'description', 'will_reboot')
_WILL_REBOOT = {'always': 'Always', 'never': 'Never', 'on_request': 'OnRequest', 'onrequest': 'OnRequest'}


def _build_specialize_deployment(doc, section):
    extend = section.flag('extend_os_partition')
    commands = _run_synchronous_commands(section)
    if section.flag('restore_hypervisor_launch', default=False):
        # The Hyper-V sysprep provider sets this itself on Windows Server 2008 R2 and later (seed: Hyper-V host
        # sysprep); the command covers hosts where that does not happen. Effective from the next boot.
        if not any('hypervisorlaunchtype' in command[0].lower() for command in commands):
            commands.append((HYPERVISOR_LAUNCH_COMMAND, 'Restore automatic hypervisor launch (Hyper-V host)',
                             'Never'))
    if extend is None and not commands:
        return
    component = doc.component('specialize', 'Microsoft-Windows-Deployment')
    if extend is not None:
        _child(_child(component, 'ExtendOSPartition'), 'Extend', extend)
    _write_run_synchronous(component, commands)


def _run_synchronous_commands(section):
    commands = []
    for item in section.sections('run_synchronous', _RUN_SYNCHRONOUS_KEYS):
        path = item.text('path', required=True, max_length=_RUN_PATH_MAX)
        if path.startswith('\\\\'):
            raise AnswerFileError(item.path('path'), 'is a UNC path, which needs RunSynchronous credentials this '
                                  'builder does not write (they would be one more password in the file)',
                                  'copy the script into the image and run it from a local path')
        if _SHUTDOWN_COMMAND.search(path):
            raise AnswerFileError(item.path('path'), 'shuts down or restarts the computer, which Microsoft tells '
                                  'you not to do from RunSynchronous', "use will_reboot: always or on_request")
        description = item.text('description', max_length=_RUN_PATH_MAX)
        commands.append((path, description, item.choice('will_reboot', _WILL_REBOOT)))
    return commands


def _write_run_synchronous(component, commands):
    if not commands:
        return
    container = _child(component, 'RunSynchronous')
    for order, (path, description, will_reboot) in enumerate(commands, start=1):
        command = _list_item(container, 'RunSynchronousCommand')
        _child(command, 'Order', order)
        _child(command, 'Path', path)
        if description is not None:
            _child(command, 'Description', description)
        if will_reboot is not None:
            _child(command, 'WillReboot', will_reboot)


# --------------------------------------------------------------------------------------------------
# specialize: network (Microsoft-Windows-TCPIP and Microsoft-Windows-DNS-Client)
# --------------------------------------------------------------------------------------------------

_NETWORK_KEYS = ('interfaces', 'dns_domain', 'dns_suffix_search_order', 'use_domain_name_devolution')
_INTERFACE_KEYS = ('mac', 'alias', 'ipv4', 'ipv6', 'routes', 'dns_servers', 'dns_domain',
                   'register_adapter_domain_name', 'dynamic_dns_update')
_FAMILY_KEYS = ('addresses', 'gateway', 'metric', 'dhcp', 'router_discovery')
_ROUTE_KEYS = ('prefix', 'next_hop', 'metric')
_Interface = namedtuple('_Interface', ['identifier', 'section', 'families', 'routes', 'static'])

# What the rest of the build needs to know about the network settings.
_NetworkSummary = namedtuple('_NetworkSummary', ['static_interfaces', 'dns_servers'])


def _build_network(doc, section):
    if section is None:
        return _NetworkSummary(0, 0)
    interfaces = [_read_interface(item) for item in section.sections('interfaces', _INTERFACE_KEYS)]
    _refuse_duplicate_interfaces(interfaces)
    _refuse_duplicate_addresses(interfaces)
    aliases = [interface for interface in interfaces if not _MAC_IDENTIFIER.match(interface.identifier)]
    if aliases and len(interfaces) > 1:
        doc.warn('%s: interfaces are named by alias; Microsoft notes that aliases of several interfaces of the same '
                 'type are not guaranteed to match between builds, so verify the result or use mac.'
                 % section.path('interfaces'))
    _write_tcpip(doc, interfaces)
    dns_servers = _write_dns_client(doc, section, interfaces)
    return _NetworkSummary(sum(1 for interface in interfaces if interface.static), dns_servers)


_MAC_IDENTIFIER = re.compile(r'^[0-9A-F]{2}(?:-[0-9A-F]{2}){5}$')


def _read_interface(item):
    identifier = _interface_identifier(item)
    families = {}
    for family, version in (('ipv4', 4), ('ipv6', 6)):
        settings = item.section(family, _FAMILY_KEYS)
        if settings is not None:
            families[version] = _read_family(settings, version)
    routes = _read_routes(item, families)
    static = any(family['dhcp'] is False for family in families.values())
    return _Interface(identifier, item, families, routes, static)


def _interface_identifier(item):
    mac, alias = item.raw('mac'), item.raw('alias')
    if (mac is None) == (alias is None):
        raise AnswerFileError(item.where, 'needs exactly one of mac or alias to say which network adapter it is',
                              'set mac: 00-15-5D-01-02-03 (preferred) or alias: Ethernet')
    if alias is not None:
        return item.text('alias', max_length=256)
    mac = item.text('mac')
    if not _MAC.match(mac):
        raise AnswerFileError(item.path('mac'), '%r is not a MAC address' % mac,
                              'write six hexadecimal pairs, e.g. 00-15-5D-01-02-03')
    digits = re.sub(r'[-:]', '', mac).upper()
    # Microsoft-Windows-TCPIP | Interface | Identifier documents the MAC form 00-11-22-33-44-55.
    return '-'.join(digits[index:index + 2] for index in range(0, 12, 2))


def _read_family(settings, version):
    addresses = [_unicast_address(settings.path('addresses') + '[%d]' % index, text, version)
                 for index, text in enumerate(settings.strings('addresses'))]
    dhcp = settings.flag('dhcp')
    if dhcp and addresses:
        raise AnswerFileError(settings.path('dhcp'), 'is true while static addresses are given',
                              'remove dhcp (static addresses turn DHCP off) or remove the addresses')
    if dhcp is None and addresses:
        dhcp = False
    if dhcp is False and not addresses:
        raise AnswerFileError(settings.path('dhcp'), 'is false but no static addresses are given, which leaves the '
                              'adapter without an address', 'add addresses, or set dhcp: true')
    gateway = settings.text('gateway')
    if gateway is not None:
        if not addresses:
            raise AnswerFileError(settings.path('gateway'), 'is set without static addresses',
                                  'add addresses, or leave the gateway to DHCP')
        gateway = _next_hop(settings.path('gateway'), gateway, version, addresses)
    if dhcp is None and gateway is None and settings.raw('metric') is None and settings.raw('router_discovery') is None:
        raise AnswerFileError(settings.where, 'is empty', 'set addresses (and gateway), or dhcp: true')
    return {
        'addresses': addresses,
        'dhcp': dhcp,
        'gateway': gateway,
        'metric': settings.number('metric', 0, 9999),
        'router_discovery': settings.flag('router_discovery'),
    }


def _unicast_address(setting, text, version):
    if '/' not in text:
        raise AnswerFileError(setting, '%r has no prefix length' % text,
                              'write it as address/prefix, e.g. 10.0.0.20/24 or 2001:db8::20/64')
    try:
        interface = ipaddress.ip_interface(text)
    except ValueError:
        raise AnswerFileError(setting, '%r is not a valid IP address with prefix length' % text,
                              'write it as address/prefix, e.g. 10.0.0.20/24 or 2001:db8::20/64')
    if interface.version != version:
        raise AnswerFileError(setting, '%r is an IPv%d address in the ipv%d list' % (text, interface.version, version),
                              'move it to the ipv%d list' % interface.version)
    network = interface.network
    edges = (network.network_address, network.broadcast_address)
    if version == 4 and network.prefixlen < 31 and interface.ip in edges:
        raise AnswerFileError(setting, '%s is the network or broadcast address of %s' % (interface.ip, network),
                              'use a host address inside the subnet')
    return interface


def _next_hop(setting, text, version, addresses):
    try:
        hop = ipaddress.ip_address(text)
    except ValueError:
        raise AnswerFileError(setting, '%r is not an IP address' % text, 'write a plain address such as 10.0.0.1')
    if hop.version != version:
        raise AnswerFileError(setting, '%s is not an IPv%d address' % (hop, version),
                              'use an IPv%d next hop here' % version)
    # IPv6 next hops are often link-local (fe80::1) and so outside the address prefix.
    if version == 4 and addresses and not any(hop in address.network for address in addresses):
        raise AnswerFileError(setting, '%s is outside the subnets of this interface (%s)'
                              % (hop, ', '.join(str(address.network) for address in addresses)),
                              'use a next hop inside one of the interface subnets, or fix the prefix length')
    return hop


def _read_routes(item, families):
    routes = []
    for version, family in sorted(families.items()):
        if family['gateway'] is not None:
            routes.append((ipaddress.ip_network('0.0.0.0/0' if version == 4 else '::/0'), family['gateway'], None))
    for route in item.sections('routes', _ROUTE_KEYS):
        prefix_text = route.text('prefix', required=True)
        try:
            prefix = ipaddress.ip_network(prefix_text, strict=True)
        except ValueError:
            raise AnswerFileError(route.path('prefix'), '%r is not a network prefix with its host bits zero'
                                  % prefix_text, 'write it like 10.20.0.0/16')
        family = families.get(prefix.version, {})
        hop = _next_hop(route.path('next_hop'), route.text('next_hop', required=True), prefix.version,
                        family.get('addresses', []))
        routes.append((prefix, hop, route.number('metric', 0, 9999)))
    return routes


def _refuse_duplicate_interfaces(interfaces):
    seen = {}
    for interface in interfaces:
        key = interface.identifier.lower()
        if key in seen:
            raise AnswerFileError(interface.section.where, 'names the same adapter (%s) as %s'
                                  % (interface.identifier, seen[key]), 'merge the two entries')
        seen[key] = interface.section.where


def _refuse_duplicate_addresses(interfaces):
    seen = {}
    for interface in interfaces:
        for family in interface.families.values():
            for address in family['addresses']:
                if address.ip in seen:
                    raise AnswerFileError(interface.section.where, 'uses %s, already used by %s'
                                          % (address.ip, seen[address.ip]), 'give each adapter its own address')
                seen[address.ip] = interface.section.where


def _write_tcpip(doc, interfaces):
    configured = [interface for interface in interfaces if interface.families or interface.routes]
    if not configured:
        return
    container = _child(doc.component('specialize', 'Microsoft-Windows-TCPIP'), 'Interfaces')
    route_id = 0
    for interface in configured:
        element = _list_item(container, 'Interface')
        # Microsoft documents this child order as mandatory: Ipv4Settings, Ipv6Settings, Identifier,
        # UnicastIpAddresses, Routes; and inside Route: Identifier, Metric, NextHopAddress, Prefix.
        for version, tag in ((4, 'Ipv4Settings'), (6, 'Ipv6Settings')):
            if version in interface.families:
                _write_family_settings(element, tag, interface.families[version])
        _child(element, 'Identifier', interface.identifier)
        addresses = [address for version in (4, 6) for address in interface.families.get(version, {}).get(
            'addresses', [])]
        if addresses:
            unicast = _child(element, 'UnicastIpAddresses')
            for key, address in enumerate(addresses, start=1):
                _list_item(unicast, 'IpAddress', key_value=key, value=address.with_prefixlen)
        if interface.routes:
            routes = _child(element, 'Routes')
            for prefix, hop, metric in interface.routes:
                route_id += 1  # documented as a unique integer per route in the answer file
                route = _list_item(routes, 'Route')
                _child(route, 'Identifier', route_id)
                if metric is not None:
                    _child(route, 'Metric', metric)
                _child(route, 'NextHopAddress', hop)
                _child(route, 'Prefix', prefix.with_prefixlen)


def _write_family_settings(parent, tag, family):
    element = _child(parent, tag)
    if family['dhcp'] is not None:
        _child(element, 'DhcpEnabled', family['dhcp'])
    if family['metric'] is not None:
        _child(element, 'Metric', family['metric'])
    if family['router_discovery'] is not None:
        _child(element, 'RouterDiscoveryEnabled', family['router_discovery'])


def _dns_name(section, key):
    name = section.text(key, max_length=255)
    if name is not None and not _DNS_NAME.match(name):
        raise AnswerFileError(section.path(key), '%r is not a DNS name' % name,
                              'write a name like corp.example.com (letters, digits, hyphens and dots)')
    return name


def _write_dns_client(doc, section, interfaces):
    """Write Microsoft-Windows-DNS-Client; return how many DNS servers the adapters got."""
    dns_domain = _dns_name(section, 'dns_domain')
    suffixes = section.strings('dns_suffix_search_order')
    for index, suffix in enumerate(suffixes):
        if not _DNS_NAME.match(suffix):
            raise AnswerFileError(section.path('dns_suffix_search_order') + '[%d]' % index,
                                  '%r is not a DNS name' % suffix, 'write a suffix like corp.example.com')
    devolution = section.flag('use_domain_name_devolution')
    per_interface = []
    for interface in interfaces:
        dns = _interface_dns(interface.section)
        if dns[0] or any(value is not None for value in dns[1:]):
            per_interface.append((interface, dns))
    if dns_domain is None and not suffixes and devolution is None and not per_interface:
        return 0
    component = doc.component('specialize', 'Microsoft-Windows-DNS-Client')
    if dns_domain is not None:
        _child(component, 'DNSDomain', dns_domain)
    if suffixes:
        order = _child(component, 'DNSSuffixSearchOrder')
        for key, suffix in enumerate(suffixes, start=1):
            _list_item(order, 'DomainName', key_value=key, value=suffix)
    if devolution is not None:
        _child(component, 'UseDomainNameDevolution', devolution)
    if per_interface:
        container = _child(component, 'Interfaces')
        for interface, (servers, domain, register, dynamic_update) in per_interface:
            _write_dns_interface(container, interface.identifier, servers, domain, register, dynamic_update)
    return sum(len(dns[0]) for _interface, dns in per_interface)


def _interface_dns(item):
    servers = []
    for index, text in enumerate(item.strings('dns_servers')):
        try:
            servers.append(ipaddress.ip_address(text))
        except ValueError:
            raise AnswerFileError(item.path('dns_servers') + '[%d]' % index, '%r is not an IP address' % text,
                                  'write DNS servers as plain addresses, e.g. 10.0.0.2')
    dynamic_update = item.flag('dynamic_dns_update')
    return (servers, _dns_name(item, 'dns_domain'), item.flag('register_adapter_domain_name'), dynamic_update)


def _write_dns_interface(container, identifier, servers, domain, register, dynamic_update):
    element = _list_item(container, 'Interface')
    _child(element, 'Identifier', identifier)
    if domain is not None:
        _child(element, 'DNSDomain', domain)
    if servers:
        order = _child(element, 'DNSServerSearchOrder')
        for key, server in enumerate(servers, start=1):
            _list_item(order, 'IpAddress', key_value=key, value=server)
    if register is not None:
        _child(element, 'EnableAdapterDomainNameRegistration', register)
    if dynamic_update is not None:
        _child(element, 'DisableDynamicUpdate', not dynamic_update)


# --------------------------------------------------------------------------------------------------
# specialize: domain join (Microsoft-Windows-UnattendedJoin)
# --------------------------------------------------------------------------------------------------

_DOMAIN_JOIN_KEYS = ('domain', 'workgroup', 'machine_object_ou', 'username', 'password', 'credentials_domain',
                     'unsecure_join', 'machine_password')


def _build_domain_join(doc, section, network):
    if section is None:
        return
    domain = _dns_name(section, 'domain')
    workgroup = section.text('workgroup', max_length=15)
    if (domain is None) == (workgroup is None):
        raise AnswerFileError(section.where, 'needs exactly one of domain or workgroup',
                              'set domain: corp.example.com to join a domain, or workgroup: WORKGROUP')
    identification = _child(doc.component('specialize', 'Microsoft-Windows-UnattendedJoin'), 'Identification')
    if workgroup is not None:
        _refuse_join_keys_for_workgroup(section)
        _child(identification, 'JoinWorkgroup', workgroup)
        return
    _write_domain_identification(identification, section, domain)
    if network.static_interfaces and not network.dns_servers:
        raise AnswerFileError(section.path('domain'), 'joining %s with static IP addresses but no DNS servers: '
                              'without DHCP the clone cannot find a domain controller' % domain,
                              'set dns_servers on the interface(s) under specialize.network.interfaces')


def _refuse_join_keys_for_workgroup(section):
    for key in ('machine_object_ou', 'username', 'password', 'credentials_domain', 'unsecure_join',
                'machine_password'):
        if section.has(key):
            raise AnswerFileError(section.path(key), 'only applies to a domain join, not to a workgroup',
                                  'remove it or set domain instead of workgroup')


def _write_domain_identification(identification, section, domain):
    unsecure = section.flag('unsecure_join', default=False)
    username = section.text('username')
    password = section.secret('password')
    if unsecure:
        if username is not None or password is not None:
            raise AnswerFileError(section.path('unsecure_join'), 'is true while username/password are set',
                                  'use either credentials or unsecure_join with a pre-created computer account')
    elif username is None or password is None:
        raise AnswerFileError(section.where, 'joining domain %s needs credentials' % domain,
                              'set username and password (from Ansible Vault) of an account allowed to join '
                              'computers, or unsecure_join: true with a pre-created computer account')
    if username is not None:
        credentials = _child(identification, 'Credentials')
        credentials_domain = _dns_name(section, 'credentials_domain')
        # Microsoft: without Credentials/Domain the user name must carry its domain (UPN or DOMAIN\\user).
        if credentials_domain is None and not re.search(r'[@\\]', username):
            credentials_domain = domain
        if credentials_domain is not None:
            _child(credentials, 'Domain', credentials_domain)
        _child(credentials, 'Password', password)
        _child(credentials, 'Username', username)
    _child(identification, 'JoinDomain', domain)
    ou = section.text('machine_object_ou')
    if ou is not None:
        if not re.match(r'^\s*(OU|CN)=', ou, re.IGNORECASE) or 'DC=' not in ou.upper():
            raise AnswerFileError(section.path('machine_object_ou'), '%r is not a distinguished name of an OU' % ou,
                                  'write the full path, e.g. OU=Servers,DC=corp,DC=example,DC=com')
        _child(identification, 'MachineObjectOU', ou)
    machine_password = section.secret('machine_password')
    if machine_password is not None:
        if not unsecure:
            raise AnswerFileError(section.path('machine_password'), 'is only used with unsecure_join: true',
                                  'set unsecure_join: true or remove machine_password')
        _child(identification, 'MachinePassword', machine_password)
    if unsecure:
        _child(identification, 'UnsecureJoin', True)


# --------------------------------------------------------------------------------------------------
# Accounts, auto-logon, first-logon commands, reseal (oobeSystem and audit passes)
# --------------------------------------------------------------------------------------------------

_USER_ACCOUNTS_KEYS = ('administrator_password', 'local_accounts')
_LOCAL_ACCOUNT_KEYS = ('name', 'password', 'group', 'display_name', 'description')
_AUTO_LOGON_KEYS = ('username', 'password', 'domain', 'enabled', 'logon_count')
_RESEAL_KEYS = ('mode', 'force_shutdown_now')
_MODES = {'oobe': 'OOBE', 'audit': 'Audit'}


def _write_auto_logon(doc, component, section):
    if section is None:
        return
    element = _child(component, 'AutoLogon')
    password = section.secret('password', required=True)
    domain = section.text('domain')
    if domain is not None:
        _child(element, 'Domain', domain)
    _child(element, 'Enabled', section.flag('enabled', default=True))
    logon_count = section.number('logon_count', 1, 999)
    if logon_count is None:
        doc.warn('%s: no logon_count is set; set it so automatic logon with a stored password ends after the '
                 'logons you need.' % section.where)
    else:
        _child(element, 'LogonCount', logon_count)
    doc.password(element, 'Password', password)
    _child(element, 'Username', section.text('username', required=True, max_length=256))


def _write_user_accounts(doc, component, section):
    if section is None:
        return
    admin_password = section.secret('administrator_password')
    accounts = section.sections('local_accounts', _LOCAL_ACCOUNT_KEYS)
    if admin_password is None and not accounts:
        raise AnswerFileError(section.where, 'is empty', 'set administrator_password or local_accounts')
    element = _child(component, 'UserAccounts')
    if admin_password is not None:
        doc.password(element, 'AdministratorPassword', admin_password)
    if accounts:
        _write_local_accounts(doc, _child(element, 'LocalAccounts'), accounts)


def _write_local_accounts(doc, container, accounts):
    names = set()
    for account in accounts:
        name = account.text('name', required=True, max_length=20)
        if name.lower() in names:
            raise AnswerFileError(account.path('name'), 'account %r is listed twice' % name, 'merge the entries')
        names.add(name.lower())
        password = account.secret('password', required=True)
        element = _list_item(container, 'LocalAccount')
        doc.password(element, 'Password', password)
        for key, tag in (('description', 'Description'), ('display_name', 'DisplayName'), ('group', 'Group')):
            value = account.text(key, max_length=256)
            if value is not None:
                _child(element, tag, value)
        _child(element, 'Name', name)


_FIRST_LOGON_KEYS = ('command_line', 'description', 'requires_user_input')


def _write_first_logon_commands(component, section):
    items = section.sections('first_logon_commands', _FIRST_LOGON_KEYS)
    if not items:
        return
    container = _child(component, 'FirstLogonCommands')
    for order, item in enumerate(items, start=1):
        command = _list_item(container, 'SynchronousCommand')
        _child(command, 'CommandLine', item.text('command_line', required=True, max_length=1024))
        description = item.text('description', max_length=256)
        if description is not None:
            _child(command, 'Description', description)
        _child(command, 'Order', order)
        requires_input = item.flag('requires_user_input')
        if requires_input is not None:
            _child(command, 'RequiresUserInput', requires_input)


def _reseal(section, key, pass_name):
    reseal = section.section(key, _RESEAL_KEYS)
    if reseal is None:
        return None
    mode = reseal.choice('mode', _MODES)
    if mode is None:
        raise AnswerFileError(reseal.path('mode'), 'is required', 'set mode: oobe or mode: audit')
    shutdown = reseal.flag('force_shutdown_now', default=False)
    # Microsoft's Reseal table marks these two combinations "Unsupported, do not use": a reboot loop.
    if shutdown and (pass_name, mode) in (('auditSystem', 'Audit'), ('oobeSystem', 'OOBE')):
        raise AnswerFileError(reseal.path('force_shutdown_now'), 'Reseal mode %s with ForceShutdownNow in the %s '
                              'pass is documented by Microsoft as unsupported (the computer reboots in a loop)'
                              % (mode, pass_name), 'set force_shutdown_now: false or use the other mode')
    return mode, shutdown


def _write_mode_and_shutdown(component, tag, mode_and_shutdown):
    element = _child(component, tag)
    _child(element, 'ForceShutdownNow', mode_and_shutdown[1])
    _child(element, 'Mode', mode_and_shutdown[0])


# --------------------------------------------------------------------------------------------------
# audit passes
# --------------------------------------------------------------------------------------------------

_AUDIT_SYSTEM_KEYS = ('user_accounts', 'auto_logon', 'reseal')
_AUDIT_USER_KEYS = ('generalize', 'reseal', 'run_synchronous')
_GENERALIZE_SETTING_KEYS = ('mode', 'force_shutdown_now')


def _build_audit_system(doc, section):
    if section is None:
        return
    user_accounts = section.section('user_accounts', _USER_ACCOUNTS_KEYS)
    auto_logon = section.section('auto_logon', _AUTO_LOGON_KEYS)
    if user_accounts is not None or auto_logon is not None:
        component = doc.component('auditSystem', 'Microsoft-Windows-Shell-Setup')
        _write_auto_logon(doc, component, auto_logon)
        _write_user_accounts(doc, component, user_accounts)
    reseal = _reseal(section, 'reseal', 'auditSystem')
    if reseal is not None:
        _write_mode_and_shutdown(doc.component('auditSystem', 'Microsoft-Windows-Deployment'), 'Reseal', reseal)


def _build_audit_user(doc, section, options):
    if section is None:
        return
    generalize = _generalize_setting(section, options)
    reseal = _reseal(section, 'reseal', 'auditUser')
    if generalize is not None and reseal is not None:
        raise AnswerFileError(section.path('reseal'), 'is set together with generalize; Microsoft says not to '
                              'combine them (Reseal is then ignored)', 'keep only one of them')
    commands = _run_synchronous_commands(section)
    if generalize is None and reseal is None and not commands:
        return
    component = doc.component('auditUser', 'Microsoft-Windows-Deployment')
    if generalize is not None:
        _write_mode_and_shutdown(component, 'Generalize', generalize)
    if reseal is not None:
        _write_mode_and_shutdown(component, 'Reseal', reseal)
    _write_run_synchronous(component, commands)


def _generalize_setting(section, options):
    """Microsoft-Windows-Deployment | Generalize: valid only in auditUser (Microsoft reference)."""
    setting = section.section('generalize', _GENERALIZE_SETTING_KEYS)
    if setting is None:
        return None
    if options['mode_vm']:
        raise AnswerFileError(setting.where, 'makes Windows generalize itself from the answer file, and that '
                              'setting has no VM-mode option, which contradicts mode_vm: true',
                              'remove audit_user.generalize, or set mode_vm: false')
    mode = setting.choice('mode', _MODES)
    if mode is None:
        raise AnswerFileError(setting.path('mode'), 'is required', 'set mode: oobe or mode: audit')
    return mode, setting.flag('force_shutdown_now', default=False)


# --------------------------------------------------------------------------------------------------
# oobeSystem pass
# --------------------------------------------------------------------------------------------------

_OOBE_SYSTEM_KEYS = ('international', 'time_zone', 'registered_owner', 'registered_organization', 'oobe',
                     'user_accounts', 'auto_logon', 'first_logon_commands', 'reseal')
_INTERNATIONAL_KEYS = (('input_locale', 'InputLocale'), ('system_locale', 'SystemLocale'),
                       ('ui_language', 'UILanguage'), ('ui_language_fallback', 'UILanguageFallback'),
                       ('user_locale', 'UserLocale'))
_OOBE_FLAGS = (('hide_eula_page', 'HideEULAPage'), ('hide_local_account_screen', 'HideLocalAccountScreen'),
               ('hide_oem_registration_screen', 'HideOEMRegistrationScreen'),
               ('hide_online_account_screens', 'HideOnlineAccountScreens'),
               ('hide_wireless_setup_in_oobe', 'HideWirelessSetupInOOBE'))
_OOBE_KEYS = tuple(key for key, _tag in _OOBE_FLAGS) + (
    'network_location', 'protect_your_pc', 'skip_machine_oobe', 'skip_user_oobe', 'vm_mode_optimizations')
_VM_MODE_FLAGS = (('skip_administrator_profile_removal', 'SkipAdministratorProfileRemoval'),
                  ('skip_notify_ui_language_change', 'SkipNotifyUILanguageChange'),
                  ('skip_winre_initialization', 'SkipWinREInitialization'))
_NETWORK_LOCATIONS = {'home': 'Home', 'work': 'Work', 'other': 'Other'}


def _build_oobe_system(doc, section, options):
    if section is None:
        return
    _build_international(doc, section.section('international', tuple(key for key, _tag in _INTERNATIONAL_KEYS)))
    shell = _OobeShell(doc, section)
    shell.write(options)
    reseal = _reseal(section, 'reseal', 'oobeSystem')
    if reseal is not None:
        _write_mode_and_shutdown(doc.component('oobeSystem', 'Microsoft-Windows-Deployment'), 'Reseal', reseal)


def _build_international(doc, section):
    if section is None:
        return
    values = []
    for key, tag in _INTERNATIONAL_KEYS:
        value = section.text(key, max_length=256)
        if value is not None and re.search(r'\s', value):
            raise AnswerFileError(section.path(key), '%r contains spaces' % value,
                                  'write a locale such as en-US, or an input locale such as 0409:00000409')
        if value is not None:
            values.append((tag, value))
    if not values:
        raise AnswerFileError(section.where, 'is empty', 'set at least one of %s'
                              % ', '.join(key for key, _tag in _INTERNATIONAL_KEYS))
    component = doc.component('oobeSystem', 'Microsoft-Windows-International-Core')
    for tag, value in values:
        _child(component, tag, value)


class _OobeShell:
    """Microsoft-Windows-Shell-Setup in oobeSystem, written in the element order Windows SIM uses."""

    def __init__(self, doc, section):
        self.doc = doc
        self.section = section
        self._component = None

    @property
    def component(self):
        if self._component is None:
            self._component = self.doc.component('oobeSystem', 'Microsoft-Windows-Shell-Setup')
        return self._component

    def write(self, options):
        section = self.section
        auto_logon = section.section('auto_logon', _AUTO_LOGON_KEYS)
        if auto_logon is not None:
            _write_auto_logon(self.doc, self.component, auto_logon)
        if section.raw('first_logon_commands'):
            _write_first_logon_commands(self.component, section)
        oobe = section.section('oobe', _OOBE_KEYS)
        if oobe is not None:
            self._write_oobe(oobe, options)
        for tag, value in _owner_and_time_zone(section):
            _child(self.component, tag, value)
        user_accounts = section.section('user_accounts', _USER_ACCOUNTS_KEYS)
        if user_accounts is not None:
            _write_user_accounts(self.doc, self.component, user_accounts)

    def _write_oobe(self, oobe, options):
        element = _child(self.component, 'OOBE')
        for key, tag in _OOBE_FLAGS:
            value = oobe.flag(key)
            if value is not None:
                _child(element, tag, value)
        location = oobe.choice('network_location', _NETWORK_LOCATIONS)
        if location is not None:
            _child(element, 'NetworkLocation', location)
        protect = oobe.number('protect_your_pc', 1, 3)
        if protect is not None:
            _child(element, 'ProtectYourPC', protect)
        self._write_skip_oobe(element, oobe)
        self._write_vm_mode_optimizations(element, oobe, options)

    def _write_skip_oobe(self, element, oobe):
        for key, tag in (('skip_machine_oobe', 'SkipMachineOOBE'), ('skip_user_oobe', 'SkipUserOOBE')):
            value = oobe.flag(key)
            if value is None:
                continue
            if value:
                self.doc.warn('%s: %s is deprecated since Windows 8 and meant for test environments only; '
                              'Microsoft recommends answering each OOBE page (hide_* settings) instead.'
                              % (oobe.path(key), tag))
            _child(element, tag, value)

    def _write_vm_mode_optimizations(self, element, oobe, options):
        optimizations = oobe.section('vm_mode_optimizations', tuple(key for key, _tag in _VM_MODE_FLAGS))
        if optimizations is None:
            return
        values = [(tag, optimizations.flag(key)) for key, tag in _VM_MODE_FLAGS]
        values = [(tag, value) for tag, value in values if value is not None]
        if not values:
            raise AnswerFileError(optimizations.where, 'is empty', 'set at least one optimization or remove it')
        if not options['mode_vm']:
            self.doc.warn('%s: Microsoft documents that these settings need sysprep /mode:vm to take full effect, '
                          'but mode_vm is false.' % optimizations.where)
        container = _child(element, 'VMModeOptimizations')
        for tag, value in values:
            _child(container, tag, value)


# --------------------------------------------------------------------------------------------------
# extra_components: any other component, written structurally
# --------------------------------------------------------------------------------------------------

_EXTRA_COMPONENT_KEYS = ('pass', 'component', 'settings')
_KEY_VALUE = 'wcm_key_value'


def _build_extra_components(doc, items):
    for item in items:
        pass_name = item.choice('pass', dict((name.lower(), name) for name in PASS_ORDER))
        if pass_name is None:
            raise AnswerFileError(item.path('pass'), 'is required', 'set one of %s' % ', '.join(PASS_ORDER))
        name = item.text('component', required=True, max_length=256)
        if not _COMPONENT_NAME.match(name):
            raise AnswerFileError(item.path('component'), '%r is not a component name' % name,
                                  'write it like Microsoft-Windows-ServerManager-SvrMgrNc')
        settings = item.raw('settings')
        if not isinstance(settings, Mapping) or not settings:
            raise AnswerFileError(item.path('settings'), 'must be a non-empty mapping of element names to values',
                                  'write e.g. settings: {DoNotOpenServerManagerAtLogon: true}')
        if pass_name in SETUP_ONLY_PASSES:
            doc.warn('%s: the %s pass is not processed when Windows boots after sysprep /generalize; it only '
                     'matters for Windows Setup from installation media.' % (item.where, pass_name))
        existing = doc.has_component(pass_name, name)
        component = doc.component(pass_name, name)
        if existing:
            _refuse_overlap(item.path('settings'), component, settings, pass_name, name)
        _write_generic(component, settings, item.path('settings'))


def _refuse_overlap(setting, component, settings, pass_name, name):
    taken = set(child.tag for child in component)
    for key in settings:
        if key in taken:
            raise AnswerFileError('%s.%s' % (setting, key), '%s/%s/%s is already written from the structured '
                                  'settings' % (pass_name, name, key),
                                  'set it through the structured key (see docs/answer-file.md) instead')


def _write_generic(parent, settings, where):
    for key, value in settings.items():
        path = '%s.%s' % (where, key)
        if not isinstance(key, str) or not _ELEMENT_NAME.match(key):
            raise AnswerFileError(path, '%r is not an answer-file element name' % (key,),
                                  'use the element name from the Unattended Windows Setup Reference')
        if isinstance(value, (list, tuple)):
            _write_generic_list(parent, key, value, path)
        else:
            _write_generic_value(_child(parent, key), value, path)


def _write_generic_value(element, value, path):
    if isinstance(value, Mapping):
        if not value:
            raise AnswerFileError(path, 'is an empty mapping', 'remove it or give it child settings')
        _write_generic(element, value, path)
    elif isinstance(value, (bool, int, str)):
        text = _xml_value(value)
        _check_xml_text(path, text, secret=_is_secret_name(element.tag))
        element.text = text
    else:
        raise AnswerFileError(path, 'must be a string, number, boolean, mapping or list, got %s' % _type_name(value),
                              'write a plain value')


def _write_generic_list(parent, tag, items, path):
    """Scalars become wcm:keyValue-keyed items (1, 2, ...); mappings become wcm:action="add" items."""
    for index, item in enumerate(items, start=1):
        item_path = '%s[%d]' % (path, index - 1)
        if isinstance(item, Mapping):
            item = dict(item)
            key_value = item.pop(_KEY_VALUE, None)
            element = _list_item(parent, tag, key_value=key_value)
            _write_generic_value(element, item, item_path)
        else:
            _write_generic_value(_list_item(parent, tag, key_value=index), item, item_path)


# --------------------------------------------------------------------------------------------------
# Reading answer files: description and structural check
# --------------------------------------------------------------------------------------------------

def _local(tag):
    return tag.rsplit('}', 1)[-1] if isinstance(tag, str) else ''


def _is_secret_name(name):
    return name in SECRET_ELEMENTS


def _as_text(xml_data):
    """Answer files come as str, or as bytes in UTF-8 or (with a byte-order mark) UTF-16."""
    if isinstance(xml_data, str):
        return xml_data
    if xml_data[:2] in (b'\xff\xfe', b'\xfe\xff'):
        return xml_data.decode('utf-16')
    return xml_data.decode('utf-8-sig', 'replace')


def _parse(xml_data):
    xml_text = _as_text(xml_data)
    if re.search(r'<!DOCTYPE|<!ENTITY', xml_text, re.IGNORECASE):
        raise AnswerFileError('answer file', 'contains a DOCTYPE/ENTITY declaration, which answer files never need',
                              'remove the declaration')
    # The text is already decoded: drop the declaration so its encoding label cannot contradict it.
    xml_text = re.sub(r'^\s*<\?xml[^>]*\?>', '', xml_text)
    try:
        return ET.fromstring(xml_text.encode('utf-8'))
    except ET.ParseError as error:
        # The parser's message names a line and column, never the content.
        raise AnswerFileError('answer file', 'is not well-formed XML (%s)' % error, 'fix the XML syntax')


def _leaves(element, prefix):
    """(path, element) for every element without element children under `element`."""
    children = [child for child in element if isinstance(child.tag, str)]
    if not children:
        yield prefix, element
        return
    for child in children:
        yield from _leaves(child, '%s/%s' % (prefix, _local(child.tag)))


def _secret_leaf(path, element):
    parts = path.split('/')
    if _is_secret_name(parts[-1]):
        return True
    return parts[-1] == 'Value' and len(parts) > 1 and _is_secret_name(parts[-2])


def describe_answer_file(xml_text):
    """Passes, components and setting paths of an answer file, and where it holds passwords.

    Returns {'passes': {pass: [component, ...]}, 'setting_paths': [...], 'secret_paths': [...],
    'contains_password': bool}. Paths read pass/component/Element/.../Leaf. Values are never returned.
    """
    root = _parse(xml_text)
    passes = {}
    setting_paths = set()
    secret_paths = set()
    contains_password = False
    for settings in root:
        if _local(settings.tag) != 'settings':
            continue
        pass_name = settings.get('pass', '')
        components = passes.setdefault(pass_name, [])
        for component in settings:
            if _local(component.tag) != 'component':
                continue
            name = component.get('name', '')
            if name not in components:
                components.append(name)
            for path, leaf in _leaves(component, '%s/%s' % (pass_name, name)):
                if path.count('/') < 2:
                    continue  # an empty component
                setting_paths.add(path)
                if _secret_leaf(path, leaf):
                    secret_paths.add(path)
                    contains_password = contains_password or bool((leaf.text or '').strip())
    return {'passes': passes, 'setting_paths': sorted(setting_paths), 'secret_paths': sorted(secret_paths),
            'contains_password': contains_password}


_COMPONENT_ATTRIBUTES = (('publicKeyToken', PUBLIC_KEY_TOKEN), ('language', 'neutral'), ('versionScope', 'nonSxS'))


def check_answer_file_structure(xml_text):
    """Structural problems of an answer file (namespaces, passes, component identity, list markers).

    Returns a list of human-readable problems; an empty list means the structure is sound. It does not
    know every component's schema: it checks what every answer file must get right.
    """
    try:
        root = _parse(xml_text)
    except AnswerFileError as error:
        return [str(error)]
    if root.tag != '{%s}unattend' % UNATTEND_NS:
        return ['the root element is %s, expected <unattend xmlns="%s">' % (root.tag, UNATTEND_NS)]
    problems = []
    seen_passes = set()
    for settings in root:
        if not isinstance(settings.tag, str) or not settings.tag.startswith('{%s}' % UNATTEND_NS):
            continue  # e.g. Windows SIM's cpi:offlineImage
        if _local(settings.tag) == 'servicing':
            continue
        if _local(settings.tag) != 'settings':
            problems.append('unexpected element <%s> under <unattend>' % _local(settings.tag))
            continue
        pass_name = settings.get('pass')
        if pass_name not in PASS_ORDER:
            problems.append('settings pass %r is not one of %s' % (pass_name, ', '.join(PASS_ORDER)))
        elif pass_name in seen_passes:
            problems.append('pass %s appears twice' % pass_name)
        seen_passes.add(pass_name)
        problems.extend(_component_problems(settings, pass_name))
    return problems


def _component_problems(settings, pass_name):
    problems = []
    seen = set()
    for component in settings:
        if not isinstance(component.tag, str):
            continue
        where = '%s/%s' % (pass_name, component.get('name', '?'))
        if component.tag != '{%s}component' % UNATTEND_NS:
            problems.append('%s: unexpected element <%s> (only <component> belongs in <settings>)'
                            % (pass_name, _local(component.tag)))
            continue
        if not component.get('name'):
            problems.append('%s: a component has no name' % pass_name)
        architecture = component.get('processorArchitecture')
        known = ARCHITECTURES + ('wow64',)
        if architecture not in known:
            problems.append('%s: processorArchitecture %r is not one of %s' % (where, architecture, ', '.join(known)))
        for attribute, expected in _COMPONENT_ATTRIBUTES:
            if (component.get(attribute) or '').lower() != expected.lower():
                problems.append('%s: %s is %r, expected %r' % (where, attribute, component.get(attribute), expected))
        key = (component.get('name'), architecture)
        if key in seen:
            problems.append('%s: component appears twice in the pass' % where)
        seen.add(key)
        problems.extend(_element_problems(component, where))
    return problems


def _element_problems(component, where):
    problems = []
    for element in component.iter():
        if not isinstance(element.tag, str):
            continue
        if element is not component and not element.tag.startswith('{%s}' % UNATTEND_NS):
            problems.append('%s: element %s is outside the unattend namespace' % (where, element.tag))
        action = element.get('{%s}action' % WCM_NS)
        if action is not None and action not in ('add', 'modify', 'remove'):
            problems.append('%s/%s: wcm:action %r is not add, modify or remove' % (where, _local(element.tag), action))
        if _local(element.tag) == 'PlainText' and (element.text or '').strip().lower() not in ('true', 'false'):
            problems.append('%s: PlainText must be true or false' % where)
    return problems


# --------------------------------------------------------------------------------------------------
# Removing the answer files after deployment
# --------------------------------------------------------------------------------------------------

def answer_file_cleanup_paths(extra_paths=None):
    """The answer-file copies to delete after deployment, plus caller-given paths (validated)."""
    paths = list(ANSWER_FILE_COPIES)
    for index, path in enumerate(extra_paths or []):
        where = 'extra_paths[%d]' % index
        if not isinstance(path, str) or not path.strip():
            raise AnswerFileError(where, 'must be a non-empty string', r'write a Windows path such as C:\Temp\unattend.xml')
        if re.search(r'["\r\n\x00]', path):
            raise AnswerFileError(where, 'contains a double quote or line break, which no Windows path can hold',
                                  'remove it')
        if not re.match(r'^([A-Za-z]:\\|%[A-Za-z_]+%\\)', path):
            raise AnswerFileError(where, '%r is not an absolute Windows path' % path,
                                  r'start it with a drive (C:\...) or an environment variable (%WINDIR%\...)')
        if path not in paths:
            paths.append(path)
    return paths


def setupcomplete_cleanup_script(extra_paths=None):
    """Text of a SetupComplete.cmd that deletes the answer files once Windows Setup has finished.

    Place it at %WINDIR%\\Setup\\Scripts\\SetupComplete.cmd in the image before capture (merge the
    lines into an existing SetupComplete.cmd rather than replacing it). Microsoft documents that Windows
    Setup runs it as Local System after setup, before the logon screen, that it ignores its exit code,
    and that it is disabled when an OEM product key is used, except on Enterprise editions and Windows
    Server. The script holds no secret and echoes nothing.
    """
    lines = [
        '@echo off',
        'rem Written by winimage.generalize: remove answer files, which can hold passwords, after deployment.',
    ]
    for path in answer_file_cleanup_paths(extra_paths):
        lines.append('del /f /q "%s" >nul 2>&1' % path)
    lines.append('exit /b 0')
    return '\r\n'.join(lines) + '\r\n'
