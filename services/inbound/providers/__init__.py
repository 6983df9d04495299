"""Provider plugins, discovered by module: every module here that defines `PROVIDER` is one."""

from __future__ import annotations

import importlib
import pkgutil
from functools import cache

from services.inbound.providers.base import Provider


@cache
def discover() -> dict[str, Provider]:
    """All providers by name, in module order; a module without `PROVIDER` is not a provider."""
    found: dict[str, Provider] = {}
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name == "base":
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        provider = getattr(module, "PROVIDER", None)
        if isinstance(provider, Provider):
            if provider.name in found:
                raise ValueError(f"provider name {provider.name!r} is declared twice")
            found[provider.name] = provider
    return found


def get(name: str) -> Provider:
    return discover()[name]
