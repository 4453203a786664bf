# Copyright: (c) 2026, winimage.generalize contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""DISM capture on Windows: option rules, WimScript.ini text, command lines, the capture plan.

Everything here is pure Python so it is tested on Linux. The PowerShell module
``dism_capture.ps1`` only reports what it sees (does the destination exist, which image names
it holds, its WIM header) and runs the command lines planned here; the winpe module_utils
reuse the same argument builders for the capture script that runs inside WinPE.

Microsoft documentation these rules follow:

* DISM image management command-line options (/Capture-Image, /Append-Image, /Export-Image,
  /Split-Image, /Compress, /ConfigFile, /CheckIntegrity, /Verify):
  https://learn.microsoft.com/windows-hardware/manufacture/desktop/dism-image-management-command-line-options-s14
  - /Capture-Image takes /Compress:{max|fast|none}; ``recovery`` exists only for /Export-Image
    (push-button reset images, written as .esd), so ``compression: recovery`` is planned as a
    capture followed by an export.
  - /Append-Image takes no /Compress: a WIM has one compression type, appended images use it.
  - /Split-Image writes read-only .swm parts of at most /FileSize megabytes.
* DISM global options (/LogPath, /ScratchDir) go before the imaging command
  (``DISM.exe [dism_options] {Imaging_command} [<Imaging_arguments>]``).
* DISM configuration list / WimScript.ini: sections [ExclusionList], [ExclusionException],
  [CompressionExclusionList]; wildcards only in the last path component; a leading backslash
  anchors a path at the root of the captured directory:
  https://learn.microsoft.com/windows-hardware/manufacture/desktop/dism-configuration-list-and-wimscriptini-files-winnext
* WIM header layout (flags at offset 16): the Windows Imaging File Format (WIM) specification
  published with the Windows AIK, also documented by wimlib.
"""

from __future__ import annotations

import re
import struct

from ansible_collections.winimage.generalize.plugins.module_utils import capture_exclusions

COMPRESSIONS = ("none", "fast", "max", "recovery")
# /Capture-Image compression words; "recovery" is reached through /Export-Image (see plan_capture).
CAPTURE_COMPRESS = {"none": "none", "fast": "fast", "max": "max"}
# The capture a "recovery" (.esd) export starts from: the smallest WIM DISM can capture.
RECOVERY_INTERMEDIATE_COMPRESSION = "max"

# The exclusions shared by every capture backend.
DEFAULT_EXCLUSIONS = capture_exclusions.DEFAULT_EXCLUSIONS

IMAGE_EXTENSIONS = (".wim", ".esd")
PARTIAL_MARK = ".partial-"

# WIM header: magic, header size, version, flags (Windows Imaging File Format specification).
WIM_MAGIC = b"MSWIM\0\0\0"
WIM_HEADER_SIZE = 208
_FLAG_COMPRESSION = 0x00000002
_FLAG_SPANNED = 0x00000008
_COMPRESSION_FLAGS = (
    (0x00020000, "fast"),      # XPRESS
    (0x00040000, "max"),       # LZX
    (0x00080000, "recovery"),  # LZMS (solid resources, the .esd format)
)

# Characters cmd.exe, DISM's own parser or a WimScript.ini line cannot carry in a name.
_FORBIDDEN_TEXT = re.compile(r'["\x00-\x1f]')
_WINDOWS_ABSOLUTE = re.compile(r"^(?:[A-Za-z]:\\|\\\\[^\\/]+\\[^\\/]+)")
_SWITCH = re.compile(r"^(/[A-Za-z-]+:)(.*)$", re.S)


class DismOptionError(ValueError):
    """An option value DISM cannot work with; the message names the option and the fix."""


class CaptureRefused(Exception):
    """The capture would overwrite something or cannot be done as asked; message says why."""


# --------------------------------------------------------------------------- Windows paths

def is_windows_absolute(path):
    """True for ``C:\\dir`` and ``\\\\server\\share\\dir`` (what DISM and the module accept)."""
    return isinstance(path, str) and bool(_WINDOWS_ABSOLUTE.match(path))


def split_windows_path(path):
    """(directory, stem, extension) of a Windows path; extension lower-cased with its dot."""
    directory, _sep, leaf = path.rstrip("\\").rpartition("\\")
    stem, dot, extension = leaf.rpartition(".")
    if not dot:
        stem, extension = leaf, ""
    return directory, stem, ("." + extension.lower()) if dot else ""


def join_windows_path(directory, leaf):
    return directory.rstrip("\\") + "\\" + leaf


def partial_path(dest, token, extension=None):
    """The temporary name a capture writes first, in the destination's own directory.

    Same directory so the final step is a rename on one volume (or one share), never a copy.
    """
    directory, stem, dest_extension = split_windows_path(dest)
    return join_windows_path(directory, "%s%s%s%s" % (stem, PARTIAL_MARK, token, extension or dest_extension))


def split_first_part(wim_path):
    """Name of the first .swm part DISM writes for a WIM (``NAME.swm``, then ``NAME2.swm`` ...)."""
    directory, stem, _extension = split_windows_path(wim_path)
    return join_windows_path(directory, stem + ".swm")


def split_part_pattern(wim_path):
    """Wildcard matching every .swm part of a WIM path (for the never-overwrite check)."""
    directory, stem, _extension = split_windows_path(wim_path)
    return join_windows_path(directory, stem + "*.swm")


# --------------------------------------------------------------------------- text checks

def check_text(option, value, required=False):
    """A name or description DISM can take: printable, no double quote, no line break."""
    if value is None or value == "":
        if required:
            raise DismOptionError("%s is required: give the image a name, for example 'Windows 11 Enterprise "
                                  "2026-03'" % option)
        return None
    if not isinstance(value, str):
        raise DismOptionError("%s must be a string, got %r" % (option, value))
    if _FORBIDDEN_TEXT.search(value):
        raise DismOptionError("%s must not contain double quotes, line breaks or control characters (DISM and "
                              "cmd.exe cannot pass them): %r" % (option, value))
    if value != value.strip():
        raise DismOptionError("%s must not start or end with spaces: %r" % (option, value))
    return value


# --------------------------------------------------------------------------- exclusions

def normalize_exclusion(entry):
    """One [ExclusionList] line, or DismOptionError saying what is wrong and how to fix it.

    ``C:\\pagefile.sys`` becomes ``\\pagefile.sys`` (drive letters mean nothing inside the captured
    directory), ``/`` becomes ``\\``. Wildcards are allowed only in the last component, as the
    WimScript.ini guidelines say.
    """
    if not isinstance(entry, str):
        raise DismOptionError("exclusions must be strings, got %r" % (entry,))
    text = entry.strip()
    if not text:
        raise DismOptionError("an exclusion is empty; remove it from exclusions")
    if any(ch in text for ch in "\r\n\0"):
        raise DismOptionError("exclusion %r contains a line break or NUL" % entry)
    if text.startswith(("[", ";")):
        raise DismOptionError("exclusion %r starts with '%s', which WimScript.ini reads as a section header or a "
                              "comment; give a path such as \\Temp\\*" % (entry, text[0]))
    if '"' in text:
        raise DismOptionError("exclusion %r contains a double quote; write the path without quotes" % entry)
    text = text.replace("/", "\\")
    if len(text) >= 2 and text[1] == ":":
        text = text[2:] or "\\"
    components = text.strip("\\").split("\\")
    if any(("*" in part or "?" in part) for part in components[:-1]):
        raise DismOptionError("exclusion %r has a wildcard before its last component; DISM allows wildcards only "
                              "in the last one (for example \\Windows\\Temp\\*.tmp)" % entry)
    return text


def exclusion_list(exclusions, mandatory=()):
    """Normalized exclusions, mandatory ones first, without duplicates (case-insensitive)."""
    seen, result = set(), []
    for entry in list(mandatory) + list(exclusions or []):
        line = normalize_exclusion(entry)
        if line.lower() not in seen:
            seen.add(line.lower())
            result.append(line)
    return result


def wimscript_ini(exclusions, mandatory=(), compression_exclusions=()):
    """The text of a DISM configuration list (WimScript.ini), CRLF line endings.

    ``mandatory`` entries (for example the WinPE staging folder) are always written, whatever
    the user lists. An empty ``exclusions`` list still writes the section, so DISM's own
    defaults are the only ones applied.
    """
    lines = ["; written by winimage.generalize", "[ExclusionList]"]
    lines.extend(exclusion_list(exclusions, mandatory))
    extra = [normalize_exclusion(entry) for entry in compression_exclusions or ()]
    if extra:
        lines.extend(["", "[CompressionExclusionList]"] + extra)
    return "\r\n".join(lines) + "\r\n"


def wimscript_encoding(text):
    """How the module writes the configuration file: plain ASCII when it can, else UTF-16 LE.

    Windows configuration (.ini) readers take ANSI or UTF-16 with a byte order mark; ASCII is
    the same in every code page, so only non-ASCII paths need the Unicode form.
    """
    try:
        text.encode("ascii")
        return "ascii"
    except UnicodeEncodeError:
        return "utf-16"


# --------------------------------------------------------------------------- options

def validate_capture_options(options, require_absolute=True):
    """Checked and normalized capture options (dict); DismOptionError on the first problem.

    Keys: src, dest, name, description, compression, append, exclusions, check_integrity, verify,
    scratch_dir, split_size_mb. ``require_absolute`` is False for WinPE, where ``dest`` is
    relative to the share or target volume.
    """
    result = dict(options)
    for key in ("src", "dest"):
        value = result.get(key)
        if not isinstance(value, str) or not value.strip():
            raise DismOptionError("%s is required" % key)
    if require_absolute and not is_windows_absolute(result["src"]):
        raise DismOptionError("src must be an absolute Windows path such as E:\\ (the mounted volume), got %r"
                              % result["src"])
    dest = result["dest"]
    if require_absolute and not is_windows_absolute(dest):
        raise DismOptionError("dest must be an absolute Windows path (D:\\images\\ref.wim or "
                              "\\\\server\\share\\ref.wim), got %r" % dest)
    if _FORBIDDEN_TEXT.search(dest) or any(ch in dest for ch in "*?<>|"):
        raise DismOptionError("dest %r contains a character a Windows file name cannot hold" % dest)
    _directory, stem, extension = split_windows_path(dest)
    if not stem or dest.endswith(("\\", "/")):
        raise DismOptionError("dest %r names a directory; give the image file, for example D:\\images\\ref.wim" % dest)
    if PARTIAL_MARK in stem.lower():
        raise DismOptionError("dest %r contains %r, which this module reserves for its temporary files"
                              % (dest, PARTIAL_MARK))
    # Like wim_capture: unset means fast (DISM's own default) for a new file, the existing
    # file's compression for an append, recovery for an .esd.
    result["compression_explicit"] = result.get("compression") is not None
    compression = result.get("compression") or ("recovery" if extension == ".esd" else "fast")
    if compression not in COMPRESSIONS:
        raise DismOptionError("compression must be one of %s, got %r" % (", ".join(COMPRESSIONS), compression))
    result["compression"] = compression
    if extension not in IMAGE_EXTENSIONS:
        raise DismOptionError("dest must end in .wim (or .esd with compression: recovery), got %r" % dest)
    if compression == "recovery" and extension != ".esd":
        raise DismOptionError("compression: recovery writes an .esd file (DISM supports it only for /Export-Image "
                              "to .esd); name dest ...\\%s.esd, or use compression: max for a .wim" % stem)
    if extension == ".esd" and compression != "recovery":
        raise DismOptionError("an .esd dest needs compression: recovery; use a .wim name for compression: %s"
                              % compression)
    result["name"] = check_text("name", result.get("name"), required=True)
    result["description"] = check_text("description", result.get("description"))
    result["append"] = bool(result.get("append"))
    result["check_integrity"] = bool(result.get("check_integrity", False))
    result["verify"] = bool(result.get("verify", False))
    scratch = result.get("scratch_dir")
    if scratch and require_absolute and not is_windows_absolute(scratch):
        raise DismOptionError("scratch_dir must be an absolute local path such as D:\\scratch, got %r" % scratch)
    result["scratch_dir"] = scratch or None
    split = result.get("split_size_mb")
    if split is not None:
        if isinstance(split, bool) or not isinstance(split, int) or split < 1:
            raise DismOptionError("split_size_mb must be a whole number of megabytes above 0, got %r" % (split,))
        if compression == "recovery":
            raise DismOptionError("split_size_mb cannot split an .esd (DISM /Split-Image splits .wim files); "
                                  "capture a .wim with compression: max to split it")
        if result["append"]:
            raise DismOptionError("split_size_mb with append: true would have to rewrite the existing .swm parts; "
                                  "split a newly captured file instead")
    result["split_size_mb"] = split
    if compression == "recovery" and result["append"]:
        raise DismOptionError("append: true with compression: recovery is not supported: an .esd is written once by "
                              "/Export-Image; capture to a new .esd name instead")
    result["exclusions"] = exclusion_list(DEFAULT_EXCLUSIONS if result.get("exclusions") is None
                                          else result["exclusions"])
    return result


# --------------------------------------------------------------------------- WIM header

def wim_header_info(header):
    """(compression, spanned) read from the first bytes of a WIM/ESD file, or None if not a WIM."""
    if not isinstance(header, (bytes, bytearray)) or len(header) < 20 or bytes(header[:8]) != WIM_MAGIC:
        return None
    flags = struct.unpack_from("<I", header, 16)[0]
    compression = "none"
    if flags & _FLAG_COMPRESSION:
        compression = next((name for bit, name in _COMPRESSION_FLAGS if flags & bit), "unknown")
    return {"compression": compression, "spanned": bool(flags & _FLAG_SPANNED)}


# --------------------------------------------------------------------------- command lines

def _crt_quote(value):
    """Double-quote a value the way the Microsoft C runtime reads it back (no quotes inside).

    Backslashes are literal except before a double quote, so the ones ending the value are
    doubled (``"C:\\dir\\\\"`` reads back as ``C:\\dir\\``).
    """
    trailing = len(value) - len(value.rstrip("\\"))
    return '"' + value + "\\" * trailing + '"'


def quote_argument(arg, special=frozenset(" \t")):
    """One argument for a Windows command line; ``/Option:value`` keeps the switch outside the quotes.

    DISM's documentation writes ``/ImageFile:"C:\\path with spaces\\x.wim"``; the C runtime reads
    that the same as quoting the whole argument, and this form matches the documentation.
    ``special`` are the characters that make quoting necessary.
    """
    text = str(arg)
    if '"' in text:
        raise DismOptionError("a command-line argument cannot contain a double quote: %r" % text)
    match = _SWITCH.match(text)
    prefix, value = (match.group(1), match.group(2)) if match else ("", text)
    if value == "":
        return prefix if prefix else '""'
    if any(ch in special for ch in value):
        return prefix + _crt_quote(value)
    return prefix + value


def windows_command_line(argv):
    """One command line from argv, as CreateProcess gets it (no cmd.exe in between)."""
    return " ".join(quote_argument(part) for part in argv)


def dism_global_options(log_path=None, scratch_dir=None):
    argv = []
    if log_path:
        argv.append("/LogPath:%s" % log_path)
    if scratch_dir:
        argv.append("/ScratchDir:%s" % scratch_dir)
    return argv


def capture_argv(image_file, capture_dir, name, description=None, compression="max", config_file=None,
                 check_integrity=True, verify=True, append=False, log_path=None, scratch_dir=None,
                 dism="dism.exe"):
    """argv of ``DISM /Capture-Image`` (new file) or ``/Append-Image`` (new index)."""
    if not append and compression not in CAPTURE_COMPRESS:
        raise DismOptionError("/Capture-Image compresses none, fast or max, not %r" % compression)
    argv = [dism] + dism_global_options(log_path, scratch_dir)
    argv.append("/Append-Image" if append else "/Capture-Image")
    argv += ["/ImageFile:%s" % image_file, "/CaptureDir:%s" % capture_dir, "/Name:%s" % name]
    if description:
        argv.append("/Description:%s" % description)
    if not append:
        argv.append("/Compress:%s" % CAPTURE_COMPRESS[compression])
    if config_file:
        argv.append("/ConfigFile:%s" % config_file)
    if check_integrity:
        argv.append("/CheckIntegrity")
    if verify:
        argv.append("/Verify")
    return argv


def export_recovery_argv(source_file, destination_file, check_integrity=True, log_path=None, scratch_dir=None,
                         dism="dism.exe"):
    """argv of ``DISM /Export-Image ... /Compress:recovery`` (index 1 of a fresh capture to .esd)."""
    argv = [dism] + dism_global_options(log_path, scratch_dir)
    argv += ["/Export-Image", "/SourceImageFile:%s" % source_file, "/SourceIndex:1",
             "/DestinationImageFile:%s" % destination_file, "/Compress:recovery"]
    if check_integrity:
        argv.append("/CheckIntegrity")
    return argv


def split_argv(image_file, swm_file, size_mb, check_integrity=True, log_path=None, scratch_dir=None,
               dism="dism.exe"):
    """argv of ``DISM /Split-Image`` writing ``swm_file`` (and NAME2.swm ...) of at most size_mb each."""
    argv = [dism] + dism_global_options(log_path, scratch_dir)
    argv += ["/Split-Image", "/ImageFile:%s" % image_file, "/SWMFile:%s" % swm_file, "/FileSize:%d" % size_mb]
    if check_integrity:
        argv.append("/CheckIntegrity")
    return argv


# --------------------------------------------------------------------------- the plan

def _step(what, argv):
    return {"what": what, "argv": argv, "command": windows_command_line(argv)}


def capture_steps(options, image_file, capture_dir, config_file, append=False, log_path=None):
    """The DISM command steps that produce ``image_file`` (a temporary name) from capture_dir.

    ``recovery`` captures an intermediate WIM next to it, then exports that to the .esd name.
    Returns (steps, intermediate files to delete afterwards).
    """
    common = dict(check_integrity=options["check_integrity"], log_path=log_path,
                  scratch_dir=options.get("scratch_dir"))
    if options["compression"] == "recovery":
        directory, stem, _extension = split_windows_path(image_file)
        intermediate = join_windows_path(directory, stem + ".capture.wim")
        steps = [
            _step("capture", capture_argv(intermediate, capture_dir, options["name"], options.get("description"),
                                          RECOVERY_INTERMEDIATE_COMPRESSION, config_file,
                                          verify=options["verify"], **common)),
            _step("export", export_recovery_argv(intermediate, image_file, **common)),
        ]
        return steps, [intermediate]
    steps = [_step("append" if append else "capture",
                   capture_argv(image_file, capture_dir, options["name"], options.get("description"),
                                options["compression"], config_file, verify=options["verify"], append=append,
                                **common))]
    return steps, []


def plan_capture(options, state, token):
    """Decide what a capture does, never overwriting a file or an index.

    ``options`` come from validate_capture_options. ``state`` is what the module saw on the host:
    ``src_is_dir``, ``dest_dir_exists``, ``dest_exists``, ``dest_is_file``, ``images`` (list of
    {index, name} of an existing dest), ``images_error``, ``header`` (bytes of its WIM header),
    ``split_parts`` (existing .swm names for dest), ``leftovers`` (partial files of earlier runs).

    Returns a dict with ``action`` (capture | append | none, the words wim_capture uses),
    ``dest``, ``temp``, ``index`` (when none), ``steps``, ``warnings``. Raises CaptureRefused when
    the rules forbid the capture.

    Rules:
      * dest missing -> capture a new file (also with append: true).
      * dest holds an image named ``name`` -> none: the name is the image's identity, it is
        never captured twice (idempotent re-runs).
      * dest exists without that name -> append: true adds a new index, otherwise refused.
      * .swm parts already present for a new split -> refused.
    """
    dest = options["dest"]
    warnings = ["left over from an interrupted capture (remove it when no capture is running): %s" % path
                for path in state.get("leftovers") or []]
    if not state.get("src_is_dir"):
        raise CaptureRefused("src %s is not a directory on the host; mount the volume first (for a VHDX: "
                             "Mount-VHD -ReadOnly, then use its drive letter such as E:\\)" % options["src"])
    if not state.get("dest_dir_exists"):
        raise CaptureRefused("the directory of dest %s does not exist; create it first" % dest)

    base = {"dest": dest, "warnings": warnings, "compression": options["compression"]}
    if state.get("dest_exists"):
        if not state.get("dest_is_file"):
            raise CaptureRefused("dest %s exists and is not a file" % dest)
        if state.get("images_error"):
            raise CaptureRefused("dest %s exists but DISM cannot list its images (%s); it is not overwritten. Give "
                                 "a new dest name" % (dest, state["images_error"]))
        for image in state.get("images") or []:
            if str(image.get("name", "")).lower() == options["name"].lower():
                return dict(base, action="none", index=image.get("index"), steps=[], temp=None)
        if not options["append"]:
            raise CaptureRefused("dest %s already exists and holds no image named %r; it is never overwritten. Set "
                                 "append: true to add a new index, or choose a new dest" % (dest, options["name"]))
        header = wim_header_info(state.get("header") or b"")
        if header is None:
            raise CaptureRefused("dest %s does not start with a WIM header; it is not appended to" % dest)
        if header["spanned"]:
            raise CaptureRefused("dest %s is one part of a split image (.swm set); DISM cannot append to it" % dest)
        if header["compression"] == "recovery":
            raise CaptureRefused("dest %s uses recovery (LZMS) compression; /Append-Image cannot add to it" % dest)
        if options.get("compression_explicit", True) and header["compression"] != options["compression"]:
            raise CaptureRefused("dest %s uses %s compression and a WIM holds one compression type; set compression: "
                                 "%s (or leave it unset) to append" % (dest, header["compression"],
                                                                       header["compression"]))
        base["compression"] = header["compression"]
        action = "append"
    else:
        action = "capture"

    if options.get("split_size_mb") and state.get("split_parts"):
        raise CaptureRefused("split parts already exist for %s (%s); they are never overwritten. Remove them or "
                             "choose a new dest" % (dest, ", ".join(state["split_parts"])))

    temp = partial_path(dest, token)
    config_file = partial_path(dest, token, ".ini")
    log_path = partial_path(dest, token, ".dism.log")
    steps, intermediate = capture_steps(options, temp, options["src"], config_file,
                                        append=(action == "append"), log_path=log_path)
    split = None
    if options.get("split_size_mb"):
        temp_first = split_first_part(temp)
        steps.append(_step("split", split_argv(temp, temp_first, options["split_size_mb"],
                                               check_integrity=options["check_integrity"], log_path=log_path)))
        split = {"temp_first": temp_first, "temp_stem": split_windows_path(temp)[1],
                 "final_stem": split_windows_path(dest)[1], "final_pattern": split_part_pattern(dest)}
    return dict(base, action=action, index=None, temp=temp, config_file=config_file,
                config_text=wimscript_ini(options["exclusions"]), log_path=log_path, steps=steps,
                intermediate=intermediate, split=split, name=options["name"])


def split_part_final_name(temp_part_leaf, temp_stem, final_stem):
    """Final file name of one .swm part written under the temporary stem (NAME.partial-T2.swm -> NAME2.swm)."""
    if not temp_part_leaf.lower().startswith(temp_stem.lower()):
        raise ValueError("%r is not a part of %r" % (temp_part_leaf, temp_stem))
    return final_stem + temp_part_leaf[len(temp_stem):]


# --------------------------------------------------------------------------- results

# PROCESSOR_ARCHITECTURE numbers of the DISM API (DismImageInfo.Architecture) and the names
# PowerShell may print for them -> the facts schema's names. The module maps them the same way
# (dism_capture.ps1 $architectureNames); this copy normalizes whatever reaches the controller.
ARCHITECTURES = {0: "x86", 5: "arm", 6: "ia64", 9: "amd64", 12: "arm64"}
ARCHITECTURE_NAMES = {"x86": "x86", "arm": "arm", "ia64": "ia64", "x64": "amd64", "amd64": "amd64", "arm64": "arm64"}


def architecture_name(value):
    """amd64, arm64, x86 ... from a DISM architecture number or name; other values as text."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return ARCHITECTURES.get(value, str(value))
    text = str(value).strip()
    if text.isdigit():
        return ARCHITECTURES.get(int(text), text)
    return ARCHITECTURE_NAMES.get(text.lower(), text)


def normalize_image_info(raw):
    """image_info in the shape wim_capture returns (index, name, ..., windows: {...}).

    The module builds it from Get-WindowsImage -Index, whose properties mirror the DISM API
    DismImageInfo structure
    (https://learn.microsoft.com/windows-hardware/manufacture/desktop/dism/dismimageinfo-structure).
    """
    info = dict(raw or {})
    windows = info.get("windows")
    if isinstance(windows, dict):
        windows = dict(windows)
        if "architecture" in windows:
            windows["architecture"] = architecture_name(windows["architecture"])
        if isinstance(windows.get("languages"), str):
            windows["languages"] = [windows["languages"]]
        info["windows"] = windows
    return info
