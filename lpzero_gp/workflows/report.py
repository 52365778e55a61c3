"""Results folders (written atomically), tables and plots."""

from __future__ import annotations

import csv
import json
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np

from lpzero_gp.spaces.base import SpaceError


class ResultsFolder:
    """Write into a temporary sibling folder; rename to ``out`` only when everything is written.

    An existing ``out`` is replaced only with ``force``; a failure leaves nothing behind, and a
    process killed while writing leaves only a hidden ``.<name>.partial-<pid>-*`` folder, which
    the next write to the same ``out`` removes.
    """

    def __init__(self, out: str | Path, force: bool = False):
        self.out = Path(out)
        self.force = force
        if self.out.exists() and not self.out.is_dir():
            raise SpaceError(f"{self.out} exists and is not a folder")
        if self.out.exists() and not force:
            raise SpaceError(f"results folder {self.out} exists (use --force to replace it)")
        self.tmp: Path | None = None

    def _prefix(self, kind: str) -> str:
        return f".{self.out.name}.{kind}-"

    def _remove_stale(self, parent: Path) -> None:
        """Remove temporary folders of this ``out`` left by processes that no longer run."""
        for kind in ("partial", "old"):
            for p in parent.glob(self._prefix(kind) + "*"):
                pid = p.name[len(self._prefix(kind)):].split("-")[0]
                if pid.isdigit() and not _alive(int(pid)):
                    shutil.rmtree(p, ignore_errors=True)

    def __enter__(self) -> ResultsFolder:
        parent = self.out.resolve().parent
        try:
            parent.mkdir(parents=True, exist_ok=True)
            self._remove_stale(parent)
            self.tmp = Path(tempfile.mkdtemp(prefix=self._prefix("partial") + f"{os.getpid()}-",
                                             dir=parent))
            self.tmp.chmod(0o777 & ~_umask())
        except OSError as exc:
            raise SpaceError(f"cannot write results to {self.out}: "
                             f"{exc.strerror or exc}") from None
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is not None:
            shutil.rmtree(self.tmp, ignore_errors=True)
            return
        old = None
        if self.out.exists():  # move aside first so that ``out`` is never half-replaced
            old = self.out.parent / (self._prefix("old") + f"{os.getpid()}-{self.tmp.name}")
            self.out.replace(old)
        self.tmp.replace(self.out)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)

    def path(self, name: str) -> Path:
        """Path of a file inside the (temporary) folder."""
        return self.tmp / name

    def json(self, name: str, data) -> None:
        """Write a JSON file (sorted keys, so reruns are byte-identical)."""
        self.path(name).write_text(json.dumps(data, indent=2, sort_keys=True, default=_plain)
                                   + "\n")

    def text(self, name: str, text: str) -> None:
        """Write a text file."""
        self.path(name).write_text(text)

    def csv(self, name: str, rows: list[dict]) -> None:
        """Write rows as CSV (columns from the first row)."""
        with open(self.path(name), "w", newline="") as f:
            if not rows:
                return
            w = csv.DictWriter(f, fieldnames=list(rows[0]))
            w.writeheader()
            w.writerows(rows)


def _alive(pid: int) -> bool:
    """Whether a process with this id exists (True when unsure)."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _plain(x):
    if isinstance(x, np.generic):
        return x.item()
    if isinstance(x, tuple):
        return list(x)
    return str(x)


def fmt(x: float, digits: int = 3) -> str:
    """A number for a table ('-' for nan)."""
    return "-" if x is None or not np.isfinite(x) else f"{x:.{digits}f}"


def markdown_table(header: list[str], rows: list[list]) -> str:
    """A Markdown table."""
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(out) + "\n"


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_generations(logbook: list[dict], path: Path, title: str) -> None:
    """Best and median Spearman rho per generation."""
    plt = _pyplot()
    gens = [r["gen"] for r in logbook]
    fig, ax = plt.subplots(figsize=(6, 3.6), dpi=110)
    ax.plot(gens, [r["best"] for r in logbook], marker="o", ms=3, label="best")
    ax.plot(gens, [r["median"] for r in logbook], ls="--", label="median (valid)")
    ax.set_xlabel("generation")
    ax.set_ylabel("Spearman rho (search architectures)")
    ax.set_title(title, fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, metadata={"Software": None})
    plt.close(fig)


def plot_scatter(scores, truth, path: Path, xlabel: str, ylabel: str, title: str) -> None:
    """Proxy score against ground truth."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5, 4), dpi=110)
    ax.scatter(scores, truth, s=12, alpha=0.7)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=9)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, metadata={"Software": None})
    plt.close(fig)
