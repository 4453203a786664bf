# Copyright: (c) 2026, winimage.generalize contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The driver store the drivers role exports to, and when an export is out of date.

Exported third-party drivers are kept per hardware model and Windows build:
``<store>/<manufacturer>/<model>/<os build>/``, with manufacturer and model from the readiness
facts (``virtualization.manufacturer`` / ``virtualization.model``, the SMBIOS strings
Win32_ComputerSystem reports) and the build from ``os.build``. Those strings come from firmware
("To Be Filled By O.E.M.", "HP ProDesk 600 G6 Desktop PC", "Dell Inc.") and must become one
safe directory name each, on Windows and on the controller alike.

An export is described by its manifest (``winimage-drivers.json``, written by the
``driver_export`` module): one entry per driver package. Two exports hold the same drivers when
the same packages (original INF name, version, provider, class) are in both; the published
``oemNN.inf`` names differ between machines and are not compared. ``driver_export.ps1`` compares
with the same fields (a test keeps them equal).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.winimage.generalize.plugins.module_utils.facts_schema import get_field, missing_reason

MANIFEST_NAME = "winimage-drivers.json"
ARCHIVE_NAME = "drivers.zip"
# Fields that identify a driver package in a manifest (published names are machine-specific).
IDENTITY_FIELDS = ("original_name", "version", "provider", "class_name")

# Characters Windows forbids in file names, plus control characters; also the separators.
_FORBIDDEN = re.compile(r'[<>:"/\\|?*\x00-\x1f]')
# Device names Windows reserves in every directory, with or without an extension.
_RESERVED = re.compile(r"^(con|prn|aux|nul|com[0-9]|lpt[0-9])(\..*)?$", re.IGNORECASE)
_MAX_COMPONENT = 64


class DriverStoreError(ValueError):
    """A store path cannot be built; the message names the fact or option and the fix."""


def path_component(value, what="value"):
    """One safe directory name from a firmware or user string.

    Forbidden characters become ``_``, runs of whitespace one space, trailing dots and spaces
    (which Windows drops) are removed, reserved device names get a leading ``_``, and the result
    is at most 64 characters. An empty result is an error naming ``what``.
    """
    if value is None or isinstance(value, bool):
        raise DriverStoreError("%s is not known" % what)
    text = re.sub(r"\s+", " ", str(value))  # tabs and line breaks first, so they become spaces
    text = _FORBIDDEN.sub("_", text).strip().rstrip(". ")
    text = text[:_MAX_COMPONENT].rstrip(". ")
    if _RESERVED.match(text):
        text = "_" + text
    if not text.strip("_ "):
        raise DriverStoreError("%s %r gives no usable directory name" % (what, value))
    return text


def _fact_or_override(facts, path, override, option):
    if override not in (None, ""):
        return path_component(override, option)
    value = get_field(facts, path) if isinstance(facts, dict) else None
    if value in (None, ""):
        reason = missing_reason(facts, path) if isinstance(facts, dict) else "no facts given"
        raise DriverStoreError("%s is unknown (%s); gather the readiness facts with gather_subset [os, "
                               "virtualization] or set %s" % (path, reason, option))
    return path_component(value, path)


def driver_store_key(facts, manufacturer=None, model=None, build=None):
    """``[manufacturer, model, build]`` directory names for one machine; overrides win over facts."""
    return [
        _fact_or_override(facts, "virtualization.manufacturer", manufacturer, "drivers_manufacturer"),
        _fact_or_override(facts, "virtualization.model", model, "drivers_model"),
        _fact_or_override(facts, "os.build", build, "drivers_os_build"),
    ]


def driver_store_path(store, key, style="windows"):
    """``store`` joined with the key components, with Windows (``\\``) or POSIX (``/``) separators."""
    if style not in ("windows", "posix"):
        raise DriverStoreError("style must be windows or posix, got %r" % (style,))
    if not isinstance(store, str) or not store.strip():
        raise DriverStoreError("the driver store path is empty; set drivers_store_path")
    separator = "\\" if style == "windows" else "/"
    root = store.strip().rstrip("\\/")  # '' for a store at the file system root ('/')
    if not isinstance(key, (list, tuple)) or not key:
        raise DriverStoreError("the store key must be a list of directory names, got %r" % (key,))
    return separator.join([root] + [path_component(part, "store key part") for part in key])


def driver_identity(driver):
    """The fields that say two exported driver packages are the same, lower-cased."""
    if not isinstance(driver, dict):
        raise DriverStoreError("a driver entry must be a mapping, got %s" % type(driver).__name__)
    return tuple(str(driver.get(field) or "").strip().lower() for field in IDENTITY_FIELDS)


def manifest_drivers(manifest):
    """The driver list of a manifest (the JSON document or its parsed mapping), None when absent."""
    if manifest in (None, "", {}):
        return None
    if not isinstance(manifest, dict) or not isinstance(manifest.get("drivers"), list):
        raise DriverStoreError("the driver manifest has no 'drivers' list; delete %s to export again" % MANIFEST_NAME)
    return manifest["drivers"]


def export_needed(current, manifest):
    """True when the installed third-party drivers differ from the exported ones (or none were exported)."""
    if not isinstance(current, list):
        raise DriverStoreError("the current driver inventory must be a list (driver_export state=inventory "
                               "returns it as 'drivers')")
    exported = manifest_drivers(manifest)
    if exported is None:
        return True
    return sorted(map(driver_identity, current)) != sorted(map(driver_identity, exported))
