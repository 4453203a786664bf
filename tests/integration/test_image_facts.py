# Copyright: (c) 2026, winimage.generalize contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""winimage.generalize.image_facts on real artifacts of every format and every state preset.

The artifacts are built by tests/support/winimage_testdata with the real tools (wimlib, mkntfs,
qemu-img): a synthetic Windows tree per preset, packed into a WIM, a multi-image WIM, a bare
NTFS volume, raw MBR and GPT disks and VHD, VHDX, VMDK and qcow2 files. The module runs
in-process (and once through AnsiballZ); its facts are compared with the preset's ground truth
(windows_tree.expected_facts) and its findings with the ids that ground truth implies, derived
here from the catalogue's rules in plain words, not by running the rules engine a second time.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import lzma
from pathlib import Path

import jsonschema
import pytest
from ansible.module_utils.testing import patch_module_args

SUPPORT = Path(__file__).resolve().parents[1] / "support"
if str(SUPPORT) not in sys.path:
    sys.path.insert(0, str(SUPPORT))

from winimage_testdata import windows_tree  # noqa: E402

from ansible_collections.winimage.generalize.plugins.module_utils import facts_schema  # noqa: E402
from ansible_collections.winimage.generalize.plugins.modules import image_facts  # noqa: E402

TOOLS = ("wimlib-imagex", "mkntfs", "qemu-img")
pytestmark = pytest.mark.skipif(any(shutil.which(t) is None for t in TOOLS),
                                reason="needs wimlib-imagex, mkntfs and qemu-img (wimtools, ntfs-3g, qemu-utils)")

FORMATS = ("wim", "wim_multi", "ntfs", "raw_mbr", "raw_gpt", "vhd", "vhdx", "vmdk", "qcow2")
PRESETS = windows_tree.DEFAULT_PRESETS
GENERALIZED = "IMAGE_STATE_GENERALIZE_RESEAL_TO_OOBE"
HIVE_DATA = Path(__file__).resolve().parents[1] / "data" / "hives"
# Windows 10 1607: first client build on which sysprep supports an upgraded installation.
FIRST_BUILD_UPGRADE_SUPPORTED = 14393
# Index 1 of the multi-image WIMs (the preset under test is index 2).
MULTI_OTHER = "reference_complete"


# --------------------------------------------------------------------------- running the module

def run_module(capsys, **args):
    """Run image_facts in-process; return (result dict, raw JSON text)."""
    with patch_module_args(args):
        with pytest.raises(SystemExit):
            image_facts.main()
    text = capsys.readouterr().out
    return json.loads(text), text


def artifact_for(builder, fmt, preset):
    """(artifact, module args) for a preset in a format; wim_multi reads the preset at index 2."""
    if fmt == "wim_multi":
        other = MULTI_OTHER if preset != MULTI_OTHER else "audit_mode"
        artifact = builder.build("wim_multi", presets=(other, preset))
        return artifact, {"path": str(artifact.path), "index": 2}
    artifact = builder.build(fmt, preset=preset)
    return artifact, {"path": str(artifact.path)}


def fingerprint(path):
    with open(path, "rb") as handle:
        digest = hashlib.sha256()
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest(), os.stat(path).st_mtime_ns


def memory_files_in_volume(builder, preset):
    """Which of pagefile/hiberfil/swapfile the volume really holds, asked of wimlib (the oracle).

    Every format is applied from the preset's WIM, so the WIM's listing is the truth for all.
    """
    wim = builder.build("wim", preset=preset).path
    present = {}
    for name in ("pagefile.sys", "hiberfil.sys", "swapfile.sys"):
        result = subprocess.run(["wimlib-imagex", "dir", str(wim), "1", "--path=/" + name],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False)
        present[name] = result.returncode == 0
    return present


# --------------------------------------------------------------------------- ground truth

def expected_fields(profile, expected, fmt):
    """Dotted fact path -> value the module must return, from the preset's ground truth."""
    os_truth, domain = expected["os"], expected["domain"]
    joined = domain["joined"]
    product_type = os_truth["product_type"]
    role = None
    if product_type != "LanmanNT":
        role = ("member_" if joined else "standalone_") + ("workstation" if product_type == "WinNT" else "server")
    fields = {
        "os.product_name": os_truth["product_name"],
        "os.edition_id": os_truth["edition_id"],
        "os.installation_type": os_truth["installation_type"],
        "os.product_type": product_type,
        "os.version": os_truth["version"],
        "os.build": os_truth["build"],
        "os.ubr": os_truth["ubr"],
        "os.display_version": profile.display_version or profile.release_id,
        "os.architecture": os_truth["architecture"].lower(),
        "os.is_server": os_truth["is_server"],
        "os.computer_name": expected["computer_name"],
        "os.language": {"0409": "en-US"}[profile.language],
        "os.system_root": "C:\\Windows",
        "domain.joined": joined,
        "domain.dns_domain": domain["dns_domain"],
        "domain.netbios_domain": domain["netbios_domain"] if joined else domain["workgroup"],
        "domain.workgroup": domain["workgroup"],
        "domain.domain_sid": domain["domain_sid"],
        "domain.site_name": domain["site_name"],
        "domain.is_domain_controller": domain["is_domain_controller"],
        "domain.role": role,
        "pending.file_rename_operations": expected["pending"]["file_rename_operations"],
        "pending.cbs_reboot_pending": expected["pending"]["cbs_reboot_pending"],
        "pending.cbs_packages_pending": expected["pending"]["cbs_packages_pending"] > 0,
        "pending.windows_update_reboot_required": expected["pending"]["windows_update_reboot_required"],
        "pending.cbs_operations_in_progress": False,
        "pending.computer_rename_pending": False,
        "setup.image_state": expected["image_state"],
        "setup.generalization_state": expected["sysprep"]["generalization_state"],
        "setup.cleanup_state": expected["sysprep"]["cleanup_state"],
        "setup.system_setup_in_progress": bool(expected["sysprep"]["system_setup_in_progress"]),
        "setup.oobe_in_progress": bool(expected["sysprep"]["oobe_in_progress"]),
        "setup.audit_mode": expected["audit_mode"],
        "setup.upgraded": expected["upgraded"],
        "setup.sysprep_running": None,
        "licensing.skip_rearm": expected["licensing"]["skip_rearm"],
        "licensing.remaining_rearm_count": None,
        "appx.store_auto_download": expected["store_auto_download"],
        "autologon.enabled": expected["secrets"]["autologon_enabled"],
        "autologon.password_stored": expected["secrets"]["autologon_password_present"],
        "bitlocker.encrypted_offline": False,
        "bitlocker.protection_status": None,
        "disk.system_drive": "C:",
        "roles.hyperv": False,
        "roles.nps": False,
        "hyperv.vms": [],
        "connection.user": None,
    }
    if fmt in ("wim", "wim_multi"):
        fields.update({"disk.free_bytes": None, "disk.size_bytes": None, "bitlocker.volume_status": None})
    else:
        fields.update({"bitlocker.volume_status": "fully_decrypted", "bitlocker.encryption_percentage": 0})
    return fields


def expected_finding_ids(expected, phase, memory_files, fmt):
    """{finding id: status} the ground truth implies for a phase (min_free_bytes 0, build account set)."""
    domain, pending, secrets = expected["domain"], expected["pending"], expected["secrets"]
    os_truth = expected["os"]
    ids = {}

    def fail(finding_id, condition):
        if condition:
            ids[finding_id] = "fail"

    fail("domain_controller", domain["is_domain_controller"])
    fail("answer_file_secrets", bool(secrets["answer_files_with_password"]))
    fail("autologon_secret", secrets["autologon_password_present"])
    fail("skip_rearm_enabled", expected["licensing"]["skip_rearm"] == 1)
    if phase == "preflight":
        fail("domain_joined", domain["joined"])
        fail("pending_reboot", pending["reboot_required"])
        fail("pending_servicing", pending["cbs_packages_pending"] > 0)
        fail("appx_user_not_provisioned", bool(expected["appx"]["user_not_provisioned"]))
        fail("already_generalized", expected["generalized"])
        fail("upgraded_install", expected["upgraded"] and (
            os_truth["is_server"] or os_truth["build"] < FIRST_BUILD_UPGRADE_SUPPORTED))
        # A domain controller runs AD DS, a role sysprep does not support.
        fail("unsupported_server_role", domain["is_domain_controller"])
        ids["rearm_exhausted"] = "unknown"  # the rearm count is never readable offline
        if fmt in ("wim", "wim_multi"):
            ids["low_disk_space"] = "unknown"  # a WIM has no volume to measure
    else:
        fail("domain_joined", bool(domain["joined"] or domain["dns_domain"] or domain["domain_sid"]
                                   or domain["site_name"]))
        fail("not_generalized", expected["image_state"] != GENERALIZED)
        fail("pending_work_captured", pending["reboot_required"] or pending["cbs_packages_pending"] > 0)
        fail("swap_files_captured", any(memory_files.values()))
        fail("build_profile_leftover", expected["users"]["build_account"] in expected["users"]["profiles"])
    return ids


def rule_options(expected, phase):
    options = {"min_free_bytes": 0}
    if phase == "verify" and expected["users"]["build_account"]:
        options["build_accounts"] = [expected["users"]["build_account"]]
    return options


# --------------------------------------------------------------------------- the matrix

@pytest.mark.parametrize("preset", PRESETS)
@pytest.mark.parametrize("fmt", FORMATS)
def test_facts_and_findings_match_the_ground_truth(winimage_artifacts, capsys, fmt, preset):
    artifact, args = artifact_for(winimage_artifacts, fmt, preset)
    profile = windows_tree.preset(preset)
    expected = windows_tree.expected_facts(profile)
    before = fingerprint(artifact.path)

    results = {}
    for phase in ("preflight", "verify"):
        result, text = run_module(capsys, phase=phase, rule_options=rule_options(expected, phase), **args)
        assert not result.get("failed"), result.get("msg")
        assert result["changed"] is False
        for secret in windows_tree.secret_values(profile):
            assert secret not in text, "a secret of the %s preset reached the module output" % preset
        results[phase] = result

    facts = results["verify"]["facts"]
    jsonschema.validate(facts, facts_schema.json_schema())
    assert facts["errors"] == {}
    assert facts["gatherer"]["kind"] == "offline"
    for path, value in expected_fields(profile, expected, fmt).items():
        assert facts_schema.get_field(facts, path) == value, path
    _check_lists(facts, expected, profile)
    memory_files = memory_files_in_volume(winimage_artifacts, preset)
    assert {name: facts["disk"][field] for field, name in (
        ("pagefile_present", "pagefile.sys"), ("hiberfil_present", "hiberfil.sys"),
        ("swapfile_present", "swapfile.sys"))} == memory_files
    if fmt not in ("wim", "wim_multi"):
        assert 0 < facts["disk"]["free_bytes"] < facts["disk"]["size_bytes"]

    for phase, result in results.items():
        found = {f["id"]: f["status"] for f in result["findings"]}
        assert found == expected_finding_ids(expected, phase, memory_files, fmt), phase
        assert all(f["phase"] == phase for f in result["findings"])
    _check_panther(results["verify"]["panther_findings"], expected)
    assert fingerprint(artifact.path) == before, "the source image changed"


def _check_lists(facts, expected, profile):
    assert sorted(p["package_name"] for p in facts["appx"]["provisioned"]) == expected["appx"]["provisioned"]
    per_user = {}
    for package in facts["appx"]["packages"]:
        for user in package["users"]:
            per_user.setdefault(user["sid"], []).append(package["package_full_name"])
    assert {sid: sorted(names) for sid, names in per_user.items()} == expected["appx"]["installed_per_user"]
    assert sorted(p["package_full_name"] for p in facts["appx"]["user_not_provisioned"]) == \
        expected["appx"]["user_not_provisioned"]
    for package in facts["appx"]["user_not_provisioned"]:
        assert package["users"] and all(not u.startswith("S-1-") for u in package["users"]), \
            "users should be named, not just SIDs"
    assert sorted(u["username"] for u in facts["profiles"]["users"]) == expected["users"]["profiles"]
    administrators = [u for u in facts["profiles"]["users"] if u["is_builtin_administrator"]]
    assert [u["username"] for u in administrators] == (
        ["Administrator"] if "Administrator" in expected["users"]["profiles"] else [])
    files = {f["path"]: f for f in facts["answer_files"]["files"]}
    assert sorted(files) == sorted("C:\\" + p.replace("/", "\\") for p in expected["secrets"]["answer_files"])
    with_password = sorted(path for path, f in files.items() if f["contains_password"])
    assert with_password == sorted("C:\\" + p.replace("/", "\\")
                                   for p in expected["secrets"]["answer_files_with_password"])
    history_builds = [re.search(r"build (\d+)", entry).group(1) for entry in facts["setup"]["upgrade_history"]]
    assert history_builds == expected["source_os_builds"]
    if profile.autologon_user:
        assert facts["autologon"]["username"] == profile.autologon_user
        assert facts["autologon"]["logon_count"] == profile.autologon_count


def _check_panther(panther_findings, expected):
    ids = {f["id"] for f in panther_findings}
    if expected["sysprep"]["appx_failures"]:
        assert "appx_user_not_provisioned" in ids
        appx = [f for f in panther_findings if f["id"] == "appx_user_not_provisioned"][0]
        assert all(package in json.dumps(appx) for package in expected["sysprep"]["appx_failures"])
        assert appx["phase"] == "sysprep"
    else:
        assert ids == set()


def test_multi_index_wim_reads_each_index_and_rejects_a_wrong_one(winimage_artifacts, capsys):
    artifact = winimage_artifacts.build("wim_multi", presets=("audit_mode", "generalized"))
    first, dummy = run_module(capsys, path=str(artifact.path), index=1, phase="none")
    second, dummy = run_module(capsys, path=str(artifact.path), index=2, phase="none")
    assert first["facts"]["os"]["computer_name"] == windows_tree.preset("audit_mode").computer_name
    assert second["facts"]["os"]["computer_name"] == windows_tree.preset("generalized").computer_name
    assert first["facts"]["gatherer"]["source"].endswith(":1") and second["image"]["wim_image_count"] == 2
    wrong, text = run_module(capsys, path=str(artifact.path), index=3, phase="none")
    assert wrong["failed"] and wrong["error_kind"] == "bad_option"
    assert "no image with index 3" in wrong["msg"] and "2 image(s)" in wrong["msg"]
    for name in artifact.wim_images:
        assert name in wrong["msg"]
    assert "Traceback" not in text


def test_default_free_space_threshold_and_phase_none(winimage_artifacts, capsys):
    volume = winimage_artifacts.build("ntfs", preset="generalized")
    result, dummy = run_module(capsys, path=str(volume.path), phase="preflight")
    low = [f for f in result["findings"] if f["id"] == "low_disk_space"]
    assert low and low[0]["status"] == "fail", "a test volume is far below the 15 GiB default"
    quiet, dummy = run_module(capsys, path=str(volume.path), phase="none")
    assert quiet["findings"] == [] and "summary" not in quiet
    assert quiet["facts"]["os"]["computer_name"] == "REF-GOLD01"


def test_partition_option_picks_and_validates(winimage_artifacts, capsys):
    disk = winimage_artifacts.build("raw_mbr", preset="domain_joined")
    chosen, dummy = run_module(capsys, path=str(disk.path), partition=2, phase="none")
    assert chosen["image"]["partition"] == 2 and chosen["facts"]["domain"]["joined"] is True
    reserved, dummy = run_module(capsys, path=str(disk.path), partition=1, phase="none")
    assert reserved["failed"] and reserved["error_kind"] == "not_windows"
    assert "partition 1" in reserved["msg"]
    missing, dummy = run_module(capsys, path=str(disk.path), partition=9, phase="none")
    assert missing["failed"] and missing["error_kind"] == "bad_option" and "no partition 9" in missing["msg"]
    volume = winimage_artifacts.build("ntfs", preset="generalized")
    bare, dummy = run_module(capsys, path=str(volume.path), partition=1, phase="none")
    assert bare["failed"] and "without a partition table" in bare["msg"]


@pytest.mark.parametrize("kind, error_kind, words", [
    ("not_windows", "not_windows", "holds no Windows installation"),
    ("random_bytes", "unsupported", "is not a supported image"),
    ("bitlocker", "bitlocker", "BitLocker-encrypted"),
    ("bitlocker_gpt", "bitlocker", "BitLocker-encrypted"),
])
def test_bad_images_fail_clearly(winimage_artifacts, capsys, kind, error_kind, words):
    artifact = winimage_artifacts.build(kind)
    before = fingerprint(artifact.path)
    result, text = run_module(capsys, path=str(artifact.path), phase="verify")
    assert result["failed"] and result["error_kind"] == error_kind
    assert words in result["msg"]
    assert "Traceback" not in text and "exception" not in result
    if error_kind == "bitlocker":
        assert result["facts"]["bitlocker"]["encrypted_offline"] is True
        assert [f["id"] for f in result["findings"] if f["status"] == "fail"] == ["bitlocker_on"]
        assert "manage-bde" in result["msg"] or "Decrypt" in result["msg"]
    assert fingerprint(artifact.path) == before


def test_corrupt_hive_is_a_section_error_and_the_rest_is_read(winimage_artifacts, capsys):
    artifact = winimage_artifacts.build("corrupt_hive", preset="with_secrets", hive="SOFTWARE")
    result, text = run_module(capsys, path=str(artifact.path), phase="verify")
    assert not result.get("failed"), result.get("msg")
    errors = result["facts"]["errors"]
    assert errors, "the damaged SOFTWARE hive must be reported"
    for section in ("appx", "licensing", "autologon", "profiles"):
        assert "SOFTWARE hive" in errors[section] and "Windows/System32/config/SOFTWARE" in errors[section]
    for section in ("domain", "answer_files", "disk"):
        assert section not in errors
    facts = result["facts"]
    assert facts["os"]["computer_name"] == "REF-SECRETS"  # from SYSTEM, still read
    assert facts["domain"]["workgroup"] == "WORKGROUP"
    assert any(f["contains_password"] for f in facts["answer_files"]["files"])
    statuses = {f["id"]: f["status"] for f in result["findings"]}
    assert statuses.get("autologon_secret") == "unknown" or statuses.get("autologon_secret") == "fail"
    for secret in windows_tree.secret_values(windows_tree.preset("with_secrets")):
        assert secret not in text


def test_missing_path_directory_and_bad_options_are_clear(capsys, tmp_path):
    missing, dummy = run_module(capsys, path=str(tmp_path / "nope.wim"))
    assert missing["failed"] and "does not exist" in missing["msg"]
    directory, dummy = run_module(capsys, path=str(tmp_path))
    assert directory["failed"] and "is a directory" in directory["msg"]
    index, dummy = run_module(capsys, path=str(tmp_path / "x.wim"), index=0)
    assert index["failed"] and "index must be 1 or more" in index["msg"]
    options, dummy = run_module(capsys, path=str(tmp_path / "x.wim"), rule_options={"min_free": 1})
    assert options["failed"] and options["error_kind"] == "bad_option" and "min_free" in options["msg"]


def test_permission_denied_is_clear(capsys, tmp_path, monkeypatch):
    image = tmp_path / "locked.img"
    image.write_bytes(b"\0" * 4096)
    if os.geteuid() != 0:
        image.chmod(0)
    else:  # root reads everything: make the kernel's answer for a non-root user explicit
        real_open = os.open

        def refuse(path, flags, *args, **kwargs):
            if str(path) == str(image):
                raise PermissionError(13, "Permission denied", str(path))
            return real_open(path, flags, *args, **kwargs)
        monkeypatch.setattr(os, "open", refuse)
    result, dummy = run_module(capsys, path=str(image))
    assert result["failed"] and "permission denied" in result["msg"] and "become" in result["msg"]


def test_esd_solid_archive(winimage_artifacts, capsys, tmp_path):
    wim = winimage_artifacts.build("wim", preset="upgraded")
    esd = tmp_path / "install.esd"
    subprocess.run(["wimlib-imagex", "export", str(wim.path), "1", str(esd), "--solid"], check=True,
                   stdout=subprocess.PIPE)
    result, dummy = run_module(capsys, path=str(esd), phase="preflight")
    assert not result.get("failed"), result.get("msg")
    assert result["image"]["format"] == "wim" and result["image"]["wim_compression"] == "LZMS"
    assert result["facts"]["setup"]["upgraded"] is True
    assert len(result["facts"]["setup"]["upgrade_history"]) == 2


def test_windows_directory_with_another_name(winimage_artifacts, capsys, tmp_path):
    tree = tmp_path / "tree"
    shutil.copytree(winimage_artifacts.build("tree", preset="skip_rearm").path, tree)
    (tree / "Windows").rename(tree / "WINNT")
    wim = tmp_path / "winnt.wim"
    subprocess.run(["wimlib-imagex", "capture", str(tree), str(wim), "winnt", "--compress=none"], check=True,
                   stdout=subprocess.PIPE)
    volume = tmp_path / "winnt.ntfs"
    with open(volume, "wb") as handle:
        handle.truncate(32 << 20)
    subprocess.run(["mkntfs", "-F", "-Q", "-q", str(volume)], check=True, stdout=subprocess.PIPE,
                   stderr=subprocess.PIPE)
    subprocess.run(["wimlib-imagex", "apply", str(wim), "1", str(volume)], check=True, stdout=subprocess.PIPE)
    for path in (wim, volume):
        result, dummy = run_module(capsys, path=str(path), phase="verify")
        assert not result.get("failed"), result.get("msg")
        assert result["image"]["windows_dir"] == "WINNT"
        assert result["facts"]["licensing"]["skip_rearm"] == 1
        assert "skip_rearm_enabled" in {f["id"] for f in result["findings"]}


# --------------------------------------------------------------------------- read paths of virtual disks

def _qemu_convert(source, target, fmt, *options):
    subprocess.run(["qemu-img", "convert", "-f", "raw", "-O", fmt] + list(options) + [str(source), str(target)],
                   check=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    return target


@pytest.mark.parametrize("fmt, options, read_path", [
    ("vpc", ("-o", "subformat=fixed"), "direct"),
    ("qcow2", ("-c",), "qemu"),
    ("vmdk", ("-o", "subformat=streamOptimized"), "qemu"),
    ("vmdk", ("-o", "subformat=monolithicFlat"), "direct"),
])
def test_virtual_disk_variants(winimage_artifacts, capsys, tmp_path, fmt, options, read_path):
    raw = winimage_artifacts.build("raw_gpt", preset="domain_joined")
    target = _qemu_convert(raw.path, tmp_path / ("disk." + fmt), fmt, *options)
    result, dummy = run_module(capsys, path=str(target), phase="verify")
    assert not result.get("failed"), result.get("msg")
    assert result["facts"]["domain"]["dns_domain"] == "corp.example.com"
    assert result["image"]["partition"] == 3
    through_qemu = result["image"].get("read_through_qemu_bytes", 0)
    assert (through_qemu > 0) == (read_path == "qemu")


def test_qcow2_overlay_reads_through_its_backing_file(winimage_artifacts, capsys, tmp_path):
    base = winimage_artifacts.build("qcow2", preset="pending_reboot")
    overlay = tmp_path / "overlay.qcow2"
    subprocess.run(["qemu-img", "create", "-f", "qcow2", "-F", "qcow2", "-b", str(base.path), str(overlay)],
                   check=True, stdout=subprocess.PIPE)
    result, dummy = run_module(capsys, path=str(overlay), phase="preflight")
    assert result["facts"]["pending"]["file_rename_operations"] == 3
    assert result["image"]["backing_file"] == str(base.path)


# --------------------------------------------------------------------------- real hives

def _real_tree(tmp_path, _label, hives):
    """A minimal volume tree holding real hives from tests/data/hives: {hive: set name}."""
    tree = tmp_path / "tree"
    config = tree / "Windows" / "System32" / "config"
    config.mkdir(parents=True)
    for hive, set_name in hives.items():
        (config / hive).write_bytes(lzma.decompress((HIVE_DATA / set_name / (hive + ".xz")).read_bytes()))
    wim = tmp_path / "real.wim"
    subprocess.run(["wimlib-imagex", "capture", str(tree), str(wim), "real hives", "--compress=none"], check=True,
                   stdout=subprocess.PIPE)
    return wim


def _real_expected():
    return json.loads((HIVE_DATA / "expected.json").read_text())


@pytest.mark.parametrize("set_name", ["win7sp1-x86-domain", "win10-1709-dirty-with-logs", "win10-1903-upgraded",
                                      "win81-x64-workgroup"])
def test_real_system_hives(capsys, tmp_path, set_name):
    truth = _real_expected()["system"][set_name]
    result, dummy = run_module(capsys, path=str(_real_tree(tmp_path, set_name, {"SYSTEM": set_name})), phase="none")
    facts = result["facts"]
    assert facts["os"]["computer_name"] == truth["computer_name"]
    assert facts["os"]["product_type"] == truth["product_type"]
    assert facts["pending"]["file_rename_operations"] == truth["pending_file_rename_operations"]
    assert facts["setup"]["generalization_state"] == truth["generalization_state"]
    assert facts["setup"]["cleanup_state"] == truth["cleanup_state"]
    assert facts["setup"]["upgraded"] is bool(truth["source_os_keys"])
    assert len(facts["setup"]["upgrade_history"]) == len(truth["source_os_keys"])
    assert facts["domain"]["joined"] is truth["domain_joined"]
    assert facts["domain"]["site_name"] == truth["netlogon_dynamic_site_name"]
    assert facts["domain"]["dns_domain"] == (truth["tcpip_nv_domain"] or truth["tcpip_domain"] or None)
    dirty_notes = [n for n in result["notes"] if "is dirty" in n and "not replayed" in n]
    assert bool(dirty_notes) is truth["header"]["dirty"]
    # SOFTWARE is not in these sets: its sections say so, by name.
    assert "SOFTWARE hive (Windows/System32/config/SOFTWARE) is missing" in facts["errors"]["licensing"]


def test_real_upgraded_hive_history_is_chronological(capsys, tmp_path):
    result, dummy = run_module(capsys, path=str(_real_tree(tmp_path, "x", {"SYSTEM": "win10-1903-upgraded"})),
                               phase="none")
    history = result["facts"]["setup"]["upgrade_history"]
    assert [re.search(r"build (\d+)", h).group(1) for h in history] == ["15063", "17134"]


def test_real_control_set_follows_select_current(capsys, tmp_path):
    # win7: ControlSet001 and 002 exist, Select\Current = 1; the name comes from 001.
    result, dummy = run_module(capsys, path=str(_real_tree(tmp_path, "x", {"SYSTEM": "win7sp1-x86-domain"})),
                               phase="none")
    assert result["facts"]["os"]["computer_name"] == "WKS-WIN732BITA"
    assert result["facts"]["os"]["architecture"] == "x86"


@pytest.mark.parametrize("set_name", sorted(_real_expected()["sam_security"]))
def test_real_sam_and_security_hives(capsys, tmp_path, set_name):
    truth = _real_expected()["sam_security"][set_name]
    # These sets have no SYSTEM hive; a real workgroup machine's SYSTEM (no DNS suffix, no AD site)
    # makes the volume a Windows installation without deciding the domain answer.
    wim = _real_tree(tmp_path, set_name, {"SAM": set_name, "SECURITY": set_name, "SYSTEM": "win81-x64-workgroup"})
    result, dummy = run_module(capsys, path=str(wim), phase="none")
    domain = result["facts"]["domain"]
    assert domain["joined"] is truth["domain_joined"]
    assert domain["netbios_domain"] == truth["primary_domain"]
    assert domain["domain_sid"] == truth["domain_sid"]
    assert domain["dns_domain"] == (truth["dns_domain"] or None)
    assert domain["workgroup"] == (None if truth["domain_joined"] else truth["primary_domain"])
    assert domain["role"] == ("member_workstation" if truth["domain_joined"] else "standalone_workstation")
    assert "domain" not in result["facts"]["errors"]
    dirty_notes = [n for n in result["notes"] if n.startswith("SECURITY hive") and "is dirty" in n]
    assert bool(dirty_notes) is truth["security_dirty"]


def test_real_corrupted_xp_hive_gives_a_clear_section_error(capsys, tmp_path):
    truth = _real_expected()["system"]["winxp-sp3-corrupted"]
    wim = _real_tree(tmp_path, "x", {"SYSTEM": "winxp-sp3-corrupted"})
    result, text = run_module(capsys, path=str(wim), phase="verify")
    assert not result.get("failed"), result.get("msg")
    errors = result["facts"]["errors"]
    for section in ("setup", "virtualization"):
        assert "SYSTEM hive (Windows/System32/config/SYSTEM) is damaged" in errors[section]
        assert "hbin" in errors[section]
    # What could be read was read.
    assert result["facts"]["os"]["computer_name"] == truth["computer_name"]
    assert "Traceback" not in text


# --------------------------------------------------------------------------- through Ansible

@pytest.mark.slow
def test_runs_through_ansiballz(winimage_artifacts, tmp_path):
    ansible = Path(sys.executable).parent / "ansible"
    if not ansible.exists():
        pytest.skip("the ansible command is not installed next to this Python")
    artifact = winimage_artifacts.build("vhdx", preset="with_secrets")
    collections = Path(image_facts.__file__).parents[5]  # .../collections/ansible_collections/winimage/...
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(collections), ANSIBLE_NOCOLOR="1",
               ANSIBLE_LOAD_CALLBACK_PLUGINS="1", ANSIBLE_STDOUT_CALLBACK="ansible.builtin.json",
               ANSIBLE_LOCALHOST_WARNING="false", ANSIBLE_INVENTORY_UNPARSED_WARNING="false",
               ANSIBLE_HOME=str(tmp_path / "home"), ANSIBLE_LOCAL_TEMP=str(tmp_path / "tmp"))
    completed = subprocess.run(
        [str(ansible), "localhost", "-c", "local", "-e", "ansible_python_interpreter=%s" % sys.executable,
         "-m", "winimage.generalize.image_facts", "-a",
         json.dumps({"path": str(artifact.path), "phase": "verify", "rule_options": {"build_accounts": ["packer"]}})],
        capture_output=True, text=True, env=env, timeout=300, check=False)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    output = json.loads(completed.stdout)
    result = output["plays"][0]["tasks"][0]["hosts"]["localhost"]
    assert result["facts"]["os"]["computer_name"] == "REF-SECRETS"
    ids = {f["id"] for f in result["findings"]}
    assert {"answer_file_secrets", "autologon_secret", "not_generalized", "build_profile_leftover"} <= ids
    for secret in windows_tree.secret_values(windows_tree.preset("with_secrets")):
        assert secret not in completed.stdout + completed.stderr
