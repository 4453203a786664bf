# Copyright: (c) 2026, winimage.generalize contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The rules engine: readiness facts in, findings out.

``evaluate(facts, phase, options)`` runs every rule registered for ``phase``
(``preflight`` before sysprep, ``verify`` on the captured image) on the facts
described by :mod:`facts_schema` and returns findings built by
:func:`finding_catalog.make_finding`, sorted blockers first, then warnings,
then info, then by id. ``summarize(findings)`` condenses them for reports.

Each rule is a small function registered with :func:`rule` for one finding id
and the phases it applies to. Rules never raise on odd facts: a value they
cannot use counts as unknown.

When facts are missing
----------------------
* A **blocker** rule never passes on a missing fact: it returns its id with
  ``status: unknown`` and a message naming the fact and why it could not be
  read (``facts_schema.missing_reason``).
* A **warning** rule reports ``unknown`` only when it is known to apply (for
  example ``hyperv_external_switch`` on a machine known to run Hyper-V whose
  switches could not be listed); when even that is unknown it stays silent,
  because the blocker rules that share the fact already report it.
* An **info** rule stays silent on missing facts.

Options (all optional; see ``OPTIONS`` for defaults)
----------------------------------------------------
``min_free_bytes``
    Free space below which ``low_disk_space`` fires (bytes, or a size string
    such as ``"15 GiB"``). Default 15 GiB: Microsoft publishes no figure for
    sysprep itself, but what runs around it does need room. Windows 10 1903
    and later set aside about 7 GB of *reserved storage* just so servicing
    does not fail for lack of space, and the cumulative update and
    ``DISM /Cleanup-Image`` a reference build runs before sysprep stage their
    work on the system volume; every clone then recreates ``pagefile.sys``
    (sized from its memory) on the same volume at first boot. 7 GiB of
    servicing room plus an 8 GiB page file is 15 GiB. It is a warning only.
``allow_hyperv_vms``
    Virtual machines on a Hyper-V host are meant to ship with the image:
    ``hyperv_vms_present`` becomes a warning whose message says the override
    is on.
``build_accounts``
    User names of the accounts that built the image; their profiles must not
    be in it (``build_profile_leftover``, verify phase).
``allowed_profiles``
    ``None`` (default) checks only ``build_accounts``. A list turns on
    allow-list mode: every profile except the built-in Administrator and the
    listed user names is reported (``[]`` = no profile may ship).
``allow_skip_rearm``
    The image is an intermediate one that will be generalized again:
    ``skip_rearm_enabled`` drops to info (preflight) / warning (verify) and
    ``rearm_exhausted`` with SkipRearm=1 drops to a warning.
``low_rearm_count``
    ``rearm_low`` warns when 1 .. this many rearms are left (default 1,
    0 turns the warning off).
"""

from __future__ import annotations

import re

from ansible_collections.winimage.generalize.plugins.module_utils import facts_schema
from ansible_collections.winimage.generalize.plugins.module_utils import finding_catalog
from ansible_collections.winimage.generalize.plugins.module_utils.facts_derive import complete_facts

PHASES = ("preflight", "verify")
SEVERITY_ORDER = {"blocker": 0, "warning": 1, "info": 2}
GIB = 1024 ** 3

IMAGE_STATE_GENERALIZED = "IMAGE_STATE_GENERALIZE_RESEAL_TO_OOBE"
IMAGE_STATE_GENERALIZED_TO_AUDIT = "IMAGE_STATE_GENERALIZE_RESEAL_TO_AUDIT"
IMAGE_STATE_UNDEPLOYABLE = "IMAGE_STATE_UNDEPLOYABLE"

# Windows 10 version 1607: the first release on which Microsoft supports sysprep
# of an upgraded installation (Sysprep overview, "New and changed functionality").
FIRST_BUILD_UPGRADE_SUPPORTED = 14393

OPTIONS = {
    "min_free_bytes": {
        "default": 15 * GIB, "type": "size",
        "description": "Free space on the system volume below which low_disk_space warns, in bytes "
                       "or as a size such as '15 GiB' (K/M/G/T units are 1024-based).",
    },
    "allow_hyperv_vms": {
        "default": False, "type": "bool",
        "description": "Virtual machines on a Hyper-V host are meant to ship with the image: "
                       "hyperv_vms_present becomes a warning that says the override is on.",
    },
    "build_accounts": {
        "default": [], "type": "list",
        "description": "User names of the accounts that built the image; their profiles must not be "
                       "in the captured image (build_profile_leftover).",
    },
    "allowed_profiles": {
        "default": None, "type": "list_or_none",
        "description": "None checks only build_accounts. A list switches build_profile_leftover to "
                       "allow-list mode: every profile except the built-in Administrator and these user "
                       "names is reported ([] means no profile may ship).",
    },
    "allow_skip_rearm": {
        "default": False, "type": "bool",
        "description": "The image is intermediate and will be generalized again: skip_rearm_enabled drops "
                       "to info (preflight) or warning (verify), and rearm_exhausted with SkipRearm=1 to "
                       "a warning.",
    },
    "low_rearm_count": {
        "default": 1, "type": "count",
        "description": "rearm_low warns when between 1 and this many licensing rearms are left; 0 turns "
                       "the warning off.",
    },
}


class FactsError(ValueError):
    """The facts document cannot be evaluated (wrong type or schema version)."""


class OptionsError(ValueError):
    """An option is unknown or has a value of the wrong kind."""


# --------------------------------------------------------------------------- input checks

def to_plain(value):
    """Plain dicts and lists from any mapping/sequence (Ansible hands filters its own types)."""
    if isinstance(value, dict) or _is_mapping(value):
        return {str(key): to_plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_plain(item) for item in value]
    return value


def _is_mapping(value):
    return hasattr(value, "items") and hasattr(value, "keys") and not isinstance(value, (str, bytes))


def check_facts(facts):
    """Raise FactsError unless ``facts`` is a facts document this engine can read."""
    if not _is_mapping(facts):
        raise FactsError(
            "facts must be the mapping returned by winimage.generalize.readiness_facts or "
            "winimage.generalize.image_facts, got %s" % type(facts).__name__)
    version = facts.get("schema_version")
    if version is None:
        raise FactsError(
            "facts have no schema_version: pass the whole facts document returned by "
            "winimage.generalize.readiness_facts or winimage.generalize.image_facts")
    expected_major = facts_schema.SCHEMA_VERSION.split(".", maxsplit=1)[0]
    if str(version).split(".", maxsplit=1)[0] != expected_major:
        raise FactsError(
            "facts schema_version %r is not supported: this collection reads version %s.x; gather "
            "the facts again with this collection's modules" % (version, expected_major))
    for section in facts_schema.SECTIONS:
        value = facts.get(section)
        if value is not None and not _is_mapping(value):
            raise FactsError("facts section %r must be a mapping, got %s" % (section, type(value).__name__))


_SIZE_UNITS = {"": 1, "b": 1, "k": 1024, "m": 1024 ** 2, "g": 1024 ** 3, "t": 1024 ** 4}
_SIZE_PATTERN = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?\s*$", re.IGNORECASE)
_TRUE_STRINGS = ("yes", "true", "on", "1", "y")
_FALSE_STRINGS = ("no", "false", "off", "0", "n")


def _parse_size(name, value):
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    if isinstance(value, float) and value >= 0:
        return int(value)
    match = _SIZE_PATTERN.match(value) if isinstance(value, str) else None
    if match is None:
        raise OptionsError("option %s must be a number of bytes or a size such as '15 GiB', got %r"
                           % (name, value))
    return int(float(match.group(1)) * _SIZE_UNITS[match.group(2).lower()])


def _parse_bool(name, value):
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in _TRUE_STRINGS + _FALSE_STRINGS:
        return value.strip().lower() in _TRUE_STRINGS
    raise OptionsError("option %s must be true or false, got %r" % (name, value))


def _parse_list(name, value):
    if isinstance(value, str):
        value = value.split(",")
    if not isinstance(value, (list, tuple)) or not all(isinstance(item, str) for item in value):
        raise OptionsError("option %s must be a list of user names, got %r" % (name, value))
    return [item.strip() for item in value if item.strip()]


def _parse_count(name, value):
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise OptionsError("option %s must be a whole number of 0 or more, got %r" % (name, value))
    return value


_PARSERS = {
    "size": _parse_size,
    "bool": _parse_bool,
    "list": lambda name, value: [] if value is None else _parse_list(name, value),
    "list_or_none": lambda name, value: None if value is None else _parse_list(name, value),
    "count": _parse_count,
}


def resolve_options(options=None):
    """The options with defaults filled in, checked; raises OptionsError naming the problem."""
    if options is None:
        options = {}
    if not _is_mapping(options):
        raise OptionsError("options must be a mapping of option name to value, got %s"
                           % type(options).__name__)
    unknown = sorted(set(options) - set(OPTIONS))
    if unknown:
        raise OptionsError("unknown option%s %s: valid options are %s" % (
            "s" if len(unknown) > 1 else "", ", ".join(unknown), ", ".join(sorted(OPTIONS))))
    resolved = {}
    for name, spec in OPTIONS.items():
        value = options.get(name, spec["default"])
        resolved[name] = _PARSERS[spec["type"]](name, value)
    return resolved


# --------------------------------------------------------------------------- rule table

class Rule(object):
    """One rule: the finding id it produces, its phases, the facts it reads."""

    def __init__(self, finding_id, phases, needs, unknown_when, check):
        self.id = finding_id
        self.phases = tuple(phases)
        self.needs = tuple(needs)
        self.unknown_when = unknown_when
        self.check = check
        self.description = " ".join((check.__doc__ or "").split())


RULES = {}


def rule(finding_id, phases, needs, unknown_when):
    """Register the decorated function as the rule for ``finding_id`` in ``phases``."""
    if finding_id not in finding_catalog.CATALOG:
        raise KeyError("rule for unknown finding id %r: add it to finding_catalog.CATALOG" % finding_id)
    # Some ids belong to another producer (the image manifest, the Panther log parser); a rule for
    # one would report it twice, with two meanings of when it fires.
    producers = finding_catalog.CATALOG[finding_id]["produced_by"]
    if "rules" not in producers:
        raise KeyError("finding id %r is produced by %s, not by a rule" % (finding_id, ", ".join(producers)))

    def register(check):
        RULES[finding_id] = Rule(finding_id, phases, needs, unknown_when, check)
        return check
    return register


def rule_table():
    """The rules as plain data, for the generated documentation."""
    return [
        {"id": r.id, "phases": list(r.phases), "needs": list(r.needs),
         "unknown_when": r.unknown_when, "description": r.description}
        for r in sorted(RULES.values(), key=lambda r: r.id)
    ]


class _Context(object):
    """What a rule sees: the completed facts, the phase, the options, and finding builders."""

    def __init__(self, facts, phase, options):
        self.facts = facts
        self.phase = phase
        self.options = options

    def get(self, path):
        return facts_schema.get_field(self.facts, path)

    def text(self, path):
        """A string fact, or None when it is unknown or not a string."""
        value = self.get(path)
        return value if isinstance(value, str) else None

    def number(self, path):
        """An integer fact, or None when it is unknown or not a number."""
        value = self.get(path)
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    def reason(self, path):
        value = self.get(path)
        if value is not None:
            return "the gatherer returned a %s where the schema expects another type" % type(value).__name__
        return facts_schema.missing_reason(self.facts, path)

    @property
    def offline(self):
        gatherer = self.facts.get("gatherer")
        return isinstance(gatherer, dict) and gatherer.get("kind") == "offline"

    @property
    def version(self):
        """os.version as a tuple of ints, e.g. (6, 1), or None."""
        text = self.get("os.version")
        if not isinstance(text, str) or not re.match(r"^\d+\.\d+", text):
            return None
        return tuple(int(part) for part in text.split(".")[:2])

    @property
    def windows(self):
        """How messages name the installation: 'Windows Server 2022 Datacenter (version 10.0, build 20348)'."""
        name = self.get("os.product_name") or "Windows"
        build = self.get("os.build")
        version = self.get("os.version")
        details = []
        if version:
            details.append("version %s" % version)
        if build is not None:
            details.append("build %s" % build)
        return "%s (%s)" % (name, ", ".join(details)) if details else name

    def fail(self, finding_id, message, evidence=None, **extra):
        return finding_catalog.make_finding(finding_id, self.phase, message, evidence=evidence, **extra)

    def unknown(self, finding_id, question, paths, note=""):
        """A finding saying which facts could not be read, and why, so the question stays open."""
        missing = {path: self.reason(path) for path in paths}
        by_reason = {}
        for path, reason in missing.items():
            by_reason.setdefault(reason, []).append(path)
        parts = ["%s %s unknown (%s)" % (_join(group), "is" if len(group) == 1 else "are", reason)
                 for reason, group in by_reason.items()]
        message = "Could not tell %s, because %s." % (question, "; ".join(parts))
        if note:
            message += " " + note
        return finding_catalog.make_finding(
            finding_id, self.phase, message, status="unknown", evidence={"missing": missing})

    def overridden(self, finding, severity, option, note):
        """Downgrade a finding because the user set an explicit override option."""
        finding["severity"] = severity
        finding["override"] = option
        finding["message"] += " Override %s is on: %s" % (option, note)
        return finding


# --------------------------------------------------------------------------- message helpers

def _join(items, limit=None):
    items = [str(item) for item in items]
    if limit is not None and len(items) > limit:
        items = items[:limit] + ["%d more" % (len(items) - limit)]
    if len(items) <= 1:
        return "".join(items)
    return "%s and %s" % (", ".join(items[:-1]), items[-1])


def _plural(count, word, plural=None):
    return "%d %s" % (count, word if count == 1 else (plural or word + "s"))


def _gib(size):
    return "%.1f GiB" % (size / float(GIB))


def _true(value):
    return value is True


def _positive(value):
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _items(value):
    """The dict items of a list fact (ignoring anything malformed)."""
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _strings(value):
    """A list fact as strings (anything that is not a list counts as empty)."""
    return [str(item) for item in value] if isinstance(value, list) else []


def _check_indicators(ctx, table, required):
    """Evaluate 'is anything pending?'-style indicators.

    Returns (hits, evidence, missing): the sentences for indicators that fired, their
    values, and the required indicators that are unknown.
    """
    hits, evidence, missing = [], {}, []
    for path, fires, describe in table:
        value = ctx.get(path)
        if value is None:
            if path in required:
                missing.append(path)
            continue
        if fires(value):
            hits.append(describe(value, ctx))
            evidence[path] = value
    return hits, evidence, missing


_PENDING_REBOOT = (
    ("pending.cbs_reboot_pending", _true,
     lambda v, ctx: "Component Based Servicing has RebootPending set"),
    ("pending.windows_update_reboot_required", _true,
     lambda v, ctx: "Windows Update reports RebootRequired"),
    ("pending.file_rename_operations", _positive,
     lambda v, ctx: "%s wait in PendingFileRenameOperations" % _plural(v, "file rename operation")),
    ("pending.computer_rename_pending", _true,
     lambda v, ctx: "a computer rename to %s waits for a restart" % (ctx.get("os.computer_name") or "a new name")),
)
_PENDING_SERVICING = (
    ("pending.cbs_packages_pending", _true,
     lambda v, ctx: "Component Based Servicing has PackagesPending set"),
    ("pending.cbs_operations_in_progress", _true,
     lambda v, ctx: "servicing operations (pending.xml or open servicing sessions) have not completed"),
)
# A pending computer rename only exists on a running machine (ActiveComputerName is volatile),
# so it adds evidence but its absence never makes a pending-work answer unknown.
_PENDING_REBOOT_REQUIRED = ("pending.cbs_reboot_pending", "pending.windows_update_reboot_required",
                            "pending.file_rename_operations")
_PENDING_SERVICING_REQUIRED = ("pending.cbs_packages_pending", "pending.cbs_operations_in_progress")


# --------------------------------------------------------------------------- domain

@rule("domain_joined", ("preflight", "verify"),
      needs=("domain.joined", "domain.dns_domain", "domain.domain_sid", "domain.site_name",
             "connection.is_domain_account"),
      unknown_when="domain.joined is unknown (and, in verify, no other domain residue was found).")
def check_domain_joined(ctx):
    """Preflight: the machine is a domain member (sysprep would unjoin it but leave the computer
    object, and unjoining over a domain-account connection locks the session out). Verify: the
    image carries domain residue: membership, the domain SID, a DNS domain or a Netlogon site."""
    joined = ctx.get("domain.joined")
    domain_name = ctx.get("domain.dns_domain") or ctx.get("domain.netbios_domain")
    if ctx.phase == "verify":
        return _domain_residue(ctx, joined)
    if joined is None:
        return ctx.unknown("domain_joined", "whether the machine is joined to a domain", ["domain.joined"])
    if not joined:
        return None
    message = ("This machine is a member of the domain %s (role %s). Sysprep would remove the "
               "membership itself but leave the computer object in Active Directory; leave the domain "
               "before sysprep." % (domain_name or "(name unknown)", ctx.get("domain.role") or "unknown"))
    if ctx.get("connection.is_domain_account") is True:
        message += (" The connection uses the domain account %s: it cannot log on once the machine has "
                    "left the domain, so connect with a local administrator account first."
                    % (ctx.get("connection.user") or "(unknown)"))
    evidence = {"domain.joined": True, "domain.dns_domain": ctx.get("domain.dns_domain"),
                "domain.role": ctx.get("domain.role")}
    return ctx.fail("domain_joined", message, evidence)


def _domain_residue(ctx, joined):
    residue = {}
    if joined:
        residue["domain.joined"] = True
    for path in ("domain.dns_domain", "domain.domain_sid", "domain.site_name"):
        if ctx.get(path):
            residue[path] = ctx.get(path)
    if residue:
        described = []
        if joined:
            described.append("membership of %s" % (ctx.get("domain.dns_domain") or "a domain"))
        if "domain.domain_sid" in residue:
            described.append("the domain SID %s" % residue["domain.domain_sid"])
        if "domain.dns_domain" in residue and not joined:
            described.append("the DNS domain %s" % residue["domain.dns_domain"])
        if "domain.site_name" in residue:
            described.append("the Active Directory site %s (Netlogon DynamicSiteName)" % residue["domain.site_name"])
        return ctx.fail("domain_joined", "The image still carries domain residue: %s. Every clone would "
                        "start with this machine's domain identity." % _join(described), residue)
    if joined is None:
        return ctx.unknown("domain_joined", "whether the image carries domain membership", ["domain.joined"])
    return None


@rule("domain_controller", ("preflight", "verify"),
      needs=("domain.is_domain_controller", "os.product_type", "domain.role"),
      unknown_when="neither os.product_type nor domain.role (nor a gatherer-set "
                   "domain.is_domain_controller) is known.")
def check_domain_controller(ctx):
    """The machine is a domain controller (ProductType LanmanNT or a domain-controller role)."""
    is_dc = ctx.get("domain.is_domain_controller")
    if is_dc is None:
        return ctx.unknown("domain_controller", "whether the machine is a domain controller",
                           ["os.product_type", "domain.role"])
    if not is_dc:
        return None
    return ctx.fail(
        "domain_controller",
        "%s is a domain controller of %s (ProductType %s, role %s). Sysprep cannot generalize a domain "
        "controller; image a member or standalone server instead." % (
            ctx.get("os.computer_name") or "This machine", ctx.get("domain.dns_domain") or "its domain",
            ctx.get("os.product_type") or "unknown", ctx.get("domain.role") or "unknown"),
        {"domain.is_domain_controller": True, "os.product_type": ctx.get("os.product_type"),
         "domain.role": ctx.get("domain.role")})


# --------------------------------------------------------------------------- pending work

@rule("pending_reboot", ("preflight",),
      needs=_PENDING_REBOOT_REQUIRED + ("pending.computer_rename_pending",),
      unknown_when="nothing pending was found and one of pending.cbs_reboot_pending, "
                   "pending.windows_update_reboot_required or pending.file_rename_operations is unknown.")
def check_pending_reboot(ctx):
    """Windows waits for a restart: CBS RebootPending, Windows Update RebootRequired, pending file
    renames or a pending computer rename."""
    hits, evidence, missing = _check_indicators(ctx, _PENDING_REBOOT, _PENDING_REBOOT_REQUIRED)
    if hits:
        return ctx.fail("pending_reboot", "A restart is pending: %s." % _join(hits), evidence)
    if missing:
        return ctx.unknown("pending_reboot", "whether a restart is pending", missing)
    return None


@rule("pending_servicing", ("preflight",),
      needs=_PENDING_SERVICING_REQUIRED,
      unknown_when="no pending servicing was found and either servicing fact is unknown.")
def check_pending_servicing(ctx):
    """Component Based Servicing has packages pending or operations in progress."""
    hits, evidence, missing = _check_indicators(ctx, _PENDING_SERVICING, _PENDING_SERVICING_REQUIRED)
    if hits:
        return ctx.fail("pending_servicing", "Servicing is not finished: %s." % _join(hits), evidence)
    if missing:
        return ctx.unknown("pending_servicing", "whether servicing operations are pending", missing)
    return None


@rule("pending_work_captured", ("verify",),
      needs=_PENDING_REBOOT_REQUIRED + _PENDING_SERVICING_REQUIRED,
      unknown_when="nothing pending was found and one of the restart or servicing indicators is unknown.")
def check_pending_work_captured(ctx):
    """The captured image still has restart or servicing work pending, which every clone would run
    at its first boot."""
    hits, evidence, missing = _check_indicators(
        ctx, _PENDING_REBOOT[:3] + _PENDING_SERVICING, _PENDING_REBOOT_REQUIRED + _PENDING_SERVICING_REQUIRED)
    if hits:
        return ctx.fail("pending_work_captured", "The image carries pending work: %s." % _join(hits), evidence)
    if missing:
        return ctx.unknown("pending_work_captured", "whether the image carries pending work", missing)
    return None


# --------------------------------------------------------------------------- BitLocker

_ENCRYPTED_STATES = ("fully_encrypted", "encryption_in_progress", "decryption_in_progress",
                     "encryption_paused", "decryption_paused")


@rule("bitlocker_on", ("preflight", "verify"),
      needs=("bitlocker.protection_status", "bitlocker.volume_status", "bitlocker.encryption_percentage",
             "bitlocker.encrypted_offline"),
      unknown_when="nothing shows encryption and nothing proves the volume decrypted: volume_status is not "
                   "fully_decrypted, encryption_percentage is not 0 and encrypted_offline is not false.")
def check_bitlocker(ctx):
    """The OS volume is BitLocker-protected, encrypted, or being encrypted/decrypted (online), or
    carries a BitLocker header (offline)."""
    protection = ctx.get("bitlocker.protection_status")
    status = ctx.get("bitlocker.volume_status")
    percentage = ctx.get("bitlocker.encryption_percentage")
    offline_header = ctx.get("bitlocker.encrypted_offline")
    volume = ctx.get("bitlocker.os_volume") or ctx.get("disk.system_drive") or "the OS volume"
    seen = []
    if protection == "on":
        seen.append("protection is on")
    if status in _ENCRYPTED_STATES:
        seen.append("the volume is %s" % status.replace("_", " "))
    if _positive(percentage) and status not in _ENCRYPTED_STATES:
        seen.append("%d%% of it is encrypted" % percentage)
    if offline_header is True:
        seen.append("it carries a BitLocker (-FVE-FS-) header")
    if seen:
        evidence = {"bitlocker.protection_status": protection, "bitlocker.volume_status": status,
                    "bitlocker.encryption_percentage": percentage, "bitlocker.encrypted_offline": offline_header}
        return ctx.fail("bitlocker_on", "BitLocker is active on %s (%s)." % (volume, _join(seen)),
                        {k: v for k, v in evidence.items() if v is not None})
    if status == "fully_decrypted" or offline_header is False or percentage == 0:
        return None
    paths = [p for p in ("bitlocker.volume_status", "bitlocker.encryption_percentage",
                         "bitlocker.encrypted_offline") if ctx.get(p) is None]
    return ctx.unknown("bitlocker_on", "whether BitLocker encrypts %s" % volume, paths)


# --------------------------------------------------------------------------- Appx

@rule("appx_user_not_provisioned", ("preflight",),
      needs=("appx.user_not_provisioned", "appx.packages", "appx.provisioned", "appx.store_auto_download",
             "os.version"),
      unknown_when="the package lists (appx.packages, appx.provisioned) are unknown on Windows 8 / "
                   "Server 2012 or later, or on a version that is unknown.")
def check_appx_user_not_provisioned(ctx):
    """Store packages are installed for a user but not provisioned for all users (derived by
    facts_derive.user_not_provisioned). Windows 7 / 2008 R2 and older have no Appx packages."""
    if ctx.version is not None and ctx.version < (6, 2):
        return None
    packages = ctx.get("appx.user_not_provisioned")
    packages = _items(packages) if isinstance(packages, list) else None
    if packages is None:
        paths = [p for p in ("appx.packages", "appx.provisioned") if ctx.get(p) is None]
        return ctx.unknown("appx_user_not_provisioned",
                           "whether Store apps are installed for a user but not provisioned",
                           paths or ["appx.user_not_provisioned"])
    if not packages:
        return None
    described = ["%s (for %s)" % (p.get("package_full_name"), _join(_strings(p.get("users")) or ["a user"]))
                 for p in packages]
    message = ("%s installed for a user but not provisioned for all users: %s. Sysprep /generalize "
               "stops on these." % (_plural(len(packages), "Store package is", "Store packages are"),
                                    _join(described, limit=8)))
    auto_download = ctx.get("appx.store_auto_download")
    if auto_download != 2:
        message += (" Automatic Store app updates are not turned off (policy WindowsStore AutoDownload is %s; "
                    "2 turns them off), so the Store can update apps again before sysprep runs."
                    % ("not set" if auto_download is None else auto_download))
    return ctx.fail("appx_user_not_provisioned", message,
                    {"appx.store_auto_download": ctx.get("appx.store_auto_download")},
                    packages=packages)


# --------------------------------------------------------------------------- licensing

def _rearm_rules_for(version):
    if version is None:
        return ("Windows 7 / Server 2008 R2 and older allow 3 rearms per installation; Windows 8 / "
                "Server 2012 and later allow up to 1001 sysprep runs per image (the version is unknown).")
    if version < (6, 2):
        return ("Windows 7 / Server 2008 R2 and older allow 3 rearms per installation (a service pack "
                "adds one); with none left sysprep /generalize fails with 'A fatal error occurred while "
                "trying to Sysprep the machine'.")
    return ("Windows 8 / Server 2012 and later allow up to 1001 sysprep runs on one image; this "
            "installation has used them, so sysprep /generalize fails.")


@rule("rearm_exhausted", ("preflight",),
      needs=("licensing.remaining_rearm_count", "licensing.skip_rearm", "os.version"),
      unknown_when="licensing.remaining_rearm_count is unknown (offline gatherers cannot read it).")
def check_rearm_exhausted(ctx):
    """No licensing rearm is left (remaining rearm count 0), explained per Windows version."""
    remaining = ctx.number("licensing.remaining_rearm_count")
    if remaining is None:
        return ctx.unknown("rearm_exhausted", "how many licensing rearms are left",
                           ["licensing.remaining_rearm_count"])
    if remaining > 0:
        return None
    skip_rearm = ctx.get("licensing.skip_rearm")
    message = "No licensing rearm is left on %s (remaining rearm count %d). %s" % (
        ctx.windows, remaining, _rearm_rules_for(ctx.version))
    if skip_rearm == 1:
        message += (" SkipRearm is 1, so sysprep itself would run without a rearm, but the final image "
                    "must be generalized with SkipRearm=0, which needs one.")
    finding = ctx.fail("rearm_exhausted", message, {"licensing.remaining_rearm_count": remaining,
                                                    "licensing.skip_rearm": skip_rearm})
    if skip_rearm == 1 and ctx.options["allow_skip_rearm"]:
        return ctx.overridden(finding, "warning", "allow_skip_rearm",
                              "this is an intermediate image that will be generalized again.")
    return finding


@rule("rearm_low", ("preflight",),
      needs=("licensing.remaining_rearm_count", "licensing.skip_rearm"),
      unknown_when="never: when the rearm count is unknown, rearm_exhausted reports it.")
def check_rearm_low(ctx):
    """Between 1 and ``low_rearm_count`` rearms are left and this sysprep run will use one
    (SkipRearm is not 1)."""
    remaining = ctx.number("licensing.remaining_rearm_count")
    threshold = ctx.options["low_rearm_count"]
    if remaining is None or not 0 < remaining <= threshold or ctx.get("licensing.skip_rearm") == 1:
        return None
    if ctx.version is None:
        limit = "3 rearms per installation up to Windows 7 / 2008 R2, 1001 sysprep runs per image later"
    elif ctx.version < (6, 2):
        limit = "3 rearms per installation"
    else:
        limit = "1001 sysprep runs per image"
    return ctx.fail(
        "rearm_low",
        "Only %s left on %s; this Windows allows %s. Generalizing uses one, so after %s neither "
        "this machine nor its clones can be generalized again." % (
            _plural(remaining, "licensing rearm is", "licensing rearms are"), ctx.windows, limit,
            "this run" if remaining == 1 else "%d more runs" % remaining),
        {"licensing.remaining_rearm_count": remaining, "low_rearm_count": threshold})


@rule("skip_rearm_enabled", ("preflight", "verify"),
      needs=("licensing.skip_rearm", "os.version"),
      unknown_when="licensing.skip_rearm is unknown.")
def check_skip_rearm(ctx):
    """SoftwareProtectionPlatform SkipRearm is set: the activation grace period and the KMS client
    machine id are not reset."""
    skip_rearm = ctx.number("licensing.skip_rearm")
    if skip_rearm is None:
        return ctx.unknown("skip_rearm_enabled", "whether SkipRearm is set", ["licensing.skip_rearm"])
    if skip_rearm == 0:
        return None
    subject = "This machine" if ctx.phase == "preflight" else "The captured image"
    message = ("%s has SkipRearm=%s (HKLM\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\\"
               "SoftwareProtectionPlatform): sysprep does not reset the activation grace period or the "
               "KMS client machine id (CMID), so KMS counts every clone as the same machine."
               % (subject, skip_rearm))
    if ctx.version is not None and ctx.version >= (6, 2):
        message += (" On Windows 8 / Server 2012 and later it is rarely needed: up to 1001 sysprep runs are "
                    "allowed without it.")
    finding = ctx.fail("skip_rearm_enabled", message, {"licensing.skip_rearm": skip_rearm})
    if ctx.options["allow_skip_rearm"]:
        return ctx.overridden(finding, "info" if ctx.phase == "preflight" else "warning", "allow_skip_rearm",
                              "accepted for an intermediate image; the final sysprep run must use SkipRearm=0.")
    return finding


# --------------------------------------------------------------------------- setup state

@rule("upgraded_install", ("preflight",),
      needs=("setup.upgraded", "setup.upgrade_history", "os.is_server", "os.build"),
      unknown_when="setup.upgraded is unknown, or the installation was upgraded and os.is_server or "
                   "os.build is unknown (they decide whether Microsoft supports it).")
def check_upgraded_install(ctx):
    """Windows was upgraded in place. Microsoft supports sysprep of upgraded installations only on
    Windows 10 version 1607 (build 14393) and later clients, so client builds from 14393 on pass."""
    upgraded = ctx.get("setup.upgraded")
    if upgraded is None:
        return ctx.unknown("upgraded_install", "whether Windows was upgraded in place", ["setup.upgraded"])
    if not upgraded:
        return None
    is_server, build = ctx.get("os.is_server"), ctx.number("os.build")
    if is_server is False and build is not None and build >= FIRST_BUILD_UPGRADE_SUPPORTED:
        return None
    history = _strings(ctx.get("setup.upgrade_history"))
    origin = " from %s" % _join(history) if history else ""
    if is_server is None or build is None:
        return ctx.unknown("upgraded_install", "whether sysprep supports this upgraded installation%s" % origin,
                           [p for p in ("os.is_server", "os.build") if ctx.get(p) is None],
                           "Microsoft supports it only on Windows 10 version 1607 (build 14393) and later clients.")
    return ctx.fail(
        "upgraded_install",
        "%s was upgraded in place%s. Microsoft supports sysprep of upgraded installations only on Windows "
        "10 version 1607 (build 14393) and later clients; this %s is not one of them." % (
            ctx.windows, origin, "server" if is_server else "build"),
        {"setup.upgraded": True, "setup.upgrade_history": history, "os.is_server": is_server, "os.build": build})


@rule("already_generalized", ("preflight",),
      needs=("setup.image_state",),
      unknown_when="never (info rule): an unknown image state is reported by image_undeployable.")
def check_already_generalized(ctx):
    """ImageState says generalize already completed (reseal to OOBE or to audit)."""
    state = ctx.text("setup.image_state")
    if state not in (IMAGE_STATE_GENERALIZED, IMAGE_STATE_GENERALIZED_TO_AUDIT):
        return None
    target = "OOBE" if state == IMAGE_STATE_GENERALIZED else "audit mode"
    return ctx.fail(
        "already_generalized",
        "ImageState is %s: sysprep /generalize already completed and the machine will continue into %s at "
        "its next start. Running sysprep again would use a rearm and gain nothing." % (state, target),
        {"setup.image_state": state})


@rule("image_undeployable", ("preflight",),
      needs=("setup.image_state", "setup.sysprep_running"),
      unknown_when="setup.image_state is unknown.")
def check_image_undeployable(ctx):
    """ImageState is IMAGE_STATE_UNDEPLOYABLE while sysprep is not running: a Setup phase failed."""
    state = ctx.text("setup.image_state")
    if state is None:
        return ctx.unknown("image_undeployable", "which Setup state the image is in", ["setup.image_state"])
    if state != IMAGE_STATE_UNDEPLOYABLE or ctx.get("setup.sysprep_running") is True:
        return None
    return ctx.fail(
        "image_undeployable",
        "ImageState is %s and sysprep is not running: a Windows Setup phase (often an earlier sysprep run) "
        "did not complete. Microsoft documents that such an image must be reinstalled." % state,
        {"setup.image_state": state, "setup.generalization_state": ctx.get("setup.generalization_state")})


@rule("sysprep_already_running", ("preflight",),
      needs=("setup.sysprep_running", "gatherer.kind"),
      unknown_when="setup.sysprep_running is unknown on a running machine (offline facts read a disk "
                   "that is not running, so nothing can be running there).")
def check_sysprep_running(ctx):
    """A sysprep.exe process is running now; only one instance can run at a time."""
    if ctx.offline:
        return None
    running = ctx.get("setup.sysprep_running")
    if running is None:
        return ctx.unknown("sysprep_already_running", "whether sysprep is already running",
                           ["setup.sysprep_running"])
    if not running:
        return None
    return ctx.fail(
        "sysprep_already_running",
        "sysprep.exe is already running on %s (ImageState %s). A second run would fail; wait for this one "
        "or read %%WINDIR%%\\System32\\Sysprep\\Panther\\setupact.log to see where it is." % (
            ctx.get("os.computer_name") or "this machine", ctx.get("setup.image_state") or "unknown"),
        {"setup.sysprep_running": True, "setup.image_state": ctx.get("setup.image_state")})


_VERIFY_STATE_MEANING = {
    IMAGE_STATE_GENERALIZED_TO_AUDIT: "it was generalized but reseals to audit mode, so every clone would "
                                      "start in audit mode instead of OOBE",
    "IMAGE_STATE_COMPLETE": "sysprep /generalize never completed and this is an installed, "
                            "hardware-specific Windows",
    IMAGE_STATE_UNDEPLOYABLE: "a Setup phase did not complete; Microsoft documents that such an offline "
                              "image will never be deployable",
    "IMAGE_STATE_SPECIALIZE_RESEAL_TO_OOBE": "it already went through specialize, so it is a deployed "
                                             "copy, not a generalized image",
    "IMAGE_STATE_SPECIALIZE_RESEAL_TO_AUDIT": "it already went through specialize, so it is a deployed "
                                              "copy, not a generalized image",
}


@rule("not_generalized", ("verify",),
      needs=("setup.image_state", "setup.generalization_state"),
      unknown_when="setup.image_state is unknown. GeneralizationState is kept as evidence only: its "
                   "values after generalize are not documented by Microsoft.")
def check_not_generalized(ctx):
    """The image's ImageState is not IMAGE_STATE_GENERALIZE_RESEAL_TO_OOBE."""
    state = ctx.text("setup.image_state")
    generalization_state = ctx.get("setup.generalization_state")
    if state is None:
        note = ("(SysprepStatus GeneralizationState is %s, which alone does not prove generalization.)"
                % generalization_state) if generalization_state is not None else ""
        return ctx.unknown("not_generalized", "whether the image is generalized", ["setup.image_state"], note)
    if state == IMAGE_STATE_GENERALIZED:
        return None
    meaning = _VERIFY_STATE_MEANING.get(state, "it is not the generalized state %s" % IMAGE_STATE_GENERALIZED)
    return ctx.fail(
        "not_generalized",
        "The image's ImageState is %s, which means %s. Every machine deployed from it would keep this "
        "machine's SID, name and hardware state." % (state, meaning),
        {"setup.image_state": state, "setup.generalization_state": generalization_state,
         "setup.cleanup_state": ctx.get("setup.cleanup_state")})


# --------------------------------------------------------------------------- server roles

_ALL_VERSIONS = ("6.0", "6.1", "6.2+")

# Microsoft, "Sysprep Support for Server Roles" (finding_catalog.DOCS_SERVER_ROLES): the roles
# whose column says "No". The page has columns for Windows Server 2008 (6.0), 2008 R2 (6.1) and
# 2012 (6.2); later versions follow the 2012 column, the newest the page has. Names are the ones
# Get-WindowsFeature (ServerManagerCmd on 2008) reports; prefixes catch a role's role services.
# Left out on purpose:
# * Network Policy Server: the table says "No" for NPAS as a whole, but Microsoft's "Prepare a
#   Network Policy Server (NPS) for Imaging" explains how to image NPS after removing RADIUS clients
#   and remote RADIUS server groups; nps_radius_config checks exactly that. HRA and HCAP (the other
#   NPAS role services) stay unsupported.
# * Web Server (IIS) is supported except with encrypted credentials in applicationHost.config, and
#   Hyper-V except with virtual networks (hyperv_external_switch / hyperv_internal_switch): the facts
#   hold nothing finer, so neither is reported here.
UNSUPPORTED_SERVER_ROLES = (
    {"role": "Active Directory Certificate Services (AD CS)", "names": ("AD-Certificate",),
     "prefixes": ("ADCS-",), "versions": _ALL_VERSIONS},
    {"role": "Active Directory Domain Services (AD DS)", "names": ("AD-Domain-Services",),
     "prefixes": (), "versions": _ALL_VERSIONS},
    {"role": "Active Directory Federation Services (AD FS)", "names": ("AD-Federation-Services",),
     "prefixes": ("ADFS-",), "versions": _ALL_VERSIONS},
    {"role": "Active Directory Lightweight Directory Services (AD LDS)", "names": ("ADLDS",),
     "prefixes": (), "versions": _ALL_VERSIONS},
    {"role": "Active Directory Rights Management Services (AD RMS)", "names": ("ADRMS",),
     "prefixes": ("ADRMS-",), "versions": _ALL_VERSIONS},
    {"role": "DHCP Server", "names": ("DHCP",), "prefixes": (), "versions": ("6.1", "6.2+")},
    {"role": "Fax Server", "names": ("Fax",), "prefixes": (), "versions": _ALL_VERSIONS},
    {"role": "File Services", "names": ("File-Services", "FS-FileServer"), "prefixes": (),
     "versions": ("6.0",)},
    {"role": "Health Registration Authority / Host Credential Authorization Protocol (NPAS)",
     "names": ("NPAS-Health", "NPAS-Host-Cred"), "prefixes": (), "versions": _ALL_VERSIONS},
    {"role": "Print Services", "names": ("Print-Services", "Print-Server"), "prefixes": (),
     "versions": ("6.0",)},
    {"role": "UDDI Services", "names": (), "prefixes": ("UDDI",), "versions": ("6.0",),
     "absent": ("6.1", "6.2+")},  # the page: "UDDI Services was not included in Windows Server 2008 R2"
    {"role": "Windows Deployment Services", "names": ("WDS",), "prefixes": ("WDS-",),
     "versions": ("6.0", "6.1")},
    {"role": "Windows Server Update Services (WSUS)", "names": ("UpdateServices", "OOB-WSUS"),
     "prefixes": ("UpdateServices-",), "versions": _ALL_VERSIONS},
)
# From Windows Server 2012 on, WDS is supported only when it is not initialized
# (wdsutil /uninitialize-server); the facts do not say, so it makes the answer unknown.
_WDS_CONDITIONAL = {"role": "Windows Deployment Services", "names": ("WDS",), "prefixes": ("WDS-",)}


def _version_column(version):
    if version is None:
        return None
    if version < (6, 1):
        return "6.0"
    if version < (6, 2):
        return "6.1"
    return "6.2+"


def _matching_features(role, installed):
    names = {n.lower() for n in role["names"]}
    prefixes = tuple(p.lower() for p in role["prefixes"])
    return [f for f in installed if f.lower() in names or (prefixes and f.lower().startswith(prefixes))]


@rule("unsupported_server_role", ("preflight",),
      needs=("roles.installed", "os.is_server", "os.version"),
      unknown_when="roles.installed is unknown on a server (or a machine not known to be a client); or "
                   "Windows Deployment Services is installed on Server 2012 or later (supported only when "
                   "not initialized, which the facts do not record); or the version is unknown and only "
                   "roles whose support depends on the version are installed.")
def check_unsupported_server_role(ctx):
    """Server roles Microsoft's "Sysprep Support for Server Roles" page marks as unsupported for the
    installation's Windows Server version are installed."""
    if ctx.get("os.is_server") is False:
        return None
    installed = ctx.get("roles.installed")
    if not isinstance(installed, list):
        return ctx.unknown("unsupported_server_role", "which server roles are installed", ["roles.installed"])
    installed = _strings(installed)
    column = _version_column(ctx.version)
    certain, uncertain = [], []
    for role in UNSUPPORTED_SERVER_ROLES:
        features = _matching_features(role, installed)
        if not features:
            continue
        entry = {"role": role["role"], "features": features}
        if column in role["versions"] or (column is None and role["versions"] == _ALL_VERSIONS):
            certain.append(entry)
        elif column is None:
            uncertain.append(entry)
    wds = _matching_features(_WDS_CONDITIONAL, installed)
    if wds and column == "6.2+":
        uncertain.append({"role": "Windows Deployment Services (supported only when not initialized)",
                          "features": wds})
    server = ctx.windows
    if certain:
        message = ("%s has server roles that Microsoft does not support with sysprep: %s. They may not work "
                   "after deployment." % (server, _describe_roles(certain)))
        if uncertain:
            message += " Also check: %s." % _describe_roles(uncertain)
        return ctx.fail("unsupported_server_role", message, {"roles.installed": installed},
                        roles=certain + uncertain)
    if uncertain:
        if column == "6.2+":
            missing = {"WDS initialization": "the facts do not record whether Windows Deployment Services "
                                             "is initialized"}
            advice = ("Run `wdsutil /uninitialize-server` before sysprep if Windows Deployment Services is "
                      "initialized.")
        else:
            missing = {"os.version": ctx.reason("os.version")}
            advice = ("Their support depends on the Windows Server version, and os.version is unknown (%s)."
                      % missing["os.version"])
        finding = ctx.fail(
            "unsupported_server_role",
            "Could not tell whether sysprep supports these roles on %s: %s. %s" % (
                server, _describe_roles(uncertain), advice),
            {"roles.installed": installed, "missing": missing}, roles=uncertain)
        finding["status"] = "unknown"
        return finding
    return None


def _describe_roles(entries):
    return "; ".join("%s [%s]" % (entry["role"], ", ".join(entry["features"])) for entry in entries)


@rule("nps_radius_config", ("preflight",),
      needs=("roles.nps", "roles.nps_radius_clients", "roles.nps_remote_server_groups"),
      unknown_when="NPS is known to be installed but a RADIUS client or remote server group count is "
                   "unknown (silent when roles.nps itself is unknown: warning rule).")
def check_nps_radius(ctx):
    """Network Policy Server has RADIUS clients or remote RADIUS server groups configured."""
    if ctx.get("roles.nps") is not True:
        return None
    clients = ctx.get("roles.nps_radius_clients")
    groups = ctx.get("roles.nps_remote_server_groups")
    configured = []
    if _positive(clients):
        configured.append(_plural(clients, "RADIUS client"))
    if _positive(groups):
        configured.append(_plural(groups, "remote RADIUS server group"))
    if configured:
        return ctx.fail(
            "nps_radius_config",
            "Network Policy Server has %s configured. Their shared secrets would be copied into every "
            "clone; remove them (`netsh nps show client`, `netsh nps delete client`, "
            "`netsh nps delete remoteservergroup`) before sysprep." % _join(configured),
            {"roles.nps_radius_clients": clients, "roles.nps_remote_server_groups": groups})
    missing = [p for p in ("roles.nps_radius_clients", "roles.nps_remote_server_groups") if ctx.get(p) is None]
    if missing:
        return ctx.unknown("nps_radius_config", "whether NPS has RADIUS clients or remote server groups", missing)
    return None


# --------------------------------------------------------------------------- Hyper-V hosts

def _hyperv_gate(ctx, finding_id, blocker):
    """(applies, finding): whether a Hyper-V host rule applies, or the unknown finding to return."""
    hyperv = ctx.get("roles.hyperv")
    if hyperv is None:
        if blocker:
            return False, ctx.unknown(finding_id, "whether the Hyper-V role is installed", ["roles.hyperv"])
        return False, None
    return bool(hyperv), None


@rule("hyperv_vms_present", ("preflight",),
      needs=("roles.hyperv", "hyperv.vms"),
      unknown_when="roles.hyperv is unknown, or Hyper-V is installed and hyperv.vms is unknown.")
def check_hyperv_vms(ctx):
    """Virtual machines are registered on this Hyper-V host (a warning when ``allow_hyperv_vms``)."""
    applies, unknown = _hyperv_gate(ctx, "hyperv_vms_present", blocker=True)
    if not applies:
        return unknown
    vms = ctx.get("hyperv.vms")
    if not isinstance(vms, list):
        return ctx.unknown("hyperv_vms_present", "which virtual machines are registered", ["hyperv.vms"])
    vms = _items(vms)
    if not vms:
        return None
    described = ["%s (%s)" % (vm.get("name"), vm.get("state") or "state unknown") for vm in vms]
    finding = ctx.fail(
        "hyperv_vms_present",
        "%s registered on this Hyper-V host: %s. They would be cloned with the host, with the same names, "
        "ids and paths on every deployed host." % (
            _plural(len(vms), "virtual machine is", "virtual machines are"), _join(described, limit=10)),
        {"hyperv.vms": [vm.get("name") for vm in vms]})
    if ctx.options["allow_hyperv_vms"]:
        return ctx.overridden(finding, "warning", "allow_hyperv_vms",
                              "these virtual machines will ship in the image on purpose.")
    return finding


@rule("checkpoints_present", ("preflight",),
      needs=("roles.hyperv", "hyperv.vms"),
      unknown_when="roles.hyperv is unknown, or Hyper-V is installed and the VM list or a VM's checkpoint "
                   "count is unknown. Checkpoints of the reference VM itself are seen from the hypervisor, "
                   "not from these facts.")
def check_checkpoints(ctx):
    """Virtual machines on this Hyper-V host have checkpoints; reverting one after deployment brings
    back a machine that conflicts with its clones. Not downgraded by ``allow_hyperv_vms``."""
    applies, unknown = _hyperv_gate(ctx, "checkpoints_present", blocker=True)
    if not applies:
        return unknown
    vms = ctx.get("hyperv.vms")
    if not isinstance(vms, list):
        return ctx.unknown("checkpoints_present", "whether virtual machines have checkpoints", ["hyperv.vms"])
    vms = _items(vms)
    with_checkpoints = [vm for vm in vms if _positive(vm.get("checkpoints"))]
    if with_checkpoints:
        return ctx.fail(
            "checkpoints_present",
            "Virtual machines on this host have checkpoints: %s." % _join(
                ["%s (%s)" % (vm.get("name"), _plural(vm["checkpoints"], "checkpoint")) for vm in with_checkpoints]),
            {"hyperv.vms": {vm.get("name"): vm["checkpoints"] for vm in with_checkpoints}})
    uncounted = [vm.get("name") for vm in vms if vm.get("checkpoints") is None]
    if uncounted:
        finding = ctx.unknown("checkpoints_present", "whether virtual machines have checkpoints",
                              ["hyperv.vms"])
        finding["message"] = ("Could not tell whether these virtual machines have checkpoints: %s (their "
                              "checkpoint count is unknown)." % _join(uncounted))
        finding["evidence"] = {"missing": {"hyperv.vms[].checkpoints": "unknown for %s" % _join(uncounted)}}
        return finding
    return None


def _switches(ctx, kinds):
    return [s for s in _items(ctx.get("hyperv.switches")) if str(s.get("type") or "").lower() in kinds]


@rule("hyperv_external_switch", ("preflight",),
      needs=("roles.hyperv", "hyperv.switches"),
      unknown_when="Hyper-V is installed and hyperv.switches is unknown.")
def check_external_switch(ctx):
    """External virtual switches are bound to physical adapters that sysprep removes."""
    applies, unknown = _hyperv_gate(ctx, "hyperv_external_switch", blocker=False)
    if not applies:
        return unknown
    if not isinstance(ctx.get("hyperv.switches"), list):
        return ctx.unknown("hyperv_external_switch", "which virtual switches exist", ["hyperv.switches"])
    external = _switches(ctx, ("external",))
    if not external:
        return None
    return ctx.fail(
        "hyperv_external_switch",
        "%s bound to physical adapters that sysprep removes: %s. Microsoft does not support sysprep with "
        "Hyper-V virtual networks: delete them before sysprep and recreate them on the deployed host." % (
            "An external virtual switch is" if len(external) == 1 else "External virtual switches are", _join(
                ["%s (adapter %s)" % (s.get("name"), s.get("adapter") or "unknown") for s in external])),
        {"hyperv.switches": [s.get("name") for s in external]})


@rule("hyperv_internal_switch", ("preflight",),
      needs=("roles.hyperv", "hyperv.switches"),
      unknown_when="Hyper-V is installed and hyperv.switches is unknown.")
def check_internal_switch(ctx):
    """Internal or private virtual switches exist; Microsoft requires every virtual network to be
    deleted before sysprep."""
    applies, unknown = _hyperv_gate(ctx, "hyperv_internal_switch", blocker=False)
    if not applies:
        return unknown
    if not isinstance(ctx.get("hyperv.switches"), list):
        return ctx.unknown("hyperv_internal_switch", "which virtual switches exist", ["hyperv.switches"])
    others = _switches(ctx, ("internal", "private"))
    if not others:
        return None
    return ctx.fail(
        "hyperv_internal_switch",
        "Internal or private virtual switches exist: %s. Microsoft does not support sysprep with Hyper-V "
        "virtual networks; delete them before sysprep and recreate them after deployment." % _join(
            ["%s (%s)" % (s.get("name"), s.get("type")) for s in others]),
        {"hyperv.switches": [s.get("name") for s in others]})


@rule("hyperv_mac_range", ("preflight",),
      needs=("roles.hyperv", "os.version", "hyperv.mac_address_minimum", "hyperv.mac_address_maximum"),
      unknown_when="Hyper-V is installed and os.version is unknown.")
def check_mac_range(ctx):
    """Hyper-V on Windows Server 2008 (6.0), which has no Hyper-V sysprep provider: the dynamic MAC
    address range is not cleared (and the hypervisor launch is not re-enabled in the new BCD store)."""
    applies, unknown = _hyperv_gate(ctx, "hyperv_mac_range", blocker=False)
    if not applies:
        return unknown
    if ctx.version is None:
        return ctx.unknown("hyperv_mac_range", "whether this Hyper-V version clears its MAC address range "
                           "during sysprep (only Windows Server 2008 R2 and later do)", ["os.version"])
    if ctx.version >= (6, 1):
        return None
    low, high = ctx.get("hyperv.mac_address_minimum"), ctx.get("hyperv.mac_address_maximum")
    mac_range = "%s to %s" % (low, high) if low and high else "(range not read)"
    return ctx.fail(
        "hyperv_mac_range",
        "%s has no Hyper-V sysprep provider (it arrived with Windows Server 2008 R2): the dynamic MAC address "
        "range %s is not cleared, so every host deployed from this image hands out the same MAC addresses. "
        "The hypervisor launch is not re-enabled in the deployed host's boot configuration either: run "
        "`bcdedit /set hypervisorlaunchtype auto` there." % (ctx.windows, mac_range),
        {"hyperv.mac_address_minimum": low, "hyperv.mac_address_maximum": high, "os.version": ctx.get("os.version"),
         "hyperv.hypervisor_launch_type": ctx.get("hyperv.hypervisor_launch_type")})


# --------------------------------------------------------------------------- disk

@rule("low_disk_space", ("preflight",),
      needs=("disk.free_bytes", "disk.size_bytes", "disk.system_drive"),
      unknown_when="disk.free_bytes is unknown.")
def check_low_disk_space(ctx):
    """Free space on the system volume is below ``min_free_bytes`` (a value exactly at the threshold
    passes)."""
    free = ctx.number("disk.free_bytes")
    threshold = ctx.options["min_free_bytes"]
    drive = ctx.get("disk.system_drive") or "the system volume"
    if free is None:
        return ctx.unknown("low_disk_space", "how much space is free on %s" % drive, ["disk.free_bytes"])
    if free >= threshold:
        return None
    size = ctx.number("disk.size_bytes")
    return ctx.fail(
        "low_disk_space",
        "Only %s is free on %s%s; at least %s is recommended (option min_free_bytes)." % (
            _gib(free), drive, " (of %s)" % _gib(size) if size else "", _gib(threshold)),
        {"disk.free_bytes": free, "disk.size_bytes": size, "min_free_bytes": threshold})


@rule("swap_files_captured", ("verify",),
      needs=("disk.pagefile_present", "disk.hiberfil_present", "disk.swapfile_present"),
      unknown_when="none of the files was found and one of the three facts is unknown.")
def check_swap_files(ctx):
    """pagefile.sys, hiberfil.sys or swapfile.sys is in the captured image."""
    files = (("disk.pagefile_present", "pagefile.sys"), ("disk.hiberfil_present", "hiberfil.sys"),
             ("disk.swapfile_present", "swapfile.sys"))
    present = [name for path, name in files if ctx.get(path) is True]
    if present:
        return ctx.fail(
            "swap_files_captured",
            "The image contains %s: memory of the reference machine, possibly with secrets, and wasted space."
            % _join(present), {path: True for path, name in files if ctx.get(path) is True})
    missing = [path for path, name in files if ctx.get(path) is None]
    if missing:
        return ctx.unknown("swap_files_captured", "whether paging or hibernation files were captured", missing)
    return None


# --------------------------------------------------------------------------- secrets

@rule("answer_file_secrets", ("preflight", "verify"),
      needs=("answer_files.files",),
      unknown_when="answer_files.files is unknown, or no file with a password was found and some file "
                   "could not be inspected (contains_password missing).")
def check_answer_file_secrets(ctx):
    """An answer file on the disk contains a password element, even a base64-"obfuscated" one."""
    files = ctx.get("answer_files.files")
    if not isinstance(files, list):
        return ctx.unknown("answer_file_secrets", "whether answer files with passwords are on the disk",
                           ["answer_files.files"])
    files = _items(files)
    with_password = [f for f in files if f.get("contains_password") is True]
    if with_password:
        described = ["%s (%s)" % (f.get("path"), ", ".join(_strings(f.get("password_elements")) or ["password"]))
                     for f in with_password]
        where = "on this machine" if ctx.phase == "preflight" else "in the image"
        return ctx.fail(
            "answer_file_secrets",
            "%s %s contain%s passwords; base64 in answer files is obfuscation, not encryption: %s." % (
                _plural(len(with_password), "answer file"), where, "s" if len(with_password) == 1 else "",
                _join(described)),
            {"answer_files.files": [f.get("path") for f in with_password]},
            files=[{"path": f.get("path"), "password_elements": _strings(f.get("password_elements"))}
                   for f in with_password])
    uninspected = [f.get("path") for f in files if f.get("contains_password") is None]
    if uninspected:
        finding = ctx.unknown("answer_file_secrets", "whether answer files contain passwords",
                              ["answer_files.files"])
        finding["message"] = ("Could not tell whether these answer files contain passwords: %s (they could "
                              "not be inspected)." % _join(uninspected))
        finding["evidence"] = {"missing": {"answer_files.files[].contains_password": _join(uninspected)}}
        return finding
    return None


@rule("autologon_secret", ("preflight", "verify"),
      needs=("autologon.password_stored", "autologon.enabled", "autologon.username", "autologon.domain"),
      unknown_when="autologon.password_stored is unknown.")
def check_autologon_secret(ctx):
    """Winlogon DefaultPassword is stored (the value itself is never read)."""
    stored = ctx.get("autologon.password_stored")
    if stored is None:
        return ctx.unknown("autologon_secret", "whether an auto-logon password is stored",
                           ["autologon.password_stored"])
    if not stored:
        return None
    user = ctx.get("autologon.username") or "(no DefaultUserName)"
    if ctx.get("autologon.domain"):
        user = "%s\\%s" % (ctx.get("autologon.domain"), user)
    enabled = ctx.get("autologon.enabled")
    state = "on" if enabled is True else "off" if enabled is False else "unknown"
    return ctx.fail(
        "autologon_secret",
        "Winlogon stores a clear-text auto-logon password (DefaultPassword) for %s in the SOFTWARE hive "
        "%s; AutoAdminLogon is %s." % (user, "of this machine" if ctx.phase == "preflight" else "of the image",
                                       state),
        {"autologon.password_stored": True, "autologon.enabled": enabled, "autologon.username":
            ctx.get("autologon.username"), "autologon.logon_count": ctx.get("autologon.logon_count")})


# --------------------------------------------------------------------------- profiles

def _account_names(name):
    """A user name and its bare form without DOMAIN\\, lower-case."""
    name = name.strip().lower()
    return {name, name.rsplit("\\", 1)[-1]}


def _profile_name(profile):
    if profile.get("username"):
        return str(profile["username"])
    path = profile.get("path")
    if isinstance(path, str) and path.strip("\\/"):
        return re.split(r"[\\/]", path.rstrip("\\/"))[-1]
    return str(profile.get("sid") or "unknown")


@rule("build_profile_leftover", ("verify",),
      needs=("profiles.users",),
      unknown_when="profiles.users is unknown while build_accounts or allowed_profiles is set (with neither "
                   "option set the rule has nothing to check).")
def check_build_profiles(ctx):
    """Profiles of ``build_accounts`` are in the image, or (allow-list mode, ``allowed_profiles``
    set) profiles other than the built-in Administrator and the allowed user names."""
    build_accounts = ctx.options["build_accounts"]
    allowed = ctx.options["allowed_profiles"]
    if not build_accounts and allowed is None:
        return None
    users = ctx.get("profiles.users")
    if not isinstance(users, list):
        return ctx.unknown("build_profile_leftover", "which user profiles are in the image", ["profiles.users"])
    build_names = set().union(*[_account_names(n) for n in build_accounts]) if build_accounts else set()
    allowed_names = set().union(*[_account_names(n) for n in allowed]) if allowed else set()
    leftovers = []
    for profile in _items(users):
        names = _account_names(_profile_name(profile))
        if names & build_names:
            leftovers.append(profile)
        elif allowed is not None and not profile.get("is_builtin_administrator") and not names & allowed_names:
            leftovers.append(profile)
    if not leftovers:
        return None
    described = ["%s (%s)" % (_profile_name(p), p.get("path") or p.get("sid")) for p in leftovers]
    reason = "build accounts" if allowed is None else "accounts not allowed to ship (build_accounts / allowed_profiles)"
    return ctx.fail(
        "build_profile_leftover",
        "The image contains profiles of %s: %s." % (reason, _join(described)),
        {"profiles": [{"username": p.get("username"), "sid": p.get("sid"), "path": p.get("path")}
                      for p in leftovers]})


# --------------------------------------------------------------------------- entry points

def sort_findings(findings):
    """Blockers first, then warnings, then info; then by id."""
    return sorted(findings, key=lambda f: (SEVERITY_ORDER.get(f.get("severity"), 3), f.get("id", "")))


def evaluate(facts, phase="preflight", options=None):
    """Findings for ``facts`` in ``phase`` ('preflight' or 'verify').

    Raises FactsError / OptionsError (both ValueError) with a message naming the problem.
    """
    if phase not in PHASES:
        hint = (" (sysprep-phase findings come from the Panther log parser)" if phase == "sysprep" else "")
        raise ValueError("phase must be one of %s, not %r%s" % (", ".join(PHASES), phase, hint))
    check_facts(facts)
    resolved = resolve_options(options)
    context = _Context(complete_facts(to_plain(facts)), phase, resolved)
    findings = []
    for registered in RULES.values():
        if phase in registered.phases:
            finding = registered.check(context)
            if finding is not None:
                findings.append(finding)
    return sort_findings(findings)


def summarize(findings):
    """Counts for reports and set_stats.

    ``ready`` is true when no blocker failed; blockers that could not be checked are counted in
    ``unknown_blockers`` so the caller decides how strict to be.
    """
    if not isinstance(findings, (list, tuple)):
        raise ValueError("findings must be a list of findings, got %s" % type(findings).__name__)
    counts = {severity: {status: 0 for status in finding_catalog.STATUSES}
              for severity in finding_catalog.SEVERITIES}
    blocking = []
    for index, finding in enumerate(findings):
        if not _is_mapping(finding) or finding.get("severity") not in counts \
                or finding.get("status") not in finding_catalog.STATUSES:
            raise ValueError("findings[%d] is not a finding (needs severity one of %s and status one of %s)"
                             % (index, ", ".join(finding_catalog.SEVERITIES), ", ".join(finding_catalog.STATUSES)))
        counts[finding["severity"]][finding["status"]] += 1
        if finding["severity"] == "blocker" and finding["status"] == "fail":
            blocking.append(finding.get("id"))
    return {
        "ready": not blocking,
        "total": len(findings),
        "blockers": counts["blocker"]["fail"],
        "warnings": counts["warning"]["fail"],
        "info": counts["info"]["fail"],
        "unknown": sum(c["unknown"] for c in counts.values()),
        "unknown_blockers": counts["blocker"]["unknown"],
        "counts": counts,
        "blocking_ids": sorted(set(blocking)),
    }
