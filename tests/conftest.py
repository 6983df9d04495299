"""Session fixtures and the suite's markers only; helpers live in tests/support/ (never import
from a conftest)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.synth import Synth, shared_synth, synthesize, use_venv_node

# Tests that build small apps of their own import CDK themselves: give jsii the venv's Node.
use_venv_node()

# The modules that run real tools against the session's synth: moto_server deployments and the
# pipeline replay (`e2e`), cfn-lint + checkov + parliament from .venv-scanners (`scanners`).
# `make unit` leaves them out. Listed longest first: under xdist (`make pytest`, `--dist
# loadscope`) they are handed out first, so no worker is left with one of them at the end.
HEAVY = {
    "tests/rehearsal/test_rehearsal_e2e.py": "e2e",
    "tests/policies/scanners/test_runner.py": "scanners",
    "tests/rehearsal/test_dry_run.py": "e2e",
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    order = list(HEAVY)
    for item in items:
        marker = HEAVY.get(item.nodeid.split("::", 1)[0])
        if marker:
            item.add_marker(marker)

    def rank(item: pytest.Item) -> int:
        module = item.nodeid.split("::", 1)[0]
        return order.index(module) if module in HEAVY else len(order)

    items.sort(key=rank)  # stable: the rest keep their collection order


# The session synth's cdk.out and what it held when synthesized.
_SYNTHESIZED = pytest.StashKey[tuple[Path, set[Path]]]()


@pytest.fixture(scope="session")
def synth(tmp_path_factory: pytest.TempPathFactory, pytestconfig: pytest.Config) -> Synth:
    """The App, synthesized once per test run (CDK is imported here, not at collection). Under
    xdist the workers share one synth: the first to need it synthesizes into the run's common
    temporary directory, the others copy that cdk.out (tests/support/synth.py)."""
    outdir = tmp_path_factory.mktemp("cdk.out")
    if os.environ.get("PYTEST_XDIST_WORKER"):
        # Each worker's basetemp is <run's basetemp>/popen-gwN: the parent is the run's own.
        synthesized = shared_synth(tmp_path_factory.getbasetemp().parent, outdir)
    else:
        synthesized = synthesize(outdir)
    pytestconfig.stash[_SYNTHESIZED] = (synthesized.outdir, set(synthesized.outdir.iterdir()))
    return synthesized


@pytest.fixture(scope="module", autouse=True)
def _synth_left_as_synthesized(pytestconfig: pytest.Config) -> Iterator[None]:
    """What a module added to the session's cdk.out goes with it: the scanners module writes
    scanners/results.json there, which the report module would otherwise read as its own when
    it runs later in the same process (any order, and any xdist worker, must do)."""
    yield
    if _SYNTHESIZED in pytestconfig.stash:
        outdir, synthesized = pytestconfig.stash[_SYNTHESIZED]
        for added in set(outdir.iterdir()) - synthesized:
            if added.is_dir():
                shutil.rmtree(added)
            else:
                added.unlink()
