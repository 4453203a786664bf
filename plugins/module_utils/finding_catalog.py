# Copyright: (c) 2026, winimage.generalize contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The catalogue of finding ids: one entry per id, shared by every producer.

The preflight and verify rules, the Panther log parser and the reports all take
severity, title, explanation, remediation and reference from here, so an id
means the same thing wherever it appears. Ids are a stable interface: never
rename one or reuse it for another meaning; add a new id instead.
"""

from __future__ import annotations

SEVERITIES = ("blocker", "warning", "info")
STATUSES = ("fail", "unknown")
PHASES = ("preflight", "verify", "sysprep")

DOCS_SYSPREP_GENERALIZE = (
    "https://learn.microsoft.com/en-us/windows-hardware/manufacture/desktop/"
    "sysprep--generalize--a-windows-installation"
)
DOCS_SYSPREP_OVERVIEW = (
    "https://learn.microsoft.com/en-us/windows-hardware/manufacture/desktop/"
    "sysprep--system-preparation--overview"
)
DOCS_SERVER_ROLES = (
    "https://learn.microsoft.com/en-us/windows-hardware/manufacture/desktop/"
    "sysprep-support-for-server-roles"
)
DOCS_SKIP_REARM = (
    "https://learn.microsoft.com/en-us/windows-hardware/customize/desktop/unattend/"
    "microsoft-windows-security-spp-skiprearm"
)
DOCS_APPX = (
    "https://learn.microsoft.com/en-us/troubleshoot/windows-client/setup-upgrade-and-drivers/"
    "sysprep-fails-remove-or-update-store-apps"
)
DOCS_NPS_IMAGING = (
    "https://learn.microsoft.com/en-us/windows-server/networking/technologies/nps/"
    "nps-manage-imaging"
)
DOCS_SETUP_STATES = (
    "https://learn.microsoft.com/en-us/windows-hardware/manufacture/desktop/windows-setup-states"
)
DOCS_SYSPREP_PROCESS = (
    "https://learn.microsoft.com/en-us/windows-hardware/manufacture/desktop/sysprep-process-overview"
)
SEED_SKIP_REARM = "seed: Sysprep, SkipRearm, and Image Build Best Practices"
SEED_HYPERV_HOST = "seed: What happens when you Sysprep a system running Hyper-V on Windows Server 2008 R2"
SEED_VIRTUAL = "seed: Virtual deployment (TechNet Magazine, May 2008)"


# Who produces findings. Preflight and verify findings come from the rules engine unless an entry
# names another producer; sysprep findings always come from the Panther log parser.
PRODUCERS = {
    "rules": "the rules engine (winimage.generalize.findings), from readiness facts",
    "panther": "the Panther log parser (winimage.generalize.panther_findings), from a failed sysprep run",
    "manifest": "the image manifest (winimage.generalize.image_publish), from the lineage of parent images",
}


def _default_producers(phases):
    producers = []
    if "preflight" in phases or "verify" in phases:
        producers.append("rules")
    if "sysprep" in phases:
        producers.append("panther")
    return tuple(producers)


def _entry(severity, title, why, remediation, reference, phases, produced_by=None):
    """One catalogue entry; severity may differ per phase (a dict phase -> severity).

    ``produced_by`` names the producers (keys of PRODUCERS) when the default - rules for
    preflight/verify, panther for sysprep - is wrong.
    """
    return {
        "severity": severity,
        "title": title,
        "why": why,
        "remediation": remediation,
        "reference": reference,
        "phases": phases,
        "produced_by": tuple(produced_by) if produced_by else _default_producers(phases),
    }


CATALOG = {
    "domain_joined": _entry(
        {"preflight": "warning", "verify": "blocker"},
        "Machine is joined to a domain",
        "Sysprep removes domain membership itself, but it leaves the computer object in Active "
        "Directory and the image then carries the machine account's history. In a captured image "
        "domain residue means every clone starts with another machine's identity.",
        "Leave the domain before sysprep with the winimage.generalize.domain_unjoin role "
        "(optionally removing the computer object), connected with a local administrator account. "
        "For a captured image, rebuild it from a reference machine that is in a workgroup.",
        SEED_VIRTUAL,
        ("preflight", "verify"),
    ),
    "domain_controller": _entry(
        "blocker",
        "Machine is a domain controller",
        "Sysprep cannot safely change the SIDs of a domain controller; a DC must never be imaged.",
        "Image a member or standalone server instead and promote the deployed copies with "
        "microsoft.ad.domain_controller after deployment.",
        SEED_VIRTUAL,
        ("preflight", "verify"),
    ),
    "pending_reboot": _entry(
        "blocker",
        "A reboot is pending",
        "Sysprep refuses to generalize, or fails part-way, while Windows still has file renames, "
        "Component Based Servicing or Windows Update work waiting for a restart.",
        "Reboot the machine (ansible.windows.win_reboot) and gather facts again.",
        DOCS_SYSPREP_OVERVIEW,
        ("preflight", "sysprep"),
    ),
    "pending_servicing": _entry(
        "blocker",
        "Servicing operations are still in progress",
        "Packages staged or pending in Component Based Servicing make sysprep fail with "
        "'pending online servicing' or corrupt the generalized image.",
        "Let servicing finish: reboot, run `DISM /Online /Cleanup-Image /StartComponentCleanup` "
        "if needed, and gather facts again.",
        DOCS_SYSPREP_OVERVIEW,
        ("preflight", "sysprep"),
    ),
    "bitlocker_on": _entry(
        "blocker",
        "BitLocker protects or encrypts the OS volume",
        "Sysprep /generalize fails on an encrypted or protected OS volume, and a captured encrypted "
        "volume cannot be deployed.",
        "Turn BitLocker off and wait for full decryption (`Disable-BitLocker -MountPoint C:`; "
        "`Get-BitLockerVolume` shows FullyDecrypted), or prevent automatic device encryption in "
        "the reference build.",
        DOCS_SYSPREP_OVERVIEW,
        ("preflight", "verify", "sysprep"),
    ),
    "appx_user_not_provisioned": _entry(
        "blocker",
        "Store app installed for a user but not provisioned for all users",
        "Sysprep /generalize requires every app to be provisioned for all users. An app installed "
        "or updated from the Store for one user makes sysprep fail with '<package> was installed "
        "for a user, but not provisioned for all users'.",
        "Remove the listed packages for all users with winimage.generalize.appx_cleanup (or "
        "`Remove-AppxPackage -AllUsers`), keep the Store from updating apps during the build, and "
        "run sysprep again.",
        DOCS_APPX,
        ("preflight", "sysprep"),
    ),
    "appx_staged_removal": _entry(
        "blocker",
        "A staged Store package could not be removed",
        "Sysprep removes staged packages during generalize; when that removal fails it stops.",
        "Remove the named package for all users and its provisioned copy "
        "(winimage.generalize.appx_cleanup with its name), then run sysprep again.",
        DOCS_APPX,
        ("sysprep",),
    ),
    "rearm_exhausted": _entry(
        "blocker",
        "No licensing rearm left",
        "Every sysprep /generalize rearms Windows licensing. Windows 7 / Server 2008 R2 and older "
        "allow 3 rearms; Windows 8 and later allow 1001 sysprep runs on one image. With none left "
        "sysprep fails with 'A fatal error occurred while trying to Sysprep the machine'.",
        "Rebuild the reference machine from installation media (one sysprep per build, as "
        "Microsoft recommends). SkipRearm=1 only postpones the problem and must not stay in the "
        "final image.",
        SEED_SKIP_REARM,
        ("preflight", "sysprep"),
    ),
    "skip_rearm_enabled": _entry(
        {"preflight": "warning", "verify": "blocker"},
        "SkipRearm is enabled",
        "With SkipRearm=1 the activation grace period and the client machine id (CMID) are not "
        "reset: KMS sees every clone as the same machine.",
        "Set Microsoft-Windows-Security-SPP SkipRearm to 0 (or leave it out) for the final sysprep "
        "run; the answer-file builder refuses 1 unless explicitly overridden.",
        SEED_SKIP_REARM,
        ("preflight", "verify"),
    ),
    "upgraded_install": _entry(
        "blocker",
        "Windows was upgraded in place",
        "Sysprep does not support generalizing an installation that was upgraded from an earlier "
        "Windows version; it fails early with an upgrade error.",
        "Build the reference machine from a clean installation of the target version.",
        DOCS_SYSPREP_OVERVIEW,
        ("preflight", "sysprep"),
    ),
    "unsupported_server_role": _entry(
        "blocker",
        "A server role that sysprep does not support is installed",
        "Microsoft lists server roles that do not survive sysprep (for example Active Directory "
        "Certificate Services, DHCP, Windows Server Update Services or a promoted domain controller).",
        "Remove the role before sysprep and install it on the deployed copies instead.",
        DOCS_SERVER_ROLES,
        ("preflight",),
    ),
    "nps_radius_config": _entry(
        "warning",
        "NPS has RADIUS clients or remote RADIUS server groups",
        "The Network Policy Server configuration is copied into every clone; RADIUS clients and "
        "remote server groups with their shared secrets belong to this server only.",
        "Export the NPS configuration if needed, then remove the RADIUS clients and remote RADIUS "
        "server groups (`netsh nps` / NPS console) before sysprep.",
        DOCS_NPS_IMAGING,
        ("preflight",),
    ),
    "hyperv_vms_present": _entry(
        "blocker",
        "Virtual machines are registered on this Hyper-V host",
        "VMs registered on a Hyper-V host would be cloned with it, with the same identities and "
        "paths on every deployed host.",
        "Move or remove the VMs before sysprep, or set the explicit, warned override when they are "
        "meant to ship with the image.",
        SEED_HYPERV_HOST,
        ("preflight",),
    ),
    "hyperv_external_switch": _entry(
        "warning",
        "An external virtual switch is bound to a physical adapter",
        "Sysprep removes network adapters; external switches bound to them do not come back on the "
        "deployed host.",
        "Record the switches (the hyperv_host role stores them) and recreate them after "
        "deployment.",
        SEED_HYPERV_HOST,
        ("preflight",),
    ),
    "hyperv_mac_range": _entry(
        "warning",
        "The Hyper-V dynamic MAC address range would be cloned",
        "Before Windows Server 2008 R2 there is no Hyper-V sysprep provider: the dynamic MAC "
        "address range is not cleared, so every deployed host hands out the same MAC addresses.",
        "Clear the MAC address range (the hyperv_host role does it) before sysprep.",
        SEED_HYPERV_HOST,
        ("preflight",),
    ),
    "checkpoints_present": _entry(
        "blocker",
        "The virtual machine has checkpoints or differencing disks",
        "Reverting a checkpoint of a generalized VM brings back a machine that conflicts with its "
        "clones; snapshots and differencing disks must be merged or removed first.",
        "Delete or merge the checkpoints of the reference VM before sysprep (or use the refresh "
        "playbook, which reverts to a baseline and generalizes a throw-away state).",
        SEED_VIRTUAL,
        ("preflight",),
    ),
    "low_disk_space": _entry(
        "warning",
        "Little free space on the system volume",
        "Sysprep, its logs and servicing cleanup need free space on the system volume; a full "
        "volume fails in the middle of generalize.",
        "Free space on the system volume (Disk Cleanup, `DISM /Online /Cleanup-Image "
        "/StartComponentCleanup`) or extend the volume.",
        DOCS_SYSPREP_OVERVIEW,
        ("preflight",),
    ),
    "answer_file_secrets": _entry(
        {"preflight": "warning", "verify": "blocker"},
        "An answer file with a password is on the disk",
        "Answer-file passwords are only base64-obfuscated; anyone who receives the image can read "
        "them.",
        "Delete leftover answer files (Panther, Sysprep folder, C:\\unattend.xml) and let the "
        "generated SetupComplete step remove the one used for deployment.",
        DOCS_SYSPREP_OVERVIEW,
        ("preflight", "verify"),
    ),
    "autologon_secret": _entry(
        {"preflight": "warning", "verify": "blocker"},
        "An auto-logon password is stored in the registry",
        "Winlogon DefaultPassword is stored in clear text in the SOFTWARE hive and would be "
        "cloned into every machine.",
        "Remove DefaultPassword and set AutoAdminLogon to 0 under "
        "HKLM\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\\Winlogon.",
        DOCS_SYSPREP_OVERVIEW,
        ("preflight", "verify"),
    ),
    "already_generalized": _entry(
        "info",
        "Windows is already generalized",
        "The image state says sysprep /generalize has already completed; running it again would "
        "spend a rearm and gain nothing.",
        "Capture the machine as it is, or deploy it and build a new reference.",
        DOCS_SYSPREP_GENERALIZE,
        ("preflight",),
    ),
    "not_generalized": _entry(
        "blocker",
        "The image is not generalized",
        "An image whose ImageState is not IMAGE_STATE_GENERALIZE_RESEAL_TO_OOBE keeps its SID, "
        "computer name and hardware state: every clone would be the same machine.",
        "Run sysprep /generalize on the reference machine and capture again.",
        DOCS_SYSPREP_GENERALIZE,
        ("verify",),
    ),
    "build_profile_leftover": _entry(
        "warning",
        "A build account's profile is still in the image",
        "Profiles of accounts used to build the image carry their files, credentials cache and "
        "history into every clone.",
        "Delete the build account and its profile before sysprep, or rely on CopyProfile only with "
        "the default profile you intend to ship.",
        DOCS_SYSPREP_OVERVIEW,
        ("verify",),
    ),
    "swap_files_captured": _entry(
        "warning",
        "pagefile.sys, hiberfil.sys or swapfile.sys was captured",
        "Paging and hibernation files hold memory of the reference machine, possibly secrets, and "
        "waste space in the image.",
        "Capture with the exclusion list (winimage.generalize.wim_capture and dism_capture exclude "
        "them by default) or disable hibernation before sysprep.",
        DOCS_SYSPREP_OVERVIEW,
        ("verify",),
    ),
    "rearm_low": _entry(
        "warning",
        "Few licensing rearms left",
        "Every sysprep /generalize without SkipRearm uses one rearm. When this run uses the last "
        "ones, the captured image (and every machine deployed from it) can no longer be "
        "generalized again.",
        "Plan the next image refresh as a rebuild from installation media instead of another "
        "sysprep of this machine.",
        SEED_SKIP_REARM,
        ("preflight",),
    ),
    "lineage_rearm_budget": _entry(
        "warning",
        "The image lineage exceeds the rearm budget",
        "An image built by generalizing a previous image, again and again, spends a licensing rearm "
        "with each sysprep /generalize (unless SkipRearm was set). Windows 7 / Server 2008 R2 and "
        "older allow 3 rearms; once the lineage has used them, sysprep /generalize on a machine "
        "deployed from the image fails and activation is no longer reset.",
        "Rebuild the reference image from installation media (an automated build, sysprep run once) "
        "instead of building on a previous image. If your licensing allows more rearms, raise "
        "`rearm_budget` of winimage.generalize.image_publish.",
        SEED_SKIP_REARM,
        ("verify",),
        produced_by=("manifest",),
    ),
    "sysprep_already_running": _entry(
        "blocker",
        "Sysprep is already running",
        "Only one instance of sysprep can run at a time; a second run fails, and the first one "
        "may still be generalizing the machine.",
        "Wait for the running sysprep.exe to finish (or investigate why it hangs, see the Panther "
        "logs) before starting another run.",
        DOCS_SYSPREP_PROCESS,
        ("preflight",),
    ),
    "image_undeployable": _entry(
        "blocker",
        "Windows Setup did not complete a phase",
        "ImageState IMAGE_STATE_UNDEPLOYABLE while Setup is not running means a Setup phase (for "
        "example a previous sysprep run) failed; Microsoft says such an image must be reinstalled.",
        "Read %WINDIR%\\System32\\Sysprep\\Panther\\setuperr.log and %WINDIR%\\Panther, then "
        "rebuild the reference machine.",
        DOCS_SETUP_STATES,
        ("preflight",),
    ),
    "hyperv_internal_switch": _entry(
        "warning",
        "Internal or private Hyper-V virtual switches exist",
        "Microsoft does not support sysprep with Hyper-V virtual networks: all virtual switches "
        "must be deleted before sysprep runs, not only external ones.",
        "Record the switches (the hyperv_host role stores them), delete them before sysprep and "
        "recreate them after deployment.",
        DOCS_SERVER_ROLES,
        ("preflight",),
    ),
    "pending_work_captured": _entry(
        "warning",
        "The image carries pending reboot or servicing work",
        "Work that waits for a restart runs on the first boot of every clone, before or during "
        "specialize, where it can fail or slow deployment; a generalized image should not have any.",
        "Reboot the reference machine until nothing is pending, then generalize and capture again.",
        DOCS_SYSPREP_OVERVIEW,
        ("verify",),
    ),
    "sysprep_provider_failure": _entry(
        "blocker",
        "A sysprep provider failed",
        "Sysprep runs provider DLLs from Windows and installed software during generalize; one of "
        "them returned an error and sysprep stopped.",
        "Look up the provider DLL named in the finding: update or remove the software that owns it "
        "and run sysprep again.",
        DOCS_SYSPREP_OVERVIEW,
        ("sysprep",),
    ),
    "sysprep_unknown_error": _entry(
        "blocker",
        "Sysprep failed for a reason not recognised",
        "Sysprep logged an error that no known rule explains; the raw lines are kept in the finding.",
        "Read the lines kept in the finding (from setuperr.log / setupact.log) and fix the cause; "
        "please report the pattern so a rule can be added.",
        DOCS_SYSPREP_OVERVIEW,
        ("sysprep",),
    ),
}


def severity_for(finding_id, phase):
    """Severity of an id in a phase: a plain string, or the per-phase value."""
    severity = CATALOG[finding_id]["severity"]
    if isinstance(severity, dict):
        return severity.get(phase, "warning")
    return severity


def make_finding(finding_id, phase, message, status="fail", evidence=None, **extra):
    """Build a finding dict in the shared shape from its catalogue entry.

    ``message`` says what was seen on this machine; the catalogue supplies the rest.
    Extra keyword arguments (for example ``packages`` or ``lines``) are kept as keys.
    """
    if finding_id not in CATALOG:
        raise KeyError("unknown finding id %r: add it to finding_catalog.CATALOG" % finding_id)
    if status not in STATUSES:
        raise ValueError("finding status must be one of %s, not %r" % (", ".join(STATUSES), status))
    if phase not in PHASES:
        raise ValueError("finding phase must be one of %s, not %r" % (", ".join(PHASES), phase))
    entry = CATALOG[finding_id]
    finding = {
        "id": finding_id,
        "severity": severity_for(finding_id, phase),
        "status": status,
        "phase": phase,
        "title": entry["title"],
        "message": message,
        "remediation": entry["remediation"],
        "reference": entry["reference"],
    }
    if evidence:
        finding["evidence"] = evidence
    finding.update(extra)
    return finding
