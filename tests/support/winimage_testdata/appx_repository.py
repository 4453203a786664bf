# Copyright: (c) 2026, winimage.generalize contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A synthetic Appx state repository (``StateRepository-Machine.srd``).

Windows 10 and later keep the Appx deployment state in an SQLite database,
``%ProgramData%\\Microsoft\\Windows\\AppRepository\\StateRepository-Machine.srd``.
Microsoft does not document its schema. What we model, and where it comes from:

* Table and column names are the ones public forensic tooling queries (the 2018
  Autopsy "Appx programs" ingest module joins ``PackageUser.Package`` =
  ``Package._PackageID``, ``Package.PackageFamily`` = ``PackageFamily._PackageFamilyID``,
  ``PackageLocation.Package`` = ``Package._PackageID`` and reads
  ``PackageFamily.Name/Publisher/PublisherId/PackageFamilyName``,
  ``Package.PackageFullName/Architecture/ResourceId/SignatureOrigin``,
  ``PackageUser.User/PackageStatus/InstallTime`` (a FILETIME),
  ``PackageLocation.InstalledLocation``), and the entity properties listed by
  symbols of ``Windows.StateRepository.dll`` (``_PackageID``, ``_Revision``,
  ``Version`` as a packed 64-bit number, ``User.UserSid``).
* Every table also has Windows' ``_Revision`` bookkeeping column.
* ``User.UserSid`` is stored as a binary SID (BLOB). Readers should also accept
  the textual form, since we could not confirm this on every build.
* Architecture uses the documented APPX_PACKAGE_ARCHITECTURE numbers
  (x86=0, arm=5, x64=9, neutral=11, arm64=12).

What each row means, and what a reader should conclude:

* a ``Package`` row = the package is staged on the machine (files present);
* a ``PackageUser`` row = the package is registered (installed) for that user;
* a package with no ``PackageUser`` rows is staged only;
* whether a package is *provisioned* (installed for every new user, which is
  what sysprep requires) is NOT in this model of the database. Windows records
  it in the SOFTWARE hive under
  ``Microsoft\\Windows\\CurrentVersion\\Appx\\AppxAllUserStore\\Applications``,
  which :mod:`windows_tree` writes. No public source we found documents a
  provisioning table in the repository, so we do not invent one.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Iterable, Mapping, Sequence

ARCHITECTURES = {"x86": 0, "arm": 5, "x64": 9, "neutral": 11, "arm64": 12}
SIGNATURE_ORIGIN_STORE = 2
SIGNATURE_ORIGIN_SYSTEM = 3
PACKAGE_STATUS_OK = 0

SCHEMA = """
CREATE TABLE PackageFamily (
    _PackageFamilyID INTEGER PRIMARY KEY,
    _Revision INTEGER NOT NULL DEFAULT 1,
    Name TEXT NOT NULL,
    PublisherId TEXT NOT NULL,
    Publisher TEXT,
    PackageFamilyName TEXT NOT NULL UNIQUE
);
CREATE TABLE Package (
    _PackageID INTEGER PRIMARY KEY,
    _Revision INTEGER NOT NULL DEFAULT 1,
    PackageFamily INTEGER NOT NULL REFERENCES PackageFamily(_PackageFamilyID),
    PackageFullName TEXT NOT NULL UNIQUE,
    Version INTEGER NOT NULL,
    Architecture INTEGER NOT NULL,
    ResourceId TEXT,
    SignatureOrigin INTEGER NOT NULL,
    IsInbox INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE PackageLocation (
    _PackageLocationID INTEGER PRIMARY KEY,
    _Revision INTEGER NOT NULL DEFAULT 1,
    Package INTEGER NOT NULL REFERENCES Package(_PackageID),
    InstalledLocation TEXT NOT NULL
);
CREATE TABLE User (
    _UserID INTEGER PRIMARY KEY,
    _Revision INTEGER NOT NULL DEFAULT 1,
    UserSid BLOB NOT NULL UNIQUE
);
CREATE TABLE PackageUser (
    _PackageUserID INTEGER PRIMARY KEY,
    _Revision INTEGER NOT NULL DEFAULT 1,
    Package INTEGER NOT NULL REFERENCES Package(_PackageID),
    User INTEGER NOT NULL REFERENCES User(_UserID),
    InstallTime INTEGER,
    PackageStatus INTEGER NOT NULL DEFAULT 0,
    UNIQUE (Package, User)
);
"""


def split_full_name(full_name: str):
    """"Name_Version_Arch_ResourceId_PublisherId" -> its five parts (ResourceId may be "")."""
    parts = full_name.split("_")
    if len(parts) != 5:
        raise ValueError("%r is not a package full name (Name_Version_Arch_ResourceId_PublisherId)" % full_name)
    return parts


def family_name(full_name: str) -> str:
    name, _version, _arch, _resource, publisher_id = split_full_name(full_name)
    return "%s_%s" % (name, publisher_id)


def packed_version(version: str) -> int:
    numbers = [int(p) for p in version.split(".")]
    numbers += [0] * (4 - len(numbers))
    return (numbers[0] << 48) | (numbers[1] << 32) | (numbers[2] << 16) | numbers[3]


def write_state_repository(path: Path, packages: Sequence[Mapping], sid_to_bytes,
                           install_time: int) -> Path:
    """Create the database.

    ``packages``: dicts with ``full_name``, ``users`` (SIDs it is registered for),
    ``inbox`` (bool) and ``publisher`` (display text).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        path.unlink()
    connection = sqlite3.connect(str(path))
    try:
        connection.executescript(SCHEMA)
        users = {}
        for package in packages:
            _add_package(connection, package, users, sid_to_bytes, install_time)
        connection.commit()
    finally:
        connection.close()
    return path


def _add_package(connection, package, users, sid_to_bytes, install_time) -> None:
    full_name = package["full_name"]
    name, version, arch, resource, publisher_id = split_full_name(full_name)
    family = family_name(full_name)
    row = connection.execute("SELECT _PackageFamilyID FROM PackageFamily WHERE PackageFamilyName = ?",
                             (family,)).fetchone()
    if row:
        family_id = row[0]
    else:
        publisher = package.get("publisher",
                                "CN=Microsoft Corporation, O=Microsoft Corporation, L=Redmond, S=Washington, C=US")
        family_id = connection.execute(
            "INSERT INTO PackageFamily (Name, PublisherId, Publisher, PackageFamilyName) VALUES (?, ?, ?, ?)",
            (name, publisher_id, publisher, family)).lastrowid
    inbox = bool(package.get("inbox"))
    package_id = connection.execute(
        "INSERT INTO Package (PackageFamily, PackageFullName, Version, Architecture, ResourceId, "
        "SignatureOrigin, IsInbox) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (family_id, full_name, packed_version(version), ARCHITECTURES[arch], resource or None,
         SIGNATURE_ORIGIN_SYSTEM if inbox else SIGNATURE_ORIGIN_STORE, int(inbox))).lastrowid
    location = ("C:\\Windows\\SystemApps\\" if inbox else "C:\\Program Files\\WindowsApps\\") + full_name
    connection.execute("INSERT INTO PackageLocation (Package, InstalledLocation) VALUES (?, ?)",
                       (package_id, location))
    for sid in _unique(package.get("users", ())):
        if sid not in users:
            users[sid] = connection.execute("INSERT INTO User (UserSid) VALUES (?)",
                                            (sid_to_bytes(sid),)).lastrowid
        connection.execute(
            "INSERT INTO PackageUser (Package, User, InstallTime, PackageStatus) VALUES (?, ?, ?, ?)",
            (package_id, users[sid], install_time, PACKAGE_STATUS_OK))


def _unique(items: Iterable[str]):
    seen = []
    for item in items:
        if item not in seen:
            seen.append(item)
    return seen
