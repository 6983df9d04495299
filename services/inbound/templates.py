"""API Gateway mapping templates (Velocity) of the webhook routes: request to SQS, and replies."""

from __future__ import annotations

from services.inbound.providers.base import Provider

# escapeJavaScript escapes ' as \' (not valid JSON): undo that one escape. VTL single-quoted
# literals are not interpolated, so JSON quotes come from $q inside double-quoted strings.
_SAFE = "$util.escapeJavaScript($input.params('{name}')).replaceAll(\"\\\\'\", \"'\")"


def _meta_lines(provider: Provider) -> list[str]:
    """VTL that sets $q (a double quote) and $meta (the request metadata as JSON)."""
    # The raw body goes, URL-encoded, as the SQS message body; everything the processor needs to
    # verify the signature goes as one JSON `meta` attribute (SQS refuses empty attribute values,
    # and a provider may omit an optional header).
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
    return lines


def request_template(provider: Provider) -> str:
    """POST -> SQS SendMessage (Query API form): the raw body plus the `meta` attribute."""
    lines = _meta_lines(provider)
    lines.append(
        "Action=SendMessage"
        "&MessageBody=$util.urlEncode($input.body)"
        "&MessageAttribute.1.Name=meta"
        "&MessageAttribute.1.Value.DataType=String"
        "&MessageAttribute.1.Value.StringValue=$util.urlEncode($meta)"
    )
    return "\n".join(lines)


# java.lang.String.replaceAll(regex, replacement) undoing escapeJavaScript's \' (not JSON).
_BACKSLASH = chr(92)
_UNESCAPE_QUOTE = '.replaceAll("' + _BACKSLASH * 2 + "'" + '", "' + "'" + '")'


def _escaped(variable: str, expression: str) -> str:
    """#set a variable to an expression escaped for a JSON string (VTL strings cannot hold ")."""
    return f"#set(${variable} = $util.escapeJavaScript({expression}){_UNESCAPE_QUOTE})"


def sync_execution_template(provider: Provider, state_machine_arn: str) -> str:
    """POST -> Step Functions StartSyncExecution with {"body": raw body, "meta": meta JSON}."""
    lines = _meta_lines(provider)
    lines += [
        _escaped("b", "$input.body"),
        _escaped("m", "$meta"),
        '#set($in = "{${q}body${q}:${q}$b${q},${q}meta${q}:${q}$m${q}}")',
        _escaped("i", "$in"),
        '{"stateMachineArn":"' + state_machine_arn + '","input":"$i"}',
    ]
    return "\n".join(lines)


def verification_template(state_machine_arn: str) -> str:
    """GET ?hub.mode&hub.verify_token&hub.challenge -> StartSyncExecution (Meta's handshake)."""
    lines = ["#set($q = '\"')"]
    pairs = []
    for key, param in (
        ("mode", "hub.mode"),
        ("token", "hub.verify_token"),
        ("challenge", "hub.challenge"),
    ):
        lines.append(_escaped(key, f"$input.params('{param}')"))
        pairs.append(f"${{q}}{key}${{q}}:${{q}}${key}${{q}}")
    lines += [
        '#set($in = "{' + ",".join(pairs) + '}")',
        _escaped("i", "$in"),
        '{"stateMachineArn":"' + state_machine_arn + '","input":"$i"}',
    ]
    return "\n".join(lines)


# StartSyncExecution answers 200 whatever the execution did: the status decides.
CHALLENGE_RESPONSE = (
    "#set($result = $util.parseJson($input.body))\n"
    "#if($result.status == 'SUCCEEDED')\n"
    "$util.parseJson($result.output).challenge\n"
    "#else\n"
    "#set($context.responseOverride.status = 403)\n"
    "forbidden\n"
    "#end"
)
SLACK_RESPONSE = (
    "#set($result = $util.parseJson($input.body))\n"
    "#if($result.status == 'SUCCEEDED')\n"
    "#set($out = $util.parseJson($result.output))\n"
    "#if($out.challenge)\n"
    '{"challenge":"$util.escapeJavaScript($out.challenge)"}\n'
    "#else\n"
    "{}\n"
    "#end\n"
    "#else\n"
    "#set($context.responseOverride.status = 503)\n"
    '{"message":"temporarily unavailable, please retry"}\n'
    "#end"
)

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
