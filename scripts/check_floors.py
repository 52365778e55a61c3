#!/usr/bin/env python
"""Check that the dependency floors in setup.cfg hold.

Builds a fresh virtual environment with every direct dependency at exactly its declared
minimum (``install_requires`` plus the ``test`` and ``dask`` extras), installs the package
there without dependencies, runs ``pip check``, lints with the floor ruff and runs the fast
test suite. A floor that cannot be installed, conflicts with another floor or breaks a test
fails the check, so the declared ranges are ones that were actually run.

Usage: ``python scripts/check_floors.py [--venv DIR] [--keep] [--no-lint] [-- PYTEST ARGS]``.
Run it with the Python the floors are meant for (3.11). It needs the package index; the venv
is created under the system temporary folder unless ``--venv`` is given.
"""

from __future__ import annotations

import argparse
import configparser
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXTRAS = ("test", "dask")
_REQ = re.compile(r"^(?P<name>[A-Za-z0-9_.\-]+)(?P<extras>\[[^\]]*\])?\s*>=\s*(?P<floor>[^,;\s]+)$")


def floors(setup_cfg: Path = ROOT / "setup.cfg", extras: tuple[str, ...] = EXTRAS
           ) -> list[str]:
    """``name[extras]==floor`` for every direct dependency; each must declare a ``>=`` floor."""
    cfg = configparser.ConfigParser()
    cfg.read(setup_cfg, encoding="utf-8")
    lines = cfg["options"]["install_requires"].splitlines()
    for extra in extras:
        lines += cfg["options.extras_require"][extra].splitlines()
    pins = []
    for line in (x.strip() for x in lines):
        if not line:
            continue
        m = _REQ.match(line)
        if m is None:
            raise ValueError(f"requirement {line!r} has no plain '>=' floor to check")
        pins.append(f"{m['name']}{m['extras'] or ''}=={m['floor']}")
    return pins


def run(cmd: list[str], env: dict[str, str] | None = None, cwd: Path = ROOT) -> None:
    """Echo and run ``cmd``; a non-zero exit ends the check."""
    print("$", " ".join(cmd), flush=True)
    subprocess.run(cmd, cwd=cwd, env=env, check=True)


def venv_env(venv: Path) -> dict[str, str]:
    """The environment of an activated ``venv``.

    Its ``bin`` goes first on PATH because some dependencies start console scripts by name
    (distributed's subprocess cluster runs ``dask``), which must be the floor versions too.
    """
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    env["VIRTUAL_ENV"] = str(venv)
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONNOUSERSITE"] = "1"
    return env


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--venv", type=Path, help="where to build the venv (emptied first)")
    parser.add_argument("--keep", action="store_true", help="keep a temporary venv afterwards")
    parser.add_argument("--no-lint", action="store_true", help="skip 'ruff check .'")
    parser.add_argument("pytest_args", nargs="*", help="extra pytest arguments (after --)")
    args = parser.parse_args(argv)

    if sys.version_info[:2] != (3, 11):
        print(f"warning: floors are meant for Python 3.11, running {sys.version.split()[0]}")
    pins = floors()
    print("floors:", " ".join(pins), flush=True)

    temp = args.venv is None
    venv = Path(tempfile.mkdtemp(prefix="lpzero-floors-")) if temp else args.venv.resolve()
    if venv.exists():
        shutil.rmtree(venv)
    env = venv_env(venv)
    py = str(venv / "bin" / "python")
    pip = [py, "-m", "pip", "--disable-pip-version-check"]
    times: dict[str, float] = {}
    start = time.monotonic()
    try:
        t = time.monotonic()
        run([sys.executable, "-m", "venv", str(venv)])
        run(pip + ["install", *pins], env=env)
        run(pip + ["install", "--no-deps", "-e", str(ROOT)], env=env)
        run(pip + ["check"], env=env)
        times["install"] = time.monotonic() - t
        run(pip + ["list"], env=env)
        if not args.no_lint:
            t = time.monotonic()
            run([str(venv / "bin" / "ruff"), "check", "."], env=env)
            times["lint"] = time.monotonic() - t
        t = time.monotonic()
        run([py, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args.pytest_args], env=env)
        times["tests"] = time.monotonic() - t
    except subprocess.CalledProcessError as exc:
        print(f"floor check FAILED ({' '.join(exc.cmd[:4])} ... exit {exc.returncode}) "
              f"after {time.monotonic() - start:.0f} s", flush=True)
        return 1
    finally:
        if temp and not args.keep:
            shutil.rmtree(venv, ignore_errors=True)
    parts = ", ".join(f"{k} {v:.0f} s" for k, v in times.items())
    print(f"floor check passed in {time.monotonic() - start:.0f} s ({parts})", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
