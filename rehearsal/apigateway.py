"""API Gateway's mapping-template runtime ($input, $util, $context) on the airspeed Velocity engine.

Used by the tests and the local rehearsal to render the synthesized request templates exactly
as API Gateway would, and to turn the rendered SQS Query-API form into a SendMessage call.
"""

from __future__ import annotations

import functools
import json
import re
import time
import uuid
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, quote_plus

import airspeed


class JavaString(str):
    """A str with the java.lang.String methods templates call."""

    __slots__ = ()

    def replaceAll(self, regex: str, replacement: str) -> JavaString:
        return JavaString(re.sub(regex, replacement.replace("\\", "\\\\"), self))

    def contains(self, part: str) -> bool:
        return part in self

    def length(self) -> int:
        return len(self)


class Util:
    """$util: the subset of API Gateway's helpers the project's templates use."""

    def urlEncode(self, value: str) -> JavaString:
        # java.net.URLEncoder: space as '+', only [A-Za-z0-9.*_-] left as is.
        return JavaString(quote_plus(str(value), safe="*").replace("~", "%7E"))

    def escapeJavaScript(self, value: str) -> JavaString:
        out = []
        for ch in str(value):
            if ch in "\\\"'/":
                out.append("\\" + ch)
            elif ch == "\n":
                out.append("\\n")
            elif ch == "\r":
                out.append("\\r")
            elif ch == "\t":
                out.append("\\t")
            elif ord(ch) < 0x20 or ord(ch) > 0x7E:
                out.append(f"\\u{ord(ch):04X}" if ord(ch) <= 0xFFFF else ch)
            else:
                out.append(ch)
        return JavaString("".join(out))


class Input:
    """$input for one request: the raw body and its parameters."""

    def __init__(self, body: str, headers: Mapping[str, str], query: Mapping[str, str]) -> None:
        self.body = JavaString(body)
        self._headers = {k.lower(): v for k, v in headers.items()}
        self._query = dict(query)

    def params(self, name: str) -> JavaString:
        # API Gateway looks in path, query string, then headers; absent is the empty string.
        if name in self._query:
            return JavaString(self._query[name])
        return JavaString(self._headers.get(name.lower(), ""))

    def json(self, path: str = "$") -> str:
        return json.dumps(json.loads(self.body)) if path == "$" else ""


@functools.lru_cache(maxsize=64)
def compiled(template: str) -> airspeed.Template:
    """A template parsed once (airspeed parses on the first merge and keeps the tree): parsing
    each request's template again was most of the rehearsal's own CPU in a load run."""
    return airspeed.Template(template)


def render(
    template: str,
    *,
    body: str,
    headers: Mapping[str, str],
    path: str,
    domain: str = "rehearsal.execute-api.localhost",
    query: Mapping[str, str] | None = None,
    request_id: str | None = None,
    epoch_ms: int | None = None,
) -> str:
    context: dict[str, Any] = {
        "domainName": domain,
        "path": path,
        "requestId": request_id or str(uuid.uuid4()),
        "requestTimeEpoch": epoch_ms if epoch_ms is not None else int(time.time() * 1000),
        "responseOverride": {},
    }
    merged: str = compiled(template).merge(
        {"input": Input(body, headers, query or {}), "util": Util(), "context": context}
    )
    return merged


def send_message_request(rendered: str) -> dict[str, Any]:
    """The SQS SendMessage arguments that a rendered Query-API form body asks for."""
    form = dict(parse_qsl(rendered.strip(), keep_blank_values=True))
    if form.get("Action") != "SendMessage":
        raise ValueError(f"template does not send a message: {form.get('Action')!r}")
    attributes: dict[str, dict[str, str]] = {}
    n = 1
    while f"MessageAttribute.{n}.Name" in form:
        attributes[form[f"MessageAttribute.{n}.Name"]] = {
            "DataType": form[f"MessageAttribute.{n}.Value.DataType"],
            "StringValue": form[f"MessageAttribute.{n}.Value.StringValue"],
        }
        n += 1
    return {"MessageBody": form["MessageBody"], "MessageAttributes": attributes}


def resolve(value: Any, refs: Mapping[str, str] | None = None) -> str:
    """Flatten a template value built with Fn::Join/Ref into a string (unknown Refs -> names)."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and "Fn::Join" in value:
        separator, parts = value["Fn::Join"]
        return str(separator).join(resolve(part, refs) for part in parts)
    if isinstance(value, dict) and "Ref" in value:
        return (refs or {}).get(value["Ref"], value["Ref"])
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        logical, attribute = value["Fn::GetAtt"]
        return (refs or {}).get(f"{logical}.{attribute}", f"{logical}.{attribute}")
    raise ValueError(f"cannot resolve {value!r}")
