# Copyright: (c) 2026, winimage.generalize contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Whether the domain_unjoin role may leave the domain: ``unjoin_plan(facts, options)``.

Sysprep removes a machine from its domain by itself, but a reference machine should leave the
domain before sysprep (seed: Virtual deployment; finding ``domain_joined``), connected with an
account that still works afterwards. The plan is one of:

* ``noop``   - the machine is in a workgroup already;
* ``unjoin`` - leave the domain for the workgroup named in the options;
* ``refuse`` - stop before changing anything, with a reason a Windows admin can act on:
  the machine is a domain controller; Ansible is connected with a domain account (the host
  stops accepting it once it left the domain, so the play would lose the host half-way);
  the account is not a local administrator; or a fact the decision needs is unknown (a missing
  fact is never a pass).

The facts are the readiness facts (``winimage.generalize.readiness_facts`` with at least
``gather_subset: [os, domain, connection]``). Derived fields are completed here, so raw facts
from the module work as well.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.winimage.generalize.plugins.module_utils.facts_derive import complete_facts
from ansible_collections.winimage.generalize.plugins.module_utils.facts_schema import get_field, missing_reason

# NetBIOS names: at most 15 characters, none of \ / : * ? " < > | (Microsoft, "Naming conventions
# in Active Directory for computers, domains, sites, and OUs").
_NETBIOS_FORBIDDEN = re.compile(r'[\\/:*?"<>|\x00-\x1f]')
_NETBIOS_MAX = 15
_DC_ADVICE = ("A domain controller must not be imaged: sysprep cannot safely change its SIDs, and leaving the "
              "domain is not the fix. Image a member or standalone server instead and promote the deployed "
              "copies (microsoft.ad.domain_controller) after deployment.")

OPTION_DEFAULTS = {
    "workgroup_name": "WORKGROUP",
    "remove_computer_object": False,
    "dc_host": "",
    "local_admin_user": "",
}


class UnjoinOptionsError(ValueError):
    """Bad options; the message names the option and the fix."""


def _normalize(options):
    options = dict(OPTION_DEFAULTS, **dict((k, v) for k, v in (options or {}).items() if v is not None))
    unknown = sorted(set(options) - set(OPTION_DEFAULTS))
    if unknown:
        raise UnjoinOptionsError("unknown option(s) %s; valid options: %s"
                                 % (", ".join(unknown), ", ".join(sorted(OPTION_DEFAULTS))))
    workgroup = options["workgroup_name"]
    if not isinstance(workgroup, str) or not workgroup.strip():
        raise UnjoinOptionsError("workgroup_name must be a non-empty string, for example WORKGROUP")
    workgroup = workgroup.strip()
    if len(workgroup) > _NETBIOS_MAX or _NETBIOS_FORBIDDEN.search(workgroup) or workgroup.strip(". ") == "":
        raise UnjoinOptionsError("workgroup_name %r is not a valid NetBIOS name: use at most 15 characters and "
                                 "none of \\ / : * ? \" < > |" % workgroup)
    if not isinstance(options["remove_computer_object"], bool):
        raise UnjoinOptionsError("remove_computer_object must be true or false, got %r"
                                 % (options["remove_computer_object"],))
    for name in ("dc_host", "local_admin_user"):
        if not isinstance(options[name], str):
            raise UnjoinOptionsError("%s must be a string, got %r" % (name, options[name]))
    if options["remove_computer_object"] and not options["dc_host"].strip():
        raise UnjoinOptionsError("dc_host is required with remove_computer_object: name the inventory host "
                                 "(a domain controller or a machine with the ActiveDirectory PowerShell module) "
                                 "that deletes the computer object")
    return dict(options, workgroup_name=workgroup)


def _local_logon_hint(local_admin_user):
    if local_admin_user:
        return ("set ansible_user to the local administrator .\\%s (this role ensures it exists when "
                "domain_unjoin_local_admin_user and domain_unjoin_local_admin_password are set) and run again"
                % local_admin_user.split("\\")[-1])
    return ("set ansible_user to a local administrator of the machine (for example .\\Administrator, or an account "
            "this role creates with domain_unjoin_local_admin_user and domain_unjoin_local_admin_password) "
            "and run again")


def _plan(action, code, reason, **extra):
    plan = {"action": action, "code": code, "reason": reason}
    plan.update(extra)
    return plan


def _unknown(facts, paths):
    """A refusal naming the facts that are unknown, or None when all are known."""
    missing = [path for path in paths if get_field(facts, path) is None]
    if not missing:
        return None
    details = "; ".join("%s is unknown (%s)" % (path, missing_reason(facts, path)) for path in missing)
    return _plan("refuse", "unknown_facts",
                 "Cannot decide safely whether leaving the domain is possible: %s. Gather the facts with "
                 "winimage.generalize.readiness_facts and gather_subset [os, domain, connection], then run again."
                 % details, missing_facts=missing)


def unjoin_plan(facts, options=None):
    """``{action: noop|unjoin|refuse, code, reason, ...}`` for the facts of one host."""
    if not isinstance(facts, dict):
        raise UnjoinOptionsError("facts must be the readiness facts document (a mapping), got %s"
                                 % type(facts).__name__)
    options = _normalize(options)
    facts = complete_facts(facts)
    computer = get_field(facts, "os.computer_name") or "this machine"

    # A known domain controller is refused whatever else is unknown.
    if get_field(facts, "domain.is_domain_controller"):
        return _plan("refuse", "domain_controller", "%s is a domain controller of %s. %s" % (
            computer, get_field(facts, "domain.dns_domain") or "its domain", _DC_ADVICE))
    refusal = _unknown(facts, ["domain.joined"])
    if refusal:
        return refusal
    if not get_field(facts, "domain.joined"):
        workgroup = get_field(facts, "domain.workgroup") or get_field(facts, "domain.netbios_domain")
        return _plan("noop", "workgroup", "%s is not joined to a domain (workgroup %s): nothing to leave."
                     % (computer, workgroup or "unknown"))

    refusal = _unknown(facts, ["domain.is_domain_controller", "connection.is_domain_account"])
    if refusal:
        return refusal
    user = get_field(facts, "connection.user") or "the connection account"
    domain = get_field(facts, "domain.dns_domain") or get_field(facts, "domain.netbios_domain") or "its domain"
    if get_field(facts, "connection.is_domain_account"):
        return _plan("refuse", "domain_account", (
            "Ansible is connected to %s as %s, a domain account. Once %s has left %s it no longer accepts domain "
            "accounts, so the play would lose the host half-way (after the unjoin, before the reboot and sysprep). "
            "Nothing was changed in the domain. Connect with a local administrator instead: %s."
        ) % (computer, user, computer, domain, _local_logon_hint(options["local_admin_user"])),
            connection_user=user)
    if get_field(facts, "connection.is_local_administrator") is False:
        return _plan("refuse", "not_local_administrator", (
            "Ansible is connected to %s as %s, which is not a member of the local Administrators group; leaving "
            "a domain needs one. %s."
        ) % (computer, user, _local_logon_hint(options["local_admin_user"]).capitalize()), connection_user=user)

    if options["remove_computer_object"]:
        refusal = _unknown(facts, ["os.computer_name"])
        if refusal:
            return refusal
    computer_name = get_field(facts, "os.computer_name")
    return _plan("unjoin", "joined", "%s leaves %s for workgroup %s, connected as local account %s." % (
        computer, domain, options["workgroup_name"], user),
        workgroup_name=options["workgroup_name"],
        domain=domain,
        connection_user=user,
        remove_computer_object=options["remove_computer_object"],
        dc_host=options["dc_host"].strip(),
        computer_object_identity=("%s$" % computer_name) if computer_name else None)
