"""Benchmark harness: tus servers under load (see bench/README.md).

Run from the repo root: ``.venv/bin/python -m bench --rounds 3`` (or ``--smoke``).
"""
