"""The project's own rules, one per module, each module named after its rule id (snake case).

`discover()` imports every public module of this package; helpers start with an underscore.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from functools import cache

from policies.rules.base import Rule


def module_name(rule_id: str) -> str:
    """'CustomerManagedKey' -> 'customer_managed_key'."""
    return re.sub(r"(?<!^)(?=[A-Z][a-z])", "_", rule_id).lower()


@cache
def discover() -> tuple[Rule, ...]:
    found: list[Rule] = []
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name.startswith("_") or info.name == "base":
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        rules = [
            value
            for value in vars(module).values()
            if isinstance(value, type)
            and issubclass(value, Rule)
            and value is not Rule
            and value.__module__ == module.__name__
        ]
        if len(rules) != 1 or module_name(rules[0].id) != info.name:
            raise ImportError(
                f"policies/rules/{info.name}.py must define exactly one rule whose id "
                f"is named after the file (found {[r.__name__ for r in rules]})"
            )
        found.append(rules[0]())
    return tuple(found)
