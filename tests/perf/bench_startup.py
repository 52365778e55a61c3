"""Start-up time of ``lpzero-gp --help`` against ``python -c "import click"`` in the same run.

``python tests/perf/bench_startup.py [--repeat N]`` prints the median wall time of each and
their ratio. The command line imports no torch, NumPy, SciPy, SymPy or DEAP until a command
runs, so ``--help`` costs little more than the interpreter and click themselves.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

CASES = {
    "python -c 'import click'": [sys.executable, "-c", "import click"],
    "lpzero-gp --help": [sys.executable, "-m", "lpzero_gp", "--help"],
    "lpzero-gp run --help": [sys.executable, "-m", "lpzero_gp", "run", "--help"],
}


def median_seconds(argv: list[str], repeat: int) -> float:
    """Median wall time of ``repeat`` runs (after one warm-up run)."""
    subprocess.run(argv, check=True, capture_output=True)
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        subprocess.run(argv, check=True, capture_output=True)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    base = None
    for label, argv in CASES.items():
        secs = median_seconds(argv, args.repeat)
        base = base or secs
        print(f"{label:<28} {secs:6.3f} s   {secs / base:5.2f}x")


if __name__ == "__main__":
    main()
