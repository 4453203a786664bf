# Copyright: (c) 2026, winimage.generalize contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The offline gatherer's parts: raw registry values, answer-file inspection, section errors.

Hives are written by the test-data builder's own regf writer (independent code), read back by
offline_registry and, where it matters, cross-checked with hivexget. The gatherer runs on an
in-memory set of files so each section's behaviour on missing or damaged input is visible.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

SUPPORT = Path(__file__).resolve().parents[3] / "support"
if str(SUPPORT) not in sys.path:
    sys.path.insert(0, str(SUPPORT))

from winimage_testdata import regf  # noqa: E402

from ansible_collections.winimage.generalize.plugins.module_utils import facts_schema, offline_facts  # noqa: E402
from ansible_collections.winimage.generalize.plugins.module_utils.offline_registry import (  # noqa: E402
    Hive, HiveError, decode_value, multi_sz_strings, sid_to_string, unicode_string)

SECRET = "S3cret!Value-123"


# --------------------------------------------------------------------------- registry values

def _hive(tmp_path, tree, name="TEST", **options):
    path = tmp_path / name
    path.write_bytes(regf.build_hive(tree, **options))
    return path


def test_raw_values_keep_what_decoded_readers_lose(tmp_path):
    renames = ["\\??\\C:\\a.tmp", "", "\\??\\C:\\b.new", "!\\??\\C:\\b.dll", "\\??\\C:\\c.rbf", ""]
    big = "x" * 20000  # above 16344 bytes: stored in "db" big-data segments
    path = _hive(tmp_path, {
        "Session Manager": {"PendingFileRenameOperations": regf.multi_sz(renames)},
        "Values": {
            "Inline": regf.dword(7), "Big": regf.sz(big), "Quad": regf.qword(1 << 40),
            "Odd": regf.raw(regf.REG_SZ, "Site".encode("utf-16-le") + b"\0\0\x41"),
            "Blob": regf.binary(b"\x00\x15\x5d\x01\x02\x00"), "": regf.sz("default"),
        },
    })
    hive = Hive(str(path), "TEST hive")
    value_type, raw = hive.raw_value("session manager", "pendingfilerenameoperations")
    assert value_type == regf.REG_MULTI_SZ and multi_sz_strings(raw) == renames
    values = hive.values("Values")
    assert values["Inline"] == 7 and values["Quad"] == 1 << 40
    assert values["Big"] == big
    assert values["Odd"] == "Site"  # odd byte length with junk after the NUL
    assert values["Blob"] == b"\x00\x15\x5d\x01\x02\x00"
    assert hive.value("Values", "") == "default"
    assert hive.value("Values", "absent", "fallback") == "fallback"
    assert hive.key("No\\Such\\Key") is None and hive.values("No\\Such") is None
    assert hive.dirty is False and hive.damage is None


@pytest.mark.skipif(shutil.which("hivexget") is None, reason="needs hivexget (libhivex-bin)")
def test_multi_sz_matches_hivex(tmp_path):
    strings = ["one", "", "three", ""]
    path = _hive(tmp_path, {"K": {"M": regf.multi_sz(strings)}})
    output = subprocess.run(["hivexget", str(path), "\\K", "M"], stdout=subprocess.PIPE, check=True).stdout
    # hivexget prints one string per line, empty strings included.
    assert output.decode("utf-8").split("\n")[:len(strings)] == strings
    assert multi_sz_strings(Hive(str(path), "T").raw_value("K", "M")[1]) == strings


def test_dirty_and_damaged_hives_are_reported(tmp_path):
    dirty = Hive(str(_hive(tmp_path, {"A": {"v": regf.dword(1)}}, "DIRTY", dirty=True)), "DIRTY hive")
    assert dirty.dirty and dirty.sequence[0] != dirty.sequence[1]
    damaged_path = tmp_path / "DAMAGED"
    damaged_path.write_bytes(regf.corrupt_hive_bytes(regf.build_hive({"A": {"B": {"v": regf.dword(1)}}}), "hbin"))
    try:
        damaged = Hive(str(damaged_path), "DAMAGED hive")
    except HiveError as error:
        assert "DAMAGED hive" in str(error)
    else:
        assert damaged.damage and "hbin" in damaged.damage
    garbage = tmp_path / "GARBAGE"
    garbage.write_bytes(b"not a hive at all" * 100)
    with pytest.raises(HiveError, match="GARBAGE hive cannot be opened"):
        Hive(str(garbage), "GARBAGE hive")


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(alphabet=st.characters(blacklist_characters="\0", blacklist_categories=("Cs",)),
                        max_size=8), max_size=8))
def test_multi_sz_round_trip(strings):
    raw = b"".join(s.encode("utf-16-le") + b"\0\0" for s in strings) + b"\0\0"
    assert multi_sz_strings(raw) == strings


@pytest.mark.parametrize("raw, expected", [
    (b"", None),
    (b"\x00\x00\x00\x00\x08\x00\x00\x00", ""),
    (b"\x08\x00\x0a\x00\x08\x00\x00\x00C\x00O\x00R\x00P\x00\x00\x00", "CORP"),
    (b"\x08\x00\x0a\x00\x10\x00\x00\x00" + b"\0" * 8 + "CORP".encode("utf-16-le"), "CORP"),
])
def test_unicode_string(raw, expected):
    assert unicode_string(raw) == expected


def test_sid_round_trip():
    sid = "S-1-5-21-1004336348-1177238915-682003330"
    assert sid_to_string(regf.sid_bytes(sid)) == sid
    assert sid_to_string(b"") is None and sid_to_string(b"\x01\x05") is None


def test_decode_value_types():
    assert decode_value(regf.REG_DWORD, b"\x01\x00\x00\x00") == 1
    assert decode_value(regf.REG_EXPAND_SZ, "%SystemRoot%\0".encode("utf-16-le")) == "%SystemRoot%"
    assert decode_value(regf.REG_DWORD, b"") is None
    assert decode_value(regf.REG_BINARY, b"\x01\x02") == b"\x01\x02"


# --------------------------------------------------------------------------- answer files

UNATTEND = """<?xml version="1.0" encoding="utf-8"?>
<unattend xmlns="urn:schemas-microsoft-com:unattend">
  <settings pass="specialize">
    <component name="Microsoft-Windows-UnattendedJoin">
      <Identification><Credentials><Domain>corp</Domain><Username>join</Username>
        <Password>{join}</Password></Credentials></Identification>
    </component>
  </settings>
  <settings pass="oobeSystem">
    <component name="Microsoft-Windows-Shell-Setup">
      <UserAccounts>
        <AdministratorPassword><Value>{admin}</Value><PlainText>{plain}</PlainText></AdministratorPassword>
      </UserAccounts>
      <AutoLogon><Enabled>{autologon}</Enabled><Username>Administrator</Username>
        <Password><Value>{auto}</Value><PlainText>true</PlainText></Password></AutoLogon>
    </component>
  </settings>
</unattend>
"""


def _answer(join="", admin="", auto="", plain="true", autologon="true"):
    return UNATTEND.format(join=join, admin=admin, auto=auto, plain=plain, autologon=autologon).encode()


def test_answer_file_passwords_are_named_never_returned():
    result = offline_facts.inspect_answer_file(_answer(join=SECRET, admin="QQBkAG0AaQBuAA==", plain="false",
                                                       auto=SECRET))
    assert result["contains_password"] is True and result["hidden_passwords"] is True
    assert result["password_elements"] == [
        "oobeSystem/Microsoft-Windows-Shell-Setup/AutoLogon/Password",
        "oobeSystem/Microsoft-Windows-Shell-Setup/UserAccounts/AdministratorPassword",
        "specialize/Microsoft-Windows-UnattendedJoin/Identification/Credentials/Password",
    ]
    assert result["autologon"] is True
    assert SECRET not in json.dumps(result) and "QQBkAG0A" not in json.dumps(result)


def test_empty_password_values_do_not_count():
    result = offline_facts.inspect_answer_file(_answer(autologon="false"))
    assert result["contains_password"] is False and result["password_elements"] == []
    assert result["autologon"] is False


def test_damaged_answer_file_is_scanned_as_text():
    broken = _answer(admin=SECRET).replace(b"</unattend>", b"<unclosed>")
    result = offline_facts.inspect_answer_file(broken)
    assert result["contains_password"] is True and "AdministratorPassword" in result["password_elements"]
    assert "not well-formed XML" in result["parse_error"]
    assert SECRET not in json.dumps(result)


# --------------------------------------------------------------------------- gatherer on in-memory files

class MemoryFiles(object):
    """The files interface of offline_windows over a dict {volume path: bytes}."""

    kind = "ntfs"
    windows_dir = "Windows"

    def __init__(self, files):
        self.files = {k.lower(): v for k, v in files.items()}
        self.names = {k.lower(): k for k in files}

    def exists(self, path):
        return path.lower() in self.files

    def size(self, path):
        data = self.files.get(path.lower())
        return None if data is None else len(data)

    def read(self, path, max_size=None, tail=False):
        data = self.files.get(path.lower())
        if data is not None and max_size is not None and len(data) > max_size:
            return data[-max_size:]
        return data

    def listdir(self, path):
        prefix = path.lower().rstrip("/") + "/"
        names = [self.names[k][len(prefix):] for k in self.files if k.startswith(prefix)]
        return [n for n in names if "/" not in n] or None

    def materialize(self, path, destination):
        data = self.files.get(path.lower())
        if data is None:
            return False
        Path(destination).write_bytes(data)
        return True


def _system_hive(computer="REF-01", **control_extra):
    control = {"ComputerName": {"ComputerName": {"ComputerName": regf.sz(computer)}},
               "ProductOptions": {"ProductType": regf.sz("WinNT")},
               "Session Manager": {"Environment": {"PROCESSOR_ARCHITECTURE": regf.sz("AMD64")}},
               "Nls": {"Language": {"InstallLanguage": regf.sz("0407")}}}
    control.update(control_extra)
    return regf.build_hive({
        "Select": {"Current": regf.dword(1)},
        "Setup": {"SystemSetupInProgress": regf.dword(0), "OOBEInProgress": regf.dword(0)},
        "ControlSet001": {"Control": control, "Services": {"Tcpip": {"Parameters": {
            "Hostname": regf.sz(computer), "NV Hostname": regf.sz(computer + "-NEW")}}}},
    })


def _gather(files):
    facts, notes, panther = offline_facts.gather_facts(MemoryFiles(files))
    jsonschema_validate(facts)
    return facts, notes


def jsonschema_validate(facts):
    import jsonschema
    jsonschema.validate(facts, facts_schema.json_schema())


def test_missing_hives_are_section_errors_naming_the_file():
    facts, _notes = _gather({"Windows/System32/config/SYSTEM": _system_hive(),
                             "Windows/Setup/State/State.ini": "[State]\r\nImageState=IMAGE_STATE_COMPLETE\r\n"
                             .encode("utf-16")})
    assert facts["os"]["computer_name"] == "REF-01" and facts["os"]["language"] == "de-DE"
    assert facts["setup"]["image_state"] == "IMAGE_STATE_COMPLETE"  # UTF-16 State.ini
    assert facts["pending"]["computer_rename_pending"] is True  # NV Hostname differs from Hostname
    for section in ("appx", "licensing", "autologon", "profiles", "hyperv"):
        assert facts["errors"][section] == ("SOFTWARE hive (Windows/System32/config/SOFTWARE) is missing "
                                            "from the image")
    assert "SECURITY hive (Windows/System32/config/SECURITY) is missing" in facts["errors"]["domain"]
    assert facts["licensing"]["skip_rearm"] is None
    assert "setup" not in facts["errors"]
    assert facts["answer_files"]["files"] == [] and "answer_files" not in facts["errors"]


def test_corrupt_hive_file_keeps_other_sections():
    facts, _notes = _gather({"Windows/System32/config/SYSTEM": _system_hive(),
                             "Windows/System32/config/SOFTWARE": b"regf" + b"\xff" * 5000})
    assert "SOFTWARE hive (Windows/System32/config/SOFTWARE) cannot be opened" in facts["errors"]["licensing"]
    assert facts["os"]["architecture"] == "amd64"


def test_computer_name_falls_back_to_the_security_account_domain():
    security = regf.build_hive({"Policy": {
        "PolAcDmN": {"": regf.none(b"\x0c\x00\x0e\x00\x08\x00\x00\x00" + "WKS-07".encode("utf-16-le") + b"\0\0")},
        "PolPrDmN": {"": regf.none(b"\x0a\x00\x0c\x00\x08\x00\x00\x00" + "CORP".encode("utf-16-le") + b"\0\0")},
        "PolPrDmS": {"": regf.none(regf.sid_bytes("S-1-5-21-1-2-3"))},
        "PolDnDDN": {"": regf.none(b"")},
    }})
    broken_system = b"regf" + b"\0" * 100
    facts, notes = _gather({"Windows/System32/config/SYSTEM": broken_system,
                            "Windows/System32/config/SECURITY": security})
    assert facts["os"]["computer_name"] == "WKS-07"
    assert any("PolAcDmN" in note for note in notes)
    assert facts["domain"]["joined"] is True and facts["domain"]["domain_sid"] == "S-1-5-21-1-2-3"
    assert facts["domain"]["netbios_domain"] == "CORP" and facts["domain"]["workgroup"] is None


def test_nps_client_and_server_group_counts(tmp_path):
    software = regf.build_hive({"Microsoft": {"Windows NT": {"CurrentVersion": {"ProductName": regf.sz("x")}}}})
    system = regf.build_hive({
        "Select": {"Current": regf.dword(1)}, "Setup": {},
        "ControlSet001": {"Control": {}, "Services": {"IAS": {"Start": regf.dword(2)}}}})
    ias = b"""<?xml version="1.0"?><Root><Children><Microsoft_Internet_Authentication_Service><Children>
      <Protocols><Children><Microsoft_Radius_Protocol><Children><Clients><Children>
        <Switch1 name="Switch1"/><VPN name="VPN"/></Children></Clients></Children></Microsoft_Radius_Protocol>
      </Children></Protocols>
      <RadiusServerGroups><Children><Upstream name="Upstream"/></Children></RadiusServerGroups>
    </Children></Microsoft_Internet_Authentication_Service></Children></Root>"""
    facts, _notes = _gather({"Windows/System32/config/SYSTEM": system, "Windows/System32/config/SOFTWARE": software,
                             "Windows/System32/ias/ias.xml": ias})
    assert facts["roles"]["nps"] is True and "NPAS" in facts["roles"]["installed"]
    assert facts["roles"]["nps_radius_clients"] == 2 and facts["roles"]["nps_remote_server_groups"] == 1
    assert facts["hyperv"]["vms"] == []


@pytest.mark.parametrize("manufacturer, model, vendor", [
    ("VMware, Inc.", "VMware7,1", "vmware"),
    ("Microsoft Corporation", "Virtual Machine", "hyperv"),
    ("QEMU", "Standard PC (Q35 + ICH9, 2009)", "kvm"),
    ("innotek GmbH", "VirtualBox", "virtualbox"),
    ("Dell Inc.", "OptiPlex 7090", "none"),
    (None, None, None),
])
def test_hypervisor_vendor(manufacturer, model, vendor):
    assert offline_facts._hypervisor_vendor(manufacturer, model) == vendor


def test_mac_range_format():
    assert offline_facts._mac(b"\x00\x15\x5d\x38\xaf\x00") == "00155D38AF00"
    assert offline_facts._mac(None) is None
