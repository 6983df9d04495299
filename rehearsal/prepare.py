"""What the deployed Stage needs before traffic: provider secrets, the bus capture, and the
emulator's own event-source mappings switched off (the rehearsal plays them itself)."""

from __future__ import annotations

import json

from rehearsal.capture import install_capture
from rehearsal.media import MediaServer
from rehearsal.scenarios import SECRETS
from rehearsal.target import Target


def prepare(target: Target, media: MediaServer) -> None:
    """Provider secrets (created out of band in real accounts too), the event capture rule, and
    the emulator's own SQS event-source mappings switched off: on every SendMessage they receive
    a batch (raising receive counts) and fail to run the function without Docker. The rehearsal
    plays the mapping itself (rehearsal.event_source)."""
    lambda_ = target.emulator.client("lambda")
    for mapping in lambda_.list_event_source_mappings().get("EventSourceMappings", []):
        lambda_.update_event_source_mapping(UUID=mapping["UUID"], Enabled=False)
    secrets = target.emulator.client("secretsmanager")
    for name, provider in target.providers.items():
        value = dict(SECRETS[name])
        if name == "whatsapp":
            value["graph_api_url"] = f"{media.base}/graph"
        secrets.create_secret(Name=provider.secret_name, SecretString=json.dumps(value))
    install_capture(target)
