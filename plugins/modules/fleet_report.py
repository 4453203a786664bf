#!/usr/bin/python
# Copyright: (c) 2026, winimage.generalize contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: fleet_report
short_description: Write the fleet readiness report (JSON and HTML) for many Windows hosts
version_added: 0.1.0
description:
  - Builds one report from the readiness facts and findings of every host of a play and writes
    C(report.json) (a stable, versioned document, see C(schemas/report.schema.json)) and
    C(report.html) (a self-contained page with a hosts x findings matrix, filterable by severity,
    host name and finding id) into O(dest).
  - Runs on the controller; call it once for the whole play with C(run_once) and
    C(delegate_to) set to C(localhost). The C(winimage.generalize.preflight) role does exactly that.
  - At the end of a generalize or refresh run (O(phase=generalize) or O(phase=refresh)) each host
    also carries its C(pipeline) outcome; the role C(winimage.generalize.generalize) (tasks_from
    C(summary)) writes that final report.
  - Both files are written to temporary files in O(dest) and renamed into place, so a failure
    never leaves a half-written report and never destroys the previous one.
  - Only a few key facts per host are copied (OS product and build, domain membership,
    virtualization, which gatherer produced the facts); strings under password-like keys in
    finding evidence are masked.
  - The report is the product of a check-mode preflight, so it is written in check mode too.
    Nothing on the managed hosts is touched.
  - C(changed) is true only when the report content differs from the report already in O(dest).
    The report time (C(generated_at)) and the facts' C(gathered_at) times are ignored for that
    comparison; when nothing else differs the existing files are left as they are and keep the
    time their content was first written.
options:
  dest:
    description:
      - Directory to write C(report.json) and C(report.html) into. Created when missing.
    type: path
    required: true
  hosts:
    description:
      - Host name -> V({facts, findings, error, pipeline}).
      - C(facts) is the readiness facts document (see C(docs/facts.md)), C(findings) the list the
        P(winimage.generalize.findings#filter) filter returned for it.
      - C(error) says why a host has no facts. A host with neither facts nor error (an empty
        mapping) is reported as failed earlier in the play. Hosts without facts always fail the gate,
        unless they carry a C(pipeline) outcome.
      - C(pipeline) (optional) is the host's outcome of a generalize or refresh run - an item of
        C(hosts) of the P(winimage.generalize.pipeline_summary#filter) filter (C(status) published, checked,
        blocked, failed or not_run, the steps, C(failed_step), C(error), C(capture), C(verify),
        C(published), C(reverted)). A host whose pipeline did not complete (status other than published
        or checked) fails the gate; its findings add to that according to O(fail_on).
    type: dict
    required: true
  title:
    description: Title of the report.
    type: str
    default: Windows image readiness
  phase:
    description:
      - Which rules produced the findings (V(preflight), V(verify)), or which run the report ends
        (V(generalize), V(refresh)); shown in the report and in the failure messages.
    type: str
    default: preflight
    choices: [preflight, verify, generalize, refresh]
  fail_on:
    description:
      - The lowest severity that fails a host (V(never) - findings never fail a host).
      - The verdict per host is returned and shown in the report; this module never fails for it.
    type: str
    default: blocker
    choices: [blocker, warning, never]
  fail_on_unknown:
    description:
      - Also fail a host when a rule of a failing severity could not be checked because the facts
        it needs are missing (finding status V(unknown)).
    type: bool
    default: true
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: partial
    details: The report is written in check mode too; it is the output of a check-mode preflight.
  diff_mode:
    support: none
  platform:
    platforms: posix
seealso:
  - module: winimage.generalize.readiness_facts
author:
  - winimage.generalize contributors (@winimage)
"""

EXAMPLES = r"""
- name: Write the fleet report for every host of the play
  winimage.generalize.fleet_report:
    dest: /srv/reports/preflight
    title: Monthly image refresh
    hosts: "{{ dict(ansible_play_hosts_all | zip(ansible_play_hosts_all | map('extract', hostvars)
               | map(attribute='my_preflight_input', default={}))) }}"
  run_once: true
  delegate_to: localhost
  register: report

- name: Show where the report is
  ansible.builtin.debug:
    msg: "Open {{ report.report_html }}"
  run_once: true
"""

RETURN = r"""
report_json:
  description: Absolute path of C(report.json).
  returned: success
  type: str
  sample: /srv/reports/preflight/report.json
report_html:
  description: Absolute path of C(report.html).
  returned: success
  type: str
  sample: /srv/reports/preflight/report.html
generated_at:
  description: C(generated_at) of the report on disk (UTC, ISO 8601).
  returned: success
  type: str
  sample: "2026-01-12T08:30:00Z"
summary:
  description: The fleet summary of the report (hosts per state, failing hosts, all_pass).
  returned: success
  type: dict
  sample: {"hosts": 3, "states": {"blocked": 1, "no_facts": 0, "unknown": 0, "ready": 2},
           "failing_hosts": ["ref-2019"], "all_pass": false}
hosts:
  description:
    - Per host - C(state) (V(blocked), V(no_facts), V(unknown) or V(ready)), C(summary) (the
      P(winimage.generalize.findings_summary#filter) counts; C(ready) is false for a host without
      facts), C(passes_gate), C(gate_reasons) and C(fail_message) (empty when the host passes).
    - "With pipeline outcomes, the gate reasons of a host whose pipeline did not complete start with
      C(stopped at step <step>: <error>)."
  returned: success
  type: dict
  sample: {"ref-2019": {"state": "blocked", "passes_gate": false,
           "gate_reasons": ["A reboot is pending [pending_reboot]"],
           "fail_message": "ref-2019 is not ready for sysprep ...", "summary": {"ready": false, "blockers": 1}}}
stats:
  description:
    - Compact per-host readiness and the report paths, shaped for M(ansible.builtin.set_stats)
      so an AWX workflow can branch on them.
    - With pipeline outcomes, each host also has C(pipeline) and the top level C(pipeline) (hosts per status).
  returned: success
  type: dict
"""

import datetime
import json
import os
import tempfile

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_native

from ansible_collections.winimage.generalize.plugins.module_utils import report as fleet

REPORT_JSON = "report.json"
REPORT_HTML = "report.html"


def utc_now():
    return datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def read_text(path):
    """Content of a file, or None when it is absent or unreadable."""
    try:
        with open(path, "r", encoding="utf-8") as handle:
            return handle.read()
    except (OSError, UnicodeDecodeError):
        return None


def previous_report(path):
    """The report already on disk, or None when there is none or it is not valid JSON."""
    text = read_text(path)
    if text is None:
        return None
    try:
        loaded = json.loads(text)
    except ValueError:
        return None
    return loaded if isinstance(loaded, dict) else None


def settle_report(new, old):
    """Keep the report on disk when only its timestamps would change."""
    if old is not None and fleet.without_timestamps(old) == fleet.without_timestamps(new):
        return old
    return new


def new_file_mode(path):
    """The mode of the file being replaced, or 0666 minus the umask for a new file."""
    try:
        return os.stat(path).st_mode & 0o7777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def write_atomically(contents):
    """Write path -> text via temporary files in the same directory, then rename each into place.

    Every temporary file is complete before the first rename, so an error while writing
    leaves the previous report untouched.
    """
    staged = []
    try:
        for path, text in contents.items():
            handle, temp_path = tempfile.mkstemp(dir=os.path.dirname(path),
                                                 prefix=".%s." % os.path.basename(path), suffix=".tmp")
            staged.append((temp_path, path))
            with os.fdopen(handle, "w", encoding="utf-8") as stream:
                stream.write(text)
                stream.flush()
                os.fsync(stream.fileno())
            os.chmod(temp_path, new_file_mode(path))
        for temp_path, path in staged:
            os.replace(temp_path, path)
    finally:
        for temp_path, _path in staged:
            if os.path.exists(temp_path):
                os.unlink(temp_path)


def host_results(report, fail_on, report_html, phase="preflight"):
    return {
        host["name"]: {
            "state": host["state"],
            "summary": host["summary"],
            "passes_gate": host["passes_gate"],
            "gate_reasons": host["gate_reasons"],
            "fail_message": "" if host["passes_gate"] else fleet.failure_message(
                host["name"], host["gate_reasons"], fail_on, report_html, phase),
        }
        for host in report["hosts"]
    }


def run_module():
    module = AnsibleModule(
        argument_spec=dict(
            dest=dict(type="path", required=True),
            hosts=dict(type="dict", required=True),
            title=dict(type="str", default="Windows image readiness"),
            phase=dict(type="str", default="preflight", choices=list(fleet.PHASES)),
            fail_on=dict(type="str", default="blocker", choices=list(fleet.FAIL_ON_CHOICES)),
            fail_on_unknown=dict(type="bool", default=True),
        ),
        supports_check_mode=True,
    )
    params = module.params
    dest = os.path.abspath(params["dest"])
    if os.path.exists(dest) and not os.path.isdir(dest):
        module.fail_json(msg="dest %s exists and is not a directory: name a directory for report.json "
                             "and report.html" % dest)

    try:
        report = fleet.build_report(params["hosts"], utc_now(), title=params["title"],
                                    phase=params["phase"], fail_on=params["fail_on"],
                                    fail_on_unknown=params["fail_on_unknown"])
    except fleet.ReportInputError as err:
        module.fail_json(msg="Cannot build the fleet report: %s" % to_native(err))

    json_path = os.path.join(dest, REPORT_JSON)
    html_path = os.path.join(dest, REPORT_HTML)
    # Written in check mode too: the report is what a check-mode preflight produces.
    changed = False
    try:
        if not os.path.isdir(dest):
            os.makedirs(dest)
            changed = True
        report = settle_report(report, previous_report(json_path))
        wanted = {json_path: fleet.to_json(report), html_path: fleet.render_html(report)}
        outdated = {path: text for path, text in wanted.items() if read_text(path) != text}
        if outdated:
            write_atomically(outdated)
            changed = True
    except OSError as err:
        module.fail_json(msg="Cannot write the fleet report into %s: %s. Check that the directory is "
                             "writable by the user running ansible-playbook." % (dest, to_native(err)))

    module.exit_json(
        changed=changed,
        report_json=json_path,
        report_html=html_path,
        generated_at=report["generated_at"],
        summary=report["summary"],
        hosts=host_results(report, params["fail_on"], html_path, params["phase"]),
        stats=fleet.stats(report, json_path, html_path),
    )


def main():
    run_module()


if __name__ == "__main__":
    main()
