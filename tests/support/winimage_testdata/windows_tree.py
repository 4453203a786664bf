# Copyright: (c) 2026, winimage.generalize contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Synthetic Windows system volumes, as directory trees, in a chosen state.

A :class:`WindowsProfile` describes the machine declaratively (OS version,
identity, domain, setup/sysprep state, pending work, Appx packages, secrets...).
:func:`build_tree` writes the files a Windows system volume has for that state:
real registry hives (SYSTEM, SOFTWARE, SAM, SECURITY, user NTUSER.DAT), State.ini,
Panther logs, answer files, the Appx state repository, page/hibernation files.
:func:`expected_facts` returns the ground truth a correct offline reader must
report for the profile - computed from the profile, never typed twice.

Presets (``PRESETS``, ``preset(name, **overrides)``) cover the states the
collection cares about. Registry values follow what Windows writes; comments
say what each value means and, where our knowledge is second hand, say so.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional, Tuple

from . import appx_repository
from .regf import (DEFAULT_TIMESTAMP, binary, build_hive, corrupt_hive_bytes, dword, expand_sz, filetime, multi_sz,
                   none, raw, sid_bytes, sz)

__all__ = ["LocalUser", "AppxPackage", "AnswerFile", "SourceOs", "WindowsProfile", "PRESETS", "preset",
           "build_tree", "expected_facts", "secret_values", "DEFAULT_PRESETS"]

# Root key names Windows gives hives it creates itself (seen in real hives).
ROOT_NAME_MODERN = "CsiTool-CreateHive-{00000000-0000-0000-0000-000000000000}"
ROOT_NAME_LEGACY = "ROOT"

# The documented ImageState values (Windows Setup states).
IMAGE_STATE_COMPLETE = "IMAGE_STATE_COMPLETE"
IMAGE_STATE_UNDEPLOYABLE = "IMAGE_STATE_UNDEPLOYABLE"
IMAGE_STATE_GENERALIZE_RESEAL_TO_OOBE = "IMAGE_STATE_GENERALIZE_RESEAL_TO_OOBE"
IMAGE_STATE_GENERALIZE_RESEAL_TO_AUDIT = "IMAGE_STATE_GENERALIZE_RESEAL_TO_AUDIT"
IMAGE_STATE_SPECIALIZE_RESEAL_TO_OOBE = "IMAGE_STATE_SPECIALIZE_RESEAL_TO_OOBE"
IMAGE_STATE_SPECIALIZE_RESEAL_TO_AUDIT = "IMAGE_STATE_SPECIALIZE_RESEAL_TO_AUDIT"
GENERALIZED_STATES = (IMAGE_STATE_GENERALIZE_RESEAL_TO_OOBE, IMAGE_STATE_GENERALIZE_RESEAL_TO_AUDIT)

WELL_KNOWN_PROFILES = (
    ("S-1-5-18", "%systemroot%\\system32\\config\\systemprofile"),
    ("S-1-5-19", "%systemroot%\\ServiceProfiles\\LocalService"),
    ("S-1-5-20", "%systemroot%\\ServiceProfiles\\NetworkService"),
)
MS_PUBLISHER_ID = "8wekyb3d8bbwe"


# --------------------------------------------------------------------------- profile


@dataclass(frozen=True)
class LocalUser:
    """A local SAM account; ``has_profile`` adds Users\\<name> and a ProfileList entry."""

    name: str
    rid: int
    disabled: bool = False
    has_profile: bool = True


@dataclass(frozen=True)
class DomainUser:
    """A domain account that logged on (profile only; it is not in the SAM)."""

    name: str
    rid: int


@dataclass(frozen=True)
class AppxPackage:
    """``installed_for`` holds user names (local or domain) the package is registered for."""

    full_name: str
    provisioned: bool = True
    installed_for: Tuple[str, ...] = ()
    inbox: bool = True
    deprovisioned: bool = False

    @property
    def family_name(self) -> str:
        return appx_repository.family_name(self.full_name)


@dataclass(frozen=True)
class AnswerFile:
    """An unattend.xml left on the volume. ``path`` is relative to the volume root.

    ``obfuscated=True`` writes passwords the way Windows SIM hides them
    (``<PlainText>false</PlainText>``, base64 of UTF-16LE(password + element name)),
    which is encoding, not encryption.
    """

    path: str
    admin_password: Optional[str] = None
    autologon_password: Optional[str] = None
    domain_join_password: Optional[str] = None
    obfuscated: bool = False
    architecture: str = "amd64"


@dataclass(frozen=True)
class SourceOs:
    """One ``HKLM\\SYSTEM\\Setup\\Source OS (Updated on ...)`` key left by an in-place upgrade."""

    updated_on: str  # as Windows writes it, e.g. "5/16/2019 00:55:20"
    product_name: str
    current_build: str
    release_id: str
    ubr: int
    edition_id: str = "Professional"


@dataclass(frozen=True)
class WindowsProfile:
    name: str = "custom"
    # --- OS identity (SOFTWARE\Microsoft\Windows NT\CurrentVersion)
    product_name: str = "Windows 10 Enterprise"
    edition_id: str = "Enterprise"
    installation_type: str = "Client"  # Client | Server | Server Core
    product_type: str = "WinNT"  # SYSTEM ProductOptions: WinNT workstation, ServerNT server, LanmanNT DC
    current_version: str = "6.3"  # frozen at "6.3" since Windows 8.1; "6.1" on Windows 7
    current_build: str = "19045"
    ubr: Optional[int] = 3803  # Update Build Revision; absent before Windows 10
    display_version: Optional[str] = "22H2"
    release_id: Optional[str] = "2009"
    major_minor: Optional[Tuple[int, int]] = (10, 0)  # CurrentMajor/MinorVersionNumber, Windows 10+ only
    csd_version: Optional[str] = None  # "Service Pack 1" on Windows 7 SP1
    architecture: str = "AMD64"  # PROCESSOR_ARCHITECTURE: AMD64 | x86 | ARM64
    language: str = "0409"  # LCID as hex text (en-US), Nls\Language InstallLanguage/Default
    ui_language: str = "en-US"  # installed UI language (Control\MUI\UILanguages)
    # --- identity
    computer_name: str = "REF-WIN10"
    workgroup: str = "WORKGROUP"
    domain_dns: Optional[str] = None
    domain_netbios: Optional[str] = None
    domain_sid: Optional[str] = None
    domain_guid: Optional[str] = None
    site_name: Optional[str] = None
    # --- control sets: values live in ControlSet00<current>; other sets hold stale data
    current_control_set: int = 1
    control_sets: Tuple[int, ...] = (1,)
    last_known_good: Optional[int] = None
    # --- setup / sysprep state
    image_state: str = IMAGE_STATE_COMPLETE
    system_setup_in_progress: int = 0
    setup_type: int = 0
    setup_cmd_line: str = ""
    oobe_in_progress: int = 0
    audit_in_progress: Optional[int] = None
    upgrade: Optional[int] = None
    generalization_state: Optional[int] = 7
    cleanup_state: Optional[int] = 2
    source_os: Tuple[SourceOs, ...] = ()
    sysprep_log: Optional[str] = None  # None | "success" | "appx_failure"
    # --- pending work
    pending_renames: Tuple[Tuple[str, str], ...] = ()
    cbs_reboot_pending: bool = False
    cbs_packages_pending: Tuple[str, ...] = ()
    wu_reboot_required: Tuple[str, ...] = ()  # update GUIDs
    # --- licensing / policies
    skip_rearm: Optional[int] = 0
    store_auto_download: Optional[int] = None  # 2 = automatic app updates off, 4 = on (policy)
    # --- accounts and secrets
    local_users: Tuple[LocalUser, ...] = (
        LocalUser("Administrator", 500), LocalUser("Guest", 501, disabled=True, has_profile=False),
        LocalUser("DefaultAccount", 503, disabled=True, has_profile=False),
        LocalUser("WDAGUtilityAccount", 504, disabled=True, has_profile=False))
    domain_users: Tuple[DomainUser, ...] = ()
    autologon_user: Optional[str] = None
    autologon_domain: Optional[str] = None
    autologon_password: Optional[str] = None
    autologon_count: Optional[int] = None
    answer_files: Tuple[AnswerFile, ...] = ()
    build_account: Optional[str] = None  # a leftover account used by the image build (e.g. "packer")
    # --- Appx
    appx: Tuple[AppxPackage, ...] = ()
    # --- memory files present on the volume (bytes; 0 = absent)
    pagefile_size: int = 0
    hiberfil_size: int = 0
    swapfile_size: int = 0
    hibernate_enabled: int = 0
    paging_files: Tuple[str, ...] = ("?:\\pagefile.sys",)
    # --- hive files
    hive_minor_version: int = 5
    ntuser_minor_version: int = 5
    dirty_hives: Tuple[str, ...] = ()  # e.g. ("SYSTEM",) writes seq1 != seq2
    corrupt_hives: Tuple[str, ...] = ()  # e.g. ("SOFTWARE",) damages that hive

    # ---- derived facts
    @property
    def is_domain_joined(self) -> bool:
        return bool(self.domain_dns)

    @property
    def machine_sid(self) -> str:
        digest = hashlib.sha256(("machine:" + self.computer_name + self.name).encode()).digest()
        a, b, c = struct.unpack("<III", digest[:12])
        return "S-1-5-21-%d-%d-%d" % (a, b, c)

    @property
    def has_appx_repository(self) -> bool:
        return self.major_minor is not None and self.major_minor[0] >= 10

    @property
    def is_windows_8_or_later(self) -> bool:
        return tuple(int(p) for p in self.current_version.split(".")) >= (6, 2)

    def user_sid(self, user_name: str) -> str:
        for user in self.local_users:
            if user.name == user_name:
                return "%s-%d" % (self.machine_sid, user.rid)
        for user in self.domain_users:
            if user.name == user_name:
                return "%s-%d" % (self.domain_sid, user.rid)
        raise ValueError("profile %s has no user %r" % (self.name, user_name))

    def profiles(self) -> List[Tuple[str, str]]:
        """(user name, SID) of every account that has a profile folder."""
        out = [(u.name, self.user_sid(u.name)) for u in self.local_users if u.has_profile]
        out += [(u.name, self.user_sid(u.name)) for u in self.domain_users]
        return out


# --------------------------------------------------------------------------- presets


_INBOX_APPX = (
    AppxPackage("Microsoft.WindowsCalculator_10.2103.8.0_x64__" + MS_PUBLISHER_ID,
                installed_for=("Administrator",)),
    AppxPackage("Microsoft.WindowsStore_12107.1001.15.0_x64__" + MS_PUBLISHER_ID,
                installed_for=("Administrator",)),
    AppxPackage("Microsoft.DesktopAppInstaller_1.16.12653.0_x64__" + MS_PUBLISHER_ID, installed_for=()),
)
_STALE_SUFFIX = "-OLD"


def _audit_mode() -> WindowsProfile:
    # A reference machine customised in audit mode (Ctrl+Shift+F3 at OOBE or
    # sysprep /audit): the built-in Administrator is signed in, no user was created.
    # Setup records the machine as resealed to audit after specialize, and
    # HKLM\SYSTEM\Setup AuditInProgress=1 while audit mode runs.
    return WindowsProfile(
        name="audit_mode", computer_name="REF-AUDIT01",
        image_state=IMAGE_STATE_SPECIALIZE_RESEAL_TO_AUDIT, audit_in_progress=1,
        appx=_INBOX_APPX, pagefile_size=64 * 1024, swapfile_size=16 * 1024)


def _reference_complete() -> WindowsProfile:
    # A reference VM installed normally (OOBE finished): IMAGE_STATE_COMPLETE.
    return WindowsProfile(name="reference_complete", computer_name="REF-W10-22H2",
                          appx=_INBOX_APPX, pagefile_size=64 * 1024, hiberfil_size=32 * 1024,
                          hibernate_enabled=1, swapfile_size=16 * 1024)


def _generalized() -> WindowsProfile:
    # After a successful "sysprep /generalize /oobe": ImageState says the next boot
    # resumes setup at specialize/OOBE. Setup is flagged in progress and will run
    # oobe\windeploy.exe (values seen on generalized images; readers should decide on
    # ImageState first). No memory files, no secrets, nothing pending.
    # Values live in ControlSet002 (Select\Current=2); ControlSet001 is stale.
    return WindowsProfile(
        name="generalized", computer_name="REF-GOLD01",
        current_control_set=2, control_sets=(1, 2), last_known_good=1,
        image_state=IMAGE_STATE_GENERALIZE_RESEAL_TO_OOBE,
        system_setup_in_progress=1, setup_type=2, setup_cmd_line="oobe\\windeploy.exe", oobe_in_progress=1,
        generalization_state=7, cleanup_state=2, sysprep_log="success",
        store_auto_download=2,  # Store auto-updates off, so no app updates itself for one user before capture
        appx=tuple(dataclasses.replace(p, installed_for=()) for p in _INBOX_APPX),
        answer_files=(AnswerFile("Windows/System32/Sysprep/unattend.xml"),))


def _domain_joined() -> WindowsProfile:
    # A domain member workstation: Tcpip Domain/NV Domain carry the DNS domain,
    # Netlogon caches the AD site, SECURITY Policy holds the primary domain name,
    # DNS name, GUID and SID. Values live in ControlSet002.
    return WindowsProfile(
        name="domain_joined", computer_name="WKS-0042",
        current_control_set=2, control_sets=(1, 2), last_known_good=1,
        domain_dns="corp.example.com", domain_netbios="CORP",
        domain_sid="S-1-5-21-1004336348-1177238915-682003330",
        domain_guid="6f1c2a4e-9b3d-4c1e-8f2a-0a1b2c3d4e5f", site_name="Default-First-Site-Name",
        domain_users=(DomainUser("jdoe", 1105),),
        appx=_INBOX_APPX, pagefile_size=64 * 1024)


def _domain_controller() -> WindowsProfile:
    # A domain controller: ProductType LanmanNT (sysprep refuses to run on DCs).
    return WindowsProfile(
        name="domain_controller", computer_name="DC01",
        product_name="Windows Server 2019 Datacenter", edition_id="ServerDatacenter",
        installation_type="Server", product_type="LanmanNT", current_build="17763", ubr=5830,
        display_version=None, release_id="1809",
        domain_dns="corp.example.com", domain_netbios="CORP",
        domain_sid="S-1-5-21-1004336348-1177238915-682003330",
        domain_guid="6f1c2a4e-9b3d-4c1e-8f2a-0a1b2c3d4e5f", site_name="Default-First-Site-Name",
        local_users=(), pagefile_size=64 * 1024)


def _appx_per_user() -> WindowsProfile:
    # A package installed for one user but not provisioned: the classic sysprep
    # failure (0x80073cf2). The Panther log holds that failure from a first try.
    lob = AppxPackage("Microsoft.MicrosoftEdge.Stable_131.0.2903.99_neutral__" + MS_PUBLISHER_ID,
                      provisioned=False, installed_for=("Łukasz",), inbox=False)
    return WindowsProfile(
        name="appx_per_user", computer_name="REF-APPX01",
        local_users=WindowsProfile().local_users + (LocalUser("Łukasz", 1001),),
        appx=_INBOX_APPX + (lob,), sysprep_log="appx_failure", image_state=IMAGE_STATE_COMPLETE,
        pagefile_size=64 * 1024)


def _with_secrets() -> WindowsProfile:
    # Secrets left behind by the build: autologon with a cleartext DefaultPassword,
    # answer files holding passwords (plain and "hidden" base64) and the build
    # account's profile.
    return WindowsProfile(
        name="with_secrets", computer_name="REF-SECRETS",
        local_users=WindowsProfile().local_users + (LocalUser("packer", 1000),),
        build_account="packer",
        autologon_user="packer", autologon_domain="REF-SECRETS", autologon_password="Aut0L0gon!Secret",
        autologon_count=3,
        answer_files=(
            AnswerFile("Windows/Panther/unattend.xml", admin_password="Adm1n!PlainSecret",
                       autologon_password="Aut0L0gon!Secret"),
            AnswerFile("Windows/System32/Sysprep/unattend.xml", admin_password="Adm1n!HiddenSecret",
                       autologon_password="Aut0L0gon!Secret", obfuscated=True),
            AnswerFile("unattend.xml", domain_join_password="J0in!DomainSecret"),
        ),
        appx=_INBOX_APPX, pagefile_size=64 * 1024)


def _pending_reboot() -> WindowsProfile:
    # Work waiting for a reboot: file renames (empty target = delete), a CBS reboot
    # flag with a pending package, and Windows Update asking for a restart.
    return WindowsProfile(
        name="pending_reboot", computer_name="REF-PENDING",
        pending_renames=(
            ("\\??\\C:\\Windows\\System32\\drivers\\SETA1B2.tmp", ""),
            ("\\??\\C:\\Program Files\\Contoso\\agent.dll.new", "!\\??\\C:\\Program Files\\Contoso\\agent.dll"),
            ("\\??\\C:\\Config.Msi\\a014fa5.rbf", ""),
        ),
        cbs_reboot_pending=True,
        cbs_packages_pending=("Package_for_RollupFix~31bf3856ad364e35~amd64~~19041.3803.1.8",),
        wu_reboot_required=("3a5a0b6e-8b3c-4b9b-9f1e-2c6d7e8f9a0b",),
        appx=_INBOX_APPX, pagefile_size=64 * 1024)


def _upgraded() -> WindowsProfile:
    # Upgraded in place twice (1703 -> 1803 -> 22H2): each feature update leaves a
    # "Source OS (Updated on ...)" key under HKLM\SYSTEM\Setup. The real upgraded
    # hive we have shows Setup\Upgrade = 0 afterwards, so that value proves nothing.
    return WindowsProfile(
        name="upgraded", computer_name="REF-UPGRADED", upgrade=0,
        source_os=(SourceOs("1/6/2019 02:18:37", "Windows 10 Pro", "15063", "1703", 1387),
                   SourceOs("5/16/2019 00:55:20", "Windows 10 Pro", "17134", "1803", 765)),
        product_name="Windows 10 Pro", edition_id="Professional",
        appx=_INBOX_APPX, pagefile_size=64 * 1024)


def _server_core_2012r2() -> WindowsProfile:
    # Windows Server 2012 R2 Datacenter, Server Core: version 6.3 build 9600, no
    # Windows 10 version values, no Appx state repository, ProductType ServerNT.
    return WindowsProfile(
        name="server_core_2012r2", computer_name="SRV-CORE01",
        product_name="Windows Server 2012 R2 Datacenter", edition_id="ServerDatacenter",
        installation_type="Server Core", product_type="ServerNT", current_version="6.3",
        current_build="9600", ubr=None, display_version=None, release_id=None, major_minor=None,
        local_users=(LocalUser("Administrator", 500), LocalUser("Guest", 501, disabled=True, has_profile=False)),
        pagefile_size=64 * 1024)


def _windows7() -> WindowsProfile:
    # Windows 7 Enterprise SP1 x86: version 6.1 build 7601, CSDVersion, regf 1.3
    # user hives ("lf" subkey lists), no Appx at all.
    return WindowsProfile(
        name="windows7", computer_name="WKS-WIN7-32", product_name="Windows 7 Enterprise",
        edition_id="Enterprise", current_version="6.1", current_build="7601", ubr=None,
        display_version=None, release_id=None, major_minor=None, csd_version="Service Pack 1",
        architecture="x86", paging_files=("C:\\pagefile.sys 0 0",),
        local_users=(LocalUser("Administrator", 500, disabled=True, has_profile=False),
                     LocalUser("Guest", 501, disabled=True, has_profile=False), LocalUser("admin", 1000)),
        ntuser_minor_version=3, pagefile_size=64 * 1024, hiberfil_size=32 * 1024, hibernate_enabled=1)


def _windows11_23h2() -> WindowsProfile:
    # Windows 11 still writes ProductName "Windows 10 ..." in the registry; only the
    # build number (>= 22000) tells it is Windows 11.
    return WindowsProfile(
        name="windows11_23h2", computer_name="REF-W11", product_name="Windows 10 Enterprise",
        current_build="22631", ubr=2861, display_version="23H2", release_id="2009",
        appx=_INBOX_APPX, pagefile_size=64 * 1024, swapfile_size=16 * 1024)


def _skip_rearm() -> WindowsProfile:
    # SkipRearm=1 keeps sysprep from resetting the activation clock (only meant for
    # builds that will be sysprepped again); a generalized image must not keep it.
    return WindowsProfile(name="skip_rearm", computer_name="REF-REARM", skip_rearm=1, appx=_INBOX_APPX,
                          pagefile_size=64 * 1024)


PRESETS = {
    "audit_mode": _audit_mode,
    "reference_complete": _reference_complete,
    "generalized": _generalized,
    "domain_joined": _domain_joined,
    "domain_controller": _domain_controller,
    "appx_per_user": _appx_per_user,
    "with_secrets": _with_secrets,
    "pending_reboot": _pending_reboot,
    "upgraded": _upgraded,
    "server_core_2012r2": _server_core_2012r2,
    "windows7": _windows7,
    "windows11_23h2": _windows11_23h2,
    "skip_rearm": _skip_rearm,
}
DEFAULT_PRESETS = tuple(PRESETS)


def preset(name: str, **overrides) -> WindowsProfile:
    """A preset profile, optionally with some fields replaced."""
    if name not in PRESETS:
        raise KeyError("unknown preset %r; known: %s" % (name, ", ".join(sorted(PRESETS))))
    profile = PRESETS[name]()
    return dataclasses.replace(profile, **overrides) if overrides else profile


# --------------------------------------------------------------------------- expected facts


def expected_facts(profile: WindowsProfile) -> dict:
    """What a correct offline reader must report for this profile (plain data, no secrets)."""
    pending_ops = len(profile.pending_renames)
    wu_reboot = bool(profile.wu_reboot_required)
    provisioned = sorted(p.full_name for p in profile.appx if p.provisioned)
    per_user = {}
    for package in profile.appx:
        for user in package.installed_for:
            per_user.setdefault(profile.user_sid(user), []).append(package.full_name)
    not_provisioned = sorted({p.full_name for p in profile.appx if p.installed_for and not p.provisioned})
    secrets_in_answer_files = sorted(a.path for a in profile.answer_files
                                     if a.admin_password or a.autologon_password or a.domain_join_password)
    version = "%d.%d" % profile.major_minor if profile.major_minor else profile.current_version
    return {
        "preset": profile.name,
        "computer_name": profile.computer_name,
        "control_set": {"current": profile.current_control_set,
                        "key": "ControlSet%03d" % profile.current_control_set},
        "os": {
            "product_name": profile.product_name,
            "edition_id": profile.edition_id,
            "installation_type": profile.installation_type,
            "product_type": profile.product_type,
            "version": version,
            "current_version": profile.current_version,
            "build": int(profile.current_build),
            "ubr": profile.ubr,
            "display_version": profile.display_version,
            "architecture": profile.architecture,
            "is_server": profile.product_type in ("ServerNT", "LanmanNT"),
            "is_windows11": int(profile.current_build) >= 22000 and profile.installation_type == "Client",
        },
        "domain": {
            "joined": profile.is_domain_joined,
            "dns_domain": profile.domain_dns,
            "netbios_domain": profile.domain_netbios,
            "domain_sid": profile.domain_sid,
            "site_name": profile.site_name,
            "workgroup": None if profile.is_domain_joined else profile.workgroup,
            "is_domain_controller": profile.product_type == "LanmanNT",
        },
        "image_state": profile.image_state,
        "generalized": profile.image_state in GENERALIZED_STATES,
        "audit_mode": bool(profile.audit_in_progress),
        "sysprep": {
            "generalization_state": profile.generalization_state,
            "cleanup_state": profile.cleanup_state,
            "system_setup_in_progress": profile.system_setup_in_progress,
            "setup_type": profile.setup_type,
            "oobe_in_progress": profile.oobe_in_progress,
            "cmd_line": profile.setup_cmd_line,
            "last_run": profile.sysprep_log,
            "appx_failures": not_provisioned if profile.sysprep_log == "appx_failure" else [],
        },
        "pending": {
            "reboot_required": bool(pending_ops or profile.cbs_reboot_pending or wu_reboot),
            "file_rename_operations": pending_ops,
            "cbs_reboot_pending": profile.cbs_reboot_pending,
            "cbs_packages_pending": len(profile.cbs_packages_pending),
            "windows_update_reboot_required": wu_reboot,
        },
        "upgraded": bool(profile.source_os),
        "source_os_builds": [s.current_build for s in profile.source_os],
        "licensing": {"skip_rearm": profile.skip_rearm},
        "store_auto_download": profile.store_auto_download,
        "appx": {
            "repository_present": profile.has_appx_repository and bool(profile.appx),
            "provisioned": provisioned,
            "installed_per_user": {sid: sorted(names) for sid, names in per_user.items()},
            "user_not_provisioned": not_provisioned,
            "staged_only": sorted(p.full_name for p in profile.appx if not p.installed_for),
        },
        "users": {
            "local": sorted(u.name for u in profile.local_users),
            "profiles": sorted(name for name, dummy in profile.profiles()),
            "build_account": profile.build_account,
        },
        "secrets": {
            "autologon_enabled": bool(profile.autologon_user),
            "autologon_password_present": bool(profile.autologon_password),
            "answer_files": sorted(a.path for a in profile.answer_files),
            "answer_files_with_password": secrets_in_answer_files,
        },
        "memory_files": {
            "pagefile.sys": profile.pagefile_size > 0,
            "hiberfil.sys": profile.hiberfil_size > 0,
            "swapfile.sys": profile.swapfile_size > 0,
        },
        "hibernate_enabled": profile.hibernate_enabled,
        "dirty_hives": sorted(profile.dirty_hives),
        "corrupt_hives": sorted(profile.corrupt_hives),
    }


def secret_values(profile: WindowsProfile) -> List[str]:
    """Every secret written for the profile, in every form it appears on disk
    (cleartext and the base64 "hidden" form). Tests assert none reaches output."""
    values = set()
    if profile.autologon_password:
        values.add(profile.autologon_password)
    for answer in profile.answer_files:
        for secret, element in ((answer.admin_password, "AdministratorPassword"),
                                (answer.autologon_password, "Password"),
                                (answer.domain_join_password, None)):
            if secret:
                values.add(secret)
                if answer.obfuscated and element:
                    values.add(_obfuscate(secret, element))
    return sorted(values)


# --------------------------------------------------------------------------- SYSTEM hive


def _system_hive(profile: WindowsProfile) -> dict:
    sets = sorted(set(profile.control_sets) | {profile.current_control_set})
    tree = {
        # Select tells which ControlSet00N is CurrentControlSet at boot.
        "Select": {
            "Current": dword(profile.current_control_set),
            "Default": dword(profile.current_control_set),
            "Failed": dword(0),
            "LastKnownGood": dword(profile.last_known_good or profile.current_control_set),
        },
        "Setup": _setup_key(profile),
        "MountedDevices": {},
    }
    for number in sets:
        stale = number != profile.current_control_set
        tree["ControlSet%03d" % number] = _control_set(profile, stale)
    return tree


def _setup_key(profile: WindowsProfile) -> dict:
    setup = {
        "SystemSetupInProgress": dword(profile.system_setup_in_progress),  # 1 while setup/specialize runs
        "SetupType": dword(profile.setup_type),  # 0 none, 1 full setup, 2 resumed after sysprep
        "CmdLine": sz(profile.setup_cmd_line),  # program setup runs at next boot
        "OOBEInProgress": dword(profile.oobe_in_progress),
        "Status": {
            "ChildCompletion": {"setup.exe": dword(3)},
        },
    }
    if profile.audit_in_progress is not None:
        setup["AuditInProgress"] = dword(profile.audit_in_progress)
    if profile.upgrade is not None:
        setup["Upgrade"] = dword(profile.upgrade)
    if profile.generalization_state is not None or profile.cleanup_state is not None:
        status = {}
        if profile.generalization_state is not None:
            status["GeneralizationState"] = dword(profile.generalization_state)
        if profile.cleanup_state is not None:
            status["CleanupState"] = dword(profile.cleanup_state)
        setup["Status"]["SysprepStatus"] = status
    for source in profile.source_os:
        setup["Source OS (Updated on %s)" % source.updated_on] = {
            "ProductName": sz(source.product_name),
            "EditionID": sz(source.edition_id),
            "CurrentBuild": sz(source.current_build),
            "CurrentBuildNumber": sz(source.current_build),
            "ReleaseId": sz(source.release_id),
            "UBR": dword(source.ubr),
            "CurrentVersion": sz("6.3"),
            "InstallationType": sz("Client"),
        }
    return setup


def _control_set(profile: WindowsProfile, stale: bool) -> dict:
    # A stale (non-current) control set carries an old computer name and no pending
    # work, so a reader that ignores Select\Current reports wrong facts.
    name = profile.computer_name + (_STALE_SUFFIX if stale else "")
    session_manager = {
        "BootExecute": multi_sz(["autocheck autochk *"]),
        "Memory Management": {
            "PagingFiles": multi_sz(list(profile.paging_files)),  # "?:\pagefile.sys" = system managed
            "ExistingPageFiles": multi_sz(["\\??\\C:\\pagefile.sys"] if profile.pagefile_size else []),
            "ClearPageFileAtShutdown": dword(0),
        },
        "Environment": {
            "PROCESSOR_ARCHITECTURE": sz(profile.architecture),
            "OS": sz("Windows_NT"),
            "NUMBER_OF_PROCESSORS": sz("2"),
            "windir": expand_sz("%SystemRoot%"),
            "TEMP": expand_sz("%SystemRoot%\\TEMP"),
        },
    }
    if profile.pending_renames and not stale:
        # Pairs of (source, target); an empty target means "delete at boot", a
        # leading "!" on the target means "replace if it exists".
        flat = [item for pair in profile.pending_renames for item in pair]
        session_manager["PendingFileRenameOperations"] = multi_sz(flat)
    tcpip = {
        "Hostname": sz(name), "NV Hostname": sz(name),
        "Domain": sz("" if stale else (profile.domain_dns or "")),  # DNS suffix of the primary domain
        "SearchList": sz(""),
    }
    if profile.domain_dns and not stale:
        tcpip["NV Domain"] = sz(profile.domain_dns)  # persistent primary DNS suffix (set by domain join)
    netlogon = {
        "DisablePasswordChange": dword(0), "MaximumPasswordAge": dword(30),
        "RequireSignOrSeal": dword(1), "RequireStrongKey": dword(1),
        "SealSecureChannel": dword(1), "SignSecureChannel": dword(1),
        "Update": sz("no"),
    }
    if profile.site_name and not stale:
        netlogon["DynamicSiteName"] = sz(profile.site_name)  # AD site cached by a joined machine
    if profile.product_type == "LanmanNT":
        netlogon["SysVol"] = sz("C:\\Windows\\SYSVOL\\sysvol")
        netlogon["SysvolReady"] = dword(1)
    suite = ["Terminal Server"] if profile.product_type == "WinNT" else ["Enterprise", "Terminal Server"]
    control = {
        "ComputerName": {"ComputerName": {"ComputerName": sz(name)}},
        "ProductOptions": {"ProductType": sz(profile.product_type), "ProductSuite": multi_sz(suite)},
        "Session Manager": session_manager,
        "Power": {"HibernateEnabled": dword(profile.hibernate_enabled)},
        "Windows": {
            "CSDVersion": dword(0x100 if profile.csd_version else 0),  # service pack level << 8
            "ShutdownTime": binary(struct.pack("<Q", filetime(DEFAULT_TIMESTAMP))),
        },
        "Nls": {"Language": {"InstallLanguage": sz(profile.language), "Default": sz(profile.language)}},
        "MUI": {"UILanguages": {profile.ui_language: {"LCID": dword(int(profile.language, 16)), "Type": dword(0x92)}}},
        "TimeZoneInformation": {"TimeZoneKeyName": sz("UTC")},
    }
    services = {
        "Tcpip": {"Parameters": tcpip},
        "Netlogon": {"Parameters": netlogon},
    }
    return {"Control": control, "Services": services, "Enum": {}, "Hardware Profiles": {}}


# --------------------------------------------------------------------------- SOFTWARE hive


def _software_hive(profile: WindowsProfile) -> dict:
    current_version = {
        "ProductName": sz(profile.product_name),
        "EditionID": sz(profile.edition_id),
        "InstallationType": sz(profile.installation_type),
        "CurrentVersion": sz(profile.current_version),
        "CurrentBuild": sz(profile.current_build),
        "CurrentBuildNumber": sz(profile.current_build),
        "CurrentType": sz("Multiprocessor Free"),
        "SystemRoot": sz("C:\\Windows"),
        "PathName": sz("C:\\Windows"),
        "RegisteredOwner": sz("IT"),
        "RegisteredOrganization": sz("Contoso"),
        "InstallDate": dword(1705320000),  # seconds since 1970
        "BuildLab": sz("%s.vb_release.191206-1406" % profile.current_build),
        "Winlogon": _winlogon(profile),
        "ProfileList": _profile_list(profile),
        "SoftwareProtectionPlatform": _spp(profile),
    }
    if profile.ubr is not None:
        current_version["UBR"] = dword(profile.ubr)
    if profile.display_version:
        current_version["DisplayVersion"] = sz(profile.display_version)
    if profile.release_id:
        current_version["ReleaseId"] = sz(profile.release_id)
    if profile.major_minor:
        current_version["CurrentMajorVersionNumber"] = dword(profile.major_minor[0])
        current_version["CurrentMinorVersionNumber"] = dword(profile.major_minor[1])
    if profile.csd_version:
        current_version["CSDVersion"] = sz(profile.csd_version)

    windows_cv = {
        "ProgramFilesDir": sz("C:\\Program Files"),
        "CommonFilesDir": sz("C:\\Program Files\\Common Files"),
        # ImageState: where Windows Setup stands (documented "Windows Setup states").
        "Setup": {"State": {"ImageState": sz(profile.image_state)}},
        "Component Based Servicing": _cbs(profile),
        "WindowsUpdate": {"Auto Update": _auto_update(profile)},
    }
    if profile.appx and profile.is_windows_8_or_later:
        windows_cv["Appx"] = {"AppxAllUserStore": _appx_all_user_store(profile)}
    tree = {
        "Microsoft": {
            "Windows NT": {"CurrentVersion": current_version},
            "Windows": {"CurrentVersion": windows_cv},
        },
        "Policies": {"Microsoft": {"Windows": {}}},
        "Classes": {},
    }
    if profile.store_auto_download is not None:
        tree["Policies"]["Microsoft"]["WindowsStore"] = {"AutoDownload": dword(profile.store_auto_download)}
    return tree


def _winlogon(profile: WindowsProfile) -> dict:
    winlogon = {
        "Shell": sz("explorer.exe"),
        "Userinit": sz("C:\\Windows\\system32\\userinit.exe,"),
        "AutoAdminLogon": sz("1" if profile.autologon_user else "0"),  # REG_SZ "0"/"1"
    }
    if profile.autologon_user:
        winlogon["DefaultUserName"] = sz(profile.autologon_user)
        winlogon["DefaultDomainName"] = sz(profile.autologon_domain or profile.computer_name)
    elif profile.is_domain_joined and profile.domain_users:
        winlogon["DefaultUserName"] = sz(profile.domain_users[0].name)  # last signed-in user
        winlogon["DefaultDomainName"] = sz(profile.domain_netbios)
    if profile.autologon_password:
        winlogon["DefaultPassword"] = sz(profile.autologon_password)  # cleartext, readable by admins
    if profile.autologon_count is not None:
        winlogon["AutoLogonCount"] = dword(profile.autologon_count)
    return winlogon


def _profile_list(profile: WindowsProfile) -> dict:
    listing = {
        "ProfilesDirectory": expand_sz("%SystemDrive%\\Users"),
        "Default": expand_sz("%SystemDrive%\\Users\\Default"),
        "Public": expand_sz("%SystemDrive%\\Users\\Public"),
    }
    for sid, path in WELL_KNOWN_PROFILES:
        listing[sid] = {"ProfileImagePath": expand_sz(path), "Flags": dword(12), "State": dword(0)}
    for name, sid in profile.profiles():
        listing[sid] = {
            "ProfileImagePath": expand_sz("C:\\Users\\" + name),
            "Sid": binary(sid_bytes(sid)),
            "Flags": dword(0),
            "State": dword(0),
        }
    return listing


def _spp(profile: WindowsProfile) -> dict:
    spp = {"BackupProductKeyDefault": sz("XXXXX-XXXXX-XXXXX-XXXXX-XXXXX")}
    if profile.skip_rearm is not None:
        spp["SkipRearm"] = dword(profile.skip_rearm)  # 1 = sysprep keeps the activation clock
    return spp


def _cbs(profile: WindowsProfile) -> dict:
    cbs = {"Version": {}, "Packages": {}}
    if profile.cbs_reboot_pending:
        cbs["RebootPending"] = {}  # the key's existence means "reboot pending"
    if profile.cbs_packages_pending:
        cbs["PackagesPending"] = {name: {} for name in profile.cbs_packages_pending}
    return cbs


def _auto_update(profile: WindowsProfile) -> dict:
    auto_update = {}
    if profile.wu_reboot_required:
        # The key's existence means Windows Update waits for a restart; one value per update.
        auto_update["RebootRequired"] = {guid: dword(1) for guid in profile.wu_reboot_required}
    return auto_update


def _appx_all_user_store(profile: WindowsProfile) -> dict:
    store = {"Applications": {}, "Deprovisioned": {}, "InboxApplications": {}}
    for package in profile.appx:
        manifest = ("C:\\Windows\\SystemApps\\" if package.inbox else "C:\\Program Files\\WindowsApps\\") \
            + package.full_name + "\\AppxManifest.xml"
        if package.provisioned:
            store["Applications"][package.full_name] = {"Path": sz(manifest)}
        if package.deprovisioned:
            store["Deprovisioned"][package.family_name] = {}
        for user in package.installed_for:
            store.setdefault(profile.user_sid(user), {})[package.full_name] = {}
    return store


# --------------------------------------------------------------------------- SAM and SECURITY


def _sam_hive(profile: WindowsProfile) -> dict:
    users = {"Names": {}}
    for user in profile.local_users:
        rid_key = "%08X" % user.rid
        # Names\<user> has an empty unnamed value whose TYPE is the RID (as Windows stores it).
        users["Names"][user.name] = {"": raw(user.rid, b"", user.rid)}
        users[rid_key] = {"F": binary(_sam_f_record(user))}
    return {"SAM": {"Domains": {"Account": {"Users": users, "Groups": {"Names": {}}},
                                "Builtin": {"Aliases": {"Names": {}}}},
                    "RXACT": {}}}


def _sam_f_record(user: LocalUser) -> bytes:
    # The fixed-length "F" record: RID at 0x30, account control flags at 0x38
    # (0x0001 = disabled, 0x0010 = normal account).
    record = bytearray(0x50)
    record[0:2] = b"\x02\x00"
    struct.pack_into("<I", record, 0x30, user.rid)
    struct.pack_into("<H", record, 0x38, 0x0010 | (0x0001 if user.disabled else 0))
    return bytes(record)


def unicode_string(text: Optional[str]) -> bytes:
    """The stored form of a SECURITY Policy name: Length, MaximumLength, offset 8,
    then UTF-16LE text and a NUL (decoded by hand from real hives). Empty for None."""
    if text is None:
        return b""
    data = text.encode("utf-16-le")
    return struct.pack("<HHI", len(data), len(data) + 2, 8) + data + b"\x00\x00"


def _guid_bytes(text: Optional[str]) -> bytes:
    if not text:
        return b"\x00" * 16
    import uuid
    return uuid.UUID(text).bytes_le


def _security_hive(profile: WindowsProfile) -> dict:
    joined = profile.is_domain_joined
    primary_name = profile.domain_netbios if joined else profile.workgroup
    policy = {
        "PolPrDmN": {"": none(unicode_string(primary_name))},  # primary domain or workgroup name
        "PolPrDmS": {"": none(sid_bytes(profile.domain_sid) if joined else b"")},  # domain SID, empty if not joined
        "PolDnDDN": {"": none(unicode_string(profile.domain_dns) if joined else b"")},  # DNS domain name
        "PolDnTrN": {"": none(unicode_string(profile.domain_dns) if joined else b"")},  # DNS forest name
        "PolDnDmG": {"": none(_guid_bytes(profile.domain_guid if joined else None))},  # domain GUID
        "PolAcDmN": {"": none(unicode_string(profile.computer_name))},  # account domain = computer name
        "PolAcDmS": {"": none(sid_bytes(profile.machine_sid))},  # machine SID
        "Secrets": {},
    }
    if joined:
        # The machine account password lives here as an LSA secret (opaque here).
        policy["Secrets"]["$MACHINE.ACC"] = {"CurrVal": {"": none(b"\x00" * 16)}}
    return {"Policy": policy, "Cache": {}, "RXACT": {}}


def _ntuser_hive(user_name: str) -> dict:
    return {
        "Environment": {
            "TEMP": expand_sz("%USERPROFILE%\\AppData\\Local\\Temp"),
            "TMP": expand_sz("%USERPROFILE%\\AppData\\Local\\Temp"),
        },
        "Software": {"Microsoft": {"Windows": {"CurrentVersion": {"Explorer": {"Shell Folders": {
            "Desktop": sz("C:\\Users\\%s\\Desktop" % user_name),
            "Personal": sz("C:\\Users\\%s\\Documents" % user_name),
        }}}}}},
        "Control Panel": {"International": {"LocaleName": sz("en-US")}},
    }


# --------------------------------------------------------------------------- files


def _obfuscate(secret: str, element: str) -> str:
    """What Windows SIM writes with PlainText=false: base64(UTF-16LE(secret + element))."""
    return base64.b64encode((secret + element).encode("utf-16-le")).decode("ascii")


def _xml_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def _password_xml(secret: str, element: str, obfuscated: bool, indent: str) -> str:
    value = _obfuscate(secret, element) if obfuscated else _xml_escape(secret)
    return ("%s<%s>\n%s  <Value>%s</Value>\n%s  <PlainText>%s</PlainText>\n%s</%s>\n"
            % (indent, element, indent, value, indent, "false" if obfuscated else "true", indent, element))


def answer_file_xml(profile: WindowsProfile, answer: AnswerFile) -> str:
    arch = 'processorArchitecture="%s" publicKeyToken="31bf3856ad364e35" language="neutral" ' \
           'versionScope="nonSxS"' % answer.architecture
    ns = 'xmlns:wcm="http://schemas.microsoft.com/WMIConfig/2002/State" ' \
         'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"'
    parts = ['<?xml version="1.0" encoding="utf-8"?>\n<unattend xmlns="urn:schemas-microsoft-com:unattend">\n']
    parts.append('  <settings pass="generalize">\n'
                 '    <component name="Microsoft-Windows-PnpSysprep" %s %s>\n'
                 '      <PersistAllDeviceInstalls>true</PersistAllDeviceInstalls>\n'
                 '    </component>\n  </settings>\n' % (arch, ns))
    if answer.domain_join_password:
        parts.append(
            '  <settings pass="specialize">\n'
            '    <component name="Microsoft-Windows-UnattendedJoin" %s %s>\n'
            '      <Identification>\n'
            '        <Credentials>\n'
            '          <Domain>%s</Domain>\n'
            '          <Username>svc-join</Username>\n'
            '          <Password>%s</Password>\n'
            '        </Credentials>\n'
            '        <JoinDomain>%s</JoinDomain>\n'
            '      </Identification>\n'
            '    </component>\n  </settings>\n'
            % (arch, ns, _xml_escape(profile.domain_dns or "corp.example.com"),
               _xml_escape(answer.domain_join_password), _xml_escape(profile.domain_dns or "corp.example.com")))
    oobe = ['  <settings pass="oobeSystem">\n'
            '    <component name="Microsoft-Windows-Shell-Setup" %s %s>\n' % (arch, ns)]
    if answer.admin_password:
        oobe.append('      <UserAccounts>\n')
        oobe.append(_password_xml(answer.admin_password, "AdministratorPassword", answer.obfuscated, "        "))
        oobe.append('      </UserAccounts>\n')
    if answer.autologon_password:
        oobe.append('      <AutoLogon>\n        <Enabled>true</Enabled>\n        <LogonCount>3</LogonCount>\n'
                    '        <Username>%s</Username>\n' % _xml_escape(profile.autologon_user or "Administrator"))
        oobe.append(_password_xml(answer.autologon_password, "Password", answer.obfuscated, "        "))
        oobe.append('      </AutoLogon>\n')
    oobe.append('      <OOBE>\n        <HideEULAPage>true</HideEULAPage>\n'
                '        <ProtectYourPC>3</ProtectYourPC>\n      </OOBE>\n'
                '    </component>\n  </settings>\n')
    parts.extend(oobe)
    parts.append('</unattend>\n')
    return "".join(parts)


def _log_time(second: int) -> str:
    return "2024-01-15 12:%02d:%02d" % (second // 60, second % 60)


def _log(second: int, level: str, code: str, component: str, text: str) -> str:
    # CBS/Panther layout: "<date> <time>, <level:11><[code]:11><component> <text>"
    code_text = "[%s]" % code if code else ""
    return "%s, %s%s%s %s\r\n" % (_log_time(second), level.ljust(11), code_text.ljust(11), component, text)


def sysprep_setupact(profile: WindowsProfile) -> str:
    lines = [
        _log(0, "Info", "", "SYSPRP", "========================================================"),
        _log(0, "Info", "", "SYSPRP", "===          Beginning of a new sysprep run          ==="),
        _log(0, "Info", "", "SYSPRP", "========================================================"),
        _log(0, "Info", "0x0f004e", "SYSPRP", "Initialized SysPrep log at C:\\Windows\\System32\\Sysprep\\Panther"),
        _log(0, "Info", "0x0f0054", "SYSPRP", "ValidateUser:User has required privileges to sysprep machine"),
        _log(0, "Info", "0x0f003d", "SYSPRP", "ParseCommands:Found supported command line option 'GENERALIZE'"),
        _log(0, "Info", "0x0f003d", "SYSPRP", "ParseCommands:Found supported command line option 'OOBE'"),
        _log(0, "Info", "0x0f003d", "SYSPRP", "ParseCommands:Found supported command line option 'QUIT'"),
    ]
    if profile.sysprep_log == "appx_failure":
        second = 5
        for package in profile.appx:
            if package.installed_for and not package.provisioned:
                lines.append(_log(second, "Error", "", "SYSPRP",
                                  "Package %s was installed for a user, but not provisioned for all users. "
                                  "This package will not function properly in the sysprep image." % package.full_name))
        lines += [
            _log(second, "Error", "", "SYSPRP", "Failed to remove apps for the current user: 0x80073cf2."),
            _log(second, "Error", "", "SYSPRP", "Exit code of RemoveAllApps thread was 0x3cf2."),
            _log(second, "Error", "0x0f0082", "SYSPRP", "ActionPlatform::LaunchModule: Failure occurred while "
                 "executing 'SysprepGeneralizeValidate' from C:\\Windows\\System32\\AppxSysprep.dll; dwRet = 0x3cf2"),
            _log(second, "Error", "", "SYSPRP", "SysprepSession::Validate: Error in validating actions from "
                 "C:\\Windows\\System32\\Sysprep\\ActionFiles\\Generalize.xml; dwRet = 0x3cf2"),
            _log(second, "Error", "", "SYSPRP", "RunPlatformActions:Failed while validating Sysprep session actions; "
                 "dwRet = 0x3cf2"),
            _log(second, "Error", "0x0f0070", "SYSPRP", "RunExternalDlls:An error occurred while running registry "
                 "sysprep DLLs, halting sysprep execution. dwRet = 0x3cf2"),
            _log(second, "Error", "0x0f00d8", "SYSPRP", "WinMain:Hit failure while pre-validate sysprep generalize "
                 "internal providers; hr = 0x80073cf2"),
        ]
    else:
        lines += [
            _log(20, "Info", "0x0f0079", "SYSPRP", "RunExternalDlls:Finished running external DLLs"),
            _log(30, "Info", "", "SYSPRP", "SysprepSession::Execute: Successfully executed actions from "
                 "C:\\Windows\\System32\\Sysprep\\ActionFiles\\Generalize.xml"),
            _log(31, "Info", "0x0f0052", "SYSPRP", "WinMain:Sysprep successfully completed generalize"),
            _log(31, "Info", "0x0f007e", "SYSPRP", "FCreateTagFile:Tag file "
                 "C:\\Windows\\System32\\Sysprep\\Sysprep_succeeded.tag does not already exist, no need to delete "
                 "anything"),
            _log(32, "Info", "", "SYSPRP", "Successfully created the tag file"),
        ]
    return "".join(lines)


def sysprep_setuperr(profile: WindowsProfile) -> str:
    return "".join(line + "\r\n" for line in sysprep_setupact(profile).split("\r\n")
                   if line and ", Error" in line)


def setup_setupact(profile: WindowsProfile) -> str:
    return "".join([
        _log(0, "Info", "", "CONX", "Windows Setup started (build %s)" % profile.current_build),
        _log(1, "Info", "", "MIG", "Setting system locale to %s" % profile.language),
        _log(2, "Info", "", "IBS", "InstallWindows:Setup has completed the offline phase."),
        _log(3, "Info", "", "SP", "CSetupPlatform::ResurrectAndRun: Setup platform completed"),
    ])


def state_ini(profile: WindowsProfile) -> str:
    return "[State]\r\nImageState=%s\r\n" % profile.image_state


PE_MACHINES = {"AMD64": 0x8664, "x86": 0x014C, "ARM64": 0xAA64}


def _placeholder_pe(description: str, architecture: str = "AMD64") -> bytes:
    """Not executable: a DOS header pointing to a PE/COFF header with the right
    Machine, so tools that sniff the architecture (wimlib reads kernel32.dll) agree
    with the registry."""
    dos = bytearray(0x80)
    dos[0:2] = b"MZ"
    struct.pack_into("<I", dos, 0x3C, 0x80)
    coff = b"PE\x00\x00" + struct.pack("<HHIIIHH", PE_MACHINES[architecture], 0, 0, 0, 0, 0, 0x2022)
    return bytes(dos) + coff + ("winimage test placeholder: %s\n" % description).encode()


def _write(path: Path, data) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        data = data.encode("utf-8")
    path.write_bytes(data)


def _hive_bytes(profile: WindowsProfile, name: str, tree, root_name: str, file_name: str,
                minor: Optional[int] = None) -> bytes:
    data = build_hive(tree, root_name=root_name, file_name=file_name,
                      minor_version=minor or profile.hive_minor_version, dirty=name in profile.dirty_hives,
                      sequence=17)
    if name in profile.corrupt_hives:
        data = corrupt_hive_bytes(data, "hbin")
    return data


def build_tree(profile: WindowsProfile, root) -> dict:
    """Write the system volume for ``profile`` under ``root`` and return :func:`expected_facts`."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    modern = profile.is_windows_8_or_later
    root_name = ROOT_NAME_MODERN if modern else ROOT_NAME_LEGACY
    config = root / "Windows" / "System32" / "config"
    hives = {
        "SYSTEM": (_system_hive(profile), "SYSTEM"),
        "SOFTWARE": (_software_hive(profile), "emRoot\\System32\\Config\\SOFTWARE"),
        "SAM": (_sam_hive(profile), "\\SystemRoot\\System32\\Config\\SAM"),
        "SECURITY": (_security_hive(profile), "emRoot\\System32\\Config\\SECURITY"),
    }
    for name, (tree, header_name) in hives.items():
        _write(config / name, _hive_bytes(profile, name, tree, root_name, header_name))

    for relative in ("System32/ntoskrnl.exe", "System32/kernel32.dll", "System32/Sysprep/sysprep.exe", "explorer.exe"):
        stub = _placeholder_pe(relative + " " + profile.current_build, profile.architecture)
        _write(root / "Windows" / relative, stub)
    _write(root / "Windows" / "Setup" / "State" / "State.ini", state_ini(profile))
    _write(root / "Windows" / "Panther" / "setupact.log", setup_setupact(profile))
    if profile.sysprep_log:
        panther = root / "Windows" / "System32" / "Sysprep" / "Panther"
        _write(panther / "setupact.log", sysprep_setupact(profile))
        _write(panther / "setuperr.log", sysprep_setuperr(profile))
        if profile.sysprep_log == "success":
            _write(root / "Windows" / "System32" / "Sysprep" / "Sysprep_succeeded.tag", b"")
    for answer in profile.answer_files:
        _write(root / answer.path, answer_file_xml(profile, answer))

    _write(root / "Users" / "Default" / "NTUSER.DAT",
           build_hive(_ntuser_hive("Default"), root_name=root_name, file_name="\\??\\C:\\Users\\Default\\NTUSER.DAT",
                      minor_version=profile.ntuser_minor_version))
    (root / "Users" / "Public" / "Documents").mkdir(parents=True, exist_ok=True)
    for name, _sid in profile.profiles():
        _write(root / "Users" / name / "NTUSER.DAT",
               build_hive(_ntuser_hive(name), root_name=root_name,
                          file_name="\\??\\C:\\Users\\%s\\ntuser.dat" % name,
                          minor_version=profile.ntuser_minor_version))
        (root / "Users" / name / "AppData" / "Local" / "Temp").mkdir(parents=True, exist_ok=True)

    if profile.has_appx_repository and profile.appx:
        appx_repository.write_state_repository(
            root / "ProgramData" / "Microsoft" / "Windows" / "AppRepository" / "StateRepository-Machine.srd",
            [{"full_name": p.full_name, "inbox": p.inbox,
              "users": [profile.user_sid(u) for u in p.installed_for]} for p in profile.appx],
            sid_bytes, filetime(DEFAULT_TIMESTAMP))

    for file_name, size in (("pagefile.sys", profile.pagefile_size), ("hiberfil.sys", profile.hiberfil_size),
                            ("swapfile.sys", profile.swapfile_size)):
        if size:
            _write(root / file_name, b"\x00" * size)
    (root / "Program Files").mkdir(exist_ok=True)
    (root / "Windows" / "Temp").mkdir(parents=True, exist_ok=True)
    return expected_facts(profile)
