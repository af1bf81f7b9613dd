"""Fuzz targets (atheris) for everything that reads untrusted bytes: specs, sources, plans.

`python -m tests.fuzz --seconds N` runs every target for N seconds each;
`make test` runs each one briefly through `tests/fuzz/test_fuzz.py`.
"""
