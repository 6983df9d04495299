"""`python -m pipeline.bootstrap [--run]`."""

import sys

from pipeline.bootstrap import main

sys.exit(main())
