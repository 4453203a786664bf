# Copyright: (c) 2026, winimage.generalize contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Write Windows registry hive files (regf) from a nested description.

Written from the public format description ("Windows registry file format
specification", M. Suhanov; libregf documentation). It writes what Windows
writes for a freshly saved hive, so hivex, regipy and our own reader can open it:

* a 4096-byte base block (signature, equal sequence numbers = clean, version
  1.5 or 1.3, root cell offset, hive-bins size, XOR checksum);
* 4096-aligned ``hbin`` blocks, allocated cells with a negative size;
* ``nk`` keys (root flag, ASCII "compressed" names when possible), one shared
  ``sk`` security cell with a minimal self-relative descriptor, ``lh``/``lf``
  subkey leaves sorted like Windows sorts them (``ri`` index when large),
  ``vk`` values with inline data (<= 4 bytes), a data cell, or ``db`` big data
  (> 16344 bytes, version 1.4+).

Description format (values and subkeys never ambiguous):

    {
        "Select": {"Current": dword(2), "Default": dword(2)},   # a subkey with values
        "Empty": {},                                             # a subkey without values
        "": sz("default value"),                                 # the key's unnamed value
    }

A ``Mapping`` (or :class:`Key`) is a subkey, a :class:`RegValue` (made with
``sz()``, ``dword()``...) is a value. Use ``Key(values=..., subkeys=...)`` when a
value and a subkey share a name.
"""

from __future__ import annotations

import datetime as _dt
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, List, Mapping, Optional, Sequence, Union

__all__ = [
    "REG_NONE", "REG_SZ", "REG_EXPAND_SZ", "REG_BINARY", "REG_DWORD", "REG_DWORD_BIG_ENDIAN",
    "REG_LINK", "REG_MULTI_SZ", "REG_QWORD", "TYPE_NAMES",
    "RegValue", "Key", "HiveError",
    "sz", "expand_sz", "multi_sz", "dword", "qword", "binary", "none", "raw",
    "build_hive", "write_hive", "corrupt_hive_bytes", "filetime",
]

REG_NONE = 0
REG_SZ = 1
REG_EXPAND_SZ = 2
REG_BINARY = 3
REG_DWORD = 4
REG_DWORD_BIG_ENDIAN = 5
REG_LINK = 6
REG_MULTI_SZ = 7
REG_QWORD = 11

TYPE_NAMES = {
    REG_NONE: "REG_NONE", REG_SZ: "REG_SZ", REG_EXPAND_SZ: "REG_EXPAND_SZ", REG_BINARY: "REG_BINARY",
    REG_DWORD: "REG_DWORD", REG_DWORD_BIG_ENDIAN: "REG_DWORD_BIG_ENDIAN", REG_LINK: "REG_LINK",
    REG_MULTI_SZ: "REG_MULTI_SZ", REG_QWORD: "REG_QWORD",
}

# Format constants (names follow the public specification).
BASE_BLOCK_SIZE = 4096
HBIN_HEADER_SIZE = 32
HBIN_ALIGN = 4096
CELL_ALIGN = 8
BIG_DATA_SEGMENT = 16344  # CM_KEY_VALUE_BIG: larger values use a "db" record (hive 1.4+)
NO_OFFSET = 0xFFFFFFFF
KEY_HIVE_ENTRY = 0x0004
KEY_NO_DELETE = 0x0008
KEY_COMP_NAME = 0x0020
VALUE_COMP_NAME = 0x0001
MAX_KEY_NAME = 255
MAX_VALUE_NAME = 16383

# A fixed moment keeps built hives byte-identical between runs (artifact caching).
DEFAULT_TIMESTAMP = _dt.datetime(2024, 1, 15, 12, 0, 0, tzinfo=_dt.timezone.utc)


class HiveError(ValueError):
    """The description cannot be written as a valid hive; the message says why."""


def filetime(moment: _dt.datetime) -> int:
    """Windows FILETIME (100 ns ticks since 1601-01-01 UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=_dt.timezone.utc)
    epoch = _dt.datetime(1601, 1, 1, tzinfo=_dt.timezone.utc)
    delta = moment - epoch
    return (delta.days * 86400 + delta.seconds) * 10_000_000 + delta.microseconds * 10


# --------------------------------------------------------------------------- values


@dataclass(frozen=True)
class RegValue:
    """One registry value: its type number, the raw bytes Windows stores, and the
    Python value it stands for (what a reader is expected to decode)."""

    type: int
    data: bytes
    value: object = None

    @property
    def type_name(self) -> str:
        return TYPE_NAMES.get(self.type, "REG_%d" % self.type)


def _utf16z(text: str) -> bytes:
    return text.encode("utf-16-le") + b"\x00\x00"


def sz(text: str) -> RegValue:
    """REG_SZ, NUL-terminated UTF-16LE as Windows stores it."""
    return RegValue(REG_SZ, _utf16z(_require_str(text)), text)


def expand_sz(text: str) -> RegValue:
    """REG_EXPAND_SZ (``%SystemRoot%``-style strings), NUL-terminated UTF-16LE."""
    return RegValue(REG_EXPAND_SZ, _utf16z(_require_str(text)), text)


def multi_sz(strings: Sequence[str]) -> RegValue:
    """REG_MULTI_SZ. Empty strings are KEPT (PendingFileRenameOperations uses an
    empty target to mean "delete"): each string + NUL, then a final NUL."""
    if isinstance(strings, str):
        raise HiveError("multi_sz() takes a list of strings, not one string")
    items = [_require_str(s) for s in strings]
    return RegValue(REG_MULTI_SZ, b"".join(_utf16z(s) for s in items) + b"\x00\x00", list(items))


def dword(number: int) -> RegValue:
    """REG_DWORD (unsigned 32-bit little endian)."""
    return RegValue(REG_DWORD, struct.pack("<I", _require_range(number, 32)), number)


def qword(number: int) -> RegValue:
    """REG_QWORD (unsigned 64-bit little endian)."""
    return RegValue(REG_QWORD, struct.pack("<Q", _require_range(number, 64)), number)


def binary(data: bytes) -> RegValue:
    """REG_BINARY."""
    return RegValue(REG_BINARY, bytes(data), bytes(data))


def none(data: bytes = b"") -> RegValue:
    """REG_NONE (Windows uses it for "key present" markers and opaque blobs)."""
    return RegValue(REG_NONE, bytes(data), bytes(data))


def raw(value_type: int, data: bytes, value: object = None) -> RegValue:
    """Any type number with exact bytes, e.g. the odd-length REG_SZ real hives contain."""
    if not 0 <= value_type <= 0xFFFFFFFF:
        raise HiveError("value type %r is not a 32-bit unsigned number" % (value_type,))
    return RegValue(value_type, bytes(data), value)


def _require_str(text: object) -> str:
    if not isinstance(text, str):
        raise HiveError("expected a str for a string value, got %s" % type(text).__name__)
    return text


def _require_range(number: object, bits: int) -> int:
    if isinstance(number, bool) or not isinstance(number, int) or not 0 <= number < (1 << bits):
        raise HiveError("%r does not fit an unsigned %d-bit registry value" % (number, bits))
    return number


# --------------------------------------------------------------------------- keys


Tree = Mapping[str, Union["Key", RegValue, Mapping]]


@dataclass
class Key:
    """A key with explicit values and subkeys (use when names collide, or to set a class name)."""

    values: Dict[str, RegValue] = field(default_factory=dict)
    subkeys: Dict[str, Union["Key", Mapping]] = field(default_factory=dict)
    class_name: Optional[str] = None
    timestamp: Optional[_dt.datetime] = None


def _as_key(description: Union[Key, Mapping], path: str) -> Key:
    if isinstance(description, Key):
        values = dict(description.values)
        subkeys = {name: _as_key(sub, path + "\\" + name) for name, sub in description.subkeys.items()}
        key = Key(values, subkeys, description.class_name, description.timestamp)
    elif isinstance(description, Mapping):
        key = Key()
        for name, item in description.items():
            if isinstance(item, RegValue):
                key.values[name] = item
            elif isinstance(item, (Mapping, Key)):
                key.subkeys[name] = _as_key(item, path + "\\" + name)
            else:
                raise HiveError(
                    "%s\\%s: %s is neither a value (use sz(), dword(), ...) nor a subkey (a dict)"
                    % (path, name, type(item).__name__))
    else:
        raise HiveError("%s: a key must be a dict or Key, got %s" % (path, type(description).__name__))
    _check_names(key, path)
    return key


def _check_names(key: Key, path: str) -> None:
    for name, value in key.values.items():
        if not isinstance(value, RegValue):
            raise HiveError("%s: value %r must be a RegValue (use sz(), dword(), ...)" % (path, name))
        if len(name) > MAX_VALUE_NAME:
            raise HiveError("%s: value name longer than %d characters" % (path, MAX_VALUE_NAME))
    _check_unique(key.values, path, "value")
    for name in key.subkeys:
        if not name or "\\" in name or len(name) > MAX_KEY_NAME:
            raise HiveError("%s: invalid subkey name %r (1-%d characters, no backslash)"
                            % (path, name, MAX_KEY_NAME))
    _check_unique(key.subkeys, path, "subkey")


def _check_unique(names: Mapping, path: str, what: str) -> None:
    seen = {}
    for name in names:
        folded = _upcase(name)
        if folded in seen:
            raise HiveError("%s: %s names %r and %r differ only by case; Windows treats them as one"
                            % (path, what, seen[folded], name))
        seen[folded] = name


def _upcase(name: str) -> str:
    # Windows upcases one UTF-16 unit at a time; keep characters whose upper form is longer.
    return "".join(c.upper() if len(c.upper()) == 1 else c for c in name)


def _sort_key(name: str) -> bytes:
    # Windows orders subkeys by the upcased UTF-16 code units (binary search relies on it).
    return _upcase(name).encode("utf-16-be")


def _lh_hash(name: str) -> int:
    value = 0
    for char in _upcase(name):
        value = (value * 37 + ord(char)) & 0xFFFFFFFF
    return value


def _encode_name(name: str):
    """(bytes, compressed?) - ASCII names are stored one byte per character."""
    try:
        return name.encode("ascii"), True
    except UnicodeEncodeError:
        return name.encode("utf-16-le"), False


# --------------------------------------------------------------------------- cells and layout


class _Cell:
    __slots__ = ("payload_size", "render", "offset")

    def __init__(self, payload_size: int, render: Callable[[], bytes]):
        self.payload_size = payload_size
        self.render = render
        self.offset = -1

    @property
    def total(self) -> int:
        return _align(4 + self.payload_size, CELL_ALIGN)


def _align(number: int, unit: int) -> int:
    return (number + unit - 1) // unit * unit


def _place(cells: List[_Cell]):
    """Give each cell an offset (relative to the first hbin); cells never cross a bin."""
    bins = []  # (start, size)
    start, size, used = 0, HBIN_ALIGN, HBIN_HEADER_SIZE
    for cell in cells:
        need = cell.total
        if used + need > size:
            if used == HBIN_HEADER_SIZE:
                size = _align(HBIN_HEADER_SIZE + need, HBIN_ALIGN)
            else:
                bins.append((start, size, used))
                start += size
                size, used = _align(HBIN_HEADER_SIZE + need, HBIN_ALIGN), HBIN_HEADER_SIZE
        cell.offset = start + used
        used += need
    bins.append((start, size, used))
    return bins


def _render_bins(cells: List[_Cell], bins, stamp: int) -> bytes:
    total = bins[-1][0] + bins[-1][1]
    out = bytearray(total)
    for index, (start, size, used) in enumerate(bins):
        header = struct.pack("<4sII8sQI", b"hbin", start, size, b"\x00" * 8, stamp if index == 0 else 0, 0)
        out[start:start + HBIN_HEADER_SIZE] = header
        if used < size:  # the rest of the bin is one free cell (positive size)
            struct.pack_into("<i", out, start + used, size - used)
    for cell in cells:
        payload = cell.render()
        if len(payload) != cell.payload_size:
            raise AssertionError("cell size mismatch (%d != %d)" % (len(payload), cell.payload_size))
        struct.pack_into("<i", out, cell.offset, -cell.total)
        out[cell.offset + 4:cell.offset + 4 + len(payload)] = payload
    return bytes(out)


# --------------------------------------------------------------------------- security descriptor


def sid_bytes(sid: str) -> bytes:
    """Binary SID from "S-1-5-21-..." text."""
    parts = sid.upper().split("-")
    if len(parts) < 3 or parts[0] != "S" or not all(p.isdigit() for p in parts[1:]):
        raise HiveError("%r is not a SID like S-1-5-18" % (sid,))
    revision, authority, subs = int(parts[1]), int(parts[2]), [int(p) for p in parts[3:]]
    if len(subs) > 15:
        raise HiveError("%r has more than 15 sub-authorities" % (sid,))
    return (struct.pack("<BB", revision, len(subs)) + authority.to_bytes(6, "big")
            + b"".join(struct.pack("<I", s) for s in subs))


def _default_security_descriptor() -> bytes:
    """Self-relative SD: owner Administrators, group SYSTEM, DACL: SYSTEM and
    Administrators full control, Users read - inherited by subkeys."""
    aces = b""
    for sid, mask in (("S-1-5-18", 0x000F003F), ("S-1-5-32-544", 0x000F003F), ("S-1-5-32-545", 0x00020019)):
        body = struct.pack("<I", mask) + sid_bytes(sid)
        aces += struct.pack("<BBH", 0x00, 0x02, 4 + len(body)) + body  # ACCESS_ALLOWED, CONTAINER_INHERIT
    acl = struct.pack("<BBHHH", 2, 0, 8 + len(aces), 3, 0) + aces
    owner, group = sid_bytes("S-1-5-32-544"), sid_bytes("S-1-5-18")
    dacl_at = 20
    owner_at = dacl_at + len(acl)
    group_at = owner_at + len(owner)
    control = 0x8000 | 0x0004  # SE_SELF_RELATIVE | SE_DACL_PRESENT
    return struct.pack("<BBHIIII", 1, 0, control, owner_at, group_at, 0, dacl_at) + acl + owner + group


# --------------------------------------------------------------------------- hive builder


class _Builder:
    def __init__(self, minor: int, leaf_kind: str, max_leaf: int, stamp: int):
        self.cells: List[_Cell] = []
        self.minor = minor
        self.leaf_kind = leaf_kind
        self.max_leaf = max_leaf
        self.stamp = stamp
        self.key_count = 0
        descriptor = _default_security_descriptor()
        self.sk_descriptor = descriptor

    def add(self, payload_size: int, render: Callable[[], bytes]) -> _Cell:
        cell = _Cell(payload_size, render)
        self.cells.append(cell)
        return cell

    # -- keys
    def add_key(self, key: Key, name: str, parent: Optional[_Cell], is_root: bool) -> _Cell:
        self.key_count += 1
        name_bytes, compressed = _encode_name(name)
        flags = (KEY_COMP_NAME if compressed else 0) | ((KEY_HIVE_ENTRY | KEY_NO_DELETE) if is_root else 0)
        stamp = filetime(key.timestamp) if key.timestamp else self.stamp
        refs: Dict[str, Optional[_Cell]] = {}
        nk = self.add(76 + len(name_bytes), lambda: self._render_nk(
            flags, stamp, parent, key, refs, name_bytes))
        if is_root:
            self.sk = self.add(20 + len(self.sk_descriptor), self._render_sk)
        refs["class"] = self._add_class(key.class_name)
        refs["values"] = self._add_values(key.values)
        ordered = sorted(key.subkeys.items(), key=lambda item: _sort_key(item[0]))
        children: List[_Cell] = []
        refs["subkeys"] = self._add_subkey_list(ordered, children) if ordered else None
        for child_name, child in ordered:
            children.append(self.add_key(child, child_name, nk, False))
        return nk

    def _render_nk(self, flags, stamp, parent, key, refs, name_bytes) -> bytes:
        values = key.values
        class_bytes = len(key.class_name.encode("utf-16-le")) if key.class_name else 0
        max_subkey_name = max((len(n) * 2 for n in key.subkeys), default=0)
        max_subkey_class = max((len(k.class_name) * 2 for k in key.subkeys.values() if k.class_name), default=0)
        max_value_name = max((len(n) * 2 for n in values), default=0)
        max_value_data = max((len(v.data) for v in values.values()), default=0)
        return struct.pack(
            "<2sHQIIIIIIIIIIIIIIIHH", b"nk", flags, stamp, 0,
            parent.offset if parent else NO_OFFSET,
            len(key.subkeys), 0,
            refs["subkeys"].offset if refs["subkeys"] else NO_OFFSET, NO_OFFSET,
            len(values), refs["values"].offset if refs["values"] else NO_OFFSET,
            self.sk.offset, refs["class"].offset if refs["class"] else NO_OFFSET,
            max_subkey_name, max_subkey_class, max_value_name, max_value_data, 0,
            len(name_bytes), class_bytes) + name_bytes

    def _render_sk(self) -> bytes:
        # One descriptor shared by every key: the list of sk cells links to itself.
        return struct.pack("<2sHIIII", b"sk", 0, self.sk.offset, self.sk.offset,
                           self.key_count, len(self.sk_descriptor)) + self.sk_descriptor

    def _add_class(self, class_name: Optional[str]) -> Optional[_Cell]:
        if not class_name:
            return None
        data = class_name.encode("utf-16-le")
        return self.add(len(data), lambda: data)

    # -- values
    def _add_values(self, values: Mapping[str, RegValue]) -> Optional[_Cell]:
        if not values:
            return None
        vks: List[_Cell] = []
        value_list = self.add(4 * len(values), lambda: b"".join(struct.pack("<I", c.offset) for c in vks))
        for name, value in values.items():
            vks.append(self._add_value(name, value))
        return value_list

    def _add_value(self, name: str, value: RegValue) -> _Cell:
        name_bytes, compressed = _encode_name(name)
        flags = VALUE_COMP_NAME if compressed else 0
        data = value.data
        data_ref: List[Optional[_Cell]] = [None]

        def render() -> bytes:
            if len(data) <= 4:  # stored in the offset field itself
                size, offset = len(data) | 0x80000000, struct.unpack("<I", data.ljust(4, b"\x00"))[0]
            else:
                size, offset = len(data), data_ref[0].offset
            return struct.pack("<2sHIIIHH", b"vk", len(name_bytes), size, offset, value.type, flags, 0) + name_bytes

        vk = self.add(20 + len(name_bytes), render)
        if len(data) > 4:
            data_ref[0] = self._add_data(data)
        return vk

    def _add_data(self, data: bytes) -> _Cell:
        if len(data) <= BIG_DATA_SEGMENT or self.minor < 4:
            return self.add(len(data), lambda: data)
        segments = [data[i:i + BIG_DATA_SEGMENT] for i in range(0, len(data), BIG_DATA_SEGMENT)]
        if len(segments) > 0xFFFF:
            raise HiveError("value of %d bytes needs more than 65535 big-data segments" % len(data))
        seg_cells: List[_Cell] = []
        seg_list: List[_Cell] = []
        db = self.add(12, lambda: struct.pack("<2sHII", b"db", len(segments), seg_list[0].offset, 0))
        seg_list.append(self.add(4 * len(segments),
                                 lambda: b"".join(struct.pack("<I", c.offset) for c in seg_cells)))
        for chunk in segments:
            # 4 spare bytes per segment: hivex reads (cell size - 8) bytes from each
            # segment, so a tight last segment would lose up to 4 bytes there.
            padded = chunk + b"\x00" * 4
            seg_cells.append(self.add(len(padded), (lambda c=padded: c)))
        return db

    # -- subkey lists
    def _add_subkey_list(self, ordered, children: List[_Cell]) -> _Cell:
        names = [name for name, dummy in ordered]
        groups = [list(range(i, min(i + self.max_leaf, len(names)))) for i in range(0, len(names), self.max_leaf)]
        leaves = [self._add_leaf(names, group, children) for group in groups]
        if len(leaves) == 1:
            return leaves[0]
        # "ri" index root: the leaves it points to are written before it here, which is fine.
        return self.add(4 + 4 * len(leaves), lambda: struct.pack("<2sH", b"ri", len(leaves))
                        + b"".join(struct.pack("<I", leaf.offset) for leaf in leaves))

    def _add_leaf(self, names, group, children: List[_Cell]) -> _Cell:
        kind = self.leaf_kind

        def render() -> bytes:
            out = struct.pack("<2sH", kind.encode(), len(group))
            for index in group:
                offset = children[index].offset
                if kind == "lh":
                    out += struct.pack("<II", offset, _lh_hash(names[index]))
                elif kind == "lf":
                    hint = names[index][:4].encode("latin-1", errors="replace").ljust(4, b"\x00")
                    out += struct.pack("<I", offset) + hint
                else:  # li
                    out += struct.pack("<I", offset)
            return out

        entry = 4 if kind == "li" else 8
        return self.add(4 + entry * len(group), render)


def build_hive(tree: Union[Tree, Key], *, root_name: str = "ROOT", file_name: str = "",
               minor_version: int = 5, dirty: bool = False, sequence: int = 1,
               timestamp: _dt.datetime = DEFAULT_TIMESTAMP, subkey_list: Optional[str] = None,
               max_leaf_entries: int = 500) -> bytes:
    """Return the bytes of a hive holding ``tree`` under a root key ``root_name``.

    ``dirty=True`` writes primary sequence != secondary (what Windows leaves when a
    write was interrupted and the .LOG files hold newer data). ``subkey_list``
    is "lh" (Windows XP+, default for 1.5), "lf" (default for 1.3) or "li".
    ``max_leaf_entries`` bounds one leaf; more subkeys get an "ri" index root.
    """
    if minor_version not in (3, 4, 5, 6):
        raise HiveError("minor_version must be 3, 4, 5 or 6, got %r" % (minor_version,))
    kind = subkey_list or ("lh" if minor_version >= 5 else "lf")
    if kind not in ("lh", "lf", "li"):
        raise HiveError("subkey_list must be 'lh', 'lf' or 'li', got %r" % (kind,))
    if not 1 <= max_leaf_entries <= 0xFFFF:
        raise HiveError("max_leaf_entries must be 1..65535")
    if sequence < 2 and dirty:
        sequence = 2
    stamp = filetime(timestamp)
    root = _as_key(tree, "\\")
    builder = _Builder(minor_version, kind, max_leaf_entries, stamp)
    root_cell = builder.add_key(root, root_name, None, True)
    bins = _place(builder.cells)
    hbins = _render_bins(builder.cells, bins, stamp)
    base = _base_block(sequence, sequence - 1 if dirty else sequence, stamp, minor_version,
                       root_cell.offset, len(hbins), file_name)
    return base + hbins


def _base_block(seq1: int, seq2: int, stamp: int, minor: int, root_offset: int, hbins_size: int,
                file_name: str) -> bytes:
    block = bytearray(BASE_BLOCK_SIZE)
    struct.pack_into("<4sIIQIIIIIII", block, 0, b"regf", seq1, seq2, stamp, 1, minor, 0, 1,
                     root_offset, hbins_size, 1)
    # The header keeps the last 31 UTF-16 characters of the hive path (+ NUL).
    name = file_name[-31:].encode("utf-16-le")
    block[48:48 + len(name)] = name
    checksum = 0
    for (word,) in struct.iter_unpack("<I", bytes(block[:508])):
        checksum ^= word
    checksum = {0: 1, 0xFFFFFFFF: 0xFFFFFFFE}.get(checksum, checksum)
    struct.pack_into("<I", block, 508, checksum)
    return bytes(block)


def write_hive(path: Union[str, Path], tree: Union[Tree, Key], **options) -> Path:
    """Write a hive file (parent folders are created). See :func:`build_hive` for options."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(build_hive(tree, **options))
    return target


def corrupt_hive_bytes(data: bytes, how: str = "hbin") -> bytes:
    """Damage a valid hive for negative tests.

    * ``hbin``: the first hive bin loses its signature and the root key its "nk"
      (hivex and regipy refuse it; the base block still says "regf");
    * ``truncated``: the file stops in the middle of the first bin;
    * ``checksum``: only the base block checksum is wrong.
    """
    damaged = bytearray(data)
    if how == "hbin":
        damaged[BASE_BLOCK_SIZE:BASE_BLOCK_SIZE + 4] = b"XXXX"
        damaged[BASE_BLOCK_SIZE + HBIN_HEADER_SIZE + 4:BASE_BLOCK_SIZE + HBIN_HEADER_SIZE + 6] = b"zz"
        return bytes(damaged)
    if how == "truncated":
        return bytes(damaged[:BASE_BLOCK_SIZE + 100])
    if how == "checksum":
        damaged[508] ^= 0xFF
        return bytes(damaged)
    raise HiveError("unknown corruption %r (use 'hbin', 'truncated' or 'checksum')" % (how,))
