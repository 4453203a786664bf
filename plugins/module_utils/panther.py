# Copyright: (c) 2026, winimage.generalize contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Diagnose a failed sysprep run from its Panther logs.

``setupact.log`` / ``setuperr.log`` (``%WINDIR%\\System32\\Sysprep\\Panther``) are turned into
findings of phase ``sysprep`` (ids and texts come from ``finding_catalog``):

``appx_user_not_provisioned``, ``appx_staged_removal``, ``bitlocker_on``, ``pending_servicing``,
``rearm_exhausted``, ``upgraded_install``, ``sysprep_provider_failure`` and, for error lines no
rule explains, ``sysprep_unknown_error`` with the raw lines kept.

Design notes (why it looks the way it does):

* Logs can be hundreds of megabytes, UTF-8 or UTF-16 (with or without BOM), with CRLF, LF or
  CR line ends, NUL padding and garbage. The scanner reads fixed-size chunks and searches the
  *encoded* bytes for the few needles that matter, decoding only the lines it keeps, so memory
  stays bounded and a realistic log is read at close to ``grep`` speed.
* In the standard Panther format every line carries a level (``2024-06-20 22:22:28, Error``);
  there only ``Error`` lines can explain a failure, so one search for ``Error`` finds them all.
  Excerpts people paste (and some tools' renderings) drop the level; such chunks are read line
  by line with a broader, slower trigger.
* A log holds every run since it was created. Only the last run (after the last
  ``Beginning of a new sysprep run`` banner) explains the current failure.
* The chain of lines sysprep writes after the real error (``RunDlls:An error occurred ...``,
  ``WinMain:Hit failure ...``) is a consequence, not a cause: it is reported only when nothing
  better explains the failure.
"""

from __future__ import annotations

import codecs
import re

from ansible_collections.winimage.generalize.plugins.module_utils.finding_catalog import make_finding

PHASE = "sysprep"

DEFAULT_CHUNK_SIZE = 1 << 20
# A line longer than this is garbage; only a window around the interesting part is kept.
MAX_LINE_CHARS = 8192
# Bytes kept waiting for a line end before an artificial break is made (bounds memory).
MAX_CARRY_BYTES = 1 << 20
MAX_LINES_PER_FINDING = 20
MAX_STORED_LINE_CHARS = 1000
MAX_PACKAGES = 200
MAX_PROVIDERS = 50
MAX_MESSAGE_ITEMS = 5
SAMPLE_CHARS = 8192
STANDARD_FORMAT_RATIO = 0.8

RUN_BANNER = "Beginning of a new sysprep run"

# Cause ids in report order; provider failures and unknown errors come after them.
CAUSE_IDS = (
    "appx_user_not_provisioned",
    "appx_staged_removal",
    "bitlocker_on",
    "pending_servicing",
    "rearm_exhausted",
    "upgraded_install",
)
PROVIDER_ID = "sysprep_provider_failure"
UNKNOWN_ID = "sysprep_unknown_error"

# A provider DLL failing is the expected symptom of these causes, not a separate problem.
PROVIDERS_EXPLAINED_BY = {
    "appx_user_not_provisioned": ("appxsysprep.dll",),
    "appx_staged_removal": ("appxsysprep.dll",),
    "bitlocker_on": ("bdesysprep.dll",),
    "pending_servicing": ("spopk.dll",),
    "upgraded_install": ("spopk.dll",),
    "rearm_exhausted": ("slc.dll",),
}

_STANDARD_LINE_RE = re.compile(r"\s*\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}, (?:Fatal Error|Error|Warning|Info|Perf)\b")
_LEVEL_RE = re.compile(r"^\s*(?:[^,\r\n]{1,48},\s*)?(Fatal Error|Error|Warning|Info|Perf)(?=$|[\s:\[])")
_ERROR_LEVELS = ("Error", "Fatal Error")
# Timestamp, level and message id in front of a message (dropped to dedupe repeats).
_LINE_PREFIX_RE = re.compile(
    r"^[\s\d\-/.:,]*(?:(?:Fatal Error|Error|Warning|Info|Perf)\b[\s:]*)?(?:\[0x[0-9a-fA-F]+\]\s*)?")
# Lines without a level are only looked at when they say something like this.
_LENIENT_TRIGGER_RE = re.compile(
    r"error|fail|halting|not running dlls|bitlocker|provisioned for all users|require a reboot"
    r"|reserved storage|active scenario|re-?arm|c004d307|1073425657|0x8031003|upgraded",
    re.I,
)
_LEVELLESS_ERROR_RE = re.compile(r"error|fail|halting|not running dlls", re.I)

# Full name of an Appx package: Name_Version_Architecture_ResourceId_PublisherId.
_PACKAGE_NAME_RE = re.compile(r"^[A-Za-z0-9][\w.\-]*_\d+(?:\.\d+){0,3}_[A-Za-z0-9]+_[\w.\-~]*_[a-z0-9]{13}$")
_APPX_NOT_PROVISIONED_RE = re.compile(r"Package\s+(\S+?)\s+was installed for a user", re.I)
_APPX_STAGED_RES = (
    re.compile(r"Failed to remove staged packages?\b[\s:]*(\S+)?", re.I),
    re.compile(r"Package\s+(\S+?)\s+failed waiting for remove operation", re.I),
)
_APPX_REMOVE_APPS_RE = re.compile(r"Failed to remove apps for the current user", re.I)
_BITLOCKER_RE = re.compile(r"BitLocker is on|0x80310039|FVE_E_NOT_DECRYPTED", re.I)
_REARM_RE = re.compile(r"0xc004d307|-1073425657|maximum allowed number of re-?arms", re.I)
_UPGRADE_RE = re.compile(
    r"upgraded (?:OS|operating system|installation|install|Windows|system)\b|will not run on an upgrade"
    r"|\bSysprep_Upgrade|\bCSysprepUpgrade",
    re.I,
)
# (pattern, status, what the admin is told)
_PENDING_RULES = (
    (re.compile(r"Windows updates that require a reboot", re.I), "fail",
     "Windows updates are waiting for a reboot"),
    (re.compile(r"reserved storage is in use|0x800f0975", re.I), "fail",
     "an update or servicing operation is using reserved storage"),
    (re.compile(r"Audit mode can(?:'|no)t be turned on if there is an active scenario", re.I), "fail",
     "a servicing scenario is still active"),
    (re.compile(r"Failed to query pending CBS operations", re.I), "unknown",
     "sysprep could not query pending Component Based Servicing operations, so pending servicing "
     "cannot be ruled out"),
    (re.compile(r"pending (?:online )?servicing|servicing operations? (?:are|is) pending", re.I), "fail",
     "servicing operations are pending"),
)
_LAUNCH_DLL_RE = re.compile(
    r"LaunchDll:\s*Failure occurred while executing '([^']+)'", re.I)
_LAUNCH_MODULE_RE = re.compile(
    r"Failure occurred while executing '?([^'\s]+)'? from '?([^';]*?\.dll)", re.I)
_EXECUTE_ACTION_RE = re.compile(r"DLL:\s*([^,;]*?\.dll)\b.*?Function:\s*([\w.]+)", re.I)
_CASCADE_RE = re.compile(
    r"RunDlls:\s*An error occurred while running registry sysprep DLLs"
    r"|RunExternalDlls:\s*An error occurred while running registry sysprep DLLs"
    r"|WinMain:\s*Hit failure while"
    r"|SysprepSession::(?:Validate|Execute):\s*Error in (?:validating|executing) actions"
    r"|SysprepSession::ExecuteInternal:\s*Error in executing action"
    r"|SysprepSession::ExecuteAction:\s*Failed during"
    r"|RunPlatformActions:\s*Failed while"
    r"|ActionPlatform::ExecuteActionList:\s*Error in execute actions"
    r"|ActionPlatform::ExecuteAction:\s*Error in executing action\s*;"
    r"|Exit code of RemoveAllApps thread was"
    r"|Failed while validating Sysprep ?session actions",
    re.I,
)

# Numbers that are not the error: message ids and GetLastError values.
_NOISE_CODE_RE = re.compile(r"\[0x[0-9a-f]{6}\]|\b\d+ \(0x[0-9a-f]{5,6}\)|\[gle=0x[0-9a-f]+\]", re.I)
_HRESULT_RE = re.compile(r"(?<![\w-])0x[89a-fA-F][0-9a-fA-F]{7}\b")
_LABELLED_CODE_RE = re.compile(
    r"\b(?:hr|dwRet|returned error code|error code)\s*[=:]?\s*(-?0x[0-9a-fA-F]+\b|-?\d+\b)", re.I)
# Older sysprep builds print dwRet in hex without the 0x prefix ("dwRet= 1f").
_BARE_HEX_DWRET_RE = re.compile(r"\bdwRet\s*=\s*([0-9a-fA-F]+)\b", re.I)
_ANY_HEX_RE = re.compile(r"(?<![\w-])0x[0-9a-fA-F]+\b")
_SECRET_RE = re.compile(r"((?:password|passwd|pwd)\s*[=:]\s*)\S+", re.I)


def normalise_code(token):
    """Return a numeric code as lower-case ``0x`` hex (decimal and negative forms converted)."""
    token = token.strip()
    try:
        if token.lower().startswith(("0x", "-0x")):
            value = int(token, 16)
        elif re.search(r"[a-fA-F]", token):
            value = int(token, 16)
        else:
            value = int(token, 10)
    except ValueError:
        return None
    if value < 0:
        value &= 0xFFFFFFFF
    return "0x%x" % value


def error_code_of(line):
    """The error code a line reports, preferring HRESULTs; None when it names none."""
    text = _NOISE_CODE_RE.sub(" ", line)
    match = _HRESULT_RE.search(text)
    if match:
        return normalise_code(match.group(0))
    for pattern in (_LABELLED_CODE_RE, _BARE_HEX_DWRET_RE):
        match = pattern.search(text)
        if match:
            return normalise_code(match.group(1))
    match = _ANY_HEX_RE.search(text)
    if match:
        return normalise_code(match.group(0))
    return None


def _is_hresult(code):
    return bool(code) and len(code) == 10 and code[2] in "89abcdef"


def _clean_package(token):
    """A package full name from a log token, or None for placeholders and garbage."""
    name = (token or "").strip("*`'\"<>[](),.;:")
    return name if _PACKAGE_NAME_RE.match(name) else None


def _dll_basename(path):
    name = re.split(r"[\\/]", path.strip().strip("'\""))[-1]
    return name.strip()


def _message_key(line):
    """A line without its timestamp and level, so repeats of one message dedupe."""
    return _LINE_PREFIX_RE.sub("", line, count=1).strip()


def _storable(line):
    line = _SECRET_RE.sub(r"\1********", line.strip())
    if len(line) > MAX_STORED_LINE_CHARS:
        line = line[:MAX_STORED_LINE_CHARS] + "..."
    return line


class _Event(object):
    """What one log line says."""

    __slots__ = ("kind", "packages", "provider", "function", "code", "status", "detail")

    def __init__(self, kind, packages=(), provider=None, function=None, code=None, status="fail",
                 detail=None):
        self.kind = kind
        self.packages = packages
        self.provider = provider
        self.function = function
        self.code = code
        self.status = status
        self.detail = detail


def _provider_event(line, code):
    match = _LAUNCH_DLL_RE.search(line)
    if match:
        target = match.group(1)
        dll, _sep, function = target.partition(",")
        return _Event(PROVIDER_ID, provider=_dll_basename(dll), function=function.strip() or None, code=code)
    match = _EXECUTE_ACTION_RE.search(line)
    if match:
        return _Event(PROVIDER_ID, provider=_dll_basename(match.group(1)), function=match.group(2), code=code)
    match = _LAUNCH_MODULE_RE.search(line)
    if match:
        return _Event(PROVIDER_ID, provider=_dll_basename(match.group(2)), function=match.group(1), code=code)
    return None


def classify_line(line):
    """Return the _Event a single log line stands for, or None when it is not an error.

    Rule order matters: a specific cause wins over the provider DLL that reported it,
    which wins over the generic cascade/unknown classes.
    """
    level_match = _LEVEL_RE.match(line)
    level = level_match.group(1) if level_match else None
    if level is not None and level not in _ERROR_LEVELS:
        return None
    code = error_code_of(line)

    match = _APPX_NOT_PROVISIONED_RE.search(line)
    if match:
        package = _clean_package(match.group(1))
        return _Event("appx_user_not_provisioned", packages=(package,) if package else (), code=code)
    for pattern in _APPX_STAGED_RES:
        match = pattern.search(line)
        if match:
            package = _clean_package(match.group(1))
            return _Event("appx_staged_removal", packages=(package,) if package else (), code=code)
    if _BITLOCKER_RE.search(line):
        return _Event("bitlocker_on", code=code)
    if _REARM_RE.search(line):
        return _Event("rearm_exhausted", code="0xc004d307")
    if _UPGRADE_RE.search(line):
        return _Event("upgraded_install", code=code)
    for pattern, status, detail in _PENDING_RULES:
        if pattern.search(line):
            return _Event("pending_servicing", code=code, status=status, detail=detail)
    event = _provider_event(line, code)
    if event is not None:
        return event
    if _APPX_REMOVE_APPS_RE.search(line):
        return _Event("appx_cascade", code=code)
    if _CASCADE_RE.search(line):
        return _Event("cascade", code=code)
    if level is None and not _LEVELLESS_ERROR_RE.search(line):
        return None
    return _Event("unknown", code=code)


class _Group(object):
    """Everything collected for one finding: deduplicated and capped."""

    def __init__(self, finding_id, provider=None):
        self.finding_id = finding_id
        self.provider = provider
        self.packages = []
        self.functions = []
        self.lines = []
        self._line_keys = set()
        self.codes = []
        self.details = []
        self.statuses = set()

    def add(self, event, line):
        for package in event.packages:
            if package not in self.packages and len(self.packages) < MAX_PACKAGES:
                self.packages.append(package)
        if event.function and event.function not in self.functions and len(self.functions) < MAX_MESSAGE_ITEMS:
            self.functions.append(event.function)
        if event.code and event.code not in self.codes and len(self.codes) < MAX_LINES_PER_FINDING:
            self.codes.append(event.code)
        if event.detail and event.detail not in self.details:
            self.details.append(event.detail)
        self.statuses.add(event.status)
        self.add_line(line)

    def add_line(self, line):
        if len(self.lines) >= MAX_LINES_PER_FINDING:
            return
        key = _message_key(line)
        if key in self._line_keys:
            return
        self._line_keys.add(key)
        self.lines.append(_storable(line))

    def merge(self, other):
        for package in other.packages:
            if package not in self.packages and len(self.packages) < MAX_PACKAGES:
                self.packages.append(package)
        for function in other.functions:
            if function not in self.functions and len(self.functions) < MAX_MESSAGE_ITEMS:
                self.functions.append(function)
        for code in other.codes:
            if code not in self.codes:
                self.codes.append(code)
        for detail in other.details:
            if detail not in self.details:
                self.details.append(detail)
        self.statuses |= other.statuses
        for line in other.lines:
            self.add_line(line)

    def error_code(self):
        for code in self.codes:
            if _is_hresult(code):
                return code
        return self.codes[0] if self.codes else None


class RunDiagnosis(object):
    """The errors of one sysprep run (or of several logs of it, merged)."""

    def __init__(self):
        self.groups = {}
        self.providers = {}
        self.appx_cascade = _Group("appx_staged_removal")
        # Unexplained lines in log order: (is_cascade, line).
        self.unexplained = []
        self._unexplained_keys = set()

    def record(self, event, line):
        if event.kind in CAUSE_IDS:
            self.groups.setdefault(event.kind, _Group(event.kind)).add(event, line)
        elif event.kind == PROVIDER_ID:
            key = event.provider.lower()
            if key not in self.providers and len(self.providers) >= MAX_PROVIDERS:
                return
            self.providers.setdefault(key, _Group(PROVIDER_ID, event.provider)).add(event, line)
        elif event.kind == "appx_cascade":
            self.appx_cascade.add(event, line)
        else:
            self._record_unexplained(event.kind == "cascade", line, event.code)

    def _record_unexplained(self, is_cascade, line, code):
        if len(self.unexplained) >= 2 * MAX_LINES_PER_FINDING:
            return
        key = _message_key(line)
        if key in self._unexplained_keys:
            return
        self._unexplained_keys.add(key)
        self.unexplained.append((is_cascade, _storable(line), code))

    def merge(self, other):
        for finding_id, group in other.groups.items():
            self.groups.setdefault(finding_id, _Group(finding_id)).merge(group)
        for key, group in other.providers.items():
            if key in self.providers or len(self.providers) < MAX_PROVIDERS:
                self.providers.setdefault(key, _Group(PROVIDER_ID, group.provider)).merge(group)
        self.appx_cascade.merge(other.appx_cascade)
        for is_cascade, line, code in other.unexplained:
            self._record_unexplained(is_cascade, line, code)

    def findings(self):
        """The findings this run's errors add up to, causes first."""
        groups = dict(self.groups)
        appx_named = "appx_user_not_provisioned" in groups or "appx_staged_removal" in groups
        if self.appx_cascade.lines and not appx_named:
            # "Failed to remove apps for the current user" alone: an Appx removal failure, unnamed.
            groups["appx_staged_removal"] = self.appx_cascade
        explained = set()
        for finding_id in groups:
            explained.update(PROVIDERS_EXPLAINED_BY.get(finding_id, ()))
        providers = [g for key, g in self.providers.items() if key not in explained]

        findings = [_cause_finding(groups[finding_id]) for finding_id in CAUSE_IDS if finding_id in groups]
        findings.extend(_provider_finding(group) for group in providers)
        unknown = self._unknown_group(keep_cascade=not findings)
        if unknown is not None:
            findings.append(_unknown_finding(unknown))
        return findings

    def _unknown_group(self, keep_cascade):
        """Unexplained error lines; the cascade lines only when nothing else was found."""
        entries = [entry for entry in self.unexplained if keep_cascade or not entry[0]]
        if not entries:
            return None
        group = _Group(UNKNOWN_ID)
        for _is_cascade, line, code in entries:
            if code and code not in group.codes:
                group.codes.append(code)
            group.add_line(line)
        return group


def _listing(items):
    shown = ", ".join(items[:MAX_MESSAGE_ITEMS])
    if len(items) > MAX_MESSAGE_ITEMS:
        shown += " and %d more" % (len(items) - MAX_MESSAGE_ITEMS)
    return shown


def _with_code(text, code):
    return "%s (%s)" % (text, code) if code else text


def _cause_message(group):
    finding_id = group.finding_id
    code = group.error_code()
    if finding_id == "appx_user_not_provisioned":
        if group.packages:
            return ("Sysprep stopped: %d Store app package(s) are installed for a user but not "
                    "provisioned for all users: %s." % (len(group.packages), _listing(group.packages)))
        return ("Sysprep stopped: a Store app is installed for a user but not provisioned for all "
                "users; the log line does not name the package in a usable form.")
    if finding_id == "appx_staged_removal":
        if group.packages:
            return _with_code("Sysprep could not remove the staged Store package(s) %s"
                              % _listing(group.packages), code) + "."
        return _with_code("Sysprep could not remove Store apps for the current user and the log does "
                          "not name the package", code) + "."
    if finding_id == "bitlocker_on":
        return "Sysprep refused to generalize: BitLocker is on for the OS volume (%s)." % (code or "0x80310039")
    if finding_id == "pending_servicing":
        return _with_code("Sysprep stopped because %s" % "; ".join(group.details), code) + "."
    if finding_id == "rearm_exhausted":
        return ("Sysprep could not rearm Windows licensing (0xc004d307): the maximum number of rearms "
                "allowed for this image is used up.")
    if finding_id == "upgraded_install":
        return _with_code("Sysprep reported that this Windows installation was upgraded in place, "
                          "which it does not generalize", code) + "."
    return _with_code("Sysprep failed", code) + "."


def _cause_finding(group):
    extra = {"lines": list(group.lines)}
    if group.finding_id in ("appx_user_not_provisioned", "appx_staged_removal"):
        extra["packages"] = list(group.packages)
    code = group.error_code()
    if group.finding_id == "rearm_exhausted":
        code = "0xc004d307"
    if code:
        extra["error_code"] = code
    status = "fail" if "fail" in group.statuses or not group.statuses else "unknown"
    return make_finding(group.finding_id, PHASE, _cause_message(group), status=status, **extra)


def _provider_finding(group):
    code = group.error_code()
    function = " / ".join(group.functions)
    what = "%s (%s)" % (group.provider, function) if function else group.provider
    message = _with_code("The sysprep provider %s failed" % what, code) + "; sysprep stopped."
    extra = {"provider": group.provider, "lines": list(group.lines)}
    if group.functions:
        extra["function"] = group.functions[0]
    if code:
        extra["error_code"] = code
    return make_finding(PROVIDER_ID, PHASE, message, **extra)


def _unknown_finding(group):
    code = group.error_code()
    first = group.lines[0]
    if len(first) > 200:
        first = first[:200] + "..."
    message = _with_code("Sysprep logged %d error line(s) that no known rule explains; the first is: %s"
                         % (len(group.lines), first), code)
    extra = {"lines": list(group.lines)}
    if code:
        extra["error_code"] = code
    return make_finding(UNKNOWN_ID, PHASE, message, **extra)


class _Encoding(object):
    """How the log's text is laid out in bytes, with the needles encoded the same way."""

    def __init__(self, name, width, newline):
        self.name = name
        self.width = width
        self.is_text = name is None
        self.newline = self.encode(newline)
        self.error_re = re.compile(re.escape(self.encode("Error")))
        self.banner = self.encode(RUN_BANNER)

    def encode(self, text):
        return text if self.is_text else text.encode(self.name)

    def decode(self, data):
        text = data if self.is_text else data.decode(self.name, "replace")
        return text.replace("\x00", "") if "\x00" in text else text


def _detect_encoding(head, is_text):
    """Encoding, width, BOM length and newline of a log from its first bytes.

    UTF-16 without a BOM is recognised by its NUL bytes: ASCII text in UTF-16 LE has a NUL in
    every odd byte, in UTF-16 BE in every even byte.
    """
    if is_text:
        return _Encoding(None, 1, _line_end_of(head, "\n", "\r")), 0
    bom = 0
    if head.startswith(codecs.BOM_UTF8):
        name, width, bom = "utf-8", 1, 3
    elif head.startswith(codecs.BOM_UTF16_LE):
        name, width, bom = "utf-16-le", 2, 2
    elif head.startswith(codecs.BOM_UTF16_BE):
        name, width, bom = "utf-16-be", 2, 2
    else:
        name, width = _guess_without_bom(head[:4096])
    newline = _line_end_of(head[bom:bom + 65536], "\n".encode(name), "\r".encode(name))
    return _Encoding(name, width, newline), bom


def _line_end_of(head, lf, cr):
    """LF for LF and CRLF logs; CR when lone CRs end most lines (old Mac-style copies)."""
    lone_cr = head.count(cr) - head.count(cr + lf)
    return "\r" if lone_cr > head.count(lf) else "\n"


def _guess_without_bom(sample):
    pairs = len(sample) // 2
    if pairs < 2:
        return "utf-8", 1
    even_nuls = sample[0:pairs * 2:2].count(0)
    odd_nuls = sample[1:pairs * 2:2].count(0)
    if odd_nuls > 0.4 * pairs and even_nuls < 0.1 * pairs:
        return "utf-16-le", 2
    if even_nuls > 0.4 * pairs and odd_nuls < 0.1 * pairs:
        return "utf-16-be", 2
    return "utf-8", 1


def _find_aligned(data, needle, start, end, width):
    index = data.find(needle, start, end)
    while index != -1 and index % width:
        index = data.find(needle, index + 1, end)
    return index


def _rfind_aligned(data, needle, start, end, width):
    index = data.rfind(needle, start, end)
    while index != -1 and index % width:
        index = data.rfind(needle, start, index + len(needle) - 1)
    return index


class PantherScanner(object):
    """Incremental scanner: ``feed()`` chunks of a log, then ``diagnosis()``.

    Chunks are bytes (any encoding above) or str; memory use is bounded by the chunk size
    plus ``MAX_CARRY_BYTES`` whatever the size of the log. Chunks are searched in place
    (offsets, no copies): copying each megabyte costs as much as searching it.
    """

    def __init__(self):
        self._encoding = None
        self._head = None
        self._carry = None
        self._run = RunDiagnosis()

    def feed(self, chunk):
        if isinstance(chunk, (bytearray, memoryview)):
            chunk = bytes(chunk)
        if not isinstance(chunk, (bytes, str)):
            raise TypeError("a Panther log chunk must be bytes or str, not %s" % type(chunk).__name__)
        if not chunk:
            return
        if isinstance(chunk, str) and "\x00" in chunk:
            # UTF-16 bytes decoded as if they were UTF-8 (e.g. by b64decode) put a NUL after
            # every ASCII character; dropping the NULs gives the text back.
            chunk = chunk.replace("\x00", "")
        self._check_same_kind(chunk)
        if self._encoding is None:
            self._head = chunk if self._head is None else self._head + chunk
            if isinstance(self._head, bytes) and len(self._head) < 512:
                return
            head, self._head = self._head, None
            self._start(head)
            return
        self._consume(chunk)

    def diagnosis(self):
        """Finish the scan and return the RunDiagnosis of the last run."""
        if self._encoding is None:
            if not self._head:
                return self._run
            head, self._head = self._head, None
            self._start(head)
        if self._carry:
            carry, self._carry = self._carry, self._carry[:0]
            self._scan_region(carry, 0, len(carry))
        return self._run

    def _check_same_kind(self, chunk):
        seen = self._head if self._encoding is None else self._carry
        if seen is not None and isinstance(seen, str) != isinstance(chunk, str):
            raise TypeError("a Panther log stream must give only bytes or only str chunks, not both")

    def _start(self, head):
        self._encoding, bom = _detect_encoding(head, isinstance(head, str))
        self._carry = head[:0]
        self._consume(head[bom:])

    def _consume(self, chunk):
        """Scan the complete lines of carry + chunk and keep the unfinished last line."""
        enc = self._encoding
        width = enc.width
        carry = self._carry
        if len(carry) % width:
            # An odd-sized read split a UTF-16 code unit: realign by joining (rare).
            chunk, carry = carry + chunk, carry[:0]
        start = 0
        if carry:
            first = _find_aligned(chunk, enc.newline, 0, len(chunk), width)
            if first == -1:
                self._carry = carry + chunk
                self._limit_carry()
                return
            start = first + len(enc.newline)
            joined = carry + chunk[:start]
            self._scan_region(joined, 0, len(joined))
        last = _rfind_aligned(chunk, enc.newline, start, len(chunk), width)
        end = start if last == -1 else last + len(enc.newline)
        if end > start:
            self._scan_region(chunk, start, end)
        self._carry = chunk[end:]
        self._limit_carry()

    def _limit_carry(self):
        """A line that never ends is cut: scan what is there and start afresh."""
        if len(self._carry) > MAX_CARRY_BYTES:
            carry = self._carry
            usable = len(carry) - len(carry) % self._encoding.width
            # Keep a split code unit so the next chunk stays aligned.
            self._carry = carry[usable:]
            self._scan_region(carry, 0, usable)

    def _scan_region(self, data, start, end):
        """Scan data[start:end], which holds whole lines only."""
        width = self._encoding.width
        sample_end = min(end, start + SAMPLE_CHARS * width)
        sample = self._encoding.decode(data[start:sample_end])
        # A small region is judged whole and exactly; a large one by its head, for speed.
        needed = 1.0 if sample_end == end else STANDARD_FORMAT_RATIO
        if _looks_standard(sample, needed):
            self._scan_standard(data, start, end)
        else:
            self._scan_lenient(data[start:end])

    def _scan_standard(self, data, start, end):
        """Standard format: only lines with an Error level (and run banners) matter."""
        enc = self._encoding
        width = enc.width
        marks = []
        index = _find_aligned(data, enc.banner, start, end, width)
        while index != -1:
            marks.append((index, True))
            index = _find_aligned(data, enc.banner, index + 1, end, width)
        for match in enc.error_re.finditer(data, start, end):
            if match.start() % width == 0:
                marks.append((match.start(), False))
        if not marks:
            return
        marks.sort()
        line_end = start
        for position, _is_banner in marks:
            if position < line_end:
                continue
            line_start, line_end = self._line_bounds(data, position, line_end, end)
            # A segment may hold several lines (stray CRs): classify them in order, so a banner
            # resets the run exactly where it stands.
            for line in enc.decode(data[line_start:line_end]).splitlines():
                self._classify(line)

    def _line_bounds(self, data, position, start, end):
        enc = self._encoding
        width = enc.width
        line_start = _rfind_aligned(data, enc.newline, start, position, width)
        line_start = start if line_start == -1 else line_start + len(enc.newline)
        line_end = _find_aligned(data, enc.newline, position, end, width)
        line_end = end if line_end == -1 else line_end
        window = MAX_LINE_CHARS * width
        if line_end - line_start > 2 * window:
            line_start = max(line_start, position - window)
            line_start -= (line_start - start) % width
            line_end = min(line_end, position + window)
        return line_start, line_end

    def _scan_lenient(self, region):
        for line in self._encoding.decode(region).splitlines():
            if RUN_BANNER in line:
                self._run = RunDiagnosis()
            elif _LENIENT_TRIGGER_RE.search(line):
                self._classify(line[:2 * MAX_LINE_CHARS])

    def _classify(self, line):
        if RUN_BANNER in line:
            self._run = RunDiagnosis()
            return
        event = classify_line(line)
        if event is not None:
            self._run.record(event, line)


def _looks_standard(sample, needed_ratio):
    """True when (nearly) every line carries the standard timestamp and level."""
    lines = [line for line in sample.splitlines() if line.strip()]
    if not lines:
        return True
    standard = sum(1 for line in lines if _STANDARD_LINE_RE.match(line))
    return standard >= needed_ratio * len(lines)


def _chunks(source, chunk_size):
    read = getattr(source, "read", None)
    if callable(read):
        while True:
            chunk = read(chunk_size)
            if not chunk:
                return
            yield chunk
    elif isinstance(source, (bytes, bytearray, memoryview, str)):
        for offset in range(0, len(source), chunk_size):
            yield source[offset:offset + chunk_size]
    else:
        try:
            iterator = iter(source)
        except TypeError:
            raise TypeError("a Panther log must be a file object, bytes, str or an iterable of chunks, "
                            "not %s" % type(source).__name__) from None
        yield from iterator


def diagnose_stream(source, chunk_size=DEFAULT_CHUNK_SIZE):
    """RunDiagnosis of the last run in one log (file object, bytes, str or iterable of chunks)."""
    if chunk_size < 16:
        raise ValueError("chunk_size must be at least 16 bytes, not %r" % (chunk_size,))
    scanner = PantherScanner()
    for chunk in _chunks(source, chunk_size):
        scanner.feed(chunk)
    return scanner.diagnosis()


def parse_stream(binary_file, chunk_size=DEFAULT_CHUNK_SIZE):
    """Findings from a log read in chunks from a file object (or an iterable of chunks).

    The file is never read whole: memory is bounded whatever its size.
    """
    return diagnose_stream(binary_file, chunk_size).findings()


def parse_text(text):
    """Findings from the content of one log (str or bytes)."""
    if not isinstance(text, (str, bytes, bytearray)):
        raise TypeError("a Panther log must be str or bytes, not %s" % type(text).__name__)
    return diagnose_stream(text).findings()


def parse_logs(sources, chunk_size=DEFAULT_CHUNK_SIZE):
    """Findings from several logs of the same sysprep run (setupact.log and setuperr.log).

    Each log contributes its last run; their errors are merged before findings are made, so a
    cause found in one log explains the cascade lines of the other.
    """
    merged = RunDiagnosis()
    for source in sources:
        merged.merge(diagnose_stream(source, chunk_size))
    return merged.findings()
