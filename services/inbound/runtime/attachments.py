"""A message's attachments: fetched through the provider's media client, stored in the media
bucket, or recorded as unavailable; each within its own deadline and the invocation's budget,
so a slow host costs a retry of its record, never the whole batch."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from services.inbound.providers.base import (
    HttpGet,
    MediaRef,
    MediaUnavailable,
    ParsedMessage,
    Provider,
    Transient,
)

if TYPE_CHECKING:
    from services.inbound.runtime.contracts import AttachmentRef, UnavailableAttachment


class Attachments:
    """Stores one provider's attachments under media/<provider>/<message id>/<n>."""

    def __init__(
        self,
        provider: Provider,
        http: HttpGet,
        s3: Callable[[], Any],
        *,
        bucket: str,
        attachment_seconds: float,
        margin_seconds: float,
        on_unavailable: Callable[[str, int, str], None],
    ) -> None:
        self.provider = provider
        self.http = http
        self.s3 = s3
        self.bucket = bucket
        self.attachment_seconds = attachment_seconds
        self.margin_seconds = margin_seconds
        self.on_unavailable = on_unavailable
        # time.monotonic() by which media downloads must end (set per invocation).
        self.deadline: float | None = None

    def store_all(
        self, message_id: str, parsed: ParsedMessage, secret: Mapping[str, str]
    ) -> tuple[tuple[AttachmentRef, ...], tuple[UnavailableAttachment, ...]]:
        from services.inbound.runtime.contracts import UnavailableAttachment

        stored: list[AttachmentRef] = []
        unavailable: list[UnavailableAttachment] = []
        for n, media in enumerate(parsed.media):
            declared = media.content_type or None
            if media.unavailable is not None:
                reason = media.unavailable
            else:
                try:
                    stored.append(self._store(message_id, n, media, secret))
                    continue
                except MediaUnavailable as err:
                    reason = str(err)
            self.on_unavailable(message_id, n, reason)
            unavailable.append(
                UnavailableAttachment(index=n, declared_content_type=declared, reason=reason[:200])
            )
        return tuple(stored), tuple(unavailable)

    def _store(
        self, message_id: str, n: int, media: MediaRef, secret: Mapping[str, str]
    ) -> AttachmentRef:
        import hashlib

        from services.inbound.runtime.contracts import AttachmentRef

        deadline = self._attachment_deadline()
        body, returned_type = self.provider.fetch_media(media, secret, self.http, deadline)
        content_type = returned_type or "application/octet-stream"
        digest = hashlib.sha256(body).hexdigest()
        key = f"media/{self.provider.name}/{message_id}/{n}"
        try:
            self.s3().put_object(
                Bucket=self.bucket,
                Key=key,
                Body=body,
                ContentType=content_type,
                Metadata={"sha256": digest, "message-id": message_id},
            )
        except (ClientError, BotoCoreError) as err:
            raise Transient(f"media store: {type(err).__name__}") from None
        return AttachmentRef(
            key=key,
            content_type=content_type,
            size=len(body),
            sha256=digest,
            declared_content_type=media.content_type or None,
        )

    def _attachment_deadline(self) -> float:
        """One deadline per attachment, never past the invocation's media budget."""
        own = time.monotonic() + self.attachment_seconds
        if self.deadline is None:
            return own
        if time.monotonic() >= self.deadline:
            raise Transient("no time left in this invocation for media downloads")
        return min(own, self.deadline)

    def start_invocation(self, context: Any) -> None:
        """Set this invocation's media budget from the Lambda context."""
        self.deadline = self._budget_end(context)

    def _budget_end(self, context: Any) -> float | None:
        """Media downloads end MEDIA_MARGIN_SECONDS before the function would time out, so a
        slow host costs a retry of its record, never the whole batch."""
        remaining = getattr(context, "get_remaining_time_in_millis", None)
        if remaining is None:
            return None
        seconds = float(remaining()) / 1000 - self.margin_seconds
        return time.monotonic() + max(seconds, 0.0)
