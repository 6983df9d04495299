"""The SBOM step's IRI checks (RFC 3986/3987 without rfc3987-syntax) and the schema validation
cyclonedx-py runs with them: a bad URL is refused."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator
from jsonschema import Draft7Validator

from scripts import sbom
from tests.support.synth import ROOT

# (value, valid IRI-reference?) per RFC 3986 / RFC 3987: relative references, percent-encoding,
# userinfo, the empty reference, IPv6 literals (RFC 3986 section 1.1.2's own example), and the
# shapes of a package's project URLs.
SAMPLES = [
    ("https://github.com/aws/aws-cdk", True),
    ("https://pypi.org/project/boto3/1.44.5/#files", True),
    ("git+https://github.com/CycloneDX/cyclonedx-python.git", True),
    ("mailto:security@example.com", True),
    ("urn:cdx:3e671687-395b-41f5-a30f-a58921a69b79/1#pkg", True),
    ("//example.com/relative/path", True),
    ("../up/one", True),
    ("", True),
    ("http://user@example.com/%41", True),
    ("ldap://[2001:db8::7]/c=GB?objectClass?one", True),
    ("http://[::1]:8080/a?b=c", True),
    ("http://exa mple.com/", False),
    ("http://example.com/%zz", False),
    ("http://[::1/", False),
    ("https://example.com/a b", False),
    ("http://example.com/<tag>", False),
    ("http://example.com/#frag#frag", False),
    ("1http://scheme.starts.with.a.digit", False),
]


@pytest.mark.parametrize(("value", "valid"), SAMPLES)
def test_the_iri_reference_check_follows_the_rfcs(value: str, valid: bool) -> None:
    assert sbom.iri_reference(value) == valid


# RFC 3987: ucschar (here Japanese, a combining accent's base letter) may stand in the host,
# path, query and fragment; iprivate (U+E000) only in the query; other non-ASCII (U+FFFE, a
# noncharacter) nowhere, and a space stays invalid however it is written.
IRIS = [
    ("https://例え.jp/パス?q=値#節", True, True),
    ("https://example.com/caf\u00e9", True, True),
    ("/relative/パス", True, False),
    ("https://example.com/?q=\ue000", True, True),
    ("https://example.com/\ue000", False, False),
    ("https://example.com/\ufffe", False, False),
    ("https://例え.jp/a b", False, False),
    ("パス:scheme", False, False),
]


@pytest.mark.parametrize(("value", "reference", "absolute"), IRIS)
def test_non_ascii_is_checked_as_the_uri_it_maps_to(
    value: str, reference: bool, absolute: bool
) -> None:
    assert sbom.iri_reference(value) == reference
    assert sbom.iri(value) == absolute


def test_the_format_checker_had_no_iri_check_of_its_own() -> None:
    """Without rfc3987-syntax (excludes.txt), jsonschema passes any string as an IRI: the check
    is there only because scripts/sbom.py registers it."""
    from jsonschema import FormatChecker

    assert "iri-reference" not in FormatChecker().checkers
    sbom.install()
    assert Draft7Validator.FORMAT_CHECKER.checkers["iri-reference"][0] is sbom.iri_reference


def test_the_wrapper_writes_a_valid_sbom_and_a_bad_url_is_refused(tmp_path: Path) -> None:
    # A two-package requirements file: the same CLI and validation as `make security`'s
    # `environment` run, in a fraction of its time.
    pins = tmp_path / "requirements.txt"
    pins.write_text("cdk-nag==3.0.0\nboto3==1.44.5\n")
    out = tmp_path / "sbom.json"
    command = [sys.executable, "-m", "scripts.sbom", "requirements", "--output-format", "JSON"]
    done = subprocess.run(
        [*command, "--output-file", str(out), str(pins)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    bom = json.loads(out.read_text())
    assert {c["name"] for c in bom["components"]} == {"cdk-nag", "boto3"}
    sbom.install()
    validator = JsonStrictValidator(SchemaVersion.from_version(bom["specVersion"]))
    assert validator.validate_str(json.dumps(bom)) is None
    component = bom["components"][0]
    component.setdefault("externalReferences", []).append(
        {"type": "website", "url": "http://exa mple.com/"}
    )
    error = validator.validate_str(json.dumps(bom))
    assert error is not None
    assert "exa mple" in str(error)
