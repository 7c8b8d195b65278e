"""What tests and benchmarks share: the reference data and builders of records, keys and servers."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data"
"""Reference data copied into the repository (see its README): EPCIS examples, hash vectors, baskets."""
