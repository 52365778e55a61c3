"""GGUF checkpoints: a tiny Llama written as GGUF by the test loads back as the same model, and
its config is read from the file's metadata alone, as transformers reads it."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lpzero_gp.errors import SpaceError
from lpzero_gp.spaces.llama import checkpoints
from lpzero_gp.spaces.llama.supernet import LonasSupernet, tiny_config

gguf = pytest.importorskip("gguf")

#: Vocabulary of the test models written as GGUF: a GGUF reader parses every token string
#: (about 0.4 s a read for the tiny model's 8192), and 512 holds the 256 byte symbols of a
#: byte-level tokenizer (tests/test_model_cache.py).
VOCAB = 512


def small_llama(seed: int) -> torch.nn.Module:
    """The tiny Llama with a :data:`VOCAB`-token vocabulary, seeded random weights."""
    from transformers import LlamaForCausalLM

    torch.manual_seed(seed)
    return LlamaForCausalLM(tiny_config(vocab_size=VOCAB))


def _permute(w: np.ndarray, heads: int) -> np.ndarray:
    """llama.cpp's row order for q/k (rotary halves interleaved), which readers undo."""
    return w.reshape(heads, 2, w.shape[0] // heads // 2, *w.shape[1:]).swapaxes(1, 2) \
        .reshape(w.shape)


def write_gguf(model: torch.nn.Module, path, *, name: str | None = None, tied: bool = False,
               vocab_key: bool = True) -> None:
    """Write a transformers Llama as an F32 GGUF file with a minimal byte-level vocabulary
    (``name``: a general.name; ``tied``: no output layer, as a file of tied embeddings;
    ``vocab_key``: write llama.vocab_size, else readers count the token list)."""
    cfg = model.config
    w = gguf.GGUFWriter(str(path), "llama")
    if name is not None:
        w.add_name(name)
    w.add_context_length(cfg.max_position_embeddings)
    w.add_embedding_length(cfg.hidden_size)
    w.add_feed_forward_length(cfg.intermediate_size)
    w.add_block_count(cfg.num_hidden_layers)
    w.add_head_count(cfg.num_attention_heads)
    w.add_head_count_kv(cfg.num_key_value_heads)
    w.add_rope_freq_base(float(cfg.rope_parameters["rope_theta"]))
    w.add_layer_norm_rms_eps(float(cfg.rms_norm_eps))
    if vocab_key:
        w.add_vocab_size(cfg.vocab_size)
    w.add_tokenizer_model("gpt2")
    w.add_token_list([f"t{i}" for i in range(cfg.vocab_size)])
    w.add_token_types([1] * cfg.vocab_size)
    w.add_token_merges([])
    sd = {k: v.detach().float().numpy() for k, v in model.state_dict().items()}
    heads, kv_heads = cfg.num_attention_heads, cfg.num_key_value_heads
    w.add_tensor("token_embd.weight", sd["model.embed_tokens.weight"])
    for i in range(cfg.num_hidden_layers):
        p = f"model.layers.{i}."
        w.add_tensor(f"blk.{i}.attn_norm.weight", sd[p + "input_layernorm.weight"])
        w.add_tensor(f"blk.{i}.attn_q.weight", _permute(sd[p + "self_attn.q_proj.weight"], heads))
        w.add_tensor(f"blk.{i}.attn_k.weight",
                     _permute(sd[p + "self_attn.k_proj.weight"], kv_heads))
        w.add_tensor(f"blk.{i}.attn_v.weight", sd[p + "self_attn.v_proj.weight"])
        w.add_tensor(f"blk.{i}.attn_output.weight", sd[p + "self_attn.o_proj.weight"])
        w.add_tensor(f"blk.{i}.ffn_norm.weight", sd[p + "post_attention_layernorm.weight"])
        w.add_tensor(f"blk.{i}.ffn_gate.weight", sd[p + "mlp.gate_proj.weight"])
        w.add_tensor(f"blk.{i}.ffn_up.weight", sd[p + "mlp.up_proj.weight"])
        w.add_tensor(f"blk.{i}.ffn_down.weight", sd[p + "mlp.down_proj.weight"])
    w.add_tensor("output_norm.weight", sd["model.norm.weight"])
    if not tied:
        w.add_tensor("output.weight", sd["lm_head.weight"])
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


@pytest.fixture(scope="module")
def tiny_gguf(tmp_path_factory):
    model = small_llama(seed=5)
    path = tmp_path_factory.mktemp("gguf") / "tiny.gguf"
    write_gguf(model, path)
    return model, path


def test_gguf_file_loads_as_the_same_model(tiny_gguf):
    model, path = tiny_gguf
    ckpt = checkpoints.resolve(str(path))
    assert ckpt.gguf_file == "tiny.gguf"
    config = checkpoints.load_config(ckpt)
    assert (config.hidden_size, config.num_hidden_layers) == (64, 4)
    loaded = checkpoints.load_model(ckpt, torch.float32)
    ids = torch.randint(0, VOCAB, (2, 12), generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        want = model(input_ids=ids).logits
        got = loaded(input_ids=ids).logits
    assert torch.allclose(got, want, atol=1e-4)


def test_gguf_super_network_slices_like_the_folder_checkpoint(tiny_gguf, tmp_path):
    model, path = tiny_gguf
    folder = tmp_path / "ckpt"
    model.save_pretrained(folder)
    a = LonasSupernet.build(str(path), seed=1)
    b = LonasSupernet.build(str(folder), seed=1)
    a.model.eval()  # LoRA dropout off
    b.model.eval()
    ids = torch.randint(0, VOCAB, (1, 10), generator=torch.Generator().manual_seed(1))
    config = a.space.minimal()
    with torch.no_grad(), a.active(config), b.active(config):
        assert torch.allclose(a.model(input_ids=ids).logits, b.model(input_ids=ids).logits,
                              atol=1e-4)


def test_bad_gguf_is_one_line(tmp_path):
    bad = tmp_path / "broken.gguf"
    bad.write_bytes(b"GGUF\x03\x00\x00\x00garbage")
    with pytest.raises(SpaceError, match="broken.gguf"):
        checkpoints.load_config(checkpoints.resolve(str(bad)))
    with pytest.raises(SpaceError, match="tiny, smollm2, a checkpoint folder or a .gguf file"):
        checkpoints.resolve(str(tmp_path / "missing.gguf"))


def _transformers_config(path) -> dict:
    from transformers import AutoConfig

    config = AutoConfig.from_pretrained(str(path.parent), gguf_file=path.name)
    return {"class": type(config), "attributes": vars(config), "json": config.to_json_string()}


def test_the_config_is_read_from_the_metadata_as_transformers_reads_it(tiny_gguf, tmp_path,
                                                                      monkeypatch):
    """A Llama file's config comes from its metadata, with no parse of its vocabulary, and is
    exactly transformers' own; a file whose vocabulary size only its token list gives is left
    to transformers."""
    from transformers import modeling_gguf_pytorch_utils as reader

    model, plain = tiny_gguf
    named = tmp_path / "named.gguf"
    write_gguf(model, named, name="Tiny Llama", tied=True)
    counted = tmp_path / "counted.gguf"
    write_gguf(model, counted, vocab_key=False)
    want = {path: _transformers_config(path) for path in (plain, named, counted)}
    parses = []
    monkeypatch.setattr(reader, "load_gguf_checkpoint",
                        lambda *a, _read=reader.load_gguf_checkpoint, **k:
                        parses.append(a[0]) or _read(*a, **k))
    checkpoints.load_config.cache_clear()
    for path in (plain, named, counted):
        config = checkpoints.load_config(checkpoints.resolve(str(path)))
        assert {"class": type(config), "attributes": vars(config),
                "json": config.to_json_string()} == want[path]
    assert parses == [str(counted)]
    assert want[named]["attributes"]["tie_word_embeddings"] is True
    assert want[named]["attributes"]["_name_or_path"] == str(tmp_path)
    assert want[counted]["attributes"]["vocab_size"] == VOCAB
    checkpoints.load_config.cache_clear()
