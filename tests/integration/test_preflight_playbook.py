# Copyright: (c) 2026, winimage.generalize contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The real preflight playbook against local hosts with recorded facts, normal and check mode."""

from __future__ import annotations

import json
import socket
import subprocess

import jsonschema
import pytest

import preflight_runs as runs

MODES = ("normal", "check")


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    if not (runs.COLLECTIONS / "ansible_collections" / "winimage" / "generalize").exists():
        pytest.fail("the collection is not linked into %s: run `make setup` first" % runs.COLLECTIONS)
    return str(tmp_path_factory.getbasetemp() / "preflight-playbook")


@pytest.fixture(scope="module")
def expected():
    found = runs.expected_findings()
    blocked = sorted(h for h, fs in found.items()
                     if any(f["severity"] == "blocker" and f["status"] == "fail" for f in fs))
    clean = sorted(h for h, fs in found.items()
                   if not any(f["severity"] == "blocker" for f in fs))
    # The test means nothing unless the fixtures hold both kinds of machine.
    assert blocked and clean, "tests/data/facts needs blocked and clean machines: %s" % found
    return {"findings": found, "blocked": blocked, "clean": clean}


def report_of(run):
    return json.loads((run["report_dir"] / "report.json").read_text(encoding="utf-8"))


def failed_hosts(run):
    return sorted(h for h, s in run["output"]["stats"].items() if s["failures"] or s["unreachable"])


@pytest.mark.parametrize("mode", MODES)
def test_blocked_hosts_fail_naming_their_blockers(base, expected, mode):
    run = runs.run_preflight(base, mode)
    assert run["rc"] == 2, run["stderr"]
    failures = runs.task_results(run, "Fail the hosts that do not pass the gate")
    for name in expected["blocked"]:
        message = failures[name]["msg"]
        assert failures[name]["failed"] is True
        for finding in expected["findings"][name]:
            if finding["severity"] == "blocker" and finding["status"] == "fail":
                assert finding["title"] in message and finding["id"] in message, message
        assert str(run["report_dir"] / "report.html") in message


@pytest.mark.parametrize("mode", MODES)
def test_clean_hosts_pass_and_only_failing_hosts_fail(base, expected, mode):
    run = runs.run_preflight(base, mode)
    report = report_of(run)
    assert failed_hosts(run) == report["summary"]["failing_hosts"]
    for name in expected["clean"]:
        assert name not in failed_hosts(run)
        assert run["output"]["stats"][name]["failures"] == 0


@pytest.mark.parametrize("mode", MODES)
def test_host_without_facts_is_reported_and_fails(base, mode):
    run = runs.run_preflight(base, mode)
    message = runs.task_results(run, "Fail the hosts that do not pass the gate")[runs.MISSING_HOST]["msg"]
    assert "%s.json is not a file" % runs.MISSING_HOST in message
    entry = next(h for h in report_of(run)["hosts"] if h["name"] == runs.MISSING_HOST)
    assert entry["state"] == "no_facts" and entry["passes_gate"] is False
    assert "is not a file" in entry["error"]


@pytest.mark.parametrize("mode", MODES)
def test_report_validates_and_lists_exactly_the_rules_findings(base, expected, mode):
    run = runs.run_preflight(base, mode)
    report = report_of(run)
    jsonschema.validate(report, json.loads(runs.REPORT_SCHEMA.read_text(encoding="utf-8")))
    assert sorted(h["name"] for h in report["hosts"]) == sorted(list(expected["findings"]) + [runs.MISSING_HOST])
    for entry in report["hosts"]:
        if entry["name"] == runs.MISSING_HOST:
            continue
        wanted = expected["findings"][entry["name"]]
        got = [(f["id"], f["severity"], f["status"], f["message"]) for f in entry["findings"]]
        assert sorted(got) == sorted((f["id"], f["severity"], f["status"], f["message"]) for f in wanted)
        assert entry["facts"]["os"]["build"] == runs.load_facts(
            runs.FACTS_FIXTURES / (entry["name"].replace("-", "_") + ".json"))["os"]["build"]
    assert (run["report_dir"] / "report.html").stat().st_size > 0


def test_check_mode_writes_the_report(base):
    run = runs.run_preflight(base, "check")
    written = runs.task_results(run, "Write the fleet report for every host of the play")
    assert [r["changed"] for r in written.values()] == [True]
    assert report_of(run)["hosts"]


def test_rerun_with_the_same_facts_changes_nothing(base):
    first = runs.run_preflight(base, "normal")
    report_before = (first["report_dir"] / "report.json").read_bytes()
    rerun = runs.run_preflight(base, "check", report_name=first["report_dir"].name, extra=("-e", "test_rerun=1"))
    written = runs.task_results(rerun, "Write the fleet report for every host of the play")
    assert [r["changed"] for r in written.values()] == [False]
    assert (first["report_dir"] / "report.json").read_bytes() == report_before


@pytest.mark.parametrize("mode", MODES)
def test_set_stats_publish_per_host_readiness(base, expected, mode):
    run = runs.run_preflight(base, mode)
    stats = run["output"]["global_custom_stats"]["winimage_preflight"]
    report = report_of(run)
    assert stats["report_json"] == str(run["report_dir"] / "report.json")
    assert stats["report_html"] == str(run["report_dir"] / "report.html")
    assert stats["all_pass"] is False
    assert stats["failing_hosts"] == failed_hosts(run)
    for name in expected["blocked"]:
        blockers = sorted(f["id"] for f in expected["findings"][name]
                          if f["severity"] == "blocker" and f["status"] == "fail")
        assert stats["hosts"][name]["blocker_ids"] == blockers
        assert stats["hosts"][name]["blockers"] == len(blockers)
        assert stats["hosts"][name]["ready"] is False
    for name in expected["clean"]:
        assert stats["hosts"][name]["passes_gate"] is True
    assert set(stats["hosts"]) == {h["name"] for h in report["hosts"]}


@pytest.mark.parametrize("mode", MODES)
def test_host_facts_are_set_for_later_plays(base, expected, mode):
    run = runs.run_preflight(base, mode)
    results = runs.task_results(run, "Set the readiness facts, findings and summary of this host")
    name = expected["blocked"][0]
    facts = results[name]["ansible_facts"]
    assert [f["id"] for f in facts["winimage_findings"]] == [f["id"] for f in expected["findings"][name]]
    assert facts["winimage_summary"]["ready"] is False
    assert facts["winimage_facts"]["schema_version"] == "1.0"


@pytest.mark.parametrize("mode", MODES)
def test_no_secret_reaches_output_or_report(base, mode):
    run = runs.run_preflight(base, mode)
    inventory = (runs.workspace(base) / "inventory.yml").read_text()
    assert "$ANSIBLE_VAULT" in inventory and runs.WINRM_PASSWORD in inventory  # the secrets are planted
    texts = {"stdout": run["stdout"], "stderr": run["stderr"]}
    for path in run["report_dir"].iterdir():
        texts[path.name] = path.read_text(encoding="utf-8")
    for where, text in texts.items():
        for secret in runs.SECRETS:
            assert secret not in text, "%s leaked into %s" % (secret, where)


def test_preflight_hosts_limits_the_play_and_clean_hosts_exit_zero(base, expected):
    clean = expected["clean"][0]
    run = runs.run_preflight(base, "normal", report_name="clean-only",
                             extra=("-e", "preflight_hosts=%s" % clean))
    assert run["rc"] == 0, run["stderr"]
    assert [h["name"] for h in report_of(run)["hosts"]] == [clean]
    assert report_of(run)["summary"]["all_pass"] is True


def test_online_unreachable_host_is_reported_without_facts(base, tmp_path):
    """The online path for real, as far as it goes here: a Windows host that refuses the connection."""
    with socket.socket() as probe:  # a port nobody listens on: bound, then released
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    (tmp_path / "inventory.yml").write_text(
        "windows:\n  hosts:\n    ref-down:\n      ansible_host: 127.0.0.1\n      ansible_port: %d\n"
        "      ansible_connection: psrp\n      ansible_psrp_protocol: http\n"
        "      ansible_user: builder\n      ansible_password: %s\n" % (port, runs.WINRM_PASSWORD))
    completed = subprocess.run(
        [str(runs.ANSIBLE_PLAYBOOK), "-i", "inventory.yml", str(runs.PLAYBOOK), "-e", "preflight_report_dir=out"],
        cwd=str(tmp_path), env=runs.environment(tmp_path), capture_output=True, text=True, timeout=300, check=False)
    assert completed.returncode == 2, completed.stderr
    report = json.loads((tmp_path / "out" / "report.json").read_text(encoding="utf-8"))
    (entry,) = report["hosts"]
    assert entry["name"] == "ref-down" and entry["state"] == "no_facts"
    assert "could not be reached" in entry["error"]
    output = json.loads(completed.stdout)
    message = runs.task_results({"output": output}, "Fail the hosts that do not pass the gate")["ref-down"]["msg"]
    assert message.startswith("ref-down is not ready for sysprep") and "could not be reached" in message
    for text in (completed.stdout, completed.stderr, (tmp_path / "out" / "report.html").read_text(encoding="utf-8")):
        assert runs.WINRM_PASSWORD not in text
