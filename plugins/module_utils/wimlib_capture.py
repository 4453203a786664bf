# Copyright: (c) 2026, winimage.generalize contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""wimlib-imagex as the Linux capture backend: command lines, exclusions, WIM metadata.

Capture runs ``wimlib-imagex capture|append SOURCE WIM NAME [DESC]`` where SOURCE is a block
device or file holding an unmounted NTFS volume: wimlib then works in NTFS-3G mode and keeps
what Windows needs (security descriptors, alternate data streams, reparse points, short names,
timestamps, attributes). Metadata is read back from ``wimlib-imagex info --xml`` (the WIM's own
XML document), not from the human-readable listing.

Child processes are started so that they die with us: Linux ``PR_SET_PDEATHSIG`` makes the
kernel send SIGKILL to wimlib or qemu-img when the module process disappears, even by SIGKILL,
so no orphan keeps writing a half-made file after a kill.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import datetime
import os
import shlex
import signal
import struct
import subprocess
import xml.etree.ElementTree as ET

from ansible_collections.winimage.generalize.plugins.module_utils import capture_exclusions

WIMLIB = "wimlib-imagex"
WIM_HEADER_SIZE = 208
WIM_MAGIC = b"MSWIM\0\0\0"

# User-facing compression names (the DISM words) -> wimlib arguments.
COMPRESSION_ARGS = {
    "none": ["--compress=none"],
    "fast": ["--compress=XPRESS"],
    "max": ["--compress=LZX"],
    # DISM's "recovery" is solid LZMS, the format of .esd files.
    "recovery": ["--compress=LZMS", "--solid", "--solid-compress=LZMS"],
}
# What ``wimlib-imagex info`` calls each compression, for comparing with an existing WIM.
COMPRESSION_WIMLIB_NAMES = {"none": "none", "fast": "XPRESS", "max": "LZX", "recovery": "LZMS"}

# The exclusions shared by every capture backend.
DEFAULT_EXCLUSIONS = capture_exclusions.DEFAULT_EXCLUSIONS

# Image properties this collection stores in the WIM's XML (wimlib --image-property).
PROPERTY_ROOT = "WINIMAGEGENERALIZE"
PROPERTY_FINGERPRINT = PROPERTY_ROOT + "/SOURCEFINGERPRINT"
PROPERTY_SOURCE = PROPERTY_ROOT + "/SOURCE"
PROPERTY_TOOL = PROPERTY_ROOT + "/CAPTUREDBY"

# wimlib's ARCH numbers (the PROCESSOR_ARCHITECTURE values) -> facts schema names.
ARCHITECTURES = {"0": "x86", "5": "arm", "6": "ia64", "9": "amd64", "12": "arm64"}

PR_SET_PDEATHSIG = 1


class CaptureError(Exception):
    """A capture step failed; the message names the step, the cause and what to do."""


class ToolError(CaptureError):
    def __init__(self, what, returncode, output):
        CaptureError.__init__(self, "%s failed (exit %s): %s" % (what, returncode, output or "no message"))
        self.returncode = returncode
        self.output = output


# --------------------------------------------------------------------------- child processes

def _die_with_parent():
    """preexec_fn: ask Linux to SIGKILL this child when its parent dies."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except Exception:  # not Linux or no libc: the lock and leftover cleanup still protect us
        pass


def tool_environment():
    env = dict(os.environ)
    # Exclusion globs and paths then match case-insensitively, as on Windows.
    env["WIMLIB_IMAGEX_IGNORE_CASE"] = "1"
    env["LC_ALL"] = "C"
    return env


def run_child(argv, what, timeout=None, env=None, missing_package=None):
    """Run a tool that dies with us; return its stdout text. Raises ToolError / CaptureError.

    Any exception while waiting (SIGTERM turned into an exception by the caller, a timeout)
    kills the child before it propagates, so nothing keeps writing after we give up.
    """
    try:
        process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                   env=env or tool_environment(), preexec_fn=_die_with_parent, close_fds=True)
    except OSError as error:
        if isinstance(error, FileNotFoundError):
            raise CaptureError("%s needs %s, which is not installed%s" % (
                what, argv[0], " (Debian/Ubuntu: apt install %s)" % missing_package if missing_package else ""))
        raise CaptureError("%s could not start %s: %s" % (what, argv[0], error))
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill(process)
        raise CaptureError("%s did not finish within %s seconds and was stopped" % (what, timeout))
    except BaseException:
        _kill(process)
        raise
    if process.returncode != 0:
        message = stderr.decode("utf-8", "replace").strip() or _last_lines(stdout)
        raise ToolError(what, process.returncode, _last_lines(message.encode("utf-8"), 20))
    return stdout.decode("utf-8", "replace")


def _kill(process):
    try:
        process.kill()
    except OSError:
        pass
    try:
        process.wait(timeout=30)
    except Exception:
        pass


def _last_lines(data, count=10):
    # wimlib redraws its progress line with carriage returns: keep only real lines.
    text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
    lines = [line.split("\r")[-1].strip() for line in text.splitlines()]
    return "\n".join([line for line in lines if line][-count:])


def command_line(argv):
    return " ".join(shlex.quote(str(part)) for part in argv)


# --------------------------------------------------------------------------- exclusions

def normalize_exclusion(entry):
    """One exclusion glob in wimlib's config syntax, or ValueError saying what is wrong."""
    if not isinstance(entry, str):
        raise ValueError("exclusions must be strings, got %r" % (entry,))
    text = entry.strip()
    if not text:
        raise ValueError("an exclusion is empty")
    if any(ch in text for ch in "\r\n\0"):
        raise ValueError("exclusion %r contains a line break or NUL" % entry)
    if len(text) >= 2 and text[1] == ":":
        # Drive letters mean nothing inside a volume; wimlib would silently ignore them.
        text = text[2:] or "\\"
    return text.replace("/", "\\")


def exclusion_config(exclusions):
    """The text of a wimlib capture configuration file holding ``[ExclusionList]``."""
    lines = ["# written by winimage.generalize.wim_capture", "[ExclusionList]"]
    lines.extend(normalize_exclusion(entry) for entry in exclusions)
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- command lines

def capture_argv(operation, volume, wim, name, description=None, compression="fast", config_path=None,
                 check_integrity=False, boot=False, threads=None, properties=None, wimlib=WIMLIB):
    """argv for ``wimlib-imagex capture`` (new WIM) or ``append`` (new index in an existing WIM).

    Appending keeps the WIM's compression (a WIM has one), so compression is not passed then.
    """
    if operation not in ("capture", "append"):
        raise ValueError("operation must be capture or append")
    argv = [wimlib, operation, volume, wim, name]
    if description:
        argv.append(description)
    if operation == "capture":
        argv.extend(COMPRESSION_ARGS[compression])
    if config_path:
        argv.append("--config=%s" % config_path)
    if check_integrity:
        argv.append("--check")
    if boot:
        argv.append("--boot")
    if threads:
        argv.append("--threads=%d" % threads)
    for key, value in sorted((properties or {}).items()):
        argv.extend(["--image-property", "%s=%s" % (key, value)])
    return argv


def verify_argv(wim, wimlib=WIMLIB):
    return [wimlib, "verify", wim]


# --------------------------------------------------------------------------- reading a WIM back

def read_header(path):
    """The fields of a WIM header this collection needs (wimlib's documented on-disk layout)."""
    with open(path, "rb") as handle:
        raw = handle.read(WIM_HEADER_SIZE)
    if len(raw) < WIM_HEADER_SIZE or raw[:8] != WIM_MAGIC:
        raise CaptureError("%s is not a WIM file (no MSWIM header)" % path)

    def resource(offset):
        size_and_flags, res_offset, original = struct.unpack_from("<QQQ", raw, offset)
        return {"size": size_and_flags & 0x00FFFFFFFFFFFFFF, "offset": res_offset, "original_size": original}

    return {
        "flags": struct.unpack_from("<I", raw, 16)[0],
        "chunk_size": struct.unpack_from("<I", raw, 20)[0],
        "image_count": struct.unpack_from("<I", raw, 44)[0],
        "blob_table": resource(48),
        "xml": resource(72),
        "boot_metadata": resource(96),
        "boot_index": struct.unpack_from("<I", raw, 120)[0],
        "integrity": resource(124),
    }


def read_xml(path, wimlib=WIMLIB, timeout=600):
    """The WIM's XML document (``wimlib-imagex info --xml``) as an ElementTree root."""
    try:
        output = subprocess.run([wimlib, "info", path, "--xml"], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, env=tool_environment(), timeout=timeout, check=False)
    except FileNotFoundError:
        raise CaptureError("reading %s needs %s, which is not installed (Debian/Ubuntu: apt install wimtools)"
                           % (path, wimlib))
    if output.returncode != 0:
        raise ToolError("wimlib-imagex info of %s" % path, output.returncode,
                        output.stderr.decode("utf-8", "replace").strip())
    data = output.stdout
    text = data.decode("utf-16-le") if data[:2] == b"\xff\xfe" or (len(data) > 1 and data[1:2] == b"\0") \
        else data.decode("utf-8", "replace")
    text = text.lstrip("\ufeff")
    try:
        return ET.fromstring(text)
    except ET.ParseError as error:
        raise CaptureError("wimlib printed an XML document for %s that cannot be parsed: %s" % (path, error))


def _text(element, path):
    found = element.find(path)
    return found.text if found is not None and found.text is not None else None


def _integer(element, path):
    value = _text(element, path)
    if value is None:
        return None
    try:
        return int(value, 0)
    except ValueError:
        return None


def _filetime(element, path):
    high = _integer(element, path + "/HIGHPART")
    low = _integer(element, path + "/LOWPART")
    if high is None or low is None:
        return None
    ticks = (high << 32) | low
    moment = datetime.datetime(1601, 1, 1, tzinfo=datetime.timezone.utc) + datetime.timedelta(microseconds=ticks // 10)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _windows_info(image):
    windows = image.find("WINDOWS")
    if windows is None:
        return None
    languages = [lang.text for lang in windows.findall("LANGUAGES/LANGUAGE") if lang.text]
    arch = _text(windows, "ARCH")
    return {
        "architecture": ARCHITECTURES.get(arch, arch),
        "product_name": _text(windows, "PRODUCTNAME"),
        "edition_id": _text(windows, "EDITIONID"),
        "installation_type": _text(windows, "INSTALLATIONTYPE"),
        "product_type": _text(windows, "PRODUCTTYPE"),
        "product_suite": _text(windows, "PRODUCTSUITE"),
        "system_root": _text(windows, "SYSTEMROOT"),
        "version": {
            "major": _integer(windows, "VERSION/MAJOR"), "minor": _integer(windows, "VERSION/MINOR"),
            "build": _integer(windows, "VERSION/BUILD"), "sp_build": _integer(windows, "VERSION/SPBUILD"),
            "sp_level": _integer(windows, "VERSION/SPLEVEL"),
        },
        "languages": languages,
        "default_language": _text(windows, "LANGUAGES/DEFAULT"),
    }


def describe_images(root):
    """Every image of the WIM as a plain dict (index, name, counts, sizes, Windows details...)."""
    images = []
    for image in root.findall("IMAGE"):
        images.append({
            "index": int(image.get("INDEX", "0")),
            "name": _text(image, "NAME"),
            "description": _text(image, "DESCRIPTION"),
            "display_name": _text(image, "DISPLAYNAME"),
            "flags": _text(image, "FLAGS"),
            "dir_count": _integer(image, "DIRCOUNT"),
            "file_count": _integer(image, "FILECOUNT"),
            "total_bytes": _integer(image, "TOTALBYTES"),
            "hard_link_bytes": _integer(image, "HARDLINKBYTES"),
            "creation_time": _filetime(image, "CREATIONTIME"),
            "last_modification_time": _filetime(image, "LASTMODIFICATIONTIME"),
            "windows": _windows_info(image),
            "source_fingerprint": _text(image, PROPERTY_FINGERPRINT),
            "source": _text(image, PROPERTY_SOURCE),
        })
    return sorted(images, key=lambda item: item["index"])


def wim_images(path, wimlib=WIMLIB):
    return describe_images(read_xml(path, wimlib))


# WIM header flags naming the compression of the archive's resources.
HEADER_COMPRESSION_FLAGS = ((0x00080000, "LZMS"), (0x00040000, "LZX"), (0x00020000, "XPRESS"),
                            (0x00200000, "XPRESS"))
HEADER_FLAG_COMPRESSION = 0x00000002


def wim_compression(path):
    """'none', 'XPRESS', 'LZX' or 'LZMS': the compression recorded in an existing WIM's header."""
    flags = read_header(path)["flags"]
    if not flags & HEADER_FLAG_COMPRESSION:
        return "none"
    for bit, name in HEADER_COMPRESSION_FLAGS:
        if flags & bit:
            return name
    return "unknown"


def find_image(images, name):
    """The image called ``name`` (WIM names compare case-insensitively), or None."""
    for image in images:
        if (image.get("name") or "").lower() == name.lower():
            return image
    return None
