# -*- coding: utf-8 -*-
# Copyright: (c) 2026, winimage.generalize contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Filters exposing the answer-file builder: unattend_xml and setupcomplete_cleanup.

Documentation: unattend_xml.yml and setupcomplete_cleanup.yml beside this file, and docs/answer-file.md.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError
from ansible.utils.display import Display

from ansible_collections.winimage.generalize.plugins.module_utils.unattend import (
    AnswerFileError,
    build_answer_file,
    setupcomplete_cleanup_script,
)

display = Display()

_OUTPUTS = ('xml', 'details')


def _fail(filter_name, error):
    # Only AnswerFileError messages are shown verbatim: they are built never to contain a password.
    # Anything else is a bug; its text could hold input values, so only its type is reported.
    if isinstance(error, AnswerFileError):
        return AnsibleFilterError('winimage.generalize.%s: %s' % (filter_name, error))
    return AnsibleFilterError('winimage.generalize.%s: internal error (%s) while building; please report it '
                              'with the settings keys you used (never the passwords)'
                              % (filter_name, type(error).__name__))


def unattend_xml(settings, output='xml'):
    """Settings mapping -> answer-file XML text (or, with output='details', the XML plus what to protect)."""
    if output not in _OUTPUTS:
        raise AnsibleFilterError('winimage.generalize.unattend_xml: output is %r. Fix: use one of %s'
                                 % (output, ', '.join(_OUTPUTS)))
    try:
        answer_file = build_answer_file(settings)
    except Exception as error:  # noqa: BLE001 - see _fail: never let a traceback carry input values
        raise _fail('unattend_xml', error) from None
    for warning in answer_file.warnings:
        display.warning('winimage.generalize.unattend_xml: %s' % warning)
    if output == 'xml':
        return answer_file.xml
    return {
        'xml': answer_file.xml,
        'warnings': answer_file.warnings,
        'secret_paths': answer_file.secret_paths,
        'contains_password': answer_file.contains_password,
    }


def setupcomplete_cleanup(extra_paths=None):
    """Extra answer-file paths (may be empty) -> SetupComplete.cmd text deleting every answer-file copy."""
    if extra_paths is not None and not isinstance(extra_paths, (list, tuple)):
        extra_paths = [extra_paths]
    try:
        return setupcomplete_cleanup_script(extra_paths)
    except Exception as error:  # noqa: BLE001
        raise _fail('setupcomplete_cleanup', error) from None


class FilterModule(object):

    def filters(self):
        return {
            'unattend_xml': unattend_xml,
            'setupcomplete_cleanup': setupcomplete_cleanup,
        }
