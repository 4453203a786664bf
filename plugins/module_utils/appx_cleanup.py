# Copyright: (c) 2026, winimage.generalize contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""What winimage.generalize.appx_cleanup removes, decided from the Appx state the module reads.

The PowerShell module ``appx_cleanup`` only reads the Appx state (``Get-AppxPackage -AllUsers``,
bundles, ``Get-AppxProvisionedPackage -Online``, two policy values) and carries out an explicit
plan. Every decision is made here, from that data, so it is reproducible and tested:

* which packages sysprep would reject (``facts_derive.user_not_provisioned``: the same rule the
  readiness facts use for ``appx.user_not_provisioned``);
* which packages the user named (``packages``: names or package full names, e.g. from a failed
  sysprep's Panther log);
* which provisioned packages to deprovision (``remove_provisioned`` patterns) and, because
  ``Remove-AppxProvisionedPackage`` leaves existing users' copies in place, which installed
  copies of them must go as well (otherwise they become "installed for a user, but not
  provisioned for all users" themselves);
* what is never touched (``protect`` patterns, plus frameworks, non-removable and system
  packages, which always belong to Windows);
* which bundle full name ``Remove-AppxPackage -AllUsers`` needs: Microsoft documents that
  ``-AllUsers`` "works off the parent package type", so a package installed from a bundle is
  removed through its bundle;
* which policies must be written (the Store's AutoDownload and consumer features).

Public API: ``normalize_options``, ``plan_cleanup``, ``module_plan``, ``diff_of``,
``DEFAULT_PROTECT``, ``POLICIES``, ``AppxCleanupError``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import fnmatch

from ansible_collections.winimage.generalize.plugins.module_utils.facts_derive import (
    split_full_name,
    user_not_provisioned,
)

# Packages that other apps or the Store itself need; removing them breaks apps or the means of
# reinstalling them. Frameworks, non-removable and system-signed packages are protected always.
DEFAULT_PROTECT = (
    "Microsoft.WindowsStore",
    "Microsoft.DesktopAppInstaller",
    "Microsoft.VCLibs.*",
    "Microsoft.NET.*",
    "Microsoft.UI.Xaml.*",
    "Microsoft.Services.Store.Engagement",
)

# Policy name -> the option enabling it, the registry value it writes and the state field the
# module reports. appx_cleanup.ps1 holds the same key paths and data (a test keeps them equal).
POLICIES = {
    "store_auto_update": {
        "option": "disable_store_auto_update",
        # Group Policy "Turn off Automatic Download and Install of updates" (WindowsStore.admx):
        # 2 turns automatic Store app updates off, 4 turns them on.
        "key": "HKLM:\\SOFTWARE\\Policies\\Microsoft\\WindowsStore",
        "value_name": "AutoDownload",
        "data": 2,
    },
    "consumer_features": {
        "option": "disable_consumer_features",
        # Group Policy "Turn off Microsoft consumer experiences" (CloudContent.admx): 1 stops
        # Windows from installing suggested Store apps for new users during the build.
        "key": "HKLM:\\SOFTWARE\\Policies\\Microsoft\\Windows\\CloudContent",
        "value_name": "DisableWindowsConsumerFeatures",
        "data": 1,
    },
}

OPTION_DEFAULTS = {
    "packages": [],
    "remove_user_not_provisioned": True,
    "remove_provisioned": [],
    "protect": list(DEFAULT_PROTECT),
    "disable_store_auto_update": False,
    "disable_consumer_features": False,
}

_LIST_OPTIONS = ("packages", "remove_provisioned", "protect")
_BOOL_OPTIONS = ("remove_user_not_provisioned", "disable_store_auto_update", "disable_consumer_features")


class AppxCleanupError(ValueError):
    """Bad options or module data; the message names the problem and the fix."""


# --------------------------------------------------------------------------- options

def _string_list(name, value):
    if value is None:
        return []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, (list, tuple)):
        raise AppxCleanupError("%s must be a list of strings, got %s; write a YAML list"
                               % (name, type(value).__name__))
    result = []
    for index, item in enumerate(value):
        if not isinstance(item, str) or not item.strip():
            raise AppxCleanupError("%s[%d] must be a non-empty string, got %r" % (name, index, item))
        result.append(item.strip())
    return result


def normalize_options(args):
    """The user options with defaults filled in, or AppxCleanupError naming the bad one."""
    args = dict(args or {})
    unknown = sorted(set(args) - set(OPTION_DEFAULTS))
    if unknown:
        raise AppxCleanupError("unknown option(s) %s; valid options: %s"
                               % (", ".join(unknown), ", ".join(sorted(OPTION_DEFAULTS))))
    options = {}
    for name, default in OPTION_DEFAULTS.items():
        value = args.get(name)
        if value is None:
            options[name] = list(default) if isinstance(default, list) else default
        elif name in _LIST_OPTIONS:
            options[name] = _string_list(name, value)
        elif isinstance(value, bool):
            options[name] = value
        else:
            raise AppxCleanupError("%s must be true or false, got %r" % (name, value))
    return options


# --------------------------------------------------------------------------- matching

def _matches(patterns, *names):
    """The first pattern (case-insensitive, * and ? wildcards) matching one of the names."""
    lowered = [str(name).lower() for name in names if name]
    for pattern in patterns:
        if any(fnmatch.fnmatchcase(name, pattern.lower()) for name in lowered):
            return pattern
    return None


def _family(full_name):
    parts = split_full_name(full_name)
    return (parts["name"], parts["publisher_id"]) if parts else None


def protection_reason(package, protect):
    """Why a package must never be removed, or None."""
    if package.get("is_framework"):
        return "framework package: other apps depend on it"
    if package.get("non_removable"):
        return "Windows marks it non-removable"
    if str(package.get("signature_kind") or "").lower() == "system":
        return "part of Windows (system-signed)"
    pattern = _matches(protect, package.get("name"), package.get("package_full_name"))
    if pattern:
        return "matches protect pattern '%s'" % pattern
    return None


def _user_sids(package):
    """SIDs of every user the package is registered for, whatever its install state."""
    sids = []
    for user in package.get("users") or []:
        sid = user.get("sid") if isinstance(user, dict) else None
        if sid and sid not in sids:
            sids.append(sid)
    return sids


def _user_names(package):
    names = []
    for user in package.get("users") or []:
        if isinstance(user, dict):
            name = user.get("username") or user.get("sid")
        else:
            name = user
        if name and str(name) not in names:
            names.append(str(name))
    return names


def _version_tail(version):
    parts = str(version or "").split(".")
    return ".".join(parts[1:]) if len(parts) == 4 else None


def bundle_for(package, bundles):
    """Full name of the installed bundle that carries ``package``, or None.

    A bundle and its packages share name and publisher; their versions usually differ in the
    first number only (facts_derive explains why). With one bundle of the family that one is it.
    """
    if not isinstance(bundles, list):
        return None
    family = _family(package.get("package_full_name"))
    if family is None:
        return None
    same_family = [b for b in bundles if isinstance(b, dict) and _family(b.get("package_full_name")) == family]
    tail = _version_tail(package.get("version") or split_full_name(package.get("package_full_name"))["version"])
    for bundle in same_family:
        bundle_version = bundle.get("version") or split_full_name(bundle["package_full_name"])["version"]
        if tail is not None and _version_tail(bundle_version) == tail:
            return bundle["package_full_name"]
    if len(same_family) == 1:
        return same_family[0]["package_full_name"]
    return None


# --------------------------------------------------------------------------- the plan

def _state_list(state, key, required=True):
    value = state.get(key)
    if isinstance(value, list):
        return [item for item in value if isinstance(item, dict)]
    if value is None and not required:
        return None
    raise AppxCleanupError("the module returned no %s list (got %r); rerun with -vvv to see what it read"
                           % (key, type(value).__name__))


class _Candidates(object):
    """Packages chosen for removal, in the order chosen, each with the reasons why."""

    def __init__(self):
        self._order = []
        self._reasons = {}
        self._packages = {}

    def add(self, package, reason):
        key = str(package.get("package_full_name")).lower()
        if key not in self._reasons:
            self._order.append(key)
            self._reasons[key] = []
            self._packages[key] = package
        if reason not in self._reasons[key]:
            self._reasons[key].append(reason)

    def __iter__(self):
        for key in self._order:
            yield self._packages[key], self._reasons[key]


def _requested(packages, wanted):
    """Installed packages whose name or full name equals a requested entry (case-insensitive)."""
    lowered = wanted.lower()
    return [p for p in packages
            if str(p.get("package_full_name") or "").lower() == lowered or str(p.get("name") or "").lower() == lowered]


def _deprovision_plan(provisioned, packages, options, candidates, protected):
    deprovision = []
    for entry in provisioned:
        display_name, package_name = entry.get("display_name"), entry.get("package_name")
        if not package_name or not _matches(options["remove_provisioned"], display_name, package_name):
            continue
        pattern = _matches(options["protect"], display_name, package_name)
        if pattern:
            protected.append({"package_name": package_name, "name": display_name, "kind": "provisioned",
                              "reason": "matches protect pattern '%s'" % pattern, "blocks_sysprep": False})
            continue
        deprovision.append({"package_name": package_name, "display_name": display_name})
        # Remove-AppxProvisionedPackage leaves existing users' copies installed; left alone they
        # would be "installed for a user, but not provisioned for all users" after this run.
        family = _family(package_name)
        for package in packages:
            if family is not None and _family(package.get("package_full_name")) == family:
                candidates.add(package, "deprovisioned")
    return deprovision


def _policy_plan(state, options):
    current = state.get("policies") if isinstance(state.get("policies"), dict) else {}
    policies = {}
    for name, policy in POLICIES.items():
        if not options[policy["option"]]:
            continue
        before = current.get(name)
        policies[name] = {
            "key": policy["key"],
            "value_name": policy["value_name"],
            "before": before,
            "after": policy["data"],
            "changed": before != policy["data"],
        }
    return policies


def plan_cleanup(state, options):
    """The exact removals for the Appx ``state`` the module read and the normalized ``options``.

    Returns ``remove`` (packages with the bundle to remove them by and their users' SIDs),
    ``deprovision``, ``protected_skipped``, ``not_found`` (requested entries that are not
    installed: nothing to do, so a second run is quiet) and ``policies``.
    """
    if not isinstance(state, dict):
        raise AppxCleanupError("the module returned no Appx state; rerun with -vvv to see its output")
    packages = _state_list(state, "packages")
    provisioned = _state_list(state, "provisioned")
    bundles = _state_list(state, "bundles", required=False)

    candidates = _Candidates()
    if options["remove_user_not_provisioned"]:
        by_full_name = dict((str(p.get("package_full_name")).lower(), p) for p in packages)
        for item in user_not_provisioned(packages, provisioned) or []:
            candidates.add(by_full_name[str(item["package_full_name"]).lower()], "user_not_provisioned")
    not_found = []
    for wanted in options["packages"]:
        matched = _requested(packages, wanted)
        if not matched:
            not_found.append(wanted)
        for package in matched:
            candidates.add(package, "requested")

    protected = []
    deprovision = _deprovision_plan(provisioned, packages, options, candidates, protected)

    remove = []
    for package, reasons in candidates:
        why = protection_reason(package, options["protect"])
        if why:
            protected.append({"package_full_name": package.get("package_full_name"), "name": package.get("name"),
                              "kind": "installed", "reason": why, "reasons": reasons,
                              "blocks_sysprep": "user_not_provisioned" in reasons})
            continue
        remove.append({
            "package_full_name": package.get("package_full_name"),
            "name": package.get("name"),
            "bundle_full_name": bundle_for(package, bundles),
            "user_sids": _user_sids(package),
            "users": _user_names(package),
            "reasons": reasons,
        })
    return {
        "remove": remove,
        "deprovision": deprovision,
        "protected_skipped": protected,
        "not_found": not_found,
        "policies": _policy_plan(state, options),
    }


def has_work(plan):
    return bool(plan["remove"] or plan["deprovision"]
                or any(policy["changed"] for policy in plan["policies"].values()))


def module_plan(plan):
    """The ``_plan`` argument of the appx_cleanup module: exactly what to do, nothing to decide."""
    return {
        "remove_packages": [{"package_full_name": item["package_full_name"],
                             "bundle_full_name": item["bundle_full_name"],
                             "user_sids": item["user_sids"]} for item in plan["remove"]],
        "deprovision": [item["package_name"] for item in plan["deprovision"]],
        "policies": sorted(name for name, policy in plan["policies"].items() if policy["changed"]),
    }


# --------------------------------------------------------------------------- diff

def _installed_lines(packages):
    lines = []
    for package in packages:
        users = _user_names(package)
        lines.append("%s (%s)" % (package.get("package_full_name"), ", ".join(users) if users else "no user"))
    return sorted(lines, key=str.lower)


def diff_of(state, plan, removed_full_names=None, deprovisioned_names=None):
    """Before/after of the installed and provisioned packages and the policy values.

    ``removed_full_names`` / ``deprovisioned_names`` default to the plan (check mode); after a
    run pass what was really removed, so the diff shows what happened.
    """
    packages = _state_list(state, "packages")
    provisioned = _state_list(state, "provisioned")
    if removed_full_names is None:
        removed_full_names = [item["package_full_name"] for item in plan["remove"]]
    if deprovisioned_names is None:
        deprovisioned_names = [item["package_name"] for item in plan["deprovision"]]
    gone = set(str(name).lower() for name in removed_full_names)
    unprovisioned = set(str(name).lower() for name in deprovisioned_names)
    before_policies = dict((name, "%s\\%s = %s" % (p["key"], p["value_name"], p["before"]))
                           for name, p in plan["policies"].items())
    after_policies = dict((name, "%s\\%s = %s" % (p["key"], p["value_name"], p["after"]))
                          for name, p in plan["policies"].items())
    return {
        "before": {
            "installed": _installed_lines(packages),
            "provisioned": sorted((str(e.get("package_name")) for e in provisioned), key=str.lower),
            "policies": before_policies,
        },
        "after": {
            "installed": _installed_lines(p for p in packages
                                          if str(p.get("package_full_name")).lower() not in gone),
            "provisioned": sorted((str(e.get("package_name")) for e in provisioned
                                   if str(e.get("package_name")).lower() not in unprovisioned), key=str.lower),
            "policies": after_policies,
        },
    }
