"""Session fixtures only; helpers live in tests/support/ (never import from a conftest)."""

from __future__ import annotations

import pytest

from tests.support.synth import Synth, synthesize, use_venv_node

# Tests that build small apps of their own import CDK themselves: give jsii the venv's Node.
use_venv_node()


@pytest.fixture(scope="session")
def synth(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    """The App, synthesized once per session (CDK is imported here, not at collection)."""
    return synthesize(tmp_path_factory.mktemp("cdk.out"))
