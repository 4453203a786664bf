# Copyright: (c) 2026, winimage.generalize contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The real generalize.yml and refresh.yml, run with ansible-playbook against local hosts.

The inventory holds hosts of the three kinds (physical, vms, hyperv_hosts), all with a local
connection. The test hook (tests/integration/fleet_hooks/record_step.yml) stands in for every step
that would talk to Windows or a hypervisor and records the order of the steps per host; it fails a
step, or makes a host unreachable, where a host variable asks for it. The rest is real: the
preflight evaluates recorded facts of real machines (tests/data/facts), the verify step reads WIMs
offline with image_facts, publish writes a real image store, and one VMware VM is captured for
real with wimlib from a qcow2 disk built by tests/support/winimage_testdata.

The expected step lists are written out here in plain words, not taken from the code under test.
"""

from __future__ import annotations

import json
import os
import pathlib
import shutil
import subprocess
import sys

import jsonschema
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
SUPPORT = ROOT / "tests" / "support"
if str(SUPPORT) not in sys.path:
    sys.path.insert(0, str(SUPPORT))

from winimage_testdata.fixtures import winimage_artifacts  # noqa: E402,F401 pylint: disable=unused-import

COLLECTIONS = ROOT / ".build" / "collections"
REPORT_SCHEMA = ROOT / "schemas" / "report.schema.json"
FACTS = ROOT / "tests" / "data" / "facts"
HOOKS = ROOT / "tests" / "integration" / "fleet_hooks"
ANSIBLE_PLAYBOOK = pathlib.Path(sys.executable).parent / "ansible-playbook"
TOOLS = ("wimlib-imagex", "mkntfs", "qemu-img")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(any(shutil.which(t) is None for t in TOOLS),
                       reason="needs wimlib-imagex, mkntfs and qemu-img (wimtools, ntfs-3g, qemu-utils)"),
]

WINRM_PASSWORD = "WinRM-Fleet-7c1d2e"
UNJOIN_PASSWORD = "Unjoin-Fleet-4b9a0f"

EVERY_STEP = ["preflight", "hypervisor_inspect", "hypervisor_prepare", "domain_unjoin", "appx_cleanup", "drivers",
              "hyperv_host", "sysprep", "hypervisor_after_sysprep", "capture", "verify", "publish",
              "hypervisor_revert", "hypervisor_start", "windows_update", "refresh_user_tasks",
              "hypervisor_baseline"]
# The hook records these and then lets the real step run.
PASSTHROUGH = ["preflight", "verify", "publish", "refresh_user_tasks"]

PHYSICAL_STEPS = ["preflight", "domain_unjoin", "appx_cleanup", "drivers", "sysprep", "capture", "verify",
                  "publish"]
VM_STEPS = ["preflight", "hypervisor_prepare", "domain_unjoin", "appx_cleanup", "drivers", "sysprep",
            "hypervisor_after_sysprep", "capture", "verify", "publish"]
HYPERV_HOST_STEPS = ["preflight", "domain_unjoin", "appx_cleanup", "drivers", "hyperv_host", "sysprep",
                     "capture", "verify", "publish"]
REFRESH_STEPS = ["hypervisor_revert", "hypervisor_start", "windows_update", "refresh_user_tasks", "user_tasks",
                 "hypervisor_baseline"] + VM_STEPS + ["hypervisor_revert"]

# host -> (group, recorded facts fixture, extra host variables)
GENERALIZE_HOSTS = {
    "pc-ready": ("physical", "win7_sp1_clean", {}),
    "pc-blocked": ("physical", "win10_22h2_blocked", {}),
    "vm-hyperv": ("vms", "win11_23h2_clean", {"hypervisor_kind": "hyperv"}),
    "vm-vmware": ("vms", "win11_23h2_clean", {"hypervisor_kind": "vmware", "real_capture": True}),
    "vm-broken": ("vms", "win11_23h2_clean", {"hypervisor_kind": "libvirt", "hook_fail_step": "sysprep"}),
    "hv-host": ("hyperv_hosts", "server2022_hyperv_host", {}),
}
REFRESH_HOSTS = {
    "ref-hyperv": ("vms", "win11_23h2_clean", {"hypervisor_kind": "hyperv"}),
    "ref-vmware": ("vms", "win11_23h2_clean", {"hypervisor_kind": "vmware", "real_capture": True}),
    "ref-failing": ("vms", "win11_23h2_clean", {"hypervisor_kind": "libvirt", "hook_fail_step": "capture"}),
    "ref-gone": ("vms", "win11_23h2_clean", {"hypervisor_kind": "hyperv", "hook_unreachable_step": "windows_update",
                                             "unreachable": True}),
}


@pytest.fixture(scope="module")
def images(winimage_artifacts):
    """A generalized WIM (what a capture would produce) and a generalized VM disk (qcow2)."""
    if not (COLLECTIONS / "ansible_collections" / "winimage" / "generalize").exists():
        pytest.fail("the collection is not linked into %s: run `make setup` first" % COLLECTIONS)
    return {
        "wim": winimage_artifacts.build("wim", preset="generalized").path,
        "qcow2": winimage_artifacts.build("qcow2", preset="generalized").path,
    }


def _yaml_value(value):
    return json.dumps(value)


def workspace(base, hosts, images):
    """Facts, store, capture directory, hook record directory and the inventory, under ``base``."""
    base = pathlib.Path(base)
    for name in ("facts", "store", "capture", "records", "reports"):
        (base / name).mkdir(parents=True, exist_ok=True)
    groups = {"physical": {}, "vms": {}, "hyperv_hosts": {}}
    for host, (group, fixture, extra) in hosts.items():
        shutil.copy(FACTS / (fixture + ".json"), base / "facts" / (host + ".json"))
        variables = {key: value for key, value in extra.items() if key not in ("real_capture", "unreachable")}
        if group == "vms":
            variables.setdefault("hypervisor_host", "localhost")
        if extra.get("real_capture"):
            # The VMDK as the image host sees it: here a qcow2 disk of a generalized Windows.
            variables["capture_src"] = str(images["qcow2"])
            variables["winimage_step_hook_passthrough"] = PASSTHROUGH + ["capture"]
        if extra.get("unreachable"):
            variables.update(ansible_connection="ssh", ansible_host="127.0.0.1", ansible_port=9,
                             ansible_ssh_common_args="-o ConnectTimeout=2")
        groups[group][host] = variables
    lines = ["all:", "  vars:"]
    common = {
        "ansible_connection": "local",
        "ansible_python_interpreter": sys.executable,
        "ansible_user": "imagebuilder",
        "ansible_password": WINRM_PASSWORD,
        "domain_unjoin_domain_admin_password": UNJOIN_PASSWORD,
        "preflight_facts_source": "recorded",
        "preflight_recorded_facts_dir": str(base / "facts"),
        "generalize_report_dir": str(base / "reports"),
        "generalize_capture_dir": str(base / "capture"),
        "generalize_image_dir": str(base / "capture"),
        "generalize_capture_throttle": 2,
        "generalize_guest_check_timeout": 3,
        "publish_store": str(base / "store"),
        "winimage_step_hook": str(HOOKS / "record_step.yml"),
        "winimage_step_hook_steps": EVERY_STEP,
        "winimage_step_hook_passthrough": PASSTHROUGH,
        "refresh_user_tasks": str(HOOKS / "user_tasks.yml"),
        "hook_record_dir": str(base / "records"),
        "hook_wim": str(images["wim"]),
    }
    lines += ["    %s: %s" % (key, _yaml_value(value)) for key, value in common.items()]
    lines.append("  children:")
    for group, members in groups.items():
        lines += ["    %s:" % group, "      hosts:"]
        for host, variables in members.items():
            lines.append("        %s: %s" % (host, _yaml_value(variables)))
    (base / "inventory.yml").write_text("\n".join(lines) + "\n")
    return base


def run(base, playbook, *extra):
    env = dict(os.environ)
    env.update(ANSIBLE_COLLECTIONS_PATH=str(COLLECTIONS), ANSIBLE_HOME=str(base / "ansible-home"),
               ANSIBLE_LOCAL_TEMP=str(base / "ansible-local"), ANSIBLE_NOCOLOR="1",
               ANSIBLE_RETRY_FILES_ENABLED="false", ANSIBLE_DEPRECATION_WARNINGS="false",
               ANSIBLE_HOST_KEY_CHECKING="false", ANSIBLE_FORKS="8")
    env.pop("ANSIBLE_CONFIG", None)
    completed = subprocess.run([str(ANSIBLE_PLAYBOOK), "-i", "inventory.yml", playbook] + list(extra),
                               cwd=str(base), env=env, capture_output=True, text=True, timeout=900, check=False)
    summary_path = base / "reports" / "summary.json"
    report_path = base / "reports" / "report.json"
    return {
        "rc": completed.returncode,
        "output": completed.stdout + completed.stderr,
        "summary": json.loads(summary_path.read_text()) if summary_path.exists() else None,
        "report": json.loads(report_path.read_text()) if report_path.exists() else None,
        "records": {path.stem: path.read_text().split() for path in sorted((base / "records").glob("*.log"))},
    }


def catalog(base):
    path = base / "store" / "catalog.json"
    return json.loads(path.read_text()) if path.exists() else None


def manifest(base, family):
    entry = next(image for image in catalog(base)["images"] if image.get("family") == family)
    return json.loads((base / "store" / entry["manifest"]).read_text())


def final_report(result):
    """The fleet report the run wrote last, checked against the published schema; host name -> entry."""
    report = result["report"]
    assert report is not None, "no report.json in the report directory:\n" + result["output"][-3000:]
    jsonschema.validate(report, json.loads(REPORT_SCHEMA.read_text()))
    return {host["name"]: host for host in report["hosts"]}


def published_families(base):
    found = catalog(base)
    images = (found or {}).get("images") or []
    return sorted({image.get("family") for image in images})


@pytest.fixture(scope="module")
def generalize_run(tmp_path_factory, images):
    base = workspace(tmp_path_factory.mktemp("fleet-generalize"), GENERALIZE_HOSTS, images)
    return base, run(base, "winimage.generalize.generalize")


@pytest.fixture(scope="module")
def generalize_check_run(tmp_path_factory, images):
    base = workspace(tmp_path_factory.mktemp("fleet-generalize-check"), GENERALIZE_HOSTS, images)
    return base, run(base, "winimage.generalize.generalize", "--check")


@pytest.fixture(scope="module")
def refresh_check_run(tmp_path_factory, images):
    base = workspace(tmp_path_factory.mktemp("fleet-refresh-check"), REFRESH_HOSTS, images)
    return base, run(base, "winimage.generalize.refresh", "--check")


@pytest.fixture(scope="module")
def refresh_run(tmp_path_factory, images):
    base = workspace(tmp_path_factory.mktemp("fleet-refresh"), REFRESH_HOSTS, images)
    return base, run(base, "winimage.generalize.refresh")


# --------------------------------------------------------------------------- generalize.yml

def test_each_kind_goes_through_its_own_steps_in_order(generalize_run):
    unused_base, result = generalize_run
    records = result["records"]
    assert records["pc-ready"] == PHYSICAL_STEPS, result["output"][-3000:]
    assert records["vm-hyperv"] == VM_STEPS
    assert records["vm-vmware"] == VM_STEPS
    assert records["hv-host"] == HYPERV_HOST_STEPS


def test_a_blocked_host_stops_at_the_preflight_with_its_blockers(generalize_run):
    unused_base, result = generalize_run
    assert result["records"]["pc-blocked"] == ["preflight"]
    outcome = result["summary"]["hosts"]["pc-blocked"]
    assert outcome["status"] == "blocked" and outcome["failed_step"] == "preflight"
    assert {"pending_reboot", "bitlocker_on", "appx_user_not_provisioned"} <= set(outcome["preflight"]["blocker_ids"])


def test_a_failing_host_stops_and_the_others_complete(generalize_run):
    base, result = generalize_run
    assert result["records"]["vm-broken"] == VM_STEPS[:VM_STEPS.index("sysprep") + 1]
    summary = result["summary"]
    assert summary["hosts"]["vm-broken"]["status"] == "failed"
    assert summary["hosts"]["vm-broken"]["failed_step"] == "sysprep"
    assert "planned failure of step sysprep" in summary["hosts"]["vm-broken"]["error"]
    assert sorted(summary["hosts_by_status"]["published"]) == ["hv-host", "pc-ready", "vm-hyperv", "vm-vmware"]
    assert published_families(base) == ["hv-host", "pc-ready", "vm-hyperv", "vm-vmware"]
    # Failed and blocked hosts fail the run, after the summary was written.
    assert result["rc"] == 2
    assert "vm-broken stopped at step sysprep" in result["output"]


def test_the_vmware_vm_is_captured_for_real_and_published_as_captured(generalize_run):
    base, result = generalize_run
    outcome = result["summary"]["hosts"]["vm-vmware"]
    assert outcome["capture"]["backend"] == "wimlib"
    wim = pathlib.Path(outcome["capture"]["dest"])
    assert wim.parent == base / "capture" and wim.name.startswith("vm-vmware-") and wim.is_file()
    info = subprocess.run(["wimlib-imagex", "info", str(wim), "1"], capture_output=True, text=True, check=True)
    assert "Windows" in info.stdout or "Name:" in info.stdout
    entry = next(image for image in catalog(base)["images"] if image.get("family") == "vm-vmware")
    assert entry.get("sha256") == outcome["capture"]["sha256"]
    assert outcome["verify"]["ready"] is True and outcome["verify"]["blocker_ids"] == []


def test_reports_and_artifacts_are_written(generalize_run):
    base, result = generalize_run
    assert (base / "reports" / "preflight" / "report.json").is_file()
    assert (base / "reports" / "verify" / "report.json").is_file()
    assert "winimage_generalize" in result["output"] or result["summary"]["kind"] == "winimage.generalize.generalize_summary"
    assert result["summary"]["counts"] == {"published": 4, "checked": 0, "blocked": 1, "failed": 1, "not_run": 0}
    # The verify report holds the captured images; hosts that stopped before have no image facts.
    verify = json.loads((base / "reports" / "verify" / "report.json").read_text())
    states = {host["name"]: host["state"] for host in verify["hosts"]}
    assert states["pc-blocked"] == "no_facts" and states["vm-broken"] == "no_facts"
    assert all(states[host] == "ready" for host in ("hv-host", "pc-ready", "vm-hyperv", "vm-vmware"))


def test_no_secret_reaches_the_output_or_the_reports(generalize_run):
    base, result = generalize_run
    texts = [result["output"]] + [path.read_text(errors="replace") for path in (base / "reports").rglob("*")
                                  if path.is_file()]
    texts += [path.read_text(errors="replace") for path in (base / "store").rglob("*.json")]
    for secret in (WINRM_PASSWORD, UNJOIN_PASSWORD):
        assert not any(secret in text for text in texts)


def test_check_mode_runs_the_preflight_only_and_says_so(generalize_check_run):
    base, result = generalize_check_run
    for host, steps in result["records"].items():
        assert steps == ["preflight"], host
    assert "Check mode: only the preflight ran" in result["output"]
    assert not list((base / "capture").iterdir()) and catalog(base) is None
    statuses = {host: item["status"] for host, item in result["summary"]["hosts"].items()}
    assert statuses == {"pc-ready": "checked", "pc-blocked": "blocked", "vm-hyperv": "checked",
                        "vm-vmware": "checked", "vm-broken": "checked", "hv-host": "checked"}
    assert result["summary"]["check_mode"] is True


def test_the_final_report_holds_each_hosts_pipeline_and_preflight(generalize_run):
    base, result = generalize_run
    report = result["report"]
    hosts = final_report(result)
    assert report["phase"] == "generalize" and sorted(hosts) == sorted(GENERALIZE_HOSTS)
    statuses = {name: (host["pipeline"]["status"], host["pipeline"]["failed_step"]) for name, host in hosts.items()}
    assert statuses == {"pc-ready": ("published", None), "pc-blocked": ("blocked", "preflight"),
                        "vm-hyperv": ("published", None), "vm-vmware": ("published", None),
                        "vm-broken": ("failed", "sysprep"), "hv-host": ("published", None)}
    # The preflight findings of the blocked host, and the gate that fails the hosts that stopped.
    assert {"pending_reboot", "bitlocker_on"} <= {f["id"] for f in hosts["pc-blocked"]["findings"]}
    assert hosts["pc-blocked"]["state"] == "blocked" and hosts["pc-ready"]["facts"]["os"]["build"]
    assert report["summary"]["failing_hosts"] == ["pc-blocked", "vm-broken"]
    assert hosts["vm-broken"]["gate_reasons"][0].startswith("stopped at step sysprep: test hook: planned failure")
    # What each published host produced, as the catalogue knows it.
    for name in ("pc-ready", "vm-hyperv", "vm-vmware", "hv-host"):
        entry = next(image for image in catalog(base)["images"] if image.get("family") == name)
        assert hosts[name]["pipeline"]["published"]["id"] == entry["id"]
        assert hosts[name]["pipeline"]["capture"]["sha256"] == entry["sha256"]
        assert hosts[name]["pipeline"]["verify"]["ready"] is True
    assert report["summary"]["pipeline"]["counts"] == result["summary"]["counts"]
    page = (base / "reports" / "report.html").read_text()
    assert 'id="pipeline"' in page and hosts["vm-vmware"]["pipeline"]["capture"]["sha256"][:12] in page


def test_dism_captures_are_published_as_dism(generalize_run):
    base, result = generalize_run
    backends = {name: result["summary"]["hosts"][name]["capture"]["backend"]
                for name in ("vm-hyperv", "hv-host", "vm-vmware")}
    assert backends == {"vm-hyperv": "hyperv_vm", "hv-host": "winpe", "vm-vmware": "wimlib"}
    # The manifest names the tool that wrote the WIM: hyperv_vm and winpe both run DISM.
    assert {name: manifest(base, name)["capture"]["backend"] for name in backends} == {
        "vm-hyperv": "dism", "hv-host": "dism", "vm-vmware": "wimlib"}


def test_the_check_run_report_says_what_was_checked(generalize_check_run):
    unused_base, result = generalize_check_run
    hosts = final_report(result)
    assert {name: host["pipeline"]["status"] for name, host in hosts.items()} == {
        "pc-ready": "checked", "pc-blocked": "blocked", "vm-hyperv": "checked", "vm-vmware": "checked",
        "vm-broken": "checked", "hv-host": "checked"}
    assert result["report"]["summary"]["failing_hosts"] == ["pc-blocked"]


# --------------------------------------------------------------------------- refresh.yml

def test_refresh_order_for_each_reference(refresh_run):
    unused_base, result = refresh_run
    assert result["records"]["ref-hyperv"] == REFRESH_STEPS, result["output"][-3000:]
    assert result["records"]["ref-vmware"] == REFRESH_STEPS


def test_a_failing_reference_is_reverted_and_the_others_complete(refresh_run):
    base, result = refresh_run
    steps = result["records"]["ref-failing"]
    assert steps == REFRESH_STEPS[:REFRESH_STEPS.index("capture") + 1] + ["hypervisor_revert"]
    outcome = result["summary"]["hosts"]["ref-failing"]
    assert outcome["status"] == "failed" and outcome["failed_step"] == "capture" and outcome["reverted"] is True
    for host in ("ref-hyperv", "ref-vmware"):
        assert result["summary"]["hosts"][host]["status"] == "published"
        assert result["summary"]["hosts"][host]["reverted"] is True
    assert published_families(base) == ["ref-hyperv", "ref-vmware"]
    assert result["rc"] == 2


def test_an_unreachable_reference_is_still_reverted(refresh_run):
    unused_base, result = refresh_run
    steps = result["records"]["ref-gone"]
    assert steps == ["hypervisor_revert", "hypervisor_start", "windows_update", "hypervisor_revert"]
    outcome = result["summary"]["hosts"]["ref-gone"]
    assert outcome["failed_step"] == "windows_update" and outcome["reverted"] is True


def test_refresh_summary(refresh_run):
    unused_base, result = refresh_run
    summary = result["summary"]
    assert summary["kind"] == "winimage.generalize.refresh_summary"
    assert summary["counts"]["published"] == 2 and summary["counts"]["failed"] == 2


def test_the_refresh_report_holds_status_failed_step_and_revert(refresh_run):
    unused_base, result = refresh_run
    hosts = final_report(result)
    assert result["report"]["phase"] == "refresh"
    outcomes = {name: (host["pipeline"]["status"], host["pipeline"]["failed_step"], host["pipeline"]["reverted"])
                for name, host in hosts.items()}
    assert outcomes == {"ref-hyperv": ("published", None, True), "ref-vmware": ("published", None, True),
                        "ref-failing": ("failed", "capture", True), "ref-gone": ("failed", "windows_update", True)}
    # ref-gone stopped before its preflight: no facts, and the report says why.
    assert hosts["ref-gone"]["state"] == "no_facts" and "windows_update" in hosts["ref-gone"]["error"]
    assert hosts["ref-failing"]["facts"] is not None
    assert result["report"]["summary"]["failing_hosts"] == ["ref-failing", "ref-gone"]


def test_refresh_check_mode_only_inspects_and_says_so(refresh_check_run):
    base, result = refresh_check_run
    for host, steps in result["records"].items():
        assert steps == ["hypervisor_inspect"], host
    assert "Check mode: each reference VM was only inspected on its hypervisor" in result["output"]
    assert catalog(base) is None
    assert {item["status"] for item in result["summary"]["hosts"].values()} == {"checked"}
