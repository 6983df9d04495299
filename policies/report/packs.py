"""How many rules each policy pack evaluates, read from the installed packs without loading jsii."""

from __future__ import annotations

import importlib.util
import pkgutil
import re
import tarfile
from functools import cache
from pathlib import Path

# cdk-nag's packs live in its bundled JavaScript; each rule is one `applyRule` call.
_CDK_NAG_PACKS = {"AwsSolutions": "aws-solutions", "Serverless": "serverless"}


@cache
def rules_per_pack() -> dict[str, int]:
    counts: dict[str, int] = {}
    spec = importlib.util.find_spec("cdk_nag")
    if spec is not None and spec.submodule_search_locations:
        bundle = next(Path(spec.submodule_search_locations[0], "_jsii").glob("*.tgz"))
        with tarfile.open(bundle) as archive:
            for pack, file in _CDK_NAG_PACKS.items():
                member = archive.extractfile(f"package/lib/packs/{file}.js")
                if member is not None:
                    counts[pack] = len(re.findall(r"this\.applyRule\(", member.read().decode()))
    rules_dir = Path(__file__).resolve().parent.parent / "rules"
    counts["Platform"] = sum(
        1
        for m in pkgutil.iter_modules([str(rules_dir)])
        if not m.name.startswith("_") and m.name != "base"
    )
    return counts
