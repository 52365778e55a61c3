"""The offline text of the LLaMA benchmark, split into three parts that share no 32-token run.

The text is Python's own reference prose (``pydoc_data.topics``, the same text every space
calibrates on). Each topic goes, by a hash of its key, to exactly one part (:func:`text_parts`):
``train`` (the super-adapter's fine-tuning, 75 % of topics), ``calibration`` (the proxies'
batch, 10 %) or ``heldout`` (the benchmark's perplexity, 15 %).

Disjoint topics are not disjoint text: the topics repeat passages (grammar rules, examples,
whole paragraphs). :func:`disjoint_parts` therefore filters the parts, paragraph by paragraph,
before the shipped token ids are made (``scripts/build_llama_benchmark.py tokens``):

* ``train`` is kept whole (the shipped super-adapter was trained on exactly it);
* ``heldout`` loses every paragraph that shares a run of :data:`SHARED_SPAN` token ids with
  ``train``;
* ``calibration`` loses every paragraph that shares such a run with ``train`` or with the
  filtered ``heldout``.

A paragraph is a run of non-blank lines with the blank lines after it; each part's remaining
paragraphs keep their order. Token ids are those of the tokens step (each line encoded on its
own, so a part's id stream is the concatenation of its lines' ids); dropping a paragraph joins
its neighbours, so the filter repeats until no shared run is left, also across the new joins.
What is guaranteed (checked by the tokens step before it writes, and on the shipped ids by
``tests/test_llama_text.py``): no sequence of :data:`SHARED_SPAN` token ids occurs in two of
the three parts, so no such run of the benchmark's held-out windows is trained on or is in the
proxies' calibration batch. Shorter shared runs (common phrases, grammar snippets) remain, and
topics, not only passages, still go to one part each.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence

import numpy as np

#: Part of a topic by ``blake2b(key) % 20``: 0-1 calibration, 2-4 held-out, the rest training.
PARTS: tuple[str, ...] = ("train", "calibration", "heldout")
#: Length, in token ids, of the runs no two parts share.
SHARED_SPAN = 32
#: Encodes a text into one list of token ids per line, cut as the LM batches cut it (the
#: engine's ``stats.calibration.lm_pieces``; given by the caller, since a space imports
#: nothing from the engine).
Encoder = Callable[[str], list[list[int]]]


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


def spans(ids: np.ndarray, n: int = SHARED_SPAN) -> set[bytes]:
    """Every run of ``n`` consecutive ids of a 1-D stream, as bytes (none if it is shorter)."""
    return set(_span_keys(ids, n))


def _span_keys(ids: np.ndarray, n: int) -> list[bytes]:
    """The ``n``-id runs of a stream in order, each as the bytes of its int64 ids."""
    flat = np.ascontiguousarray(np.asarray(ids, dtype=np.int64).reshape(-1))
    if flat.size < n:
        return []
    return [row.tobytes() for row in np.lib.stride_tricks.sliding_window_view(flat, n)]


def paragraph_index(lines: Sequence[str]) -> list[int]:
    """The paragraph of every line: a run of non-blank lines with the blank lines after it."""
    out, para, prev_blank = [], 0, False
    for line in lines:
        blank = not line.strip()
        if prev_blank and not blank:
            para += 1
        out.append(para)
        prev_blank = blank
    return out


def _concat(pieces: list[list[int]]) -> tuple[np.ndarray, np.ndarray]:
    """The concatenated ids of the pieces and, for every id, the index of its piece."""
    sizes = [len(p) for p in pieces]
    ids = np.fromiter((i for p in pieces for i in p), dtype=np.int64, count=sum(sizes))
    return ids, np.repeat(np.arange(len(pieces)), sizes)


def shared_paragraphs(text: str, banned: set[bytes], encode: Encoder,
                      n: int = SHARED_SPAN) -> set[int]:
    """The paragraphs of ``text`` that an ``n``-id run found in ``banned`` touches."""
    lines = text.splitlines()
    ids, owner = _concat(encode(text))
    para = np.asarray(paragraph_index(lines), dtype=np.int64)
    hit = np.zeros(ids.size, dtype=bool)
    for start, key in enumerate(_span_keys(ids, n)):
        if key in banned:
            hit[start:start + n] = True
    return set(para[owner[hit]].tolist()) if len(lines) else set()


def drop_shared(text: str, banned: set[bytes], encode: Encoder,
                n: int = SHARED_SPAN) -> str:
    """``text`` without the paragraphs sharing an ``n``-id run with ``banned``, until none do."""
    while True:
        drop = shared_paragraphs(text, banned, encode, n)
        if not drop:
            return text
        lines = text.splitlines()
        paras = paragraph_index(lines)
        kept = [line for line, p in zip(lines, paras, strict=True) if p not in drop]
        text = "\n".join(kept) + "\n" if kept else ""


def part_spans(text: str, encode: Encoder, n: int = SHARED_SPAN) -> set[bytes]:
    """The ``n``-id runs of a text's id stream (its lines' ids concatenated)."""
    return spans(_concat(encode(text))[0], n)


def disjoint_parts(encode: Encoder, n: int = SHARED_SPAN) -> dict[str, str]:
    """The three parts, no two sharing an ``n``-id run: ``train`` whole, ``heldout`` without
    what it shares with ``train``, ``calibration`` without what it shares with either."""
    parts = text_parts()
    trained = part_spans(parts["train"], encode, n)
    heldout = drop_shared(parts["heldout"], trained, encode, n)
    held = part_spans(heldout, encode, n)
    calibration = drop_shared(parts["calibration"], trained | held, encode, n)
    return {"train": parts["train"], "calibration": calibration, "heldout": heldout}

__all__ = [
    "Encoder", "PARTS", "SHARED_SPAN", "disjoint_parts", "drop_shared", "paragraph_index",
    "part_of", "spans", "text_parts",
]
