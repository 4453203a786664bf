# Copyright: (c) 2026, winimage.generalize contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""DISM capture rules: options, WimScript.ini, command lines, and the never-overwrite plan."""

from __future__ import annotations

import shutil
import struct
import subprocess

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.winimage.generalize.plugins.module_utils import dism

WIMLIB = shutil.which("wimlib-imagex")


def options(**overrides):
    raw = dict(src="E:\\", dest="D:\\images\\ref.wim", name="Windows 11 Enterprise", description=None,
               compression=None, append=False, exclusions=None, check_integrity=False, verify=False,
               scratch_dir=None, split_size_mb=None)
    raw.update(overrides)
    return dism.validate_capture_options(raw)


def header(flags):
    """The first 48 bytes of a WIM header with the given flags."""
    return dism.WIM_MAGIC + struct.pack("<III", dism.WIM_HEADER_SIZE, 0x10d00, flags) + b"\0" * 28


LZX_HEADER = header(0x2 | 0x40000)
XPRESS_HEADER = header(0x2 | 0x20000)


def state(**overrides):
    base = dict(src_is_dir=True, dest_dir_exists=True, dest_exists=False, dest_is_file=False, images=[],
                images_error=None, header=b"", split_parts=[], leftovers=[])
    base.update(overrides)
    return base


EXISTING = dict(dest_exists=True, dest_is_file=True, images=[{"index": 1, "name": "Windows 11 Pro"}],
                header=XPRESS_HEADER)


def all_arguments(plan):
    return [arg for step in plan["steps"] for arg in step["argv"]]


# --------------------------------------------------------------------------- exclusions

@pytest.mark.parametrize("entry, expected", [
    ("C:\\pagefile.sys", "\\pagefile.sys"),
    ("c:/Windows/Temp/*", "\\Windows\\Temp\\*"),
    ("  \\Users\\*\\  ", "\\Users\\*\\"),
    ("*.tmp", "*.tmp"),
    ("\\System Volume Information", "\\System Volume Information"),
])
def test_exclusions_are_normalized_to_paths_inside_the_captured_directory(entry, expected):
    assert dism.normalize_exclusion(entry) == expected


@pytest.mark.parametrize("entry, words", [
    ("", "empty"),
    ("\\Users\\*\\AppData\\Temp", "last component"),
    ("\\Win?ows\\Temp", "last component"),
    ("[ExclusionList]", "section header"),
    ("; comment", "comment"),
    ('"\\System Volume Information"', "double quote"),
    ("\\a\nb", "line break"),
    (42, "must be strings"),
])
def test_bad_exclusions_are_refused_with_the_reason(entry, words):
    with pytest.raises(dism.DismOptionError, match=words):
        dism.normalize_exclusion(entry)


def test_wimscript_ini_has_the_exclusion_section_crlf_and_mandatory_entries_first():
    text = dism.wimscript_ini(["\\pagefile.sys", "\\PAGEFILE.SYS", "\\Temp\\*"], mandatory=["\\winimage-winpe"])
    lines = text.split("\r\n")

    assert "\n" not in text.replace("\r\n", "")
    assert lines[1] == "[ExclusionList]"
    assert lines[2:5] == ["\\winimage-winpe", "\\pagefile.sys", "\\Temp\\*"]   # duplicates dropped, case-insensitive
    assert text.endswith("\r\n")


def test_wimscript_ini_writes_a_compression_exclusion_section_only_when_asked():
    assert "[CompressionExclusionList]" not in dism.wimscript_ini(["\\a"])
    assert "[CompressionExclusionList]\r\n*.zip\r\n" in dism.wimscript_ini(["\\a"], compression_exclusions=["*.zip"])


def test_configuration_file_encoding_is_ascii_unless_a_path_needs_unicode():
    assert dism.wimscript_encoding(dism.wimscript_ini(["\\Temp"])) == "ascii"
    assert dism.wimscript_encoding(dism.wimscript_ini(["\\Benutzer\\Jürgen\\Temp"])) == "utf-16"


# --------------------------------------------------------------------------- options

def test_unset_compression_is_fast_for_a_wim_and_recovery_for_an_esd():
    assert options()["compression"] == "fast"
    assert options()["compression_explicit"] is False
    assert options(dest="D:\\r\\install.esd")["compression"] == "recovery"
    assert options(compression="max")["compression_explicit"] is True


def test_unset_exclusions_mean_the_defaults_and_an_empty_list_means_none():
    assert options()["exclusions"] == list(dism.DEFAULT_EXCLUSIONS)
    assert options(exclusions=[])["exclusions"] == []


@pytest.mark.parametrize("overrides, words", [
    (dict(compression="recovery"), "writes an .esd"),
    (dict(dest="D:\\r\\install.esd", compression="max"), "needs compression: recovery"),
    (dict(dest="D:\\r\\install.vhdx"), "must end in .wim"),
    (dict(dest="images\\ref.wim"), "absolute Windows path"),
    (dict(src="E:"), "absolute Windows path"),
    (dict(dest="D:\\images\\"), "names a directory"),
    (dict(dest="D:\\images\\ref.partial-1.wim"), "reserves"),
    (dict(dest="D:\\images\\re*f.wim"), "cannot hold"),
    (dict(name=""), "name is required"),
    (dict(name='Win "11"'), "double quotes"),
    (dict(name=" Win"), "spaces"),
    (dict(description="a\nb"), "line breaks"),
    (dict(split_size_mb=0), "above 0"),
    (dict(split_size_mb=True), "whole number"),
    (dict(split_size_mb=100, append=True), "append"),
    (dict(split_size_mb=100, dest="D:\\r\\i.esd"), "cannot split an .esd"),
    (dict(append=True, dest="D:\\r\\i.esd"), "not supported"),
    (dict(scratch_dir="scratch"), "scratch_dir"),
    (dict(compression="lzms"), "one of"),
])
def test_option_errors_name_the_problem_and_the_fix(overrides, words):
    with pytest.raises(dism.DismOptionError, match=words):
        options(**overrides)


def test_unc_destinations_are_accepted():
    assert options(dest="\\\\files01\\images\\ref.wim")["dest"] == "\\\\files01\\images\\ref.wim"


# --------------------------------------------------------------------------- WIM header

@pytest.mark.parametrize("flags, compression", [
    (0, "none"), (0x2 | 0x20000, "fast"), (0x2 | 0x40000, "max"), (0x2 | 0x80000, "recovery"), (0x2, "unknown"),
])
def test_wim_header_flags_give_the_compression(flags, compression):
    assert dism.wim_header_info(header(flags)) == {"compression": compression, "spanned": False}


def test_a_spanned_header_and_a_non_wim_are_recognised():
    assert dism.wim_header_info(header(0x2 | 0x40000 | 0x8))["spanned"] is True
    assert dism.wim_header_info(b"MZ\x90\x00" + b"\0" * 60) is None
    assert dism.wim_header_info(b"") is None


@pytest.mark.skipif(WIMLIB is None, reason="wimlib-imagex (package wimtools) is not installed")
@pytest.mark.parametrize("wimlib_compress, compression", [
    ("none", "none"), ("XPRESS", "fast"), ("LZX", "max"), ("LZMS", "recovery"),
])
def test_wim_header_of_real_wims_written_by_wimlib(tmp_path, wimlib_compress, compression):
    source = tmp_path / "volume"
    (source / "Windows").mkdir(parents=True)
    (source / "Windows" / "notepad.exe").write_bytes(b"MZ" + b"x" * 4096)
    wim = tmp_path / "image.wim"
    subprocess.run([WIMLIB, "capture", str(source), str(wim), "Test", "--compress=%s" % wimlib_compress],
                   check=True, capture_output=True)

    info = dism.wim_header_info(wim.read_bytes()[:dism.WIM_HEADER_SIZE])

    assert info == {"compression": compression, "spanned": False}


# --------------------------------------------------------------------------- command lines

@pytest.mark.parametrize("arg, quoted", [
    ("E:\\", "E:\\"),
    ("/CaptureDir:E:\\", "/CaptureDir:E:\\"),
    ("/Name:Windows 11", '/Name:"Windows 11"'),
    ("/ImageFile:C:\\my images\\", '/ImageFile:"C:\\my images\\\\"'),
    ("/Description:", "/Description:"),
    ("", '""'),
])
def test_arguments_are_quoted_like_the_dism_documentation(arg, quoted):
    assert dism.quote_argument(arg) == quoted


def test_an_argument_with_a_double_quote_is_refused():
    with pytest.raises(dism.DismOptionError, match="double quote"):
        dism.quote_argument('/Name:a"b')


def test_capture_argv_puts_global_options_first_and_only_the_flags_asked_for():
    argv = dism.capture_argv("D:\\i\\t.wim", "E:\\", "Ref", None, "max", "D:\\i\\t.ini", check_integrity=True,
                             verify=False, log_path="D:\\i\\t.log", scratch_dir="D:\\s")

    assert argv[:4] == ["dism.exe", "/LogPath:D:\\i\\t.log", "/ScratchDir:D:\\s", "/Capture-Image"]
    assert "/Compress:max" in argv and "/CheckIntegrity" in argv and "/ConfigFile:D:\\i\\t.ini" in argv
    assert "/Verify" not in argv and not any(a.startswith("/Description") for a in argv)


def test_append_argv_has_no_compression():
    argv = dism.capture_argv("D:\\i\\t.wim", "E:\\", "Ref", "Desc", "max", None, append=True)

    assert "/Append-Image" in argv and "/Description:Desc" in argv
    assert not any(a.startswith("/Compress") for a in argv)


def test_capture_refuses_recovery_compression():
    with pytest.raises(dism.DismOptionError, match="none, fast or max"):
        dism.capture_argv("D:\\t.wim", "E:\\", "Ref", compression="recovery")


# --------------------------------------------------------------------------- the plan

def test_a_missing_dest_is_captured_under_a_temporary_name_in_its_directory():
    plan = dism.plan_capture(options(), state(), "t0k3n")

    assert plan["action"] == "capture"
    assert plan["temp"] == "D:\\images\\ref.partial-t0k3n.wim"
    assert [s["what"] for s in plan["steps"]] == ["capture"]
    assert "/ImageFile:D:\\images\\ref.partial-t0k3n.wim" in plan["steps"][0]["argv"]
    assert "/ConfigFile:D:\\images\\ref.partial-t0k3n.ini" in plan["steps"][0]["argv"]
    assert plan["config_text"] == dism.wimscript_ini(dism.DEFAULT_EXCLUSIONS)


def test_append_true_on_a_missing_dest_captures_a_new_file():
    assert dism.plan_capture(options(append=True), state(), "t")["action"] == "capture"


def test_an_image_with_the_same_name_makes_the_capture_a_no_op():
    plan = dism.plan_capture(options(name="windows 11 PRO"), state(**EXISTING), "t")

    assert plan["action"] == "none" and plan["index"] == 1 and plan["steps"] == []


def test_an_existing_dest_is_never_overwritten_without_append():
    with pytest.raises(dism.CaptureRefused, match="never overwritten.*append: true"):
        dism.plan_capture(options(), state(**EXISTING), "t")


def test_append_adds_an_index_with_the_existing_compression_into_a_copy():
    plan = dism.plan_capture(options(append=True), state(**{**EXISTING, "header": LZX_HEADER}), "t")

    assert plan["action"] == "append" and plan["compression"] == "max"
    assert "/Append-Image" in plan["steps"][0]["argv"]
    assert "/ImageFile:D:\\images\\ref.partial-t.wim" in plan["steps"][0]["argv"]


def test_append_with_a_different_explicit_compression_is_refused():
    with pytest.raises(dism.CaptureRefused, match="uses max compression"):
        dism.plan_capture(options(append=True, compression="fast"), state(**{**EXISTING, "header": LZX_HEADER}), "t")


@pytest.mark.parametrize("existing, words", [
    (dict(header=header(0x2 | 0x40000 | 0x8)), "split image"),
    (dict(header=header(0x2 | 0x80000)), "recovery"),
    (dict(header=b"not a wim"), "WIM header"),
    (dict(images_error="The file is not a valid image"), "cannot list its images"),
    (dict(dest_is_file=False), "not a file"),
])
def test_append_refuses_what_dism_cannot_append_to(existing, words):
    with pytest.raises(dism.CaptureRefused, match=words):
        dism.plan_capture(options(append=True), state(**{**EXISTING, **existing}), "t")


def test_missing_source_or_directory_is_refused_before_anything_runs():
    with pytest.raises(dism.CaptureRefused, match="Mount-VHD -ReadOnly"):
        dism.plan_capture(options(), state(src_is_dir=False), "t")
    with pytest.raises(dism.CaptureRefused, match="does not exist"):
        dism.plan_capture(options(), state(dest_dir_exists=False), "t")


def test_existing_split_parts_are_never_overwritten():
    with pytest.raises(dism.CaptureRefused, match="split parts already exist"):
        dism.plan_capture(options(split_size_mb=3800), state(split_parts=["D:\\images\\ref.swm"]), "t")


def test_split_writes_parts_under_the_temporary_name():
    plan = dism.plan_capture(options(split_size_mb=3800), state(), "t")

    split = plan["steps"][-1]
    assert split["what"] == "split"
    assert "/SWMFile:D:\\images\\ref.partial-t.swm" in split["argv"] and "/FileSize:3800" in split["argv"]
    assert plan["split"]["final_pattern"] == "D:\\images\\ref*.swm"
    assert dism.split_part_final_name("ref.partial-t2.swm", plan["split"]["temp_stem"],
                                      plan["split"]["final_stem"]) == "ref2.swm"


def test_recovery_captures_a_wim_then_exports_it_to_the_esd_name():
    plan = dism.plan_capture(options(dest="D:\\r\\install.esd"), state(), "t")

    capture, export = plan["steps"]
    assert capture["what"] == "capture" and "/Compress:max" in capture["argv"]
    assert "/ImageFile:D:\\r\\install.partial-t.capture.wim" in capture["argv"]
    assert export["argv"][export["argv"].index("/Export-Image"):] == [
        "/Export-Image", "/SourceImageFile:D:\\r\\install.partial-t.capture.wim", "/SourceIndex:1",
        "/DestinationImageFile:D:\\r\\install.partial-t.esd", "/Compress:recovery"]
    assert plan["intermediate"] == ["D:\\r\\install.partial-t.capture.wim"]


def test_leftovers_of_interrupted_runs_become_warnings():
    plan = dism.plan_capture(options(), state(leftovers=["D:\\images\\ref.partial-old.wim"]), "t")

    assert plan["warnings"] == ["left over from an interrupted capture (remove it when no capture is running): "
                                "D:\\images\\ref.partial-old.wim"]


_NAME = st.text(alphabet=st.characters(whitelist_categories=("Lu", "Ll", "Nd"), whitelist_characters=" -_.&()%!"),
                min_size=1, max_size=30).map(str.strip).filter(lambda s: s and not s.endswith("."))


@settings(max_examples=150, deadline=None)
@given(stem=_NAME, name=_NAME, compression=st.sampled_from([None, "none", "fast", "max"]),
       split=st.sampled_from([None, 700]), exists=st.booleans())
def test_no_dism_step_ever_writes_to_the_final_name(stem, name, compression, split, exists):
    """Whatever the names, DISM writes temporary files only; the final name appears by rename."""
    dest = "\\\\srv\\share\\images\\%s.wim" % stem
    opts = options(dest=dest, name=name, compression=compression, split_size_mb=split, append=exists and not split)
    existing = dict(dest_exists=True, dest_is_file=True, images=[{"index": 1, "name": "other"}],
                    header=header({None: 0x20002, "none": 0, "fast": 0x20002, "max": 0x40002}[compression]))
    try:
        plan = dism.plan_capture(opts, state(**existing) if exists else state(), "tok")
    except dism.CaptureRefused:
        assert exists and not opts["append"]
        return
    written = [a.split(":", 1)[1] for a in all_arguments(plan)
               if a.startswith(("/ImageFile:", "/DestinationImageFile:", "/SWMFile:", "/LogPath:", "/ConfigFile:"))]
    assert written and all(dism.PARTIAL_MARK + "tok" in path for path in written)
    assert dest.lower() not in [path.lower() for path in written]


# --------------------------------------------------------------------------- results

@pytest.mark.parametrize("raw, name", [(9, "amd64"), ("9", "amd64"), ("x64", "amd64"), ("ARM64", "arm64"),
                                       (0, "x86"), (12, "arm64"), (77, "77"), ("mips", "mips")])
def test_architecture_names_follow_the_facts_schema(raw, name):
    info = dism.normalize_image_info({"index": 1, "windows": {"architecture": raw, "languages": "en-US"}})

    assert info["windows"]["architecture"] == name
    assert info["windows"]["languages"] == ["en-US"]
