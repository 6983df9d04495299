"""`python -m policies.report CDK_OUT [--base OLD_CDK_OUT]`: write the reviewer's reports."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from policies.report import build, diff, formats, model, provenance
from policies.report.document import markdown, page


def write(cdk_out: Path, out: Path, base: Path | None = None) -> model.Assembly:
    assembly = model.load(cdk_out)
    origin = provenance.ensure(cdk_out)
    out.mkdir(parents=True, exist_ok=True)
    for unit in assembly.units:
        document = build.unit_document(assembly, unit, origin)
        stem = build.file_stem(unit)
        (out / f"{stem}.md").write_text(markdown(document))
        (out / f"{stem}.html").write_text(page(document, f"{unit.prefix} · from {cdk_out}"))
    summary = build.index_document(assembly, "md", origin)
    index = build.index_document(assembly, "html", origin)
    if base is not None:
        label = diff.base_label(base)
        changes = diff.compare(model.load(base), assembly)
        changes.base = label
        delta = diff.document(changes, label)
        (out / "diff.md").write_text(markdown(delta))
        (out / "diff.html").write_text(page(delta, f"{label} → this release"))
        (out / "diff.json").write_text(json.dumps(changes.to_json(), indent=1, default=str))
        # After the verdict and provenance: what changed since the base release.
        for doc, extension in ((summary, "md"), (index, "html")):
            doc.blocks.insert(2, f"Changes since the base release: [diff](diff.{extension}).")
        summary.blocks.insert(3, delta)
    (out / "summary.md").write_text(markdown(summary))
    (out / "index.html").write_text(page(index, f"from {cdk_out}"))
    formats.write_sarif(assembly, out / "report.sarif", origin)
    (out / "report.junit.xml").write_text(formats.junit(assembly, origin))
    return assembly


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m policies.report",
        description="Security reports (HTML, Markdown, SARIF, JUnit) from a synthesized cdk.out.",
    )
    parser.add_argument("cdk_out", type=Path, help="the synth output to report on")
    parser.add_argument("--base", type=Path, help="an older synth output: also write the diff")
    parser.add_argument("--out", type=Path, help="output folder (default: CDK_OUT/reports)")
    args = parser.parse_args(argv)
    for label, folder in (("cdk_out", args.cdk_out), ("--base", args.base)):
        if folder is not None and not (folder / "validation-report.json").is_file():
            print(f"report: {label} {folder} has no validation-report.json", file=sys.stderr)
            return 2
    out = args.out or args.cdk_out / "reports"
    assembly = write(args.cdk_out, out, args.base)
    failed = json.loads((out / "diff.json").read_text())["incomplete"] if args.base else []
    for stack in failed:  # the diff says so too; the CLI's ground truth is missing for these
        print(f"report: cdk diff --security-only failed for {stack}", file=sys.stderr)
    opened = sum(len(u.open) for u in assembly.units)
    acknowledged = sum(len(u.acknowledged) for u in assembly.units)
    print(
        f"reports: {out}/index.html ({len(assembly.units)} units, {opened} open, "
        f"{acknowledged} acknowledged{', diff written' if args.base else ''})"
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
