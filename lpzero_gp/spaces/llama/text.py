"""The offline text of the LLaMA benchmark, split into three disjoint parts.

The text is Python's own reference prose (``pydoc_data.topics``, the same text every space
calibrates on). Each topic goes, by a hash of its key, to exactly one part: ``train`` (the
super-adapter's fine-tuning, 75 % of topics), ``calibration`` (the proxies' batch, 10 %) or
``heldout`` (the benchmark's perplexity, 15 %), so no token the truth is measured on is ever
trained on or seen by a proxy.
"""

from __future__ import annotations

import hashlib

#: Part of a topic by ``blake2b(key) % 20``: 0-1 calibration, 2-4 held-out, the rest training.
PARTS: tuple[str, ...] = ("train", "calibration", "heldout")


def part_of(key: str) -> str:
    """The part a topic key belongs to."""
    bucket = int.from_bytes(hashlib.blake2b(key.encode(), digest_size=4).digest(), "little") % 20
    if bucket <= 1:
        return "calibration"
    return "heldout" if bucket <= 4 else "train"


def text_parts() -> dict[str, str]:
    """The three parts, each the part's topics joined by newlines in sorted-key order."""
    from pydoc_data.topics import topics

    out: dict[str, list[str]] = {p: [] for p in PARTS}
    for key in sorted(topics):
        out[part_of(key)].append(topics[key])
    return {p: "\n".join(texts) for p, texts in out.items()}
