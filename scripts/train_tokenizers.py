"""Train the shipped calibration tokenizers on the default text and pin the default token ids.

``tokenizers`` trainers are not deterministic, so this is run once and its output is committed
as package data (``lpzero_gp/data``); rerunning it gives equivalent but differently numbered
vocabularies. ``--pins-only`` keeps the shipped tokenizers and only re-pins the default streams
(for example to move the pinned text to another Python version on purpose).

Usage: ``python scripts/train_tokenizers.py [--out-dir DIR] [--pins-only]``
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import tokenizers
from tokenizers import (
    Tokenizer,
    decoders,
    models,
    normalizers,
    pre_tokenizers,
    processors,
    trainers,
)

from lpzero_gp.stats import calibration as cal


def byte_symbols() -> list[str]:
    """The byte-level alphabet in byte order: symbol ``k`` stands for byte ``k``.

    Printable Latin-1 bytes stand for themselves; the others take code points from 256 upward
    in byte order (the usual byte-level BPE convention).
    """
    keep = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1)]
    keep += range(ord("®"), ord("ÿ") + 1)
    kept = set(keep)
    out, extra = [], 0
    for b in range(256):
        if b in kept:
            out.append(chr(b))
        else:
            out.append(chr(256 + extra))
            extra += 1
    if set(out) != set(pre_tokenizers.ByteLevel.alphabet()):
        raise RuntimeError("byte alphabet does not match tokenizers' ByteLevel alphabet")
    return out


def train_wordpiece(pieces: list[str], vocab_size: int) -> Tokenizer:
    """Uncased WordPiece with the BERT specials first ([PAD] = 0)."""
    tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.decoder = decoders.WordPiece(prefix="##")
    trainer = trainers.WordPieceTrainer(
        vocab_size=vocab_size, special_tokens=list(cal.BERT_SPECIALS), show_progress=False
    )
    tok.train_from_iterator(pieces, trainer)
    cls_id, sep_id = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", cls_id), ("[SEP]", sep_id)],
    )
    for i, name in enumerate(cal.BERT_SPECIALS):
        assert tok.token_to_id(name) == i, name
    return tok


def encode(tok: Tokenizer, pieces: list[str]) -> np.ndarray:
    """One id stream: the pieces encoded without specials and concatenated."""
    encs = tok.encode_batch(pieces, add_special_tokens=False)
    return np.concatenate([np.asarray(e.ids, dtype=np.int64) for e in encs if e.ids])


def train_byte_bpe(pieces: list[str], vocab_size: int, min_frequency: int) -> Tokenizer:
    """Byte-level BPE: specials, then the 256 bytes in byte order, then tokens by frequency."""
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=min_frequency,
        special_tokens=list(cal.LM_SPECIALS),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(pieces, trainer)
    return renumber_by_frequency(tok, pieces)


def renumber_by_frequency(tok: Tokenizer, pieces: list[str]) -> Tokenizer:
    """Re-number ids: specials 0..1, byte ``k`` at ``2 + k``, the rest by descending frequency
    in ``pieces`` (ties by trained id). Merges refer to token strings, so only ids change."""
    vocab = tok.get_vocab()
    fixed = {name: i for i, name in enumerate(cal.LM_SPECIALS)}
    fixed.update({sym: len(cal.LM_SPECIALS) + b for b, sym in enumerate(byte_symbols())})
    old_stream = encode(tok, pieces)
    counts = np.bincount(old_stream, minlength=len(vocab))
    rest = sorted((i for t, i in vocab.items() if t not in fixed), key=lambda i: (-counts[i], i))
    old_to_new = {vocab[t]: i for t, i in fixed.items()}
    old_to_new.update({old: len(fixed) + rank for rank, old in enumerate(rest)})

    data = json.loads(tok.to_str())
    data["model"]["vocab"] = {t: old_to_new[i] for t, i in data["model"]["vocab"].items()}
    for added in data["added_tokens"]:
        added["id"] = old_to_new[added["id"]]
    new_tok = Tokenizer.from_str(json.dumps(data))

    lookup = np.zeros(len(vocab), dtype=np.int64)
    for old, new in old_to_new.items():
        lookup[old] = new
    if not np.array_equal(lookup[old_stream], encode(new_tok, pieces)):
        raise RuntimeError("re-numbered tokenizer does not encode like the trained one")
    return new_tok


def pin_streams(out_dir: Path) -> dict:
    """Encode the default text with the tokenizers in ``out_dir`` and pin the streams there."""
    text = cal.default_text()
    streams, tok_meta = {}, {}
    for kind, pieces_of in (("bert", cal.bert_pieces), ("lm", cal.lm_pieces)):
        path = out_dir / cal.TOKENIZER_FILES[kind]
        tok = Tokenizer.from_file(str(path))
        stream = encode(tok, pieces_of(text))
        if stream.max() >= 2**16:
            raise RuntimeError(f"{kind} ids do not fit uint16")
        streams[kind] = stream.astype(np.uint16)
        tok_meta[kind] = {
            "file": path.name,
            "sha256": cal.file_sha256(path),
            "vocab_size": tok.get_vocab_size(),
            "stream_tokens": int(stream.size),
        }
    np.savez_compressed(out_dir / cal.PINNED_IDS_FILE, **streams)
    meta = {
        "python_version": cal.python_version(),
        "text_source": cal.DEFAULT_TEXT_SOURCE,
        "text_join": "topics values in sorted-key order joined with a newline",
        "text_sha256": cal.text_sha256(text),
        "text_chars": len(text),
        "tokenizers_version": tokenizers.__version__,
        "dtype": "uint16",
        "tokenizers": tok_meta,
    }
    (out_dir / cal.PINNED_META_FILE).write_text(json.dumps(meta, indent=2) + "\n", "utf-8")
    return meta


def main() -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out-dir", type=Path, default=cal.DATA_DIR)
    parser.add_argument("--pins-only", action="store_true", help="keep tokenizers, re-pin ids")
    parser.add_argument("--bert-vocab", type=int, default=8192, help="WordPiece target size")
    parser.add_argument("--lm-vocab", type=int, default=8192, help="byte-level BPE target size")
    parser.add_argument("--min-frequency", type=int, default=2, help="BPE minimum pair count")
    args = parser.parse_args()
    args.out_dir.mkdir(parents=True, exist_ok=True)
    if not args.pins_only:
        text = cal.default_text()
        wordpiece = train_wordpiece(cal.bert_pieces(text), args.bert_vocab)
        wordpiece.save(str(args.out_dir / cal.TOKENIZER_FILES["bert"]), pretty=False)
        bpe = train_byte_bpe(cal.lm_pieces(text), args.lm_vocab, args.min_frequency)
        bpe.save(str(args.out_dir / cal.TOKENIZER_FILES["lm"]), pretty=False)
    meta = pin_streams(args.out_dir)
    print(json.dumps(meta, indent=2))


if __name__ == "__main__":
    main()
