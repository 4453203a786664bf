# Copyright: (c) 2026, winimage.generalize contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""How long the fleet report takes to build and render for large fleets, and how big it is.

    PYTHONPATH=.build/collections .venv/bin/python tests/benchmarks/bench_fleet_report.py

Every host gets the full fixture facts of a blocked Windows 10 machine (7 findings), so the
figures are an upper bound for real fleets.
"""

from __future__ import annotations

import json
import pathlib
import time

from ansible_collections.winimage.generalize.plugins.module_utils import report, rules

FIXTURE = pathlib.Path(__file__).resolve().parents[1] / "data" / "facts" / "win10_22h2_blocked.json"


def main():
    facts = json.loads(FIXTURE.read_text(encoding="utf-8"))
    findings = rules.evaluate(facts, phase="preflight")
    for size in (10, 100, 1000):
        hosts = {"ref-%04d" % index: {"facts": facts, "findings": findings} for index in range(size)}
        started = time.perf_counter()
        document = report.build_report(hosts, "2026-01-01T00:00:00Z")
        built = time.perf_counter()
        page = report.render_html(document)
        text = report.to_json(document)
        rendered = time.perf_counter()
        print("%5d hosts: build %6.3f s, render+serialise %6.3f s, report.json %6.1f KiB, report.html %6.1f KiB"
              % (size, built - started, rendered - built, len(text) / 1024.0, len(page) / 1024.0))


if __name__ == "__main__":
    main()
