"""Runs moto_server on 127.0.0.1 on a free port for the length of a `with` block.

Only the loopback address is ever bound or contacted; the server is stopped (and killed if it
does not stop) whatever happens inside the block.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3

HOST = "127.0.0.1"
# moto's default account; the emulator accepts any credentials.
ACCOUNT = "123456789012"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass(frozen=True)
class Emulator:
    """A running moto_server: its endpoint and a boto3 client factory bound to it."""

    endpoint: str
    region: str

    def client(self, service: str) -> Any:
        return boto3.client(
            service,
            endpoint_url=self.endpoint,
            region_name=self.region,
            aws_access_key_id="rehearsal",
            aws_secret_access_key="rehearsal",  # noqa: S106 - the emulator's dummy credentials
        )

    def environment(self) -> dict[str, str]:
        """Variables that point in-process AWS SDK clients (the handlers') at the emulator."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_REGION": self.region,
            "AWS_ACCESS_KEY_ID": "rehearsal",
            "AWS_SECRET_ACCESS_KEY": "rehearsal",
        }


def _moto_server() -> list[str]:
    """The command that serves moto: its own server, through rehearsal/emulator_server."""
    if shutil.which("moto_server", path=str(Path(sys.executable).parent)) is None:
        raise RuntimeError("moto_server is not installed in this environment (moto[server])")
    return [sys.executable, str(Path(__file__).with_name("emulator_server.py"))]


@contextmanager
def running(region: str, *, timeout: float = 20.0) -> Iterator[Emulator]:
    port = free_port()
    log = open(os.environ.get("REHEARSAL_EMULATOR_LOG", os.devnull), "wb")  # noqa: SIM115 - closed in finally
    proc = subprocess.Popen(  # noqa: S603 - fixed argv, loopback only
        [*_moto_server(), "-H", HOST, "-p", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    endpoint = f"http://{HOST}:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"moto_server exited with {proc.returncode} before serving")
            try:
                with urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=1):  # noqa: S310
                    break
            except (urllib.error.URLError, ConnectionError):
                if time.monotonic() > deadline:
                    raise RuntimeError(f"moto_server did not answer on {endpoint}") from None
                time.sleep(0.1)
        yield Emulator(endpoint=endpoint, region=region)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
