# Copyright: (c) 2026, winimage.generalize contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The rules engine: every rule on known, boundary and missing facts; full recorded machines."""

from __future__ import annotations

import copy
import json
import pathlib

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ansible_collections.winimage.generalize.plugins.module_utils import facts_schema, finding_catalog, rules
from ansible_collections.winimage.generalize.plugins.module_utils.facts_schema import empty_facts

GIB = 1024 ** 3
FACTS_DIR = pathlib.Path(__file__).resolve().parents[3] / "data" / "facts"
SECRET = "Hunter2-never-in-a-finding"
GENERALIZED = "IMAGE_STATE_GENERALIZE_RESEAL_TO_OOBE"


def clean(phase="preflight", kind="online"):
    """A Windows 10 22H2 client on which no rule fires in ``phase``."""
    facts = empty_facts(kind, "winimage.generalize.readiness_facts", "ref01", "2026-03-01T10:00:00Z")
    facts["os"].update(product_name="Windows 10 Enterprise", edition_id="Enterprise", build=19045, ubr=4046,
                       display_version="22H2", architecture="amd64", installation_type="Client",
                       product_type="WinNT", language="en-US", computer_name="REF01", system_root="C:\\Windows")
    facts["domain"].update(joined=False, netbios_domain="WORKGROUP", workgroup="WORKGROUP",
                           role="standalone_workstation")
    facts["pending"].update(cbs_reboot_pending=False, cbs_packages_pending=False, cbs_operations_in_progress=False,
                            windows_update_reboot_required=False, file_rename_operations=0,
                            computer_rename_pending=False)
    facts["bitlocker"].update(os_volume="C:", protection_status="off", volume_status="fully_decrypted",
                              encryption_percentage=0)
    facts["appx"].update(packages=[], provisioned=[], store_auto_download=2)
    facts["licensing"].update(remaining_rearm_count=1001, skip_rearm=0, license_status="licensed")
    facts["setup"].update(image_state=GENERALIZED if phase == "verify" else "IMAGE_STATE_COMPLETE",
                          generalization_state=7, cleanup_state=2, system_setup_in_progress=False,
                          oobe_in_progress=False, audit_mode=False, upgraded=False, upgrade_history=[],
                          sysprep_running=False)
    facts["roles"].update(hyperv=False, nps=False)
    facts["answer_files"]["files"] = []
    facts["autologon"].update(enabled=False, username="Administrator", domain="REF01", password_stored=False)
    facts["profiles"]["users"] = [{"sid": "S-1-5-21-1-2-3-500", "username": "Administrator",
                                   "path": "C:\\Users\\Administrator", "is_builtin_administrator": True}]
    facts["disk"].update(system_drive="C:", free_bytes=40 * GIB, size_bytes=60 * GIB, pagefile_present=False,
                         hiberfil_present=False, swapfile_present=False)
    facts["virtualization"].update(is_virtual=True, hypervisor_vendor="hyperv")
    facts["connection"].update(user="REF01\\Administrator", is_domain_account=False, is_local_administrator=True)
    return facts


def server(version, build, phase="preflight"):
    facts = clean(phase)
    facts["os"].update(product_name="Windows Server", edition_id="ServerStandard", version=version, build=build,
                       installation_type="Server", product_type="ServerNT")
    facts["domain"]["role"] = "standalone_server"
    facts["roles"]["installed"] = []
    return facts


def hyperv_host(version="10.0", build=20348):
    facts = server(version, build)
    facts["roles"].update(installed=["Hyper-V"], hyperv=True)
    facts["hyperv"].update(vms=[], switches=[], mac_address_minimum="00155D0A3C00",
                           mac_address_maximum="00155D0A3CFF", hypervisor_launch_type="Auto")
    return facts


def apply(facts, changes):
    for path, value in changes.items():
        section, dummy, field = path.partition(".")
        if field:
            facts[section][field] = value
        else:
            facts[section] = value
    return facts


def by_id(findings):
    ids = [f["id"] for f in findings]
    assert len(ids) == len(set(ids)), "one finding per id: %s" % ids
    return {f["id"]: f for f in findings}


def run(facts, phase="preflight", **options):
    return by_id(rules.evaluate(facts, phase, options))


# --------------------------------------------------------------------------- the clean baselines

@pytest.mark.parametrize("phase", rules.PHASES)
def test_clean_machine_has_no_findings(phase):
    assert rules.evaluate(clean(phase), phase) == []


def test_clean_hyperv_host_has_no_findings():
    assert rules.evaluate(hyperv_host()) == []


# --------------------------------------------------------------------------- one table, every rule

FAIL, UNKNOWN = "fail", "unknown"
B, W, I = "blocker", "warning", "info"
VMS = [{"name": "web01", "state": "Running", "checkpoints": 0}]

# (finding id, base facts, phase, changes, options, expected (status, severity) or None)
CASES = [
    # domain_joined
    ("domain_joined", clean, "preflight", {"domain.joined": True, "domain.dns_domain": "corp.example.com"}, {},
     (FAIL, W)),
    ("domain_joined", clean, "preflight", {"domain.joined": None, "domain.role": None}, {}, (UNKNOWN, W)),
    ("domain_joined", clean, "preflight", {"domain.role": "member_workstation", "domain.joined": None}, {},
     (FAIL, W)),
    ("domain_joined", clean, "preflight", {"domain.domain_sid": "S-1-5-21-9-9-9"}, {}, None),
    ("domain_joined", clean, "verify", {"domain.joined": True}, {}, (FAIL, B)),
    ("domain_joined", clean, "verify", {"domain.domain_sid": "S-1-5-21-9-9-9"}, {}, (FAIL, B)),
    ("domain_joined", clean, "verify", {"domain.dns_domain": "corp.example.com"}, {}, (FAIL, B)),
    ("domain_joined", clean, "verify", {"domain.site_name": "HQ"}, {}, (FAIL, B)),
    ("domain_joined", clean, "verify", {"domain.joined": None, "domain.role": None}, {}, (UNKNOWN, B)),
    ("domain_joined", clean, "verify", {"domain.joined": None, "domain.role": None, "domain.site_name": "HQ"}, {},
     (FAIL, B)),
    # domain_controller
    ("domain_controller", clean, "preflight", {"os.product_type": "LanmanNT"}, {}, (FAIL, B)),
    ("domain_controller", clean, "verify", {"domain.role": "backup_domain_controller"}, {}, (FAIL, B)),
    ("domain_controller", clean, "preflight", {"os.product_type": None, "domain.role": None}, {}, (UNKNOWN, B)),
    ("domain_controller", clean, "verify", {"os.product_type": None, "domain.role": None}, {}, (UNKNOWN, B)),
    ("domain_controller", clean, "preflight", {"os.product_type": None, "domain.role": None,
                                               "domain.is_domain_controller": False}, {}, None),
    # pending_reboot
    ("pending_reboot", clean, "preflight", {"pending.cbs_reboot_pending": True}, {}, (FAIL, B)),
    ("pending_reboot", clean, "preflight", {"pending.windows_update_reboot_required": True}, {}, (FAIL, B)),
    ("pending_reboot", clean, "preflight", {"pending.file_rename_operations": 1}, {}, (FAIL, B)),
    ("pending_reboot", clean, "preflight", {"pending.computer_rename_pending": True}, {}, (FAIL, B)),
    ("pending_reboot", clean, "preflight", {"pending.computer_rename_pending": None}, {}, None),
    ("pending_reboot", clean, "preflight", {"pending.file_rename_operations": None}, {}, (UNKNOWN, B)),
    ("pending_reboot", clean, "preflight", {"pending.file_rename_operations": None,
                                            "pending.cbs_reboot_pending": True}, {}, (FAIL, B)),
    # pending_servicing
    ("pending_servicing", clean, "preflight", {"pending.cbs_packages_pending": True}, {}, (FAIL, B)),
    ("pending_servicing", clean, "preflight", {"pending.cbs_operations_in_progress": True}, {}, (FAIL, B)),
    ("pending_servicing", clean, "preflight", {"pending.cbs_packages_pending": None}, {}, (UNKNOWN, B)),
    # pending_work_captured
    ("pending_work_captured", clean, "verify", {"pending.file_rename_operations": 2}, {}, (FAIL, W)),
    ("pending_work_captured", clean, "verify", {"pending.cbs_packages_pending": True}, {}, (FAIL, W)),
    ("pending_work_captured", clean, "verify", {"pending.cbs_reboot_pending": None}, {}, (UNKNOWN, W)),
    ("pending_work_captured", clean, "verify", {"pending.computer_rename_pending": None}, {}, None),
    ("pending_work_captured", clean, "verify", {"pending.computer_rename_pending": True}, {}, None),
    # bitlocker_on
    ("bitlocker_on", clean, "preflight", {"bitlocker.protection_status": "on"}, {}, (FAIL, B)),
    ("bitlocker_on", clean, "preflight", {"bitlocker.volume_status": "encryption_in_progress"}, {}, (FAIL, B)),
    ("bitlocker_on", clean, "preflight", {"bitlocker.volume_status": "decryption_paused"}, {}, (FAIL, B)),
    ("bitlocker_on", clean, "preflight", {"bitlocker.volume_status": None, "bitlocker.encryption_percentage": 40},
     {}, (FAIL, B)),
    ("bitlocker_on", clean, "verify", {"bitlocker.encrypted_offline": True}, {}, (FAIL, B)),
    ("bitlocker_on", clean, "preflight", {"bitlocker.volume_status": None, "bitlocker.encryption_percentage": None},
     {}, (UNKNOWN, B)),
    ("bitlocker_on", clean, "verify", {"bitlocker.protection_status": None, "bitlocker.volume_status": None,
                                       "bitlocker.encryption_percentage": None, "bitlocker.encrypted_offline": False},
     {}, None),
    ("bitlocker_on", clean, "preflight", {"bitlocker.volume_status": None}, {}, None),  # 0 % encrypted
    ("bitlocker_on", clean, "preflight", {"bitlocker.protection_status": "off", "bitlocker.volume_status": None,
                                          "bitlocker.encryption_percentage": None}, {}, (UNKNOWN, B)),
    # appx_user_not_provisioned
    ("appx_user_not_provisioned", clean, "preflight",
     {"appx.user_not_provisioned": [{"name": "A", "package_full_name": "A_1.0.0.0_x64__p", "users": ["u"]}]},
     {}, (FAIL, B)),
    ("appx_user_not_provisioned", clean, "preflight", {"appx.packages": None}, {}, (UNKNOWN, B)),
    ("appx_user_not_provisioned", clean, "preflight", {"appx.packages": None, "os.build": 7601}, {}, None),
    ("appx_user_not_provisioned", clean, "preflight", {"appx.packages": None, "os.build": 9200}, {}, (UNKNOWN, B)),
    ("appx_user_not_provisioned", clean, "preflight", {"appx.packages": None, "os.build": None}, {}, (UNKNOWN, B)),
    # rearm_exhausted
    ("rearm_exhausted", clean, "preflight", {"licensing.remaining_rearm_count": 0}, {}, (FAIL, B)),
    ("rearm_exhausted", clean, "preflight", {"licensing.remaining_rearm_count": 0, "os.build": 7601}, {}, (FAIL, B)),
    ("rearm_exhausted", clean, "preflight", {"licensing.remaining_rearm_count": 1, "os.build": 7601}, {}, None),
    ("rearm_exhausted", clean, "preflight", {"licensing.remaining_rearm_count": 1}, {}, None),
    ("rearm_exhausted", clean, "preflight", {"licensing.remaining_rearm_count": None}, {}, (UNKNOWN, B)),
    ("rearm_exhausted", clean, "preflight", {"licensing.remaining_rearm_count": "3"}, {}, (UNKNOWN, B)),
    ("rearm_exhausted", clean, "preflight", {"licensing.remaining_rearm_count": 0, "licensing.skip_rearm": 1},
     {}, (FAIL, B)),
    ("rearm_exhausted", clean, "preflight", {"licensing.remaining_rearm_count": 0, "licensing.skip_rearm": 1},
     {"allow_skip_rearm": True}, (FAIL, W)),
    ("rearm_exhausted", clean, "preflight", {"licensing.remaining_rearm_count": 0},
     {"allow_skip_rearm": True}, (FAIL, B)),
    # rearm_low
    ("rearm_low", clean, "preflight", {"licensing.remaining_rearm_count": 1, "os.build": 7601}, {}, (FAIL, W)),
    ("rearm_low", clean, "preflight", {"licensing.remaining_rearm_count": 1}, {}, (FAIL, W)),
    ("rearm_low", clean, "preflight", {"licensing.remaining_rearm_count": 2, "os.build": 7601}, {}, None),
    ("rearm_low", clean, "preflight", {"licensing.remaining_rearm_count": 2, "os.build": 7601},
     {"low_rearm_count": 2}, (FAIL, W)),
    ("rearm_low", clean, "preflight", {"licensing.remaining_rearm_count": 1}, {"low_rearm_count": 0}, None),
    ("rearm_low", clean, "preflight", {"licensing.remaining_rearm_count": 1, "licensing.skip_rearm": 1}, {}, None),
    ("rearm_low", clean, "preflight", {"licensing.remaining_rearm_count": 0}, {}, None),
    ("rearm_low", clean, "preflight", {"licensing.remaining_rearm_count": None}, {}, None),
    # skip_rearm_enabled
    ("skip_rearm_enabled", clean, "preflight", {"licensing.skip_rearm": 1}, {}, (FAIL, W)),
    ("skip_rearm_enabled", clean, "verify", {"licensing.skip_rearm": 1}, {}, (FAIL, B)),
    ("skip_rearm_enabled", clean, "preflight", {"licensing.skip_rearm": None}, {}, (UNKNOWN, W)),
    ("skip_rearm_enabled", clean, "verify", {"licensing.skip_rearm": None}, {}, (UNKNOWN, B)),
    ("skip_rearm_enabled", clean, "preflight", {"licensing.skip_rearm": 1}, {"allow_skip_rearm": True}, (FAIL, I)),
    ("skip_rearm_enabled", clean, "verify", {"licensing.skip_rearm": 1}, {"allow_skip_rearm": True}, (FAIL, W)),
    # upgraded_install
    ("upgraded_install", clean, "preflight", {"setup.upgraded": True}, {}, None),  # 19045 client: supported
    ("upgraded_install", clean, "preflight", {"setup.upgraded": True, "os.build": 14393}, {}, None),
    ("upgraded_install", clean, "preflight", {"setup.upgraded": True, "os.build": 10586}, {}, (FAIL, B)),
    ("upgraded_install", clean, "preflight", {"setup.upgraded": True, "os.build": 9600}, {}, (FAIL, B)),
    ("upgraded_install", clean, "preflight", {"setup.upgraded": True, "os.product_type": "ServerNT"}, {},
     (FAIL, B)),
    ("upgraded_install", clean, "preflight", {"setup.upgraded": True, "os.build": None}, {}, (UNKNOWN, B)),
    ("upgraded_install", clean, "preflight", {"setup.upgraded": True, "os.product_type": None,
                                              "os.installation_type": None}, {}, (UNKNOWN, B)),
    ("upgraded_install", clean, "preflight", {"setup.upgraded": None}, {}, (UNKNOWN, B)),
    # already_generalized
    ("already_generalized", clean, "preflight", {"setup.image_state": GENERALIZED}, {}, (FAIL, I)),
    ("already_generalized", clean, "preflight", {"setup.image_state": "IMAGE_STATE_GENERALIZE_RESEAL_TO_AUDIT"}, {},
     (FAIL, I)),
    ("already_generalized", clean, "preflight", {"setup.image_state": None}, {}, None),
    # image_undeployable
    ("image_undeployable", clean, "preflight", {"setup.image_state": "IMAGE_STATE_UNDEPLOYABLE"}, {}, (FAIL, B)),
    ("image_undeployable", clean, "preflight", {"setup.image_state": "IMAGE_STATE_UNDEPLOYABLE",
                                                "setup.sysprep_running": True}, {}, None),
    ("image_undeployable", clean, "preflight", {"setup.image_state": None}, {}, (UNKNOWN, B)),
    ("image_undeployable", clean, "preflight", {"setup.image_state": "IMAGE_STATE_SPECIALIZE_RESEAL_TO_AUDIT"}, {},
     None),
    # sysprep_already_running
    ("sysprep_already_running", clean, "preflight", {"setup.sysprep_running": True}, {}, (FAIL, B)),
    ("sysprep_already_running", clean, "preflight", {"setup.sysprep_running": None}, {}, (UNKNOWN, B)),
    ("sysprep_already_running", clean, "preflight", {"setup.sysprep_running": None,
                                                     "gatherer": {"kind": "offline", "name": "image_facts"}}, {}, None),
    # not_generalized
    ("not_generalized", clean, "verify", {"setup.image_state": "IMAGE_STATE_COMPLETE"}, {}, (FAIL, B)),
    ("not_generalized", clean, "verify", {"setup.image_state": "IMAGE_STATE_GENERALIZE_RESEAL_TO_AUDIT"}, {},
     (FAIL, B)),
    ("not_generalized", clean, "verify", {"setup.image_state": "IMAGE_STATE_UNDEPLOYABLE"}, {}, (FAIL, B)),
    ("not_generalized", clean, "verify", {"setup.image_state": "IMAGE_STATE_SPECIALIZE_RESEAL_TO_OOBE"}, {},
     (FAIL, B)),
    ("not_generalized", clean, "verify", {"setup.image_state": "SOMETHING_NEW"}, {}, (FAIL, B)),
    ("not_generalized", clean, "verify", {"setup.image_state": None}, {}, (UNKNOWN, B)),
    # unsupported_server_role (Microsoft's table per version)
    ("unsupported_server_role", clean, "preflight", {"roles.installed": ["AD-Domain-Services"]}, {}, None),
    ("unsupported_server_role", lambda: server("6.3", 9600), "preflight",
     {"roles.installed": ["AD-Certificate", "ADCS-Cert-Authority"]}, {}, (FAIL, B)),
    ("unsupported_server_role", lambda: server("6.3", 9600), "preflight", {"roles.installed": ["ADCS-Web-Enrollment"]},
     {}, (FAIL, B)),
    ("unsupported_server_role", lambda: server("6.0", 6002), "preflight", {"roles.installed": ["DHCP"]}, {}, None),
    ("unsupported_server_role", lambda: server("6.1", 7601), "preflight", {"roles.installed": ["DHCP"]}, {}, (FAIL, B)),
    ("unsupported_server_role", lambda: server("10.0", 26100), "preflight", {"roles.installed": ["DHCP"]}, {},
     (FAIL, B)),
    ("unsupported_server_role", lambda: server("6.0", 6002), "preflight", {"roles.installed": ["Print-Services"]}, {},
     (FAIL, B)),
    ("unsupported_server_role", lambda: server("6.1", 7601), "preflight", {"roles.installed": ["Print-Services"]}, {},
     None),
    ("unsupported_server_role", lambda: server("6.0", 6002), "preflight", {"roles.installed": ["File-Services"]}, {},
     (FAIL, B)),
    ("unsupported_server_role", lambda: server("10.0", 20348), "preflight",
     {"roles.installed": ["FileAndStorage-Services", "File-Services", "FS-FileServer"]}, {}, None),
    ("unsupported_server_role", lambda: server("6.1", 7601), "preflight", {"roles.installed": ["WDS"]}, {}, (FAIL, B)),
    ("unsupported_server_role", lambda: server("6.3", 9600), "preflight", {"roles.installed": ["WDS"]}, {},
     (UNKNOWN, B)),
    ("unsupported_server_role", lambda: server("6.3", 9600), "preflight", {"roles.installed": ["WDS", "Fax"]}, {},
     (FAIL, B)),
    ("unsupported_server_role", lambda: server("10.0", 20348), "preflight", {"roles.installed": ["NPAS"]}, {}, None),
    ("unsupported_server_role", lambda: server("6.1", 7601), "preflight", {"roles.installed": ["NPAS-Policy-Server"]},
     {}, None),
    ("unsupported_server_role", lambda: server("6.1", 7601), "preflight", {"roles.installed": ["NPAS-Health"]}, {},
     (FAIL, B)),
    ("unsupported_server_role", lambda: server("6.1", 7601), "preflight", {"roles.installed": ["OOB-WSUS"]}, {},
     (FAIL, B)),
    ("unsupported_server_role", lambda: server("10.0", 17763), "preflight",
     {"roles.installed": ["UpdateServices", "UpdateServices-WidDB"]}, {}, (FAIL, B)),
    ("unsupported_server_role", lambda: server("6.0", 6002), "preflight", {"roles.installed": ["UDDI-Services"]}, {},
     (FAIL, B)),
    ("unsupported_server_role", lambda: server("10.0", 20348), "preflight",
     {"roles.installed": ["ad-domain-services"]}, {}, (FAIL, B)),
    ("unsupported_server_role", lambda: server("10.0", 20348), "preflight",
     {"roles.installed": ["ADLDS", "ADRMS", "ADFS-Federation"]}, {}, (FAIL, B)),
    ("unsupported_server_role", lambda: server("10.0", 20348), "preflight",
     {"roles.installed": ["Web-Server", "Hyper-V", "DNS", "RDS-RD-Server", "Application-Server", "VolumeActivation"]},
     {}, None),
    ("unsupported_server_role", lambda: server("10.0", 20348), "preflight", {"roles.installed": None}, {},
     (UNKNOWN, B)),
    ("unsupported_server_role", lambda: server("10.0", 20348), "preflight", {"roles.installed": "AD-Domain-Services"},
     {}, (UNKNOWN, B)),
    ("unsupported_server_role", clean, "preflight", {"os.product_type": None, "os.installation_type": None}, {},
     (UNKNOWN, B)),
    ("unsupported_server_role", lambda: server(None, None), "preflight", {"roles.installed": ["AD-Domain-Services"]},
     {}, (FAIL, B)),
    ("unsupported_server_role", lambda: server(None, None), "preflight", {"roles.installed": ["DHCP"]}, {},
     (UNKNOWN, B)),
    # nps_radius_config
    ("nps_radius_config", lambda: server("10.0", 20348), "preflight",
     {"roles.nps": True, "roles.nps_radius_clients": 2, "roles.nps_remote_server_groups": 0}, {}, (FAIL, W)),
    ("nps_radius_config", lambda: server("10.0", 20348), "preflight",
     {"roles.nps": True, "roles.nps_radius_clients": 0, "roles.nps_remote_server_groups": 1}, {}, (FAIL, W)),
    ("nps_radius_config", lambda: server("10.0", 20348), "preflight",
     {"roles.nps": True, "roles.nps_radius_clients": 0, "roles.nps_remote_server_groups": 0}, {}, None),
    ("nps_radius_config", lambda: server("10.0", 20348), "preflight",
     {"roles.nps": True, "roles.nps_radius_clients": None, "roles.nps_remote_server_groups": 0}, {}, (UNKNOWN, W)),
    ("nps_radius_config", lambda: server("10.0", 20348), "preflight",
     {"roles.installed": ["NPAS"], "roles.nps": None, "roles.nps_radius_clients": 1}, {}, (FAIL, W)),
    ("nps_radius_config", lambda: server("10.0", 20348), "preflight",
     {"roles.installed": None, "roles.nps": None, "roles.nps_radius_clients": 1}, {}, None),
    ("nps_radius_config", clean, "preflight", {"roles.nps_radius_clients": 4}, {}, None),
    # hyperv_vms_present
    ("hyperv_vms_present", hyperv_host, "preflight", {"hyperv.vms": VMS}, {}, (FAIL, B)),
    ("hyperv_vms_present", hyperv_host, "preflight", {"hyperv.vms": VMS}, {"allow_hyperv_vms": True}, (FAIL, W)),
    ("hyperv_vms_present", hyperv_host, "preflight", {"hyperv.vms": None}, {}, (UNKNOWN, B)),
    ("hyperv_vms_present", hyperv_host, "preflight", {"roles.hyperv": None, "roles.installed": None}, {},
     (UNKNOWN, B)),
    ("hyperv_vms_present", clean, "preflight", {"hyperv.vms": VMS}, {}, None),
    # checkpoints_present
    ("checkpoints_present", hyperv_host, "preflight",
     {"hyperv.vms": [{"name": "web01", "state": "Off", "checkpoints": 3}]}, {}, (FAIL, B)),
    ("checkpoints_present", hyperv_host, "preflight",
     {"hyperv.vms": [{"name": "web01", "state": "Off", "checkpoints": 3}]}, {"allow_hyperv_vms": True}, (FAIL, B)),
    ("checkpoints_present", hyperv_host, "preflight", {"hyperv.vms": VMS}, {}, None),
    ("checkpoints_present", hyperv_host, "preflight",
     {"hyperv.vms": [{"name": "web01", "state": "Off", "checkpoints": None}]}, {}, (UNKNOWN, B)),
    ("checkpoints_present", hyperv_host, "preflight", {"hyperv.vms": None}, {}, (UNKNOWN, B)),
    ("checkpoints_present", hyperv_host, "preflight", {"roles.hyperv": None, "roles.installed": None}, {},
     (UNKNOWN, B)),
    # hyperv_external_switch / hyperv_internal_switch
    ("hyperv_external_switch", hyperv_host, "preflight",
     {"hyperv.switches": [{"name": "LAN", "type": "External", "adapter": "NIC1"}]}, {}, (FAIL, W)),
    ("hyperv_external_switch", hyperv_host, "preflight",
     {"hyperv.switches": [{"name": "NAT", "type": "Internal", "adapter": None}]}, {}, None),
    ("hyperv_external_switch", hyperv_host, "preflight", {"hyperv.switches": None}, {}, (UNKNOWN, W)),
    ("hyperv_external_switch", hyperv_host, "preflight", {"roles.hyperv": None, "roles.installed": None,
                                                          "hyperv.switches": None}, {}, None),
    ("hyperv_internal_switch", hyperv_host, "preflight",
     {"hyperv.switches": [{"name": "NAT", "type": "Internal", "adapter": None}]}, {}, (FAIL, W)),
    ("hyperv_internal_switch", hyperv_host, "preflight",
     {"hyperv.switches": [{"name": "Lab", "type": "private", "adapter": None}]}, {}, (FAIL, W)),
    ("hyperv_internal_switch", hyperv_host, "preflight",
     {"hyperv.switches": [{"name": "LAN", "type": "External", "adapter": "NIC1"}]}, {}, None),
    ("hyperv_internal_switch", hyperv_host, "preflight", {"hyperv.switches": None}, {}, (UNKNOWN, W)),
    # hyperv_mac_range
    ("hyperv_mac_range", lambda: hyperv_host("6.0", 6002), "preflight", {}, {}, (FAIL, W)),
    ("hyperv_mac_range", lambda: hyperv_host("6.1", 7601), "preflight", {}, {}, None),
    ("hyperv_mac_range", lambda: hyperv_host(None, None), "preflight", {}, {}, (UNKNOWN, W)),
    ("hyperv_mac_range", lambda: server("6.0", 6002), "preflight", {}, {}, None),
    # low_disk_space: the threshold itself passes
    ("low_disk_space", clean, "preflight", {"disk.free_bytes": 15 * GIB}, {}, None),
    ("low_disk_space", clean, "preflight", {"disk.free_bytes": 15 * GIB - 1}, {}, (FAIL, W)),
    ("low_disk_space", clean, "preflight", {"disk.free_bytes": 16 * GIB}, {"min_free_bytes": "20 GiB"}, (FAIL, W)),
    ("low_disk_space", clean, "preflight", {"disk.free_bytes": 20 * GIB}, {"min_free_bytes": "20G"}, None),
    ("low_disk_space", clean, "preflight", {"disk.free_bytes": 0}, {"min_free_bytes": 0}, None),
    ("low_disk_space", clean, "preflight", {"disk.free_bytes": None}, {}, (UNKNOWN, W)),
    # swap_files_captured
    ("swap_files_captured", clean, "verify", {"disk.pagefile_present": True}, {}, (FAIL, W)),
    ("swap_files_captured", clean, "verify", {"disk.swapfile_present": True}, {}, (FAIL, W)),
    ("swap_files_captured", clean, "verify", {"disk.hiberfil_present": None}, {}, (UNKNOWN, W)),
    ("swap_files_captured", clean, "preflight", {"disk.pagefile_present": True}, {}, None),
    # answer_file_secrets
    ("answer_file_secrets", clean, "preflight",
     {"answer_files.files": [{"path": "C:\\unattend.xml", "contains_password": True,
                              "password_elements": ["AdministratorPassword"]}]}, {}, (FAIL, W)),
    ("answer_file_secrets", clean, "verify",
     {"answer_files.files": [{"path": "C:\\unattend.xml", "contains_password": True,
                              "password_elements": ["AdministratorPassword"]}]}, {}, (FAIL, B)),
    ("answer_file_secrets", clean, "verify",
     {"answer_files.files": [{"path": "C:\\unattend.xml", "contains_password": False, "password_elements": []}]},
     {}, None),
    ("answer_file_secrets", clean, "verify", {"answer_files.files": [{"path": "C:\\unattend.xml"}]}, {},
     (UNKNOWN, B)),
    ("answer_file_secrets", clean, "verify", {"answer_files.files": None}, {}, (UNKNOWN, B)),
    ("answer_file_secrets", clean, "preflight", {"answer_files.files": None}, {}, (UNKNOWN, W)),
    # autologon_secret
    ("autologon_secret", clean, "preflight", {"autologon.password_stored": True}, {}, (FAIL, W)),
    ("autologon_secret", clean, "verify", {"autologon.password_stored": True, "autologon.enabled": True}, {},
     (FAIL, B)),
    ("autologon_secret", clean, "verify", {"autologon.password_stored": None}, {}, (UNKNOWN, B)),
    ("autologon_secret", clean, "verify", {"autologon.enabled": True}, {}, None),
    # build_profile_leftover
    ("build_profile_leftover", clean, "verify", {"profiles.users": [
        {"sid": "S-1-5-21-1-2-3-1001", "username": "packer", "path": "C:\\Users\\packer"}]}, {}, None),
    ("build_profile_leftover", clean, "verify", {"profiles.users": [
        {"sid": "S-1-5-21-1-2-3-1001", "username": "packer", "path": "C:\\Users\\packer"}]},
     {"build_accounts": ["packer"]}, (FAIL, W)),
    ("build_profile_leftover", clean, "verify", {"profiles.users": [
        {"sid": "S-1-5-21-1-2-3-1001", "username": "packer", "path": "C:\\Users\\packer"}]},
     {"build_accounts": ["CORP\\Packer"]}, (FAIL, W)),
    ("build_profile_leftover", clean, "verify", {"profiles.users": [
        {"sid": "S-1-5-21-9-9-9-1107", "username": "CORP\\packer", "path": "C:\\Users\\packer"}]},
     {"build_accounts": ["PACKER"]}, (FAIL, W)),
    ("build_profile_leftover", clean, "verify", {"profiles.users": [
        {"sid": "S-1-5-21-1-2-3-1001", "username": None, "path": "C:\\Users\\packer"}]},
     {"build_accounts": ["packer"]}, (FAIL, W)),
    ("build_profile_leftover", clean, "verify", {}, {"build_accounts": ["packer"]}, None),
    ("build_profile_leftover", clean, "verify", {}, {"build_accounts": ["Administrator"]}, (FAIL, W)),
    ("build_profile_leftover", clean, "verify", {}, {"allowed_profiles": []}, None),  # built-in admin may ship
    ("build_profile_leftover", clean, "verify", {"profiles.users": [
        {"sid": "S-1-5-21-1-2-3-1002", "username": "helpdesk", "path": "C:\\Users\\helpdesk"}]},
     {"allowed_profiles": []}, (FAIL, W)),
    ("build_profile_leftover", clean, "verify", {"profiles.users": [
        {"sid": "S-1-5-21-1-2-3-1002", "username": "helpdesk", "path": "C:\\Users\\helpdesk"}]},
     {"allowed_profiles": ["HelpDesk"]}, None),
    ("build_profile_leftover", clean, "verify", {"profiles.users": None}, {"build_accounts": ["packer"]},
     (UNKNOWN, W)),
    ("build_profile_leftover", clean, "verify", {"profiles.users": None}, {}, None),
]


def _case_id(case):
    finding_id, base, phase, changes, options, expected = case
    what = ",".join("%s=%s" % (k.split(".")[-1], json.dumps(v)[:24]) for k, v in changes.items()) or "base"
    opts = ",".join("%s=%s" % (k, v) for k, v in options.items())
    return "%s-%s-%s%s->%s" % (finding_id, phase, what, "[%s]" % opts if opts else "",
                               "/".join(expected) if expected else "none")


@pytest.mark.parametrize("case", CASES, ids=[_case_id(c) for c in CASES])
def test_rule(case):
    finding_id, base, phase, changes, options, expected = case
    facts = apply(base() if base is not clean else clean(phase), changes)
    found = run(facts, phase, **options)
    if expected is None:
        assert finding_id not in found, found.get(finding_id, {}).get("message")
        return
    assert finding_id in found, "expected %s; got %s" % (finding_id, sorted(found))
    finding = found[finding_id]
    assert (finding["status"], finding["severity"]) == expected, finding["message"]
    assert finding["phase"] == phase
    entry = finding_catalog.CATALOG[finding_id]
    assert finding["title"] == entry["title"] and finding["remediation"] == entry["remediation"]
    if finding["status"] == UNKNOWN:
        assert finding["message"].startswith("Could not tell")
        assert finding["evidence"]["missing"]
    if finding["severity"] != finding_catalog.severity_for(finding_id, phase):
        assert finding["override"] in options and "Override %s is on" % finding["override"] in finding["message"]


def test_every_rule_is_exercised_by_the_table():
    covered = {(case[0], case[2]) for case in CASES}
    missing = [(r.id, phase) for r in rules.RULES.values() for phase in r.phases if (r.id, phase) not in covered]
    assert missing == []


def test_every_catalogue_id_the_rules_produce_has_a_rule_for_exactly_its_preflight_and_verify_phases():
    for finding_id, entry in finding_catalog.CATALOG.items():
        phases = tuple(p for p in entry["phases"] if p in rules.PHASES)
        if "rules" in entry["produced_by"]:
            assert phases, finding_id
            assert finding_id in rules.RULES, finding_id
            assert rules.RULES[finding_id].phases == phases, finding_id
        else:
            assert finding_id not in rules.RULES, finding_id


def test_every_catalogue_phase_has_a_known_producer():
    for finding_id, entry in finding_catalog.CATALOG.items():
        assert entry["produced_by"] and set(entry["produced_by"]) <= set(finding_catalog.PRODUCERS), finding_id
        if "sysprep" in entry["phases"]:
            assert "panther" in entry["produced_by"], finding_id
        if set(entry["phases"]) & set(rules.PHASES):
            # A preflight/verify id nobody produces would be documented but never reported.
            assert set(entry["produced_by"]) - {"panther"}, finding_id


def test_ids_produced_elsewhere_have_no_rule_and_evaluate_never_reports_them():
    elsewhere = [i for i, e in finding_catalog.CATALOG.items() if "rules" not in e["produced_by"]
                 and set(e["phases"]) & set(rules.PHASES)]
    assert "lineage_rearm_budget" in elsewhere
    # Nothing readable: every verify rule reports (unknown), and still none of those ids appears.
    found = run(empty_facts("offline", "winimage.generalize.image_facts", "image", "2026-03-01T10:00:00Z"), "verify")
    assert found and not set(found) & set(elsewhere)


def test_a_rule_for_an_id_of_another_producer_is_refused():
    with pytest.raises(KeyError, match="lineage_rearm_budget.*produced by manifest"):
        rules.rule("lineage_rearm_budget", ("verify",), (), "never")


# --------------------------------------------------------------------------- messages

def message(facts, finding_id, phase="preflight", **options):
    return run(facts, phase, **options)[finding_id]["message"]


def test_unknown_message_names_the_fact_and_the_gatherers_reason():
    facts = clean()
    facts["licensing"].update(remaining_rearm_count=None, skip_rearm=None)
    facts["errors"]["licensing"] = "Get-CimInstance SoftwareLicensingProduct failed: Access is denied"
    text = message(facts, "rearm_exhausted")
    assert "licensing.remaining_rearm_count" in text and "Access is denied" in text
    facts["unavailable"]["licensing.skip_rearm"] = "not readable offline"
    assert "not readable offline" in message(facts, "skip_rearm_enabled")


def test_unknown_of_a_wrongly_typed_fact_says_so():
    facts = apply(clean(), {"licensing.remaining_rearm_count": "three"})
    assert "the gatherer returned a str" in message(facts, "rearm_exhausted")


@pytest.mark.parametrize("build, expected, absent", [
    (7601, "3 rearms per installation", "1001"),
    (6002, "3 rearms per installation", "1001"),
    (9200, "1001 sysprep runs", "3 rearms"),
    (26100, "1001 sysprep runs", "3 rearms"),
])
def test_rearm_messages_explain_the_limit_of_the_version(build, expected, absent):
    facts = apply(clean(), {"os.build": build, "licensing.remaining_rearm_count": 0})
    text = message(facts, "rearm_exhausted")
    assert expected in text and absent not in text
    assert "remaining rearm count 0" in text


def test_rearm_exhausted_with_skip_rearm_explains_the_final_run():
    facts = apply(clean(), {"licensing.remaining_rearm_count": 0, "licensing.skip_rearm": 1})
    assert "SkipRearm=0, which needs one" in message(facts, "rearm_exhausted")


def test_skip_rearm_message_differs_before_and_after_windows_8():
    modern = message(apply(clean(), {"licensing.skip_rearm": 1}), "skip_rearm_enabled")
    legacy = message(apply(clean(), {"licensing.skip_rearm": 1, "os.build": 7601}), "skip_rearm_enabled")
    assert "1001" in modern and "1001" not in legacy
    assert "CMID" in legacy


def test_appx_message_names_packages_users_and_store_policy():
    facts = apply(clean(), {"appx.packages": [{
        "name": "Microsoft.MicrosoftEdge.Stable",
        "package_full_name": "Microsoft.MicrosoftEdge.Stable_131.0.2903.99_neutral__8wekyb3d8bbwe",
        "version": "131.0.2903.99", "users": [{"username": "builder", "install_state": "Installed"}],
        "is_framework": False, "non_removable": False, "signature_kind": "Store"}],
        "appx.store_auto_download": 4})
    finding = run(facts)["appx_user_not_provisioned"]
    assert "Microsoft.MicrosoftEdge.Stable_131.0.2903.99_neutral__8wekyb3d8bbwe (for builder)" in finding["message"]
    assert "AutoDownload is 4" in finding["message"]
    assert finding["packages"][0]["users"] == ["builder"]
    facts["appx"]["store_auto_download"] = 2
    facts["appx"]["user_not_provisioned"] = None
    assert "AutoDownload" not in message(facts, "appx_user_not_provisioned")


def test_appx_message_shortens_long_lists():
    packages = [{"name": "P%d" % i, "package_full_name": "P%d_1.0.0.0_x64__pub" % i, "users": ["u"]}
                for i in range(12)]
    text = message(apply(clean(), {"appx.user_not_provisioned": packages}), "appx_user_not_provisioned")
    assert text.startswith("12 Store packages are") and "and 4 more" in text


def test_low_disk_space_message_is_in_gib():
    facts = apply(clean(), {"disk.free_bytes": int(9.4 * GIB)})
    assert message(facts, "low_disk_space") == ("Only 9.4 GiB is free on C: (of 60.0 GiB); at least 15.0 GiB is "
                                                "recommended (option min_free_bytes).")


def test_domain_joined_warns_about_domain_account_connection():
    facts = apply(clean(), {"domain.joined": True, "domain.dns_domain": "corp.example.com",
                            "connection.is_domain_account": True, "connection.user": "CORP\\svc-image"})
    text = message(facts, "domain_joined")
    assert "corp.example.com" in text and "CORP\\svc-image" in text and "local administrator" in text
    facts["connection"]["is_domain_account"] = False
    assert "local administrator" not in message(facts, "domain_joined")


def test_unsupported_roles_message_names_roles_and_features():
    facts = apply(server("6.1", 7601), {"roles.installed": ["DHCP", "WDS", "WDS-Transport", "Web-Server"]})
    finding = run(facts)["unsupported_server_role"]
    assert "DHCP Server [DHCP]" in finding["message"]
    assert "Windows Deployment Services [WDS, WDS-Transport]" in finding["message"]
    assert "Web-Server" not in finding["message"]
    assert [r["role"] for r in finding["roles"]] == ["DHCP Server", "Windows Deployment Services"]


def test_wds_on_2012_and_later_explains_uninitialize():
    finding = run(apply(server("10.0", 20348), {"roles.installed": ["WDS"]}))["unsupported_server_role"]
    assert finding["status"] == UNKNOWN and "wdsutil /uninitialize-server" in finding["message"]


def test_hyperv_vms_override_says_so():
    finding = run(apply(hyperv_host(), {"hyperv.vms": VMS}), allow_hyperv_vms=True)["hyperv_vms_present"]
    assert finding["override"] == "allow_hyperv_vms"
    assert "web01 (Running)" in finding["message"] and "Override allow_hyperv_vms is on" in finding["message"]


def test_mac_range_message_on_server_2008():
    text = message(hyperv_host("6.0", 6002), "hyperv_mac_range")
    assert "00155D0A3C00 to 00155D0A3CFF" in text and "hypervisorlaunchtype" in text


@pytest.mark.parametrize("state, words", [
    ("IMAGE_STATE_COMPLETE", "never completed"),
    ("IMAGE_STATE_GENERALIZE_RESEAL_TO_AUDIT", "audit mode"),
    ("IMAGE_STATE_UNDEPLOYABLE", "never be deployable"),
    ("IMAGE_STATE_SPECIALIZE_RESEAL_TO_OOBE", "deployed copy"),
])
def test_not_generalized_explains_the_state(state, words):
    text = message(apply(clean("verify"), {"setup.image_state": state}), "not_generalized", "verify")
    assert state in text and words in text


def test_not_generalized_unknown_mentions_generalization_state_without_deciding():
    text = message(apply(clean("verify"), {"setup.image_state": None, "setup.generalization_state": 7}),
                   "not_generalized", "verify")
    assert "GeneralizationState is 7" in text


def test_answer_file_finding_lists_paths_and_elements_only():
    facts = apply(clean("verify"), {"answer_files.files": [
        {"path": "C:\\Windows\\Panther\\unattend.xml", "contains_password": True,
         "password_elements": ["AdministratorPassword", "AutoLogon/Password"]},
        {"path": "C:\\Windows\\System32\\Sysprep\\unattend.xml", "contains_password": False,
         "password_elements": []}]})
    finding = run(facts, "verify")["answer_file_secrets"]
    assert finding["files"] == [{"path": "C:\\Windows\\Panther\\unattend.xml",
                                 "password_elements": ["AdministratorPassword", "AutoLogon/Password"]}]
    assert "Sysprep\\unattend.xml" not in finding["message"]


def test_upgraded_message_names_the_history():
    facts = apply(server("10.0", 17763), {"setup.upgraded": True,
                                          "setup.upgrade_history": ["Windows Server 2016 Datacenter (14393)"]})
    assert "from Windows Server 2016 Datacenter (14393)" in message(facts, "upgraded_install")


# --------------------------------------------------------------------------- secrets

def test_findings_never_echo_secret_values_a_gatherer_leaked():
    """Even if a gatherer wrongly put a secret into the facts, no finding repeats it."""
    for phase in rules.PHASES:
        facts = clean(phase)
        facts["answer_files"]["files"] = [{"path": "C:\\unattend.xml", "contains_password": True,
                                           "password_elements": ["AdministratorPassword"], "value": SECRET,
                                           "password": SECRET}]
        facts["autologon"].update(password_stored=True, enabled=True, username="builder")
        facts["autologon"]["default_password"] = SECRET
        facts["domain"]["joined"] = True
        facts["connection"]["password"] = SECRET
        found = rules.evaluate(facts, phase, {"build_accounts": ["builder"]})
        assert {"answer_file_secrets", "autologon_secret"} <= {f["id"] for f in found}
        assert SECRET not in json.dumps(found)


# --------------------------------------------------------------------------- order, shape

def test_findings_are_sorted_blockers_warnings_info_then_id():
    facts = apply(clean(), {"setup.image_state": GENERALIZED, "disk.free_bytes": 1, "licensing.skip_rearm": 1,
                            "pending.cbs_reboot_pending": True, "bitlocker.protection_status": "on",
                            "domain.joined": True})
    found = rules.evaluate(facts)
    assert [(f["severity"], f["id"]) for f in found] == [
        ("blocker", "bitlocker_on"), ("blocker", "pending_reboot"),
        ("warning", "domain_joined"), ("warning", "low_disk_space"), ("warning", "skip_rearm_enabled"),
        ("info", "already_generalized")]


def test_overridden_severity_is_sorted_by_its_new_severity():
    facts = apply(hyperv_host(), {"hyperv.vms": VMS, "licensing.skip_rearm": 1})
    found = rules.evaluate(facts, options={"allow_hyperv_vms": True})
    assert [f["id"] for f in found] == ["hyperv_vms_present", "skip_rearm_enabled"]


FINDING_VALIDATOR = jsonschema.Draft202012Validator(json.loads(
    (pathlib.Path(__file__).resolve().parents[4] / "schemas" / "finding.schema.json").read_text()))


ODD_ITEM = st.fixed_dictionaries({
    "name": st.text(max_size=4),
    "checkpoints": st.one_of(st.none(), st.integers(-1, 3)),
    "type": st.sampled_from(["External", "Internal", 5]),
    "username": st.one_of(st.none(), st.text(max_size=4), st.integers()),
    "contains_password": st.one_of(st.none(), st.booleans()),
    "password_elements": st.one_of(st.none(), st.integers(), st.lists(st.text(max_size=4))),
    "users": st.one_of(st.integers(), st.lists(st.text(max_size=3))),
})
ODD_VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(-2, 3000), st.text(max_size=8),
    st.lists(st.one_of(st.text(max_size=6), st.integers(), st.none(), ODD_ITEM), max_size=3))
ODD_OPTIONS = st.fixed_dictionaries({}, optional={
    "build_accounts": st.lists(st.text(min_size=1, max_size=5)),
    "allowed_profiles": st.one_of(st.none(), st.lists(st.text(min_size=1, max_size=5))),
    "allow_hyperv_vms": st.booleans(),
    "allow_skip_rearm": st.booleans(),
})


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_rules_never_raise_and_always_return_valid_findings(data):
    """Any value in any field (wrong types included) gives findings, never a traceback."""
    phase = data.draw(st.sampled_from(rules.PHASES))
    facts = clean(phase)
    for path in data.draw(st.lists(st.sampled_from(facts_schema.field_paths()), max_size=12, unique=True)):
        apply(facts, {path: data.draw(ODD_VALUES)})
    options = data.draw(ODD_OPTIONS)
    before = copy.deepcopy(facts)
    found = rules.evaluate(facts, phase, options)
    assert facts == before
    for finding in found:
        FINDING_VALIDATOR.validate(finding)
        assert finding["phase"] == phase
    summary = rules.summarize(found)
    assert summary["total"] == len(found)


def test_blocker_rules_are_never_silent_when_their_facts_are_missing():
    """A document with nothing known: every blocker rule of a phase reports unknown, none passes."""
    for phase in rules.PHASES:
        facts = empty_facts("online", "winimage.generalize.readiness_facts")
        found = by_id(rules.evaluate(facts, phase, {"build_accounts": ["packer"]}))
        for r in rules.RULES.values():
            if phase in r.phases and finding_catalog.severity_for(r.id, phase) == "blocker":
                assert r.id in found and found[r.id]["status"] == UNKNOWN, r.id


# --------------------------------------------------------------------------- full recorded machines

FIXTURE_EXPECTATIONS = {
    ("win7_sp1_clean", "preflight"): [],
    ("server2008_hyperv_blocked", "preflight"): [
        ("checkpoints_present", FAIL, B), ("hyperv_vms_present", FAIL, B), ("unsupported_server_role", FAIL, B),
        ("hyperv_external_switch", FAIL, W), ("hyperv_mac_range", FAIL, W), ("rearm_low", FAIL, W)],
    ("server2012r2_partial", "preflight"): [
        ("bitlocker_on", UNKNOWN, B), ("rearm_exhausted", UNKNOWN, B), ("unsupported_server_role", UNKNOWN, B),
        ("answer_file_secrets", FAIL, W), ("skip_rearm_enabled", UNKNOWN, W)],
    ("win10_22h2_blocked", "preflight"): [
        ("appx_user_not_provisioned", FAIL, B), ("bitlocker_on", FAIL, B), ("pending_reboot", FAIL, B),
        ("answer_file_secrets", FAIL, W), ("autologon_secret", FAIL, W), ("domain_joined", FAIL, W),
        ("low_disk_space", FAIL, W)],
    ("win11_23h2_clean", "preflight"): [],
    ("server2022_hyperv_host", "preflight"): [
        ("hyperv_external_switch", FAIL, W), ("hyperv_internal_switch", FAIL, W), ("nps_radius_config", FAIL, W)],
    ("server2025_dc_blocked", "preflight"): [
        ("domain_controller", FAIL, B), ("unsupported_server_role", FAIL, B), ("domain_joined", FAIL, W)],
    ("verify_win11_generalized", "verify"): [],
    ("verify_win10_dirty", "verify"): [
        ("answer_file_secrets", FAIL, B), ("autologon_secret", FAIL, B), ("domain_joined", FAIL, B),
        ("not_generalized", FAIL, B), ("skip_rearm_enabled", FAIL, B),
        ("build_profile_leftover", FAIL, W), ("pending_work_captured", FAIL, W), ("swap_files_captured", FAIL, W)],
}


def load_fixture(name):
    return json.loads((FACTS_DIR / (name + ".json")).read_text())


def test_every_fixture_has_expectations():
    assert sorted(p.stem for p in FACTS_DIR.glob("*.json")) == sorted({name for name, dummy in FIXTURE_EXPECTATIONS})


@pytest.mark.parametrize("name, phase", sorted(FIXTURE_EXPECTATIONS))
def test_fixture_is_valid_against_the_facts_schema(name, phase):
    facts = load_fixture(name)
    jsonschema.validate(facts, facts_schema.json_schema(), cls=jsonschema.Draft202012Validator)
    assert facts["gatherer"]["kind"] == ("offline" if phase == "verify" else "online")
    for section, schema in facts_schema.SECTIONS.items():
        assert set(facts[section]) == set(schema["properties"]), section
    for path in list(facts["unavailable"]) + ["%s.x" % s for s in facts["errors"]]:
        assert path.partition(".")[0] in facts_schema.SECTIONS, path


@pytest.mark.parametrize("name, phase", sorted(FIXTURE_EXPECTATIONS))
def test_fixture_findings(name, phase):
    found = rules.evaluate(load_fixture(name), phase, {"build_accounts": ["packer", "builder"]})
    assert [(f["id"], f["status"], f["severity"]) for f in found] == FIXTURE_EXPECTATIONS[(name, phase)]


def test_fixture_summary_ready_flags():
    def summary(name, phase):
        return rules.summarize(rules.evaluate(load_fixture(name), phase, {"build_accounts": ["packer"]}))
    assert summary("win7_sp1_clean", "preflight")["ready"] is True
    assert summary("server2022_hyperv_host", "preflight") == {
        "ready": True, "total": 3, "blockers": 0, "warnings": 3, "info": 0, "unknown": 0, "unknown_blockers": 0,
        "counts": {"blocker": {"fail": 0, "unknown": 0}, "warning": {"fail": 3, "unknown": 0},
                   "info": {"fail": 0, "unknown": 0}},
        "blocking_ids": []}
    partial = summary("server2012r2_partial", "preflight")
    assert (partial["ready"], partial["unknown_blockers"], partial["unknown"]) == (True, 3, 4)
    assert summary("server2025_dc_blocked", "preflight")["blocking_ids"] == ["domain_controller",
                                                                             "unsupported_server_role"]


def test_fixture_messages_are_concrete():
    found = by_id(rules.evaluate(load_fixture("win10_22h2_blocked")))
    assert "Microsoft.Windows.Photos_2021.21090.10008.0_x64__8wekyb3d8bbwe (for builder)" in \
        found["appx_user_not_provisioned"]["message"]
    assert "Calculator" not in found["appx_user_not_provisioned"]["message"]  # covered by its bundle
    assert "3 file rename operations" in found["pending_reboot"]["message"]
    assert "8.4 GiB" in found["low_disk_space"]["message"]
    found = by_id(rules.evaluate(load_fixture("server2008_hyperv_blocked")))
    assert "Print Services" in found["unsupported_server_role"]["message"]
    assert "DHCP" not in found["unsupported_server_role"]["message"]  # supported on Server 2008


# --------------------------------------------------------------------------- bad input

@pytest.mark.parametrize("facts, words", [
    (["not", "a", "mapping"], "must be the mapping returned by"),
    ("facts", "got str"),
    ({"os": {}}, "no schema_version"),
    ({"schema_version": "2.0"}, "schema_version '2.0' is not supported"),
    ({"schema_version": "1.0", "os": ["x"]}, "facts section 'os' must be a mapping"),
])
def test_bad_facts_are_clear_errors(facts, words):
    with pytest.raises(rules.FactsError, match=words):
        rules.evaluate(facts)


def test_minor_schema_versions_are_accepted():
    facts = clean()
    facts["schema_version"] = "1.7"
    assert rules.evaluate(facts) == []


@pytest.mark.parametrize("phase, words", [
    ("sysprep", "Panther log parser"), ("Preflight", "must be one of preflight, verify"), (None, "not None")])
def test_bad_phase_is_a_clear_error(phase, words):
    with pytest.raises(ValueError, match=words):
        rules.evaluate(clean(), phase)


@pytest.mark.parametrize("options, words", [
    ({"min_free_byte": 1}, "unknown option min_free_byte: valid options are allow_hyperv_vms"),
    ({"a": 1, "b": 2}, "unknown options a, b"),
    ({"min_free_bytes": "lots"}, "min_free_bytes must be a number of bytes or a size such as '15 GiB'"),
    ({"min_free_bytes": -1}, "min_free_bytes"),
    ({"min_free_bytes": True}, "min_free_bytes"),
    ({"allow_hyperv_vms": "maybe"}, "allow_hyperv_vms must be true or false"),
    ({"build_accounts": 5}, "build_accounts must be a list of user names"),
    ({"build_accounts": ["ok", 5]}, "build_accounts must be a list of user names"),
    ({"allowed_profiles": {"a": 1}}, "allowed_profiles must be a list"),
    ({"low_rearm_count": -1}, "low_rearm_count must be a whole number"),
    ({"low_rearm_count": 1.5}, "low_rearm_count must be a whole number"),
    (["min_free_bytes"], "options must be a mapping"),
])
def test_bad_options_are_clear_errors(options, words):
    with pytest.raises(rules.OptionsError, match=words):
        rules.evaluate(clean(), "preflight", options)


@pytest.mark.parametrize("given_value, expected", [
    (0, 0), (1024, 1024), ("2048", 2048), ("15 GiB", 15 * GIB), ("15GiB", 15 * GIB), ("20G", 20 * GIB),
    ("20 gb", 20 * GIB), ("512 MiB", 512 * 1024 ** 2), ("1.5 TiB", int(1.5 * 1024 ** 4)), ("100k", 102400),
    (10.9, 10),
])
def test_min_free_bytes_accepts_sizes(given_value, expected):
    assert rules.resolve_options({"min_free_bytes": given_value})["min_free_bytes"] == expected


def test_option_defaults():
    assert rules.resolve_options() == {"min_free_bytes": 15 * GIB, "allow_hyperv_vms": False, "build_accounts": [],
                                       "allowed_profiles": None, "allow_skip_rearm": False, "low_rearm_count": 1}


@pytest.mark.parametrize("value, expected", [
    ("yes", True), ("False", False), ("on", True), (1, True), (0, False), (True, True)])
def test_bool_options_accept_ansible_spellings(value, expected):
    assert rules.resolve_options({"allow_hyperv_vms": value})["allow_hyperv_vms"] is expected


def test_list_options_accept_comma_separated_text():
    assert rules.resolve_options({"build_accounts": "packer, builder,"})["build_accounts"] == ["packer", "builder"]
    assert rules.resolve_options({"build_accounts": None})["build_accounts"] == []


# --------------------------------------------------------------------------- summarize

def test_summarize_counts_and_ready():
    def f(finding_id, severity, status):
        return {"id": finding_id, "severity": severity, "status": status}
    summary = rules.summarize([f("a", "blocker", "unknown"), f("b", "warning", "fail"), f("c", "info", "fail"),
                               f("d", "warning", "unknown")])
    assert summary["ready"] is True and summary["unknown_blockers"] == 1 and summary["unknown"] == 2
    assert (summary["blockers"], summary["warnings"], summary["info"]) == (0, 1, 1)
    summary = rules.summarize([f("z", "blocker", "fail"), f("a", "blocker", "fail")])
    assert summary["ready"] is False and summary["blocking_ids"] == ["a", "z"]
    assert rules.summarize([])["ready"] is True


@pytest.mark.parametrize("findings, words", [
    ("text", "findings must be a list"),
    ([{"severity": "fatal", "status": "fail"}], r"findings\[0\] is not a finding"),
    ([{"severity": "blocker"}], r"findings\[0\]"),
    ([5], r"findings\[0\]"),
])
def test_summarize_rejects_what_is_not_findings(findings, words):
    with pytest.raises(ValueError, match=words):
        rules.summarize(findings)
