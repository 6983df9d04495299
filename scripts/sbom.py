"""`cyclonedx-py` with its schema validation kept and the SBOM's IRIs checked by RFC 3986.

cyclonedx-py validates the SBOM against CycloneDX's JSON schema, whose URLs have the format
`iri-reference`. jsonschema checks that format only with rfc3987-syntax, which `excludes.txt`
leaves out of the venv: it builds a Lark grammar on import (1.1 s in every process importing
jsonschema) and parses each URL with an Earley parser (60 ms each: 9 of the 11 s the SBOM
took). Without a check registered, jsonschema would pass any string; this registers one.
"""

from __future__ import annotations

import re
import sys
from urllib.parse import quote

from jsonschema import Draft7Validator
from rfc3986_validator import validate_rfc3986

# RFC 3987 section 2.2: the characters an IRI adds to a URI. `ucschar` may stand wherever an
# unreserved character may; `iprivate` only in the query.
UCSCHAR = (
    "\u00a0-\ud7ff\uf900-\ufdcf\ufdf0-\uffef\U00010000-\U0001fffd\U00020000-\U0002fffd"
    "\U00030000-\U0003fffd\U00040000-\U0004fffd\U00050000-\U0005fffd\U00060000-\U0006fffd"
    "\U00070000-\U0007fffd\U00080000-\U0008fffd\U00090000-\U0009fffd\U000a0000-\U000afffd"
    "\U000b0000-\U000bfffd\U000c0000-\U000cfffd\U000d0000-\U000dfffd\U000e1000-\U000efffd"
)
IPRIVATE = "\ue000-\uf8ff\U000f0000-\U000ffffd\U00100000-\U0010fffd"
_UCS = re.compile(f"[{UCSCHAR}]+")
_PRIVATE = re.compile(f"[{IPRIVATE}]+")


def _as_uri(value: str) -> str | None:
    """RFC 3987 section 3.1: the URI an IRI maps to, its IRI characters percent-encoded as
    UTF-8; None if it holds a non-ASCII character an IRI may not (or `iprivate` outside the
    query), so that no mapping can make it valid."""
    before, hash_, fragment = value.partition("#")
    path, query_mark, query = before.partition("?")
    parts = []
    for part, allowed in ((path, [_UCS]), (query, [_UCS, _PRIVATE]), (fragment, [_UCS])):
        for pattern in allowed:
            part = pattern.sub(lambda m: quote(m.group(), safe=""), part)
        if not part.isascii():
            return None
        parts.append(part)
    return f"{parts[0]}{query_mark}{parts[1]}{hash_}{parts[2]}"


def _valid(value: object, rule: str) -> bool:
    """Whether `value` matches RFC 3986's `rule`: ASCII as it is (for ASCII the IRI grammar is
    the URI grammar), other strings as the URI they map to. Non-strings pass (JSON Schema)."""
    if not isinstance(value, str):
        return True
    uri = value if value.isascii() else _as_uri(value)
    return uri is not None and bool(validate_rfc3986(uri, rule=rule))


def iri_reference(value: object) -> bool:
    """Whether `value` is an IRI-reference (RFC 3987)."""
    return _valid(value, "URI_reference")


def iri(value: object) -> bool:
    """Whether `value` is an absolute IRI (RFC 3987)."""
    return _valid(value, "URI")


def install() -> None:
    """Register the checks with the format checker cyclonedx's validator uses (Draft 7's)."""
    checker = Draft7Validator.FORMAT_CHECKER
    checker.checks("iri-reference", raises=ValueError)(iri_reference)
    checker.checks("iri", raises=ValueError)(iri)


def main() -> int:
    install()
    from cyclonedx_py._internal.cli import run

    sys.argv[0] = "cyclonedx-py"
    return run()


if __name__ == "__main__":
    sys.exit(main())
