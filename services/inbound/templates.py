"""API Gateway mapping templates (Velocity) of the webhook routes: request to SQS, and replies.

The request template sends the raw body, URL-encoded, as the SQS message body, and everything
the processor needs to verify the signature as one JSON `meta` attribute (SQS refuses empty
attribute values, and a provider may omit an optional header).
"""

from __future__ import annotations

from services.inbound.providers.base import Provider

# escapeJavaScript escapes ' as \' (not valid JSON): undo that one escape. VTL single-quoted
# literals are not interpolated, so JSON quotes come from $q inside double-quoted strings.
_SAFE = "$util.escapeJavaScript($input.params('{name}')).replaceAll(\"\\\\'\", \"'\")"


def request_template(provider: Provider) -> str:
    lines = ["#set($q = '\"')", "#set($h0 = " + _SAFE.format(name="Content-Type") + ")"]
    pairs = []
    for n, name in enumerate(provider.signature_headers, start=1):
        lines.append(f"#set($h{n} = " + _SAFE.format(name=name) + ")")
        pairs.append(f"${{q}}{name.lower()}${{q}}:${{q}}$h{n}${{q}}")
    meta = (
        "{${q}url${q}:${q}https://$context.domainName$context.path${q},"
        "${q}request_id${q}:${q}$context.requestId${q},"
        "${q}received_at${q}:$context.requestTimeEpoch,"
        "${q}content_type${q}:${q}$h0${q},"
        "${q}headers${q}:{" + ",".join(pairs) + "}}"
    )
    lines.append(f'#set($meta = "{meta}")')
    lines.append(
        "Action=SendMessage"
        "&MessageBody=$util.urlEncode($input.body)"
        "&MessageAttribute.1.Name=meta"
        "&MessageAttribute.1.Value.DataType=String"
        "&MessageAttribute.1.Value.StringValue=$util.urlEncode($meta)"
    )
    return "\n".join(lines)


# SQS answers 400 for a body over the queue's maximum message size ("... must be shorter than
# N bytes"); anything else that goes wrong is temporary for the provider, which then retries.
ERROR_TEMPLATE = (
    "#set($error = $input.body)\n"
    "#if($error.contains('shorter than') || $error.contains('MessageTooLong'))\n"
    "#set($context.responseOverride.status = 413)\n"
    '{"message":"payload too large"}\n'
    "#else\n"
    "#set($context.responseOverride.status = 503)\n"
    '{"message":"temporarily unavailable, please retry"}\n'
    "#end"
)
