"""Benchmark: the rehearsal's 1,000-message load run (deploy included) against a floor.

Targets: at most 60 s on a 2-core machine (issue 7) and at most 5x the floor (issue 17). The
floor, measured in the same run on the same emulator, is the least any rehearsal could do with
those messages: start the emulator, create one queue, and move the same number of messages
through it ten to a call (send, receive, delete), with no project code. The ratio says what the
Stage, the handlers and the accounting add; runs are interleaved so machine load affects both
alike. Beside it, the requests each side made of the emulator per message (its request log):
the emulator serves them one at a time, so they bound the ratio. Needs `make synth`.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from rehearsal.emulator import running
from rehearsal.outcome import Outcome
from rehearsal.run import rehearse

ROOT = Path(__file__).resolve().parent.parent


TARGET_SECONDS = 60.0
TARGET_RATIO = 5.0


@contextlib.contextmanager
def request_log() -> Iterator[list[int]]:
    """Count the requests the emulators started in the block serve (REHEARSAL_EMULATOR_LOG:
    werkzeug logs one line per request)."""
    counted: list[int] = []
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "emulator.log"
        os.environ["REHEARSAL_EMULATOR_LOG"] = str(log)
        try:
            yield counted
        finally:
            del os.environ["REHEARSAL_EMULATOR_LOG"]
            text = log.read_text(errors="replace") if log.exists() else ""
            counted.append(len(re.findall(r'"(?:GET|POST|PUT|DELETE|HEAD) /', text)))


def floor(messages: int, region: str) -> float:
    start = time.perf_counter()
    with running(region) as emulator:
        sqs = emulator.client("sqs")
        url = sqs.create_queue(QueueName="floor")["QueueUrl"]
        body = "x" * 1024
        # Each batch is received right after it is sent: the emulator scans the whole queue on
        # every receive, so a deep queue would make the floor quadratic (the load run paces too).
        moved = 0
        for first in range(0, messages + 10, 10):
            if first < messages:
                entries = [{"Id": str(n), "MessageBody": body} for n in range(first, first + 10)]
                sqs.send_message_batch(QueueUrl=url, Entries=entries)
            while got := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get(
                "Messages", []
            ):
                sqs.delete_message_batch(
                    QueueUrl=url,
                    Entries=[
                        {"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]}
                        for n, m in enumerate(got)
                    ],
                )
                moved += len(got)
        assert moved == messages, f"floor moved {moved} of {messages} messages"
    return time.perf_counter() - start


def load(cdk_out: Path, messages: int) -> tuple[float, float]:
    """The load run's seconds, deploy included, and the deploy's share."""
    notes = io.StringIO()
    with contextlib.redirect_stdout(notes):  # the deploy notes; the table is not needed
        ((_, outcome),) = rehearse(cdk_out, scenarios=False, load=messages)
    assert isinstance(outcome, Outcome)
    if outcome.problems:
        raise SystemExit(f"the load run lost or duplicated messages: {outcome.problems[:3]}")
    deployed = re.search(r"to the emulator in ([0-9.]+) s", notes.getvalue())
    return outcome.seconds, float(deployed.group(1)) if deployed else 0.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--cdk-out", type=Path, default=ROOT / "cdk.out")
    args = parser.parse_args()
    if not (args.cdk_out / "assembly-Pipeline-Dev").is_dir():
        print(f"{args.cdk_out} has no dev Stage: run `make synth` first", file=sys.stderr)
        return 2
    bin_dirs = f"{ROOT / '.venv' / 'bin'}{os.pathsep}{ROOT / 'node_modules' / '.bin'}"
    os.environ["PATH"] = f"{bin_dirs}{os.pathsep}{os.environ['PATH']}"
    full, bare, deploys = [], [], []
    requests = {"floor": 0, "load": 0}
    for _ in range(args.runs):
        with request_log() as counted:
            bare.append(floor(args.messages, "eu-west-1"))
        requests["floor"] = counted[0]
        with request_log() as counted:
            seconds, deployed = load(args.cdk_out, args.messages)
        requests["load"] = counted[0]
        full.append(seconds)
        deploys.append(deployed)
    m_full, m_bare = statistics.median(full), statistics.median(bare)
    ratio = m_full / m_bare
    print(
        f"rehearsal load, {args.messages} messages, {args.runs} runs each (median / min / max, s)"
    )
    print(f"  floor (emulator + one queue): {m_bare:6.2f} / {min(bare):6.2f} / {max(bare):6.2f}")
    print(f"  load run (deploy included):   {m_full:6.2f} / {min(full):6.2f} / {max(full):6.2f}")
    print(f"    of which the deploy:        {statistics.median(deploys):6.2f}")
    per_message = {side: count / args.messages for side, count in requests.items()}
    print(
        f"  emulator requests per message: floor {per_message['floor']:.2f}, "
        f"load run {per_message['load']:.2f} ({requests['load']} in all)"
    )
    rate = args.messages / m_full
    print(f"  throughput: {rate:.0f} messages/s")
    ok = m_full <= TARGET_SECONDS and ratio <= TARGET_RATIO
    within = m_full <= TARGET_SECONDS
    print(f"  target <= {TARGET_SECONDS:.0f} s: {'ok' if within else 'OVER TARGET'}")
    print(
        f"  ratio load/floor {ratio:.1f}x (target <= {TARGET_RATIO:.0f}x): "
        f"{'ok' if ratio <= TARGET_RATIO else 'OVER TARGET'}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
