# Copyright: (c) 2026, winimage.generalize contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Derived facts: fields computed from other facts, the same way for both gatherers.

``complete_facts(facts)`` returns a new facts document in which every derived
field that is still ``None`` is filled when the facts it depends on are known.
A value a gatherer already set is never overwritten, and a derived field whose
inputs are unknown stays ``None`` (so the rules report it as unknown).

Derived fields:

``os.version``
    From ``os.build`` (6000-6003 -> 6.0 ... 10240 and later -> 10.0).
``os.is_server``
    From ``os.product_type`` (``ServerNT`` / ``LanmanNT``), else from
    ``os.installation_type`` (``Client`` versus ``Server``, ``Server Core``, ``Nano Server``).
``domain.is_domain_controller``
    From ``os.product_type`` (``LanmanNT`` is a domain controller) or ``domain.role``.
``domain.joined``
    From ``domain.role`` (member or domain controller -> joined; standalone -> not joined).
``roles.hyperv`` / ``roles.nps``
    From ``roles.installed`` (``Hyper-V``; ``NPAS-Policy-Server`` or ``NPAS``).
``appx.user_not_provisioned``
    From ``appx.packages`` and ``appx.provisioned``, see :func:`user_not_provisioned`.

How sysprep decides about Appx packages (what ``user_not_provisioned`` models)
-----------------------------------------------------------------------------
During ``/generalize`` sysprep's Appx provider stops with
``<package full name> was installed for a user, but not provisioned for all users``
for every *main* package that is registered for some user and is not part of the
provisioned set (the packages ``Get-AppxProvisionedPackage`` lists, which every
new user receives). The usual cause is the Store updating an app for one user:
the user then runs a new package full name that nobody provisioned. So the
comparison is by **package full name**, the string sysprep names in its log:

* frameworks (``is_framework``), packages Windows marks non-removable
  (``non_removable``) and system-signed packages (``signature_kind: System``,
  the inbox apps under ``SystemApps``) are skipped: they belong to Windows and
  are not subject to provisioning;
* resource packages of a bundle (resource id ``split.*``, such as
  ``split.scale-100`` or ``split.language-de``) are skipped: they follow their
  main package;
* only users whose ``install_state`` is ``Installed`` (or not given) count; a
  package that is only ``Staged`` is removed by sysprep itself;
* a package is provisioned when a provisioned entry has the same full name, or
  the same name, publisher id and version;
* provisioned Store apps are usually *bundles* (``..._neutral_~_<publisher>``)
  whose version numbers the packages inside them do not share: the bundle
  ``Microsoft.WindowsCalculator_2020.1906.55.0_neutral_~_8wekyb3d8bbwe`` carries
  ``Microsoft.WindowsCalculator_10.1906.55.0_x64__8wekyb3d8bbwe``. A package
  therefore also counts as provisioned when a provisioned *bundle* of the same
  name and publisher has the same version apart from the first (major) number.
  A Store update changes the later numbers, so it is still detected.

Expected item shapes (extra keys are ignored):

* ``appx.packages[]``: ``name``, ``package_full_name``, ``version``,
  ``is_framework``, ``non_removable``, ``signature_kind`` and ``users``, a list
  of ``{"username": "...", "sid": "S-1-5-21-...", "install_state": "Installed"}``
  (a plain string is read as a user name with state ``Installed``);
* ``appx.provisioned[]``: ``display_name``, ``package_name`` (the full name
  ``Get-AppxProvisionedPackage`` prints as PackageName), ``version``.
"""

from __future__ import annotations

import copy

# Kernel version of each range of build numbers (the first build of a release
# to the first build of the next). Windows 10, 11 and Server 2016-2025 all report 10.0.
_BUILD_TO_VERSION = (
    (6000, "6.0"),    # Windows Vista / Server 2008
    (7000, "6.1"),    # Windows 7 / Server 2008 R2 (7600, 7601)
    (8000, "6.2"),    # Windows 8 / Server 2012 (9200)
    (9300, "6.3"),    # Windows 8.1 / Server 2012 R2 (9600)
    (10000, "10.0"),  # Windows 10 / 11 / Server 2016 and later
)

_SERVER_PRODUCT_TYPES = ("ServerNT", "LanmanNT")
_DOMAIN_CONTROLLER_ROLES = ("backup_domain_controller", "primary_domain_controller")
_JOINED_ROLES = ("member_workstation", "member_server") + _DOMAIN_CONTROLLER_ROLES
_STANDALONE_ROLES = ("standalone_workstation", "standalone_server")
_HYPERV_FEATURES = ("hyper-v",)
_NPS_FEATURES = ("npas-policy-server", "npas")


def version_from_build(build):
    """Kernel version 'major.minor' for a build number, or None when it is not a known range."""
    if not isinstance(build, int) or isinstance(build, bool):
        return None
    version = None
    for first_build, name in _BUILD_TO_VERSION:
        if build >= first_build:
            version = name
    return version


def is_server_from(product_type, installation_type):
    """True/False from ProductType, else from InstallationType, else None."""
    if product_type in _SERVER_PRODUCT_TYPES:
        return True
    if product_type == "WinNT":
        return False
    if isinstance(installation_type, str) and installation_type:
        return installation_type.strip().lower() != "client"
    return None


def is_domain_controller_from(product_type, role):
    """True when either ProductType or the domain role says domain controller."""
    if product_type == "LanmanNT" or role in _DOMAIN_CONTROLLER_ROLES:
        return True
    if product_type in ("WinNT", "ServerNT") or role in _JOINED_ROLES + _STANDALONE_ROLES:
        return False
    return None


def joined_from(role):
    if role in _JOINED_ROLES:
        return True
    if role in _STANDALONE_ROLES:
        return False
    return None


def _feature_installed(installed, names):
    if not isinstance(installed, list):
        return None
    lowered = {str(item).strip().lower() for item in installed}
    return any(name in lowered for name in names)


def split_full_name(full_name):
    """Parts of a package full name 'Name_Version_Arch_ResourceId_PublisherId', or None."""
    if not isinstance(full_name, str):
        return None
    parts = full_name.split("_")
    if len(parts) != 5 or not parts[0] or not parts[4]:
        return None
    name, version, architecture, resource_id, publisher_id = parts
    return {
        "name": name.lower(),
        "version": version,
        "architecture": architecture.lower(),
        "resource_id": resource_id.lower(),
        "publisher_id": publisher_id.lower(),
    }


def _version_tail(version):
    """The version without its first number: bundles and their packages share it."""
    if not isinstance(version, str):
        return None
    parts = version.split(".")
    return ".".join(parts[1:]) if len(parts) == 4 else None


def _installed_users(package):
    """Names (or SIDs) of the users for whom the package is installed."""
    users = []
    entries = package.get("users")
    for user in entries if isinstance(entries, list) else []:
        if isinstance(user, str):
            users.append(user)
            continue
        if not isinstance(user, dict):
            continue
        state = user.get("install_state")
        if state is not None and str(state).lower() != "installed":
            continue
        users.append(str(user.get("username") or user.get("sid") or "unknown user"))
    return users


def _exempt_from_provisioning(package):
    """Frameworks, system packages and resource packages are not checked by sysprep."""
    if package.get("is_framework") or package.get("non_removable"):
        return True
    if str(package.get("signature_kind") or "").lower() == "system":
        return True
    parts = split_full_name(package.get("package_full_name"))
    return bool(parts and parts["resource_id"].startswith("split."))


class _ProvisionedIndex(object):
    """The provisioned packages, indexed for the comparisons sysprep makes."""

    def __init__(self, provisioned):
        self.full_names = set()
        self.by_family = {}
        for entry in provisioned:
            if not isinstance(entry, dict):
                continue
            full_name = entry.get("package_name")
            if isinstance(full_name, str):
                self.full_names.add(full_name.lower())
            parts = split_full_name(full_name)
            if parts is None:
                continue
            version = entry.get("version") or parts["version"]
            family = (parts["name"], parts["publisher_id"])
            self.by_family.setdefault(family, []).append((version, parts["resource_id"] == "~"))

    def covers(self, package):
        full_name = package.get("package_full_name")
        if isinstance(full_name, str) and full_name.lower() in self.full_names:
            return True
        parts = split_full_name(full_name)
        if parts is None:
            return False
        version = package.get("version") or parts["version"]
        tail = _version_tail(version)
        for provisioned_version, is_bundle in self.by_family.get((parts["name"], parts["publisher_id"]), []):
            if provisioned_version == version:
                return True
            if is_bundle and tail is not None and _version_tail(provisioned_version) == tail:
                return True
        return False


def user_not_provisioned(packages, provisioned):
    """Packages installed for a user that sysprep would find not provisioned for all users.

    Returns a list of ``{"name", "package_full_name", "version", "users"}`` sorted by
    full name, or None when either input is unknown.
    """
    if not isinstance(packages, list) or not isinstance(provisioned, list):
        return None
    index = _ProvisionedIndex(provisioned)
    result = []
    for package in packages:
        if not isinstance(package, dict) or _exempt_from_provisioning(package):
            continue
        users = _installed_users(package)
        if not users or index.covers(package):
            continue
        result.append({
            "name": package.get("name"),
            "package_full_name": package.get("package_full_name"),
            "version": package.get("version"),
            "users": sorted(set(users), key=str.lower),
        })
    return sorted(result, key=lambda item: str(item["package_full_name"]).lower())


def _fill(section, field, value):
    """Set a derived value only where the gatherer left None and the value is known."""
    if isinstance(section, dict) and section.get(field) is None and value is not None:
        section[field] = value


def _section(facts, name):
    section = facts.get(name)
    return section if isinstance(section, dict) else None


def complete_facts(facts):
    """A new facts document with every derivable field filled; the input is not changed."""
    if not isinstance(facts, dict):
        raise TypeError("facts must be a mapping (the readiness facts document), not %s"
                        % type(facts).__name__)
    completed = copy.deepcopy(facts)
    os_facts = _section(completed, "os") or {}
    domain = _section(completed, "domain") or {}
    roles = _section(completed, "roles") or {}
    appx = _section(completed, "appx") or {}

    _fill(_section(completed, "os"), "version", version_from_build(os_facts.get("build")))
    _fill(_section(completed, "os"), "is_server",
          is_server_from(os_facts.get("product_type"), os_facts.get("installation_type")))
    _fill(_section(completed, "domain"), "is_domain_controller",
          is_domain_controller_from(os_facts.get("product_type"), domain.get("role")))
    _fill(_section(completed, "domain"), "joined", joined_from(domain.get("role")))
    _fill(_section(completed, "roles"), "hyperv", _feature_installed(roles.get("installed"), _HYPERV_FEATURES))
    _fill(_section(completed, "roles"), "nps", _feature_installed(roles.get("installed"), _NPS_FEATURES))
    _fill(_section(completed, "appx"), "user_not_provisioned",
          user_not_provisioned(appx.get("packages"), appx.get("provisioned")))
    return completed
