# Copyright: (c) 2026, winimage.generalize contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Run the readiness_facts module, then fill the derived facts on the controller.

The PowerShell module only reads the host. Derived fields (for example
``appx.user_not_provisioned``) are computed here by
``facts_derive.complete_facts`` so the online and the offline gatherer derive
them with the same Python code.
"""

from __future__ import annotations

from ansible.plugins.action import ActionBase

from ansible_collections.winimage.generalize.plugins.module_utils.facts_derive import complete_facts

MODULE_NAME = "winimage.generalize.readiness_facts"


class ActionModule(ActionBase):

    _VALID_ARGS = frozenset(("gather_subset", "exclude"))

    def run(self, tmp=None, task_vars=None):
        # Read-only module: check mode runs it unchanged. Async would return before the
        # facts exist, so there would be nothing to complete.
        self._supports_check_mode = True
        self._supports_async = False

        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp

        module_result = self._execute_module(
            module_name=MODULE_NAME,
            module_args=self._task.args,
            task_vars=task_vars,
        )
        result.update(module_result)
        if result.get("failed"):
            return result

        facts = result.get("facts")
        if not isinstance(facts, dict):
            result.update(
                failed=True,
                msg="%s returned no facts document; rerun with -vvv to see the module output" % MODULE_NAME,
            )
            return result

        result["facts"] = complete_facts(facts)
        result["changed"] = False
        return result
