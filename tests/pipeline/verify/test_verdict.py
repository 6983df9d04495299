"""The one result type of a traffic run."""

from __future__ import annotations

from pipeline.verify.verdict import Tally, Verdict


def test_total_adds_up_every_counter() -> None:
    verdict = Verdict(
        tallies={
            "a": Tally(sent=3, processed=2, rejected=1, duplicates_suppressed=1),
            "b": Tally(sent=2, processed=1, dead_lettered=1, missing=1),
        }
    )
    total = verdict.total()
    assert (total.sent, total.processed, total.rejected, total.dead_lettered) == (5, 3, 1, 1)
    assert (total.duplicates_suppressed, total.missing) == (1, 1)
    assert total.ended == {"processed": 3, "rejected": 1, "dead-lettered": 1}


def test_ok_only_without_problems_and_one_table_row_per_provider() -> None:
    verdict = Verdict(tallies={"b": Tally(sent=1), "a": Tally(sent=2)})
    assert verdict.ok
    rows = verdict.table().splitlines()
    assert [row.split()[0] for row in rows] == ["provider", "a", "b"]
    verdict.problems.append("a: lost")
    assert not verdict.ok
