# Copyright: (c) 2026, winimage.generalize contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Shared base for action plugins that drive a Windows host through long operations.

Sysprep, and the WinPE capture hand-over after it, make the host drop the connection on
purpose (generalize resets network devices, /shutdown powers off). Action plugins therefore
need three things ansible.windows' own long-running actions (win_updates, win_reboot) also
have: tell a lost connection from a real error, reset the connection plugin before the next
try, and wait - with a deadline - until the host is gone. They live here, once.

FOR USE INSIDE THIS COLLECTION: the interface may change in any release.
"""

from __future__ import annotations

import re
import time

from ansible.errors import AnsibleActionFail, AnsibleConnectionFailure, AnsibleError
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.module_utils.common.parameters import remove_values
from ansible.plugins.action import ActionBase
from ansible.utils.display import Display

try:  # psrp and winrm let some requests exceptions through unwrapped
    from requests.exceptions import RequestException
except ImportError:  # pragma: no cover - requests ships with every Windows connection plugin
    RequestException = AnsibleConnectionFailure

display = Display()

# Words of connection errors that the winrm/psrp plugins raise as a plain AnsibleError
# (for example "the connection attempt timed out").
_CONNECTION_WORDS = re.compile(
    r"timed? ?out|connection|unreachable|refused|reset by peer|no route to host|winrm send_input failed"
    r"|name or service not known|network is unreachable|broken pipe",
    re.I,
)
PROBE_MODULE = "ansible.windows.win_ping"


class HostConnectionLost(Exception):
    """The host stopped answering while a module ran (not a module failure)."""


class ModuleFailed(Exception):
    """A module ran and reported failed=true; ``result`` is what it returned."""

    def __init__(self, message, result=None):
        super(ModuleFailed, self).__init__(message)
        self.result = result or {}


def is_connection_loss(error):
    """True when an exception means the host is unreachable rather than that a module failed."""
    if isinstance(error, (AnsibleConnectionFailure, RequestException)):
        return True
    return isinstance(error, AnsibleError) and bool(_CONNECTION_WORDS.search(str(error)))


class WindowsHostActionBase(ActionBase):
    """ActionBase plus module calls that survive a host going away."""

    def _validated_task_args(self, module_name, argument_spec, **constraints):
        """The task's arguments checked against argument_spec; the task fails naming every problem.

        ``constraints`` are ArgumentSpecValidator's (mutually_exclusive, required_if ...). The
        messages name options, but no_log values are scrubbed from them anyway: never echo a password.
        """
        validation = ArgumentSpecValidator(argument_spec, **constraints).validate(self._task.args)
        if validation.error_messages:
            messages = [remove_values(m, validation._no_log_values) for m in validation.error_messages]
            raise AnsibleActionFail("%s: invalid options: %s" % (module_name, "; ".join(messages)))
        return validation.validated_parameters

    def _call_module(self, module_name, module_args, task_vars):
        """Run a module; return its result, or raise HostConnectionLost / ModuleFailed.

        The module's ``invocation`` is dropped: it echoes the arguments, and callers build their
        own results from the keys they need.
        """
        try:
            result = self._execute_module(module_name=module_name, module_args=module_args,
                                          task_vars=task_vars)
        except Exception as error:  # noqa: BLE001 - classified just below
            if is_connection_loss(error):
                raise HostConnectionLost("%s: %s" % (type(error).__name__, error)) from None
            raise
        result = dict(result or {})
        result.pop("invocation", None)
        for warning in result.pop("warnings", None) or []:
            display.warning("%s: %s" % (module_name, warning))
        if result.get("unreachable"):
            raise HostConnectionLost(result.get("msg") or "host unreachable")
        if result.get("failed"):
            raise ModuleFailed(result.get("msg") or "%s failed without a message" % module_name, result)
        return result

    def _reset_connection(self):
        """Close and reset the connection plugin so the next call opens a fresh session.

        Like ansible.windows' reboot helper: some plugins keep a dead WSMan shell on reset()
        alone, so close() first; errors are expected while the host is away and ignored.
        """
        for method_name in ("close", "reset"):
            method = getattr(self._connection, method_name, None)
            if method is None:
                continue
            try:
                method()
            except Exception as error:  # noqa: BLE001 - the host is away; nothing to do but retry later
                display.vvvv("%s: connection %s() failed: %s" % (self._task.action, method_name, error))

    def _wait_until_gone(self, task_vars, timeout, interval=5):
        """Probe the host until it stops answering; (gone, seconds waited).

        A lost connection is success here: the host was told to power off.
        """
        started = time.monotonic()
        deadline = started + max(timeout, 0)
        # A frozen clock must not turn this into an endless loop: bound the probes too.
        max_probes = int(max(timeout, 0) // max(interval, 1)) + 2
        for _probe in range(max_probes):
            try:
                self._call_module(PROBE_MODULE, {}, task_vars)
            except HostConnectionLost as error:
                display.vvv("%s: host no longer answers (%s)" % (self._task.action, error))
                self._reset_connection()
                return True, round(time.monotonic() - started)
            except ModuleFailed as error:
                # Answering, even with a failure, means it is still up.
                display.vvv("%s: host still answers (%s)" % (self._task.action, error))
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            time.sleep(min(interval, remaining))
        return False, round(time.monotonic() - started)
