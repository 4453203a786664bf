# Copyright: (c) 2026, winimage.generalize contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The redact_secrets filter: answer-file settings without passwords, on the controller."""

from __future__ import annotations

import json

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.winimage.generalize.plugins.filter.redact_secrets import FilterModule, redact_secrets

SETTINGS = {
    "hide_passwords": True,
    "specialize": {"domain_join": {"domain": "corp", "username": "join", "password": "Pw-1-secret-value"}},
    "oobe_system": {"user_accounts": {"administrator_password": "Pw-2-secret-value",
                                      "local_accounts": [{"name": "a", "password": "Pw-3-secret-value"}]}},
}


def test_passwords_are_gone_and_the_rest_stays():
    clean = redact_secrets(SETTINGS)
    assert "secret-value" not in json.dumps(clean)
    assert clean["specialize"]["domain_join"] == {"domain": "corp", "username": "join"}
    assert clean["oobe_system"]["user_accounts"]["local_accounts"] == [{"name": "a"}]
    assert clean["hide_passwords"] is True
    assert "Pw-1-secret-value" in json.dumps(SETTINGS), "the input must not be changed"


def test_details_name_what_was_removed():
    details = redact_secrets(SETTINGS, details=True)
    assert details["removed"] == ["oobe_system.user_accounts.administrator_password",
                                  "oobe_system.user_accounts.local_accounts[0].password",
                                  "specialize.domain_join.password"]
    assert details["settings"] == redact_secrets(SETTINGS)


@pytest.mark.parametrize("value", ["text", ["a"], None, 3])
def test_anything_but_a_mapping_is_a_clear_error(value):
    with pytest.raises(AnsibleFilterError, match="expects a mapping"):
        redact_secrets(value)


def test_the_filter_is_registered():
    assert FilterModule().filters()["redact_secrets"] is redact_secrets
