# Copyright: (c) 2026, winimage.generalize contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Filters of the hypervisor role: decisions about reference VMs on Hyper-V, VMware and libvirt.

hypervisor_power_state, hypervisor_mode_vm, hypervisor_checkpoint_plan, hypervisor_baseline_plan,
hypervisor_static_mac_plan, hypervisor_integration_services_plan, libvirt_capture_disk.
Thin wrappers: the decisions live in module_utils/hypervisor.py. Documentation: the .yml file of
each filter beside this one, and docs/targets-vms.md.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError

from ansible_collections.winimage.generalize.plugins.module_utils import hypervisor
from ansible_collections.winimage.generalize.plugins.plugin_utils.filter_data import plain_data


def _call(name, function, *args, **kwargs):
    try:
        return function(*args, **kwargs)
    except hypervisor.HypervisorError as error:
        raise AnsibleFilterError("winimage.generalize.%s: %s" % (name, error)) from None


def hypervisor_power_state(raw):
    """A hypervisor's power state word -> running | off | paused | suspended | transition | crashed | unknown."""
    return hypervisor.power_state(raw)


def hypervisor_mode_vm(same_hypervisor_deploy, facts=None):
    """Whether sysprep runs with /mode:vm: {mode_vm, reason, problem}."""
    return _call("hypervisor_mode_vm", hypervisor.mode_vm_decision, same_hypervisor_deploy, plain_data(facts) or {})


def hypervisor_checkpoint_plan(checkpoints, policy="refuse", baseline_prefix="", external=None):
    """Checkpoints -> {action: none|refuse|remove, remove, keep, problem, message}."""
    return _call("hypervisor_checkpoint_plan", hypervisor.checkpoint_plan, plain_data(checkpoints) or [], policy,
                 baseline_prefix or "", plain_data(external) or [])


def hypervisor_baseline_plan(checkpoints, prefix, keep=2, stamp=""):
    """Checkpoints -> {baselines, revert_to, new_name, delete_after_new, others}."""
    return _call("hypervisor_baseline_plan", hypervisor.baseline_plan, plain_data(checkpoints) or [], prefix, keep,
                 stamp or "")


def hypervisor_static_mac_plan(adapters, kind, reset=True, source="adapters"):
    """Network adapters -> {static, reset, message}. source: adapters | vmware_devices | libvirt_xml."""
    if source == "vmware_devices":
        adapters = _call("hypervisor_static_mac_plan", hypervisor.vmware_adapters, plain_data(adapters))
    elif source == "libvirt_xml":
        adapters = _call("hypervisor_static_mac_plan", hypervisor.libvirt_interfaces, adapters)
    elif source != "adapters":
        raise AnsibleFilterError("winimage.generalize.hypervisor_static_mac_plan: source must be adapters, "
                                 "vmware_devices or libvirt_xml, not %r" % (source,))
    return _call("hypervisor_static_mac_plan", hypervisor.static_mac_plan, kind, plain_data(adapters), reset)


def hypervisor_integration_services_plan(services, enable=True, required=None):
    """Get-VMIntegrationService results -> {enable, disabled, missing, problem}."""
    required = list(required) if required else hypervisor.REQUIRED_INTEGRATION_SERVICES
    return _call("hypervisor_integration_services_plan", hypervisor.integration_services_plan,
                 plain_data(services) or [], required, enable)


def libvirt_capture_disk(domain_xml, target=""):
    """A libvirt domain XML -> the disk to capture {source, target, format, type, backing, ...}."""
    disks = _call("libvirt_capture_disk", hypervisor.libvirt_disks, domain_xml)
    return _call("libvirt_capture_disk", hypervisor.capture_disk, disks, target or "")


class FilterModule(object):
    """winimage.generalize hypervisor filters."""

    def filters(self):
        return {
            "hypervisor_power_state": hypervisor_power_state,
            "hypervisor_mode_vm": hypervisor_mode_vm,
            "hypervisor_checkpoint_plan": hypervisor_checkpoint_plan,
            "hypervisor_baseline_plan": hypervisor_baseline_plan,
            "hypervisor_static_mac_plan": hypervisor_static_mac_plan,
            "hypervisor_integration_services_plan": hypervisor_integration_services_plan,
            "libvirt_capture_disk": libvirt_capture_disk,
        }
