"""Benchmarks (not tests): ``.venv/bin/python -m bench.jury``, ``-m bench.api``, ``-m bench.flows``."""
