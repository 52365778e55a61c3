"""Compare two folders written by scripts/golden_outputs.sh (before and after a change).

Prints the SHA-256 (12 hex digits) of every file on both sides. A file that differs is compared
again with what may vary between identical runs masked (timings, wall times, paths, cache
notes, the command line, a baseline table's seconds column), and the first lines that still
differ are shown. Usage: python scripts/compare_golden.py BEFORE AFTER
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
from pathlib import Path

#: JSON keys whose values vary between identical runs.
VARYING_KEYS = re.compile(r"(seconds|wall|elapsed|time|command|argv|cwd|out$|path)", re.I)
#: Printed lines that say where statistics came from or how long something took.
VARYING_LINES = re.compile(r"loaded from the cache|cost per architecture|^checkpoints:|"
                           r"models? built|wall time")
DURATION = re.compile(r"\d+(\.\d+)?\s?(s|ms|min)\b|\[\d\d:\d\d[^\]]*\]")


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:12]


def strip_json(x, roots: tuple[str, ...]):
    """``x`` without the varying keys, with the folder roots replaced."""
    if isinstance(x, dict):
        return {k: strip_json(v, roots) for k, v in x.items() if not VARYING_KEYS.search(k)}
    if isinstance(x, list):
        return [strip_json(v, roots) for v in x]
    if isinstance(x, str):
        for root in roots:
            x = x.replace(root, "ROOT")
    return x


def _blank_column(line: str, sep: str, col: int | None) -> str:
    parts = line.split(sep)
    if col is not None and len(parts) > col:
        parts[col] = " T " if sep == "|" else "T"
    return sep.join(parts)


def mask_columns(text: str) -> list[str]:
    """Lines of ``text`` with a baseline table's seconds column blanked (CSV and Markdown)."""
    out, csv_col, md_col = [], None, None
    for line in text.splitlines():
        if line.startswith("key,") and "seconds_per_arch" in line:
            csv_col = line.split(",").index("seconds_per_arch")
        elif csv_col is not None and "," in line and not line.startswith("|"):
            line = _blank_column(line, ",", csv_col)
        if line.startswith("| ") and "s/arch" in line:
            md_col = [c.strip() for c in line.split("|")].index("s/arch")
        elif md_col is not None and line.startswith("| "):
            line = _blank_column(line, "|", md_col)
        out.append(line)
    return out


def masked_lines(path: Path, root: Path) -> list[str]:
    lines = []
    for line in mask_columns(path.read_text()):
        if VARYING_LINES.search(line):
            continue
        line = line.replace(str(root), "ROOT")
        line = re.sub(r"cache \([^)]*\)", "cache (CACHE)", line)
        line = re.sub(r"--model (\w+)", r"--space-option model=\1", line)  # older spelling
        lines.append(DURATION.sub("T", line))
    return lines


def equal_masked(a: Path, b: Path, root_a: Path, root_b: Path) -> tuple[bool, list]:
    """Whether ``a`` and ``b`` agree once what varies is masked, and the first differences."""
    if a.name == "timing.json":
        return True, []
    if a.suffix == ".json":
        roots = (str(root_a), str(root_b))
        return strip_json(json.loads(a.read_text()), roots) == strip_json(
            json.loads(b.read_text()), roots), []
    if a.suffix in (".stdout", ".md", ".csv", ".txt", ".tex"):
        la, lb = masked_lines(a, root_a), masked_lines(b, root_b)
        return la == lb, [(x, y) for x, y in zip(la, lb, strict=False) if x != y][:3]
    return False, []


def main(before: Path, after: Path) -> None:
    names = sorted({p.relative_to(root) for root in (before, after) for p in root.rglob("*")
                    if p.is_file() and not p.name.startswith(".") and p.name != "hashes.txt"})
    same = masked = 0
    for name in names:
        a, b = before / name, after / name
        if not (a.exists() and b.exists()):
            print(f"{name}: only in {'after' if b.exists() else 'before'}")
            continue
        da, db = digest(a), digest(b)
        if da == db:
            print(f"{name} {da} same")
            same += 1
            continue
        ok, diffs = equal_masked(a, b, before, after)
        masked += ok
        print(f"{name} {da} {db} differs; masked {'equal' if ok else 'DIFFERENT'}")
        for x, y in diffs:
            print(f"   before: {x}\n   after:  {y}")
    print(f"{len(names)} files: {same} byte-identical, {masked} equal once what varies between "
          "identical runs is masked")


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
