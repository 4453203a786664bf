# Copyright: (c) 2026, winimage.generalize contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""unjoin_plan: leave the domain only when the connection survives it, refuse with a reason otherwise."""

from __future__ import annotations

import json
import pathlib

import pytest

from ansible_collections.winimage.generalize.plugins.module_utils.domain_unjoin import (
    UnjoinOptionsError,
    unjoin_plan,
)
from ansible_collections.winimage.generalize.plugins.module_utils.facts_schema import empty_facts

FACTS_DIR = pathlib.Path(__file__).resolve().parents[3] / "data" / "facts"

MEMBER = {"role": "member_server", "dns_domain": "corp.example.com", "netbios_domain": "CORP"}
STANDALONE = {"role": "standalone_server", "workgroup": "WORKGROUP", "netbios_domain": "WORKGROUP"}
DC = {"role": "primary_domain_controller", "dns_domain": "corp.example.com"}
LOCAL_ADMIN = {"user": "REF01\\winimage-admin", "is_domain_account": False, "is_local_administrator": True}
DOMAIN_ADMIN = {"user": "CORP\\svc-imaging", "is_domain_account": True, "is_local_administrator": True}
LOCAL_USER = {"user": "REF01\\operator", "is_domain_account": False, "is_local_administrator": False}


def facts(domain=None, connection=None, os=None, errors=None):
    document = empty_facts("online", "winimage.generalize.readiness_facts", "ref01")
    document["os"].update({"computer_name": "REF01", "product_type": "ServerNT"}, **(os or {}))
    document["domain"].update(domain or {})
    document["connection"].update(connection or {})
    document["errors"].update(errors or {})
    return document


# (what, domain facts, connection facts, os facts, expected action, expected code)
TABLE = [
    ("workgroup machine", STANDALONE, LOCAL_ADMIN, {}, "noop", "workgroup"),
    ("workgroup machine, connection unknown", STANDALONE, {}, {}, "noop", "workgroup"),
    ("member, local admin", MEMBER, LOCAL_ADMIN, {}, "unjoin", "joined"),
    ("member, built-in Administrator", MEMBER,
     {"user": "REF01\\Administrator", "is_domain_account": False, "is_local_administrator": True}, {},
     "unjoin", "joined"),
    ("member, admin membership unknown", MEMBER, dict(LOCAL_ADMIN, is_local_administrator=None), {},
     "unjoin", "joined"),
    ("member, domain account", MEMBER, DOMAIN_ADMIN, {}, "refuse", "domain_account"),
    ("member, local non-admin", MEMBER, LOCAL_USER, {}, "refuse", "not_local_administrator"),
    ("member, connection not gathered", MEMBER, {}, {}, "refuse", "unknown_facts"),
    ("domain controller by role", DC, LOCAL_ADMIN, {}, "refuse", "domain_controller"),
    ("domain controller by product type", {"dns_domain": "corp.example.com"}, LOCAL_ADMIN,
     {"product_type": "LanmanNT"}, "refuse", "domain_controller"),
    ("domain controller, even as domain account", DC, DOMAIN_ADMIN, {}, "refuse", "domain_controller"),
    ("membership unknown", {}, LOCAL_ADMIN, {"product_type": None}, "refuse", "unknown_facts"),
    ("joined flag without role, DC unknown", {"joined": True}, LOCAL_ADMIN, {"product_type": None},
     "refuse", "unknown_facts"),
]


@pytest.mark.parametrize("what, domain, connection, os, action, code", TABLE, ids=[row[0] for row in TABLE])
def test_unjoin_plan_table(what, domain, connection, os, action, code):
    plan = unjoin_plan(facts(domain, connection, os))
    assert (plan["action"], plan["code"]) == (action, code), plan["reason"]
    assert plan["reason"]


def test_domain_account_refusal_tells_the_user_what_to_do():
    plan = unjoin_plan(facts(MEMBER, DOMAIN_ADMIN), {"local_admin_user": "winimage-admin"})
    reason = plan["reason"]
    assert "CORP\\svc-imaging" in reason and "domain account" in reason
    assert "corp.example.com" in reason
    assert "Nothing was changed in the domain" in reason
    assert "ansible_user" in reason and ".\\winimage-admin" in reason


def test_refusal_without_a_configured_local_admin_still_names_the_switch():
    reason = unjoin_plan(facts(MEMBER, DOMAIN_ADMIN))["reason"]
    assert "set ansible_user to a local administrator" in reason
    assert "domain_unjoin_local_admin_user" in reason


def test_domain_controller_refusal_says_not_to_image_it():
    reason = unjoin_plan(facts(DC, LOCAL_ADMIN))["reason"]
    assert "REF01 is a domain controller of corp.example.com" in reason
    assert "must not be imaged" in reason


def test_unknown_facts_are_named_with_why():
    plan = unjoin_plan(facts(MEMBER, errors={"connection": "excluded by gather_subset"}))
    assert plan["missing_facts"] == ["connection.is_domain_account"]
    assert "connection.is_domain_account is unknown (excluded by gather_subset)" in plan["reason"]
    assert "gather_subset [os, domain, connection]" in plan["reason"]


def test_unjoin_plan_carries_what_the_role_needs():
    plan = unjoin_plan(facts(MEMBER, LOCAL_ADMIN),
                       {"workgroup_name": " IMAGING ", "remove_computer_object": True, "dc_host": "dc01"})
    assert plan == {
        "action": "unjoin", "code": "joined",
        "reason": "REF01 leaves corp.example.com for workgroup IMAGING, connected as local account REF01\\winimage-admin.",
        "workgroup_name": "IMAGING", "domain": "corp.example.com", "connection_user": "REF01\\winimage-admin",
        "remove_computer_object": True, "dc_host": "dc01", "computer_object_identity": "REF01$",
    }


def test_computer_object_removal_needs_the_computer_name():
    plan = unjoin_plan(facts(MEMBER, LOCAL_ADMIN, {"computer_name": None}),
                       {"remove_computer_object": True, "dc_host": "dc01"})
    assert plan["action"] == "refuse" and plan["missing_facts"] == ["os.computer_name"]


def test_recorded_facts_of_a_domain_joined_build_are_refused_for_the_domain_connection():
    recorded = json.loads((FACTS_DIR / "win10_22h2_blocked.json").read_text(encoding="utf-8"))
    assert unjoin_plan(recorded)["code"] == "domain_account"


def test_recorded_facts_of_a_domain_controller_are_refused():
    recorded = json.loads((FACTS_DIR / "server2025_dc_blocked.json").read_text(encoding="utf-8"))
    assert unjoin_plan(recorded)["code"] == "domain_controller"


def test_the_facts_passed_in_are_not_changed():
    document = facts(MEMBER, LOCAL_ADMIN)
    before = json.dumps(document, sort_keys=True)
    unjoin_plan(document)
    assert json.dumps(document, sort_keys=True) == before


@pytest.mark.parametrize("options, words", [
    ({"workgroup_name": ""}, "workgroup_name must be a non-empty string"),
    ({"workgroup_name": "A" * 16}, "is not a valid NetBIOS name"),
    ({"workgroup_name": "BAD/NAME"}, "is not a valid NetBIOS name"),
    ({"remove_computer_object": "yes"}, "remove_computer_object must be true or false"),
    ({"remove_computer_object": True}, "dc_host is required with remove_computer_object"),
    ({"dc_hots": "x"}, "unknown option(s) dc_hots"),
])
def test_bad_options_are_named(options, words):
    with pytest.raises(UnjoinOptionsError) as raised:
        unjoin_plan(facts(MEMBER, LOCAL_ADMIN), options)
    assert words in str(raised.value)


def test_facts_must_be_a_mapping():
    with pytest.raises(UnjoinOptionsError, match="readiness facts document"):
        unjoin_plan(["not", "facts"])
