# Copyright: (c) 2026, winimage.generalize contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The offline gatherer: readiness facts from the files of a Windows volume or WIM image.

``gather_facts(files, ...)`` reads the registry hives (SYSTEM, SOFTWARE, SAM, SECURITY),
``Setup/State/State.ini``, the answer files Windows leaves behind, the Appx state
repository and a few marker files, and fills the schema of :mod:`facts_schema` with
gatherer kind ``offline``. Each section is probed on its own: a corrupt hive or an
unreadable file sets ``errors[section]`` to a sentence naming the file and the problem,
and every other section still gets its facts. Fields this gatherer can never know go to
``unavailable`` with the reason. Secrets are never read out: answer-file passwords and
the Winlogon DefaultPassword become booleans and element names.
"""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import tempfile
import xml.etree.ElementTree as ET

from ansible_collections.winimage.generalize.plugins.module_utils import facts_schema
from ansible_collections.winimage.generalize.plugins.module_utils.offline_registry import (
    Hive, HiveError, REG_MULTI_SZ, decode_value, multi_sz_strings, sid_to_string, unicode_string)

try:
    from ansible_collections.winimage.generalize.plugins.module_utils import panther as panther_parser
except ImportError:  # the parser is optional: without it no panther_findings are returned
    panther_parser = None

GATHERER_NAME = "winimage.generalize.image_facts"
HIVES = ("SYSTEM", "SOFTWARE", "SAM", "SECURITY")
MAX_HIVE_BYTES = 1 << 30
MAX_TEXT_BYTES = 4 << 20
MAX_LOG_BYTES = 32 << 20
MAX_DATABASE_BYTES = 512 << 20

CURRENT_VERSION = "Microsoft\\Windows NT\\CurrentVersion"
WINDOWS_CURRENT_VERSION = "Microsoft\\Windows\\CurrentVersion"
CBS = WINDOWS_CURRENT_VERSION + "\\Component Based Servicing"
APPX_STORE = WINDOWS_CURRENT_VERSION + "\\Appx\\AppxAllUserStore"
SERVER_COMPONENT_CACHE = "Microsoft\\ServerManager\\ServicingStorage\\ServerComponentCache"

IMAGE_STATE_SPECIALIZE_RESEAL_TO_AUDIT = "IMAGE_STATE_SPECIALIZE_RESEAL_TO_AUDIT"
SIGNATURE_KIND_SYSTEM = "System"

# Answer files Windows Setup and sysprep read (and leave behind), relative to the Windows
# directory (W) or the volume root. Matches unattend.ANSWER_FILE_COPIES plus the root copies
# Setup searches on removable media and the system drive.
ANSWER_FILE_PATHS = (
    "{W}/Panther/unattend.xml",
    "{W}/Panther/autounattend.xml",
    "{W}/System32/Sysprep/unattend.xml",
    "{W}/System32/Sysprep/autounattend.xml",
    "unattend.xml",
    "autounattend.xml",
)
ANSWER_FILE_DIRECTORIES = ("{W}/Panther/Unattend",)
PANTHER_DIRECTORIES = ("{W}/System32/Sysprep/Panther", "{W}/Panther")
STATE_REPOSITORY = "ProgramData/Microsoft/Windows/AppRepository/StateRepository-Machine.srd"
MEMORY_FILES = (("pagefile_present", "pagefile.sys"), ("hiberfil_present", "hiberfil.sys"),
                ("swapfile_present", "swapfile.sys"))

# Processor architecture names as PROCESSOR_ARCHITECTURE writes them -> schema values.
ARCHITECTURES = {"amd64": "amd64", "x86": "x86", "arm64": "arm64"}
# APPX_PACKAGE_ARCHITECTURE numbers as the state repository stores them.
APPX_ARCHITECTURES = {0: "x86", 5: "arm", 9: "x64", 11: "neutral", 12: "arm64"}

# Culture names of common installation languages (LCID as Windows writes it, hex).
LCID_CULTURES = {
    "0401": "ar-SA", "0402": "bg-BG", "0404": "zh-TW", "0405": "cs-CZ", "0406": "da-DK", "0407": "de-DE",
    "0408": "el-GR", "0409": "en-US", "040B": "fi-FI", "040C": "fr-FR", "040D": "he-IL", "040E": "hu-HU",
    "0410": "it-IT", "0411": "ja-JP", "0412": "ko-KR", "0413": "nl-NL", "0414": "nb-NO", "0415": "pl-PL",
    "0416": "pt-BR", "0418": "ro-RO", "0419": "ru-RU", "041A": "hr-HR", "041B": "sk-SK", "041D": "sv-SE",
    "041E": "th-TH", "041F": "tr-TR", "0422": "uk-UA", "0424": "sl-SI", "0425": "et-EE", "0426": "lv-LV",
    "0427": "lt-LT", "0804": "zh-CN", "0807": "de-CH", "0809": "en-GB", "080A": "es-MX", "0816": "pt-PT",
    "0C07": "de-AT", "0C0A": "es-ES", "0C0C": "fr-CA", "1009": "en-CA", "0C09": "en-AU",
}

# Services whose presence shows a role (the service key exists once the role is installed).
ROLE_SERVICES = (
    ("vmms", "Hyper-V"),
    ("IAS", "NPAS"),
    ("NTDS", "AD-Domain-Services"),
    ("CertSvc", "ADCS-Cert-Authority"),
    ("DHCPServer", "DHCP"),
    ("WsusService", "UpdateServices"),
    ("WDSServer", "WDS"),
    ("DNS", "DNS"),
    ("ADWS", "AD-Domain-Services"),
)
# Guest integration software, by the service it installs.
GUEST_TOOL_SERVICES = (
    ("VMTools", "VMware Tools"),
    ("QEMU-GA", "QEMU guest agent"),
    ("VBoxService", "VirtualBox Guest Additions"),
    ("xenagent", "Citrix/XenServer VM tools"),
    ("XenSvc", "Citrix/XenServer VM tools"),
    ("prl_tools", "Parallels Tools"),
)
HYPERVISOR_SIGNATURES = (
    ("vmware", "vmware"), ("virtualbox", "virtualbox"), ("innotek", "virtualbox"), ("qemu", "kvm"),
    ("kvm", "kvm"), ("xen", "xen"), ("bochs", "kvm"), ("parallels", "other"),
    ("microsoft corporation virtual machine", "hyperv"), ("virtual machine", "hyperv"),
)

OFFLINE_UNAVAILABLE = {
    "bitlocker.protection_status":
        "BitLocker protectors are managed by the running system; offline only the volume header is seen "
        "(bitlocker.encrypted_offline and volume_status tell whether the volume is encrypted)",
    "licensing.remaining_rearm_count":
        "kept in the Software Protection Platform's encrypted store, readable only by the running licensing "
        "service (slmgr /dlv); check it on the reference machine with winimage.generalize.readiness_facts",
    "licensing.license_status":
        "known only to the running Software Protection service",
    "setup.sysprep_running": "no process runs in an image that is not booted",
    "hyperv.hypervisor_launch_type":
        "stored in the BCD store on the system (EFI) partition, for the boot entry chosen at start-up",
    "connection.user": "no session: the image was read from a file, nobody is logged on",
    "connection.sid": "no session: the image was read from a file, nobody is logged on",
    "connection.is_domain_account": "no session: the image was read from a file, nobody is logged on",
    "connection.is_local_administrator": "no session: the image was read from a file, nobody is logged on",
    "connection.authentication": "no session: the image was read from a file, nobody is logged on",
}
WIM_UNAVAILABLE = {
    "disk.free_bytes": "a WIM holds files, not a volume: free space belongs to the disk it is applied to",
    "disk.size_bytes": "a WIM holds files, not a volume: the size belongs to the disk it is applied to",
    "bitlocker.volume_status": "a WIM holds files, not a volume; BitLocker encrypts volumes",
    "bitlocker.encryption_percentage": "a WIM holds files, not a volume; BitLocker encrypts volumes",
}
HYPERV_UNAVAILABLE = (
    "virtual machine and switch configuration belongs to the Hyper-V management service (binary .vmcx "
    "files and WMI); read it on the running host with winimage.generalize.readiness_facts")


class GatherContext(object):
    """Everything the section probes share: the files, the opened hives and their problems."""

    def __init__(self, files, workdir, volume=None):
        self.files = files
        self.workdir = workdir
        self.volume = volume
        self.windows_dir = files.windows_dir
        self.hives = {}
        self.hive_problems = {}
        self.notes = []
        self.control_set = None
        self.machine_sid = None
        self.sam_names = {}

    def win(self, path):
        return path.replace("{W}", self.windows_dir)

    def hive(self, name):
        return self.hives.get(name)

    def hive_path(self, name):
        return "%s/System32/config/%s" % (self.windows_dir, name)


class SectionError(Exception):
    """A section cannot be probed; the message is what goes to facts.errors."""


# --------------------------------------------------------------------------- entry point

def prefetch_patterns(windows_dir):
    """Every path the gatherer may read (for a WIM, extracted in one wimlib call)."""
    w = windows_dir
    patterns = ["%s/System32/config/%s" % (w, name) for name in HIVES]
    patterns += ["%s/Setup/State/State.ini" % w, "%s/WinSxS/pending.xml" % w, "%s/System32/ias/ias.xml" % w,
                 "%s/System32/Sysprep/Sysprep_succeeded.tag" % w]
    for directory in PANTHER_DIRECTORIES:
        for name in ("setupact.log", "setuperr.log"):
            patterns.append(directory.replace("{W}", w) + "/" + name)
    patterns += [p.replace("{W}", w) for p in ANSWER_FILE_PATHS]
    patterns += [d.replace("{W}", w) + "/*.xml" for d in ANSWER_FILE_DIRECTORIES]
    patterns += [STATE_REPOSITORY, STATE_REPOSITORY + "-wal", STATE_REPOSITORY + "-shm"]
    return patterns


def gather_facts(files, source=None, gathered_at=None, volume=None, workdir=None, extra_gatherer=None):
    """(facts, notes, panther_findings) for the Windows installation behind ``files``."""
    own_workdir = workdir is None
    workdir = workdir or tempfile.mkdtemp(prefix="winimage-facts-")
    try:
        ctx = GatherContext(files, workdir, volume)
        facts = facts_schema.empty_facts("offline", GATHERER_NAME, source=source, gathered_at=gathered_at)
        if extra_gatherer:
            facts["gatherer"].update(extra_gatherer)
        facts["unavailable"].update(OFFLINE_UNAVAILABLE)
        if files.kind == "wim":
            facts["unavailable"].update(WIM_UNAVAILABLE)
        _open_hives(ctx)
        for section, probe, hives in SECTION_PROBES:
            _run_probe(ctx, facts, section, probe, hives)
        panther_findings = _panther(ctx)
        facts["gatherer"]["notes"] = list(ctx.notes)
        return facts, list(ctx.notes), panther_findings
    finally:
        if own_workdir:
            shutil.rmtree(workdir, ignore_errors=True)


def _run_probe(ctx, facts, section, probe, hives):
    problems = [ctx.hive_problems[name] for name in hives if name in ctx.hive_problems]
    try:
        probe(ctx, facts[section], facts)
    except (SectionError, HiveError) as error:
        problems.append(str(error))
    except Exception as error:  # a damaged hive can make any parser fail; keep the others going
        problems.append("unexpected %s while reading %s facts: %s" % (type(error).__name__, section, error))
    if problems:
        facts["errors"][section] = "; ".join(_unique(problems))


def _unique(items):
    seen = []
    for item in items:
        if item not in seen:
            seen.append(item)
    return seen


# --------------------------------------------------------------------------- hives

def _open_hives(ctx):
    for name in HIVES:
        path = ctx.hive_path(name)
        label = "%s hive (%s)" % (name, path)
        local = os.path.join(ctx.workdir, name)
        try:
            size = ctx.files.size(path)
            if size is not None and size > MAX_HIVE_BYTES:
                ctx.hive_problems[name] = "%s is %d bytes, more than the %d this reader loads" % (
                    label, size, MAX_HIVE_BYTES)
                continue
            present = ctx.files.materialize(path, local)
        except Exception as error:
            ctx.hive_problems[name] = "%s cannot be read from the image: %s" % (label, error)
            continue
        if not present:
            ctx.hive_problems[name] = "%s is missing from the image" % label
            continue
        try:
            hive = Hive(local, label)
        except HiveError as error:
            ctx.hive_problems[name] = str(error)
            continue
        ctx.hives[name] = hive
        if hive.damage:
            ctx.hive_problems[name] = "%s is damaged: %s; values were read where possible" % (label, hive.damage)
        if hive.dirty:
            ctx.notes.append(
                "%s is dirty (sequence numbers %d/%d): Windows had changes not yet written to it, and its "
                "transaction logs (.LOG1/.LOG2) are not replayed by this reader, so the newest changes may be "
                "missing" % (label, hive.sequence[0], hive.sequence[1]))
    system = ctx.hive("SYSTEM")
    if system is not None:
        try:
            ctx.control_set = _current_control_set(system)
        except HiveError as error:
            ctx.hive_problems["SYSTEM"] = str(error)
    _read_identities(ctx)


def _current_control_set(system):
    """'ControlSet00N' named by Select\\Current (what CurrentControlSet links to at boot)."""
    current = system.value("Select", "Current")
    if isinstance(current, int) and current > 0:
        name = "ControlSet%03d" % current
        if system.has_key(name):
            return name
    for fallback in ("ControlSet001", "ControlSet002"):
        if system.has_key(fallback):
            return fallback
    raise HiveError("%s: no ControlSet00N key (Select\\Current is %r)" % (system.label, current))


def _cs(ctx, path):
    if ctx.control_set is None:
        raise SectionError(ctx.hive_problems.get("SYSTEM") or "SYSTEM hive has no usable control set")
    return ctx.control_set + "\\" + path


def _read_identities(ctx):
    """Machine SID (SECURITY PolAcDmS) and local account names by RID (SAM), for profiles and Appx."""
    security = ctx.hive("SECURITY")
    if security is not None:
        try:
            ctx.machine_sid = sid_to_string(security.value("Policy\\PolAcDmS", ""))
        except HiveError:
            pass
    sam = ctx.hive("SAM")
    if sam is not None:
        try:
            names = sam.subkeys("SAM\\Domains\\Account\\Users\\Names") or []
            for name in names:
                raw = sam.raw_values("SAM\\Domains\\Account\\Users\\Names\\" + name) or {}
                # The unnamed value's *type* field is the account's RID.
                for value_name, (value_type, _data) in raw.items():
                    if value_name == "":
                        ctx.sam_names[value_type] = name
        except HiveError:
            pass


def _require(ctx, name):
    hive = ctx.hive(name)
    if hive is None:
        raise SectionError(ctx.hive_problems.get(name, "%s hive is missing" % name))
    return hive


# --------------------------------------------------------------------------- os

def probe_os(ctx, section, facts):
    software = ctx.hive("SOFTWARE")
    system = ctx.hive("SYSTEM")
    if software is not None:
        current = software.values(CURRENT_VERSION) or {}
        section["product_name"] = _text(current.get("ProductName"))
        section["edition_id"] = _text(current.get("EditionID"))
        section["installation_type"] = _text(current.get("InstallationType"))
        section["build"] = _integer(current.get("CurrentBuildNumber") or current.get("CurrentBuild"))
        section["ubr"] = _integer(current.get("UBR"))
        section["display_version"] = _text(current.get("DisplayVersion")) or _text(current.get("ReleaseId"))
        major, minor = current.get("CurrentMajorVersionNumber"), current.get("CurrentMinorVersionNumber")
        if isinstance(major, int) and isinstance(minor, int):
            section["version"] = "%d.%d" % (major, minor)
        else:
            # CurrentVersion is frozen at 6.3 from Windows 8.1 on; trust it only below build 10000.
            version = _text(current.get("CurrentVersion"))
            if version and (section["build"] is None or section["build"] < 10000):
                section["version"] = version
        section["system_root"] = _text(current.get("SystemRoot"))
        if section["build"] and section["build"] >= 22000 and (section["product_name"] or "").startswith(
                "Windows 10") and section["installation_type"] == "Client":
            ctx.notes.append("ProductName says %r but build %d is Windows 11 (Windows 11 kept the Windows 10 "
                             "ProductName in the registry)" % (section["product_name"], section["build"]))
    if section["system_root"] is None:
        section["system_root"] = "C:\\" + ctx.windows_dir
    if system is not None and ctx.control_set:
        architecture = _text(system.value(_cs(ctx, "Control\\Session Manager\\Environment"),
                                          "PROCESSOR_ARCHITECTURE"))
        section["architecture"] = ARCHITECTURES.get((architecture or "").lower())
        section["product_type"] = _text(system.value(_cs(ctx, "Control\\ProductOptions"), "ProductType"))
        section["computer_name"] = _text(system.value(_cs(ctx, "Control\\ComputerName\\ComputerName"),
                                                      "ComputerName"))
        section["language"] = _language(ctx, system)
    if section["computer_name"] is None and ctx.hive("SECURITY") is not None:
        # The LSA account domain of a machine is its computer name (SECURITY Policy\PolAcDmN).
        section["computer_name"] = unicode_string(ctx.hive("SECURITY").value("Policy\\PolAcDmN", "")) or None
        if section["computer_name"]:
            ctx.notes.append("computer name read from the SECURITY hive (PolAcDmN): SYSTEM could not be read")
    missing = [name for name in ("SOFTWARE", "SYSTEM") if ctx.hive(name) is None]
    if missing:
        raise SectionError("; ".join(ctx.hive_problems.get(name, name) for name in missing))


def _language(ctx, system):
    nls = system.values(_cs(ctx, "Control\\Nls\\Language")) or {}
    lcid = _text(nls.get("InstallLanguage")) or _text(nls.get("Default"))
    ui_languages = system.subkeys(_cs(ctx, "Control\\MUI\\UILanguages")) or []
    if len(ui_languages) == 1:
        return ui_languages[0]
    for culture in ui_languages:
        value = system.value(_cs(ctx, "Control\\MUI\\UILanguages\\" + culture), "LCID")
        if isinstance(value, int) and lcid and "%04X" % value == lcid.upper():
            return culture
    if lcid:
        culture = LCID_CULTURES.get(lcid.upper())
        if culture is None:
            ctx.notes.append("installation language LCID %s has no culture name in this reader's table" % lcid)
        return culture
    return None


# --------------------------------------------------------------------------- domain

def probe_domain(ctx, section, facts):
    security = ctx.hive("SECURITY")
    system = ctx.hive("SYSTEM")
    tcpip_domain = None
    if system is not None and ctx.control_set:
        tcpip = system.values(_cs(ctx, "Services\\Tcpip\\Parameters")) or {}
        tcpip_domain = _text(tcpip.get("NV Domain")) or _text(tcpip.get("Domain")) or None
        section["site_name"] = _text(system.value(_cs(ctx, "Services\\Netlogon\\Parameters"), "DynamicSiteName"))
    product_type = facts["os"].get("product_type")
    if security is not None:
        if not security.has_key("Policy\\PolPrDmS"):
            raise SectionError("%s has no Policy\\PolPrDmS key: the LSA policy is missing or damaged, so domain "
                               "membership is unknown" % security.label)
        primary_name = unicode_string(security.value("Policy\\PolPrDmN", ""))
        domain_sid = sid_to_string(security.value("Policy\\PolPrDmS", ""))
        dns_domain = unicode_string(security.value("Policy\\PolDnDDN", ""))
        joined = domain_sid is not None
        section["joined"] = joined
        section["domain_sid"] = domain_sid
        section["netbios_domain"] = primary_name or None
        section["workgroup"] = None if joined else (primary_name or None)
        section["dns_domain"] = (dns_domain or tcpip_domain) if joined else None
        if not joined and tcpip_domain:
            ctx.notes.append("the machine is in a workgroup but has the primary DNS suffix %r (Tcpip Domain)"
                             % tcpip_domain)
    else:
        # Without SECURITY: a cached AD site proves membership; no suffix and no site means workgroup.
        section["dns_domain"] = tcpip_domain
        if section["site_name"]:
            section["joined"] = True
        elif system is not None and ctx.control_set and not tcpip_domain:
            section["joined"] = False
        if section["joined"] is not None:
            ctx.notes.append("domain membership inferred from the SYSTEM hive (Tcpip Domain and Netlogon "
                             "DynamicSiteName) because the SECURITY hive could not be read")
    section["role"] = _domain_role(product_type, section["joined"])
    if product_type == "LanmanNT":
        section["is_domain_controller"] = True
        facts["unavailable"]["domain.role"] = (
            "a domain controller's role (primary or backup) depends on which DC holds the PDC emulator "
            "role, which only the running domain knows")
    if security is None or system is None:
        raise SectionError("; ".join(ctx.hive_problems.get(name, name) for name in ("SECURITY", "SYSTEM")
                                     if ctx.hive(name) is None))


def _domain_role(product_type, joined):
    if joined is None or product_type not in ("WinNT", "ServerNT"):
        return None
    kind = "workstation" if product_type == "WinNT" else "server"
    return ("member_" if joined else "standalone_") + kind


# --------------------------------------------------------------------------- pending

def probe_pending(ctx, section, facts):
    software = ctx.hive("SOFTWARE")
    system = ctx.hive("SYSTEM")
    if software is not None:
        section["cbs_reboot_pending"] = software.has_key(CBS + "\\RebootPending")
        section["cbs_packages_pending"] = software.has_key(CBS + "\\PackagesPending")
        section["windows_update_reboot_required"] = software.has_key(
            WINDOWS_CURRENT_VERSION + "\\WindowsUpdate\\Auto Update\\RebootRequired")
        sessions = software.values(CBS + "\\SessionsPending") or {}
        sessions_open = any(isinstance(sessions.get(n), int) and sessions.get(n) > 0
                            for n in ("Exclusive", "TotalSessionPhases"))
        pending_xml = ctx.files.exists(ctx.win("{W}/WinSxS/pending.xml"))
        section["cbs_operations_in_progress"] = bool(sessions_open or pending_xml)
    if system is not None and ctx.control_set:
        section["file_rename_operations"] = _pending_renames(ctx, system)
        section["computer_rename_pending"] = _computer_rename_pending(ctx, system)
    _raise_missing(ctx, ("SOFTWARE", "SYSTEM"))


def _pending_renames(ctx, system):
    """Source/target pairs in PendingFileRenameOperations(2), counted from the raw REG_MULTI_SZ."""
    total = 0
    for name in ("PendingFileRenameOperations", "PendingFileRenameOperations2"):
        item = system.raw_value(_cs(ctx, "Control\\Session Manager"), name)
        if item is None:
            continue
        value_type, raw = item
        strings = multi_sz_strings(raw) if value_type == REG_MULTI_SZ else [decode_value(value_type, raw)]
        total += (len(strings) + 1) // 2
    return total


def _computer_rename_pending(ctx, system):
    active = _text(system.value(_cs(ctx, "Control\\ComputerName\\ActiveComputerName"), "ComputerName"))
    configured = _text(system.value(_cs(ctx, "Control\\ComputerName\\ComputerName"), "ComputerName"))
    if active and configured:
        return active.lower() != configured.lower()
    # ActiveComputerName is volatile (never saved): compare the host name Tcpip uses now with the
    # one it will use after the restart.
    tcpip = system.values(_cs(ctx, "Services\\Tcpip\\Parameters")) or {}
    current, pending = _text(tcpip.get("Hostname")), _text(tcpip.get("NV Hostname"))
    if current and pending:
        return current.lower() != pending.lower()
    return None


def _raise_missing(ctx, names):
    missing = [name for name in names if ctx.hive(name) is None]
    if missing:
        raise SectionError("; ".join(ctx.hive_problems.get(name, "%s hive is missing" % name) for name in missing))


# --------------------------------------------------------------------------- bitlocker / disk

def probe_bitlocker(ctx, section, facts):
    section["os_volume"] = _system_drive(facts)
    # An image whose volume starts with -FVE-FS- never gets here (it cannot be read); a readable
    # NTFS volume or a WIM holds no BitLocker encryption.
    section["encrypted_offline"] = False
    if ctx.files.kind != "wim":
        section["volume_status"] = "fully_decrypted"
        section["encryption_percentage"] = 0


def _system_drive(facts):
    root = facts["os"].get("system_root") or "C:\\Windows"
    match = re.match(r"^([A-Za-z]:)", root)
    return match.group(1).upper() if match else "C:"


def probe_disk(ctx, section, facts):
    section["system_drive"] = _system_drive(facts)
    for field, name in MEMORY_FILES:
        section[field] = ctx.files.exists(name)
    if ctx.volume is not None:
        section["size_bytes"] = ctx.volume.size_bytes
        section["free_bytes"] = ctx.volume.free_bytes()
        if ctx.volume.is_dirty():
            ctx.notes.append("the NTFS volume is marked dirty (Windows did not shut down cleanly, or it is "
                             "hibernated / Fast Startup): files may be missing their last changes")


# --------------------------------------------------------------------------- appx

def probe_appx(ctx, section, facts):
    software = _require(ctx, "SOFTWARE")
    section["store_auto_download"] = _integer(software.value("Policies\\Microsoft\\WindowsStore", "AutoDownload"))
    store_present = software.has_key(APPX_STORE)
    provisioned = []
    for full_name in software.subkeys(APPX_STORE + "\\Applications") or []:
        parts = full_name.split("_")
        provisioned.append({
            "display_name": parts[0],
            "package_name": full_name,
            "version": parts[1] if len(parts) == 5 else None,
        })
    section["provisioned"] = sorted(provisioned, key=lambda p: p["package_name"].lower())
    deprovisioned = software.subkeys(APPX_STORE + "\\Deprovisioned") or []
    if deprovisioned:
        ctx.notes.append("%d Appx package families are deprovisioned (AppxAllUserStore\\Deprovisioned)"
                         % len(deprovisioned))
    database = _state_repository_packages(ctx)
    if database is not None:
        section["packages"] = database
        return
    build = facts["os"].get("build")
    if isinstance(build, int) and build >= 10240 and store_present:
        ctx.notes.append("the Appx state repository (%s) is missing: per-user packages were read from the "
                         "registry (AppxAllUserStore\\<SID>) instead" % STATE_REPOSITORY)
    section["packages"] = _registry_user_packages(ctx, software)


def _state_repository_packages(ctx):
    """Packages registered for users, from StateRepository-Machine.srd (None when absent)."""
    path = STATE_REPOSITORY
    if not ctx.files.exists(path):
        return None
    scratch = os.path.join(ctx.workdir, "appx")
    os.makedirs(scratch, exist_ok=True)
    local = os.path.join(scratch, "StateRepository-Machine.srd")
    try:
        _copy_limited(ctx, path, local, MAX_DATABASE_BYTES)
        # Pending writes live in the -wal file next to it: copy it too so SQLite applies them to
        # this scratch copy (the image itself is never opened by SQLite).
        _copy_limited(ctx, path + "-wal", local + "-wal", MAX_DATABASE_BYTES)
    except Exception as error:
        raise SectionError("Appx state repository (%s) cannot be read from the image: %s" % (path, error))
    try:
        return _query_state_repository(ctx, local)
    except sqlite3.Error as error:
        raise SectionError("Appx state repository (%s) is not a readable SQLite database: %s" % (path, error))


def _copy_limited(ctx, path, destination, limit):
    size = ctx.files.size(path)
    if size is None:
        return False
    if size > limit:
        raise SectionError("%s is %d bytes, more than the %d this reader copies" % (path, size, limit))
    return ctx.files.materialize(path, destination)


def _columns(connection, table):
    return set(row[1] for row in connection.execute("PRAGMA table_info(%s)" % table))


def _query_state_repository(ctx, local):
    uri = "file:%s?mode=ro" % local
    connection = sqlite3.connect(uri, uri=True)
    try:
        package_columns = _columns(connection, "Package")
        family_columns = _columns(connection, "PackageFamily")
        if not package_columns or not _columns(connection, "PackageUser"):
            raise sqlite3.DatabaseError("no Package/PackageUser tables")
        optional = [c for c in ("IsInbox", "IsFramework", "Flags") if c in package_columns]
        family_name = "f.Name" if "Name" in family_columns else "NULL"
        rows = connection.execute(
            "SELECT p._PackageID, p.PackageFullName, p.Version, p.Architecture, %s %s "
            "FROM Package p LEFT JOIN PackageFamily f ON f._PackageFamilyID = p.PackageFamily"
            % (family_name, "".join(", p." + c for c in optional))).fetchall()
        users = dict(connection.execute("SELECT _UserID, UserSid FROM User").fetchall())
        registrations = {}
        for package_id, user_id in connection.execute("SELECT Package, User FROM PackageUser"):
            registrations.setdefault(package_id, []).append(user_id)
    finally:
        connection.close()
    packages = []
    for row in rows:
        package_id, full_name, version, architecture, name = row[:5]
        extra = dict(zip(optional, row[5:]))
        user_ids = registrations.get(package_id)
        if not user_ids:
            continue  # staged only: sysprep removes staged packages itself
        packages.append({
            "name": name or (full_name or "").split("_")[0],
            "package_full_name": full_name,
            "version": _packed_version(version),
            "architecture": APPX_ARCHITECTURES.get(architecture) if isinstance(architecture, int) else None,
            "users": [_appx_user(ctx, users.get(user_id)) for user_id in user_ids],
            "is_framework": bool(extra["IsFramework"]) if "IsFramework" in extra else None,
            "non_removable": None,
            "signature_kind": SIGNATURE_KIND_SYSTEM if extra.get("IsInbox") else None,
        })
    return sorted(packages, key=lambda p: (p["package_full_name"] or "").lower())


def _packed_version(value):
    """The repository's 64-bit version (four 16-bit parts) -> 'a.b.c.d'."""
    if isinstance(value, int):
        return ".".join(str((value >> shift) & 0xFFFF) for shift in (48, 32, 16, 0))
    return str(value) if value is not None else None


def _appx_user(ctx, stored_sid):
    if isinstance(stored_sid, (bytes, bytearray, memoryview)):
        sid = sid_to_string(bytes(stored_sid))
    else:
        sid = str(stored_sid) if stored_sid else None
    return {"sid": sid, "username": _username_for_sid(ctx, sid), "install_state": "Installed"}


def _registry_user_packages(ctx, software):
    """Per-user registrations from AppxAllUserStore\\<SID>\\<full name> (Windows 8 / 8.1 layout)."""
    packages = {}
    for key in software.subkeys(APPX_STORE) or []:
        if not key.upper().startswith("S-1-"):
            continue
        for full_name in software.subkeys(APPX_STORE + "\\" + key) or []:
            parts = full_name.split("_")
            entry = packages.setdefault(full_name, {
                "name": parts[0], "package_full_name": full_name,
                "version": parts[1] if len(parts) == 5 else None,
                "architecture": parts[2] if len(parts) == 5 else None, "users": [],
                "is_framework": None, "non_removable": None, "signature_kind": None,
            })
            entry["users"].append({"sid": key, "username": _username_for_sid(ctx, key), "install_state": "Installed"})
    return sorted(packages.values(), key=lambda p: p["package_full_name"].lower())


def _username_for_sid(ctx, sid):
    if not sid:
        return None
    if ctx.machine_sid and sid.startswith(ctx.machine_sid + "-"):
        rid = _integer(sid.rsplit("-", 1)[-1])
        if rid in ctx.sam_names:
            return ctx.sam_names[rid]
    return _profile_leaf(ctx, sid)


def _profile_leaf(ctx, sid):
    software = ctx.hive("SOFTWARE")
    if software is None:
        return None
    try:
        path = _text(software.value(CURRENT_VERSION + "\\ProfileList\\" + sid, "ProfileImagePath"))
    except HiveError:
        return None
    return re.split(r"[\\/]", path.rstrip("\\/"))[-1] if path else None


# --------------------------------------------------------------------------- licensing

def probe_licensing(ctx, section, facts):
    software = _require(ctx, "SOFTWARE")
    key = CURRENT_VERSION + "\\SoftwareProtectionPlatform"
    value = software.value(key, "SkipRearm")
    if value is None and software.has_key(key):
        value = 0  # not set means the default: rearm
    section["skip_rearm"] = _integer(value)


# --------------------------------------------------------------------------- setup

def probe_setup(ctx, section, facts):
    system = ctx.hive("SYSTEM")
    software = ctx.hive("SOFTWARE")
    state_ini = _image_state_from_ini(ctx)
    registry_state = None
    if software is not None:
        registry_state = _text(software.value(WINDOWS_CURRENT_VERSION + "\\Setup\\State", "ImageState"))
    section["image_state"] = state_ini or registry_state
    if state_ini and registry_state and state_ini != registry_state:
        ctx.notes.append("State.ini says %s but the SOFTWARE hive says %s; State.ini was used"
                         % (state_ini, registry_state))
    if system is not None:
        setup = system.values("Setup")
        if setup is None:
            raise SectionError("%s has no Setup key" % system.label)
        status = system.values("Setup\\Status\\SysprepStatus") or {}
        section["generalization_state"] = _integer(status.get("GeneralizationState"))
        section["cleanup_state"] = _integer(status.get("CleanupState"))
        section["system_setup_in_progress"] = _flag(setup.get("SystemSetupInProgress"))
        section["oobe_in_progress"] = _flag(setup.get("OOBEInProgress"))
        audit = _flag(setup.get("AuditInProgress"))
        section["audit_mode"] = bool(audit or section["image_state"] == IMAGE_STATE_SPECIALIZE_RESEAL_TO_AUDIT)
        history = _upgrade_history(system)
        section["upgrade_history"] = [entry for _when, entry in history]
        section["upgraded"] = bool(history) or _flag(setup.get("Upgrade")) is True
    if ctx.files.exists(ctx.win("{W}/System32/Sysprep/Sysprep_succeeded.tag")):
        ctx.notes.append("Sysprep_succeeded.tag is present: the last sysprep run completed")
    problems = []
    if system is None:
        problems.append(ctx.hive_problems.get("SYSTEM", "SYSTEM hive is missing"))
    if section["image_state"] is None:
        problems.append("ImageState was found neither in %s nor in the SOFTWARE hive"
                        % ctx.win("{W}/Setup/State/State.ini"))
    if problems:
        raise SectionError("; ".join(problems))


def _image_state_from_ini(ctx):
    path = ctx.win("{W}/Setup/State/State.ini")
    try:
        data = ctx.files.read(path, MAX_TEXT_BYTES)
    except Exception as error:
        ctx.notes.append("%s cannot be read: %s" % (path, error))
        return None
    if data is None:
        return None
    text = _decode_text(data)
    section = None
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1].strip().lower()
        elif "=" in line and section == "state":
            key, _separator, value = line.partition("=")
            if key.strip().lower() == "imagestate":
                return value.strip() or None
    return None


_SOURCE_OS = re.compile(r"^Source OS \(Updated on (\d+)/(\d+)/(\d+) (\d+):(\d+):(\d+)\)$", re.IGNORECASE)


def _upgrade_history(system):
    """[(sort key, description)] of the 'Source OS (Updated on ...)' keys, oldest first."""
    entries = []
    for name in system.subkeys("Setup") or []:
        match = _SOURCE_OS.match(name)
        if not match:
            continue
        month, day, year, hour, minute, second = (int(g) for g in match.groups())
        values = system.values("Setup\\" + name) or {}
        product = _text(values.get("ProductName")) or "Windows"
        release = _text(values.get("DisplayVersion")) or _text(values.get("ReleaseId"))
        build = _text(values.get("CurrentBuildNumber")) or _text(values.get("CurrentBuild"))
        ubr = _integer(values.get("UBR"))
        description = product + (" " + release if release else "")
        if build:
            description += " (build %s%s)" % (build, ".%d" % ubr if ubr is not None else "")
        entries.append(((year, month, day, hour, minute, second), description))
    return sorted(entries)


# --------------------------------------------------------------------------- roles and Hyper-V

def probe_roles(ctx, section, facts):
    software = ctx.hive("SOFTWARE")
    system = ctx.hive("SYSTEM")
    installed = set()
    cache_seen = False
    if software is not None:
        features = software.subkeys(SERVER_COMPONENT_CACHE)
        if features is not None:
            cache_seen = True
            for feature in features:
                if software.value(SERVER_COMPONENT_CACHE + "\\" + feature, "InstallState") == 1:
                    installed.add(feature)
    if system is not None and ctx.control_set:
        for service, feature in ROLE_SERVICES:
            if system.has_key(_cs(ctx, "Services\\" + service)):
                installed.add(feature)
    if facts["os"].get("product_type") == "LanmanNT":
        installed.add("AD-Domain-Services")  # ProductType LanmanNT is what promotion to a DC sets
    if system is None and not cache_seen:
        _raise_missing(ctx, ("SYSTEM",))
    section["installed"] = sorted(installed, key=str.lower)
    lowered = set(name.lower() for name in installed)
    section["hyperv"] = "hyper-v" in lowered
    section["nps"] = bool(lowered & {"npas", "npas-policy-server"})
    if not section["nps"]:
        section["nps_radius_clients"] = 0
        section["nps_remote_server_groups"] = 0
    else:
        _nps_configuration(ctx, section)
    if not cache_seen and facts["os"].get("installation_type") not in (None, "Client"):
        ctx.notes.append("Server Manager's feature cache (ServerComponentCache) is absent: installed roles were "
                         "recognised from their services only")
    _raise_missing(ctx, ("SYSTEM", "SOFTWARE"))


def _nps_configuration(ctx, section):
    """RADIUS clients and remote server groups from the NPS configuration file (ias.xml)."""
    path = ctx.win("{W}/System32/ias/ias.xml")
    data = ctx.files.read(path, MAX_TEXT_BYTES)
    if data is None:
        raise SectionError("NPS is installed but its configuration %s is missing" % path)
    try:
        root = ET.fromstring(data)
    except ET.ParseError as error:
        raise SectionError("NPS configuration %s is not valid XML: %s" % (path, error))
    section["nps_radius_clients"] = _count_children(root, "Clients")
    section["nps_remote_server_groups"] = _count_children(root, "RadiusServerGroups")


def _count_children(root, container):
    """Entries under <container><Children>...</Children></container> anywhere in ias.xml."""
    total = 0
    for element in root.iter(container):
        children = element.find("Children")
        if children is not None:
            total += len(list(children))
    return total


def probe_hyperv(ctx, section, facts):
    hyperv = facts["roles"].get("hyperv")
    if hyperv is False:
        section["vms"] = []
        section["switches"] = []
    elif hyperv:
        facts["unavailable"]["hyperv.vms"] = HYPERV_UNAVAILABLE
        facts["unavailable"]["hyperv.switches"] = HYPERV_UNAVAILABLE
    software = _require(ctx, "SOFTWARE")
    virtualization = software.values(CURRENT_VERSION + "\\Virtualization") or {}
    section["mac_address_minimum"] = _mac(virtualization.get("MacAddressMinimum"))
    section["mac_address_maximum"] = _mac(virtualization.get("MacAddressMaximum"))


def _mac(value):
    """A MAC range bound as Get-VMHost prints it ('00155D012300'), from REG_BINARY."""
    if isinstance(value, (bytes, bytearray)) and len(value) >= 6:
        return "".join("%02X" % b for b in value[:6])
    if isinstance(value, str) and value:
        return value.replace("-", "").replace(":", "").upper()
    return None


# --------------------------------------------------------------------------- answer files

PASSWORD_ELEMENT = re.compile(r"password$", re.IGNORECASE)


def probe_answer_files(ctx, section, facts):
    found = []
    problems = []
    for path in _answer_file_candidates(ctx):
        try:
            data = ctx.files.read(path, MAX_TEXT_BYTES)
        except Exception as error:
            problems.append("%s cannot be read: %s" % (path, error))
            found.append({"path": _windows_path(facts, path), "contains_password": None,
                          "password_elements": [], "autologon": None})
            continue
        if data is None:
            continue
        entry = inspect_answer_file(data)
        entry["path"] = _windows_path(facts, path)
        found.append(entry)
    section["files"] = found
    if problems:
        raise SectionError("; ".join(problems))


def _answer_file_candidates(ctx):
    candidates = [ctx.win(p) for p in ANSWER_FILE_PATHS]
    for directory in ANSWER_FILE_DIRECTORIES:
        directory = ctx.win(directory)
        for name in sorted(ctx.files.listdir(directory) or [], key=str.lower):
            if name.lower().endswith(".xml"):
                candidates.append(directory + "/" + name)
    unique = []
    for path in candidates:
        if path.lower() not in [u.lower() for u in unique]:
            unique.append(path)
    return unique


def _windows_path(facts, path):
    return "%s\\%s" % (_system_drive(facts), path.replace("/", "\\"))


def _local(tag):
    return tag.rsplit("}", 1)[-1]


def inspect_answer_file(data):
    """{'contains_password', 'password_elements', 'autologon', ...} of an answer file. Never values.

    A password element (Password, AdministratorPassword, MachinePassword ...) counts when its
    <Value> child, or its own text when it has no <Value>, is not empty; PlainText=false
    ("hidden") is only base64, so it counts too. Element paths read
    pass/component/Element/.../Leaf, like unattend.describe_answer_file.
    """
    try:
        root = ET.fromstring(data)
    except ET.ParseError as error:
        return _inspect_unparsable(data, error)
    elements = []
    hidden = False
    autologon = None
    for settings in root.iter():
        if _local(settings.tag) != "settings":
            continue
        pass_name = settings.get("pass", "")
        for component in settings:
            prefix = "%s/%s" % (pass_name, component.get("name", _local(component.tag)))
            for path, element in _walk(component, prefix):
                name = _local(element.tag)
                if name == "AutoLogon":
                    enabled = _child_text(element, "Enabled")
                    autologon = bool(autologon) or (enabled or "true").strip().lower() == "true"
                if not PASSWORD_ELEMENT.search(name) or _local(element.tag) == "PlainText":
                    continue
                value = _child(element, "Value")
                text = (value.text if value is not None else element.text) or ""
                if text.strip():
                    elements.append(path)
                    if (_child_text(element, "PlainText") or "").strip().lower() == "false":
                        hidden = True
    return {"contains_password": bool(elements), "password_elements": sorted(set(elements)),
            "autologon": autologon, "hidden_passwords": hidden}


def _walk(element, prefix):
    for child in element:
        path = "%s/%s" % (prefix, _local(child.tag))
        yield path, child
        yield from _walk(child, path)


def _child(element, name):
    for child in element:
        if _local(child.tag) == name:
            return child
    return None


def _child_text(element, name):
    child = _child(element, name)
    return child.text if child is not None else None


_RAW_PASSWORD = re.compile(r"<(?:\w+:)?(\w*Password)\b[^>]*>\s*(?:<(?:\w+:)?Value\b[^>]*>)?\s*([^<\s])",
                           re.IGNORECASE)


def _inspect_unparsable(data, error):
    """Damaged XML: look for password elements with content in the raw text (names only)."""
    text = _decode_text(data)
    names = sorted(set(match.group(1) for match in _RAW_PASSWORD.finditer(text)))
    return {"contains_password": bool(names), "password_elements": names,
            "autologon": True if re.search(r"<(?:\w+:)?AutoLogon\b", text) else None,
            "hidden_passwords": None,
            "parse_error": "not well-formed XML (%s); scanned as text" % str(error).split(":", maxsplit=1)[0]}


# --------------------------------------------------------------------------- autologon and profiles

def probe_autologon(ctx, section, facts):
    software = _require(ctx, "SOFTWARE")
    raw = software.raw_values(CURRENT_VERSION + "\\Winlogon") or {}
    values = dict((name.lower(), item) for name, item in raw.items())

    def get(name):
        item = values.get(name.lower())
        return decode_value(*item) if item is not None else None

    enabled = get("AutoAdminLogon")
    section["enabled"] = _text(enabled) == "1" if isinstance(enabled, str) else (
        enabled == 1 if isinstance(enabled, int) else False)
    section["username"] = _text(get("DefaultUserName"))
    section["domain"] = _text(get("DefaultDomainName"))
    # Only whether a non-empty DefaultPassword exists; its bytes are never decoded.
    password = values.get("defaultpassword")
    section["password_stored"] = bool(password is not None and password[1].strip(b"\0"))
    section["logon_count"] = _integer(get("AutoLogonCount"))


SERVICE_PROFILE_SIDS = ("S-1-5-18", "S-1-5-19", "S-1-5-20")


def probe_profiles(ctx, section, facts):
    software = _require(ctx, "SOFTWARE")
    base = CURRENT_VERSION + "\\ProfileList"
    users = []
    for sid in software.subkeys(base) or []:
        if not sid.upper().startswith("S-1-") or sid.upper() in SERVICE_PROFILE_SIDS:
            continue
        path = _text(software.value(base + "\\" + sid, "ProfileImagePath"))
        plain_sid = sid.split(".", 1)[0]
        users.append({
            "sid": sid,
            "username": _username_for_sid(ctx, plain_sid) or (path and re.split(r"[\\/]", path.rstrip("\\/"))[-1]),
            "path": path,
            "is_builtin_administrator": plain_sid.endswith("-500") and (
                ctx.machine_sid is None or plain_sid.startswith(ctx.machine_sid + "-")),
        })
    section["users"] = sorted(users, key=lambda u: u["sid"])


# --------------------------------------------------------------------------- virtualization

def probe_virtualization(ctx, section, facts):
    system = _require(ctx, "SYSTEM")
    manufacturer = model = None
    for key in ("HardwareConfig\\Current", _cs(ctx, "Control\\SystemInformation")):
        values = system.values(key) or {}
        manufacturer = manufacturer or _text(values.get("SystemManufacturer"))
        model = model or _text(values.get("SystemProductName"))
    section["manufacturer"] = manufacturer
    section["model"] = model
    tools = []
    for service, label in GUEST_TOOL_SERVICES:
        if system.has_key(_cs(ctx, "Services\\" + service)) and label not in tools:
            tools.append(label)
    section["guest_tools"] = tools
    vendor = _hypervisor_vendor(manufacturer, model)
    if vendor is not None:
        section["hypervisor_vendor"] = vendor
        section["is_virtual"] = vendor != "none"
    else:
        reason = ("the image records no system manufacturer or model (SYSTEM\\HardwareConfig, "
                  "Control\\SystemInformation); the hardware is known while the machine runs")
        facts["unavailable"]["virtualization.is_virtual"] = reason
        facts["unavailable"]["virtualization.hypervisor_vendor"] = reason


def _hypervisor_vendor(manufacturer, model):
    if not manufacturer and not model:
        return None
    text = ("%s %s" % (manufacturer or "", model or "")).lower()
    for needle, vendor in HYPERVISOR_SIGNATURES:
        if needle in text:
            return vendor
    return "none"


# --------------------------------------------------------------------------- Panther logs

def _panther(ctx):
    """Sysprep-phase findings from the Panther logs (per log folder), or [] without the parser."""
    if panther_parser is None:
        ctx.notes.append("Panther log parser (module_utils.panther) is not available: logs were not analysed")
        return []
    findings = []
    for directory in PANTHER_DIRECTORIES:
        directory = ctx.win(directory)
        logs = []
        for name in ("setupact.log", "setuperr.log"):
            try:
                data = ctx.files.read(directory + "/" + name, MAX_LOG_BYTES, tail=True)
            except Exception as error:
                ctx.notes.append("%s/%s cannot be read: %s" % (directory, name, error))
                continue
            if data:
                logs.append(data)
        if not logs:
            continue
        try:
            for finding in panther_parser.parse_logs(logs):
                finding["log_directory"] = "C:\\" + directory.replace("/", "\\")
                findings.append(finding)
        except Exception as error:
            ctx.notes.append("the Panther logs in %s could not be analysed: %s" % (directory, error))
    return findings


# --------------------------------------------------------------------------- helpers

def _text(value):
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return value[0] if value else None
    return None


def _integer(value):
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def _flag(value):
    number = _integer(value)
    if number is None:
        return False if value is None else None
    return number != 0


def _decode_text(data):
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return data.decode("utf-16", errors="replace")
    if data[:3] == b"\xef\xbb\xbf":
        return data[3:].decode("utf-8", errors="replace")
    if len(data) >= 4 and data[1:2] == b"\0" and data[3:4] == b"\0":
        return data.decode("utf-16-le", errors="replace")
    return data.decode("utf-8", errors="replace")


# Section -> (probe, hives whose problems are reported with it). Order matters: later probes
# read facts of earlier ones (os before domain/bitlocker/disk, roles before hyperv).
SECTION_PROBES = (
    ("os", probe_os, ("SOFTWARE", "SYSTEM")),
    ("domain", probe_domain, ("SECURITY", "SYSTEM")),
    ("pending", probe_pending, ("SOFTWARE", "SYSTEM")),
    ("bitlocker", probe_bitlocker, ()),
    ("appx", probe_appx, ("SOFTWARE",)),
    ("licensing", probe_licensing, ("SOFTWARE",)),
    ("setup", probe_setup, ("SYSTEM",)),
    ("roles", probe_roles, ("SOFTWARE", "SYSTEM")),
    ("hyperv", probe_hyperv, ("SOFTWARE",)),
    ("answer_files", probe_answer_files, ()),
    ("autologon", probe_autologon, ("SOFTWARE",)),
    ("profiles", probe_profiles, ("SOFTWARE",)),
    ("disk", probe_disk, ()),
    ("virtualization", probe_virtualization, ("SYSTEM",)),
)
