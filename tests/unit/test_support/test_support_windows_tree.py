# Copyright: (c) 2026, winimage.generalize contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The synthetic Windows trees hold what the presets promise, laid out like real hives.

One small reference reader (regipy + hivexsh, the same reading procedure used
to document the real hives) runs on the real hives in tests/data/hives (against
expected.json) and on every preset (against expected_facts()): if both agree,
the synthetic hives are shaped like Windows' own.
"""

import base64
import json
import lzma
import re
import sqlite3
import struct
from pathlib import Path

import pytest
from regipy.registry import RegistryHive

from winimage_testdata import readback, windows_tree
from winimage_testdata.fixtures import skip_without_tools

HIVES = Path(__file__).resolve().parents[2] / "data" / "hives"
EXPECTED = json.loads((HIVES / "expected.json").read_text())


# --------------------------------------------------------------------------- reference reader


def _values(hive, path):
    try:
        key = hive.get_key(path)
    except Exception:  # regipy raises its own "no subkey" errors
        return None
    return {("" if v.name == "(default)" else v.name): v.value for v in key.iter_values(trim_values=False) or ()}


def _subkeys(hive, path):
    try:
        return [k.name for k in hive.get_key(path).iter_subkeys() or ()]
    except Exception:
        return None


def _text(value):
    """REG_SZ as text; regipy hands back bytes for malformed strings (odd length)."""
    if isinstance(value, bytes):
        return value[:len(value) // 2 * 2].decode("utf-16-le").split("\x00")[0]
    return value


def pending_rename_pairs(path, control_set):
    """Count PendingFileRenameOperations pairs from the RAW data (regipy drops the empty
    "delete" targets), via hivexsh which prints the bytes as hex(7)."""
    listing = readback.hivexsh(path, "cd \\%s\\Control\\Session Manager\nlsval\n" % control_set)
    prefix = '"PendingFileRenameOperations"=hex(7):'
    lines = [line for line in listing.splitlines() if line.startswith(prefix)]
    if not lines:
        return 0
    data = bytes.fromhex(lines[0][len(prefix):].replace(",", ""))
    strings = data.decode("utf-16-le").split("\x00")
    while strings and strings[-1] == "":  # list terminator(s)
        strings.pop()
    if len(strings) % 2:  # a trailing empty target was eaten with the terminator
        strings.append("")
    return len(strings) // 2


def read_system(path, raw_counts=True):
    hive = RegistryHive(str(path))
    current = _values(hive, "\\Select")["Current"]
    cs = "ControlSet%03d" % current
    tcpip = _values(hive, "\\%s\\Services\\Tcpip\\Parameters" % cs) or {}
    netlogon = _values(hive, "\\%s\\Services\\Netlogon\\Parameters" % cs) or {}
    setup = _values(hive, "\\Setup") or {}
    sysprep = _values(hive, "\\Setup\\Status\\SysprepStatus") or {}
    site = netlogon.get("DynamicSiteName")
    return {
        "select_current": current,
        "control_sets": sorted(k for k in _subkeys(hive, "\\") if re.match(r"ControlSet\d{3}$", k)),
        "computer_name": _values(hive, "\\%s\\Control\\ComputerName\\ComputerName" % cs)["ComputerName"],
        "tcpip_domain": tcpip.get("Domain"),
        "tcpip_nv_domain": tcpip.get("NV Domain"),
        "netlogon_dynamic_site_name": _text(site) if site is not None else None,
        "domain_joined": bool(tcpip.get("NV Domain") or site),
        "generalization_state": sysprep.get("GeneralizationState"),
        "cleanup_state": sysprep.get("CleanupState"),
        "setup_in_progress": setup.get("SystemSetupInProgress"),
        "upgrade": setup.get("Upgrade"),
        "source_os_keys": sorted(k for k in _subkeys(hive, "\\Setup") if k.startswith("Source OS")),
        "product_type": _values(hive, "\\%s\\Control\\ProductOptions" % cs)["ProductType"],
        "pending_file_rename_operations": pending_rename_pairs(path, cs) if raw_counts else None,
    }


def _unicode_string(data):
    if not data:
        return ""
    length, _maximum, offset = struct.unpack_from("<HHI", data)
    return data[offset:offset + length].decode("utf-16-le")


def _sid(data):
    if not data:
        return None
    count = data[1]
    authority = int.from_bytes(data[2:8], "big")
    subs = struct.unpack_from("<%dI" % count, data, 8)
    return "S-%d-%d" % (data[0], authority) + "".join("-%d" % s for s in subs)


def read_sam_security(sam_path, security_path):
    security = RegistryHive(str(security_path))

    def default(name):
        value = _values(security, "\\Policy\\" + name)[""]
        return value if isinstance(value, bytes) else b""

    sid = _sid(default("PolPrDmS"))
    return {
        "primary_domain": _unicode_string(default("PolPrDmN")),
        "dns_domain": _unicode_string(default("PolDnDDN")),
        "account_domain": _unicode_string(default("PolAcDmN")),
        "domain_sid": sid,
        "domain_joined": sid is not None,
        "sam_users": sorted(_subkeys(RegistryHive(str(sam_path)), "\\SAM\\Domains\\Account\\Users\\Names"),
                            key=str.lower),
    }


def _unpacked(tmp_path, relative):
    target = tmp_path / relative.replace("/", "_")[:-3]
    target.write_bytes(lzma.decompress((HIVES / relative).read_bytes()))
    return target


# --------------------------------------------------------------------------- real hives


@skip_without_tools("hivexsh")
@pytest.mark.parametrize("name", sorted(EXPECTED["system"]))
def test_reference_reader_matches_real_system_hives(tmp_path, name):
    expected = EXPECTED["system"][name]
    path = _unpacked(tmp_path, name + "/SYSTEM.xz")
    corrupt = expected.get("corrupt", False)
    facts = read_system(path, raw_counts=not corrupt)  # hivex refuses the corrupt hive
    for field in ("select_current", "control_sets", "computer_name", "tcpip_domain", "tcpip_nv_domain",
                  "netlogon_dynamic_site_name", "domain_joined", "generalization_state", "cleanup_state",
                  "setup_in_progress", "upgrade", "source_os_keys", "product_type"):
        assert facts[field] == expected[field], field
    if not corrupt:
        assert facts["pending_file_rename_operations"] == expected["pending_file_rename_operations"]
    header = path.read_bytes()[:12]
    seq1, seq2 = struct.unpack_from("<II", header, 4)
    assert (seq1 != seq2) == expected["header"]["dirty"]


@pytest.mark.parametrize("name", sorted(EXPECTED["sam_security"]))
def test_reference_reader_matches_real_sam_and_security_hives(tmp_path, name):
    expected = EXPECTED["sam_security"][name]
    facts = read_sam_security(_unpacked(tmp_path, name + "/SAM.xz"), _unpacked(tmp_path, name + "/SECURITY.xz"))
    for field in ("primary_domain", "dns_domain", "account_domain", "domain_sid", "domain_joined"):
        assert facts[field] == expected[field], field
    assert facts["sam_users"] == sorted(expected["sam_users"], key=str.lower)


def test_every_copied_hive_is_documented_in_source_md():
    listed = (HIVES / "SOURCE.md").read_text()
    files = sorted(str(p.relative_to(HIVES)) for p in HIVES.rglob("*.xz"))
    assert files and all("`%s`" % f in listed for f in files)
    assert "CC-BY-4.0" in listed


# --------------------------------------------------------------------------- synthetic trees


@pytest.fixture(scope="module")
def trees(tmp_path_factory):
    root = tmp_path_factory.mktemp("trees")
    built = {}
    for name in windows_tree.PRESETS:
        profile = windows_tree.preset(name)
        built[name] = (profile, root / name, windows_tree.build_tree(profile, root / name))
    return built


PRESET_NAMES = sorted(windows_tree.PRESETS)


def _config(tree, hive):
    return tree / "Windows" / "System32" / "config" / hive


@skip_without_tools("hivexsh")
@pytest.mark.parametrize("name", PRESET_NAMES)
def test_reference_reader_matches_synthetic_system_hive(trees, name):
    profile, tree, expected = trees[name]
    facts = read_system(_config(tree, "SYSTEM"))
    assert facts["select_current"] == expected["control_set"]["current"]
    assert facts["computer_name"] == expected["computer_name"]
    assert facts["domain_joined"] == expected["domain"]["joined"]
    assert facts["tcpip_domain"] == (expected["domain"]["dns_domain"] or "")
    assert facts["tcpip_nv_domain"] == expected["domain"]["dns_domain"]
    assert facts["netlogon_dynamic_site_name"] == expected["domain"]["site_name"]
    assert facts["generalization_state"] == expected["sysprep"]["generalization_state"]
    assert facts["cleanup_state"] == expected["sysprep"]["cleanup_state"]
    assert facts["setup_in_progress"] == expected["sysprep"]["system_setup_in_progress"]
    assert facts["product_type"] == expected["os"]["product_type"]
    assert facts["pending_file_rename_operations"] == expected["pending"]["file_rename_operations"]
    assert len(facts["source_os_keys"]) == len(expected["source_os_builds"])


@pytest.mark.parametrize("name", ["generalized", "domain_joined"])
def test_stale_control_set_disagrees_so_select_current_matters(trees, name):
    _profile, tree, expected = trees[name]
    hive = RegistryHive(str(_config(tree, "SYSTEM")))
    assert expected["control_set"]["current"] == 2
    stale = _values(hive, "\\ControlSet001\\Control\\ComputerName\\ComputerName")["ComputerName"]
    assert stale != expected["computer_name"]


@pytest.mark.parametrize("name", PRESET_NAMES)
def test_reference_reader_matches_synthetic_sam_and_security(trees, name):
    profile, tree, expected = trees[name]
    facts = read_sam_security(_config(tree, "SAM"), _config(tree, "SECURITY"))
    domain = expected["domain"]
    assert facts["domain_joined"] == domain["joined"]
    assert facts["primary_domain"] == (domain["netbios_domain"] if domain["joined"] else domain["workgroup"])
    assert facts["dns_domain"] == (domain["dns_domain"] or "")
    assert facts["domain_sid"] == domain["domain_sid"]
    assert facts["account_domain"] == expected["computer_name"]
    assert facts["sam_users"] == sorted(expected["users"]["local"], key=str.lower)


@pytest.mark.parametrize("name", PRESET_NAMES)
def test_software_hive_holds_version_state_and_pending_flags(trees, name):
    profile, tree, expected = trees[name]
    hive = RegistryHive(str(_config(tree, "SOFTWARE")))
    current = _values(hive, "\\Microsoft\\Windows NT\\CurrentVersion")
    assert current["ProductName"] == expected["os"]["product_name"]
    assert current["EditionID"] == expected["os"]["edition_id"]
    assert current["InstallationType"] == expected["os"]["installation_type"]
    assert int(current["CurrentBuildNumber"]) == expected["os"]["build"]
    assert current.get("UBR") == expected["os"]["ubr"]
    assert current.get("DisplayVersion") == expected["os"]["display_version"]
    if "CurrentMajorVersionNumber" in current:
        version = "%d.%d" % (current["CurrentMajorVersionNumber"], current["CurrentMinorVersionNumber"])
    else:
        version = current["CurrentVersion"]
    assert version == expected["os"]["version"]
    state = _values(hive, "\\Microsoft\\Windows\\CurrentVersion\\Setup\\State")["ImageState"]
    assert state == expected["image_state"]
    cbs = _subkeys(hive, "\\Microsoft\\Windows\\CurrentVersion\\Component Based Servicing")
    assert ("RebootPending" in cbs) == expected["pending"]["cbs_reboot_pending"]
    pending_packages = _subkeys(hive, "\\Microsoft\\Windows\\CurrentVersion\\Component Based Servicing"
                                      "\\PackagesPending") or []
    assert len(pending_packages) == expected["pending"]["cbs_packages_pending"]
    wu = _subkeys(hive, "\\Microsoft\\Windows\\CurrentVersion\\WindowsUpdate\\Auto Update") or []
    assert ("RebootRequired" in wu) == expected["pending"]["windows_update_reboot_required"]
    spp = _values(hive, "\\Microsoft\\Windows NT\\CurrentVersion\\SoftwareProtectionPlatform")
    assert spp.get("SkipRearm") == expected["licensing"]["skip_rearm"]
    store_policy = _values(hive, "\\Policies\\Microsoft\\WindowsStore") or {}
    assert store_policy.get("AutoDownload") == expected["store_auto_download"]
    winlogon = _values(hive, "\\Microsoft\\Windows NT\\CurrentVersion\\Winlogon")
    assert (winlogon["AutoAdminLogon"] == "1") == expected["secrets"]["autologon_enabled"]
    assert ("DefaultPassword" in winlogon) == expected["secrets"]["autologon_password_present"]
    profiles = _subkeys(hive, "\\Microsoft\\Windows NT\\CurrentVersion\\ProfileList")
    assert {"S-1-5-18", "S-1-5-19", "S-1-5-20"} <= set(profiles)
    assert len(profiles) == 3 + len(expected["users"]["profiles"])


@pytest.mark.parametrize("name", PRESET_NAMES)
def test_appx_registry_and_state_repository_agree_with_expectations(trees, name):
    profile, tree, expected = trees[name]
    appx = expected["appx"]
    hive = RegistryHive(str(_config(tree, "SOFTWARE")))
    store = "\\Microsoft\\Windows\\CurrentVersion\\Appx\\AppxAllUserStore"
    assert sorted(_subkeys(hive, store + "\\Applications") or []) == appx["provisioned"]
    per_user = {sid: sorted(_subkeys(hive, store + "\\" + sid)) for sid in appx["installed_per_user"]}
    assert per_user == appx["installed_per_user"]
    srd = tree / "ProgramData" / "Microsoft" / "Windows" / "AppRepository" / "StateRepository-Machine.srd"
    assert srd.exists() == appx["repository_present"]
    if not srd.exists():
        return
    with sqlite3.connect(str(srd)) as db:
        rows = db.execute("SELECT u.UserSid, p.PackageFullName FROM PackageUser pu "
                          "JOIN Package p ON pu.Package = p._PackageID JOIN User u ON pu.User = u._UserID").fetchall()
        staged = db.execute("SELECT PackageFullName FROM Package WHERE _PackageID NOT IN "
                            "(SELECT Package FROM PackageUser)").fetchall()
        families = db.execute("SELECT f.PackageFamilyName FROM Package p JOIN PackageFamily f "
                              "ON p.PackageFamily = f._PackageFamilyID").fetchall()
    from_db = {}
    for sid, full_name in rows:
        from_db.setdefault(_sid(sid), []).append(full_name)
    assert {sid: sorted(names) for sid, names in from_db.items()} == appx["installed_per_user"]
    assert sorted(r[0] for r in staged) == appx["staged_only"]
    assert all(f[0].endswith("_8wekyb3d8bbwe") for f in families)


@pytest.mark.parametrize("name", PRESET_NAMES)
def test_files_on_the_volume_match_the_state(trees, name):
    profile, tree, expected = trees[name]
    state_ini = (tree / "Windows" / "Setup" / "State" / "State.ini").read_text()
    assert state_ini.splitlines() == ["[State]", "ImageState=" + expected["image_state"]]
    for file_name, present in expected["memory_files"].items():
        assert (tree / file_name).exists() == present, file_name
    for user in expected["users"]["profiles"]:
        assert (tree / "Users" / user / "NTUSER.DAT").read_bytes()[:4] == b"regf"
    kernel = (tree / "Windows" / "System32" / "ntoskrnl.exe").read_bytes()
    assert kernel[:2] == b"MZ" and kernel[0x80:0x84] == b"PE\x00\x00"
    sysprep_log = tree / "Windows" / "System32" / "Sysprep" / "Panther" / "setupact.log"
    assert sysprep_log.exists() == (expected["sysprep"]["last_run"] is not None)
    for package in expected["sysprep"]["appx_failures"]:
        assert ("SYSPRP Package %s was installed for a user, but not provisioned for all users." % package
                in sysprep_log.read_text())
    found_answer_files = sorted(str(p.relative_to(tree)) for p in tree.rglob("*") if p.name.lower() == "unattend.xml")
    assert found_answer_files == expected["secrets"]["answer_files"]


def test_with_secrets_plants_every_secret_in_plain_and_obfuscated_form(trees):
    profile, tree, expected = trees["with_secrets"]
    blobs = b"".join(p.read_bytes() for p in tree.rglob("*") if p.is_file())
    # Obfuscated answer-file passwords only appear base64-encoded: decode them too.
    for value in re.findall(rb"<Value>([A-Za-z0-9+/=]{16,})</Value>", blobs):
        blobs += base64.b64decode(value)
    secrets = windows_tree.secret_values(profile)
    assert len(secrets) >= 5
    for secret in secrets:
        assert secret.encode("utf-8") in blobs or secret.encode("utf-16-le") in blobs, "secret missing from tree"
    hidden = (tree / "Windows" / "System32" / "Sysprep" / "unattend.xml").read_text()
    assert "<PlainText>false</PlainText>" in hidden
    encoded = re.search(r"<AdministratorPassword>\s*<Value>([^<]+)</Value>", hidden).group(1)
    assert base64.b64decode(encoded).decode("utf-16-le").endswith("AdministratorPassword")
    assert expected["secrets"]["answer_files_with_password"] == sorted(a.path for a in profile.answer_files)
    assert expected["users"]["build_account"] == "packer"
    assert "Aut0L0gon!Secret" not in json.dumps(expected)


def test_expected_facts_carry_no_secret_values(trees):
    for name, (profile, _tree, expected) in trees.items():
        text = json.dumps(expected)
        assert not any(secret in text for secret in windows_tree.secret_values(profile)), name


def test_presets_differ_where_they_should(trees):
    facts = {name: item[2] for name, item in trees.items()}
    assert facts["generalized"]["generalized"] and not facts["audit_mode"]["generalized"]
    assert facts["audit_mode"]["audit_mode"]
    assert facts["pending_reboot"]["pending"]["reboot_required"]
    assert facts["appx_per_user"]["appx"]["user_not_provisioned"]
    assert facts["upgraded"]["upgraded"] and facts["upgraded"]["source_os_builds"] == ["15063", "17134"]
    assert facts["skip_rearm"]["licensing"]["skip_rearm"] == 1
    assert facts["domain_controller"]["domain"]["is_domain_controller"]
    assert facts["windows11_23h2"]["os"]["is_windows11"] and facts["windows11_23h2"]["os"]["product_name"].startswith(
        "Windows 10")
    assert facts["windows7"]["os"]["version"] == "6.1" and not facts["windows7"]["appx"]["repository_present"]
    assert facts["server_core_2012r2"]["os"]["installation_type"] == "Server Core"


def test_preset_overrides_and_unknown_names():
    custom = windows_tree.preset("generalized", computer_name="CUSTOM-01")
    assert windows_tree.expected_facts(custom)["computer_name"] == "CUSTOM-01"
    with pytest.raises(KeyError, match="unknown preset 'nope'; known: "):
        windows_tree.preset("nope")


@skip_without_tools("hivexsh")
def test_dirty_and_corrupt_hive_options(tmp_path):
    profile = windows_tree.preset("reference_complete", dirty_hives=("SYSTEM",), corrupt_hives=("SOFTWARE",))
    expected = windows_tree.build_tree(profile, tmp_path)
    system = _config(tmp_path, "SYSTEM").read_bytes()
    assert struct.unpack_from("<I", system, 4)[0] != struct.unpack_from("<I", system, 8)[0]
    assert read_system(_config(tmp_path, "SYSTEM"))["computer_name"] == expected["computer_name"]
    with pytest.raises(Exception):
        readback.hivexsh(_config(tmp_path, "SOFTWARE"), "ls\n")
    assert expected["corrupt_hives"] == ["SOFTWARE"] and expected["dirty_hives"] == ["SYSTEM"]
