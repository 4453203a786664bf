#!/usr/bin/python
# Copyright: (c) 2026, winimage.generalize contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: image_facts
short_description: Read the readiness facts of a Windows disk image or WIM from Linux, without booting it
version_added: 0.1.0
description:
  - Reads a Windows installation inside a WIM/ESD archive, a raw disk image (MBR or GPT), a bare NTFS
    volume image or block device, or a VHD, VHDX, VMDK or qcow2 virtual disk, and returns the readiness
    facts (the same schema as M(winimage.generalize.readiness_facts), gatherer kind C(offline)) and the
    findings of the rules engine for O(phase).
  - Nothing is booted, mounted or changed. The source is opened read-only and only its metadata and a
    few files are read (registry hives, C(State.ini), Panther logs, answer files, the Appx state
    repository), so the cost hardly grows with the size of the image.
  - "How each format is read: WIM/ESD with C(wimlib-imagex) (only the needed files are extracted to a
    scratch directory); NTFS with a built-in read-only NTFS reader; disks by their partition table (the
    Windows partition is the one holding C(Windows/System32/config/SYSTEM)); virtual disks through
    C(qemu-img map) (allocated ranges are read straight from the file, compressed ones through
    C(qemu-img dd)). See C(docs/image-facts.md)."
  - Facts that cannot be known offline (BitLocker protection of a running system, the remaining rearm
    count, who is connected, the Hyper-V VM list, ...) are listed in C(facts.unavailable) with the
    reason, so rules report them as C(unknown) instead of guessing.
  - Registry hives are read as they are on disk; transaction logs are not replayed. A dirty hive is
    read anyway and a note says so.
  - Secrets are never returned. Answer-file passwords and the Winlogon C(DefaultPassword) become
    booleans and element names.
options:
  path:
    description:
      - The image file or block device on the host the module runs on.
      - The format is detected from its content, not its name.
    type: path
    required: true
  index:
    description:
      - Image index inside a WIM/ESD archive (1-based). Ignored for other formats.
      - A wrong index fails with the list of images the archive holds.
    type: int
    default: 1
  partition:
    description:
      - Partition number to read in a disk image (as Linux numbers them; MBR logical partitions
        start at 5).
      - By default every NTFS partition is searched and the first one holding
        C(Windows/System32/config/SYSTEM) is used.
    type: int
  phase:
    description:
      - Which rules to evaluate on the facts.
      - V(verify) checks a captured image (generalized, no secrets, no domain residue);
        V(preflight) checks an installation that is about to be generalized; V(none) returns facts only.
    type: str
    default: verify
    choices: [preflight, verify, none]
  rule_options:
    description:
      - Options of the rules engine, for example C(min_free_bytes), C(build_accounts),
        C(allowed_profiles), C(allow_skip_rearm). See C(docs/findings.md).
    type: dict
    default: {}
requirements:
  - python >= 3.8 on the host that reads the image
  - regipy (Python library) importable by that Python
  - wimlib-imagex (package wimtools) for WIM/ESD
  - qemu-img (package qemu-utils) for VHD, VHDX, VMDK and qcow2
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: The module never changes anything; it runs the same way in check mode.
  diff_mode:
    support: none
  platform:
    platforms: posix
notes:
  - Reading a block device or an image owned by another user needs the matching permission (for
    example C(become) for C(/dev/sdb)).
  - A virtual disk that a running VM holds open is refused (qemu's image lock); shut the VM down or
    read a copy.
  - BitLocker-encrypted volumes cannot be read offline; the module fails and returns the facts it
    could establish (C(bitlocker.encrypted_offline=true)) with the C(bitlocker_on) finding.
seealso:
  - module: winimage.generalize.readiness_facts
  - name: Offline image facts
    description: How each format is read and what cannot be known offline (docs/image-facts.md).
    link: https://github.com/winimage/generalize/blob/main/docs/image-facts.md
author:
  - winimage.generalize contributors (@winimage)
"""

EXAMPLES = r"""
- name: Verify a captured WIM before publishing it
  winimage.generalize.image_facts:
    path: /srv/images/win11-23h2.wim
    index: 1
    phase: verify
    rule_options:
      build_accounts: [packer]
  register: image

- name: Stop when a blocker was found
  ansible.builtin.assert:
    that: image.findings | selectattr('severity', 'equalto', 'blocker') | list | length == 0
    fail_msg: "{{ image.findings | selectattr('severity', 'equalto', 'blocker') | map(attribute='message') | list }}"

- name: Preflight a powered-off reference VM from its disk
  winimage.generalize.image_facts:
    path: /var/lib/libvirt/images/ref-win10.qcow2
    phase: preflight

- name: Read the third partition of a raw disk, facts only
  winimage.generalize.image_facts:
    path: /dev/sdb
    partition: 3
    phase: none
  become: true
"""

RETURN = r"""
facts:
  description:
    - The readiness facts (schema version 1.x, see C(docs/facts.md)); derived fields are completed.
    - C(gatherer) also carries C(format), C(partition) or C(wim_index), and C(notes).
  returned: always, when the image could be opened (also on BitLocker failure)
  type: dict
  sample: {"schema_version": "1.0", "gatherer": {"kind": "offline", "name": "winimage.generalize.image_facts",
           "source": "/srv/images/win11.wim:1"}, "os": {"build": 22631}, "errors": {},
           "unavailable": {"licensing.remaining_rearm_count": "kept in the Software Protection ..."}}
findings:
  description: Findings of the rules engine for O(phase), blockers first (empty for V(none)).
  returned: always
  type: list
  elements: dict
  sample: [{"id": "not_generalized", "severity": "blocker", "status": "fail", "phase": "verify",
            "title": "The image is not generalized", "message": "...", "remediation": "...",
            "reference": "https://learn.microsoft.com/..."}]
summary:
  description: Counts of the findings per severity and status, and whether no blocker failed (C(ready)).
  returned: when phase is not none
  type: dict
panther_findings:
  description:
    - Findings of phase C(sysprep) from the Panther logs found in the image
      (C(Windows/System32/Sysprep/Panther) and C(Windows/Panther)), each with C(log_directory).
  returned: always
  type: list
  elements: dict
notes:
  description: What the reader noticed that is not a fact (dirty hives, inferred values, Windows 11 naming).
  returned: always
  type: list
  elements: str
image:
  description: What was opened, for example format, partition table, partition, WIM index and name.
  returned: always
  type: dict
  sample: {"path": "/srv/images/disk.vhdx", "format": "vhdx", "partition_table": "gpt", "partition": 3,
           "windows_dir": "Windows"}
error_kind:
  description:
    - On failure, the class of problem - V(unsupported), V(not_windows), V(bitlocker), V(corrupt),
      V(bad_option), V(unreadable) or V(missing_library).
  returned: failure
  type: str
"""

import datetime
import shutil
import tempfile
import traceback

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.winimage.generalize.plugins.module_utils import facts_schema
from ansible_collections.winimage.generalize.plugins.module_utils.offline_facts import (
    GATHERER_NAME, OFFLINE_UNAVAILABLE, gather_facts, prefetch_patterns)
from ansible_collections.winimage.generalize.plugins.module_utils.offline_registry import (
    HAS_REGIPY, REGIPY_IMPORT_ERROR)
from ansible_collections.winimage.generalize.plugins.module_utils.offline_source import SourceError
from ansible_collections.winimage.generalize.plugins.module_utils.offline_windows import (
    ImageError, find_wim_windows_dir, open_windows_image)

try:
    from ansible_collections.winimage.generalize.plugins.module_utils import rules
    from ansible_collections.winimage.generalize.plugins.module_utils.facts_derive import complete_facts
    HAS_RULES = True
except ImportError:  # pragma: no cover - both ship with the collection
    HAS_RULES = False


def _now():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _source_label(path, description):
    if description.get("format") == "wim":
        return "%s:%s" % (path, description.get("wim_index"))
    if description.get("partition") is not None:
        return "%s (partition %s)" % (path, description["partition"])
    return path


def _gatherer_extra(description):
    keys = ("format", "partition", "partition_table", "wim_index", "wim_image_name", "windows_dir")
    return dict((key, description.get(key)) for key in keys if description.get(key) is not None)


def _evaluate(module, facts, phase):
    if phase == "none":
        return [], None
    try:
        findings = rules.evaluate(facts, phase, module.params["rule_options"])
    except ValueError as error:
        module.fail_json(msg="rule_options: %s" % error, error_kind="bad_option", facts=facts)
    return findings, rules.summarize(findings)


def _bitlocker_result(module, path, error, phase):
    """Facts for an image whose Windows volume is BitLocker-encrypted: only that is known."""
    facts = facts_schema.empty_facts("offline", GATHERER_NAME, source=path, gathered_at=_now())
    facts["unavailable"].update(OFFLINE_UNAVAILABLE)
    facts["bitlocker"]["encrypted_offline"] = True
    reason = "the Windows volume is BitLocker-encrypted and cannot be read offline"
    for section in facts_schema.SECTIONS:
        if section not in ("bitlocker", "connection"):
            facts["errors"][section] = reason
    facts = complete_facts(facts)
    findings, summary = _evaluate(module, facts, phase)
    module.fail_json(msg=str(error), error_kind="bitlocker", facts=facts, findings=findings, summary=summary,
                     image=getattr(error, "details", {}) or {"path": path}, notes=[], panther_findings=[])


def _prepare_wim(opened):
    """Extract the files the gatherer reads from the WIM image, finding the Windows directory first."""
    files = opened.files
    files.prefetch(prefetch_patterns(files.windows_dir))
    if files.exists("%s/System32/config/SYSTEM" % files.windows_dir):
        return
    windows_dir = find_wim_windows_dir(files)
    if windows_dir is None:
        description = opened.description
        raise ImageError("image %s (%s) of %s holds no Windows installation (no Windows/System32/config/SYSTEM)"
                         % (description.get("wim_index"), description.get("wim_image_name") or "no name",
                            description.get("path")), kind="not_windows", details=description)
    files.windows_dir = windows_dir
    opened.description["windows_dir"] = windows_dir
    files.prefetch(prefetch_patterns(windows_dir))


def run_module():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type="path", required=True),
            index=dict(type="int", default=1),
            partition=dict(type="int"),
            phase=dict(type="str", default="verify", choices=["preflight", "verify", "none"]),
            rule_options=dict(type="dict", default={}),
        ),
        supports_check_mode=True,
    )
    if not HAS_REGIPY:
        module.fail_json(msg=missing_required_lib("regipy"), exception=REGIPY_IMPORT_ERROR,
                         error_kind="missing_library")
    path = module.params["path"]
    phase = module.params["phase"]
    if module.params["index"] < 1:
        module.fail_json(msg="index must be 1 or more (WIM image indexes start at 1), not %d"
                         % module.params["index"], error_kind="bad_option")
    if module.params["partition"] is not None and module.params["partition"] < 1:
        module.fail_json(msg="partition must be 1 or more, not %d" % module.params["partition"],
                         error_kind="bad_option")
    if phase != "none":
        try:
            rules.resolve_options(module.params["rule_options"])
        except ValueError as error:
            module.fail_json(msg="rule_options: %s" % error, error_kind="bad_option")

    workdir = tempfile.mkdtemp(prefix="image-facts-", dir=module.tmpdir)
    opened = None
    try:
        try:
            opened = open_windows_image(path, module.params["index"], module.params["partition"], workdir)
            if opened.files.kind == "wim":
                _prepare_wim(opened)
            facts, notes, panther_findings = gather_facts(
                opened.files, source=_source_label(path, opened.description), gathered_at=_now(),
                volume=opened.volume, workdir=workdir, extra_gatherer=_gatherer_extra(opened.description))
        except ImageError as error:
            if error.kind == "bitlocker":
                _bitlocker_result(module, path, error, phase)
            module.fail_json(msg=str(error), error_kind=error.kind, image=error.details or {"path": path})
        except SourceError as error:
            module.fail_json(msg=str(error), error_kind="unreadable", image={"path": path})
        facts = complete_facts(facts)
        findings, summary = _evaluate(module, facts, phase)
        result = dict(changed=False, facts=facts, findings=findings, panther_findings=panther_findings,
                      notes=notes, image=opened.description)
        if summary is not None:
            result["summary"] = summary
        module.exit_json(**result)
    except Exception as error:  # never a bare traceback: say what failed, keep the trace for -vvv
        module.fail_json(msg="image_facts failed reading %s: %s: %s" % (path, type(error).__name__, error),
                         error_kind="unreadable", exception=traceback.format_exc())
    finally:
        if opened is not None:
            opened.close()
        shutil.rmtree(workdir, ignore_errors=True)


def main():
    run_module()


if __name__ == "__main__":
    main()
