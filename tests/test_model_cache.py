"""Converted GGUF checkpoints kept in the cache: the same model as a direct load, read back
without parsing the GGUF file again, converted again when the file or the entry changes, and
listed and cleared by ``lpzero-gp cache``."""

from __future__ import annotations

import os
import warnings

import pytest
import torch

from lpzero_gp.spaces.llama import checkpoints
from lpzero_gp.spaces.llama.supernet import LonasSupernet
from lpzero_gp.stats import cache as stats_cache
from lpzero_gp.workflows.cache import cache_clear, cache_info

gguf = pytest.importorskip("gguf")
from test_llama_gguf import VOCAB, small_llama, write_gguf  # noqa: E402
from test_llama_subnets import short_stand_in  # noqa: E402

IDS = torch.randint(0, VOCAB, (2, 12), generator=torch.Generator().manual_seed(0))


def _byte_tokens() -> list[str]:
    """The 256 byte-level BPE symbols (GPT-2's byte-to-unicode table)."""
    bs = list(range(33, 127)) + list(range(161, 173)) + list(range(174, 256))
    cs = bs[:]
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + len(cs) - 188)
    return [chr(c) for _, c in sorted(zip(bs, cs, strict=True))]


class _TokenizerWriter(gguf.GGUFWriter):
    """A GGUF writer whose vocabulary starts with the byte symbols and has scores, so that
    transformers reads a working tokenizer from the file."""

    def add_token_list(self, tokens):
        chars = _byte_tokens()
        super().add_token_list(chars + list(tokens[len(chars):]))
        self.add_token_scores([0.0] * len(tokens))


def _write(model, path, monkeypatch) -> None:
    with monkeypatch.context() as m:
        m.setattr(gguf, "GGUFWriter", _TokenizerWriter)
        write_gguf(model, path)


@pytest.fixture
def tiny(tmp_path, monkeypatch):
    """A tiny Llama (a small vocabulary: each GGUF read parses it), the GGUF file written from
    it and an empty cache folder."""
    model = small_llama(seed=5)
    path = tmp_path / "src" / "tiny.gguf"
    path.parent.mkdir()
    _write(model, path, monkeypatch)
    checkpoints.load_config.cache_clear()
    yield model, path, tmp_path / "models"
    checkpoints.load_config.cache_clear()


def _no_gguf_parse(monkeypatch) -> None:
    """Any read of a GGUF file fails from here on: transformers' parse, and the config read
    from the file's metadata."""
    from transformers import modeling_gguf_pytorch_utils as reader

    def refuse(*_a, **_k):
        raise AssertionError("the GGUF file was parsed again")

    monkeypatch.setattr(reader, "load_gguf_checkpoint", refuse)
    monkeypatch.setattr(checkpoints, "_gguf_config", refuse)


def _logits(model) -> torch.Tensor:
    with torch.no_grad():
        return model(input_ids=IDS).logits


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_converted_weights_give_exactly_the_direct_load(tiny, monkeypatch, dtype):
    _, path, cache = tiny
    direct = checkpoints.load_model(checkpoints.resolve(str(path)), dtype)
    config = checkpoints.load_config(checkpoints.resolve(str(path))).to_dict()
    assert not cache.exists()  # no cache folder: nothing kept
    first = checkpoints.load_model(checkpoints.resolve(str(path), cache), dtype)
    assert len(list(cache.iterdir())) == 2  # the config and the weights of this dtype
    checkpoints.load_config.cache_clear()
    _no_gguf_parse(monkeypatch)
    again = checkpoints.resolve(str(path), cache)
    assert checkpoints.load_config(again).to_dict() == config
    cached = checkpoints.load_model(again, dtype)
    assert torch.equal(_logits(first), _logits(direct))
    assert torch.equal(_logits(cached), _logits(direct))
    assert cached.dtype == dtype and cached.config.name_or_path == str(path.parent)


def test_the_super_network_is_the_same_from_the_cache(tiny, monkeypatch):
    _, path, cache = tiny
    a = LonasSupernet.build(str(path), seed=1)
    LonasSupernet.build(str(path), seed=1, model_cache=cache)
    _no_gguf_parse(monkeypatch)
    checkpoints.load_config.cache_clear()
    b = LonasSupernet.build(str(path), seed=1, model_cache=cache)
    a.model.eval()
    b.model.eval()
    config = a.space.minimal()
    with torch.no_grad(), a.active(config), b.active(config):
        assert torch.equal(a.model(input_ids=IDS).logits, b.model(input_ids=IDS).logits)


def test_a_damaged_entry_warns_and_is_converted_again(tiny):
    _, path, cache = tiny
    direct = _logits(checkpoints.load_model(checkpoints.resolve(str(path)), torch.float32))
    checkpoints.load_model(checkpoints.resolve(str(path), cache), torch.float32)
    [weights] = cache.glob("*/model.safetensors")
    data = bytearray(weights.read_bytes())
    data[-5] ^= 0xFF  # one flipped bit pattern inside the last tensor
    weights.write_bytes(bytes(data))
    with pytest.warns(UserWarning, match="damaged .*does not match its recorded SHA-256"):
        model = checkpoints.load_model(checkpoints.resolve(str(path), cache), torch.float32)
    assert torch.equal(_logits(model), direct)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # repaired: read back without a word
        model = checkpoints.load_model(checkpoints.resolve(str(path), cache), torch.float32)
    assert torch.equal(_logits(model), direct)
    (weights.parent / "key.json").write_text("{not json")
    with pytest.warns(UserWarning, match="damaged"):
        checkpoints.load_model(checkpoints.resolve(str(path), cache), torch.float32)


def test_an_edited_file_is_never_served_its_old_conversion(tiny, monkeypatch):
    _, path, cache = tiny
    checkpoints.load_model(checkpoints.resolve(str(path), cache), torch.float32)
    st = os.stat(path)
    other = small_llama(seed=6)
    _write(other, path, monkeypatch)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))  # same size, same modification time
    assert os.path.getsize(path) == st.st_size
    checkpoints.load_config.cache_clear()
    model = checkpoints.load_model(checkpoints.resolve(str(path), cache), torch.float32)
    assert torch.equal(_logits(model), _logits(other))
    assert len(list(cache.glob("*/model.safetensors"))) == 2


def test_the_tokenizer_is_kept_and_encodes_alike(tiny, monkeypatch):
    from transformers import AutoTokenizer

    _, path, cache = tiny
    direct = AutoTokenizer.from_pretrained(str(path.parent), gguf_file=path.name)
    source = checkpoints.tokenizer_source(checkpoints.resolve(str(path), cache))
    assert source != str(path) and (cache / os.path.basename(source) / "key.json").is_file()
    _no_gguf_parse(monkeypatch)
    assert checkpoints.tokenizer_source(checkpoints.resolve(str(path), cache)) == source
    kept = AutoTokenizer.from_pretrained(source)
    text = ["hello world", "Zero-cost proxies, 2024: ünïcode!"]
    assert kept(text).input_ids == direct(text).input_ids and len(kept) == len(direct)
    assert checkpoints.tokenizer_source(checkpoints.resolve(str(path))) == str(path)


def test_eval_keeps_the_conversion_and_cache_lists_and_clears_it(tiny, monkeypatch, capsys):
    from lpzero_gp.workflows.evaluate import evaluate
    from lpzero_gp.workflows.options import EvalOptions

    _, path, _ = tiny
    root = path.parent.parent / "cache"
    short_stand_in(monkeypatch)  # the truth's training length is not what is checked here

    def run():
        opts = EvalOptions(space="llama", proxies=("params", "agg_mean(l1(W))"), quiet=True,
                           space_options={"model": str(path), "stand_in": 3}, batch_size=2,
                           seq_len=16, cache_dir=str(root))
        return [r["rho"] for r in evaluate(opts).data["results"]]

    first = run()
    models = root / stats_cache.MODELS
    assert len(list(models.iterdir())) == 3  # config, tokenizer, weights
    _no_gguf_parse(monkeypatch)
    checkpoints.load_config.cache_clear()
    assert run() == first
    info = cache_info(str(root))
    kept = [e for e in info.data["entries"] if e["kind"] == "models"]
    assert len(kept) == 3 and {e["key"]["space"] for e in kept} == {"llama"}
    assert {e["key"]["source"] for e in kept} == {str(path)}
    assert {e["key"]["part"] for e in kept} == {"config", "tokenizer", "weights-float32"}
    assert "3 converted models" in info.lines[1]
    assert any("part=weights-float32" in line and str(path) in line for line in info.lines)
    assert cache_clear(str(root), space="gpt2").data["files"] == 0
    assert models.is_dir()
    done = cache_clear(str(root), space="llama")
    assert done.data["files"] > 0 and not models.exists()


def test_no_cache_keeps_no_conversion(tiny):
    from lpzero_gp.spaces import get_space

    _, path, cache = tiny
    space = get_space("llama", model=str(path))
    assert space.model_cache is None  # the library keeps nothing unless asked
    space.supernet(0)
    assert not cache.exists() and not any(p.name == "models" for p in path.parent.iterdir())
