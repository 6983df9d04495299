"""HTTP media downloads for the processors: HTTPS to each provider's allow-listed hosts only.

Every hop, redirects included, is checked: https, a host the provider's MediaPolicy allows, and a
name that resolves only to public addresses (the connection is pinned to the checked address, so
a second lookup cannot swap it). Credentials go only to the policy's credential hosts and never
across a redirect to another host. One deadline bounds each attachment, and a size cap its body.
Loopback HTTP is accepted only when the process sets ALLOW_LOOPBACK_MEDIA=true (the local
rehearsal does; the deployed functions never do).
"""

from __future__ import annotations

import http.client
import ipaddress
import os
import socket
import ssl
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

from services.inbound.providers.base import HttpGet, MediaPolicy, MediaUnavailable, Transient

MAX_MEDIA_BYTES = 20 * 1024 * 1024
ATTACHMENT_SECONDS = 15.0
MAX_REDIRECTS = 5
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
LOOPBACK_NAMES = frozenset({"127.0.0.1", "localhost", "::1"})
_CHUNK = 64 * 1024


@dataclass
class RawResponse:
    """One HTTP response as the client sees it: status, lower-case headers, a body reader."""

    status: int
    headers: Mapping[str, str]
    read: Callable[[int], bytes]
    set_timeout: Callable[[float], None]
    close: Callable[[], None]


# (scheme, host, port, pinned ip, path+query, headers, timeout) -> response
Connect = Callable[[str, str, int, str, str, Mapping[str, str], float], RawResponse]
Resolve = Callable[[str, int], list[str]]


def resolve(host: str, port: int) -> list[str]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as err:
        raise Transient(f"cannot resolve media host: {type(err).__name__}") from None
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def is_public(address: str) -> bool:
    """False for private, loopback, link-local (incl. the metadata service), multicast,
    reserved and unspecified addresses, also when written as IPv4-mapped IPv6."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
    )


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """TLS to `host` (SNI and certificate name) over a socket to the already checked `ip`."""

    def __init__(self, host: str, port: int, ip: str, timeout: float) -> None:
        self._tls = ssl.create_default_context()
        super().__init__(host, port, timeout=timeout, context=self._tls)
        self._ip = ip

    def connect(self) -> None:
        sock = socket.create_connection((self._ip, self.port), self.timeout)
        self.sock = self._tls.wrap_socket(sock, server_hostname=self.host)


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """Plain HTTP to the checked `ip` (loopback in the rehearsal only)."""

    def __init__(self, host: str, port: int, ip: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self._ip = ip

    def connect(self) -> None:
        self.sock = socket.create_connection((self._ip, self.port), self.timeout)


def connect(
    scheme: str,
    host: str,
    port: int,
    ip: str,
    target: str,
    headers: Mapping[str, str],
    timeout: float,
) -> RawResponse:
    """GET over http.client without following redirects (the caller checks each hop)."""
    kind = _PinnedHTTPSConnection if scheme == "https" else _PinnedHTTPConnection
    conn = kind(host, port, ip, timeout)
    try:
        conn.request("GET", target, headers=dict(headers))
        response = conn.getresponse()
    except (TimeoutError, OSError, http.client.HTTPException) as err:
        conn.close()
        raise Transient(f"media download failed: {type(err).__name__}") from None

    def set_timeout(seconds: float) -> None:
        if conn.sock is not None:
            conn.sock.settimeout(seconds)

    return RawResponse(
        status=response.status,
        headers={k.lower(): v for k, v in response.getheaders()},
        read=response.read,
        set_timeout=set_timeout,
        close=conn.close,
    )


class MediaClient(HttpGet):
    """Standard-library client with per-hop checks; `resolve`/`connect` are swapped in tests."""

    def __init__(
        self,
        *,
        resolver: Resolve = resolve,
        connector: Connect = connect,
        allow_loopback: bool | None = None,
        max_bytes: int = MAX_MEDIA_BYTES,
        attachment_seconds: float = ATTACHMENT_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.resolve = resolver
        self.connect = connector
        self.allow_loopback = (
            os.environ.get("ALLOW_LOOPBACK_MEDIA") == "true"
            if allow_loopback is None
            else allow_loopback
        )
        self.max_bytes = max_bytes
        self.attachment_seconds = attachment_seconds
        self.clock = clock

    def get(
        self,
        url: str,
        headers: Mapping[str, str],
        *,
        policy: MediaPolicy | None = None,
        deadline: float | None = None,
    ) -> tuple[bytes, str]:
        policy = policy or MediaPolicy()
        end = self.clock() + self.attachment_seconds
        if deadline is not None:
            end = min(end, deadline)
        first_host: str | None = None
        current = url
        for _hop in range(MAX_REDIRECTS + 1):
            scheme, host, port, target = self._check(current, policy)
            first_host = first_host or host
            ip = self._address(host, port)
            # Credentials only to a credential host, and never after a redirect off that host.
            send = {k: v for k, v in headers.items() if k.lower() != "authorization"}
            if host == first_host and policy.sends_credentials(host):
                send = dict(headers)
            response = self.connect(scheme, host, port, ip, target, send, self._left(end))
            try:
                if response.status in REDIRECT_STATUSES:
                    location = response.headers.get("location")
                    if not location:
                        raise MediaUnavailable(f"HTTP {response.status} without Location")
                    current = urljoin(current, location)
                    continue
                return self._body(response, end)
            finally:
                response.close()
        raise MediaUnavailable(f"more than {MAX_REDIRECTS} redirects")

    def _left(self, end: float) -> float:
        left = end - self.clock()
        if left <= 0:
            raise Transient("media download ran out of time")
        return left

    def _check(self, url: str, policy: MediaPolicy) -> tuple[str, str, int, str]:
        try:
            parts = urlsplit(url)
            host = (parts.hostname or "").lower()
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError:
            raise MediaUnavailable("media URL does not parse") from None
        loopback = self.allow_loopback and host in LOOPBACK_NAMES and parts.scheme == "http"
        if parts.scheme != "https" and not loopback:
            raise MediaUnavailable(f"refusing to fetch media over {parts.scheme!r}")
        if parts.username or parts.password:
            raise MediaUnavailable("media URL carries credentials")
        if not loopback and not policy.allows(host):
            raise MediaUnavailable(f"media host {host[:80]!r} is not allowed for this provider")
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        return parts.scheme, host, port, target

    def _address(self, host: str, port: int) -> str:
        addresses = self.resolve(host, port)
        if not addresses:
            raise Transient("media host has no address")
        if self.allow_loopback and host in LOOPBACK_NAMES:
            loopbacks = [a for a in addresses if ipaddress.ip_address(a).is_loopback]
            if loopbacks:
                return loopbacks[0]
        refused = [a for a in addresses if not is_public(a)]
        if refused:
            raise MediaUnavailable(f"media host resolves to a non-public address {refused[0]}")
        return addresses[0]

    def _body(self, response: RawResponse, end: float) -> tuple[bytes, str]:
        status = response.status
        if status == 429 or status >= 500:
            raise Transient(f"media download failed with HTTP {status}")
        if status != 200:
            raise MediaUnavailable(f"media download answered HTTP {status}")
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_bytes:
            raise MediaUnavailable(f"media of {declared} bytes is over {self.max_bytes}")
        chunks: list[bytes] = []
        size = 0
        while True:
            response.set_timeout(self._left(end))
            try:
                chunk = response.read(_CHUNK)
            except (TimeoutError, OSError, http.client.HTTPException) as err:
                raise Transient(f"media download failed: {type(err).__name__}") from None
            if not chunk:
                break
            size += len(chunk)
            if size > self.max_bytes:
                raise MediaUnavailable(f"media larger than {self.max_bytes} bytes")
            chunks.append(chunk)
        content_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
        return b"".join(chunks), content_type or "application/octet-stream"


# The processor's historical name for the client.
UrllibGet = MediaClient
