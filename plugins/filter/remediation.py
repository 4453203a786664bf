# Copyright: (c) 2026, winimage.generalize contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Filters of the remediation roles: unjoin_plan, driver_store_path, driver_export_needed.

Thin wrappers: the decisions live in module_utils/domain_unjoin.py and module_utils/driver_store.py.
Documentation: unjoin_plan.yml, driver_store_path.yml and driver_export_needed.yml beside this file,
and docs/remediation.md.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

from ansible.errors import AnsibleFilterError

from ansible_collections.winimage.generalize.plugins.module_utils import domain_unjoin, driver_store


def unjoin_plan(facts, workgroup_name="WORKGROUP", remove_computer_object=False, dc_host="", local_admin_user=""):
    """Readiness facts -> {action: noop|unjoin|refuse, code, reason, ...}."""
    try:
        return domain_unjoin.unjoin_plan(facts, {
            "workgroup_name": workgroup_name,
            "remove_computer_object": remove_computer_object,
            "dc_host": dc_host,
            "local_admin_user": local_admin_user,
        })
    except domain_unjoin.UnjoinOptionsError as error:
        raise AnsibleFilterError("winimage.generalize.unjoin_plan: %s" % error) from None


def driver_store_path(facts, store, style="windows", manufacturer="", model="", build=""):
    """Readiness facts -> <store>/<manufacturer>/<model>/<os build> with the separators of ``style``."""
    try:
        key = driver_store.driver_store_key(facts, manufacturer, model, build)
        return driver_store.driver_store_path(store, key, style)
    except driver_store.DriverStoreError as error:
        raise AnsibleFilterError("winimage.generalize.driver_store_path: %s" % error) from None


def driver_export_needed(drivers, manifest=None):
    """Current driver inventory + the exported manifest (mapping or JSON text) -> whether to export."""
    if isinstance(manifest, (str, bytes)) and manifest.strip():
        try:
            manifest = json.loads(manifest)
        except ValueError as error:
            raise AnsibleFilterError("winimage.generalize.driver_export_needed: the manifest is not JSON (%s); "
                                     "delete it to export again" % error) from None
    try:
        return driver_store.export_needed(drivers, manifest or None)
    except driver_store.DriverStoreError as error:
        raise AnsibleFilterError("winimage.generalize.driver_export_needed: %s" % error) from None


class FilterModule(object):
    """winimage.generalize remediation filters."""

    def filters(self):
        return {
            "unjoin_plan": unjoin_plan,
            "driver_store_path": driver_store_path,
            "driver_export_needed": driver_export_needed,
        }
