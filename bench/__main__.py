"""Run benchmarks: ``python -m bench`` runs every ``bench/bench_*.py``; ``python -m bench faces qr`` runs some.

Each module has ``main(argv: list[str]) -> None``, prints its results and writes them to
``bench/results/<name>.json`` so the README can quote one run.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
from pathlib import Path


def available() -> list[str]:
    here = Path(__file__).parent
    return sorted(m.name[len("bench_") :] for m in pkgutil.iter_modules([str(here)]) if m.name.startswith("bench_"))


def main(argv: list[str]) -> None:
    names = [a for a in argv if not a.startswith("-")] or available()
    extra = [a for a in argv if a.startswith("-")]
    unknown = sorted(set(names) - set(available()))
    if unknown:
        sys.exit(f"unknown benchmark(s) {unknown}; available: {available()}")
    for name in names:
        print(f"== bench {name}", flush=True)
        importlib.import_module(f"bench.bench_{name}").main(extra)


if __name__ == "__main__":
    main(sys.argv[1:])
