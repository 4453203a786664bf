# Copyright: (c) 2026, winimage.generalize contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The hive writer produces hives that hivex (C and Perl) and regipy read back exactly."""

import struct
import subprocess
from pathlib import Path

import pytest

from winimage_testdata import readback
from winimage_testdata.fixtures import skip_without_tools
from winimage_testdata.regf import (HiveError, Key, binary, build_hive, corrupt_hive_bytes, dword, expand_sz,
                                    multi_sz, none, qword, raw, sz, write_hive, REG_BINARY, REG_DWORD,
                                    REG_EXPAND_SZ, REG_MULTI_SZ, REG_NONE, REG_QWORD, REG_SZ)

STANDARD_TYPES = {REG_NONE, REG_SZ, REG_EXPAND_SZ, REG_BINARY, REG_DWORD, REG_QWORD, REG_MULTI_SZ}


def rich_tree():
    """Every value type, unicode names and data, empty strings kept in REG_MULTI_SZ,
    values on both sides of the 4-byte inline and 16344-byte big-data limits, a key
    with enough subkeys to need several leaves, and a value sharing a subkey's name."""
    return {
        "Select": {"Current": dword(2), "Default": dword(2), "LastKnownGood": dword(1)},
        "Types": {
            "sz": sz("hello"), "empty_sz": sz(""), "inline_sz": sz("a"),
            "expand": expand_sz("%SystemRoot%\\System32"),
            "bin3": binary(b"\x01\x02\x03"), "bin5": binary(b"12345"), "bin_empty": binary(b""),
            "dword": dword(0xDEADBEEF), "dword0": dword(0), "qword": qword(2 ** 40 + 5),
            "multi": multi_sz(["\\??\\C:\\a.tmp", "", "\\??\\C:\\b.new", "!\\??\\C:\\b", ""]),
            "multi_empty": multi_sz([]),
            "none_empty": none(), "none_data": none(b"xyz12345"),
            "odd_sz": raw(REG_SZ, "Default-First-Site-Name\x00".encode("utf-16-le") + b"\x7f"),
            "rid_typed": raw(0x1F4, b""),
            "quote\"back\\slash": sz("x"),
            "": sz("the default value"),
        },
        "Big": {
            "bin_16344": binary(bytes(range(256)) * 63 + bytes(216)),
            "bin_16345": binary(b"\x07" * 16345),
            "bin_50000": binary(bytes(i % 251 for i in range(50000))),
            "sz_20000": sz("é" * 10000),
            "multi_big": multi_sz(["\\??\\C:\\Windows\\Temp\\file%04d.tmp" % i for i in range(600)]),
        },
        "Ünïcode ключ 名前": {"値": sz("データ ✓ ключ"), "ß": expand_sz("%ÜSER%")},
        "Empty": {},
        "Collide": Key(values={"Same": dword(1)}, subkeys={"Same": {"Inner": sz("i")}}, class_name="CLASS"),
        "Many": {"key%04d" % i: {"n": dword(i)} for i in range(1100)},
    }


@pytest.fixture(scope="module", params=[(5, "lh"), (5, "lf"), (3, "lf"), (5, "li")],
                ids=["v1.5-lh", "v1.5-lf", "v1.3-lf", "v1.5-li"])
def written(request, tmp_path_factory):
    minor, leaf = request.param
    path = tmp_path_factory.mktemp("hive") / "SYSTEM"
    tree = rich_tree()
    write_hive(path, tree, root_name="ROOT", file_name="SYSTEM", minor_version=minor, subkey_list=leaf,
               max_leaf_entries=400)
    return path, tree


@skip_without_tools("hivexregedit")
def test_hivexregedit_reads_back_every_byte(written):
    path, tree = written
    assert readback.dump_hivexregedit(path) == readback.flatten(tree)


@skip_without_tools("hivexml")
def test_hivexml_reads_back_every_value(written):
    path, tree = written
    expected = {key: {name: _as_hivexml_sees_it(kind, data) for name, (kind, data) in values.items()}
                for key, values in readback.flatten(tree).items()}
    assert readback.dump_hivexml(path) == expected


def _as_hivexml_sees_it(kind, data):
    # hivexml decodes strings up to the first NUL and names no non-standard type.
    if kind in (REG_SZ, REG_EXPAND_SZ):
        text = data[:len(data) // 2 * 2].decode("utf-16-le").split("\x00")[0]
        return kind, (text + "\x00").encode("utf-16-le")
    return (kind if kind in STANDARD_TYPES else None), data


def test_regipy_reads_back_every_value(written):
    path, tree = written
    dump = readback.dump_regipy(path)
    flat = readback.flatten(tree)
    assert set(dump) == set(flat)
    for key, values in readback.flatten(tree).items():
        for name, (kind, data) in values.items():
            if kind not in STANDARD_TYPES or name == "odd_sz":
                continue  # regipy has no decoding for these (see readback.expected_regipy_value)
            value = _value_object(tree, key, name)
            assert dump[key][name] == readback.expected_regipy_value(value), (key, name)


@skip_without_tools("hivexsh")
def test_hivexsh_lists_subkeys_in_windows_order(written):
    path, _tree = written
    listed = readback.hivexsh(path, "ls\n").splitlines()
    assert listed == sorted(listed, key=lambda n: n.upper().encode("utf-16-be"))
    assert listed == ["Big", "Collide", "Empty", "Many", "Select", "Types", "Ünïcode ключ 名前"]
    many = readback.hivexsh(path, "cd Many\nls\n").splitlines()
    assert len(many) == 1100 and many[0] == "key0000" and many[-1] == "key1099"
    value = readback.hivexsh(path, "cd \\Select\nlsval Current\n").strip()
    assert value == "2"


def test_base_block_is_clean_with_a_valid_checksum(written):
    path, _tree = written
    header = path.read_bytes()[:4096]
    assert header[:4] == b"regf"
    seq1, seq2 = struct.unpack_from("<II", header, 4)
    assert seq1 == seq2
    checksum = 0
    for (word,) in struct.iter_unpack("<I", header[:508]):
        checksum ^= word
    assert struct.unpack_from("<I", header, 508)[0] == checksum
    hbins_size = struct.unpack_from("<I", header, 40)[0]
    assert hbins_size % 4096 == 0 and path.stat().st_size == 4096 + hbins_size


def test_hive_bins_are_aligned_and_cells_fill_them(written):
    path, _tree = written
    data = path.read_bytes()
    offset = 4096
    while offset < len(data):
        assert data[offset:offset + 4] == b"hbin", hex(offset)
        size = struct.unpack_from("<I", data, offset + 8)[0]
        assert size % 4096 == 0
        cell = offset + 32
        while cell < offset + size:
            cell_size = struct.unpack_from("<i", data, cell)[0]
            assert cell_size != 0 and abs(cell_size) % 8 == 0
            cell += abs(cell_size)
        assert cell == offset + size
        offset += size


@skip_without_tools("hivexsh")
def test_dirty_hive_has_different_sequence_numbers_and_still_opens(tmp_path):
    path = write_hive(tmp_path / "SOFTWARE", {"A": {"v": dword(1)}}, dirty=True, sequence=10)
    seq1, seq2 = struct.unpack_from("<II", path.read_bytes(), 4)
    assert (seq1, seq2) == (10, 9)
    assert readback.hivexsh(path, "ls\n").split() == ["A"]
    assert readback.dump_regipy(path)[("A",)] == {"v": ("REG_DWORD", 1)}


@skip_without_tools("hivexsh")
def test_lh_hashes_match_the_ones_hivex_computes(tmp_path):
    # ASCII names only: for other characters hivex does not upcase like Windows
    # (RtlUpcaseUnicodeChar), so its hashes differ from Windows' and ours there.
    names = ["Microsoft", "ControlSet001", "zz", "a", "Windows NT", "S-1-5-21-1-2-3-1001"]
    base = write_hive(tmp_path / "base", {})
    commands = "".join("add %s\n" % n for n in names) + "commit %s\n" % (tmp_path / "by_hivex")
    subprocess.run(["hivexsh", "-w", str(base)], check=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                   input=commands.encode("utf-8"))
    ours = write_hive(tmp_path / "ours", {n: {} for n in names})
    assert _root_lh_entries(tmp_path / "by_hivex") == _root_lh_entries(ours)


def _root_lh_entries(path):
    """{name: hash} from the root key's "lh" list (tiny parser for this test)."""
    data = path.read_bytes()
    root = 4096 + struct.unpack_from("<I", data, 36)[0] + 4
    listing = 4096 + struct.unpack_from("<I", data, root + 28)[0] + 4
    assert data[listing:listing + 2] == b"lh"
    count = struct.unpack_from("<H", data, listing + 2)[0]
    out = {}
    for index in range(count):
        node, hashed = struct.unpack_from("<II", data, listing + 4 + 8 * index)
        nk = 4096 + node + 4
        flags = struct.unpack_from("<H", data, nk + 2)[0]
        length = struct.unpack_from("<H", data, nk + 72)[0]
        raw_name = data[nk + 76:nk + 76 + length]
        out[raw_name.decode("latin-1" if flags & 0x20 else "utf-16-le")] = hashed
    return out


@skip_without_tools("hivexsh")
@pytest.mark.parametrize("how", ["hbin", "truncated"])
def test_corrupted_hives_are_refused_by_both_readers(tmp_path, how):
    path = tmp_path / "SOFTWARE"
    path.write_bytes(corrupt_hive_bytes(build_hive({"A": {"v": dword(1)}}), how))
    with pytest.raises(Exception):
        readback.hivexsh(path, "ls\n")
    with pytest.raises(Exception):
        readback.dump_regipy(path)


def test_output_is_reproducible():
    assert build_hive(rich_tree()) == build_hive(rich_tree())


@pytest.mark.parametrize("tree, message", [
    ({"A": 1}, "neither a value"),
    ({"A": {}, "a": {}}, "differ only by case"),
    ({"A": {"x": dword(1), "X": dword(2)}}, "differ only by case"),
    ({"A\\B": {}}, "invalid subkey name"),
])
def test_bad_descriptions_are_refused_with_a_clear_message(tree, message):
    with pytest.raises(HiveError, match=message):
        build_hive(tree)


@pytest.mark.parametrize("make, message", [
    (lambda: dword(-1), "unsigned 32-bit"),
    (lambda: dword(2 ** 32), "unsigned 32-bit"),
    (lambda: qword(2 ** 64), "unsigned 64-bit"),
    (lambda: multi_sz("not a list"), "list of strings"),
    (lambda: sz(5), "expected a str"),
])
def test_bad_values_are_refused_with_a_clear_message(make, message):
    with pytest.raises(HiveError, match=message):
        make()


def _value_object(tree, key_path, name):
    node = tree
    for part in key_path:
        node = node.subkeys[part] if isinstance(node, Key) else node[part]
    return node.values[name] if isinstance(node, Key) else node[name]


REAL_HIVES = Path(__file__).resolve().parents[2] / "data" / "hives"


@pytest.mark.parametrize("relative", ["win11-22000-workgroup-nosystem/SAM.xz", "win10-1809-domain-nosystem/SECURITY.xz",
                                      "win81-domain-nosystem/SAM.xz"])
def test_hash_and_order_of_subkey_lists_match_hives_written_by_windows(relative):
    """Every "lh"/"lf" list in a real hive: our hash (or name hint) of each name equals
    the stored one, and the names are in the order our writer sorts them."""
    import lzma

    from winimage_testdata.regf import _lh_hash, _sort_key

    data = lzma.decompress((REAL_HIVES / relative).read_bytes())
    checked = 0
    offset = 4096
    while offset < len(data) and data[offset:offset + 4] == b"hbin":
        size = struct.unpack_from("<I", data, offset + 8)[0]
        cell = offset + 32
        while cell < offset + size:
            cell_size = struct.unpack_from("<i", data, cell)[0]
            if cell_size < 0 and data[cell + 4:cell + 6] in (b"lh", b"lf"):
                is_lh = data[cell + 4:cell + 6] == b"lh"
                names = []
                for index in range(struct.unpack_from("<H", data, cell + 6)[0]):
                    node = struct.unpack_from("<I", data, cell + 8 + 8 * index)[0]
                    stored = data[cell + 12 + 8 * index:cell + 16 + 8 * index]
                    nk = 4096 + node + 4
                    flags = struct.unpack_from("<H", data, nk + 2)[0]
                    length = struct.unpack_from("<H", data, nk + 72)[0]
                    raw_name = data[nk + 76:nk + 76 + length]
                    name = raw_name.decode("latin-1" if flags & 0x20 else "utf-16-le")
                    if is_lh:
                        assert struct.pack("<I", _lh_hash(name)) == stored, name
                    else:  # "lf": the first four characters of the name are the hint
                        assert stored == name[:4].encode("latin-1").ljust(4, b"\x00"), name
                    names.append(name)
                    checked += 1
                assert names == sorted(names, key=_sort_key)
            cell += abs(cell_size) or 8
        offset += size
    assert checked > 20
