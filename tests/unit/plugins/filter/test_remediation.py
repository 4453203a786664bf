# Copyright: (c) 2026, winimage.generalize contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The remediation filters are thin: they pass options through and turn errors into filter errors."""

from __future__ import annotations

import json
import pathlib

import pytest
import yaml
from ansible.errors import AnsibleFilterError

from ansible_collections.winimage.generalize.plugins.filter import remediation
from ansible_collections.winimage.generalize.plugins.module_utils.facts_schema import empty_facts

FILTER_DIR = pathlib.Path(remediation.__file__).resolve().parent


def facts():
    document = empty_facts("online", "winimage.generalize.readiness_facts", "ref01")
    document["os"].update(computer_name="REF01", build=20348, product_type="ServerNT")
    document["domain"].update(role="member_server", dns_domain="corp.example.com")
    document["connection"].update(user="REF01\\Administrator", is_domain_account=False, is_local_administrator=True)
    document["virtualization"].update(manufacturer="QEMU", model="Standard PC (Q35 + ICH9, 2009)")
    return document


def test_every_filter_has_a_documentation_sidecar():
    names = remediation.FilterModule().filters()
    for name in names:
        doc = yaml.safe_load((FILTER_DIR / ("%s.yml" % name)).read_text(encoding="utf-8"))["DOCUMENTATION"]
        assert doc["name"] == name


def test_unjoin_plan_passes_the_options():
    plan = remediation.unjoin_plan(facts(), workgroup_name="IMAGING", remove_computer_object=True, dc_host="dc01")
    assert plan["action"] == "unjoin"
    assert (plan["workgroup_name"], plan["dc_host"], plan["computer_object_identity"]) == ("IMAGING", "dc01", "REF01$")


def test_unjoin_plan_bad_option_is_a_filter_error():
    with pytest.raises(AnsibleFilterError, match="winimage.generalize.unjoin_plan: workgroup_name"):
        remediation.unjoin_plan(facts(), workgroup_name="FAR-TOO-LONG-A-NAME")


def test_driver_store_path_styles_and_overrides():
    assert remediation.driver_store_path(facts(), "/srv/drivers", style="posix") == \
        "/srv/drivers/QEMU/Standard PC (Q35 + ICH9, 2009)/20348"
    assert remediation.driver_store_path(facts(), "\\\\files\\drivers", model="Lab-KVM") == \
        "\\\\files\\drivers\\QEMU\\Lab-KVM\\20348"


def test_driver_store_path_unknown_fact_is_a_filter_error():
    document = facts()
    document["virtualization"]["manufacturer"] = None
    with pytest.raises(AnsibleFilterError, match="virtualization.manufacturer is unknown"):
        remediation.driver_store_path(document, "/srv/drivers")


def test_driver_export_needed_reads_a_manifest_as_json_text():
    drivers = [{"original_name": "viostor.inf", "version": "100.94.104.24500", "provider": "Red Hat, Inc.",
                "class_name": "SCSIAdapter"}]
    manifest = json.dumps({"format": 1, "drivers": drivers})
    assert remediation.driver_export_needed(drivers, manifest) is False
    assert remediation.driver_export_needed(drivers, "") is True
    assert remediation.driver_export_needed(drivers) is True
    with pytest.raises(AnsibleFilterError, match="the manifest is not JSON"):
        remediation.driver_export_needed(drivers, "{not json")
    with pytest.raises(AnsibleFilterError, match="must be a list"):
        remediation.driver_export_needed("drivers", manifest)
