"""HTTP media downloads for the processors: HTTPS only, bounded size and time.

Loopback HTTP is accepted only when the process sets ALLOW_LOOPBACK_MEDIA=true (the local
rehearsal does; the deployed functions never do).
"""

from __future__ import annotations

import os
import urllib.error
import urllib.request
from collections.abc import Mapping
from urllib.parse import urlparse

from services.inbound.providers.base import HttpGet, Transient

MAX_MEDIA_BYTES = 20 * 1024 * 1024
TIMEOUT_SECONDS = 10


class UrllibGet(HttpGet):
    """Standard-library client: no dependency to bundle, explicit timeouts and size cap."""

    def get(self, url: str, headers: Mapping[str, str]) -> tuple[bytes, str]:
        parsed = urlparse(url)
        loopback = parsed.hostname in ("127.0.0.1", "localhost")
        allowed = parsed.scheme == "https" or (
            parsed.scheme == "http"
            and loopback
            and os.environ.get("ALLOW_LOOPBACK_MEDIA") == "true"
        )
        if not allowed:
            raise Transient(f"refusing to fetch media over {parsed.scheme!r}")
        request = urllib.request.Request(url, headers=dict(headers))  # noqa: S310 - scheme checked
        try:
            # Scheme checked above: https, or loopback http in the rehearsal only.
            opened = urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS)  # noqa: S310  # nosec B310
            with opened as response:
                body: bytes = response.read(MAX_MEDIA_BYTES + 1)
                if len(body) > MAX_MEDIA_BYTES:
                    raise Transient(f"media larger than {MAX_MEDIA_BYTES} bytes")
                content_type = response.headers.get_content_type()
                return body, str(content_type)
        except urllib.error.HTTPError as err:
            raise Transient(f"media download failed with HTTP {err.code}") from None
        except (urllib.error.URLError, TimeoutError, OSError) as err:
            raise Transient(f"media download failed: {type(err).__name__}") from None
