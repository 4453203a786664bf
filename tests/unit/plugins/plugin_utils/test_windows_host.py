# Copyright: (c) 2026, winimage.generalize contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The shared base of the collection's long-running Windows actions."""

from __future__ import annotations

from unittest import mock

import pytest
from ansible.errors import AnsibleConnectionFailure, AnsibleError

from ansible_collections.winimage.generalize.plugins.plugin_utils import windows_host


@pytest.mark.parametrize("error, lost", [
    (AnsibleConnectionFailure("winrm connection error: refused"), True),
    (AnsibleError("the connection attempt timed out"), True),  # what the winrm plugin raises
    (AnsibleError("winrm send_input failed; stdout: stderr"), True),
    (AnsibleError("The module winimage.generalize.sysprep was not found"), False),
    (ValueError("connection"), False),
])
def test_is_connection_loss(error, lost):
    assert windows_host.is_connection_loss(error) is lost


class FrozenClock:
    now = 50.0

    def monotonic(self):
        return self.now

    def sleep(self, seconds):
        pass


class ExampleAction(windows_host.WindowsHostActionBase):
    def run(self, tmp=None, task_vars=None):
        raise NotImplementedError


def make_action(execute):
    task = mock.MagicMock()
    task.action = "winimage.generalize.test"
    action = ExampleAction(task, mock.MagicMock(), mock.MagicMock(), mock.MagicMock(), mock.MagicMock(), None)
    action._execute_module = execute
    return action


def test_call_module_classifies_results_and_drops_the_invocation():
    results = iter([
        {"changed": False, "value": 1, "invocation": {"module_args": {"secret": "x"}}},
        {"failed": True, "msg": "boom"},
        {"unreachable": True, "msg": "gone"},
    ])
    action = make_action(lambda **kwargs: next(results))

    assert action._call_module("m", {}, {}) == {"changed": False, "value": 1}
    with pytest.raises(windows_host.ModuleFailed, match="boom"):
        action._call_module("m", {}, {})
    with pytest.raises(windows_host.HostConnectionLost, match="gone"):
        action._call_module("m", {}, {})


def test_wait_until_gone_succeeds_when_the_host_stops_answering_and_resets_the_connection():
    answers = iter([{"ping": "pong"}, {"ping": "pong"}])

    def execute(**kwargs):
        try:
            return next(answers)
        except StopIteration:
            raise AnsibleConnectionFailure("refused") from None

    action = make_action(execute)
    with mock.patch.object(windows_host, "time", FrozenClock()):
        gone, _elapsed = action._wait_until_gone({}, timeout=60, interval=5)
    assert gone is True
    action._connection.close.assert_called()
    action._connection.reset.assert_called()


def test_wait_until_gone_is_bounded_even_with_a_frozen_clock():
    execute = mock.MagicMock(return_value={"ping": "pong"})
    action = make_action(execute)
    with mock.patch.object(windows_host, "time", FrozenClock()):
        gone, _elapsed = action._wait_until_gone({}, timeout=60, interval=5)
    assert gone is False
    assert execute.call_count <= 60 // 5 + 2


def test_reset_connection_ignores_errors_of_a_host_that_is_away():
    action = make_action(mock.MagicMock())
    action._connection.close.side_effect = AnsibleError("already closed")
    action._connection.reset.side_effect = AnsibleConnectionFailure("refused")
    action._reset_connection()
    action._connection.reset.assert_called_once()


def test_validated_task_args_names_every_problem_and_never_the_secret():
    from ansible.errors import AnsibleActionFail

    spec = {"share": {"type": "str", "required": True},
            "share_password": {"type": "str", "no_log": True},
            "timeout": {"type": "int", "default": 60}}
    action = make_action(None)
    action._task.args = {"share_password": "Pa55-Secret!", "timeout": "Pa55-Secret!"}
    with pytest.raises(AnsibleActionFail) as failure:
        action._validated_task_args("winimage.generalize.test", spec)
    message = str(failure.value)
    assert message.startswith("winimage.generalize.test: invalid options: ")
    assert "share" in message and "timeout" in message
    assert "Pa55-Secret!" not in message

    action._task.args = {"share": "\\\\server\\images"}
    assert action._validated_task_args("winimage.generalize.test", spec) == {
        "share": "\\\\server\\images", "share_password": None, "timeout": 60}
