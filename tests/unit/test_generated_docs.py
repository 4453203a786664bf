# Copyright: (c) 2026, winimage.generalize contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The generated schemas and docs match the module_utils they come from (tools/generate.py)."""

from __future__ import annotations

import json
import pathlib
import subprocess
import sys

import jsonschema

from ansible_collections.winimage.generalize.plugins.module_utils import (
    catalog, facts_schema, finding_catalog, manifest, report, rules)
from ansible_collections.winimage.generalize.plugins.module_utils.finding_catalog import make_finding

ROOT = pathlib.Path(__file__).resolve().parents[2]
GENERATOR = ROOT / "tools" / "generate.py"


def run_generator(*args):
    return subprocess.run([sys.executable, str(GENERATOR)] + list(args), capture_output=True, text=True,
                          cwd=str(ROOT), timeout=120, check=False)


def test_generated_files_are_up_to_date():
    result = run_generator("--check")
    assert result.returncode == 0, result.stderr + "\nRun `python tools/generate.py` (make generated) and commit."


def test_check_names_stale_and_missing_files(tmp_path):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "facts.md").write_text("# hand-edited\n")
    result = run_generator("--check", "--root", str(tmp_path))
    assert result.returncode == 1
    for name in ("schemas/facts.schema.json", "schemas/finding.schema.json", "schemas/report.schema.json",
                 "schemas/manifest.schema.json", "schemas/catalog.schema.json", "docs/facts.md", "docs/findings.md"):
        assert name in result.stderr
    assert run_generator("--root", str(tmp_path)).returncode == 0
    assert run_generator("--check", "--root", str(tmp_path)).returncode == 0


def test_facts_schema_file_is_the_module_schema():
    assert json.loads((ROOT / "schemas" / "facts.schema.json").read_text()) == facts_schema.json_schema()


def test_report_manifest_and_image_catalogue_schema_files_are_the_module_schemas():
    for name, module in (("report", report), ("manifest", manifest), ("catalog", catalog)):
        assert json.loads((ROOT / "schemas" / ("%s.schema.json" % name)).read_text()) == module.json_schema(), name


def test_finding_schema_accepts_every_catalogue_entry_and_rejects_bad_shapes():
    validator = jsonschema.Draft202012Validator(json.loads((ROOT / "schemas" / "finding.schema.json").read_text()))
    for finding_id, entry in finding_catalog.CATALOG.items():
        for phase in entry["phases"]:
            validator.validate(make_finding(finding_id, phase, "seen", evidence={"x": 1}, lines=["a"]))
    good = make_finding("rearm_low", "preflight", "seen")
    for broken in (dict(good, severity="fatal"), dict(good, phase="verify"), dict(good, title="Other"),
                   {k: v for k, v in good.items() if k != "message"}, dict(good, id="no_such_id"),
                   dict(good, override="not_an_option")):
        assert not validator.is_valid(broken), broken


def test_docs_cover_every_finding_id_and_facts_field():
    findings_md = (ROOT / "docs" / "findings.md").read_text()
    for finding_id in finding_catalog.CATALOG:
        assert "### `%s`" % finding_id in findings_md
    for option in rules.OPTIONS:
        assert "| `%s` |" % option in findings_md
    facts_md = (ROOT / "docs" / "facts.md").read_text()
    for path in facts_schema.field_paths():
        section, field = path.split(".")
        assert "## `%s`" % section in facts_md and "| `%s` |" % field in facts_md
