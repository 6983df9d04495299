"""Generated providers: N provider modules discovered exactly as real ones are, for the scale
benchmark (bench/scale.py) and the limits test. Pure Python: importing this needs no CDK."""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

# One module per generated provider, the shape of a real in-house one (generic_hmac.py).
MODULE = '''
"""Generated for a scale run: an in-house provider with the platform's own webhook format."""
from services.inbound.providers.generic_hmac import GenericHmac


class Generated(GenericHmac):
    name = "{name}"


PROVIDER = Generated()
'''


def generated_names(total: int, real: int) -> list[str]:
    """The names of the providers added to the `real` ones to make `total`."""
    return [f"partner{i:02d}" for i in range(1, total - real + 1)]


@contextmanager
def generated_providers(total: int) -> Iterator[list[str]]:
    """Make discovery find `total` providers: the real modules plus generated ones, written to
    a temporary folder on the providers package's path. Yields the generated names."""
    from services.inbound import providers

    real = len(providers.discover())
    names = generated_names(total, real)
    saved = list(providers.__path__)
    with tempfile.TemporaryDirectory(prefix="providers-") as folder:
        for name in names:
            (Path(folder) / f"{name}.py").write_text(MODULE.format(name=name))
        providers.__path__[:] = [*saved, folder]
        providers.discover.cache_clear()
        try:
            assert len(providers.discover()) == max(total, real), "a generated name collides"
            yield names
        finally:
            providers.__path__[:] = saved
            providers.discover.cache_clear()
            for name in names:
                sys.modules.pop(f"{providers.__name__}.{name}", None)
