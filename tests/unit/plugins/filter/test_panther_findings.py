# Copyright: (c) 2026, winimage.generalize contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Tests of the winimage.generalize.panther_findings filter."""

from __future__ import annotations

import base64
import codecs
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from ansible.errors import AnsibleFilterError

from ansible_collections.winimage.generalize.plugins.filter.panther_findings import FilterModule, panther_findings

ROOT = Path(__file__).resolve().parents[4]
DATA = ROOT / "tests" / "data" / "sysprep-logs"
COPILOT_LOG = DATA / "issue_vmware_gos_validation_pr596_copilot.log"
COPILOT = "Microsoft.Copilot_0.4.2.0_neutral__8wekyb3d8bbwe"


def slurped(data):
    """What ansible.builtin.slurp returns for a file holding these bytes."""
    return {"changed": False, "content": base64.b64encode(data).decode("ascii"), "encoding": "base64",
            "source": "C:\\Windows\\System32\\Sysprep\\Panther\\setupact.log"}


def test_filter_is_registered():
    assert FilterModule().filters()["panther_findings"] is panther_findings


def test_string_in_findings_out():
    findings = panther_findings(COPILOT_LOG.read_text(encoding="utf-8"))
    assert [(f["id"], f["packages"], f["phase"]) for f in findings] == [
        ("appx_user_not_provisioned", [COPILOT], "sysprep")]


def test_clean_log_gives_no_findings():
    assert panther_findings((DATA / "issue_virtual_desktop_optimization_18_banner.log").read_text()) == []


def test_list_merges_setupact_and_setuperr():
    copilot = COPILOT_LOG.read_text(encoding="utf-8").splitlines()
    setupact = "\n".join(copilot)
    setuperr = "\n".join(copilot[1:])
    assert [f["id"] for f in panther_findings(setuperr)] == ["appx_staged_removal"]
    assert [f["id"] for f in panther_findings([setupact, setuperr])] == ["appx_user_not_provisioned"]


def test_slurp_results_of_utf16_logs_are_decoded():
    utf16 = codecs.BOM_UTF16_LE + (DATA / "issue_incus_windows_30_bitlocker.log").read_text().encode("utf-16-le")
    findings = panther_findings([slurped(utf16), slurped(b"")])
    assert [(f["id"], f["error_code"]) for f in findings] == [("bitlocker_on", "0x80310039")]


def test_bytes_are_accepted():
    assert [f["id"] for f in panther_findings(COPILOT_LOG.read_bytes())] == ["appx_user_not_provisioned"]


@pytest.mark.parametrize("bad, message", [
    (None, "nothing"),
    (42, "int"),
    ([], "empty list"),
    (["fine", None], "item 1"),
    ({"failed": True, "msg": "file not found"}, "file not found"),
    ({"content": "%%%not base64%%%", "encoding": "base64"}, "not valid base64"),
    (base64.b64encode(COPILOT_LOG.read_bytes()).decode(), "looks like base64"),
])
def test_bad_input_is_a_clear_error(bad, message):
    with pytest.raises(AnsibleFilterError, match=message):
        panther_findings(bad)


def test_findings_are_plain_json():
    findings = panther_findings([COPILOT_LOG.read_text(), (DATA / "issue_runner_images_9659_sense.log").read_text()])
    assert json.loads(json.dumps(findings)) == findings


def test_docs_sidecar_matches_the_filter():
    docs = yaml.safe_load((ROOT / "plugins" / "filter" / "panther_findings.yml").read_text())
    assert set(docs) == {"DOCUMENTATION", "EXAMPLES", "RETURN"}
    assert docs["DOCUMENTATION"]["name"] == "panther_findings"
    assert "_input" in docs["DOCUMENTATION"]["options"]
    returned = docs["RETURN"]["_value"]["contains"]
    finding = panther_findings((DATA / "issue_azure_docs_80346_dsccore.log").read_text())[0]
    assert set(finding) <= set(returned)
    for name in ("packages", "provider", "function", "error_code", "lines"):
        assert name in returned
    assert "winimage.generalize.panther_findings" in docs["EXAMPLES"]


def _ansible_tool(name):
    tool = Path(sys.executable).with_name(name)
    return str(tool) if tool.exists() else shutil.which(name)


def test_filter_works_from_a_playbook_by_fqcn(tmp_path, collections_path):
    """The FQCN resolves and a slurp-shaped value goes through Jinja unchanged."""
    ansible = _ansible_tool("ansible")
    if not ansible:
        pytest.skip("ansible is not installed")
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collections_path, ANSIBLE_NOCOLOR="1",
               ANSIBLE_LOCALHOST_WARNING="0", ANSIBLE_INVENTORY_UNPARSED_WARNING="0")
    expression = ("msg={{ lookup('ansible.builtin.file', '%s') | winimage.generalize.panther_findings "
                  "| map(attribute='packages') | flatten }}" % COPILOT_LOG)
    result = subprocess.run([ansible, "localhost", "-m", "ansible.builtin.debug", "-a", expression],
                            capture_output=True, text=True, env=env, cwd=str(tmp_path), timeout=120, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert COPILOT in result.stdout


def test_ansible_doc_reads_the_sidecar(tmp_path, collections_path):
    ansible_doc = _ansible_tool("ansible-doc")
    if not ansible_doc:
        pytest.skip("ansible-doc is not installed")
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collections_path, ANSIBLE_NOCOLOR="1")
    result = subprocess.run([ansible_doc, "-t", "filter", "--json", "winimage.generalize.panther_findings"],
                            capture_output=True, text=True, env=env, cwd=str(tmp_path), timeout=120, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    doc = json.loads(result.stdout)["winimage.generalize.panther_findings"]
    assert doc["doc"]["short_description"]
    assert "_value" in doc["return"]
