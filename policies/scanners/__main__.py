"""`python -m policies.scanners cdk.out`: run the scanners on a cloud assembly (see runner)."""

import sys

from policies.scanners.runner import main

sys.exit(main())
