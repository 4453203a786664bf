# Copyright: (c) 2026, winimage.generalize contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""A small read-only NTFS reader: find and read a few files without mounting the volume.

Written from the public descriptions of the on-disk format (the Linux-NTFS project's
"NTFS Documentation" and Microsoft's published structure names). It reads only what it
is asked for: the boot sector, the MFT records on the path to a file, the directory
index blocks it walks through and the clusters of the file itself, so the cost does
not grow with the size of the volume.

What it handles: update-sequence fixups, resident and non-resident attributes, data
runs (including sparse runs), files whose attributes spill into extension records
through ``$ATTRIBUTE_LIST``, directory lookup through the ``$I30`` B+ tree
(``$INDEX_ROOT`` / ``$INDEX_ALLOCATION``) compared case-insensitively with the
volume's own ``$UpCase`` table, ``$FILE_NAME`` namespaces (DOS 8.3 names are found
but never listed), alternate data streams, and free space from ``$Bitmap``.

What it refuses with a clear :class:`NtfsError`: BitLocker volumes, NTFS-compressed,
EFS-encrypted and WOF (CompactOS) compressed file data. It never writes.

Every read goes through a *block source*: any object with ``read(offset, length)``
returning bytes and a ``size`` attribute (see :mod:`offline_source`), so a partition
inside a disk image or a virtual disk is read in place.
"""

from __future__ import annotations

import struct

NTFS_OEM_ID = b"NTFS    "
BITLOCKER_OEM_ID = b"-FVE-FS-"

# Well-known MFT record numbers.
MFT_RECORD_MFT = 0
MFT_RECORD_VOLUME = 3
MFT_RECORD_ROOT = 5
MFT_RECORD_BITMAP = 6
MFT_RECORD_UPCASE = 10

# Attribute type codes.
ATTR_STANDARD_INFORMATION = 0x10
ATTR_ATTRIBUTE_LIST = 0x20
ATTR_FILE_NAME = 0x30
ATTR_VOLUME_INFORMATION = 0x70
ATTR_DATA = 0x80
ATTR_INDEX_ROOT = 0x90
ATTR_INDEX_ALLOCATION = 0xA0
ATTR_REPARSE_POINT = 0xC0
ATTR_END = 0xFFFFFFFF

ATTR_FLAG_COMPRESSED = 0x0001
ATTR_FLAG_ENCRYPTED = 0x4000

RECORD_FLAG_IN_USE = 0x0001
RECORD_FLAG_DIRECTORY = 0x0002

INDEX_ENTRY_HAS_SUBNODE = 0x01
INDEX_ENTRY_LAST = 0x02
INDEX_NODE_HAS_SUBNODES = 0x01

NAMESPACE_POSIX = 0
NAMESPACE_WIN32 = 1
NAMESPACE_DOS = 2
NAMESPACE_WIN32_AND_DOS = 3

VOLUME_FLAG_DIRTY = 0x0001
REPARSE_TAG_WOF = 0x80000017
FILE_REFERENCE_MASK = 0x0000FFFFFFFFFFFF
INDEX_NAME = "$I30"
SECTOR = 512

# Guards against corrupt metadata sending the reader into loops or huge allocations.
MAX_PATH_DEPTH = 64
MAX_INDEX_DEPTH = 32
MAX_EXTENSION_RECORDS = 4096


class NtfsError(Exception):
    """The volume or a file on it cannot be read; the message says why."""


class NotNtfsError(NtfsError):
    """The source does not start with an NTFS boot sector."""


class BitLockerError(NtfsError):
    """The volume is BitLocker-encrypted: nothing on it can be read without the key."""


def volume_signature(boot_sector):
    """'ntfs', 'bitlocker' or None from the OEM id of a boot sector."""
    oem = bytes(boot_sector[3:11])
    if oem == NTFS_OEM_ID:
        return "ntfs"
    if oem == BITLOCKER_OEM_ID:
        return "bitlocker"
    return None


def apply_fixups(buffer, what):
    """Undo the update-sequence protection of a multi-sector record (FILE or INDX), in place.

    The record is protected in strides (512 bytes in practice, whatever the disk's sector
    size; the stride is derived from the array's length). The last two bytes of each stride
    hold the update sequence number on disk; the real bytes live in the update sequence
    array. A mismatch means a torn write.
    """
    usa_offset, usa_count = struct.unpack_from("<HH", buffer, 4)
    if usa_count < 2:
        return buffer
    sector_size = len(buffer) // (usa_count - 1)
    if usa_offset + usa_count * 2 > len(buffer) or sector_size < 256 or sector_size * (usa_count - 1) != len(buffer):
        raise NtfsError("%s: update sequence array does not match the record size" % what)
    usn = buffer[usa_offset:usa_offset + 2]
    for index in range(1, usa_count):
        end = index * sector_size
        if buffer[end - 2:end] != usn:
            raise NtfsError("%s: update sequence mismatch in sector %d (torn write or corrupt record)"
                            % (what, index - 1))
        fix = usa_offset + index * 2
        buffer[end - 2:end] = buffer[fix:fix + 2]
    return buffer


def decode_runs(data, offset=0):
    """Data runs (mapping pairs) -> list of (vcn, clusters, lcn or None for sparse).

    Each run: a header byte whose low nibble is the size of the length field and high
    nibble the size of the (signed, relative to the previous run) LCN field; no LCN
    field means a sparse run. VCNs returned are relative to the first run.
    """
    runs = []
    vcn = 0
    lcn = 0
    position = offset
    while position < len(data):
        header = data[position]
        if header == 0:
            break
        length_size = header & 0x0F
        offset_size = header >> 4
        position += 1
        if length_size == 0 or length_size > 8 or offset_size > 8 \
                or position + length_size + offset_size > len(data):
            raise NtfsError("corrupt data run at byte %d" % (position - 1))
        clusters = int.from_bytes(data[position:position + length_size], "little")
        position += length_size
        if offset_size:
            lcn += int.from_bytes(data[position:position + offset_size], "little", signed=True)
            position += offset_size
            runs.append((vcn, clusters, lcn))
        else:
            runs.append((vcn, clusters, None))
        vcn += clusters
    return runs


def _utf16(data):
    return bytes(data).decode("utf-16-le", errors="surrogatepass")


class Attribute(object):
    """One attribute record (one extent of a non-resident attribute)."""

    __slots__ = ("type", "name", "flags", "resident", "value", "start_vcn", "last_vcn", "runs",
                 "allocated_size", "data_size", "initialized_size", "compression_unit", "record")

    def __init__(self, record_number, data, offset):
        self.record = record_number
        (self.type, length, non_resident, name_length, name_offset, self.flags) = \
            struct.unpack_from("<IIBBHH", data, offset)
        if length < 16 or offset + length > len(data):
            raise NtfsError("MFT record %d: attribute 0x%X has a bad length" % (record_number, self.type))
        self.name = _utf16(data[offset + name_offset:offset + name_offset + name_length * 2])
        self.resident = not non_resident
        self.value = None
        self.runs = None
        self.start_vcn = 0
        self.last_vcn = -1
        self.compression_unit = 0
        if self.resident:
            value_length, value_offset = struct.unpack_from("<IH", data, offset + 16)
            if value_offset + value_length > length:
                raise NtfsError("MFT record %d: resident attribute 0x%X overflows" % (record_number, self.type))
            self.value = bytes(data[offset + value_offset:offset + value_offset + value_length])
            self.allocated_size = self.data_size = self.initialized_size = value_length
        else:
            (self.start_vcn, self.last_vcn, runs_offset, self.compression_unit) = \
                struct.unpack_from("<qqHH", data, offset + 16)
            (self.allocated_size, self.data_size, self.initialized_size) = \
                struct.unpack_from("<qqq", data, offset + 40)
            if runs_offset > length:
                raise NtfsError("MFT record %d: data runs outside attribute 0x%X" % (record_number, self.type))
            self.runs = [(self.start_vcn + vcn, clusters, lcn)
                         for vcn, clusters, lcn in decode_runs(data[offset:offset + length], runs_offset)]


class MftRecord(object):
    """A parsed FILE record with its attributes (extension records already merged)."""

    __slots__ = ("number", "flags", "base_reference", "attributes", "sequence")

    def __init__(self, number, flags, base_reference, attributes, sequence):
        self.number = number
        self.flags = flags
        self.base_reference = base_reference
        self.attributes = attributes
        self.sequence = sequence

    @property
    def in_use(self):
        return bool(self.flags & RECORD_FLAG_IN_USE)

    @property
    def is_directory(self):
        return bool(self.flags & RECORD_FLAG_DIRECTORY)

    def find(self, attr_type, name=""):
        """All extents of one attribute, sorted by starting VCN."""
        found = [a for a in self.attributes if a.type == attr_type and a.name.lower() == name.lower()]
        return sorted(found, key=lambda a: a.start_vcn)

    def file_names(self):
        """(name, namespace, parent record number) of every $FILE_NAME attribute."""
        names = []
        for attribute in self.attributes:
            if attribute.type == ATTR_FILE_NAME and attribute.resident and len(attribute.value) >= 66:
                names.append(parse_file_name(attribute.value))
        return names

    def stream_names(self):
        """Names of the named $DATA streams (alternate data streams)."""
        return sorted(set(a.name for a in self.attributes if a.type == ATTR_DATA and a.name))


def parse_file_name(value):
    """$FILE_NAME value -> (name, namespace, parent record number)."""
    parent = struct.unpack_from("<Q", value, 0)[0] & FILE_REFERENCE_MASK
    name_length, namespace = struct.unpack_from("<BB", value, 64)
    return _utf16(value[66:66 + name_length * 2]), namespace, parent


class NtfsFile(object):
    """A file or directory found on the volume."""

    def __init__(self, volume, record, name):
        self.volume = volume
        self.record = record
        self.name = name

    @property
    def is_directory(self):
        return self.record.is_directory

    def stream(self, name=""):
        extents = self.record.find(ATTR_DATA, name)
        if not extents:
            raise NtfsError("%s has no data stream %r" % (self.name, name) if name else
                            "%s has no data (is it a directory?)" % self.name)
        return DataStream(self.volume, extents, self.name, self._reparse_tag())

    @property
    def size(self):
        extents = self.record.find(ATTR_DATA)
        return extents[0].data_size if extents else 0

    def read(self, stream_name="", max_size=None):
        stream = self.stream(stream_name)
        if max_size is not None and stream.size > max_size:
            raise NtfsError("%s is %d bytes, more than the %d this reader accepts"
                            % (self.name, stream.size, max_size))
        return stream.read(0, stream.size)

    def _reparse_tag(self):
        for attribute in self.record.find(ATTR_REPARSE_POINT):
            if attribute.resident and len(attribute.value) >= 4:
                return struct.unpack_from("<I", attribute.value, 0)[0]
        return None


class DataStream(object):
    """The bytes of one (possibly fragmented, sparse or resident) attribute."""

    def __init__(self, volume, extents, what, reparse_tag=None):
        self.volume = volume
        self.what = what
        first = extents[0]
        if first.flags & ATTR_FLAG_ENCRYPTED:
            raise NtfsError("%s is encrypted with EFS; its content cannot be read offline" % what)
        if first.flags & ATTR_FLAG_COMPRESSED:
            raise NtfsError("%s is NTFS-compressed; this reader does not decompress LZNT1 data "
                            "(extract it with ntfscat or wimlib instead)" % what)
        if reparse_tag == REPARSE_TAG_WOF:
            raise NtfsError("%s is compressed by Windows Overlay Filter (CompactOS / compact /exe); "
                            "this reader does not decompress it" % what)
        self.resident = first.resident
        self.value = first.value
        self.size = first.data_size
        self.initialized_size = first.initialized_size
        self.runs = []
        if not self.resident:
            for extent in extents:
                self.runs.extend(extent.runs)

    def read(self, offset, length):
        if offset >= self.size or length <= 0:
            return b""
        length = min(length, self.size - offset)
        if self.resident:
            return self.value[offset:offset + length]
        readable = max(0, min(length, self.initialized_size - offset))
        data = self.volume.read_runs(self.runs, offset, readable) if readable else b""
        # Bytes past the initialized size read as zeros, as Windows returns them.
        return data + b"\0" * (length - len(data))


class NtfsVolume(object):
    """An NTFS volume read through a block source. Read-only."""

    def __init__(self, source, upcase=True):
        self.source = source
        boot = source.read(0, SECTOR)
        if len(boot) < SECTOR:
            raise NotNtfsError("too small to hold a boot sector (%d bytes)" % len(boot))
        signature = volume_signature(boot)
        if signature == "bitlocker":
            raise BitLockerError("the volume is BitLocker-encrypted (-FVE-FS- signature); it cannot be "
                                 "read offline. Decrypt it on Windows (manage-bde -off C:) and capture again")
        if signature != "ntfs":
            raise NotNtfsError("no NTFS boot sector (OEM id %r)" % bytes(boot[3:11]))
        self._parse_boot_sector(boot)
        self._mft_runs = None
        self._upcase_table = None
        self._use_upcase = upcase
        self._record_cache = {}
        self._load_mft_runs()

    # -- boot sector and MFT ------------------------------------------------------------

    def _parse_boot_sector(self, boot):
        self.bytes_per_sector = struct.unpack_from("<H", boot, 0x0B)[0]
        sectors_per_cluster = boot[0x0D]
        if sectors_per_cluster > 0x80:
            # Clusters above 64 KiB are stored as a negative power of two.
            sectors_per_cluster = 1 << (256 - sectors_per_cluster)
        if self.bytes_per_sector not in (256, 512, 1024, 2048, 4096) or sectors_per_cluster == 0:
            raise NotNtfsError("implausible geometry (%d bytes/sector, %d sectors/cluster)"
                               % (self.bytes_per_sector, sectors_per_cluster))
        self.cluster_size = self.bytes_per_sector * sectors_per_cluster
        self.total_sectors = struct.unpack_from("<Q", boot, 0x28)[0]
        self.mft_lcn = struct.unpack_from("<Q", boot, 0x30)[0]
        self.record_size = self._size_field(struct.unpack_from("<b", boot, 0x40)[0])
        self.index_block_size = self._size_field(struct.unpack_from("<b", boot, 0x44)[0])
        self.serial_number = struct.unpack_from("<Q", boot, 0x48)[0]
        if self.record_size < 256 or self.record_size > 65536:
            raise NotNtfsError("implausible MFT record size %d" % self.record_size)

    def _size_field(self, value):
        """Boot-sector size fields: clusters when positive, 2**-value bytes when negative."""
        return value * self.cluster_size if value > 0 else 1 << (-value)

    @property
    def total_clusters(self):
        return (self.total_sectors * self.bytes_per_sector) // self.cluster_size

    @property
    def size_bytes(self):
        """Capacity as Windows reports it: whole clusters (the backup boot sector is left out)."""
        return self.total_clusters * self.cluster_size

    def _load_mft_runs(self):
        # Bootstrap: record 0 sits at the MFT's first cluster; the runs of its own $DATA extent
        # (VCN 0 onwards) locate the records that may hold the other extents.
        buffer = bytearray(self.source.read(self.mft_lcn * self.cluster_size, self.record_size))
        if bytes(buffer[:4]) != b"FILE":
            raise NtfsError("the $MFT record (at cluster %d) has no FILE signature" % self.mft_lcn)
        apply_fixups(buffer, "MFT record 0")
        base_data = [a for a in self._parse_record_attributes(0, buffer)
                     if a.type == ATTR_DATA and not a.name and not a.resident and a.start_vcn == 0]
        if not base_data:
            raise NtfsError("the $MFT record has no usable $DATA attribute")
        self._mft_runs = base_data[0].runs
        extents = self.record(MFT_RECORD_MFT).find(ATTR_DATA)
        runs = []
        for extent in extents:
            runs.extend(extent.runs)
        self._mft_runs = runs
        self.mft_size = extents[0].data_size
        self._record_cache.clear()

    def read_runs(self, runs, offset, length):
        """Bytes [offset, offset+length) of a non-resident attribute described by runs."""
        cluster_size = self.cluster_size
        out = bytearray()
        position = offset
        end = offset + length
        for vcn, clusters, lcn in runs:
            run_start = vcn * cluster_size
            run_end = run_start + clusters * cluster_size
            if run_end <= position or run_start >= end:
                continue
            piece_start = max(position, run_start)
            piece_end = min(end, run_end)
            if piece_start > position:
                out += b"\0" * (piece_start - position)  # a gap in the runs reads as a hole
            if lcn is None:
                out += b"\0" * (piece_end - piece_start)
            else:
                disk_offset = lcn * cluster_size + (piece_start - run_start)
                data = self.source.read(disk_offset, piece_end - piece_start)
                if len(data) != piece_end - piece_start:
                    raise NtfsError("short read at volume offset %d: the image looks truncated" % disk_offset)
                out += data
            position = piece_end
            if position >= end:
                break
        if position < end:
            out += b"\0" * (end - position)
        return bytes(out)

    def _raw_record(self, number):
        data = self.read_runs(self._mft_runs, number * self.record_size, self.record_size)
        buffer = bytearray(data)
        magic = bytes(buffer[:4])
        if magic == b"BAAD":
            raise NtfsError("MFT record %d is marked BAAD (chkdsk found it corrupt)" % number)
        if magic != b"FILE":
            raise NtfsError("MFT record %d has no FILE signature" % number)
        return apply_fixups(buffer, "MFT record %d" % number)

    def _parse_record_attributes(self, number, buffer):
        first_attribute, flags, used_size = struct.unpack_from("<HHI", buffer, 0x14)
        attributes = []
        offset = first_attribute
        limit = min(used_size, len(buffer))
        while offset + 8 <= limit:
            attr_type, length = struct.unpack_from("<II", buffer, offset)
            if attr_type == ATTR_END or length == 0:
                break
            attributes.append(Attribute(number, buffer, offset))
            offset += length
        return attributes

    def record(self, number):
        """The MFT record ``number`` with extension records merged in (cached)."""
        cached = self._record_cache.get(number)
        if cached is not None:
            return cached
        buffer = self._raw_record(number)
        flags = struct.unpack_from("<H", buffer, 0x16)[0]
        sequence = struct.unpack_from("<H", buffer, 0x10)[0]
        base_reference = struct.unpack_from("<Q", buffer, 0x20)[0] & FILE_REFERENCE_MASK
        attributes = self._parse_record_attributes(number, buffer)
        attribute_list = [a for a in attributes if a.type == ATTR_ATTRIBUTE_LIST]
        if attribute_list:
            attributes = self._merge_attribute_list(number, attributes, attribute_list[0])
        record = MftRecord(number, flags, base_reference, attributes, sequence)
        if len(self._record_cache) > 4096:
            self._record_cache.clear()
        self._record_cache[number] = record
        return record

    def _merge_attribute_list(self, number, attributes, attribute_list):
        """Add the attributes that $ATTRIBUTE_LIST says live in extension records."""
        if attribute_list.resident:
            data = attribute_list.value
        else:
            data = self.read_runs(attribute_list.runs, 0, attribute_list.data_size)
        extension_records = []
        offset = 0
        while offset + 26 <= len(data):
            entry_length = struct.unpack_from("<H", data, offset + 4)[0]
            if entry_length < 26:
                break
            reference = struct.unpack_from("<Q", data, offset + 16)[0] & FILE_REFERENCE_MASK
            if reference != number and reference not in extension_records:
                extension_records.append(reference)
            offset += entry_length
        if len(extension_records) > MAX_EXTENSION_RECORDS:
            raise NtfsError("MFT record %d: implausible attribute list (%d extension records)"
                            % (number, len(extension_records)))
        merged = [a for a in attributes if a.type != ATTR_ATTRIBUTE_LIST] + [attribute_list]
        for extension in extension_records:
            buffer = self._raw_record(extension)
            base = struct.unpack_from("<Q", buffer, 0x20)[0] & FILE_REFERENCE_MASK
            if base != number:
                raise NtfsError("MFT record %d: extension record %d belongs to record %d"
                                % (number, extension, base))
            merged.extend(self._parse_record_attributes(extension, buffer))
        return merged

    # -- names and directories ----------------------------------------------------------

    def _upcase(self):
        """The volume's $UpCase table as a str.translate map (only the characters that change)."""
        if self._upcase_table is None:
            table = {}
            if self._use_upcase:
                try:
                    data = NtfsFile(self, self.record(MFT_RECORD_UPCASE), "$UpCase").read(max_size=1 << 20)
                    count = len(data) // 2
                    for index, upper in enumerate(struct.unpack("<%dH" % count, data[:count * 2])):
                        if upper != index:
                            table[index] = upper
                except (NtfsError, struct.error):
                    table = {}
            if not table:
                # A damaged $UpCase table: fall back to ASCII folding, which covers Windows' own paths.
                table = dict((code, code - 32) for code in range(ord("a"), ord("z") + 1))
            self._upcase_table = table
        return self._upcase_table

    def collation_key(self, name):
        """Upper-cased UTF-16 code units: the order NTFS keeps file names in ($I30 collation)."""
        raw = name.encode("utf-16-le", errors="surrogatepass")
        units = struct.unpack("<%dH" % (len(raw) // 2), raw)
        table = self._upcase()
        return tuple(table.get(unit, unit) for unit in units)

    def _index_root(self, record):
        roots = record.find(ATTR_INDEX_ROOT, INDEX_NAME)
        if not roots:
            raise NtfsError("MFT record %d is not a directory (no $I30 index)" % record.number)
        value = roots[0].value
        block_size = struct.unpack_from("<I", value, 8)[0]
        return value, block_size

    def _index_block(self, record, vcn, block_size):
        allocation = record.find(ATTR_INDEX_ALLOCATION, INDEX_NAME)
        if not allocation:
            raise NtfsError("MFT record %d: index points to a sub-node but has no $INDEX_ALLOCATION"
                            % record.number)
        runs = []
        for extent in allocation:
            runs.extend(extent.runs)
        # VCNs of index blocks count clusters, or 512-byte units when blocks are smaller than a cluster.
        unit = self.cluster_size if block_size >= self.cluster_size else SECTOR
        buffer = bytearray(self.read_runs(runs, vcn * unit, block_size))
        if bytes(buffer[:4]) != b"INDX":
            raise NtfsError("MFT record %d: index block at VCN %d has no INDX signature" % (record.number, vcn))
        apply_fixups(buffer, "index block %d of MFT record %d" % (vcn, record.number))
        return buffer

    @staticmethod
    def _node_entries(buffer, node_offset):
        """Index entries of one node: list of (reference, flags, key bytes, subnode VCN or None)."""
        first_entry, total_size = struct.unpack_from("<II", buffer, node_offset)
        entries = []
        position = node_offset + first_entry
        end = min(node_offset + total_size, len(buffer))
        while position + 16 <= end:
            reference, entry_length, key_length, flags = struct.unpack_from("<QHHI", buffer, position)
            if entry_length < 16 or position + entry_length > len(buffer):
                raise NtfsError("corrupt index entry")
            key = bytes(buffer[position + 16:position + 16 + key_length])
            subnode = None
            if flags & INDEX_ENTRY_HAS_SUBNODE:
                subnode = struct.unpack_from("<q", buffer, position + entry_length - 8)[0]
            entries.append((reference & FILE_REFERENCE_MASK, flags, key, subnode))
            if flags & INDEX_ENTRY_LAST:
                break
            position += entry_length
        return entries

    def _lookup_in_directory(self, directory, name):
        """(record number, name as stored) of ``name`` in a directory, or None. B+ tree descent."""
        target = self.collation_key(name)
        root, block_size = self._index_root(directory)
        entries = self._node_entries(root, 16)
        for _depth in range(MAX_INDEX_DEPTH):
            descend = None
            for reference, flags, key, subnode in entries:
                if flags & INDEX_ENTRY_LAST:
                    descend = subnode
                    break
                entry_name = parse_file_name(key)[0]
                entry_key = self.collation_key(entry_name)
                if entry_key == target:
                    return reference, entry_name
                if target < entry_key:
                    descend = subnode
                    break
            if descend is None:
                return None
            block = self._index_block(directory, descend, block_size)
            entries = self._node_entries(block, 0x18)
        raise NtfsError("MFT record %d: directory index deeper than %d levels" % (directory.number,
                                                                                  MAX_INDEX_DEPTH))

    def _walk_index(self, directory):
        """Every entry of a directory index, in order (depth-first through the B+ tree)."""
        root, block_size = self._index_root(directory)
        visited = set()
        stack = [iter(self._node_entries(root, 16))]
        while stack:
            try:
                reference, flags, key, subnode = next(stack[-1])
            except StopIteration:
                stack.pop()
                continue
            if subnode is not None and subnode not in visited:
                visited.add(subnode)
                if len(stack) > MAX_INDEX_DEPTH:
                    raise NtfsError("MFT record %d: directory index too deep" % directory.number)
                # Children sort before this entry: push the child, then come back to this entry.
                entry = (reference, flags & ~INDEX_ENTRY_HAS_SUBNODE, key, None)
                block = self._index_block(directory, subnode, block_size)
                stack[-1] = _prepend(entry, stack[-1])
                stack.append(iter(self._node_entries(block, 0x18)))
                continue
            if not flags & INDEX_ENTRY_LAST:
                yield reference, parse_file_name(key)

    def listdir(self, path=""):
        """Names in a directory (Win32/POSIX names; DOS 8.3 aliases are left out)."""
        directory = self.lookup(path)
        if directory is None:
            raise NtfsError("no such directory: %s" % (path or "\\"))
        if not directory.is_directory:
            raise NtfsError("not a directory: %s" % path)
        names = []
        for _reference, (name, namespace, _parent) in self._walk_index(directory.record):
            if namespace != NAMESPACE_DOS and name != ".":
                names.append(name)
        return names

    def lookup(self, path):
        """The file at ``path`` ('Windows/System32/config/SYSTEM', any case, '/' or '\\'), or None.

        ``name:stream`` in the last component is not parsed here; use :meth:`NtfsFile.stream`.
        """
        parts = [p for p in path.replace("\\", "/").split("/") if p and p != "."]
        if len(parts) > MAX_PATH_DEPTH:
            raise NtfsError("path too deep: %s" % path)
        record = self.record(MFT_RECORD_ROOT)
        name = ""
        for part in parts:
            if not record.is_directory:
                return None
            found = self._lookup_in_directory(record, part)
            if found is None:
                return None
            number, name = found
            record = self.record(number)
            if not record.in_use:
                return None
        return NtfsFile(self, record, name or "\\")

    def exists(self, path):
        return self.lookup(path) is not None

    def read_file(self, path, max_size=None):
        found = self.lookup(path)
        if found is None:
            raise NtfsError("no such file: %s" % path)
        if found.is_directory:
            raise NtfsError("%s is a directory" % path)
        return found.read(max_size=max_size)

    # -- volume-wide facts --------------------------------------------------------------

    def free_bytes(self):
        """Free space from $Bitmap: clusters whose bit is clear, times the cluster size.

        The bitmap is one bit per cluster (a 2 TB volume with 4 KiB clusters has a 64 MiB
        bitmap), so this read is small next to the volume.
        """
        bitmap = NtfsFile(self, self.record(MFT_RECORD_BITMAP), "$Bitmap").stream()
        total = self.total_clusters
        needed = (total + 7) // 8
        used = 0
        chunk = 1 << 20
        for offset in range(0, needed, chunk):
            data = bitmap.read(offset, min(chunk, needed - offset))
            if offset + chunk >= needed and total % 8:
                # Bits past the last cluster are padding.
                data = data[:-1] + bytes([data[-1] & ((1 << (total % 8)) - 1)])
            used += bin(int.from_bytes(data, "little")).count("1")
        return (total - used) * self.cluster_size

    def volume_flags(self):
        """$VOLUME_INFORMATION flags (0x0001 = dirty: not cleanly unmounted or hibernated)."""
        info = self.record(MFT_RECORD_VOLUME).find(ATTR_VOLUME_INFORMATION)
        if not info or not info[0].resident or len(info[0].value) < 12:
            return None
        return struct.unpack_from("<H", info[0].value, 10)[0]

    def is_dirty(self):
        flags = self.volume_flags()
        return None if flags is None else bool(flags & VOLUME_FLAG_DIRTY)


def _prepend(item, iterator):
    yield item
    yield from iterator


def looks_like_ntfs(source, offset=0):
    """'ntfs', 'bitlocker' or None for the boot sector at ``offset`` of a source."""
    boot = source.read(offset, SECTOR)
    if len(boot) < SECTOR:
        return None
    return volume_signature(boot)
