"""Scanners run on the synthesized cloud assembly: cfn-lint, checkov and parliament."""
