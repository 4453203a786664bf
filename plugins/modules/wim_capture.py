#!/usr/bin/python
# Copyright: (c) 2026, winimage.generalize contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: wim_capture
short_description: Capture a Windows volume into a WIM on Linux with wimlib, atomically
version_added: 0.1.0
description:
  - Captures the Windows NTFS volume of a powered-off machine into a WIM file with
    C(wimlib-imagex capture) (new WIM) or C(wimlib-imagex append) (new index), in wimlib's NTFS-3G
    mode, which keeps security descriptors, alternate data streams, reparse points, short names,
    attributes and timestamps.
  - "O(src) may be an unmounted NTFS volume (image file or block device), a raw disk image or disk
    device with an MBR or GPT partition table, or a VHD, VHDX, VMDK or qcow2 virtual disk. The format is
    detected from the content and the Windows partition (the one holding
    C(Windows/System32/config/SYSTEM)) is found the same way M(winimage.generalize.image_facts) finds
    it, unless O(partition) names it."
  - "How wimlib gets at the partition: a block device partition is used directly; a partition of a
    raw disk is exposed through a read-only loop device when running as root (no copy) or else copied
    sparsely into O(scratch_dir); a partition of a virtual disk is converted with C(qemu-img convert)
    into a sparse raw file in O(scratch_dir). See O(volume_access) and C(docs/capture.md)."
  - The WIM is written under a hidden temporary name in the directory of O(dest)
    (C(.NAME.partial-*)) and gets its final name only when wimlib (and O(verify)) succeeded. A failed
    or killed capture never leaves a partial file under O(dest) and never changes an existing WIM;
    leftovers of a killed run are removed by the next run for the same O(dest).
  - Existing images are never overwritten. O(dest) that already exists is an error unless
    O(append=true), which adds a new index to a copy of the WIM and replaces the file in one rename.
  - Idempotent. The image records a fingerprint of its source (property
    C(WINIMAGEGENERALIZE/SOURCEFINGERPRINT) in the WIM's XML). A re-run with the same O(src),
    O(dest) and O(name) whose source has not changed returns C(changed=false); if the source changed,
    the run fails instead of overwriting the image (choose a new O(name) or O(dest)).
options:
  src:
    description:
      - The NTFS volume, disk image, virtual disk or block device holding Windows, on the host the
        module runs on. It must not be mounted and no running VM may use it.
    type: path
    required: true
  dest:
    description:
      - The WIM file to create, or with O(append=true) to add an image to.
      - Its directory must exist. Hidden temporary files (C(.NAME.partial-*)) and a lock file
        (C(.NAME.lock)) are created beside it.
    type: path
    required: true
  name:
    description:
      - Name of the new image inside the WIM (DISM C(/Name)). Unique within the WIM, not only digits.
    type: str
    required: true
  description:
    description: Description of the new image (DISM C(/Description)).
    type: str
  compression:
    description:
      - V(fast) (XPRESS), V(max) (LZX, smaller and slower), V(none), or V(recovery) (solid LZMS, the
        format of C(.esd) files; smallest, slowest, much memory).
      - Defaults to V(fast) for a new WIM. An appended image always uses the compression of the
        existing WIM; naming a different one is an error.
    type: str
    choices: [none, fast, max, recovery]
  append:
    description:
      - Add the image as a new index of an existing O(dest) instead of failing because O(dest) exists.
      - The existing indexes stay byte for byte as they were. The append works on a copy which
        replaces O(dest) in one rename, so a failure leaves the original untouched.
    type: bool
    default: false
  exclusions:
    description:
      - Paths left out of the image, as wimlib C([ExclusionList]) globs relative to the volume root
        (C(\\pagefile.sys)); C(*) and C(?) work, matching ignores case as Windows does.
      - Replaces the default list; add to it with C(exclusions + [...]) in your playbook if needed.
    type: list
    elements: str
    default:
      - \$ntfs.log
      - \hiberfil.sys
      - \pagefile.sys
      - \swapfile.sys
      - \System Volume Information
      - \RECYCLER
      - \$Recycle.Bin
      - \Windows\CSC
      - \$WinREAgent
  check_integrity:
    description:
      - Store an integrity table in the WIM (DISM C(/CheckIntegrity), wimlib C(--check)); when
        appending, the existing WIM is also checked first.
    type: bool
    default: false
  verify:
    description:
      - Run C(wimlib-imagex verify) on the new WIM before it gets its final name (reads every byte
        back and checks every hash). A WIM that fails is deleted and the task fails.
    type: bool
    default: false
  checksum:
    description: Compute the SHA-256 of the resulting WIM (returned as C(sha256)).
    type: bool
    default: true
  scratch_dir:
    description:
      - Directory for the temporary raw copy of the Windows partition when one is needed (raw disks
        without loop devices, virtual disks). It needs about as much free space as the volume holds data.
      - Defaults to the directory of O(dest).
    type: path
  partition:
    description:
      - Number of the partition to capture in a disk (as Linux numbers them; GPT entries from 1, MBR
        logical partitions from 5). By default the partition holding Windows is found.
    type: int
  volume_access:
    description:
      - How a partition of a raw disk is handed to wimlib.
      - V(auto) uses a read-only, self-detaching loop device when running as root, else V(copy).
      - V(loop) requires the loop device (root); V(copy) always copies the partition sparsely into
        O(scratch_dir) (no root needed; reflinked on XFS/btrfs).
      - Virtual disks are always converted with qemu-img into O(scratch_dir); to avoid that, attach the
        disk with C(qemu-nbd --read-only) yourself and pass the C(/dev/nbdXpN) partition as O(src).
    type: str
    choices: [auto, loop, copy]
    default: auto
  boot:
    description: Mark the new image as the bootable image of the WIM (for Windows PE images).
    type: bool
    default: false
  threads:
    description: Number of compression threads (wimlib C(--threads)); default is one per CPU.
    type: int
  lock_timeout:
    description:
      - Seconds to wait when another capture holds the lock of the same O(dest). V(0) fails at once.
    type: int
    default: 0
requirements:
  - wimlib-imagex (Debian/Ubuntu package wimtools) built with NTFS-3G support
  - qemu-img (package qemu-utils) for VHD, VHDX, VMDK and qcow2 sources
  - regipy (Python library), used to recognise the Windows partition
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Reports what would be captured (source, partition, access method, command) and writes nothing.
  diff_mode:
    support: none
  platform:
    platforms: posix
notes:
  - Capture only a cleanly shut down Windows. A volume whose NTFS dirty flag is set (hibernated, Fast
    Startup, crash) gets a warning because its content may be inconsistent.
  - Only the Windows volume is captured; boot partitions (EFI system, System Reserved, MSR, WinRE) are
    recreated at deployment (for example with C(bcdboot)).
  - Block devices and loop devices need root (C(become=true)).
  - The lock and rename guarantees need a local filesystem or NFS with working locks; see
    C(docs/capture.md).
seealso:
  - module: winimage.generalize.image_facts
  - module: winimage.generalize.image_publish
  - name: Capture on Linux
    description: Step by step, atomicity guarantees, costs of each source type (docs/capture.md).
    link: https://github.com/winimage/generalize/blob/main/docs/capture.md
author:
  - winimage.generalize contributors (@winimage)
"""

EXAMPLES = r"""
- name: Capture the powered-off reference VM into a new WIM
  winimage.generalize.wim_capture:
    src: /var/lib/libvirt/images/ref-win11.qcow2
    dest: /srv/images/incoming/win11-23h2.wim
    name: Windows 11 Enterprise 23H2
    description: Reference build {{ ansible_date_time.date }}
    compression: max
    verify: true
  become: true
  register: capture

- name: Add a second edition to the same WIM as index 2
  winimage.generalize.wim_capture:
    src: /dev/vg_images/ref-win11-edu
    dest: /srv/images/incoming/win11-23h2.wim
    name: Windows 11 Education 23H2
    append: true
  become: true

- name: Capture partition 2 of a raw disk without root (sparse copy in /var/tmp)
  winimage.generalize.wim_capture:
    src: /data/dumps/pc042.img
    partition: 2
    dest: /data/wims/pc042.wim
    name: PC042
    volume_access: copy
    scratch_dir: /var/tmp
    exclusions:
      - \pagefile.sys
      - \hiberfil.sys
      - \swapfile.sys
      - \System Volume Information
      - \$Recycle.Bin
      - \Users\*\AppData\Local\Temp
"""

RETURN = r"""
dest:
  description: The WIM file.
  returned: always
  type: str
index:
  description: Index of the image in O(dest) (the new one, or the existing one when nothing changed).
  returned: success, not in check mode
  type: int
  sample: 1
image_count:
  description: Number of images in O(dest) afterwards.
  returned: success, not in check mode
  type: int
size:
  description: Size of the WIM file in bytes.
  returned: success, not in check mode
  type: int
sha256:
  description: SHA-256 of the WIM file (when O(checksum=true)).
  returned: success, not in check mode
  type: str
image_info:
  description:
    - The image as the WIM's XML describes it - C(index), C(name), C(description), C(dir_count),
      C(file_count), C(total_bytes), C(hard_link_bytes), C(creation_time), C(source_fingerprint) and
      C(windows) (C(architecture), C(product_name), C(edition_id), C(installation_type), C(product_type),
      C(version) with C(major)/C(minor)/C(build), C(languages), C(default_language), C(system_root)),
      as wimlib reads them from the captured registry.
  returned: success, not in check mode
  type: dict
  sample: {"index": 1, "name": "Windows 11 Enterprise 23H2", "file_count": 91234, "dir_count": 24512,
           "total_bytes": 21474836480, "windows": {"architecture": "amd64", "product_name": "Windows 10 Enterprise",
           "edition_id": "Enterprise", "version": {"major": 10, "minor": 0, "build": 22631}}}
compression:
  description: Compression of the WIM (V(fast), V(max), V(none) or V(recovery)); for an append, the existing WIM's.
  returned: always, when the source could be read
  type: str
exclusions:
  description: The exclusion globs used, in wimlib syntax.
  returned: always, when the source could be read
  type: list
  elements: str
images:
  description: Index and name of every image in O(dest).
  returned: success, not in check mode
  type: list
  elements: dict
source:
  description:
    - What was captured - C(path), C(format), C(container) (C(volume), C(raw_disk), C(virtual_disk)),
      C(partition), C(volume_offset), C(volume_size), C(used_bytes), C(dirty), C(windows_dir).
  returned: always, when the source could be read
  type: dict
volume_access:
  description:
    - How wimlib read the volume - V(direct), V(partition_device), V(loop), V(copy) or V(qemu_convert)
      (in check mode, the method that would be tried first).
  returned: always, when the source could be read
  type: str
copied_bytes:
  description: Bytes written to O(scratch_dir) to expose the partition (0 without a copy).
  returned: success, not in check mode
  type: int
action:
  description: V(capture) (new WIM), V(append) (new index) or V(none) (the image is already there).
  returned: always, when the source could be read
  type: str
command:
  description: The wimlib command line (paths only, nothing secret).
  returned: always, when the source could be read
  type: str
commands:
  description: Every external command run or planned, in order (conversion, capture, verify).
  returned: always, when the source could be read
  type: list
  elements: str
verified:
  description: True when C(wimlib-imagex verify) accepted the WIM in this run.
  returned: success, not in check mode
  type: bool
fingerprint:
  description: Fingerprint of the source and capture settings recorded in the image.
  returned: always, when the source could be read
  type: str
removed_leftovers:
  description: Hidden partial or scratch files of earlier killed runs that were removed.
  returned: success, not in check mode
  type: list
  elements: str
timings:
  description: Seconds spent preparing the volume, capturing, verifying and hashing.
  returned: success, not in check mode
  type: dict
"""

import os
import re
import signal
import stat
import time
import traceback

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.winimage.generalize.plugins.module_utils import atomic_files
from ansible_collections.winimage.generalize.plugins.module_utils import capture_source
from ansible_collections.winimage.generalize.plugins.module_utils import wimlib_capture as wimlib

TOOL_NAME = "winimage.generalize.wim_capture"


class CaptureInterrupted(BaseException):
    """SIGTERM/SIGHUP while capturing: unwinds through every cleanup block."""


def _interrupt(signum, _frame):
    raise CaptureInterrupted("the capture was stopped by signal %d" % signum)


def validate(params):
    """A list of problems with the options (empty when they are usable)."""
    problems = []
    name = params["name"]
    if not name or not name.strip():
        problems.append("name must not be empty")
    elif re.search(r"[\x00-\x1f]", name):
        problems.append("name must not contain control characters or line breaks")
    elif name.strip().isdigit():
        problems.append("name must not be only digits (wimlib and DISM would read it as an index)")
    if params["description"] is not None and re.search(r"[\x00-\x08\x0b\x0c\x0e-\x1f]", params["description"]):
        problems.append("description must not contain control characters")
    if params["threads"] is not None and params["threads"] < 1:
        problems.append("threads must be 1 or more")
    if params["partition"] is not None and params["partition"] < 1:
        problems.append("partition must be 1 or more")
    if params["lock_timeout"] < 0:
        problems.append("lock_timeout must be 0 or more")
    dest_dir = os.path.dirname(os.path.abspath(params["dest"]))
    if not os.path.isdir(dest_dir):
        problems.append("the directory of dest (%s) does not exist; create it first" % dest_dir)
    if os.path.isdir(params["dest"]):
        problems.append("dest %s is a directory; give the path of the WIM file" % params["dest"])
    scratch = params["scratch_dir"]
    if scratch is not None and not os.path.isdir(scratch):
        problems.append("scratch_dir %s does not exist; create it or leave it unset" % scratch)
    try:
        [wimlib.normalize_exclusion(entry) for entry in params["exclusions"]]
    except ValueError as error:
        problems.append("exclusions: %s" % error)
    return problems


def existing_images(dest):
    """Images of ``dest`` when it exists, None when it does not; CaptureError when it is no WIM."""
    if not os.path.lexists(dest):
        return None
    try:
        wimlib.read_header(dest)
        return wimlib.wim_images(dest)
    except wimlib.CaptureError as error:
        raise wimlib.CaptureError("dest %s exists but cannot be read as a WIM (%s); it is left alone: choose "
                                  "another dest" % (dest, error))


def decide(images, name, fingerprint, append, dest):
    """('capture' | 'append' | 'none', existing image or None). CaptureError when refused."""
    if images is None:
        return "capture", None
    same_name = wimlib.find_image(images, name)
    if same_name is not None:
        if same_name.get("source_fingerprint") == fingerprint:
            return "none", same_name
        raise wimlib.CaptureError(
            "%s already has an image named %r (index %d) that was captured from %s; existing images are never "
            "overwritten. Choose a new name%s or another dest" % (
                dest, name, same_name["index"],
                "a different or since changed source" if same_name.get("source_fingerprint")
                else "something this module did not record", " with append: true" if not append else ""))
    if not append:
        raise wimlib.CaptureError(
            "dest %s already exists (%d image(s): %s); it is never overwritten. Set append: true to add this image "
            "as index %d, or choose another dest" % (
                dest, len(images), ", ".join("%d %r" % (i["index"], i["name"]) for i in images), len(images) + 1))
    return "append", None


def keep_ownership(path, original):
    """Give the appended copy the mode (and, as root, the owner) of the WIM it replaces."""
    os.chmod(path, stat.S_IMODE(original.st_mode))
    if os.geteuid() == 0:
        os.chown(path, original.st_uid, original.st_gid)


def source_label(plan):
    if plan.partition is not None:
        return "%s (partition %d)" % (plan.src, plan.partition)
    return plan.src


class Capture(object):
    """One capture run: the plan, then the locked write of the WIM."""

    def __init__(self, module):
        self.module = module
        self.params = module.params
        self.dest = os.path.abspath(self.params["dest"])
        self.scratch_dir = self.params["scratch_dir"] or os.path.dirname(self.dest)
        self.exclusions = [wimlib.normalize_exclusion(e) for e in self.params["exclusions"]]
        self.result = {"changed": False, "dest": self.dest}
        self.commands = []
        self.timings = {}

    # -------------------------------------------------------------- planning
    def plan(self):
        params = self.params
        self.source = capture_source.inspect_source(params["src"], params["partition"])
        capture_source.check_not_in_use(self.source)
        self.fingerprint = self.source.fingerprint({"exclusions": self.exclusions})
        self.result.update(source=self.source.as_dict(), fingerprint=self.fingerprint,
                           volume_access=capture_source.planned_access(self.source, params["volume_access"]))
        if self.source.dirty:
            self.module.warn("the NTFS volume of %s is marked dirty (not cleanly shut down: hibernation, Fast "
                             "Startup or a crash); the image may be inconsistent. Shut Windows down fully and capture "
                             "again" % source_label(self.source))

    def decide(self):
        images = existing_images(self.dest)
        action, existing = decide(images, self.params["name"], self.fingerprint, self.params["append"], self.dest)
        if action == "append":
            self._check_append_compression()
        self.action = action
        self.result["action"] = action
        self.result.update(self._options(images, existing))
        return action, existing

    def _options(self, images, existing):
        """The capture options in effect, recorded in the result (and so in manifests)."""
        if images is None:
            compression = self.params["compression"] or "fast"
        else:
            names = dict((v.lower(), k) for k, v in wimlib.COMPRESSION_WIMLIB_NAMES.items())
            compression = names.get(wimlib.wim_compression(self.dest).lower(), "unknown")
        return {"compression": compression, "exclusions": list(self.exclusions),
                "check_integrity": self.params["check_integrity"], "boot": self.params["boot"],
                "threads": self.params["threads"]}

    def _check_append_compression(self):
        wanted = self.params["compression"]
        if wanted is None:
            return
        actual = wimlib.wim_compression(self.dest)
        if actual.lower() != wimlib.COMPRESSION_WIMLIB_NAMES[wanted].lower():
            raise wimlib.CaptureError("%s uses %s compression and a WIM has only one; appending with compression %s "
                                      "is impossible. Leave compression unset or capture into a new dest"
                                      % (self.dest, actual, wanted))

    def argv(self, volume_path, wim_path, config_path):
        properties = {
            wimlib.PROPERTY_FINGERPRINT: self.fingerprint,
            wimlib.PROPERTY_SOURCE: source_label(self.source),
            wimlib.PROPERTY_TOOL: TOOL_NAME,
        }
        return wimlib.capture_argv(
            "append" if self.action == "append" else "capture", volume_path, wim_path, self.params["name"],
            self.params["description"], self.params["compression"] or "fast", config_path,
            self.params["check_integrity"], self.params["boot"], self.params["threads"], properties)

    def planned_commands(self):
        partial = "%s/.%s.partial-XXXX" % (os.path.dirname(self.dest), os.path.basename(self.dest))
        volume = self.source.src
        commands = []
        access = self.result["volume_access"]
        if access == "qemu_convert":
            volume = os.path.join(self.scratch_dir, ".%s.scratch-XXXX" % os.path.basename(self.dest))
            commands.append(wimlib.command_line(capture_source.convert_argv(self.source, volume)))
        elif access == "copy":
            volume = os.path.join(self.scratch_dir, ".%s.scratch-XXXX" % os.path.basename(self.dest))
            end = self.source.offset + self.source.size
            commands.append("copy bytes %d-%d of %s to %s" % (self.source.offset, end, self.source.src, volume))
        elif access == "loop":
            volume = "/dev/loopN (offset %d, size %d of %s)" % (self.source.offset, self.source.size, self.source.src)
        if self.action == "append":
            commands.append("copy %s to %s" % (self.dest, partial))
        main = wimlib.command_line(self.argv(volume, partial, "CONFIG"))
        commands.append(main)
        if self.params["verify"]:
            commands.append(wimlib.command_line(wimlib.verify_argv(partial)))
        commands.append("%s %s -> %s" % ("rename" if self.action == "append" else "link", partial, self.dest))
        return main, commands

    # -------------------------------------------------------------- doing
    def leftover_patterns(self):
        return [atomic_files.hidden_pattern(self.dest, "partial"),
                atomic_files.hidden_pattern(self.dest, "scratch", directory=self.scratch_dir)]

    def write(self):
        """Capture into a hidden file and give it its final name. Caller holds the dest lock."""
        removed = []
        for path in atomic_files.leftovers(self.leftover_patterns()):
            if atomic_files.remove_path(path):
                removed.append(path)
        self.result["removed_leftovers"] = removed
        partial = atomic_files.hidden_name(self.dest, "partial")
        scratch = atomic_files.hidden_name(os.path.join(self.scratch_dir, os.path.basename(self.dest)), "scratch")
        config_path = os.path.join(self.module.tmpdir, "wimlib-capture.ini")
        with open(config_path, "w") as handle:
            handle.write(wimlib.exclusion_config(self.exclusions))
        original = os.stat(self.dest) if self.action == "append" else None
        try:
            if self.action == "append":
                started = time.monotonic()
                atomic_files.copy_range(self.dest, partial)
                keep_ownership(partial, original)
                self.commands.append("copy %s to %s" % (self.dest, partial))
                self.timings["copy_existing"] = round(time.monotonic() - started, 3)
            self._capture(partial, scratch, config_path)
            if self.params["verify"]:
                started = time.monotonic()
                argv = wimlib.verify_argv(partial)
                self.commands.append(wimlib.command_line(argv))
                try:
                    wimlib.run_child(argv, "wimlib-imagex verify of the new WIM", missing_package="wimtools")
                except wimlib.ToolError as error:
                    raise wimlib.CaptureError("the new WIM failed verification and was deleted; %s was not changed: %s"
                                              % (self.dest, error))
                self.timings["verify"] = round(time.monotonic() - started, 3)
            self.result["verified"] = bool(self.params["verify"])
            atomic_files.fsync_path(partial)
            images = wimlib.wim_images(partial)
            if self.params["checksum"]:
                started = time.monotonic()
                self.result["sha256"] = atomic_files.sha256_file(partial)
                self.timings["checksum"] = round(time.monotonic() - started, 3)
            self._move_into_place(partial, original)
        except BaseException:
            atomic_files.remove_path(partial)
            raise
        self._describe(images, wimlib.find_image(images, self.params["name"]))
        self.result["changed"] = True

    def _capture(self, partial, scratch, config_path):
        started = time.monotonic()
        with capture_source.prepare_volume(self.source, self.params["volume_access"], scratch) as volume:
            if volume.access == "qemu_convert":
                self.commands.append(wimlib.command_line(capture_source.convert_argv(self.source, scratch)))
            self.timings["prepare"] = round(time.monotonic() - started, 3)
            self.result.update(volume_access=volume.access, copied_bytes=volume.copied_bytes)
            for note in volume.notes:
                self.module.warn(note)
            argv = self.argv(volume.path, partial, config_path)
            self.result["command"] = wimlib.command_line(argv)
            self.commands.append(self.result["command"])
            started = time.monotonic()
            try:
                wimlib.run_child(argv, "wimlib-imagex %s" % argv[1], missing_package="wimtools")
            except wimlib.ToolError as error:
                raise wimlib.CaptureError("%s; nothing was written under %s" % (error, self.dest))
            self.timings["capture"] = round(time.monotonic() - started, 3)

    def _move_into_place(self, partial, original):
        if original is None:
            try:
                atomic_files.link_into_place(partial, self.dest)
            except FileExistsError:
                raise wimlib.CaptureError("%s appeared while capturing (written by a program that ignores the lock "
                                          "file); it was left alone and the new WIM discarded" % self.dest)
            return
        now = os.stat(self.dest)
        if (now.st_ino, now.st_size, now.st_mtime_ns) != (original.st_ino, original.st_size, original.st_mtime_ns):
            raise wimlib.CaptureError("%s changed while the image was appended to a copy of it (a program that "
                                      "ignores the lock file wrote it); it was left alone and the copy discarded"
                                      % self.dest)
        atomic_files.replace_into_place(partial, self.dest)

    def _describe(self, images, image):
        self.result.update(
            index=image["index"] if image else None, image_count=len(images), image_info=image,
            images=[{"index": i["index"], "name": i["name"]} for i in images],
            size=os.stat(self.dest).st_size)

    def unchanged(self, existing):
        images = wimlib.wim_images(self.dest)
        self._describe(images, existing)
        if self.params["checksum"]:
            self.result["sha256"] = atomic_files.sha256_file(self.dest)
        self.result.update(verified=False, removed_leftovers=[], copied_bytes=0)

    def finish(self):
        self.result["commands"] = self.commands
        self.result["timings"] = self.timings
        return self.result


def run_module():
    module = AnsibleModule(
        argument_spec=dict(
            src=dict(type="path", required=True),
            dest=dict(type="path", required=True),
            name=dict(type="str", required=True),
            description=dict(type="str"),
            compression=dict(type="str", choices=list(wimlib.COMPRESSION_ARGS)),
            append=dict(type="bool", default=False),
            exclusions=dict(type="list", elements="str", default=list(wimlib.DEFAULT_EXCLUSIONS)),
            check_integrity=dict(type="bool", default=False),
            verify=dict(type="bool", default=False),
            checksum=dict(type="bool", default=True),
            scratch_dir=dict(type="path"),
            partition=dict(type="int"),
            volume_access=dict(type="str", default="auto", choices=list(capture_source.ACCESS_CHOICES)),
            boot=dict(type="bool", default=False),
            threads=dict(type="int"),
            lock_timeout=dict(type="int", default=0),
        ),
        supports_check_mode=True,
    )
    problems = validate(module.params)
    if problems:
        module.fail_json(msg="; ".join(problems))
    previous = {sig: signal.signal(sig, _interrupt) for sig in (signal.SIGTERM, signal.SIGHUP)}
    capture = Capture(module)
    try:
        capture.plan()
        action, existing = capture.decide()
        if action == "none":
            capture.unchanged(existing)
            module.exit_json(**capture.finish())
        if module.check_mode:
            capture.result["command"], capture.commands = capture.planned_commands()
            capture.result["changed"] = True
            module.exit_json(**capture.finish())
        lock = atomic_files.FileLock(atomic_files.lock_path(capture.dest), module.params["lock_timeout"],
                                     what="dest %s" % capture.dest)
        with lock:
            # Decide again under the lock: another run may have written dest meanwhile.
            action, existing = capture.decide()
            if action == "none":
                capture.unchanged(existing)
            else:
                capture.write()
        module.exit_json(**capture.finish())
    except atomic_files.LockTimeout as error:
        module.fail_json(msg="%s: another capture into the same dest is running; set lock_timeout to wait for it"
                         % error, **capture.finish())
    except wimlib.CaptureError as error:
        module.fail_json(msg=str(error), **capture.finish())
    except CaptureInterrupted as error:
        module.fail_json(msg="%s; the partial WIM and scratch files were removed and %s was not changed"
                         % (error, capture.dest), **capture.finish())
    except OSError as error:
        module.fail_json(msg="capture into %s failed: %s (%s); %s was not changed" % (
            capture.dest, error.strerror or error, error.filename or "", capture.dest),
            exception=traceback.format_exc(), **capture.finish())
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def main():
    run_module()


if __name__ == "__main__":
    main()
