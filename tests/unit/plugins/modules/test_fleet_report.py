# Copyright: (c) 2026, winimage.generalize contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import json
import os

import pytest
from ansible.module_utils.testing import patch_module_args

from ansible_collections.winimage.generalize.plugins.module_utils.facts_schema import empty_facts
from ansible_collections.winimage.generalize.plugins.module_utils.finding_catalog import make_finding
from ansible_collections.winimage.generalize.plugins.modules import fleet_report


def facts_for(name, gathered_at="2026-01-10T10:00:00Z"):
    facts = empty_facts("online", "winimage.generalize.readiness_facts", name, gathered_at)
    facts["os"].update(product_name="Windows 11 Enterprise", build=22631)
    return facts


def hosts(gathered_at="2026-01-10T10:00:00Z", reboot=True):
    blocked_findings = [make_finding("pending_reboot", "preflight", "A restart is pending.")] if reboot else []
    return {
        "ref-a": {"facts": facts_for("ref-a", gathered_at), "findings": blocked_findings},
        "ref-b": {"facts": facts_for("ref-b", gathered_at), "findings": []},
    }


def run(capsys, **args):
    """Run the module in-process; return its JSON result."""
    with patch_module_args(args):
        with pytest.raises(SystemExit):
            fleet_report.main()
    return json.loads(capsys.readouterr().out)


@pytest.fixture
def clock(monkeypatch):
    """A controllable report time."""
    now = {"value": "2026-01-10T10:05:00Z"}
    monkeypatch.setattr(fleet_report, "utc_now", lambda: now["value"])
    return now


def test_writes_json_and_html_and_returns_verdicts(tmp_path, capsys, clock):
    dest = tmp_path / "reports" / "january"
    result = run(capsys, dest=str(dest), hosts=hosts(), title="January refresh")
    assert result["changed"] is True
    assert result["report_json"] == str(dest / "report.json")
    written = json.loads((dest / "report.json").read_text())
    assert written["title"] == "January refresh" and written["generated_at"] == "2026-01-10T10:05:00Z"
    assert "January refresh" in (dest / "report.html").read_text()
    assert result["hosts"]["ref-a"]["passes_gate"] is False
    assert "A reboot is pending [pending_reboot]" in result["hosts"]["ref-a"]["fail_message"]
    assert str(dest / "report.html") in result["hosts"]["ref-a"]["fail_message"]
    assert result["hosts"]["ref-b"] == {"state": "ready", "passes_gate": True, "gate_reasons": [], "fail_message": "",
                                        "summary": written["hosts"][1]["summary"]}
    assert result["stats"]["failing_hosts"] == ["ref-a"]
    assert sorted(os.listdir(dest)) == ["report.html", "report.json"]


def test_same_content_later_is_not_a_change(tmp_path, capsys, clock):
    run(capsys, dest=str(tmp_path), hosts=hosts())
    before = {name: (tmp_path / name).stat().st_mtime_ns for name in ("report.json", "report.html")}
    clock["value"] = "2026-02-10T10:05:00Z"
    result = run(capsys, dest=str(tmp_path), hosts=hosts(gathered_at="2026-02-10T10:00:00Z"))
    assert result["changed"] is False
    assert result["generated_at"] == "2026-01-10T10:05:00Z"
    assert {name: (tmp_path / name).stat().st_mtime_ns for name in before} == before


def test_new_findings_are_a_change_with_a_new_time(tmp_path, capsys, clock):
    run(capsys, dest=str(tmp_path), hosts=hosts(reboot=False))
    clock["value"] = "2026-02-10T10:05:00Z"
    result = run(capsys, dest=str(tmp_path), hosts=hosts(reboot=True))
    assert result["changed"] is True
    written = json.loads((tmp_path / "report.json").read_text())
    assert written["generated_at"] == "2026-02-10T10:05:00Z"
    assert written["summary"]["failing_hosts"] == ["ref-a"]


def test_missing_html_is_rewritten(tmp_path, capsys, clock):
    run(capsys, dest=str(tmp_path), hosts=hosts())
    (tmp_path / "report.html").unlink()
    assert run(capsys, dest=str(tmp_path), hosts=hosts())["changed"] is True
    assert (tmp_path / "report.html").exists()


def test_check_mode_still_writes_the_report(tmp_path, capsys, clock):
    result = run(capsys, dest=str(tmp_path), hosts=hosts(), _ansible_check_mode=True)
    assert result["changed"] is True
    assert json.loads((tmp_path / "report.json").read_text())["hosts"][0]["name"] == "ref-a"


def test_failed_write_keeps_the_previous_report_and_leaves_no_temp_file(tmp_path, capsys, clock, monkeypatch):
    run(capsys, dest=str(tmp_path), hosts=hosts(reboot=False))
    previous = {name: (tmp_path / name).read_bytes() for name in ("report.json", "report.html")}

    def failing_fdopen(handle, *args, **kwargs):
        os.close(handle)
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(fleet_report.os, "fdopen", failing_fdopen)
    result = run(capsys, dest=str(tmp_path), hosts=hosts(reboot=True))
    assert result["failed"] is True
    assert "No space left on device" in result["msg"] and str(tmp_path) in result["msg"]
    assert {name: (tmp_path / name).read_bytes() for name in previous} == previous
    assert sorted(os.listdir(tmp_path)) == ["report.html", "report.json"]


def test_failed_rename_of_the_second_file_leaves_no_temp_file(tmp_path, capsys, clock, monkeypatch):
    real_replace = os.replace
    calls = []

    def replace_once(src, dst):
        calls.append(dst)
        if len(calls) == 2:
            raise OSError(13, "Permission denied")
        real_replace(src, dst)

    monkeypatch.setattr(fleet_report.os, "replace", replace_once)
    result = run(capsys, dest=str(tmp_path), hosts=hosts())
    assert result["failed"] is True and "Permission denied" in result["msg"]
    assert not [name for name in os.listdir(tmp_path) if name.endswith(".tmp")]


def test_dest_that_is_a_file_is_refused(tmp_path, capsys, clock):
    target = tmp_path / "report"
    target.write_text("not a directory")
    result = run(capsys, dest=str(target), hosts=hosts())
    assert result["failed"] is True
    assert "is not a directory" in result["msg"]
    assert target.read_text() == "not a directory"


def test_bad_hosts_input_gives_a_clear_error(tmp_path, capsys, clock):
    result = run(capsys, dest=str(tmp_path), hosts={"ref-a": {"findings": [{"id": "x"}]}})
    assert result["failed"] is True
    assert result["msg"].startswith("Cannot build the fleet report: hosts['ref-a'].findings[0] lacks")
    assert "Traceback" not in json.dumps(result)
    assert os.listdir(tmp_path) == []


def test_existing_file_mode_is_kept(tmp_path, capsys, clock):
    run(capsys, dest=str(tmp_path), hosts=hosts(reboot=False))
    os.chmod(tmp_path / "report.html", 0o640)
    run(capsys, dest=str(tmp_path), hosts=hosts(reboot=True))
    assert (tmp_path / "report.html").stat().st_mode & 0o777 == 0o640


def test_corrupt_previous_report_is_replaced(tmp_path, capsys, clock):
    (tmp_path / "report.json").write_text("{ half written")
    result = run(capsys, dest=str(tmp_path), hosts=hosts())
    assert result["changed"] is True
    assert json.loads((tmp_path / "report.json").read_text())["kind"] == "winimage.generalize.fleet_report"


def test_generalize_phase_reports_the_pipeline_and_fails_hosts_that_stopped(tmp_path, capsys, clock):
    given = hosts(reboot=False)
    given["ref-a"]["pipeline"] = {"status": "failed", "kind": "vm", "flow": "generalize", "failed_step": "capture",
                                  "error": "DISM failed", "planned_steps": ["preflight", "capture"],
                                  "completed_steps": ["preflight"], "remaining_steps": [],
                                  "capture": None, "verify": None, "published": None}
    given["ref-b"]["pipeline"] = dict(given["ref-a"]["pipeline"], status="published", failed_step=None, error=None,
                                      completed_steps=["preflight", "capture"],
                                      published={"id": "ref-b-20260110-1", "path": "/s/b.wim", "manifest_path": "/s/b.json"})
    result = run(capsys, dest=str(tmp_path), hosts=given, phase="generalize", fail_on="never")
    assert result["hosts"]["ref-a"]["fail_message"].startswith(
        "ref-a did not complete the pipeline: stopped at step capture: DISM failed.")
    assert result["hosts"]["ref-b"]["passes_gate"] is True
    assert result["stats"]["hosts"]["ref-b"]["pipeline"]["published"]["id"] == "ref-b-20260110-1"
    written = json.loads((tmp_path / "report.json").read_text())
    assert written["phase"] == "generalize" and written["summary"]["pipeline"]["counts"]["failed"] == 1
