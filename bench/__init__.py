"""Benchmarks, each measured against a floor in the same run (figures in bench/README.md)."""
