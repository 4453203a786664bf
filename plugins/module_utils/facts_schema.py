# Copyright: (c) 2026, winimage.generalize contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The readiness facts schema: one description of a Windows installation as sysprep sees it.

Both gatherers fill it: ``readiness_facts`` (PowerShell, on the running machine) and
``image_facts`` (Python, from a disk image or WIM). The rules engine reads only this shape.

Conventions every gatherer follows:

* every section is always present; a leaf value of ``None`` means "not known";
* ``errors`` maps a section name to the reason its probe failed (the section then holds
  what could still be read, usually all ``None``);
* ``unavailable`` maps a dotted field path to the reason this gatherer can never know it
  (for example ``bitlocker.protection_status`` offline) so nobody mistakes it for a guess;
* secrets are never facts: only booleans such as ``contains_password`` are.

``schemas/facts.schema.json`` and ``docs/facts.md`` are generated from this module
(``make generated``) and tests keep them in sync.
"""

from __future__ import annotations

import copy

SCHEMA_VERSION = "1.0"


def _leaf(json_type, description, enum=None):
    schema = {"type": [json_type, "null"], "description": description}
    if enum is not None:
        schema["enum"] = list(enum) + [None]
    return schema


def _string(description, enum=None):
    return _leaf("string", description, enum)


def _integer(description):
    return _leaf("integer", description)


def _boolean(description):
    return _leaf("boolean", description)


def _strings(description):
    return {"type": ["array", "null"], "items": {"type": "string"}, "description": description}


def _objects(description, properties):
    return {
        "type": ["array", "null"],
        "description": description,
        "items": {"type": "object", "properties": properties, "additionalProperties": True},
    }


def _section(description, properties):
    return {
        "type": "object",
        "description": description,
        "properties": properties,
        "required": sorted(properties),
        "additionalProperties": False,
    }


SECTIONS = {
    "os": _section("The Windows installation itself.", {
        "product_name": _string("ProductName, e.g. 'Windows Server 2022 Datacenter'."),
        "edition_id": _string("EditionID, e.g. 'ServerDatacenter', 'Enterprise', 'Professional'."),
        "version": _string("Kernel version major.minor, e.g. '6.1' (Windows 7 / 2008 R2), '6.3', '10.0'."),
        "build": _integer("CurrentBuildNumber, e.g. 7601, 9600, 17763, 20348, 22631, 26100."),
        "ubr": _integer("Update build revision (the number after the build), when Windows records it."),
        "display_version": _string("DisplayVersion or ReleaseId, e.g. '23H2', '1809'."),
        "architecture": _string("Processor architecture of the installation.", ["amd64", "x86", "arm64"]),
        "installation_type": _string("InstallationType: 'Client', 'Server', 'Server Core', 'Nano Server'."),
        "product_type": _string("ProductOptions ProductType: WinNT (client), ServerNT, LanmanNT (DC).",
                                ["WinNT", "ServerNT", "LanmanNT"]),
        "is_server": _boolean("True for Windows Server editions."),
        "language": _string("Installation UI language as a culture name, e.g. 'en-US'."),
        "computer_name": _string("The computer name (NetBIOS)."),
        "system_root": _string("Windows directory, e.g. 'C:\\Windows'."),
    }),
    "domain": _section("Domain membership and role.", {
        "joined": _boolean("True when the machine is a member of an Active Directory domain."),
        "dns_domain": _string("DNS name of the domain the machine belongs to."),
        "netbios_domain": _string("NetBIOS name of the domain, or the workgroup name when not joined."),
        "workgroup": _string("Workgroup name when not joined."),
        "domain_sid": _string("SID of the joined domain (SECURITY PolPrDmS), when joined."),
        "role": _string("Domain role as Win32_ComputerSystem reports it.", [
            "standalone_workstation", "member_workstation", "standalone_server", "member_server",
            "backup_domain_controller", "primary_domain_controller"]),
        "is_domain_controller": _boolean("True when the machine is a domain controller."),
        "site_name": _string("Active Directory site the machine last found (Netlogon DynamicSiteName)."),
    }),
    "pending": _section("Work Windows still has to finish at the next restart.", {
        "cbs_reboot_pending": _boolean(
            "Component Based Servicing RebootPending key is present."),
        "cbs_packages_pending": _boolean(
            "Component Based Servicing PackagesPending key is present (servicing in progress)."),
        "cbs_operations_in_progress": _boolean(
            "Servicing sessions or pending.xml show CBS operations that have not completed."),
        "windows_update_reboot_required": _boolean(
            "Windows Update Auto Update RebootRequired key is present."),
        "file_rename_operations": _integer(
            "Count of PendingFileRenameOperations (and ...2) entries, counted as source/target pairs."),
        "computer_rename_pending": _boolean(
            "ActiveComputerName differs from ComputerName (a rename waits for a restart)."),
    }),
    "bitlocker": _section("BitLocker state of the operating system volume.", {
        "os_volume": _string("Mount point of the OS volume, e.g. 'C:'."),
        "protection_status": _string("Protection of the OS volume.", ["on", "off", "unknown"]),
        "volume_status": _string("Encryption status of the OS volume.", [
            "fully_decrypted", "fully_encrypted", "encryption_in_progress", "decryption_in_progress",
            "encryption_paused", "decryption_paused", "unknown"]),
        "encryption_percentage": _integer("Percentage of the OS volume that is encrypted."),
        "encrypted_offline": _boolean(
            "The image's volume carries a BitLocker (-FVE-FS-) header (offline gatherer)."),
    }),
    "appx": _section("Store (Appx/MSIX) packages per user and provisioned for all users.", {
        "packages": _objects("Packages installed per user.", {
            "name": {"type": "string"}, "package_full_name": {"type": "string"},
            "version": {"type": ["string", "null"]}, "architecture": {"type": ["string", "null"]},
            "users": {"type": "array", "items": {"type": "object"}},
            "is_framework": {"type": ["boolean", "null"]},
            "non_removable": {"type": ["boolean", "null"]},
            "signature_kind": {"type": ["string", "null"]},
        }),
        "provisioned": _objects("Packages provisioned for all users (Get-AppxProvisionedPackage).", {
            "display_name": {"type": "string"}, "package_name": {"type": "string"},
            "version": {"type": ["string", "null"]},
        }),
        "user_not_provisioned": _objects(
            "Computed: packages installed for a user whose exact version is not provisioned for all "
            "users and that are neither frameworks nor system (non-removable) packages: the set that "
            "makes sysprep fail.", {
                "name": {"type": "string"}, "package_full_name": {"type": "string"},
                "users": {"type": "array", "items": {"type": "string"}},
            }),
        "store_auto_download": _integer(
            "Policies\\Microsoft\\WindowsStore AutoDownload (2 = updates off, 4 = on), None when unset."),
    }),
    "licensing": _section("Windows licensing as sysprep's rearm sees it.", {
        "remaining_rearm_count": _integer("Remaining Windows rearm count (slmgr /dlv)."),
        "skip_rearm": _integer("SoftwareProtectionPlatform SkipRearm (1 = rearm skipped)."),
        "license_status": _string("Licensing status of Windows, e.g. 'licensed', 'notification'."),
    }),
    "setup": _section("Setup and image state.", {
        "image_state": _string("ImageState from Setup\\State (State.ini or registry), e.g. "
                               "IMAGE_STATE_COMPLETE, IMAGE_STATE_GENERALIZE_RESEAL_TO_OOBE."),
        "generalization_state": _integer("Setup\\Status\\SysprepStatus GeneralizationState (7 = ready)."),
        "cleanup_state": _integer("Setup\\Status\\SysprepStatus CleanupState."),
        "system_setup_in_progress": _boolean("SYSTEM Setup SystemSetupInProgress."),
        "oobe_in_progress": _boolean("SYSTEM Setup OOBEInProgress."),
        "audit_mode": _boolean("The machine runs in audit mode (Setup AuditInProgress or ImageState)."),
        "upgraded": _boolean("Windows was upgraded in place from an earlier version."),
        "upgrade_history": _strings("Earlier versions this installation was upgraded from."),
        "sysprep_running": _boolean("A sysprep.exe process is running now (online gatherer)."),
    }),
    "roles": _section("Installed server roles and features that sysprep cares about.", {
        "installed": _strings("Names of every installed role, role service and feature (Get-WindowsFeature Name); "
                              "some features, such as Failover-Clustering, matter to sysprep too."),
        "hyperv": _boolean("The Hyper-V role is installed."),
        "nps": _boolean("Network Policy Server is installed."),
        "nps_radius_clients": _integer("Number of RADIUS clients in the NPS configuration."),
        "nps_remote_server_groups": _integer("Number of remote RADIUS server groups in NPS."),
    }),
    "hyperv": _section("Hyper-V details when the machine runs the Hyper-V role.", {
        "vms": _objects("Virtual machines registered on this host.", {
            "name": {"type": "string"}, "state": {"type": ["string", "null"]},
            "checkpoints": {"type": ["integer", "null"]},
        }),
        "switches": _objects("Virtual switches.", {
            "name": {"type": "string"}, "type": {"type": ["string", "null"]},
            "adapter": {"type": ["string", "null"]},
        }),
        "mac_address_minimum": _string("Dynamic MAC address range start (MacAddressMinimum)."),
        "mac_address_maximum": _string("Dynamic MAC address range end (MacAddressMaximum)."),
        "hypervisor_launch_type": _string("BCD hypervisorlaunchtype of the current boot entry."),
    }),
    "answer_files": _section("Answer files left on the disk.", {
        "files": _objects("Each answer file found.", {
            "path": {"type": "string"},
            "contains_password": {"type": "boolean"},
            "password_elements": {"type": "array", "items": {"type": "string"}},
            "autologon": {"type": ["boolean", "null"]},
        }),
    }),
    "autologon": _section("Winlogon auto-logon settings.", {
        "enabled": _boolean("AutoAdminLogon is 1."),
        "username": _string("DefaultUserName."),
        "domain": _string("DefaultDomainName."),
        "password_stored": _boolean("DefaultPassword is present (the value itself is never read out)."),
        "logon_count": _integer("AutoLogonCount."),
    }),
    "profiles": _section("Local user profiles (ProfileList).", {
        "users": _objects("Profiles other than the well-known service profiles.", {
            "sid": {"type": "string"}, "username": {"type": ["string", "null"]},
            "path": {"type": ["string", "null"]}, "is_builtin_administrator": {"type": ["boolean", "null"]},
        }),
    }),
    "disk": _section("The system volume.", {
        "system_drive": _string("System drive, e.g. 'C:'."),
        "free_bytes": _integer("Free space on the system volume in bytes."),
        "size_bytes": _integer("Size of the system volume in bytes."),
        "pagefile_present": _boolean("pagefile.sys exists at the volume root."),
        "hiberfil_present": _boolean("hiberfil.sys exists at the volume root."),
        "swapfile_present": _boolean("swapfile.sys exists at the volume root."),
    }),
    "virtualization": _section("Whether the machine is virtual and on which hypervisor.", {
        "is_virtual": _boolean("The machine is a virtual machine."),
        "hypervisor_vendor": _string("Hypervisor the machine runs on.", [
            "hyperv", "vmware", "kvm", "xen", "virtualbox", "other", "none"]),
        "manufacturer": _string("System manufacturer."),
        "model": _string("System model (the driver store is keyed by it)."),
        "guest_tools": _strings("Installed guest integration software (VMware Tools, QEMU guest agent ...)."),
    }),
    "connection": _section("Who ran the gatherer (the domain unjoin must not lock it out).", {
        "user": _string("Account name as DOMAIN\\user."),
        "sid": _string("SID of the account."),
        "is_domain_account": _boolean("The account belongs to a domain, not to this machine."),
        "is_local_administrator": _boolean("The account is in the local Administrators group."),
        "authentication": _string("How the session was authenticated, e.g. 'Kerberos', 'NTLM'."),
    }),
}

GATHERER = {
    "type": "object",
    "description": "Which gatherer produced the facts, from what, and when.",
    "properties": {
        "kind": {"type": "string", "enum": ["online", "offline", "recorded"]},
        "name": {"type": "string", "description": "Module name, e.g. winimage.generalize.readiness_facts."},
        "source": {"type": ["string", "null"], "description": "Host name, or the image path and index."},
        "gathered_at": {"type": ["string", "null"], "description": "UTC time, ISO 8601."},
    },
    "required": ["kind", "name"],
    "additionalProperties": True,
}

FACTS_SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": "https://github.com/winimage/generalize/schemas/facts.schema.json",
    "title": "winimage.generalize readiness facts",
    "description": "A Windows installation as sysprep sees it. Version " + SCHEMA_VERSION + ".",
    "type": "object",
    "properties": dict(
        schema_version={"type": "string", "const": SCHEMA_VERSION},
        gatherer=GATHERER,
        errors={"type": "object", "additionalProperties": {"type": "string"},
                "description": "Section name -> why its probe failed."},
        unavailable={"type": "object", "additionalProperties": {"type": "string"},
                     "description": "Dotted field path -> why this gatherer cannot know it."},
        **SECTIONS
    ),
    "required": ["schema_version", "gatherer", "errors", "unavailable"] + sorted(SECTIONS),
    "additionalProperties": False,
}


def field_paths():
    """Every dotted leaf path of the schema, e.g. 'os.build', 'appx.packages'."""
    return sorted(
        "%s.%s" % (section, field)
        for section, schema in SECTIONS.items()
        for field in schema["properties"]
    )


def empty_facts(kind, name, source=None, gathered_at=None):
    """A facts document with every section present and every field unknown (None)."""
    facts = {
        "schema_version": SCHEMA_VERSION,
        "gatherer": {"kind": kind, "name": name, "source": source, "gathered_at": gathered_at},
        "errors": {},
        "unavailable": {},
    }
    for section, schema in SECTIONS.items():
        facts[section] = dict.fromkeys(schema["properties"])
    return facts


def get_field(facts, path):
    """Value at a dotted path, or None when the section or field is absent."""
    section, dummy, field = path.partition(".")
    return (facts.get(section) or {}).get(field)


def missing_reason(facts, path):
    """Why a field has no value: the gatherer's reason, the section's error, or 'not gathered'."""
    section = path.partition(".")[0]
    return (
        facts.get("unavailable", {}).get(path)
        or facts.get("errors", {}).get(section)
        or "not gathered"
    )


def json_schema():
    """A deep copy of the JSON Schema (callers may not mutate the module's copy)."""
    return copy.deepcopy(FACTS_SCHEMA)
