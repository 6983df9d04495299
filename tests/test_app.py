"""app.py's edge: a broken acknowledgements registry ends synth with one line and exit 2."""

from __future__ import annotations

from pathlib import Path

from tests.support.synth import cdk_json_context, run_app

# app.main() with the registry read from argv[1] (a fresh interpreter: jsii's Node process
# takes the CDK context from its environment when it starts).
MAIN_WITH_REGISTRY = """
import sys
from pathlib import Path
from policies import acknowledgements
real_load = acknowledgements.load
acknowledgements.load = lambda registry=None: real_load(Path(sys.argv[1]))
import app
sys.exit(app.main())
"""


def test_a_registry_error_is_one_line_and_exit_2(tmp_path: Path) -> None:
    broken = tmp_path / "acknowledgements.toml"
    broken.write_text('[[acknowledgement]]\nrule = "AwsSolutions::AwsSolutions-SQS3"\n')
    done = run_app(cdk_json_context(), tmp_path / "cdk.out", "-c", MAIN_WITH_REGISTRY, str(broken))
    assert done.returncode == 2, done.stderr[-2000:]
    assert "Traceback" not in done.stderr
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith("registry error: acknowledgements.toml: acknowledgement[0]")
