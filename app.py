#!/usr/bin/env python3
"""CDK entry point: load the deployment config, build the pipeline and its Stages, synthesize."""

import sys

from pipeline.application import main

if __name__ == "__main__":
    sys.exit(main())
