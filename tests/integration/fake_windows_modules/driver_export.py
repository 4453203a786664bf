# Copyright: (c) 2026, winimage.generalize contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Stand-in for winimage.generalize.driver_export on localhost, for the drivers role test only.

It keeps the module's contract (options, return keys, manifest, ZIP, check mode, idempotence)
with the Python comparison of module_utils/driver_store.py. The installed drivers come from the
JSON file named by the environment variable WINIMAGE_FAKE_DRIVERS.
"""

from __future__ import annotations

import json
import os
import shutil
import zipfile

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.winimage.generalize.plugins.module_utils.driver_store import MANIFEST_NAME, export_needed


def read_json(path):
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except (OSError, ValueError):
        return None


def main():
    module = AnsibleModule(argument_spec=dict(
        destination=dict(type="path"),
        state=dict(type="str", choices=["exported", "inventory"], default="exported"),
        archive_path=dict(type="path"),
        method=dict(type="str", choices=["auto", "export_windowsdriver", "pnputil"], default="auto"),
    ), required_if=[("state", "exported", ["destination"])], supports_check_mode=True)
    drivers = read_json(os.environ["WINIMAGE_FAKE_DRIVERS"])
    result = dict(changed=False, drivers=drivers, destination=module.params["destination"])
    if module.params["state"] == "inventory":
        module.exit_json(**result)

    destination, archive = module.params["destination"], module.params["archive_path"]
    stale = export_needed(drivers, read_json(os.path.join(destination, MANIFEST_NAME)))
    archive_missing = bool(archive) and not os.path.isfile(archive)
    result.update(exported=stale, archived=bool(archive) and (stale or archive_missing),
                  manifest_path=os.path.join(destination, MANIFEST_NAME), archive_path=archive)
    if not stale and not archive_missing:
        module.exit_json(**result)
    result.update(changed=True, method="export_windowsdriver")
    if module.check_mode:
        module.exit_json(**result)
    if stale:
        shutil.rmtree(destination, ignore_errors=True)
        os.makedirs(destination)
        for driver in drivers:
            with open(os.path.join(destination, driver["original_name"]), "w", encoding="utf-8") as handle:
                handle.write("; %s %s\n" % (driver["provider"], driver["version"]))
        with open(os.path.join(destination, MANIFEST_NAME), "w", encoding="utf-8") as handle:
            json.dump({"format": 1, "method": "export_windowsdriver", "drivers": drivers}, handle)
    if archive:
        with zipfile.ZipFile(archive, "w") as packed:
            for name in sorted(os.listdir(destination)):
                packed.write(os.path.join(destination, name), name)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
