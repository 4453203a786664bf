# Copyright: (c) 2026, winimage.generalize contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The Appx cleanup as controller-side steps: read, decide in Python, carry out an exact plan.

Used by the ``winimage.generalize.appx_cleanup`` action plugin, and by any other action plugin
that needs the cleanup (the sysprep action removes the packages a failed run named):

    from ansible_collections.winimage.generalize.plugins.plugin_utils.appx_cleanup import run_appx_cleanup

    def execute(module_args):
        return self._execute_module(module_name=MODULE_NAME, module_args=module_args, task_vars=task_vars)

    result = run_appx_cleanup(execute, {"packages": names}, check_mode=self._task.check_mode)
    result["removed"]  # package full names removed for all users

Calling the module directly (``_execute_module`` with ``packages``) would bypass the decision;
the module refuses that with a message pointing here.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.winimage.generalize.plugins.module_utils.appx_cleanup import (
    AppxCleanupError,
    diff_of,
    has_work,
    module_plan,
    normalize_options,
    plan_cleanup,
)

MODULE_NAME = "winimage.generalize.appx_cleanup"


def _failed(msg, **extra):
    result = {"failed": True, "changed": False, "msg": msg}
    result.update(extra)
    return result


def _protected_warnings(plan):
    warnings = []
    for item in plan["protected_skipped"]:
        if item.get("blocks_sysprep"):
            warnings.append(
                "%s is installed for a user but not provisioned for all users, and is kept because it %s: "
                "sysprep /generalize will still fail on it. Remove it from 'protect' to remove it, or update "
                "its provisioned copy." % (item["package_full_name"], item["reason"]))
    return warnings


def _report(plan, removed, deprovisioned, policies_set):
    return {
        "removed": removed,
        "deprovisioned": deprovisioned,
        "protected_skipped": plan["protected_skipped"],
        "not_found": plan["not_found"],
        "policies": dict(
            (name, dict(policy, changed=name in policies_set)) for name, policy in plan["policies"].items()),
        "plan": plan,
    }


def _failure_message(outcome):
    problems = ["%s: %s" % (item.get("package_full_name"), item.get("error"))
                for item in outcome.get("remove_failed") or []]
    problems += ["provisioned %s: %s" % (item.get("package_name"), item.get("error"))
                 for item in outcome.get("deprovision_failed") or []]
    problems += ["policy %s: %s" % (item.get("name"), item.get("error"))
                 for item in outcome.get("policies_failed") or []]
    return problems


def run_appx_cleanup(execute, args, check_mode=False):
    """Read the Appx state, plan in Python, apply the plan (not in check mode); an Ansible result.

    ``execute(module_args)`` runs the appx_cleanup module and returns its result.
    """
    try:
        options = normalize_options(args)
    except AppxCleanupError as error:
        return _failed("%s: %s" % (MODULE_NAME, error))

    state_result = execute({})
    if state_result.get("failed") or state_result.get("unreachable"):
        return dict(state_result, changed=False)
    state = state_result.get("state")
    try:
        plan = plan_cleanup(state, options)
    except AppxCleanupError as error:
        return _failed("%s: %s" % (MODULE_NAME, error))

    warnings = list(state_result.get("warnings") or []) + _protected_warnings(plan)
    if check_mode or not has_work(plan):
        result = _report(plan, [item["package_full_name"] for item in plan["remove"]],
                         [item["package_name"] for item in plan["deprovision"]],
                         [name for name, policy in plan["policies"].items() if policy["changed"]])
        result.update(changed=has_work(plan), diff=diff_of(state, plan), warnings=warnings)
        return result

    outcome = execute({"_plan": module_plan(plan)})
    if outcome.get("unreachable") or (outcome.get("failed") and "removed" not in outcome):
        return dict(outcome, changed=bool(outcome.get("changed")), plan=plan)
    removed = [item.get("package_full_name") for item in outcome.get("removed") or []]
    deprovisioned = list(outcome.get("deprovisioned") or [])
    policies_set = list(outcome.get("policies_set") or [])
    result = _report(plan, removed, deprovisioned, policies_set)
    result.update(
        changed=bool(removed or deprovisioned or policies_set),
        diff=diff_of(state, plan, removed, deprovisioned),
        warnings=warnings + list(outcome.get("warnings") or []),
        removal_methods=outcome.get("removed") or [],
        appx_runner=outcome.get("appx_runner") or state.get("appx_runner"),
    )
    problems = _failure_message(outcome)
    if problems:
        result.update(failed=True, msg="%s could not finish the cleanup: %s" % (MODULE_NAME, "; ".join(problems)))
    return result
