"""The load sender: paced (held back while too much is in flight, never stopped for good) and
batched ten to a call, the providers taking turns."""

from __future__ import annotations

from rehearsal.load import Pacer, chunks


class Clock:
    def __init__(self) -> None:
        self.now = 0.0
        self.slept = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds
        self.slept += seconds


def test_does_not_wait_while_in_flight_is_within_the_window() -> None:
    clock = Clock()
    pacer = Pacer(lambda: 5, window=10, accepted=15, clock=clock, sleep=clock.sleep)
    pacer.wait()
    assert clock.slept == 0


def test_waits_until_the_consumers_catch_up() -> None:
    clock = Clock()
    # Delivered grows by one every 0.1 s of (fake) time.
    pacer = Pacer(
        lambda: int(clock.now * 10),
        window=10,
        accepted=30,
        patience=60.0,
        clock=clock,
        sleep=clock.sleep,
    )
    pacer.wait()
    assert 1.9 <= clock.slept <= 2.05  # 20 more delivered at 10 per second, not the patience
    assert pacer.accepted - int(clock.now * 10) <= 10


def test_a_stalled_consumer_slows_the_sender_but_never_stops_it() -> None:
    clock = Clock()
    pacer = Pacer(lambda: 0, window=10, accepted=100, patience=2.0, clock=clock, sleep=clock.sleep)
    pacer.wait()
    assert 2.0 <= clock.slept < 2.1


def test_batches_of_ten_with_the_providers_taking_turns() -> None:
    pending = {
        "a": [(n, {"MessageBody": str(n)}) for n in range(0, 25)],
        "b": [(n, {"MessageBody": str(n)}) for n in range(25, 37)],
    }
    order = [(start, provider, len(chunk)) for start, provider, chunk in chunks(pending)]
    assert order == [(0, "a", 10), (0, "b", 10), (10, "a", 10), (10, "b", 2), (20, "a", 5)]
    sent = [n for _, _, chunk in chunks(pending) for n, _ in chunk]
    assert sorted(sent) == list(range(37))
