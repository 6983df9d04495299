"""The loopback media host the processors download attachments from during a rehearsal."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from rehearsal.emulator import HOST


class MediaServer:
    """Loopback media host: /ok/* serves bytes, /fail/* answers 503, /graph/<id> is Meta's API."""

    def __init__(self) -> None:
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path.startswith("/fail/"):
                    self.send_response(503)
                    self.end_headers()
                    return
                if self.path.startswith("/graph/"):
                    media_id = self.path.rsplit("/", 1)[1]
                    where = "fail" if media_id.startswith("fail") else "ok"
                    body = json.dumps({"url": f"{outer.base}/{where}/{media_id}"}).encode()
                    kind = "application/json"
                else:
                    body = f"media bytes of {self.path}".encode()
                    kind = "image/jpeg"
                self.send_response(200)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer((HOST, 0), Handler)
        self.base = f"http://{HOST}:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
