# Copyright: (c) 2026, winimage.generalize contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Shared by the collection's filter plugins.

FOR USE INSIDE THIS COLLECTION: the interface may change in any release.
"""

from __future__ import annotations

from collections.abc import Mapping


def plain_data(value):
    """Ansible's templated containers -> plain dicts and lists, which module_utils expect."""
    if isinstance(value, Mapping) or hasattr(value, "items"):
        return {str(key): plain_data(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain_data(item) for item in value]
    return value
