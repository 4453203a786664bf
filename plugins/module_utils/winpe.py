# Copyright: (c) 2026, winimage.generalize contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""One-time WinPE RAM-disk capture of a physical machine: scripts, BCD commands, status.

After sysprep /generalize /quit, ``winimage.generalize.winpe_stage`` copies the user's ADK
WinPE image to ``<system drive>\\winimage-winpe\\boot.wim``, writes the files rendered here into
it, adds a RAM-disk boot entry and makes it the one-time boot sequence. On the next restart
WinPE runs ``capture.cmd``: it finds the Windows volume by this run's marker file, deletes the
staged files that carry credentials from that volume, connects the share (or finds the target
volume), captures with DISM to a temporary name, renames, writes a JSON status file and powers
off. The controller waits for the status file and reports DISM's result (``evaluate_status``).

Where the share password lives, and for how long (docs/capture-windows.md says the same):

* in the task arguments (``no_log``) and, during staging, in the module's arguments;
* in ``Windows\\System32\\winimage\\share.secret`` inside the staged boot.wim, which lives in
  ``\\winimage-winpe`` on the system drive: from staging until WinPE starts and deletes boot.wim
  (before anything is captured), or until ``winpe_stage`` with ``state: absent`` removes it;
* in WinPE's RAM disk until ``net use`` has run (the file and the variable are then cleared).

It is never written to any other file on the Windows volume, never returned and never part of
the captured image: ``\\winimage-winpe`` is always excluded from the capture, and boot.wim is
deleted before DISM starts. The staging records only a PBKDF2 verifier of the credentials
(``credential.verifier``, deleted by WinPE too) so a re-run can tell whether they changed.

Microsoft documentation the generated files follow:

* WinPE startup: startnet.cmd runs ``wpeinit``, then our commands
  (https://learn.microsoft.com/windows-hardware/manufacture/desktop/winpe-mount-and-customize);
  winpeshl.ini would replace that shell, so the module refuses a boot.wim that has one.
* Wpeutil (``wpeutil shutdown``, one command per line):
  https://learn.microsoft.com/windows-hardware/manufacture/desktop/wpeutil-command-line-options
* ``net use`` before DISM writes its log to a share (Get-WindowsImage -LogPath notes);
  DISM /LogPath on the share because WinPE's own scratch space can be as small as 32 MB.
* Booting WinPE from a RAM disk on a hard drive: a device options entry with
  ``ramdisksdidevice``/``ramdisksdipath`` (boot.sdi) and an OS loader whose ``device`` and
  ``osdevice`` are ``ramdisk=[C:]\\...\\boot.wim,{device options GUID}``, ``winpe yes``,
  ``detecthal yes`` (https://learn.microsoft.com/previous-versions/windows/it-pro/windows-8.1-and-8/hh825083(v=win.10),
  BCDEdit /create: https://learn.microsoft.com/windows-hardware/drivers/devtest/bcdedit--create).
* ``bcdedit /bootsequence {id}`` sets the one-time boot sequence: only the next start uses it,
  then the boot manager returns to the normal default
  (https://learn.microsoft.com/windows-hardware/drivers/devtest/bcdedit--bootsequence).
"""

from __future__ import annotations

import hashlib
import json
import re

from ansible_collections.winimage.generalize.plugins.module_utils import dism

# On the Windows volume (relative to its root) - always excluded from the capture.
STAGING_DIR = "winimage-winpe"
BOOT_WIM = STAGING_DIR + "\\boot.wim"
BOOT_SDI = STAGING_DIR + "\\boot.sdi"
STATE_FILE = STAGING_DIR + "\\state.json"
VERIFIER_FILE = STAGING_DIR + "\\credential.verifier"
LOCAL_STATUS_DIR = STAGING_DIR + "\\status"
# On a target volume (volume mode): the marker WinPE finds it by.
TARGET_MARKER_DIR = "winimage-capture-target"

# Inside boot.wim (relative to its root).
PE_TOOL_DIR = "Windows\\System32\\winimage"
STARTNET = "Windows\\System32\\startnet.cmd"
WINPESHL = "Windows\\System32\\winpeshl.ini"
CAPTURE_SCRIPT = PE_TOOL_DIR + "\\capture.cmd"
CONFIG_FILE = PE_TOOL_DIR + "\\wimscript.ini"
SHARE_SECRET = PE_TOOL_DIR + "\\share.secret"
# Where the boot loader may sit inside the WinPE image; the module takes the first one present.
WINLOAD_CANDIDATES = {
    "efi": ("\\Windows\\System32\\Boot\\winload.efi", "\\Windows\\System32\\winload.efi"),
    "bios": ("\\Windows\\System32\\Boot\\winload.exe", "\\Windows\\System32\\winload.exe"),
}

STATUS_SCHEMA = "winimage.generalize/winpe-capture-status/1"
BCD_DESCRIPTION = "winimage.generalize WinPE capture"
TARGETS = ("share", "volume")
ON_FAILURE = ("shutdown", "stay")
# Letters WinPE may give the Windows volume or a target volume; X: is WinPE's own RAM disk.
SCAN_LETTERS = "C D E F G H I J K L M N O P Q R S T U V W Y Z"
NET_USE_ATTEMPTS = 6
NET_USE_PAUSE_SECONDS = 10
PBKDF2_ITERATIONS = 200000

# Placeholders replaced by cmd variables after escaping (they hold no escapable characters).
_OUT = "\x01OUT\x01"
_OSVOL = "\x01OSVOL\x01"
_SYSROOT = "\x01SYSROOT\x01"
_CMD_VARIABLES = {_OUT: "%WI_OUT%", _OSVOL: "%WI_OSVOL%", _SYSROOT: "%SystemRoot%"}
# BCD identifiers known only when bcdedit /create prints them; the module substitutes them.
DEVICE_ID = "@DEVICE@"
LOADER_ID = "@LOADER@"
WINLOAD_PATH = "@WINLOAD@"

_UNC_SHARE = re.compile(r"^\\\\[^\\/:*?\"<>|%^\s]+\\[^\\/:*?\"<>|%^]+$")
_USERNAME = re.compile(r"^[A-Za-z0-9._@$\\-]+$")
_DRIVE = re.compile(r"^[A-Za-z]:$")
_CMD_SPECIAL = set(' \t&|<>^(),;=')
_HEX64 = re.compile(r"^[0-9a-fA-F]{64}$")


class WinPEOptionError(ValueError):
    """An option the WinPE capture cannot work with; the message names it and the fix."""


# --------------------------------------------------------------------------- quoting

def cmd_line(argv):
    """A line of a .cmd script running argv: quoted for the program and for cmd.exe.

    Arguments are quoted like dism.quote_argument (``/Option:"value"``, C runtime rules).

    Arguments holding cmd.exe's special characters are quoted (inside double quotes cmd.exe
    takes ``& | < > ^ ( )`` literally) and every ``%`` is doubled, which a batch file needs
    inside quotes too. Placeholders (_OUT, _OSVOL, _SYSROOT) become variable references last.
    """
    parts = [dism.quote_argument(arg, _CMD_SPECIAL).replace("%", "%%") for arg in argv]
    line = " ".join(parts)
    for placeholder, variable in _CMD_VARIABLES.items():
        line = line.replace(placeholder, variable)
    return line


def cmd_text(value):
    """A literal inside a double-quoted string of a batch file: only ``%`` needs doubling."""
    if '"' in value or any(ch in value for ch in "\r\n"):
        raise WinPEOptionError("text for the WinPE script cannot contain quotes or line breaks: %r" % value)
    return value.replace("%", "%%")


def json_text(value):
    """A JSON string body (no surrounding quotes) that is also safe inside cmd.exe quotes."""
    return cmd_text(json.dumps(value)[1:-1])


# --------------------------------------------------------------------------- options

def _relative_path(option, value, allow_empty=False):
    if value is None or value == "":
        if allow_empty:
            return ""
        raise WinPEOptionError("%s is required" % option)
    text = str(value).replace("/", "\\").strip("\\")
    if (len(text) >= 2 and text[1] == ":") or str(value).startswith("\\\\"):
        raise WinPEOptionError("%s must be relative to the share or the target volume (for example "
                               "captures\\win11.wim), not %r" % (option, value))
    parts = text.split("\\")
    if any(part in ("", ".", "..") for part in parts):
        raise WinPEOptionError("%s %r must not contain empty, '.' or '..' components" % (option, value))
    if any(ch in text for ch in '%^!"*?<>|') or any(ord(ch) < 32 for ch in text):
        raise WinPEOptionError("%s %r contains a character the WinPE script cannot pass safely "
                               "(%% ^ ! \" * ? < > | or a control character)" % (option, value))
    return text


def check_password(password):
    """The share password must survive ``set /p`` and a quoted ``net use`` argument."""
    if not isinstance(password, str) or password == "":
        raise WinPEOptionError("share_password is required when target is share")
    if '"' in password or any(ord(ch) < 32 for ch in password):
        raise WinPEOptionError("share_password contains a double quote or a control character, which the WinPE "
                               "script (cmd.exe, net use) cannot pass; use a password without them")
    if password != password.strip():
        raise WinPEOptionError("share_password starts or ends with a space, which set /p in WinPE does not keep "
                               "reliably; use a password without leading or trailing spaces")
    if len(password) > 256:
        raise WinPEOptionError("share_password is longer than 256 characters")
    return password


def _check_ascii(options):
    """cmd.exe reads batch files in the OEM code page: keep every scripted value plain ASCII."""
    for key in ("dest", "name", "description", "share", "share_username", "share_password", "scratch_dir"):
        value = options.get(key)
        if isinstance(value, str) and any(ord(ch) > 126 for ch in value):
            shown = "the value" if key == "share_password" else repr(value)
            raise WinPEOptionError("%s: %s has non-ASCII characters, which the WinPE batch script cannot pass "
                                   "reliably (cmd.exe reads it in the OEM code page); use ASCII" % (key, shown))


def validate_stage_options(options):
    """Checked and normalized winpe_stage options; WinPEOptionError names the first problem."""
    result = dict(options)
    _check_ascii(result)
    target = result.get("target") or "share"
    if target not in TARGETS:
        raise WinPEOptionError("target must be share or volume, got %r" % target)
    result["target"] = target
    if not dism.is_windows_absolute(result.get("boot_wim") or ""):
        raise WinPEOptionError("boot_wim must be the absolute path on the host of the WinPE image from the Windows ADK "
                               "WinPE add-on, for example C:\\Program Files (x86)\\Windows Kits\\10\\Assessment and "
                               "Deployment Kit\\Windows Preinstallation Environment\\amd64\\en-us\\winpe.wim")
    if result.get("boot_sdi") and not dism.is_windows_absolute(result["boot_sdi"]):
        raise WinPEOptionError("boot_sdi must be an absolute path on the host, got %r" % result["boot_sdi"])
    index = result.get("boot_wim_index", 1)
    if isinstance(index, bool) or not isinstance(index, int) or index < 1:
        raise WinPEOptionError("boot_wim_index must be 1 or more, got %r" % (index,))
    result["boot_wim_index"] = index

    result["dest"] = _relative_path("dest", result.get("dest"))
    capture = dism.validate_capture_options(dict(result, src="C:\\", append=False), require_absolute=False)
    if result.get("append"):
        raise WinPEOptionError("append is not supported from WinPE: the capture always writes a new file. Add it to "
                               "a catalogue WIM afterwards with winimage.generalize.dism_capture or wim_capture")
    if result.get("split_size_mb"):
        raise WinPEOptionError("split_size_mb is not supported from WinPE; split the captured file afterwards with "
                               "winimage.generalize.dism_capture (split_size_mb) on a Windows host")
    for key in ("name", "description", "compression", "check_integrity", "verify", "exclusions"):
        result[key] = capture[key]
    result["scratch_dir"] = _relative_path("scratch_dir", result.get("scratch_dir"), allow_empty=True) or None

    if target == "share":
        share = result.get("share") or ""
        if not _UNC_SHARE.match(share):
            raise WinPEOptionError("share must be a UNC share such as \\\\files01\\images (server and share name only; "
                                   "put folders into dest), got %r" % share)
        username = result.get("share_username") or ""
        if not _USERNAME.match(username):
            raise WinPEOptionError("share_username is required for target share, as DOMAIN\\user or user@domain "
                                   "(letters, digits and . _ @ $ - \\ only)")
        check_password(result.get("share_password"))
        drive = (result.get("share_drive") or "N:").upper()
        if not _DRIVE.match(drive) or drive in ("X:", "A:", "B:", "C:"):
            raise WinPEOptionError("share_drive must be a free drive letter in WinPE such as N: (not A: B: C: or X:, "
                                   "which is WinPE's own RAM disk), got %r" % result.get("share_drive"))
        result["share_drive"] = drive
    else:
        volume = (result.get("target_volume") or "").upper()
        if not _DRIVE.match(volume):
            raise WinPEOptionError("target_volume must be the drive letter of the second volume on the running "
                                   "Windows, such as D:, when target is volume")
        result["target_volume"] = volume
        for key in ("share", "share_username", "share_password"):
            if result.get(key):
                raise WinPEOptionError("%s is only used with target: share" % key)
    on_failure = result.get("on_failure") or "shutdown"
    if on_failure not in ON_FAILURE:
        raise WinPEOptionError("on_failure must be shutdown or stay, got %r" % on_failure)
    result["on_failure"] = on_failure
    return result


# --------------------------------------------------------------------------- names

def output_names(dest, token):
    """Files the WinPE run writes next to the image, relative to the share / target volume."""
    directory, stem, extension = dism.split_windows_path(dest)
    prefix = (directory + "\\") if directory else ""
    return {
        "directory": directory,
        "image": dest,
        "partial": "%s%s%s%s%s" % (prefix, stem, dism.PARTIAL_MARK, token, extension),
        "intermediate": "%s%s%s%s.capture.wim" % (prefix, stem, dism.PARTIAL_MARK, token),
        "status": "%s%s.%s.status.json" % (prefix, stem, token),
        "dism_log": "%s%s.%s.dism.log" % (prefix, stem, token),
        "console_log": "%s%s.%s.dism-console.log" % (prefix, stem, token),
    }


def posix_relative(path):
    return path.replace("\\", "/")


def leaf(path):
    return path.rsplit("\\", 1)[-1]


# --------------------------------------------------------------------------- scripts

def startnet_script(token):
    """Windows\\System32\\startnet.cmd of the staged WinPE: initialise, then run the capture once."""
    return "\r\n".join([
        "@echo off",
        "rem winimage.generalize: one-time WinPE capture, run %s" % token,
        "wpeinit",
        'call "%%SystemRoot%%\\%s"' % CAPTURE_SCRIPT.replace("Windows\\", "", 1),
        "",
    ])


def _find_letter(variable, relative_marker):
    """A for loop setting ``variable`` to the drive letter whose root holds relative_marker."""
    return "for %%L in (" + SCAN_LETTERS + ') do if exist "%%L:\\' + relative_marker + '" set "' + variable + '=%%L:"'


def _on_output(relative):
    """A path on the share or target volume, as the script sees it (%WI_OUT%\\relative)."""
    return _OUT + "\\" + relative


def _capture_lines(options, names):
    """The DISM steps (capture, or capture + export for recovery) as script lines with checks."""
    capture_options = dict(options, scratch_dir=_on_output(options["scratch_dir"]) if options.get("scratch_dir")
                           else None)
    image_file = _on_output(names["partial"])
    steps, intermediate = dism.capture_steps(capture_options, image_file, _OSVOL + "\\",
                                             _SYSROOT + "\\" + CONFIG_FILE.replace("Windows\\", "", 1),
                                             log_path=_on_output(names["dism_log"]))
    lines = []
    console = _on_output(names["console_log"])
    for number, step in enumerate(steps):
        redirect = ">" if number == 0 else ">>"
        lines += [
            'set "WI_STEP=%s"' % step["what"],
            "%s %s%s 2>&1" % (cmd_line(step["argv"]), redirect, cmd_line([console])),
            'set "WI_RC=%ERRORLEVEL%"',
            'if not "%WI_RC%"=="0" goto :cleanup_partial',
        ]
    for path in intermediate:
        lines.append("del /f /q %s >nul 2>&1" % cmd_line([path]))
    return lines


def capture_script(options, token):
    """capture.cmd: the whole WinPE run. Holds no secret (the password is read from share.secret)."""
    names = output_names(options["dest"], token)

    def out(relative):
        return cmd_line([_on_output(relative)])

    image, partial = out(names["image"]), out(names["partial"])
    lines = [
        "@echo off",
        "setlocal EnableExtensions DisableDelayedExpansion",
        "rem winimage.generalize WinPE capture, run %s. Written by winimage.generalize.winpe_stage;" % token,
        "rem see docs/capture-windows.md of the collection. Runs once, then powers off.",
        'set "WI_TOKEN=%s"' % token,
        'set "WI_RC=0"',
        'set "WI_STEP=start"',
        'set "WI_STARTED=%DATE% %TIME%"',
        'set "WI_OSVOL="',
        'set "WI_OUT="',
        'set "WI_LOCAL="',
        'set "WI_SHA256="',
        'set "WI_BOOTWIM_REMOVED=null"',
        'set "WI_FAIL="',
        "",
        "rem 1. The Windows volume is the one holding this run's marker.",
        'set "WI_STEP=find_windows_volume"',
        _find_letter("WI_OSVOL", "%s\\%s.marker" % (STAGING_DIR, token)),
        "rem    Without it nothing is captured, but the share is still connected to report why.",
        'if not defined WI_OSVOL set "WI_RC=1"',
        'if not defined WI_OSVOL set "WI_FAIL=find_windows_volume"',
        "if not defined WI_OSVOL goto :connect",
        'set "WI_LOCAL=%%WI_OSVOL%%\\%s"' % LOCAL_STATUS_DIR,
        'if not exist "%WI_LOCAL%" mkdir "%WI_LOCAL%"',
        "",
        "rem 2. Delete the staged files that carry credentials before anything is captured.",
        "rem    WinPE runs from RAM; the boot.wim on the disk is no longer needed.",
        'del /f /q "%%WI_OSVOL%%\\%s" >nul 2>&1' % BOOT_WIM,
        'del /f /q "%%WI_OSVOL%%\\%s" >nul 2>&1' % VERIFIER_FILE,
        'set "WI_BOOTWIM_REMOVED=true"',
        'if exist "%%WI_OSVOL%%\\%s" set "WI_BOOTWIM_REMOVED=false"' % BOOT_WIM,
        "",
        ":connect",
    ]
    if options["target"] == "share":
        lines += _share_lines(options)
    else:
        lines += [
            "rem 3. The target volume is the one holding this run's target marker.",
            'set "WI_STEP=find_target_volume"',
            _find_letter("WI_OUT", "%s\\%s.target" % (TARGET_MARKER_DIR, token)),
            'if not defined WI_OUT (set "WI_RC=1" & goto :report)',
        ]
    lines += [
        'if not "%WI_RC%"=="0" goto :report',
        "",
        "rem 4. Never overwrite: stop when the image already exists.",
        'set "WI_STEP=dest_exists"',
        "if exist %s (set \"WI_RC=1\" & goto :report)" % image,
    ]
    if names["directory"]:
        lines.append("if not exist %s mkdir %s" % (out(names["directory"]), out(names["directory"])))
    if options.get("scratch_dir"):
        lines.append("if not exist %s mkdir %s" % (out(options["scratch_dir"]), out(options["scratch_dir"])))
    lines += ["", "rem 5. Capture to a temporary name (DISM /Capture-Image, /Export-Image for recovery)."]
    lines += _capture_lines(options, names)
    lines += [
        "",
        "rem 6. Give the image its final name; ren never replaces an existing file.",
        'set "WI_STEP=rename"',
        "if exist %s (set \"WI_RC=1\" & goto :cleanup_partial)" % image,
        "ren %s %s" % (partial, cmd_line([leaf(names["image"])])),
        "if not exist %s (set \"WI_RC=1\" & goto :cleanup_partial)" % image,
        "",
        "rem 7. SHA-256 when certutil is part of this WinPE (the controller hashes the file too).",
        'set "WI_STEP=hash"',
        'if exist "%SystemRoot%\\System32\\certutil.exe" for /f "skip=1 delims=" %%H in '
        "('certutil.exe -hashfile " + image + " SHA256') do if not defined WI_SHA256 set \"WI_SHA256=%%H\"",
        'if defined WI_SHA256 set "WI_SHA256=%WI_SHA256: =%"',
        'set "WI_STEP=done"',
        'set "WI_RC=0"',
        "goto :report",
        "",
        ":cleanup_partial",
        "del /f /q %s >nul 2>&1" % partial,
        "del /f /q %s >nul 2>&1" % out(names["intermediate"]),
        "",
        ":report",
        "rem The first failure is the one reported.",
        'if defined WI_FAIL set "WI_STEP=%WI_FAIL%"',
        'set "WI_FINISHED=%DATE% %TIME%"',
        "if defined WI_OUT call :write_status %s" % out(names["status"]),
        'if defined WI_LOCAL call :write_status "%%WI_LOCAL%%\\%s"' % leaf(names["status"]),
    ]
    if options["target"] == "share":
        lines.append("if defined WI_OUT net use %s /delete /y >nul 2>&1" % options["share_drive"])
    if options["on_failure"] == "stay":
        lines += [
            'if "%WI_RC%"=="0" goto :power_off',
            "echo winimage.generalize: the capture failed at step %WI_STEP% with exit code %WI_RC%.",
            "echo The status file and DISM's logs are next to the image; type wpeutil shutdown when done.",
            "goto :eof",
        ]
    lines += [
        ":power_off",
        "wpeutil shutdown",
        "goto :eof",
        "",
        ":write_status",
        'rem The JSON status document the controller waits for (schema %s).' % STATUS_SCHEMA,
        '>"%~1" echo {',
        '>>"%%~1" echo   "schema": "%s",' % STATUS_SCHEMA,
        '>>"%~1" echo   "token": "%WI_TOKEN%",',
        '>>"%~1" echo   "step": "%WI_STEP%",',
        '>>"%~1" echo   "exit_code": %WI_RC%,',
        '>>"%~1" echo   "started": "%WI_STARTED%",',
        '>>"%~1" echo   "finished": "%WI_FINISHED%",',
        '>>"%%~1" echo   "image": "%s",' % json_text(leaf(names["image"])),
        '>>"%~1" echo   "sha256": "%WI_SHA256%",',
        '>>"%~1" echo   "boot_wim_removed": %WI_BOOTWIM_REMOVED%,',
        '>>"%%~1" echo   "dism_log": "%s",' % json_text(leaf(names["dism_log"])),
        '>>"%%~1" echo   "console_log": "%s"' % json_text(leaf(names["console_log"])),
        '>>"%~1" echo }',
        "goto :eof",
        "",
    ]
    return "\r\n".join(lines)


def _share_lines(options):
    """Connect the share with the password from share.secret, then forget it."""
    secret = "%%SystemRoot%%\\%s" % SHARE_SECRET.replace("Windows\\", "", 1)
    drive = options["share_drive"]
    return [
        "rem 3. Connect the share. The password is read from the RAM disk and deleted right after.",
        'set "WI_STEP=connect_share"',
        'set "WI_PASS="',
        'set /p WI_PASS=<"%s"' % secret,
        'del /f /q "%s" >nul 2>&1' % secret,
        'set "WI_TRY=0"',
        ":connect_retry",
        "set /a WI_TRY+=1",
        'net use %s %s "%%WI_PASS%%" /user:%s /persistent:no >"%%TEMP%%\\winimage-net-use.txt" 2>&1'
        % (drive, cmd_line([options["share"]]), options["share_username"]),
        'set "WI_NETRC=%ERRORLEVEL%"',
        'if "%WI_NETRC%"=="0" goto :connected',
        "if %%WI_TRY%% LSS %d (" % NET_USE_ATTEMPTS,
        "  ping -n %d 127.0.0.1 >nul" % (NET_USE_PAUSE_SECONDS + 1),
        "  goto :connect_retry",
        ")",
        'set "WI_PASS="',
        'if defined WI_LOCAL copy /y "%TEMP%\\winimage-net-use.txt" "%WI_LOCAL%\\" >nul 2>&1',
        'set "WI_RC=%WI_NETRC%"',
        "goto :report",
        ":connected",
        'set "WI_PASS="',
        'set "WI_OUT=%s"' % drive,
    ]


def wimscript_text(options):
    """The exclusion list inside boot.wim; the staging folder is always excluded."""
    return dism.wimscript_ini(options["exclusions"], mandatory=["\\" + STAGING_DIR])


def render_files(options, token):
    """(public_files, secret_files): path inside boot.wim -> text. Only secret_files hold the password."""
    public = {
        STARTNET: startnet_script(token),
        CAPTURE_SCRIPT: capture_script(options, token),
        CONFIG_FILE: wimscript_text(options),
    }
    secret = {}
    if options["target"] == "share":
        secret[SHARE_SECRET] = options["share_password"] + "\r\n"
    return public, secret


# --------------------------------------------------------------------------- BCD

def bcd_create_commands(system_drive, description=BCD_DESCRIPTION):
    """bcdedit argument lists creating the RAM-disk entry and the one-time boot sequence.

    ``capture`` names the identifier a /create prints (the module reads the GUID from the
    output, whatever the display language). DEVICE_ID, LOADER_ID and WINLOAD_PATH are
    substituted by the module.
    """
    drive = system_drive.rstrip("\\").upper()
    if not _DRIVE.match(drive):
        raise WinPEOptionError("system drive %r is not a drive letter" % system_drive)
    ramdisk = "ramdisk=[%s]\\%s,%s" % (drive, BOOT_WIM, DEVICE_ID)
    return [
        {"argv": ["/create", "/d", description, "/device"], "capture": "device"},
        {"argv": ["/set", DEVICE_ID, "ramdisksdidevice", "partition=%s" % drive]},
        {"argv": ["/set", DEVICE_ID, "ramdisksdipath", "\\" + BOOT_SDI]},
        {"argv": ["/create", "/d", description, "/application", "osloader"], "capture": "loader"},
        {"argv": ["/set", LOADER_ID, "device", ramdisk]},
        {"argv": ["/set", LOADER_ID, "osdevice", ramdisk]},
        {"argv": ["/set", LOADER_ID, "path", WINLOAD_PATH]},
        {"argv": ["/set", LOADER_ID, "systemroot", "\\Windows"]},
        {"argv": ["/set", LOADER_ID, "winpe", "yes"]},
        {"argv": ["/set", LOADER_ID, "detecthal", "yes"]},
        {"argv": ["/bootsequence", LOADER_ID]},
    ]


def with_command_lines(commands):
    """Add the command line (as the module runs it) to each bcdedit step."""
    return [dict(step, command="bcdedit.exe " + dism.windows_command_line(step["argv"])) for step in commands]


# --------------------------------------------------------------------------- staging decisions

def credential_verifier(username, password, salt_hex):
    """PBKDF2-HMAC-SHA256 of the credentials: tells a re-run whether they changed, reveals nothing."""
    secret = ("%s\n%s" % (username or "", password or "")).encode("utf-8")
    return hashlib.pbkdf2_hmac("sha256", secret, bytes.fromhex(salt_hex), PBKDF2_ITERATIONS).hex()


def config_digest(public_files, options, source):
    """SHA-256 over everything a staging is made of, except secrets."""
    digest = hashlib.sha256()
    material = {
        "files": sorted(public_files.items()),
        "boot_wim": options["boot_wim"],
        "boot_wim_index": options["boot_wim_index"],
        "boot_sdi": options.get("boot_sdi"),
        "target": options["target"],
        "target_volume": options.get("target_volume"),
        "source": source,
    }
    digest.update(json.dumps(material, sort_keys=True).encode("utf-8"))
    return digest.hexdigest()


def plan_stage(options, inspected, new_token, new_salt):
    """What a present staging needs: reuse the staged run when it is whole, else stage anew.

    ``inspected`` is the module's report: ``staged`` (state.json read), ``state`` (its content),
    ``boot_wim_present``, ``verifier_present``, ``loader_exists``, ``device_exists``,
    ``bootsequence_set``, ``boot_wim_source`` ({exists, size, modified}), ``system_drive``,
    ``firmware``. Returns token, salt, files, digest, ``restage`` (True when something
    non-secret differs; the module still compares the credential verifier when it is False).
    """
    source = inspected.get("boot_wim_source") or {}
    if not source.get("exists"):
        raise WinPEOptionError("boot_wim %s does not exist on the host; install the Windows ADK and its WinPE add-on "
                               "there, or copy winpe.wim to the host and point boot_wim at it" % options["boot_wim"])
    if options["target"] == "volume" and options["target_volume"] == str(inspected.get("system_drive", "")).upper():
        raise WinPEOptionError("target_volume %s is the Windows volume being captured; use a second volume"
                               % options["target_volume"])
    state = inspected.get("state") or {}
    whole = bool(inspected.get("staged") and state.get("token") and state.get("salt")
                 and inspected.get("boot_wim_present") and inspected.get("loader_exists")
                 and inspected.get("device_exists") and inspected.get("bootsequence_set"))
    token = state["token"] if whole else new_token
    salt = state["salt"] if whole else new_salt
    public, secret = render_files(options, token)
    source_identity = {"size": source.get("size"), "modified": source.get("modified")}
    digest = config_digest(public, options, source_identity)
    restage = not whole or state.get("config_digest") != digest
    if options["target"] == "share" and not inspected.get("verifier_present"):
        restage = True
    if restage and whole:
        # A changed configuration gets a fresh run identity: new marker, new status file name.
        token, salt = new_token, new_salt
        public, secret = render_files(options, token)
        digest = config_digest(public, options, source_identity)
    names = output_names(options["dest"], token)
    return {
        "restage": restage,
        "token": token,
        "salt": salt,
        "config_digest": digest,
        "public_files": public,
        "secret_files": secret,
        "names": names,
        "bcd": with_command_lines(bcd_create_commands(inspected.get("system_drive") or "C:")),
        "winload_candidates": list(WINLOAD_CANDIDATES.get(inspected.get("firmware"), WINLOAD_CANDIDATES["efi"])),
    }


# --------------------------------------------------------------------------- status

STEP_MEANINGS = {
    "find_windows_volume": "WinPE did not find the Windows volume holding the run's marker (BitLocker-locked, or a "
                           "storage driver missing from boot.wim)",
    "connect_share": "WinPE could not connect the share (network driver missing from boot.wim, no DHCP, wrong "
                     "share path, user name or password, or the account lacks write permission)",
    "find_target_volume": "WinPE did not find the target volume holding the run's target marker",
    "dest_exists": "the image file already existed; it was not overwritten",
    "capture": "DISM /Capture-Image failed",
    "export": "DISM /Export-Image (recovery compression) failed",
    "rename": "DISM succeeded but the temporary file could not be renamed to the image name",
}


def _tail(text, lines):
    if not text:
        return ""
    cleaned = [line.split("\r")[-1].rstrip() for line in text.replace("\r\n", "\n").split("\n")]
    return "\n".join([line for line in cleaned if line.strip()][-lines:])


def evaluate_status(status, console_log=None, token=None, image_sha256=None, tail_lines=40):
    """The controller's verdict on a WinPE run from its status document (text or dict).

    Returns ok, exit_code, step, message, image, sha256 (the controller's own hash wins over
    WinPE's certutil hash; a mismatch is a failure), log_tail, boot_wim_removed, warnings.
    """
    if isinstance(status, (bytes, bytearray)):
        status = status.decode("utf-8", "replace")
    if isinstance(status, str):
        try:
            status = json.loads(status.lstrip("\ufeff"))
        except ValueError as error:
            return {"ok": False, "exit_code": None, "step": None, "log_tail": _tail(console_log, tail_lines),
                    "message": "the WinPE status file is not valid JSON (%s); read it and the DISM logs next to the "
                               "image by hand" % error, "warnings": []}
    if not isinstance(status, dict):
        return {"ok": False, "exit_code": None, "step": None, "log_tail": _tail(console_log, tail_lines),
                "message": "the WinPE status file holds no JSON object", "warnings": []}
    warnings = []
    step = status.get("step")
    exit_code = status.get("exit_code")
    if token and status.get("token") != token:
        return {"ok": False, "exit_code": exit_code, "step": step, "log_tail": _tail(console_log, tail_lines),
                "message": "the status file belongs to another run (token %s, expected %s)"
                           % (status.get("token"), token), "warnings": []}
    pe_hash = str(status.get("sha256") or "").replace(" ", "")
    pe_hash = pe_hash.lower() if _HEX64.match(pe_hash) else None
    sha256 = (image_sha256 or "").lower() or pe_hash
    if status.get("boot_wim_removed") is False:
        warnings.append("WinPE could not delete the staged boot.wim, which holds the share credentials; run "
                        "winimage.generalize.winpe_stage with state: absent on the machine")
    ok = exit_code == 0 and step == "done"
    if ok and image_sha256 and pe_hash and pe_hash != image_sha256.lower():
        ok = False
        message = ("SHA-256 mismatch: WinPE computed %s, the controller read %s; the copy on the share is not the "
                   "file WinPE wrote" % (pe_hash, image_sha256.lower()))
    elif ok:
        message = "WinPE captured %s (exit code 0)" % status.get("image")
    else:
        meaning = STEP_MEANINGS.get(step, "the WinPE capture stopped")
        message = "WinPE capture failed at step %s with exit code %s: %s" % (step, exit_code, meaning)
        if step in ("capture", "export"):
            message += "; DISM's log is %s next to the image" % status.get("dism_log")
    return {
        "ok": ok,
        "exit_code": exit_code,
        "step": step,
        "message": message,
        "image": status.get("image"),
        "sha256": sha256,
        "started": status.get("started"),
        "finished": status.get("finished"),
        "boot_wim_removed": status.get("boot_wim_removed"),
        "log_tail": _tail(console_log, tail_lines),
        "warnings": warnings,
    }
