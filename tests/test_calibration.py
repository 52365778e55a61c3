"""Tests of the calibration batches, the shipped tokenizers and the pinned default ids."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, trainers

from lpzero_gp.errors import LpzeroError, SpaceError
from lpzero_gp.stats import calibration as cal

SAMPLE = (
    """The quick brown fox jumps over the lazy dog.
A second line of prose, with punctuation; and numbers 12345.

After a blank line the text goes on about foxes, dogs and other animals.
"""
    * 20
)


def _default_stream(kind: str) -> np.ndarray:
    pinned = cal.pinned_stream(kind)
    return pinned if pinned is not None else cal.token_stream(kind)


@pytest.fixture(scope="module")
def tiny_tokenizer_dir(tmp_path_factory) -> str:
    """A small uncased WordPiece saved as a transformers fast tokenizer directory."""
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    trainer = trainers.WordPieceTrainer(
        vocab_size=200, special_tokens=list(cal.BERT_SPECIALS), show_progress=False
    )
    tok.train_from_iterator(SAMPLE.splitlines(), trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        unk_token="[UNK]",
        pad_token="[PAD]",
        cls_token="[CLS]",
        sep_token="[SEP]",
        mask_token="[MASK]",
    )
    out = tmp_path_factory.mktemp("tiny_tok")
    fast.save_pretrained(str(out))
    return str(out)


@pytest.fixture(scope="module")
def no_cls_tokenizer_dir(tmp_path_factory) -> str:
    """A byte-level BPE without CLS/SEP tokens, saved as a transformers tokenizer directory."""
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    trainer = trainers.BpeTrainer(
        vocab_size=300,
        special_tokens=list(cal.LM_SPECIALS),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(cal.lm_pieces(SAMPLE), trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="<|unk|>")
    out = tmp_path_factory.mktemp("bpe_tok")
    fast.save_pretrained(str(out))
    return str(out)


# ------------------------------------------------------------------------------- default text


def test_default_text_is_topics_in_sorted_key_order():
    from pydoc_data.topics import topics

    text = cal.default_text()
    first, last = min(topics), max(topics)
    assert text.startswith(topics[first]) and text.endswith(topics[last])
    assert len(text) == sum(len(v) for v in topics.values()) + len(topics) - 1


# -------------------------------------------------------------------------------- BERT batches


def test_bert_batch_shape_specials_and_consecutive_chunks():
    batch = cal.bert_batch(batch_size=4, seq_len=16)
    assert set(batch) == {"input_ids", "token_type_ids", "attention_mask"}
    for value in batch.values():
        assert value.dtype == torch.long and value.shape == (4, 16)
    ids = batch["input_ids"]
    tok = cal.shipped_tokenizer("bert")
    assert (ids[:, 0] == tok.token_to_id("[CLS]")).all()
    assert (ids[:, -1] == tok.token_to_id("[SEP]")).all()
    assert int(ids.min()) >= 0 and int(ids.max()) < cal.BERT_VOCAB_SIZE
    assert (batch["token_type_ids"] == 0).all() and (batch["attention_mask"] == 1).all()
    body = ids[:, 1:-1].reshape(-1).numpy()
    assert np.array_equal(body, _default_stream("bert")[: 4 * 14])


def test_bert_batch_default_size():
    batch = cal.bert_batch()
    assert batch["input_ids"].shape == (16, 128)


def test_bert_batch_is_deterministic_and_returns_fresh_tensors():
    a = cal.bert_batch(batch_size=2, seq_len=8)
    a["input_ids"].fill_(7)
    b = cal.bert_batch(batch_size=2, seq_len=8)
    c = cal.bert_batch(batch_size=2, seq_len=8)
    assert not (b["input_ids"] == 7).all()
    assert torch.equal(b["input_ids"], c["input_ids"])


def test_bert_batch_from_text_file(tmp_path):
    path = tmp_path / "prose.txt"
    path.write_text(SAMPLE, encoding="utf-8")
    text = cal.load_text(str(path))
    batch = cal.bert_batch(batch_size=3, seq_len=10, text=text)
    tok = cal.shipped_tokenizer("bert")
    expected = []
    for line in SAMPLE.splitlines():
        if line.strip():
            expected += tok.encode(line.strip(), add_special_tokens=False).ids
    assert batch["input_ids"][:, 1:-1].reshape(-1).tolist() == expected[:24]
    assert cal.batch_info("bert", 3, 10, text=text)["ids"] == "tokenised"


def test_bert_batch_with_local_tokenizer_dir(tiny_tokenizer_dir):
    from transformers import AutoTokenizer

    batch = cal.bert_batch(batch_size=2, seq_len=12, tokenizer=tiny_tokenizer_dir, text=SAMPLE)
    hf = AutoTokenizer.from_pretrained(tiny_tokenizer_dir)
    first = SAMPLE.splitlines()[0]
    expected = hf(first, add_special_tokens=False)["input_ids"][:10]
    assert batch["input_ids"][0].tolist() == [hf.cls_token_id, *expected, hf.sep_token_id]
    info = cal.batch_info("bert", 2, 12, tokenizer=tiny_tokenizer_dir, text=SAMPLE)
    assert info["tokenizer"] == tiny_tokenizer_dir and info["tokenizer_vocab_size"] == len(hf)


def test_bert_batch_rejects_ids_beyond_bert_vocab(tiny_tokenizer_dir, monkeypatch):
    monkeypatch.setattr(cal, "BERT_VOCAB_SIZE", 8)
    with pytest.raises(cal.CalibrationError, match="outside the BERT vocabulary"):
        cal.bert_batch(batch_size=2, seq_len=12, tokenizer=tiny_tokenizer_dir, text=SAMPLE)


def test_bert_batch_needs_cls_and_sep(no_cls_tokenizer_dir):
    with pytest.raises(cal.CalibrationError, match="no CLS/SEP"):
        cal.bert_batch(batch_size=2, seq_len=8, tokenizer=no_cls_tokenizer_dir, text=SAMPLE)


# ---------------------------------------------------------------------------------- LM batches


def test_lm_batch_lts_layout():
    b, t = 4, 24
    batch = cal.lm_batch(batch_size=b, seq_len=t)
    assert set(batch) == {"input_ids", "labels"}
    for value in batch.values():
        assert value.dtype == torch.long and value.shape == (b, t)
    stream = _default_stream("lm")
    width = stream.size // b
    for row in range(b):
        start = row * width
        assert batch["input_ids"][row].tolist() == stream[start : start + t].tolist()
        assert batch["labels"][row].tolist() == stream[start + 1 : start + t + 1].tolist()
    assert int(batch["input_ids"].max()) < cal.LM_VOCAB_SIZE


def test_lm_batch_default_size_and_determinism():
    a, b = cal.lm_batch(), cal.lm_batch()
    assert a["input_ids"].shape == (16, 192) and a["labels"].shape == (16, 192)
    assert torch.equal(a["input_ids"], b["input_ids"]) and torch.equal(a["labels"], b["labels"])


def test_lm_batch_with_local_tokenizer_dir(no_cls_tokenizer_dir):
    batch = cal.lm_batch(batch_size=2, seq_len=8, tokenizer=no_cls_tokenizer_dir, text=SAMPLE)
    assert batch["input_ids"].shape == (2, 8)
    assert torch.equal(batch["input_ids"][:, 1:], batch["labels"][:, :-1])
    with pytest.raises(cal.CalibrationError, match="vocab_size=3"):
        cal.lm_batch(
            batch_size=2, seq_len=8, vocab_size=3, tokenizer=no_cls_tokenizer_dir, text=SAMPLE
        )


def test_lm_batch_rejects_small_vocab_with_shipped_tokenizer():
    with pytest.raises(cal.CalibrationError, match="vocab_size=10"):
        cal.lm_batch(batch_size=2, seq_len=8, vocab_size=10)


# ------------------------------------------------------------------ shipped tokenizers and pins


def test_shipped_bert_tokenizer_layout():
    tok = cal.shipped_tokenizer("bert")
    assert [tok.token_to_id(s) for s in cal.BERT_SPECIALS] == [0, 1, 2, 3, 4]
    assert tok.get_vocab_size() <= cal.BERT_VOCAB_SIZE
    assert tok.encode("Hello", add_special_tokens=False).ids == tok.encode("hello").ids[1:-1]


def test_shipped_lm_tokenizer_layout_and_frequency_order():
    tok = cal.shipped_tokenizer("lm")
    assert tok.token_to_id("<|unk|>") == 0 and tok.token_to_id("<|endoftext|>") == 1
    assert tok.encode("\n").ids == [2 + ord("\n")]
    assert tok.encode("A").ids == [2 + ord("A")]
    assert tok.get_vocab_size() < cal.LM_VOCAB_SIZE
    pinned = cal.pinned_stream("lm")
    if pinned is None:
        pytest.skip("pinned ids are not shipped")
    counts = np.bincount(pinned, minlength=tok.get_vocab_size())[258:]
    assert (np.diff(counts) <= 0).all()


def test_pinned_ids_belong_to_shipped_tokenizers():
    meta = cal.pinned_meta()
    assert meta is not None, "pinned ids missing or made with other tokenizer files"
    for kind in cal.KINDS:
        assert cal.pinned_stream(kind).size == meta["tokenizers"][kind]["stream_tokens"]
    info = cal.batch_info("lm", 16, 192)
    assert info["ids"] == "pinned" and info["text_sha256"] == meta["text_sha256"]


def test_pinned_ids_equal_fresh_tokenisation():
    meta = cal.pinned_meta()
    if meta is None or meta["text_sha256"] != cal.text_sha256(cal.default_text()):
        pytest.skip(
            f"default text differs from the pinned one (pinned on Python "
            f"{meta and meta['python_version']}, running {cal.python_version()})"
        )
    for kind in cal.KINDS:
        assert np.array_equal(cal.token_stream(kind), cal.pinned_stream(kind))


# ------------------------------------------------------------------------------------- errors


def test_calibration_error_is_a_user_error_not_a_space_error():
    assert issubclass(cal.CalibrationError, LpzeroError)
    assert not issubclass(cal.CalibrationError, SpaceError)


@pytest.mark.parametrize(
    ("content", "match"),
    [(b"", "empty"), (b"  \n\t\n", "empty"), (b"abc\xff\xfe", "not UTF-8"), (b"a\x00b", "binary")],
)
def test_load_text_rejects_bad_files(tmp_path, content, match):
    path = tmp_path / "bad.txt"
    path.write_bytes(content)
    with pytest.raises(cal.CalibrationError, match=match):
        cal.load_text(str(path))


def test_load_text_missing_file_and_directory(tmp_path):
    with pytest.raises(cal.CalibrationError, match="not found"):
        cal.load_text(str(tmp_path / "nope.txt"))
    with pytest.raises(cal.CalibrationError, match="directory"):
        cal.load_text(str(tmp_path))


def test_too_short_text_reports_needed_and_found():
    with pytest.raises(cal.CalibrationError) as err:
        cal.bert_batch(batch_size=2, seq_len=10, text="only a few words here")
    msg = str(err.value)
    assert "needs 16" in msg and "gives 5 tokens" in msg and "\n" not in msg
    with pytest.raises(cal.CalibrationError, match=r"needs 18"):
        cal.lm_batch(batch_size=2, seq_len=8, text="only a few words here")


def test_huge_request_on_default_text_is_an_error():
    with pytest.raises(cal.CalibrationError, match="default text gives"):
        cal.lm_batch(batch_size=10**6, seq_len=192)
    with pytest.raises(cal.CalibrationError, match="default text gives"):
        cal.bert_batch(batch_size=16, seq_len=10**7)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"batch_size": 0}, "batch_size must be at least 1"),
        ({"batch_size": True}, "batch_size must be an integer"),
        ({"batch_size": 2.5}, "batch_size must be an integer"),
        ({"seq_len": 1}, "seq_len must be at least 2"),
        ({"vocab_size": 0}, "vocab_size must be at least 2"),
        ({"text": b"bytes"}, "text must be the calibration text itself"),
    ],
)
def test_lm_batch_bad_arguments(kwargs, match):
    with pytest.raises(cal.CalibrationError, match=match):
        cal.lm_batch(**kwargs)


def test_bert_batch_bad_arguments():
    with pytest.raises(cal.CalibrationError, match="seq_len must be at least 3"):
        cal.bert_batch(seq_len=2)
    with pytest.raises(cal.CalibrationError, match="batch_size must be at least 1"):
        cal.bert_batch(batch_size=-1)


def test_bad_tokenizer_paths(tmp_path):
    with pytest.raises(cal.CalibrationError, match="tokenizer directory not found"):
        cal.bert_batch(tokenizer=str(tmp_path / "missing"))
    file_path = tmp_path / "tokenizer.json"
    file_path.write_text("{}", encoding="utf-8")
    with pytest.raises(cal.CalibrationError, match="is a file"):
        cal.lm_batch(tokenizer=str(file_path))
    with pytest.raises(cal.CalibrationError, match="cannot load tokenizer") as err:
        cal.lm_batch(tokenizer=str(tmp_path))
    assert "\n" not in str(err.value)
    with pytest.raises(cal.CalibrationError, match="non-empty"):
        cal.lm_batch(tokenizer="  ")


def test_batch_info_rejects_unknown_kind():
    with pytest.raises(cal.CalibrationError, match="unknown calibration batch kind"):
        cal.batch_info("gpt", 2, 8)
