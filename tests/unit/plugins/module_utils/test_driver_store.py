# Copyright: (c) 2026, winimage.generalize contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Driver store paths keyed by model and build, and when an export is out of date."""

from __future__ import annotations

import json
import pathlib
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.winimage.generalize.plugins.module_utils import driver_store
from ansible_collections.winimage.generalize.plugins.module_utils.driver_store import (
    DriverStoreError,
    driver_store_key,
    driver_store_path,
    export_needed,
    path_component,
)
from ansible_collections.winimage.generalize.plugins.module_utils.facts_schema import empty_facts

FACTS_DIR = pathlib.Path(__file__).resolve().parents[3] / "data" / "facts"
PS1 = pathlib.Path(__file__).resolve().parents[4] / "plugins" / "modules" / "driver_export.ps1"
WINDOWS_FORBIDDEN = set('<>:"/\\|?*')


def facts(manufacturer="Dell Inc.", model="OptiPlex 7090", build=19045):
    document = empty_facts("online", "winimage.generalize.readiness_facts", "ref01")
    document["virtualization"].update(manufacturer=manufacturer, model=model)
    document["os"]["build"] = build
    return document


@pytest.mark.parametrize("raw, safe", [
    ("Dell Inc.", "Dell Inc"),                                   # trailing dot: Windows drops it
    ("HP ProDesk 600 G6 Desktop PC", "HP ProDesk 600 G6 Desktop PC"),
    ("To Be Filled By O.E.M.", "To Be Filled By O.E.M"),
    ("Microsoft Corporation", "Microsoft Corporation"),
    ("VMware7,1", "VMware7,1"),
    ("Standard PC (Q35 + ICH9, 2009)", "Standard PC (Q35 + ICH9, 2009)"),
    ("ThinkPad X1/Carbon:Gen 9", "ThinkPad X1_Carbon_Gen 9"),
    ("  spaced\tout   model  ", "spaced out model"),
    ("CON", "_CON"),
    ("nul.txt", "_nul.txt"),
    ("COM1", "_COM1"),
    (19045, "19045"),
])
def test_path_component(raw, safe):
    assert path_component(raw) == safe


@pytest.mark.parametrize("raw", ["", "   ", "...", "???", None, True])
def test_unusable_names_are_errors(raw):
    with pytest.raises(DriverStoreError):
        path_component(raw, "virtualization.model")


@settings(max_examples=200, deadline=None)
@given(st.text(min_size=1, max_size=120))
def test_any_firmware_string_gives_a_safe_name_or_a_clear_error(raw):
    try:
        name = path_component(raw)
    except DriverStoreError as error:
        assert "gives no usable directory name" in str(error)
        return
    assert 0 < len(name) <= 64
    assert not WINDOWS_FORBIDDEN & set(name)
    assert not any(ord(char) < 32 for char in name)
    assert name == name.strip() and not name.endswith(".")
    assert not re.match(r"^(con|prn|aux|nul|com\d|lpt\d)(\..*)?$", name, re.IGNORECASE)


def test_store_key_from_facts():
    assert driver_store_key(facts()) == ["Dell Inc", "OptiPlex 7090", "19045"]


def test_overrides_win_over_facts():
    assert driver_store_key(facts(), manufacturer="Contoso", model="Lab VM", build="26100") == \
        ["Contoso", "Lab VM", "26100"]


def test_recorded_hyperv_guest():
    recorded = json.loads((FACTS_DIR / "win10_22h2_blocked.json").read_text(encoding="utf-8"))
    assert driver_store_path("\\\\files\\drivers\\", driver_store_key(recorded)) == \
        "\\\\files\\drivers\\Microsoft Corporation\\Virtual Machine\\19045"


def test_unknown_model_names_the_fact_and_the_override():
    document = facts(model=None)
    document["errors"]["virtualization"] = "Get-CimInstance Win32_ComputerSystem: access denied"
    with pytest.raises(DriverStoreError) as raised:
        driver_store_key(document)
    message = str(raised.value)
    assert "virtualization.model is unknown (Get-CimInstance Win32_ComputerSystem: access denied)" in message
    assert "drivers_model" in message


@pytest.mark.parametrize("store, style, expected", [
    ("D:\\DriverStore", "windows", "D:\\DriverStore\\Dell Inc\\OptiPlex 7090\\19045"),
    ("D:\\DriverStore\\", "windows", "D:\\DriverStore\\Dell Inc\\OptiPlex 7090\\19045"),
    ("\\\\files\\drivers", "windows", "\\\\files\\drivers\\Dell Inc\\OptiPlex 7090\\19045"),
    ("/srv/drivers/", "posix", "/srv/drivers/Dell Inc/OptiPlex 7090/19045"),
    ("/", "posix", "/Dell Inc/OptiPlex 7090/19045"),
])
def test_store_paths(store, style, expected):
    assert driver_store_path(store, driver_store_key(facts()), style) == expected


@pytest.mark.parametrize("store, style, key, words", [
    ("", "windows", ["a"], "drivers_store_path"),
    ("D:\\x", "mac", ["a"], "style must be windows or posix"),
    ("D:\\x", "windows", [], "store key must be a list"),
])
def test_store_path_errors(store, style, key, words):
    with pytest.raises(DriverStoreError, match=words):
        driver_store_path(store, key, style)


# --------------------------------------------------------------------------- manifests

def driver(original, version="1.0.0.0", provider="Contoso", class_name="Net", published="oem1.inf"):
    return {"published_name": published, "original_name": original, "provider": provider,
            "class_name": class_name, "version": version, "date": "2024-01-01", "boot_critical": False}


def test_no_manifest_means_export():
    assert export_needed([driver("a.inf")], None) is True
    assert export_needed([], None) is True


def test_same_packages_on_another_machine_need_no_export():
    exported = {"drivers": [driver("vmxnet3.inf", published="oem7.inf"), driver("pvscsi.inf", published="oem3.inf")]}
    current = [driver("PVSCSI.INF", published="oem1.inf"), driver("vmxnet3.inf", published="oem2.inf")]
    assert export_needed(current, exported) is False


@pytest.mark.parametrize("change", [
    {"version": "1.0.0.1"}, {"provider": "Fabrikam"}, {"class_name": "SCSIAdapter"}, {"original": "b.inf"},
])
def test_a_changed_package_needs_an_export(change):
    exported = {"drivers": [driver("a.inf")]}
    current = [driver(change.pop("original", "a.inf"), **change)]
    assert export_needed(current, exported) is True


def test_added_or_removed_packages_need_an_export():
    exported = {"drivers": [driver("a.inf")]}
    assert export_needed([driver("a.inf"), driver("b.inf")], exported) is True
    assert export_needed([], exported) is True


def test_bad_manifest_is_an_error_with_the_fix():
    with pytest.raises(DriverStoreError, match="delete winimage-drivers.json"):
        export_needed([], {"format": 1})


def test_powershell_compares_the_same_fields():
    """driver_export.ps1 decides idempotence itself in host mode: it must use IDENTITY_FIELDS."""
    body = PS1.read_text(encoding="utf-8")
    fields = re.search(r"\$identityFields = @\(([^)]*)\)", body).group(1)
    assert tuple(re.findall(r"'(\w+)'", fields)) == driver_store.IDENTITY_FIELDS
    assert "$manifestName = '%s'" % driver_store.MANIFEST_NAME in body
    for field in driver_store.IDENTITY_FIELDS:  # and the inventory carries each field
        assert re.search(r"^\s+%s = " % field, body, re.MULTILINE), field
