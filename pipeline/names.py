"""Names the pipeline stack and the steps it runs must agree on (pure Python, no CDK)."""

from __future__ import annotations

# Where the build step stores each execution's reports, in the pipeline's artifact bucket.
REVIEW_PREFIX = "reviews"
# The synth output `make released` marks as the base of the next release's diff.
RELEASED_OBJECT = "released/cdk.out.tar.gz"
# This execution's synth output, beside its reports.
SYNTH_OBJECT = "cdk.out.tar.gz"
