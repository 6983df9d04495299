"""moto_server with per-request computations memoized or done directly; run by path, not as a
package module.

Each patch gives the answer moto's own code gives, only cheaper; nothing else about the
emulator's behaviour is altered. Measured on a 300-message load run (the emulator profiled per
request): moto rebuilds a JSONPath parser (its yacc tables) for every event it delivers to a
rule target and lists its own package directory on every request (together a quarter of the
emulator's CPU, before the rest); it converts the same attribute names from CamelCase on every
SQS send (a sixth), and builds two datetimes to read the clock for every message of a queue it
scans (a tenth); and it reads a JSON template with PyYAML's pure-Python loader.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import sys
import time
from datetime import datetime
from typing import Any

# Before any other moto module binds these names with `from moto.core.utils import ...`.
import moto.core.utils

_EPOCH = datetime(1970, 1, 1)


def _unix_time(dt: datetime | None = None) -> float:
    """moto.core.utils.unix_time: seconds since the epoch of a naive UTC datetime, or now."""
    if dt is None:
        return time.time()
    delta = dt - _EPOCH
    return (delta.days * 86400) + (delta.seconds + (delta.microseconds / 1e6))


moto.core.utils.camelcase_to_underscores = functools.lru_cache(maxsize=4096)(
    moto.core.utils.camelcase_to_underscores
)
moto.core.utils.unix_time = _unix_time

import jsonpath_ng.ext  # noqa: E402
import jsonpath_ng.ext.parser  # noqa: E402
from moto import backends  # noqa: E402
from moto.server import main  # noqa: E402

# moto imports `parse` from the package at each call, so replacing the attribute is enough.
jsonpath_ng.ext.parse = functools.lru_cache(maxsize=256)(jsonpath_ng.ext.parser.parse)  # type: ignore[attr-defined]
_MODULES = tuple(backends.list_of_moto_modules())
backends.list_of_moto_modules = lambda: iter(_MODULES)


def _no_floats(text: str) -> float:
    raise ValueError(f"{text}: PyYAML (YAML 1.1) may read this number differently")


def _patch_cloudformation() -> None:
    """A JSON template read as JSON: the dict PyYAML gives (JSON is YAML), as long as it has no
    floats, where YAML 1.1 differs (`1e3` is a string there); anything else as moto reads it."""
    from moto.cloudformation.models import Stack

    parse_yaml = Stack.parse_template

    def parse_template(template: str) -> dict[str, Any]:
        try:
            parsed = json.loads(template, parse_float=_no_floats)
        except ValueError:
            return parse_yaml(template)
        return parsed if isinstance(parsed, dict) else parse_yaml(template)

    Stack.parse_template = staticmethod(parse_template)  # type: ignore[method-assign]


_import_backend = backends._import_backend


def _import_backend_patched(module_name: str, backends_name: str) -> Any:
    """moto imports a service's backend with its first request: CloudFormation's is patched
    then, so the floor's emulator (SQS only) does not import it."""
    found: Any = _import_backend(module_name, backends_name)
    if module_name == "cloudformation":
        _patch_cloudformation()
    return found


backends._import_backend = _import_backend_patched

if not os.environ.get("REHEARSAL_EMULATOR_LOG"):  # one access-log line per request otherwise
    logging.getLogger("werkzeug").setLevel(logging.WARNING)

if __name__ == "__main__":
    main(sys.argv[1:])
