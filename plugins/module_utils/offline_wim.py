# Copyright: (c) 2026, winimage.generalize contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Read a few files out of one image of a WIM or ESD archive with wimlib, read-only.

``wimlib-imagex info`` lists the images (and checks the index), ``wimlib-imagex extract``
extracts only the named paths (wildcards allowed) into a scratch directory, and
``wimlib-imagex dir --one-file-only`` answers "is this file there" without extracting it
(pagefile.sys can be gigabytes). Nothing in the archive is changed.
"""

from __future__ import annotations

import os
import re

from ansible_collections.winimage.generalize.plugins.module_utils.offline_source import (
    CommandError, SourceError, run_command)

WIMLIB = "wimlib-imagex"
WIM_TIMEOUT = 600
# wimlib-imagex exit code for "the path does not exist in the WIM image".
WIMLIB_ERR_PATH_DOES_NOT_EXIST = 49


def _environment():
    env = dict(os.environ)
    # Windows paths are case-insensitive; wimlib matches them that way only when asked.
    env["WIMLIB_IMAGEX_IGNORE_CASE"] = "1"
    env["LC_ALL"] = "C"
    return env


def parse_wim_info(text):
    """``wimlib-imagex info`` text -> {'header': {...}, 'images': [{'index': 1, 'name': ...}, ...]}."""
    header = {}
    images = []
    current = None
    in_images = False
    for line in text.splitlines():
        if line.startswith("Available Images"):
            in_images = True
            continue
        match = re.match(r"^([A-Za-z][A-Za-z0-9 ()/-]*?):\s*(.*)$", line)
        if not match:
            continue
        key, value = match.group(1).strip(), match.group(2).strip()
        if not in_images:
            header[key] = value
            continue
        if key == "Index":
            current = {"index": int(value)}
            images.append(current)
        elif current is not None:
            current[key.lower().replace(" ", "_")] = value
    return {"header": header, "images": images}


def wim_info(path, wimlib=WIMLIB):
    try:
        output = run_command([wimlib, "info", path], "wimlib-imagex info", timeout=WIM_TIMEOUT, env=_environment())
    except CommandError as error:
        raise SourceError("wimlib cannot read %s as a WIM/ESD archive: %s" % (path, error.output))
    info = parse_wim_info(output)
    if not info["images"]:
        raise SourceError("%s holds no images" % path)
    return info


def describe_images(images):
    return ", ".join("%d (%s)" % (image["index"], image.get("name") or "no name") for image in images)


def select_image(info, index, path):
    """The image dict for ``index``; a SourceError listing the available images otherwise."""
    for image in info["images"]:
        if image["index"] == index:
            return image
    raise SourceError("%s has no image with index %s; it holds %d image(s): %s. Set index to one of them."
                      % (path, index, len(info["images"]), describe_images(info["images"])))


class WimFiles(object):
    """Files of one WIM image, extracted on demand into ``workdir``.

    ``extract(paths)`` takes volume-relative paths ('Windows/Panther/*.xml'); lookups are
    case-insensitive like Windows.
    """

    kind = "wim"

    def __init__(self, path, index, workdir, wimlib=WIMLIB):
        self.path = path
        self.index = index
        self.workdir = workdir
        self.wimlib = wimlib
        self.calls = 0
        self._extracted = os.path.join(workdir, "extracted")
        os.makedirs(self._extracted, exist_ok=True)
        self._index = {}

    def extract(self, patterns):
        argv = [self.wimlib, "extract", self.path, str(self.index)]
        argv += ["/" + p.strip("/") for p in patterns]
        argv += ["--dest-dir=%s" % self._extracted, "--no-acls", "--nullglob", "--preserve-dir-structure"]
        try:
            run_command(argv, "wimlib-imagex extract", timeout=WIM_TIMEOUT, env=_environment())
        except CommandError as error:
            raise SourceError("wimlib could not extract files from image %s of %s: %s"
                              % (self.index, self.path, error.output))
        self.calls += 1
        self._reindex()

    def _reindex(self):
        self._index = {}
        for directory, _dirs, files in os.walk(self._extracted):
            for name in files:
                full = os.path.join(directory, name)
                relative = os.path.relpath(full, self._extracted).replace(os.sep, "/")
                self._index[relative.lower()] = full

    def local_path(self, path):
        """Where an extracted file is on this host, or None when it was not in the image."""
        return self._index.get(path.strip("/").lower())

    def exists_unextracted(self, path):
        """True when ``path`` is in the image, without extracting it (for large files)."""
        argv = [self.wimlib, "dir", self.path, str(self.index), "--path=/" + path.strip("/"), "--one-file-only"]
        try:
            run_command(argv, "wimlib-imagex dir", timeout=WIM_TIMEOUT, env=_environment())
        except CommandError as error:
            if error.returncode == WIMLIB_ERR_PATH_DOES_NOT_EXIST:
                return False
            raise SourceError("wimlib could not list %s in image %s of %s: %s"
                              % (path, self.index, self.path, error.output))
        self.calls += 1
        return True

    def listdir_extracted(self, directory):
        """Names of extracted files directly in ``directory`` (as stored in the image)."""
        prefix = directory.strip("/").lower() + "/"
        names = []
        for relative, full in self._index.items():
            if relative.startswith(prefix) and "/" not in relative[len(prefix):]:
                names.append(os.path.basename(full))
        return sorted(names)
