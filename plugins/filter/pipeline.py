# Copyright: (c) 2026, winimage.generalize contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Filters of the fleet pipeline: pipeline_kind, pipeline_plan, pipeline_hooked, pipeline_summary,
pipeline_image_location.

Thin wrappers: the decisions live in module_utils/pipeline.py. Documentation: the .yml file of each
filter beside this one, and docs/generalize-playbook.md.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError

from ansible_collections.winimage.generalize.plugins.module_utils import pipeline
from ansible_collections.winimage.generalize.plugins.plugin_utils.filter_data import plain_data


def pipeline_kind(group_names, host="this host", groups=None):
    """group_names -> physical | vm | hyperv_host (exactly one of the three groups)."""
    try:
        return pipeline.host_kind(host, list(group_names or []), plain_data(groups))
    except pipeline.PipelineError as error:
        raise AnsibleFilterError("winimage.generalize.pipeline_kind: %s" % error) from None


def pipeline_plan(kind, hypervisor_kind=None, capture_backend="auto", flow="generalize"):
    """kind -> {kind, flow, steps, sequence, capture: {backend, runs_on, sysprep_after}}."""
    try:
        if flow == "refresh":
            if kind != "vm":
                raise pipeline.PipelineError("refresh.yml refreshes virtual machines only (reverting a checkpoint); "
                                             "this host is a %s" % str(kind).replace("_", " "))
            steps = pipeline.refresh_steps()
            sequence = steps[:-1]
        elif flow == "generalize":
            steps = pipeline.generalize_steps(kind)
            sequence = list(pipeline.GENERALIZE_SEQUENCE)
        else:
            raise pipeline.PipelineError("flow must be generalize or refresh, not %r" % (flow,))
        return {
            "kind": kind,
            "flow": flow,
            "steps": steps,
            "sequence": sequence,
            "capture": pipeline.capture_plan(kind, hypervisor_kind or None, capture_backend or "auto"),
            "guest_checked_steps": sorted(pipeline.GUEST_STEPS) if flow == "refresh" else [],
        }
    except pipeline.PipelineError as error:
        raise AnsibleFilterError("winimage.generalize.pipeline_plan: %s" % error) from None


def pipeline_hooked(step, hook="", hook_steps=None):
    """Whether the test hook replaces this step."""
    return pipeline.hooked(step, hook, None if hook_steps is None else list(hook_steps))


def pipeline_summary(records, check_mode=False, flow="generalize"):
    """host -> winimage_pipeline record  ->  the run summary (outcomes, counts, lines)."""
    try:
        summary = pipeline.run_summary(plain_data(records), bool(check_mode), flow)
    except pipeline.PipelineError as error:
        raise AnsibleFilterError("winimage.generalize.pipeline_summary: %s" % error) from None
    summary["lines"] = pipeline.summary_lines(summary)
    return summary


def pipeline_image_location(capture, backend, capture_host="", image_host="localhost", image_dir=""):
    """winimage_capture -> {host, path} where verify and publish read the WIM."""
    try:
        return pipeline.image_location(backend, plain_data(capture), capture_host, image_host, image_dir or "")
    except pipeline.PipelineError as error:
        raise AnsibleFilterError("winimage.generalize.pipeline_image_location: %s" % error) from None


class FilterModule(object):
    """winimage.generalize pipeline filters."""

    def filters(self):
        return {
            "pipeline_kind": pipeline_kind,
            "pipeline_plan": pipeline_plan,
            "pipeline_hooked": pipeline_hooked,
            "pipeline_summary": pipeline_summary,
            "pipeline_image_location": pipeline_image_location,
        }
