"""The LLaMA text parts share no 32-token run: held-out windows, calibration batch, training."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest

from lpzero_gp.spaces.llama import smollm2
from lpzero_gp.spaces.llama.text import (
    SHARED_SPAN,
    drop_shared,
    paragraph_index,
    spans,
    text_parts,
)
from lpzero_gp.stats.calibration import lm_pieces


def _window_spans() -> set[bytes]:
    """The 32-token runs of the held-out windows every benchmark perplexity is measured on."""
    rows = smollm2.heldout_rows().numpy()
    stitched = np.concatenate([rows[0], rows[1:, 1:].reshape(-1)])
    # the windows are consecutive (each starts on the previous one's target), so their runs
    # are those of one stream, including the runs across window borders
    assert np.array_equal(stitched, smollm2.text_ids()["heldout"][: stitched.size])
    return spans(stitched)


def _batch_spans() -> set[bytes]:
    """The 32-token runs of the llama space's default calibration batch (inputs + targets)."""
    from lpzero_gp.spaces.llama.subnet_space import LlamaSpace
    from lpzero_gp.stats.calibration import space_batch

    batch = space_batch(LlamaSpace().calibration)
    rows = np.concatenate([batch["input_ids"].numpy(), batch["labels"].numpy()[:, -1:]], axis=1)
    assert rows.shape == (4, 65)
    return set().union(*(spans(row) for row in rows))


@pytest.fixture(scope="module")
def windows() -> set[bytes]:
    return _window_spans()


def test_heldout_windows_share_no_run_with_the_calibration_part(windows):
    shared = windows & spans(smollm2.text_ids()["calibration"])
    assert not shared, f"{len(shared)} of {len(windows)} held-out runs are in the calibration part"


def test_heldout_windows_share_no_run_with_the_training_part(windows):
    shared = windows & spans(smollm2.text_ids()["train"])
    assert not shared, f"{len(shared)} of {len(windows)} held-out runs are in the training part"


def test_calibration_batch_shares_no_run_with_the_heldout_windows(windows):
    batch = _batch_spans()
    shared = batch & windows
    assert not shared, f"{len(shared)} of {len(batch)} batch runs are in the held-out windows"


def test_whole_parts_are_pairwise_disjoint():
    ids = smollm2.text_ids()
    runs = {part: spans(ids[part]) for part in ("train", "calibration", "heldout")}
    assert not runs["train"] & runs["heldout"]
    assert not runs["train"] & runs["calibration"]
    assert not runs["calibration"] & runs["heldout"]
    # the filter left enough: the benchmark's windows and a 16 x 128 calibration batch fit
    assert ids["heldout"].size > smollm2.HELDOUT_WINDOWS * smollm2.HELDOUT_SEQ_LEN + 1
    assert ids["calibration"].size >= 16 * 129


def test_training_part_is_the_one_the_adapter_was_trained_on():
    meta = json.loads((smollm2.DATA / "text_ids.json").read_text())
    training = json.loads((smollm2.DATA / "training.json").read_text())
    train = text_parts()["train"]
    assert meta["parts"]["train"]["text_sha256"] == hashlib.sha256(train.encode()).hexdigest()
    assert smollm2.text_ids()["train"].size == training["train_tokens"]
    assert meta["shared_span"] == SHARED_SPAN


# ------------------------------------------------------------------ the filter on a toy text


def _chars(text: str) -> list[list[int]]:
    """A toy tokenizer of a text's LM pieces: one id per character."""
    return [[ord(c) for c in piece] for piece in lm_pieces(text)]


def test_paragraph_index_groups_lines_with_their_blank_lines():
    assert paragraph_index(["a", "b", "", "c", "", "", "d"]) == [0, 0, 0, 1, 1, 1, 2]
    assert paragraph_index(["", "a"]) == [0, 1]


def _runs(text: str, n: int) -> set[bytes]:
    """The ``n``-character runs of a string under the toy tokenizer."""
    return spans(np.array([ord(c) for c in text]), n)


def test_drop_shared_removes_touching_paragraphs_until_none_share():
    text = "alpha one\nalpha two\n\nbeta\n\ngamma gamma\n"
    assert drop_shared(text, _runs("\n beta", 4), _chars, 4) == \
        "alpha one\nalpha two\n\ngamma gamma\n"
    assert drop_shared(text, set(), _chars, 4) == text
    # "o\n\n g" only exists once "beta" is gone: the second round finds it across the join
    assert "o\n\n g" not in "".join(lm_pieces(text))
    assert drop_shared(text, _runs("\n beta", 5) | _runs("o\n\n g", 5), _chars, 5) == ""
