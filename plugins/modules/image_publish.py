#!/usr/bin/python
# Copyright: (c) 2026, winimage.generalize contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: image_publish
short_description: Publish a captured WIM into an image store with a manifest, catalogue and retention
version_added: 0.1.0
description:
  - Copies (or moves) a WIM into the image store O(store) under a versioned name
    C(<family>-<yyyymmdd>-<n>.wim) (UTC date; C(n) counts up within the family and day), writes its
    manifest C(<family>-<yyyymmdd>-<n>.json) beside it and adds it to the catalogue C(catalog.json)
    (and the readable C(catalog.md)).
  - "The manifest records the operating system (selected readiness facts), the source host and kind,
    the answer-file settings with every password removed, the Store apps removed, driver persistence,
    the preflight findings before remediation and which were resolved, the capture backend and options,
    size, SHA-256, the verification result and the lineage (parent image, generalize and rearm counts).
    Its schema is C(schemas/manifest.schema.json)."
  - "Safe for concurrent publishers: the copy goes to a hidden file in the store (fsynced) without a
    lock; then, holding C(.catalog.lock) (C(flock)), the next version is allocated, the copy linked to
    its final name (never replacing a file), the manifest written and the catalogue replaced in one
    rename. A failure at any step leaves the catalogue and every existing image as they were."
  - Retention (O(keep)) deletes the oldest images of the family beyond the newest O(keep), never the
    newest image and never an image that a kept image names as its parent.
  - Idempotent - a WIM whose SHA-256 is already published in the family is not published again
    (C(changed=false), the existing entry is returned).
  - Without O(src), nothing is published - the module returns the catalogue and applies retention
    (O(keep)) to O(family), or to every family when O(family) is not set.
options:
  store:
    description: The image store directory (must exist). Use a local filesystem or NFS with working locks.
    type: path
    required: true
  family:
    description:
      - Image family, the first part of the versioned names, for example V(win11-23h2-enterprise).
      - 1-64 letters, digits, C(.), C(_) or C(-), not ending in C(-) and 8 digits.
      - Required with O(src).
    type: str
  src:
    description: The WIM to publish (for example the C(dest) of M(winimage.generalize.wim_capture)).
    type: path
  sha256:
    description:
      - Expected SHA-256 of O(src) (the C(sha256) returned by M(winimage.generalize.wim_capture)). The copy
        is checked against it and nothing is published on a mismatch.
    type: str
  mode:
    description:
      - V(copy) leaves O(src) in place; V(move) removes it after publishing (a hard link, not a copy,
        when O(src) is on the same filesystem as the store).
    type: str
    choices: [copy, move]
    default: copy
  keep:
    description:
      - How many images of the family to keep; older ones are deleted after the catalogue is updated.
        V(0) keeps every image.
    type: int
    default: 0
  parent:
    description:
      - Catalogue id of the published image this image was built from (deployed, changed, generalized
        again). Leave unset for an image built from installation media.
      - The manifest's lineage counts generalizations along the parents and warns (finding
        C(lineage_rearm_budget)) when the rearm budget is exceeded.
    type: str
  rearm_budget:
    description:
      - Number of sysprep /generalize runs (rearms) a lineage may use. Microsoft support documents 3
        for Windows Vista and later (seed Sysprep, SkipRearm, and Image Build Best Practices).
    type: int
    default: 3
  facts:
    description:
      - Readiness facts of the captured image (the C(facts) of M(winimage.generalize.image_facts)).
        Only selected fields are kept (os, setup state, domain membership, licensing, disk, virtualization).
    type: dict
  verify_findings:
    description: Findings of phase verify on the captured image (the C(findings) of image_facts).
    type: list
    elements: dict
  verify_summary:
    description: Their summary (the C(summary) of image_facts).
    type: dict
  preflight_findings:
    description: Findings of phase preflight on the reference machine before remediation.
    type: list
    elements: dict
  source:
    description:
      - Where the image came from - C(host) (inventory name of the reference machine), C(kind)
        (V(physical), V(vm) or V(hyperv_host)), C(hypervisor), C(disk).
    type: dict
  answer_file_settings:
    description:
      - The answer-file settings used for sysprep (the input of the answer-file builder). Every key that
        holds a password (C(password), C(administrator_password), C(machine_password), C(Password) ...)
        is removed; the manifest lists the removed paths.
      - Redact them before they reach the module with the P(winimage.generalize.redact_secrets#filter) filter,
        so no password is ever a module argument.
    type: dict
  answer_file_redacted:
    description:
      - Dotted paths of secret settings already removed before the call (the C(removed) list of
        C(redact_secrets(details=true))), so the manifest records that they were set.
    type: list
    elements: str
  appx_removed:
    description: Store (Appx) packages removed from the reference machine.
    type: list
    elements: raw
  drivers:
    description:
      - Driver information to record, for example C(persist_all_device_installs) and C(packages).
        C(persist_all_device_installs) defaults to the answer-file setting.
    type: raw
  capture:
    description:
      - The result of the capture task (for example the registered result of
        M(winimage.generalize.wim_capture)); its options (compression, exclusions, verify ...),
        command, access method and source fingerprint are recorded.
    type: dict
  capture_backend:
    description: Which backend captured the image.
    type: str
    choices: [wimlib, dism]
    default: wimlib
  secret_values:
    description:
      - Values that must never appear in the manifest (for example the vault passwords used for the build).
        Publishing fails, before anything is written, when one is found. Never logged.
    type: list
    elements: str
    default: []
  lock_timeout:
    description: Seconds to wait for another publisher holding the store lock.
    type: int
    default: 600
requirements:
  - python >= 3.8 on the host that holds the store
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Reports the id the image would get and what retention would delete; writes nothing.
  diff_mode:
    support: none
  platform:
    platforms: posix
notes:
  - Locks are C(flock) on C(.catalog.lock) in the store. On NFS they work across hosts with NFSv4 (or
    NFSv3 with lockd) unless the share is mounted C(nolock); SMB/CIFS mounts do not share C(flock) between
    clients, so publish to an SMB store from one host at a time. See C(docs/capture.md).
seealso:
  - module: winimage.generalize.wim_capture
  - module: winimage.generalize.image_facts
  - name: Capture and publish
    description: Store layout, manifest fields, retention and atomicity (docs/capture.md).
    link: https://github.com/winimage/generalize/blob/main/docs/capture.md
author:
  - winimage.generalize contributors (@winimage)
"""

EXAMPLES = r"""
- name: Publish the verified WIM, keep the five newest of the family
  winimage.generalize.image_publish:
    store: /srv/images/store
    family: win11-23h2-enterprise
    src: "{{ capture.dest }}"
    sha256: "{{ capture.sha256 }}"
    mode: move
    keep: 5
    capture: "{{ capture }}"
    facts: "{{ verified.facts }}"
    verify_findings: "{{ verified.findings }}"
    verify_summary: "{{ verified.summary }}"
    preflight_findings: "{{ hostvars['ref-win11'].winimage_findings | default([]) }}"
    source:
      host: ref-win11
      kind: vm
      hypervisor: kvm
    answer_file_settings: "{{ sysprep_answer_file | winimage.generalize.redact_secrets }}"
    secret_values:
      - "{{ vault_local_admin_password }}"
  register: published

- name: Show the catalogue
  ansible.builtin.debug:
    msg: "{{ published.listing }}"

- name: Apply retention to every family without publishing
  winimage.generalize.image_publish:
    store: /srv/images/store
    keep: 3
"""

RETURN = r"""
id:
  description: Catalogue id of the published (or already present) image.
  returned: when src is given
  type: str
  sample: win11-23h2-enterprise-20260121-2
path:
  description: Path of the WIM in the store.
  returned: when src is given
  type: str
manifest_path:
  description: Path of the manifest in the store.
  returned: when src is given
  type: str
manifest:
  description: The manifest written (schema C(schemas/manifest.schema.json)).
  returned: when an image was published
  type: dict
entry:
  description: The catalogue entry of the image.
  returned: when src is given, not in check mode
  type: dict
deleted:
  description: Ids removed by retention (in check mode, the ids that would be removed).
  returned: always
  type: list
  elements: str
retention_errors:
  description: Files of dropped images that could not be deleted (the catalogue no longer lists them).
  returned: always
  type: list
  elements: str
orphans:
  description: Versioned files in the store that the catalogue does not list (never deleted by the module).
  returned: always
  type: list
  elements: str
images:
  description: Every catalogue entry after the run, oldest first per family.
  returned: always
  type: list
  elements: dict
listing:
  description: The catalogue as Markdown (the content of C(catalog.md)).
  returned: always
  type: str
catalog_path:
  description: Path of C(catalog.json).
  returned: always
  type: str
lineage_findings:
  description: Findings about the lineage (C(lineage_rearm_budget)), also shown as warnings.
  returned: when an image was published
  type: list
  elements: dict
"""

import re
import traceback

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.winimage.generalize.plugins.module_utils import atomic_files
from ansible_collections.winimage.generalize.plugins.module_utils import catalog as catalog_utils
from ansible_collections.winimage.generalize.plugins.module_utils import manifest as manifest_utils
from ansible_collections.winimage.generalize.plugins.module_utils import wimlib_capture


def describe_wim(src, capture):
    """Index, images and image details for the manifest: from the capture result, or else from the
    WIM's own XML (a WIM captured by DISM or by hand), or nothing when wimlib is not installed."""
    keys = ("index", "image_count", "images", "image_info")
    if capture.get("image_info"):
        return dict((key, capture.get(key)) for key in keys)
    try:
        images = wimlib_capture.wim_images(src)
    except (wimlib_capture.CaptureError, OSError):
        return {}
    index = capture.get("index") or (images[0]["index"] if len(images) == 1 else None)
    chosen = [image for image in images if image["index"] == index]
    return {"index": index, "image_count": len(images), "images": [{"index": i["index"], "name": i["name"]}
                                                                   for i in images],
            "image_info": chosen[0] if chosen else None}


def manifest_maker(module, now):
    params = module.params
    capture = params["capture"] or {}
    described = describe_wim(params["src"], capture) if params["src"] else {}

    def make(image_id, image, parent):
        image = dict(image)
        image.update((key, value) for key, value in described.items() if value is not None)
        document = manifest_utils.build_manifest(
            image_id, params["family"], catalog_utils.iso(now), image,
            capture_backend=params["capture_backend"], capture=capture, facts=params["facts"],
            source=params["source"], answer_file_settings=params["answer_file_settings"],
            answer_file_removed_secrets=params["answer_file_redacted"],
            appx_removed=params["appx_removed"], drivers=params["drivers"],
            preflight_findings=params["preflight_findings"], verify_findings=params["verify_findings"],
            verify_summary=params["verify_summary"], wim_verified=capture.get("verified"), parent=parent,
            rearm_budget=params["rearm_budget"], secret_values=params["secret_values"])
        return manifest_utils.check_manifest(document)

    return make


def validate(module):
    params = module.params
    problems = []
    if params["src"] and not params["family"]:
        problems.append("family is required with src")
    if params["family"]:
        try:
            catalog_utils.check_family(params["family"])
        except catalog_utils.CatalogError as error:
            problems.append(str(error))
    if params["keep"] < 0:
        problems.append("keep must be 0 (keep all) or more")
    if params["sha256"] and not re.match(r"^[0-9a-fA-F]{64}$", params["sha256"]):
        problems.append("sha256 must be 64 hexadecimal digits")
    if params["rearm_budget"] < 1:
        problems.append("rearm_budget must be 1 or more")
    if params["lock_timeout"] < 0:
        problems.append("lock_timeout must be 0 or more")
    return problems


def summarize(module, store, result):
    catalog = result.pop("catalog")
    result["images"] = catalog["images"]
    result["listing"] = catalog_utils.render_listing(catalog)
    result["catalog_path"] = store.catalog_path
    result.setdefault("retention_errors", [])
    for error in result["retention_errors"]:
        module.warn("retention could not delete %s" % error)
    return result


def run_module():
    module = AnsibleModule(
        argument_spec=dict(
            store=dict(type="path", required=True),
            family=dict(type="str"),
            src=dict(type="path"),
            sha256=dict(type="str"),
            mode=dict(type="str", default="copy", choices=["copy", "move"]),
            keep=dict(type="int", default=0),
            parent=dict(type="str"),
            rearm_budget=dict(type="int", default=manifest_utils.DEFAULT_REARM_BUDGET),
            facts=dict(type="dict"),
            verify_findings=dict(type="list", elements="dict"),
            verify_summary=dict(type="dict"),
            preflight_findings=dict(type="list", elements="dict"),
            source=dict(type="dict"),
            answer_file_settings=dict(type="dict"),
            answer_file_redacted=dict(type="list", elements="str"),
            appx_removed=dict(type="list", elements="raw"),
            drivers=dict(type="raw"),
            capture=dict(type="dict"),
            capture_backend=dict(type="str", default="wimlib", choices=list(manifest_utils.CAPTURE_BACKENDS)),
            secret_values=dict(type="list", elements="str", default=[], no_log=True),
            lock_timeout=dict(type="int", default=600),
        ),
        supports_check_mode=True,
    )
    problems = validate(module)
    if problems:
        module.fail_json(msg="; ".join(problems))
    params = module.params
    if params["answer_file_settings"]:
        _clean, removed = manifest_utils.redact_settings(params["answer_file_settings"])
        if removed:
            module.warn("answer_file_settings held %d secret setting(s) (%s); they were left out of the manifest. "
                        "Pass the settings through the winimage.generalize.redact_secrets filter so passwords never "
                        "become module arguments" % (len(removed), ", ".join(removed)))
    store = catalog_utils.Store(params["store"], lock_timeout=params["lock_timeout"])
    now = catalog_utils.utc_now()
    try:
        if params["src"]:
            result = store.publish(params["src"], params["family"], manifest_maker(module, now),
                                   sha256=(params["sha256"] or "").lower() or None, mode=params["mode"],
                                   keep=params["keep"], parent_id=params["parent"], now=now,
                                   check_mode=module.check_mode)
            findings = ((result.get("manifest") or {}).get("lineage") or {}).get("findings") or []
            result["lineage_findings"] = findings
            for finding in findings:
                module.warn("%s: %s %s" % (finding["id"], finding["message"], finding["remediation"]))
        else:
            families = [params["family"]] if params["family"] else None
            result = store.prune(params["keep"], families, now=now, check_mode=module.check_mode)
        module.exit_json(**summarize(module, store, result))
    except (catalog_utils.CatalogError, manifest_utils.ManifestError) as error:
        module.fail_json(msg=str(error))
    except atomic_files.LockTimeout as error:
        module.fail_json(msg="%s; another publish is still running: raise lock_timeout or retry" % error)
    except OSError as error:
        module.fail_json(msg="publishing into %s failed: %s (%s); the catalogue and existing images were not "
                         "changed" % (params["store"], error.strerror or error, error.filename or ""),
                         exception=traceback.format_exc())


def main():
    run_module()


if __name__ == "__main__":
    main()
