# Copyright: (c) 2026, winimage.generalize contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Filters of the hyperv_host role: generalizing a machine that runs Hyper-V.

hyperv_host_plan, hyperv_switch_record, hyperv_switch_plan, hyperv_mac_range_check,
hyperv_hypervisor_check. Thin wrappers: the decisions live in module_utils/hyperv_host.py.
Documentation: the .yml file of each filter beside this one, and docs/targets-hyperv-hosts.md.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError

from ansible_collections.winimage.generalize.plugins.module_utils import hyperv_host
from ansible_collections.winimage.generalize.plugins.plugin_utils.filter_data import plain_data


def _call(name, function, *args, **kwargs):
    try:
        return function(*args, **kwargs)
    except hyperv_host.HyperVHostError as error:
        raise AnsibleFilterError("winimage.generalize.%s: %s" % (name, error)) from None


def hyperv_host_plan(state, os_version, allow_vms=False, remove_switches=True, remove_management_switches=False,
                     clear_mac_range="auto", restore_hypervisor_launch="auto"):
    """The host's state -> what to do before sysprep (refusals, switches, MAC range, answer-file settings)."""
    return _call("hyperv_host_plan", hyperv_host.prepare_plan, plain_data(state), os_version, {
        "allow_vms": allow_vms,
        "remove_switches": remove_switches,
        "remove_management_switches": remove_management_switches,
        "clear_mac_range": clear_mac_range,
        "restore_hypervisor_launch": restore_hypervisor_launch,
    })


def hyperv_switch_record(switches, source_host, recorded_at, mac_address_minimum=None, mac_address_maximum=None):
    """Get-VMSwitch objects -> the switch record document (JSON-able)."""
    return _call("hyperv_switch_record", hyperv_host.switch_record, plain_data(switches), source_host, recorded_at,
                 mac_address_minimum, mac_address_maximum)


def hyperv_switch_plan(record, existing_switches=None, adapters=None, adapter_map=None):
    """A switch record + the deployed host's switches and adapters -> how to create each switch."""
    return _call("hyperv_switch_plan", hyperv_host.switch_recreation_plan, plain_data(record),
                 plain_data(existing_switches) or [], plain_data(adapters) or [], plain_data(adapter_map) or {})


def hyperv_mac_range_check(current, record):
    """{minimum, maximum} now + the switch record -> {regenerated, source, current, message}."""
    current = plain_data(current) or {}
    record = plain_data(record) or {}
    return _call("hyperv_mac_range_check", hyperv_host.mac_range_check,
                 record.get("mac_address_minimum"), record.get("mac_address_maximum"),
                 current.get("minimum"), current.get("maximum"))


def hyperv_hypervisor_check(hypervisor_present, launch_type=None):
    """HypervisorPresent + hypervisorlaunchtype -> {ok, hypervisor_present, launch_type, message}."""
    return _call("hyperv_hypervisor_check", hyperv_host.hypervisor_check, hypervisor_present, launch_type)


class FilterModule(object):
    """winimage.generalize Hyper-V host filters."""

    def filters(self):
        return {
            "hyperv_host_plan": hyperv_host_plan,
            "hyperv_switch_record": hyperv_switch_record,
            "hyperv_switch_plan": hyperv_switch_plan,
            "hyperv_mac_range_check": hyperv_mac_range_check,
            "hyperv_hypervisor_check": hyperv_hypervisor_check,
        }
