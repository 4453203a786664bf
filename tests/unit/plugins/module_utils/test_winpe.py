# Copyright: (c) 2026, winimage.generalize contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The WinPE capture: option rules, the generated scripts, BCD steps, staging plan and status verdict.

There is no cmd.exe here, so the scripts are checked for the properties that matter: the password
is only in the file meant for it, credentials are removed before DISM runs, nothing is written over
an existing image, every special character sits inside quotes, and the status file the script
echoes is valid JSON (the echo lines are expanded the way cmd.exe expands them).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.winimage.generalize.plugins.module_utils import dism, winpe

PASSWORD = "S3cr&t%PATH%^(x)!pw"
WIMLIB = shutil.which("wimlib-imagex")


def stage_options(**overrides):
    raw = dict(boot_wim="C:\\ADK\\winpe.wim", boot_wim_index=1, boot_sdi=None, target="share",
               share="\\\\files01\\images", share_username="CORP\\svc-capture", share_password=PASSWORD,
               share_drive="N:", target_volume=None, dest="captures\\win11-ent.wim", name="Windows 11 Enterprise",
               description=None, compression=None, exclusions=None, check_integrity=False, verify=True,
               scratch_dir=None, on_failure="shutdown", append=False, split_size_mb=None)
    raw.update(overrides)
    return winpe.validate_stage_options(raw)


def script(**overrides):
    return winpe.capture_script(stage_options(**overrides), "tok123")


def line_index(text, pattern):
    for number, line in enumerate(text.split("\r\n")):
        if re.search(pattern, line):
            return number
    raise AssertionError("no line matches %r" % pattern)


def unquoted(line):
    """The parts of a cmd.exe line outside double quotes."""
    return "".join(part for index, part in enumerate(line.split('"')) if index % 2 == 0)


def cmd_expand(text, variables):
    """cmd.exe's percent expansion of one batch line: %% -> %, %NAME% -> value (undefined -> empty)."""
    def replace(match):
        if match.group(0) == "%%":
            return "%"
        return variables.get(match.group(1).upper(), "")
    return re.sub(r"%%|%([^%\s]+)%", replace, text)


def crt_split(line):
    """argv as the Microsoft C runtime splits a command line (quotes, backslashes before quotes)."""
    argv, current, in_quotes, index, has_arg = [], [], False, 0, False
    while index < len(line):
        char = line[index]
        if char == "\\":
            run = len(line[index:]) - len(line[index:].lstrip("\\"))
            if index + run < len(line) and line[index + run] == '"':
                current.append("\\" * (run // 2))
                if run % 2:
                    current.append('"')
                    index += 1
                index += run
            else:
                current.append("\\" * run)
                index += run
            has_arg = True
            continue
        if char == '"':
            in_quotes, has_arg = not in_quotes, True
        elif char in " \t" and not in_quotes:
            if has_arg:
                argv.append("".join(current))
            current, has_arg = [], False
        else:
            current.append(char)
            has_arg = True
        index += 1
    if has_arg:
        argv.append("".join(current))
    return argv


def echoed_status(text, variables):
    """The file :write_status produces: each echo line expanded, CRLF separated."""
    block = text.split(":write_status\r\n", 1)[1].split("goto :eof", 1)[0]
    lines = []
    for line in block.split("\r\n"):
        match = re.match(r'^>>?"%~1" echo (.*)$', line)
        if match:
            lines.append(cmd_expand(match.group(1), variables))
    return "\r\n".join(lines) + "\r\n"


# --------------------------------------------------------------------------- options

@pytest.mark.parametrize("overrides, words", [
    (dict(boot_wim=None), "boot_wim must be the absolute path"),
    (dict(boot_wim="winpe.wim"), "boot_wim must be the absolute path"),
    (dict(dest="N:\\captures\\x.wim"), "relative to the share"),
    (dict(dest="\\\\srv\\x\\y.wim"), "relative to the share"),
    (dict(dest="captures\\..\\x.wim"), "'..'"),
    (dict(dest="captures\\100%.wim"), "cannot pass safely"),
    (dict(dest="captures\\a^b.wim"), "cannot pass safely"),
    (dict(share="files01\\images"), "UNC share"),
    (dict(share="\\\\files01\\images\\sub"), "server and share name only"),
    (dict(share_username="CORP\\svc capture"), "share_username"),
    (dict(share_username=None), "share_username"),
    (dict(share_drive="X:"), "RAM disk"),
    (dict(share_drive="NN"), "free drive letter"),
    (dict(target="volume", target_volume=None, share=None, share_username=None, share_password=None),
     "target_volume"),
    (dict(target="volume", target_volume="D:"), "only used with target: share"),
    (dict(append=True), "append is not supported"),
    (dict(split_size_mb=700), "split_size_mb is not supported"),
    (dict(name="Windows 11 Enterprise \u00e9dition"), "non-ASCII"),
    (dict(on_failure="reboot"), "on_failure"),
    (dict(compression="recovery"), "writes an .esd"),
])
def test_stage_option_errors_name_the_problem(overrides, words):
    with pytest.raises((winpe.WinPEOptionError, dism.DismOptionError), match=re.escape(words)):
        stage_options(**overrides)


@pytest.mark.parametrize("password, words", [
    ("", "required"),
    ('pa"ss', "double quote"),
    ("pa\nss", "control character"),
    ("Hunter2 ", "leading or trailing spaces"),
    ("p\u00e4ss", "non-ASCII"),
    ("x" * 300, "longer than 256"),
])
def test_passwords_cmd_cannot_carry_are_refused_without_showing_them(password, words):
    with pytest.raises(winpe.WinPEOptionError) as error:
        stage_options(share_password=password)

    assert words in str(error.value)
    if password.strip():
        assert password.strip() not in str(error.value)


def test_volume_target_needs_no_credentials():
    opts = stage_options(target="volume", target_volume="d:", share=None, share_username=None, share_password=None)

    assert opts["target_volume"] == "D:"
    public, secret = winpe.render_files(opts, "tok")
    assert secret == {}
    assert "net use" not in public[winpe.CAPTURE_SCRIPT]
    assert "winimage-capture-target\\tok.target" in public[winpe.CAPTURE_SCRIPT]


# --------------------------------------------------------------------------- the password

def test_the_password_is_only_in_the_secret_file_inside_boot_wim():
    public, secret = winpe.render_files(stage_options(), "tok123")

    assert list(secret) == [winpe.SHARE_SECRET]
    assert secret[winpe.SHARE_SECRET] == PASSWORD + "\r\n"
    assert winpe.SHARE_SECRET.startswith("Windows\\System32\\")   # a path inside boot.wim, never on C:
    for path, text in public.items():
        assert PASSWORD not in text, path
        assert PASSWORD.replace("%", "%%") not in text, path


def test_staging_exclusion_and_deletion_keep_credentials_out_of_the_image():
    opts = stage_options(exclusions=["\\pagefile.sys"])
    text = winpe.capture_script(opts, "tok123")
    ini = winpe.wimscript_text(opts)

    assert ini.split("\r\n")[2] == "\\winimage-winpe"                      # always excluded, whatever the user lists
    assert winpe.BOOT_WIM.startswith(winpe.STAGING_DIR + "\\")
    assert winpe.VERIFIER_FILE.startswith(winpe.STAGING_DIR + "\\")
    delete_wim = line_index(text, r'^del /f /q "%WI_OSVOL%\\winimage-winpe\\boot\.wim"')
    delete_verifier = line_index(text, r'^del /f /q "%WI_OSVOL%\\winimage-winpe\\credential\.verifier"')
    capture = line_index(text, r"^dism\.exe ")
    assert delete_wim < capture and delete_verifier < capture


def test_the_secret_is_read_then_deleted_and_forgotten_right_after_net_use():
    text = script()

    read = line_index(text, r"^set /p WI_PASS=<")
    delete = line_index(text, r'^del /f /q "%SystemRoot%\\System32\\winimage\\share\.secret"')
    net_use = line_index(text, r"^net use N: ")
    forgotten = [n for n, line in enumerate(text.split("\r\n")) if line == 'set "WI_PASS="']
    assert read < delete < net_use
    assert any(n > net_use for n in forgotten)
    assert '"%WI_PASS%" /user:CORP\\svc-capture /persistent:no' in text


# --------------------------------------------------------------------------- the script

def test_startnet_initialises_winpe_then_runs_the_capture():
    lines = winpe.startnet_script("tok").split("\r\n")

    assert lines.index("wpeinit") < lines.index('call "%SystemRoot%\\System32\\winimage\\capture.cmd"')


def test_the_script_never_overwrites_and_renames_with_ren():
    text = script()

    check = line_index(text, r'^if exist %WI_OUT%\\captures\\win11-ent\.wim \(set "WI_RC=1" & goto :report\)')
    capture = line_index(text, r"^dism\.exe ")
    rename = line_index(text, r"^ren ")
    assert check < capture < rename
    assert "move " not in text.lower() and "copy /y %" not in text.lower()
    assert text.split("\r\n")[rename] == 'ren %WI_OUT%\\captures\\win11-ent.partial-tok123.wim win11-ent.wim'


def test_the_dism_line_matches_the_capture_plan():
    text = script(description="Monthly & final", verify=True, scratch_dir="scratch")
    line = text.split("\r\n")[line_index(text, r"^dism\.exe ")]

    assert line.startswith("dism.exe /LogPath:%WI_OUT%\\captures\\win11-ent.tok123.dism.log "
                           "/ScratchDir:%WI_OUT%\\scratch /Capture-Image ")
    assert "/ImageFile:%WI_OUT%\\captures\\win11-ent.partial-tok123.wim /CaptureDir:%WI_OSVOL%\\ " in line
    assert '/Name:"Windows 11 Enterprise" /Description:"Monthly & final" /Compress:fast ' in line
    assert "/ConfigFile:%SystemRoot%\\System32\\winimage\\wimscript.ini /Verify" in line
    assert line.endswith('>%WI_OUT%\\captures\\win11-ent.tok123.dism-console.log 2>&1')


def test_recovery_exports_after_the_capture_and_deletes_the_intermediate():
    text = script(dest="recovery\\install.esd")

    lines = [line for line in text.split("\r\n") if line.startswith(("dism.exe", "del /f /q %WI_OUT%"))]
    assert "/Capture-Image" in lines[0] and "/Compress:max" in lines[0]
    assert "/Export-Image" in lines[1] and "/Compress:recovery" in lines[1] and ">>" in lines[1]
    assert lines[2] == "del /f /q %WI_OUT%\\recovery\\install.partial-tok123.capture.wim >nul 2>&1"


@settings(max_examples=100, deadline=None)
@given(name=st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126, blacklist_characters='"'),
                    min_size=1, max_size=40).map(str.strip).filter(bool))
def test_cmd_special_characters_in_names_stay_inside_quotes(name):
    text = script(name=name, description=name)
    line = text.split("\r\n")[line_index(text, r"^dism\.exe ")]
    outside = unquoted(line.rsplit(" >", 1)[0])

    assert not set(outside) & set("&|<>^()")
    # cmd.exe turns every %% back into % and expands the script's variables; DISM then splits
    # the line with the C runtime rules and must get the name back unchanged.
    expanded = cmd_expand(line.rsplit(" >", 1)[0], {"WI_OUT": "N:", "WI_OSVOL": "C:", "SYSTEMROOT": "X:\\Windows"})
    argv = crt_split(expanded)
    assert "/Name:" + name in argv and "/Description:" + name in argv
    assert "/CaptureDir:C:\\" in argv


def test_the_status_file_the_script_echoes_is_valid_json():
    text = script(dest="captures\\Win 11 & co.wim")
    variables = {"WI_TOKEN": "tok123", "WI_STEP": "capture", "WI_RC": "-1052638937",
                 "WI_STARTED": "Mon 03/02/2026 10:11:12.13", "WI_FINISHED": "Mon 03/02/2026 10:41:00.50",
                 "WI_SHA256": "", "WI_BOOTWIM_REMOVED": "true"}

    status = json.loads(echoed_status(text, variables))

    assert status == {"schema": winpe.STATUS_SCHEMA, "token": "tok123", "step": "capture",
                      "exit_code": -1052638937, "started": "Mon 03/02/2026 10:11:12.13",
                      "finished": "Mon 03/02/2026 10:41:00.50", "image": "Win 11 & co.wim", "sha256": "",
                      "boot_wim_removed": True, "dism_log": "Win 11 & co.tok123.dism.log",
                      "console_log": "Win 11 & co.tok123.dism-console.log"}


def test_an_unfound_windows_volume_is_reported_as_null_boot_wim_removal():
    text = script()
    status = json.loads(echoed_status(text, {"WI_TOKEN": "tok123", "WI_STEP": "find_windows_volume", "WI_RC": "1",
                                             "WI_BOOTWIM_REMOVED": "null"}))

    assert status["boot_wim_removed"] is None and status["step"] == "find_windows_volume"
    assert 'if defined WI_FAIL set "WI_STEP=%WI_FAIL%"' in text   # the first failure is the one reported


def test_the_status_is_written_next_to_the_image_and_on_the_windows_volume():
    text = script()

    assert 'if defined WI_OUT call :write_status %WI_OUT%\\captures\\win11-ent.tok123.status.json' in text
    assert 'if defined WI_LOCAL call :write_status "%WI_LOCAL%\\win11-ent.tok123.status.json"' in text


def test_on_failure_decides_between_power_off_and_a_prompt():
    assert "wpeutil shutdown" in script()
    assert 'if "%WI_RC%"=="0" goto :power_off' not in script()
    stay = script(on_failure="stay")
    assert line_index(stay, r'^if "%WI_RC%"=="0" goto :power_off') < line_index(stay, r"^wpeutil shutdown")


# --------------------------------------------------------------------------- exclusions, for real

@pytest.mark.skipif(WIMLIB is None, reason="wimlib-imagex (package wimtools) is not installed")
def test_a_capture_with_the_generated_exclusions_leaves_staging_and_swap_files_out(tmp_path):
    """wimlib reads the same [ExclusionList] format as DISM: capture a tree with the generated file."""
    volume = tmp_path / "volume"
    for relative, data in {
        "Windows/System32/config/SYSTEM": b"regf",
        "pagefile.sys": b"swap",
        "winimage-winpe/boot.wim": b"MSWIM\0\0\0" + PASSWORD.encode(),
        "winimage-winpe/credential.verifier": b"deadbeef",
        "winimage-winpe/status/x.status.json": b"{}",
        "Users/Public/readme.txt": b"kept",
    }.items():
        path = volume / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    config = tmp_path / "wimscript.ini"
    config.write_bytes(winpe.wimscript_text(stage_options()).encode("ascii"))
    wim = tmp_path / "image.wim"

    subprocess.run([WIMLIB, "capture", str(volume), str(wim), "Test", "--compress=none", "--config=%s" % config],
                   check=True, capture_output=True, env={"WIMLIB_IMAGEX_IGNORE_CASE": "1", "PATH": "/usr/bin:/bin"})
    listing = subprocess.run([WIMLIB, "dir", str(wim), "1"], check=True, capture_output=True, text=True).stdout

    assert "/Users/Public/readme.txt" in listing and "/Windows/System32/config/SYSTEM" in listing
    assert "winimage-winpe" not in listing and "pagefile.sys" not in listing
    assert PASSWORD.encode() not in wim.read_bytes()


# --------------------------------------------------------------------------- BCD

def test_bcd_steps_make_a_ram_disk_entry_and_a_one_time_boot_sequence():
    steps = winpe.bcd_create_commands("c:")
    argvs = [step["argv"] for step in steps]

    assert argvs[0] == ["/create", "/d", winpe.BCD_DESCRIPTION, "/device"] and steps[0]["capture"] == "device"
    assert ["/set", "@DEVICE@", "ramdisksdidevice", "partition=C:"] in argvs
    assert ["/set", "@DEVICE@", "ramdisksdipath", "\\winimage-winpe\\boot.sdi"] in argvs
    assert steps[3]["capture"] == "loader"
    for element in ("device", "osdevice"):
        assert ["/set", "@LOADER@", element, "ramdisk=[C:]\\winimage-winpe\\boot.wim,@DEVICE@"] in argvs
    assert ["/set", "@LOADER@", "winpe", "yes"] in argvs and ["/set", "@LOADER@", "detecthal", "yes"] in argvs
    assert argvs[-1] == ["/bootsequence", "@LOADER@"]
    assert not any("/displayorder" in argv or "/default" in argv for argv in argvs)


def test_bcd_command_lines_quote_the_description():
    lines = [step["command"] for step in winpe.with_command_lines(winpe.bcd_create_commands("C:"))]

    assert lines[0] == 'bcdedit.exe /create /d "winimage.generalize WinPE capture" /device'
    assert lines[-1] == "bcdedit.exe /bootsequence @LOADER@"


def test_bcd_needs_a_drive_letter():
    with pytest.raises(winpe.WinPEOptionError, match="drive letter"):
        winpe.bcd_create_commands("\\\\?\\Volume{x}")


# --------------------------------------------------------------------------- staging plan

def inspected(**overrides):
    base = dict(staged=False, state=None, boot_wim_present=False, verifier_present=False, loader_exists=False,
                device_exists=False, bootsequence_set=False, system_drive="C:", firmware="efi",
                boot_wim_source={"exists": True, "size": 350000000, "modified": "2026-01-01T00:00:00Z"})
    base.update(overrides)
    return base


def staged_from(plan, **overrides):
    """What inspect reports after `plan` was applied."""
    values = dict(staged=True, boot_wim_present=True, verifier_present=True, loader_exists=True,
                  device_exists=True, bootsequence_set=True,
                  state={"token": plan["token"], "salt": plan["salt"], "config_digest": plan["config_digest"],
                         "loader_id": "{l}", "device_id": "{d}"})
    values.update(overrides)
    return inspected(**values)


def test_a_first_staging_gets_a_new_token_and_efi_loader_candidates():
    plan = winpe.plan_stage(stage_options(), inspected(), "new1", "00" * 16)

    assert plan["restage"] is True and plan["token"] == "new1"
    assert plan["winload_candidates"][0] == "\\Windows\\System32\\Boot\\winload.efi"
    assert plan["names"]["status"] == "captures\\win11-ent.new1.status.json"
    assert winpe.SHARE_SECRET in plan["secret_files"]


def test_an_unchanged_whole_staging_is_kept_with_its_token():
    first = winpe.plan_stage(stage_options(), inspected(), "new1", "00" * 16)

    again = winpe.plan_stage(stage_options(), staged_from(first), "new2", "11" * 16)

    assert again["restage"] is False and again["token"] == "new1" and again["salt"] == "00" * 16
    assert again["config_digest"] == first["config_digest"]


@pytest.mark.parametrize("change", [
    dict(options=dict(name="Windows 11 Enterprise 2")),
    dict(options=dict(exclusions=["\\pagefile.sys"])),
    dict(inspect=dict(bootsequence_set=False)),          # WinPE already ran (the one-time sequence is used)
    dict(inspect=dict(boot_wim_present=False)),          # WinPE deleted boot.wim
    dict(inspect=dict(loader_exists=False)),
    dict(inspect=dict(verifier_present=False)),
    dict(inspect=dict(boot_wim_source={"exists": True, "size": 1, "modified": "2026-02-01T00:00:00Z"})),
])
def test_any_change_stages_a_new_run(change):
    first = winpe.plan_stage(stage_options(), inspected(), "new1", "00" * 16)

    again = winpe.plan_stage(stage_options(**change.get("options", {})),
                             staged_from(first, **change.get("inspect", {})), "new2", "11" * 16)

    assert again["restage"] is True and again["token"] == "new2"


def test_a_missing_source_image_or_capturing_onto_the_windows_volume_is_refused():
    with pytest.raises(winpe.WinPEOptionError, match="Windows ADK"):
        winpe.plan_stage(stage_options(), inspected(boot_wim_source={"exists": False}), "t", "00")
    volume = stage_options(target="volume", target_volume="C:", share=None, share_username=None, share_password=None)
    with pytest.raises(winpe.WinPEOptionError, match="second volume"):
        winpe.plan_stage(volume, inspected(), "t", "00")


def test_the_credential_verifier_reveals_nothing_and_tells_changes_apart():
    salt = "ab" * 16
    verifier = winpe.credential_verifier("CORP\\svc", PASSWORD, salt)

    assert re.fullmatch(r"[0-9a-f]{64}", verifier) and PASSWORD not in verifier
    assert verifier == winpe.credential_verifier("CORP\\svc", PASSWORD, salt)
    assert verifier != winpe.credential_verifier("CORP\\svc", PASSWORD + "1", salt)
    assert verifier != winpe.credential_verifier("CORP\\svc", PASSWORD, "cd" * 16)


def test_the_plan_digest_does_not_depend_on_the_password():
    a = winpe.plan_stage(stage_options(), inspected(), "t", "00" * 16)
    b = winpe.plan_stage(stage_options(share_password="Other-Pass1"), inspected(), "t", "00" * 16)

    assert a["config_digest"] == b["config_digest"]
    assert PASSWORD not in json.dumps({k: v for k, v in a.items() if k != "secret_files"})


# --------------------------------------------------------------------------- status

def status(**overrides):
    base = {"schema": winpe.STATUS_SCHEMA, "token": "tok", "step": "done", "exit_code": 0,
            "started": "Mon 03/02/2026 10:00:00.00", "finished": "Mon 03/02/2026 10:30:00.00",
            "image": "win11.wim", "sha256": "", "boot_wim_removed": True, "dism_log": "win11.tok.dism.log",
            "console_log": "win11.tok.dism-console.log"}
    base.update(overrides)
    return base


def test_a_successful_run_is_ok_with_the_controllers_hash():
    verdict = winpe.evaluate_status(json.dumps(status()), token="tok", image_sha256="AB" * 32)

    assert verdict["ok"] is True and verdict["sha256"] == "ab" * 32 and verdict["warnings"] == []


def test_winpe_certutil_hash_with_spaces_is_used_when_the_controller_has_none():
    spaced = " ".join(["ab"] * 32)
    assert winpe.evaluate_status(status(sha256=spaced), token="tok")["sha256"] == "ab" * 32
    assert winpe.evaluate_status(status(sha256="CertUtil: error"), token="tok")["sha256"] is None


def test_a_hash_mismatch_fails_the_run():
    verdict = winpe.evaluate_status(status(sha256="cd" * 32), token="tok", image_sha256="ab" * 32)

    assert verdict["ok"] is False and "mismatch" in verdict["message"]


def test_a_dism_failure_reports_step_code_and_the_console_tail():
    console = "\r\n".join(["line %d" % n for n in range(100)] + ["[==== 12.0% ]\r[==== 13.0% ]",
                                                                 "Error: 112", "", "There is not enough space."])
    verdict = winpe.evaluate_status(status(step="capture", exit_code=112), console_log=console, token="tok",
                                    tail_lines=3)

    assert verdict["ok"] is False and verdict["exit_code"] == 112
    assert "DISM /Capture-Image failed" in verdict["message"] and "win11.tok.dism.log" in verdict["message"]
    assert verdict["log_tail"] == "[==== 13.0% ]\nError: 112\nThere is not enough space."


@pytest.mark.parametrize("step, words", [
    ("connect_share", "network driver"), ("find_windows_volume", "BitLocker"), ("dest_exists", "not overwritten"),
])
def test_failed_steps_are_explained(step, words):
    assert words in winpe.evaluate_status(status(step=step, exit_code=1), token="tok")["message"]


def test_a_status_of_another_run_or_garbage_is_not_ok():
    assert "another run" in winpe.evaluate_status(status(token="old"), token="tok")["message"]
    assert "not valid JSON" in winpe.evaluate_status("{not json", token="tok")["message"]
    assert "no JSON object" in winpe.evaluate_status("[1]", token="tok")["message"]


def test_an_undeleted_boot_wim_is_a_warning_even_on_success():
    verdict = winpe.evaluate_status(b"\xef\xbb\xbf" + json.dumps(status(boot_wim_removed=False)).encode(), token="tok")

    assert verdict["ok"] is True
    assert "state: absent" in verdict["warnings"][0]
