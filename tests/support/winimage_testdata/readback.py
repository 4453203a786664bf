# Copyright: (c) 2026, winimage.generalize contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read a hive back with independent tools, into one comparable shape.

Every dump is ``{key_path: {value_name: (type_number, raw_bytes)}}`` where
``key_path`` is a tuple of key names below the root (``()`` is the root) and
``value_name`` is ``""`` for the unnamed (default) value. regipy decodes values
instead of giving bytes, so :func:`dump_regipy` returns decoded values and
:func:`expected_regipy_value` says what regipy should decode a written value to.
"""

from __future__ import annotations

import base64
import os
import re
import shutil
import struct
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Dict, Mapping, Tuple, Union

from .regf import (REG_BINARY, REG_DWORD, REG_EXPAND_SZ, REG_MULTI_SZ, REG_NONE, REG_QWORD, REG_SZ, Key,
                   RegValue, _as_key)

Dump = Dict[Tuple[str, ...], Dict[str, Tuple[int, bytes]]]


def tool_available(name: str) -> bool:
    return shutil.which(name) is not None


def flatten(tree: Union[Mapping, Key]) -> Dump:
    """The dump a perfect reader returns for a description given to write_hive()."""
    out: Dump = {}

    def walk(key: Key, path: Tuple[str, ...]) -> None:
        out[path] = {name: (value.type, value.data) for name, value in key.values.items()}
        for name, sub in key.subkeys.items():
            walk(sub, path + (name,))

    walk(_as_key(tree, "\\"), ())
    return out


def casefold_dump(dump: Dump) -> Dump:
    """Key names compare case-insensitively in Windows; value names too."""
    return {tuple(p.upper() for p in path): {n.upper(): v for n, v in values.items()}
            for path, values in dump.items()}


# --------------------------------------------------------------------------- hivexregedit


_VALUE_LINE = re.compile(r'^(@|"(?P<name>(?:[^"\\]|\\.)*)")=(?P<data>.*)$')


def dump_hivexregedit(path: Union[str, Path]) -> Dump:
    """``hivexregedit --export`` (Perl Win::Hivex, exact bytes as hex(N))."""
    # PERL_UNICODE=SO: print names as UTF-8 (by default Perl mixes Latin-1 and UTF-8).
    result = subprocess.run(["hivexregedit", "--export", str(path), "\\"], check=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=dict(os.environ, PERL_UNICODE="SO"))
    text = result.stdout.decode("utf-8")
    text = re.sub(r"\\\r?\n\s*", "", text)  # regedit line continuations
    out: Dump = {}
    current = None
    for line in text.splitlines():
        if line.startswith("[") and line.endswith("]"):
            inner = line[1:-1].lstrip("\\")
            current = tuple(inner.split("\\")) if inner else ()
            out[current] = {}
            continue
        match = _VALUE_LINE.match(line)
        if not match or current is None:
            continue
        name = "" if match.group(1) == "@" else re.sub(r"\\(.)", r"\1", match.group("name"))
        out[current][name] = _parse_reg_data(match.group("data"))
    return out


def _parse_reg_data(data: str) -> Tuple[int, bytes]:
    if data.startswith("dword:"):
        return REG_DWORD, struct.pack("<I", int(data[6:], 16))
    if data.startswith('"'):
        text = re.sub(r"\\(.)", r"\1", data[1:-1])
        return REG_SZ, (text + "\x00").encode("utf-16-le")
    match = re.match(r"hex(?:\(([0-9a-fA-F]+)\))?:(.*)$", data)
    if not match:
        raise ValueError("cannot parse hivexregedit data %r" % data)
    value_type = int(match.group(1), 16) if match.group(1) else REG_BINARY
    hex_text = match.group(2).replace(",", "").strip()
    return value_type, bytes.fromhex(hex_text)


# --------------------------------------------------------------------------- hivexml


_HIVEXML_TYPES = {
    "none": REG_NONE, "string": REG_SZ, "expand": REG_EXPAND_SZ, "binary": REG_BINARY,
    "int32": REG_DWORD, "int64": REG_QWORD, "string-list": REG_MULTI_SZ,
}


def dump_hivexml(path: Union[str, Path]) -> Dump:
    """``hivexml`` (libhivex, in libhivex-bin). Strings come back decoded, so
    string types are re-encoded; other types carry exact bytes (base64)."""
    result = subprocess.run(["hivexml", str(path)], check=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    root = ET.fromstring(result.stdout)
    out: Dump = {}

    def walk(node, path: Tuple[str, ...]) -> None:
        values = {}
        for value in node.findall("value"):
            name = "" if value.get("default") == "1" else value.get("key", "")
            values[name] = _hivexml_value(value)
        out[path] = values
        for child in node.findall("node"):
            walk(child, path + (child.get("name"),))

    top = root.find("node")
    walk(top, ())
    return out


def _hivexml_value(value) -> Tuple[int, bytes]:
    kind = value.get("type")
    if kind in ("string", "expand"):
        return _HIVEXML_TYPES[kind], (value.get("value", "") + "\x00").encode("utf-16-le")
    if kind == "int32":
        return REG_DWORD, struct.pack("<i", int(value.get("value")))
    if kind == "int64":
        return REG_QWORD, struct.pack("<q", int(value.get("value")))
    if kind == "string-list":
        # hivexml splits the raw data on NULs: joining each item + NUL gives the bytes back.
        return REG_MULTI_SZ, b"".join((s.text or "").encode("utf-16-le") + b"\x00\x00"
                                      for s in value.findall("string"))
    # hivexml prints type="unknown" without the number for non-standard types.
    data = base64.b64decode(value.get("value", "")) if value.get("encoding") == "base64" else b""
    return _HIVEXML_TYPES.get(kind), data


# --------------------------------------------------------------------------- hivexsh


def hivexsh(path: Union[str, Path], commands: str) -> str:
    """Run hivexsh commands (one per line) on a hive and return its output."""
    result = subprocess.run(["hivexsh", str(path)], input=commands.encode("utf-8"), check=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    return result.stdout.decode("utf-8")


# --------------------------------------------------------------------------- regipy


def dump_regipy(path: Union[str, Path]) -> Dict[Tuple[str, ...], Dict[str, Tuple[str, object]]]:
    """regipy's view: ``{path: {name: (type_name, decoded_value)}}``."""
    from regipy.registry import RegistryHive

    hive = RegistryHive(str(path))
    out = {}

    def walk(node, path: Tuple[str, ...]) -> None:
        values = {}
        for value in node.iter_values(trim_values=False) or ():
            name = "" if value.name == "(default)" else value.name
            values[name] = (value.value_type, value.value)
        out[path] = values
        for sub in node.iter_subkeys() or ():
            walk(sub, path + (sub.name,))

    walk(hive.root, ())
    return out


def expected_regipy_value(value: RegValue):
    """(type name, decoded value) regipy 6.x returns for a value we wrote.

    Known regipy behaviour we encode here: REG_MULTI_SZ drops empty strings;
    strings lose trailing NULs; binary/none come back as bytes.
    """
    if value.type in (REG_SZ, REG_EXPAND_SZ):
        return ("REG_SZ" if value.type == REG_SZ else "REG_EXPAND_SZ"), value.data.decode("utf-16-le").rstrip("\x00")
    if value.type == REG_DWORD:
        return "REG_DWORD", struct.unpack("<I", value.data)[0]
    if value.type == REG_QWORD:
        return "REG_QWORD", struct.unpack("<Q", value.data)[0]
    if value.type == REG_MULTI_SZ:
        return "REG_MULTI_SZ", [s for s in value.value if s]
    if value.type == REG_BINARY:
        return "REG_BINARY", value.data
    if value.type == REG_NONE:
        return "REG_NONE", value.data
    raise ValueError("no regipy expectation for type %d" % value.type)
