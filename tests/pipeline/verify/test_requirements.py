"""The Verify steps install requirements-verify.txt alone: it pins what the driver (and `make
released`) imports, every transitive dependency too, exactly as constraints.txt does; and the
Makefile's verify path in a fresh checkout builds .venv-verify from it, not the dev venv."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from importlib import metadata

from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.support.synth import ROOT

# What the Verify steps run: `make verify` (pipeline.verify) and, in prod, `make released`.
ENTRY_MODULES = ("pipeline.verify.__main__", "pipeline.review")
PROJECT = ("pipeline", "services", "stages", "policies", "cloud_assembly", "config")


def pins(name: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for line in (ROOT / name).read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line and not line.startswith("-"):
            package, _, version = line.partition("==")
            assert version, f"{name}: {line!r} is not pinned with =="
            found[canonicalize_name(package)] = version.strip()
    return found


def test_every_verify_pin_is_the_constraints_pin() -> None:
    verify, constraints = pins("requirements-verify.txt"), pins("constraints.txt")
    assert verify
    assert {name: constraints.get(name) for name in verify} == verify
    assert "-c constraints.txt" in (ROOT / "requirements-verify.txt").read_text().splitlines()


def test_the_verify_pins_are_closed_under_their_dependencies() -> None:
    """Each pinned distribution's unconditional Requires-Dist (read from the installed metadata
    of the same versions, as the dev venv holds them) is pinned too."""
    verify = pins("requirements-verify.txt")
    environment = {key: str(value) for key, value in default_environment().items()}
    environment["extra"] = ""
    missing = set()
    for name, version in verify.items():
        assert metadata.version(name) == version  # the dev venv holds the same pins
        for text in metadata.requires(name) or []:
            requirement = Requirement(text)
            if requirement.marker and not requirement.marker.evaluate(environment):
                continue
            if canonicalize_name(requirement.name) not in verify:
                missing.add(f"{name} needs {requirement.name}")
    assert missing == set()


# Imports everything the Verify steps import with only the stdlib, the project and the
# distributions of requirements-verify.txt importable: any other top-level module is
# "not installed" (ModuleNotFoundError), as in .venv-verify, and recorded.
_PROBE = textwrap.dedent(
    """
    import importlib, json, sys
    from importlib import metadata
    allowed_dists = set(json.loads(sys.argv[1]))
    project = set(json.loads(sys.argv[2]))
    provided = {
        top for top, dists in metadata.packages_distributions().items()
        if any(d.lower().replace("_", "-") in allowed_dists for d in dists)
    }
    allowed = set(sys.stdlib_module_names) | project | provided | {"_distutils_hack"}
    refused = []

    class Blocker:
        def find_spec(self, name, path=None, target=None):
            top = name.partition(".")[0]
            if top not in allowed and not top.startswith("_sysconfigdata"):
                refused.append(name)
                raise ModuleNotFoundError(f"not in requirements-verify.txt: {name}", name=name)
            return None

    sys.meta_path.insert(0, Blocker())
    errors = {}
    for module in json.loads(sys.argv[3]):
        try:
            importlib.import_module(module)
        except Exception as error:
            errors[module] = repr(error)
    from services.inbound.providers import discover
    providers = sorted(discover())
    print(json.dumps({"errors": errors, "refused": sorted(set(refused)),
                      "providers": providers, "cdk": "aws_cdk" in sys.modules}))
    """
)


def test_the_verify_steps_import_only_what_requirements_verify_provides() -> None:
    modules = [*ENTRY_MODULES] + [
        f"pipeline.verify.{path.stem}"
        for path in sorted((ROOT / "pipeline" / "verify").glob("*.py"))
        if path.stem != "__init__"
    ]
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            _PROBE,
            json.dumps(sorted(pins("requirements-verify.txt"))),
            json.dumps(PROJECT),
            json.dumps(modules),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    result = json.loads(done.stdout)
    assert result["errors"] == {}, result["refused"]
    assert result["cdk"] is False
    assert result["providers"]  # the providers' signing code loads without the dev venv


def test_make_verify_in_a_fresh_checkout_builds_only_the_verify_venv() -> None:
    """`make -n` with no .venv (PY_STAMP pointed at a missing file): the Verify step's path."""
    done = subprocess.run(
        ["make", "-n", "verify", "SUITE=smoke", "PY_STAMP=.no-dev-venv/.installed"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    plan = done.stdout
    assert "-r requirements-verify.txt" in plan
    assert "venv --without-pip .venv-verify" in plan
    assert "requirements-dev.txt" not in plan
    assert "npm ci" not in plan
    assert f"{ROOT}/.venv-verify/bin/python -m pipeline.verify smoke" in plan
