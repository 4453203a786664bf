# Copyright: (c) 2026, winimage.generalize contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Remove the Store packages that make sysprep fail: read on the host, decide here, act exactly.

The module of the same name is called twice: once to read the Appx state, once (not in check
mode, and only when there is something to do) with the exact plan that
``module_utils.appx_cleanup.plan_cleanup`` made. The steps live in
``plugin_utils.appx_cleanup.run_appx_cleanup`` so other action plugins reuse them.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.plugins.action import ActionBase

from ansible_collections.winimage.generalize.plugins.module_utils.appx_cleanup import OPTION_DEFAULTS
from ansible_collections.winimage.generalize.plugins.plugin_utils.appx_cleanup import MODULE_NAME, run_appx_cleanup


class ActionModule(ActionBase):

    _VALID_ARGS = frozenset(OPTION_DEFAULTS)

    def run(self, tmp=None, task_vars=None):
        self._supports_check_mode = True
        self._supports_async = False

        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp

        def execute(module_args):
            return self._execute_module(module_name=MODULE_NAME, module_args=module_args, task_vars=task_vars)

        outcome = run_appx_cleanup(execute, self._task.args, check_mode=self._task.check_mode)
        if not self._task.diff:
            outcome.pop("diff", None)
        result.update(outcome)
        return result
