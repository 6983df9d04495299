"""The one result of a traffic run, for the post-deploy driver and the local rehearsal alike:
how every message sent to each provider ended, and every problem found."""

from __future__ import annotations

from dataclasses import dataclass, field, fields

ENDINGS = ("processed", "rejected", "dead-lettered")


@dataclass
class Tally:
    """One provider's ledger: every message sent ends as exactly one of these."""

    sent: int = 0
    processed: int = 0
    rejected: int = 0
    duplicates_suppressed: int = 0
    missing: int = 0
    dead_lettered: int = 0

    @property
    def ended(self) -> dict[str, int]:
        """Messages per ending (ENDINGS)."""
        return {
            "processed": self.processed,
            "rejected": self.rejected,
            "dead-lettered": self.dead_lettered,
        }


@dataclass
class Verdict:
    """Per-provider tallies and every problem found; `ok` when there is none."""

    tallies: dict[str, Tally] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.problems

    def tally(self, provider: str) -> Tally:
        return self.tallies.setdefault(provider, Tally())

    def total(self) -> Tally:
        """The tallies of every provider added up."""
        total = Tally()
        for tally in self.tallies.values():
            for counter in fields(Tally):
                name = counter.name
                setattr(total, name, getattr(total, name) + getattr(tally, name))
        return total

    def table(self) -> str:
        header = (
            f"{'provider':<10}{'sent':>6}{'processed':>11}{'rejected':>10}"
            f"{'dup. suppr.':>13}{'missing':>9}{'DLQ':>5}"
        )
        rows = [header]
        for name, t in sorted(self.tallies.items()):
            rows.append(
                f"{name:<10}{t.sent:>6}{t.processed:>11}{t.rejected:>10}"
                f"{t.duplicates_suppressed:>13}{t.missing:>9}{t.dead_lettered:>5}"
            )
        return "\n".join(rows)
