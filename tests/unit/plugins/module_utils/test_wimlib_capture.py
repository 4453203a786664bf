# Copyright: (c) 2026, winimage.generalize contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""wimlib command lines, exclusion files, WIM XML and header reading, and the capture decision."""

from __future__ import annotations

import struct
import xml.etree.ElementTree as ET

import pytest

from ansible_collections.winimage.generalize.plugins.module_utils import wimlib_capture as wimlib
from ansible_collections.winimage.generalize.plugins.modules import wim_capture

XML = """<WIM><TOTALBYTES>14109</TOTALBYTES>
<IMAGE INDEX="2"><NAME>Second</NAME><DIRCOUNT>3</DIRCOUNT><FILECOUNT>4</FILECOUNT><TOTALBYTES>10</TOTALBYTES></IMAGE>
<IMAGE INDEX="1"><NAME>Win Test</NAME><DESCRIPTION>desc</DESCRIPTION><DIRCOUNT>22</DIRCOUNT><FILECOUNT>13</FILECOUNT>
<TOTALBYTES>103656</TOTALBYTES><HARDLINKBYTES>0</HARDLINKBYTES>
<CREATIONTIME><HIGHPART>0x01DD79A2</HIGHPART><LOWPART>0x9F283008</LOWPART></CREATIONTIME>
<WINDOWS><SYSTEMROOT>WINDOWS</SYSTEMROOT><ARCH>9</ARCH><EDITIONID>Enterprise</EDITIONID>
<INSTALLATIONTYPE>Client</INSTALLATIONTYPE><PRODUCTNAME>Windows 10 Enterprise</PRODUCTNAME>
<VERSION><MAJOR>10</MAJOR><MINOR>0</MINOR><BUILD>19045</BUILD><SPLEVEL>0</SPLEVEL></VERSION>
<PRODUCTTYPE>WinNT</PRODUCTTYPE><LANGUAGES><LANGUAGE>en-US</LANGUAGE><LANGUAGE>de-DE</LANGUAGE>
<DEFAULT>en-US</DEFAULT></LANGUAGES></WINDOWS>
<WINIMAGEGENERALIZE><SOURCEFINGERPRINT>abc123</SOURCEFINGERPRINT><SOURCE>/dev/sdb (partition 3)</SOURCE>
</WINIMAGEGENERALIZE></IMAGE></WIM>"""


def test_images_are_read_from_the_wim_xml_in_index_order():
    images = wimlib.describe_images(ET.fromstring(XML))
    assert [i["index"] for i in images] == [1, 2]
    first = images[0]
    assert first["name"] == "Win Test" and first["description"] == "desc"
    assert (first["file_count"], first["dir_count"], first["total_bytes"]) == (13, 22, 103656)
    assert first["windows"]["architecture"] == "amd64"
    assert first["windows"]["version"] == {"major": 10, "minor": 0, "build": 19045, "sp_build": None, "sp_level": 0}
    assert first["windows"]["languages"] == ["en-US", "de-DE"]
    assert first["source_fingerprint"] == "abc123"
    assert first["source"] == "/dev/sdb (partition 3)"
    assert first["creation_time"].startswith("20")
    assert images[1]["windows"] is None and images[1]["source_fingerprint"] is None


def test_image_names_compare_without_case():
    images = wimlib.describe_images(ET.fromstring(XML))
    assert wimlib.find_image(images, "win TEST")["index"] == 1
    assert wimlib.find_image(images, "Third") is None


@pytest.mark.parametrize("entry,expected", [
    ("/pagefile.sys", "\\pagefile.sys"),
    ("C:\\hiberfil.sys", "\\hiberfil.sys"),
    ("  \\Users\\*\\AppData\\Local\\Temp ", "\\Users\\*\\AppData\\Local\\Temp"),
    ("*.tmp", "*.tmp"),
])
def test_exclusions_are_written_in_wimlib_syntax(entry, expected):
    assert wimlib.normalize_exclusion(entry) == expected
    config = wimlib.exclusion_config([entry])
    assert config.splitlines()[1] == "[ExclusionList]"
    assert config.splitlines()[2] == expected


@pytest.mark.parametrize("entry", ["", "   ", "a\nb", 5])
def test_unusable_exclusions_are_refused(entry):
    with pytest.raises(ValueError):
        wimlib.normalize_exclusion(entry)


def test_default_exclusions_cover_memory_files_and_restore_points():
    lowered = [e.lower() for e in wimlib.DEFAULT_EXCLUSIONS]
    for path in ("\\pagefile.sys", "\\hiberfil.sys", "\\swapfile.sys", "\\system volume information",
                 "\\$recycle.bin", "\\windows\\csc", "\\$winreagent"):
        assert path in lowered


def test_capture_command_line_carries_the_options():
    argv = wimlib.capture_argv("capture", "/dev/loop3", "/srv/.a.wim.partial-1", "Win 11", "Ref build",
                               "recovery", "/tmp/c.ini", check_integrity=True, boot=True, threads=2,
                               properties={wimlib.PROPERTY_FINGERPRINT: "f00"})
    assert argv[:6] == ["wimlib-imagex", "capture", "/dev/loop3", "/srv/.a.wim.partial-1", "Win 11", "Ref build"]
    for expected in ("--solid", "--compress=LZMS", "--config=/tmp/c.ini", "--check", "--boot", "--threads=2"):
        assert expected in argv
    assert argv[-2:] == ["--image-property", "WINIMAGEGENERALIZE/SOURCEFINGERPRINT=f00"]


def test_append_keeps_the_compression_of_the_existing_wim():
    argv = wimlib.capture_argv("append", "/dev/sdb3", "w.wim", "Two", compression="max")
    assert argv[1] == "append"
    assert not [a for a in argv if a.startswith("--compress") or a == "--solid"]


def _header(flags, image_count, blob_offset, xml_offset, integrity_offset=0):
    raw = bytearray(208)
    raw[0:8] = wimlib.WIM_MAGIC
    struct.pack_into("<IIII", raw, 8, 208, 0x10D00, flags, 32768)
    struct.pack_into("<I", raw, 44, image_count)
    struct.pack_into("<QQQ", raw, 48, 700 | (2 << 56), blob_offset, 700)
    struct.pack_into("<QQQ", raw, 72, 2152 | (2 << 56), xml_offset, 2152)
    struct.pack_into("<QQQ", raw, 124, 64 if integrity_offset else 0, integrity_offset, 64)
    return bytes(raw)


@pytest.mark.parametrize("flags,name", [(0x20082, "XPRESS"), (0x40002, "LZX"), (0x80002, "LZMS"), (0x0, "none")])
def test_header_fields_and_compression(tmp_path, flags, name):
    path = tmp_path / "a.wim"
    path.write_bytes(_header(flags, 2, 13409, 14109, 15000))
    header = wimlib.read_header(str(path))
    assert header["image_count"] == 2
    assert header["blob_table"] == {"size": 700, "offset": 13409, "original_size": 700}
    assert header["xml"]["offset"] == 14109 and header["integrity"]["offset"] == 15000
    assert wimlib.wim_compression(str(path)) == name


def test_a_file_that_is_no_wim_is_named(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_bytes(b"hello" * 100)
    with pytest.raises(wimlib.CaptureError, match="not a WIM"):
        wimlib.read_header(str(path))


# --------------------------------------------------------------------------- the capture decision

IMAGES = [{"index": 1, "name": "Win 11", "source_fingerprint": "f1"},
          {"index": 2, "name": "Other", "source_fingerprint": None}]


def test_new_dest_is_captured():
    assert wim_capture.decide(None, "Win 11", "f1", False, "/x.wim") == ("capture", None)


def test_same_name_and_unchanged_source_changes_nothing():
    action, existing = wim_capture.decide(IMAGES, "win 11", "f1", False, "/x.wim")
    assert action == "none" and existing["index"] == 1


@pytest.mark.parametrize("append", [False, True])
def test_same_name_from_a_changed_source_is_refused_never_overwritten(append):
    with pytest.raises(wimlib.CaptureError, match="never overwritten"):
        wim_capture.decide(IMAGES, "Win 11", "f2", append, "/x.wim")


def test_an_image_without_fingerprint_is_never_taken_as_ours():
    with pytest.raises(wimlib.CaptureError, match="did not record"):
        wim_capture.decide(IMAGES, "Other", "f2", True, "/x.wim")


def test_existing_dest_without_append_is_refused_and_the_message_offers_append():
    with pytest.raises(wimlib.CaptureError, match="append: true.*index 3"):
        wim_capture.decide(IMAGES, "Third", "f3", False, "/x.wim")


def test_existing_dest_with_append_adds_an_index():
    assert wim_capture.decide(IMAGES, "Third", "f3", True, "/x.wim") == ("append", None)


def _params(tmp_path, **overrides):
    params = dict(name="Win 11", description=None, threads=None, partition=None, lock_timeout=0,
                  dest=str(tmp_path / "a.wim"), scratch_dir=None, exclusions=list(wimlib.DEFAULT_EXCLUSIONS))
    params.update(overrides)
    return params


@pytest.mark.parametrize("overrides,message", [
    ({"name": "  "}, "name must not be empty"),
    ({"name": "1234"}, "only digits"),
    ({"name": "a\nb"}, "control characters"),
    ({"threads": 0}, "threads must be 1 or more"),
    ({"partition": 0}, "partition must be 1 or more"),
    ({"exclusions": [""]}, "exclusions: an exclusion is empty"),
    ({"dest": "/no/such/dir/a.wim"}, "does not exist; create it first"),
    ({"scratch_dir": "/no/such/scratch"}, "scratch_dir /no/such/scratch does not exist"),
])
def test_bad_options_are_named(tmp_path, overrides, message):
    problems = wim_capture.validate(_params(tmp_path, **overrides))
    assert any(message in p for p in problems), problems


def test_good_options_pass(tmp_path):
    assert wim_capture.validate(_params(tmp_path)) == []
