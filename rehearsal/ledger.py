"""Accounting of a traffic run: what was sent per provider and where each message ended.

The invariant every run must satisfy: each message sent ends exactly once as processed,
rejected or dead-lettered; no (provider, provider_message_id) yields two events; every
processed message has its audit record.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field


@dataclass
class ProviderTally:
    """Per-provider counts; `duplicates` are repeat deliveries that produced no second event."""

    sent: int = 0
    processed: int = 0
    rejected: int = 0
    dead_lettered: int = 0
    duplicates: int = 0
    audited: int = 0

    @property
    def accounted(self) -> int:
        return self.processed + self.rejected + self.dead_lettered


@dataclass
class Ledger:
    """Counts per provider plus the event ids seen per idempotency key."""

    tallies: dict[str, ProviderTally] = field(default_factory=dict)
    events_per_key: Counter[tuple[str, str]] = field(default_factory=Counter)

    def tally(self, provider: str) -> ProviderTally:
        return self.tallies.setdefault(provider, ProviderTally())

    def violations(self) -> list[str]:
        problems = []
        for provider, t in sorted(self.tallies.items()):
            if t.sent != t.accounted:
                problems.append(
                    f"{provider}: sent {t.sent} != processed {t.processed} + rejected "
                    f"{t.rejected} + dead-lettered {t.dead_lettered}"
                )
            if t.audited != t.processed:
                problems.append(f"{provider}: {t.processed} processed but {t.audited} audited")
        for (provider, key), count in sorted(self.events_per_key.items()):
            if count > 1:
                problems.append(f"{provider}: {count} events for provider message id {key!r}")
        return problems

    def table(self, title: str, seconds: float) -> str:
        header = ("provider", "sent", "processed", "rejected", "dead-lettered", "duplicates")
        rows = [
            (p, t.sent, t.processed, t.rejected, t.dead_lettered, t.duplicates)
            for p, t in sorted(self.tallies.items())
        ]
        total = ProviderTally()
        for t in self.tallies.values():
            total.sent += t.sent
            total.processed += t.processed
            total.rejected += t.rejected
            total.dead_lettered += t.dead_lettered
            total.duplicates += t.duplicates
        rows.append(
            (
                "total",
                total.sent,
                total.processed,
                total.rejected,
                total.dead_lettered,
                total.duplicates,
            )
        )
        widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]

        def line(row: tuple[object, ...]) -> str:
            return "  ".join(
                str(v).rjust(w) if i else str(v).ljust(w)
                for i, (v, w) in enumerate(zip(row, widths, strict=True))
            )

        rate = total.sent / seconds if seconds else 0.0
        verdict = "invariant holds" if not self.violations() else "INVARIANT BROKEN"
        return "\n".join(
            [
                f"{title}: {seconds:.1f} s, {rate:.0f} messages/s, {verdict}",
                line(header),
                *(line(r) for r in rows),
            ]
        )
