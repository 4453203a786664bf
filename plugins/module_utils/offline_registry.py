# Copyright: (c) 2026, winimage.generalize contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Registry hives read offline: regipy walks the keys, values are decoded from their raw bytes.

regipy (MIT) finds keys. Values are decoded here from the raw cell data because the
decoded form regipy returns loses information this collection needs: it drops the empty
strings of REG_MULTI_SZ (PendingFileRenameOperations uses an empty target for "delete")
and turns a REG_SZ with an odd byte length into hex. Value names and key names compare
case-insensitively, as Windows compares them.

The primary hive file is read as it is: transaction logs (.LOG1/.LOG2) are not replayed,
so a hive whose header says it is dirty may miss the last changes Windows made.
"""

from __future__ import annotations

import struct

try:
    from regipy.registry import RegistryHive
    from regipy.exceptions import RegistryKeyNotFoundException
    HAS_REGIPY = True
    REGIPY_IMPORT_ERROR = None
except ImportError as _error:  # reported by the module with a clear message
    HAS_REGIPY = False
    REGIPY_IMPORT_ERROR = str(_error)
    RegistryHive = None
    RegistryKeyNotFoundException = KeyError

REG_NONE = 0
REG_SZ = 1
REG_EXPAND_SZ = 2
REG_BINARY = 3
REG_DWORD = 4
REG_DWORD_BIG_ENDIAN = 5
REG_MULTI_SZ = 7
REG_QWORD = 11

BASE_BLOCK = 4096
INLINE_DATA = 0x80000000
BIG_DATA_THRESHOLD = 16344  # larger values (hive 1.4+) are split into "db" segments


class HiveError(Exception):
    """A hive cannot be opened or read; the message names the hive and the problem."""


def _utf16_text(raw):
    """REG_SZ text: UTF-16LE up to the first NUL; an odd trailing byte is ignored."""
    if len(raw) % 2:
        raw = raw[:-1]
    text = raw.decode("utf-16-le", errors="replace")
    return text.split("\0", 1)[0]


def multi_sz_strings(raw):
    """Every string of a REG_MULTI_SZ, empty ones included, without the final terminator.

    The data is a run of NUL-terminated strings ended by one more NUL, so after
    splitting on NUL the last two items are the terminators.
    """
    if len(raw) % 2:
        raw = raw[:-1]
    text = raw.decode("utf-16-le", errors="replace")
    if text in ("", "\0"):
        return []  # an empty list is stored as a lone terminator
    items = text.split("\0")
    if text.endswith("\0\0"):
        items = items[:-2]
    elif text.endswith("\0"):
        items = items[:-1]
    return items


def decode_value(value_type, raw):
    """A Python value for registry data: str, int, list of str, or bytes."""
    if value_type in (REG_SZ, REG_EXPAND_SZ):
        return _utf16_text(raw)
    if value_type == REG_DWORD:
        return struct.unpack("<I", raw[:4].ljust(4, b"\0"))[0] if raw else None
    if value_type == REG_DWORD_BIG_ENDIAN:
        return struct.unpack(">I", raw[:4].ljust(4, b"\0"))[0] if raw else None
    if value_type == REG_QWORD:
        return struct.unpack("<Q", raw[:8].ljust(8, b"\0"))[0] if raw else None
    if value_type == REG_MULTI_SZ:
        return multi_sz_strings(raw)
    return bytes(raw)


class Hive(object):
    """One hive file. ``label`` names it in error messages (e.g. 'SYSTEM hive (Windows/...)')."""

    def __init__(self, path, label):
        self.label = label
        if not HAS_REGIPY:
            raise HiveError("%s: the Python library regipy is required to read registry hives offline "
                            "(pip install regipy): %s" % (label, REGIPY_IMPORT_ERROR))
        try:
            self._hive = RegistryHive(path)
        except Exception as error:  # regipy raises construct and its own errors for bad files
            raise HiveError("%s cannot be opened: %s" % (label, _short(error)))
        self._data = self._hive._stream.getvalue()
        header = self._hive.header
        self.sequence = (header.primary_sequence_num, header.secondary_sequence_num)
        self.version = "%d.%d" % (header.major_version, header.minor_version)
        self._keys = {}
        self.damage = self._check_structure()

    def _check_structure(self):
        """A sentence describing structural damage (base block checksum, hive bins), or None.

        Cheap (one header per 4 KiB bin) and catches hives that regipy opens but that lose
        keys part-way, such as a hive truncated or overwritten in the middle.
        """
        data = self._data
        if len(data) < BASE_BLOCK:
            return "the file is shorter than the 4096-byte base block"
        checksum = 0
        for (word,) in struct.iter_unpack("<I", data[:508]):
            checksum ^= word
        stored = struct.unpack_from("<I", data, 508)[0]
        problems = []
        if checksum != stored and not (checksum in (0, 0xFFFFFFFF) and stored in (1, 0xFFFFFFFE)):
            problems.append("base block checksum mismatch")
        bins_size = struct.unpack_from("<I", data, 40)[0]
        end = min(len(data), BASE_BLOCK + bins_size)
        if BASE_BLOCK + bins_size > len(data):
            problems.append("the file is truncated (%d bytes of hive bins declared, %d present)"
                            % (bins_size, len(data) - BASE_BLOCK))
        offset = BASE_BLOCK
        while offset < end:
            if data[offset:offset + 4] != b"hbin":
                problems.append("hive bin at offset 0x%X has no 'hbin' signature (%d bytes after it "
                                "cannot be trusted)" % (offset, end - offset))
                break
            bin_size = struct.unpack_from("<I", data, offset + 8)[0]
            if bin_size < 4096 or bin_size % 4096:
                problems.append("hive bin at offset 0x%X has an invalid size %d" % (offset, bin_size))
                break
            offset += bin_size
        return "; ".join(problems) or None

    @property
    def dirty(self):
        """True when the base block's sequence numbers differ (Windows had unflushed changes)."""
        return self.sequence[0] != self.sequence[1]

    def key(self, path):
        """The key at ``path`` ('ControlSet001\\Control', any case), or None when it is absent."""
        normalized = "\\" + path.strip("\\")
        if normalized in self._keys:
            return self._keys[normalized]
        try:
            found = self._hive.get_key(normalized) if normalized != "\\" else self._hive.root
        except RegistryKeyNotFoundException:
            found = None
        except Exception as error:
            raise HiveError("%s: key %s cannot be read: %s" % (self.label, path, _short(error)))
        self._keys[normalized] = found
        return found

    def has_key(self, path):
        return self.key(path) is not None

    def subkeys(self, path):
        """Names of the subkeys of ``path``; None when the key is absent."""
        key = self.key(path)
        if key is None:
            return None
        try:
            return [sub.name for sub in key.iter_subkeys() or ()]
        except Exception as error:
            raise HiveError("%s: subkeys of %s cannot be read: %s" % (self.label, path, _short(error)))

    def raw_values(self, path):
        """{name: (type, raw bytes)} of a key ('' is the default value); None when absent."""
        key = self.key(path)
        if key is None:
            return None
        try:
            return self._read_values(key)
        except (struct.error, IndexError, ValueError) as error:
            raise HiveError("%s: values of %s cannot be read: %s" % (self.label, path, _short(error)))

    def raw_value(self, path, name):
        values = self.raw_values(path)
        if not values:
            return None
        lowered = name.lower()
        for value_name, item in values.items():
            if value_name.lower() == lowered:
                return item
        return None

    def value(self, path, name, default=None):
        """The decoded value, or ``default`` when the key or value is absent."""
        item = self.raw_value(path, name)
        if item is None:
            return default
        return decode_value(*item)

    def values(self, path):
        raw = self.raw_values(path)
        if raw is None:
            return None
        return dict((name, decode_value(*item)) for name, item in raw.items())

    # -- raw cell access (the regf layout: cells are addressed from the end of the base block)

    def _cell(self, offset):
        start = BASE_BLOCK + offset
        if offset in (0xFFFFFFFF, 0) or start + 4 > len(self._data):
            raise ValueError("cell offset 0x%X outside the hive" % offset)
        size = abs(struct.unpack_from("<i", self._data, start)[0])
        return self._data[start + 4:start + size]

    def _read_values(self, key):
        count = key.header.values_count
        if not count:
            return {}
        listing = self._cell(key.header.values_list_offset)
        values = {}
        for index in range(count):
            vk_offset = struct.unpack_from("<I", listing, index * 4)[0]
            cell = self._cell(vk_offset)
            if cell[:2] != b"vk":
                raise ValueError("value %d has no vk signature" % index)
            name_length, data_size, data_offset, value_type, flags = struct.unpack_from("<HIIIH", cell, 2)
            name_bytes = cell[20:20 + name_length]
            if flags & 0x0001:
                name = name_bytes.decode("latin-1")
            else:
                name = name_bytes.decode("utf-16-le", errors="replace")
            values[name] = (value_type, self._value_data(data_size, data_offset))
        return values

    def _value_data(self, data_size, data_offset):
        if data_size & INLINE_DATA:
            # Up to 4 bytes live in the offset field itself.
            return struct.pack("<I", data_offset)[:data_size & 0x7FFFFFFF]
        if data_size == 0:
            return b""
        cell = self._cell(data_offset)
        if data_size > BIG_DATA_THRESHOLD and cell[:2] == b"db":
            segments, list_offset = struct.unpack_from("<HI", cell, 2)
            segment_list = self._cell(list_offset)
            parts = []
            remaining = data_size
            for index in range(segments):
                segment = self._cell(struct.unpack_from("<I", segment_list, index * 4)[0])
                piece = segment[:min(remaining, BIG_DATA_THRESHOLD)]
                parts.append(piece)
                remaining -= len(piece)
                if remaining <= 0:
                    break
            return b"".join(parts)[:data_size]
        return cell[:data_size]


def _short(error):
    text = str(error).strip().splitlines()
    text = text[0] if text else error.__class__.__name__
    if len(text) > 200:
        text = text[:200] + "..."
    return "%s (%s)" % (text, error.__class__.__name__) if text != error.__class__.__name__ else text


def sid_to_string(raw):
    """Binary SID -> 'S-1-5-21-...'; None for empty or malformed data."""
    if not raw or len(raw) < 8:
        return None
    revision, count = raw[0], raw[1]
    if len(raw) < 8 + 4 * count:
        return None
    authority = int.from_bytes(raw[2:8], "big")
    parts = struct.unpack_from("<%dI" % count, raw, 8)
    return "S-%d-%d" % (revision, authority) + "".join("-%d" % p for p in parts)


def unicode_string(raw):
    """A SECURITY Policy name value: UNICODE_STRING header (Length, MaximumLength, offset) + text.

    None for empty data (an absent name), '' for a zero-length name.
    """
    if raw is None or len(raw) == 0:
        return None
    if len(raw) < 8:
        return None
    length, _maximum, offset = struct.unpack_from("<HHI", raw, 0)
    if offset < 8 or offset + length > len(raw):
        offset = 8
    if length == 0:
        return ""
    return raw[offset:offset + length].decode("utf-16-le", errors="replace").split("\0", 1)[0]
