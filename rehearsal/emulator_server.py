"""moto_server with two per-request computations memoized; run by path, not as a package module.

moto rebuilds a JSONPath parser (its yacc tables) for every event it delivers to a rule target,
and lists its own package directory on every request to find the service. Both answers never
change while the server runs, and together they took a quarter of the emulator's CPU in a
1,000-message rehearsal. Nothing else about the emulator's behaviour is altered.
"""

from __future__ import annotations

import functools
import logging
import os
import sys

import jsonpath_ng.ext
import jsonpath_ng.ext.parser
from moto import backends
from moto.server import main

# moto imports `parse` from the package at each call, so replacing the attribute is enough.
jsonpath_ng.ext.parse = functools.lru_cache(maxsize=256)(jsonpath_ng.ext.parser.parse)  # type: ignore[attr-defined]
_MODULES = tuple(backends.list_of_moto_modules())
backends.list_of_moto_modules = lambda: iter(_MODULES)

if not os.environ.get("REHEARSAL_EMULATOR_LOG"):  # one access-log line per request otherwise
    logging.getLogger("werkzeug").setLevel(logging.WARNING)

if __name__ == "__main__":
    main(sys.argv[1:])
