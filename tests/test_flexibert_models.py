"""FlexiBERT space: models per operation type, proxy-input collection, records and validation."""

from __future__ import annotations

import json
import math
import warnings

import numpy as np
import pytest
import scipy.fft
import torch

from lpzero_gp.errors import CalibrationError, SpaceError
from lpzero_gp.spaces.base import INPUT_NAMES, Record
from lpzero_gp.spaces.flexibert import FlexibertSpace
from lpzero_gp.spaces.flexibert.reference import (
    DynamicSpanConvMixer,
    LinearTransformMixer,
    dct2_matrix,
    merge_heads,
    split_heads,
)
from lpzero_gp.spaces.flexibert.space import (
    mlm_positions,
    parse_records,
    prepare_batch,
    tied_mlm_loss,
)
from lpzero_gp.stats.calibration import space_batch

OPS = [("SA", "SDP"), ("SA", "WMA"), ("LT", "DFT"), ("LT", "DCT"), ("DSC", 5), ("DSC", 9)]
VARIANTS = ["reference", "as-trained"]
SEMANTICS = ["intended", "reference"]
B, T = 2, 16


@pytest.fixture(scope="module")
def space() -> FlexibertSpace:
    return FlexibertSpace()


def _layer(op: str, par, heads: int, f: int, dim: int = 512) -> dict:
    return {"operation_type": op, "operation_parameter": par, "num_operation_heads": heads,
            "feed_forward_dimension": dim, "num_feed_forward": f}


def _raw(rid, op: str, par, hidden: int = 128) -> dict:
    return {"id": rid, "hidden_size": hidden,
            "encoder_layers": [_layer(op, par, 2, 3), _layer(op, par, 4, 1)],
            "scores": {"glue": 70.0}}


def _parse(raw: dict) -> Record:
    return parse_records([raw], "test")[0]


@pytest.fixture(scope="module")
def batch() -> dict[str, torch.Tensor]:
    gen = torch.Generator().manual_seed(7)
    ids = torch.randint(1000, 30522, (B, T), generator=gen)
    mask = torch.ones(B, T, dtype=torch.long)
    mask[1, 11:] = 0
    ids[1, 11:] = 0
    return {"input_ids": ids, "token_type_ids": torch.zeros(B, T, dtype=torch.long),
            "attention_mask": mask}


@pytest.fixture(scope="module")
def collected(space, batch):
    """{(variant, op, semantics): (model, record, raw inputs)} built once for the module."""
    cache = {}

    def get(variant, op, semantics):
        key = (variant, op, semantics)
        if key not in cache:
            record = _parse(_raw("x", *op))
            model = space.build(record, variant, seed=3)
            cache[key] = (model, record, space.collect(model, batch, semantics))
        return cache[key]

    return get


def _all_tensors(raw):
    return [t for name in INPUT_NAMES for block in raw[name] for t in block]


@pytest.mark.parametrize("semantics", SEMANTICS)
@pytest.mark.parametrize("op", OPS, ids=[f"{o}-{p}" for o, p in OPS])
@pytest.mark.parametrize("variant", VARIANTS)
def test_collect_structure(collected, variant, op, semantics):
    model, record, raw = collected(variant, op, semantics)
    layers = record.config["encoder_layers"]
    hidden = model.hidden_size
    assert set(raw) == set(INPUT_NAMES)
    for name in INPUT_NAMES:
        assert len(raw[name]) == len(layers), name
        assert all(len(block) > 0 for block in raw[name]), name
    for t in _all_tensors(raw):
        assert t.dtype == torch.float32 and not t.requires_grad
        assert torch.isfinite(t).all()
    for b, layer in enumerate(layers):
        assert len(raw["A"][b]) == layer["num_feed_forward"]
        assert [g.shape for g in raw["G"][b]] == [w.shape for w in raw["W"][b]]
        n_heads = len(model.layers[b].mixer.head_projections)
        assert len(raw["H"][b]) == (n_heads if semantics == "intended" else 1)
        assert len(raw["S"][b]) == 1
        expected_j = (B, T, hidden) if semantics == "intended" else (512, 128)
        assert [tuple(j.shape) for j in raw["J"][b]] == [expected_j]


@pytest.mark.parametrize("op", OPS, ids=[f"{o}-{p}" for o, p in OPS])
def test_reference_hook_shapes(collected, op):
    _, _, raw = collected("reference", op, "intended")
    kind, par = op
    n_first = 2  # first layer of the test records has 2 heads, the second 4
    w_shapes = [tuple(w.shape) for w in raw["W"][0]]
    if kind == "SA":
        assert w_shapes == [(256, 256)] * (4 if par == "WMA" else 3)
        assert raw["S"][0][0].shape == (B, n_first, T, T)
    elif kind == "LT":
        assert w_shapes == [(256, 256)]
        assert raw["S"][0][0].shape == (B, n_first, T, 256 // n_first)
    else:
        m = 1  # max(2 // 2, 1)
        assert w_shapes == [(128, 256)] * 3 + [(m * par, 128), (128, 256)]
        assert raw["S"][0][0].shape == (B, m, T, T)
        assert raw["H"][0][0].shape == (B, T, 128)
    assert all(a.shape == (B, T, 1024) for a in raw["A"][0])


def test_as_trained_uses_real_widths(collected):
    _, _, raw = collected("as-trained", ("DSC", 9), "intended")
    # hidden 128; layer 0: n=2, f=3, D=512 -> FFN 128 -> 512 -> 512 -> 512 -> 128
    assert [a.shape[-1] for a in raw["A"][0]] == [512, 512, 512]
    assert [tuple(w.shape) for w in raw["W"][0]] == [(128, 128)] * 3
    assert raw["S"][1][0].shape == (B, 4, T, T)


@pytest.mark.parametrize("op", OPS, ids=[f"{o}-{p}" for o, p in OPS])
@pytest.mark.parametrize("variant", VARIANTS)
def test_intended_gradients_are_nonzero(collected, variant, op):
    _, _, raw = collected(variant, op, "intended")
    for block in raw["G"] + raw["J"]:
        for g in block:
            assert g.abs().max() > 0


@pytest.mark.parametrize("op", OPS, ids=[f"{o}-{p}" for o, p in OPS])
@pytest.mark.parametrize("variant", VARIANTS)
def test_forward_output_finite_and_hooks_removed(collected, batch, variant, op):
    model, _, _ = collected(variant, op, "reference")
    assert not model.training  # collect restored the build's eval mode
    for module in model.modules():
        assert not module._forward_hooks and not module._forward_pre_hooks
    assert all(p.grad is None for p in model.parameters())
    with torch.no_grad():
        out = model(batch["input_ids"], batch["token_type_ids"], batch["attention_mask"])
    assert out.shape == (B, T, model.hidden_size) and torch.isfinite(out).all()


def test_intended_j_is_gradient_wrt_block_input(space, batch):
    model = space.build(_parse(_raw("j", "DSC", 5)), "reference", seed=0)
    raw = space.collect(model, batch)
    inputs = prepare_batch(batch, torch.device("cpu"))
    seen = []
    handles = [layer.register_forward_pre_hook(lambda _m, a: seen.append(a[0]))
               for layer in model.layers]
    hidden = model(inputs["input_ids"], inputs["token_type_ids"], inputs["attention_mask"])
    for h in handles:
        h.remove()
    grads = torch.autograd.grad(tied_mlm_loss(model, hidden, inputs), seen)
    for g, j in zip(grads, raw["J"], strict=True):
        torch.testing.assert_close(g, j[0])


def test_the_loss_in_chunks_is_the_loss_in_one(space, batch, monkeypatch):
    """Above MLM_CHUNK positions the loss is summed over checkpointed chunks; it and its
    gradients agree with the one-chunk path the default batches take."""
    import lpzero_gp.spaces.flexibert.space as flex

    model = space.build(_parse(_raw("c", "DSC", 5)), "reference", seed=0)
    inputs = prepare_batch(batch, torch.device("cpu"))
    results = []
    for chunk in (flex.MLM_CHUNK, 1):
        monkeypatch.setattr(flex, "MLM_CHUNK", chunk)
        model.zero_grad()
        hidden = model(inputs["input_ids"], inputs["token_type_ids"], inputs["attention_mask"])
        loss = tied_mlm_loss(model, hidden, inputs)
        loss.backward()
        results.append((loss.detach(), [p.grad.clone() for p in model.parameters()]))
    assert int(mlm_positions(inputs).sum()) > 1  # several chunks did run
    torch.testing.assert_close(results[0][0], results[1][0])
    for one, chunked in zip(results[0][1], results[1][1], strict=True):
        torch.testing.assert_close(one, chunked)


@pytest.mark.parametrize("variant", VARIANTS)
def test_build_is_seeded(space, variant):
    record = _parse(_raw("s", "DSC", 9))
    a = space.build(record, variant, seed=11).state_dict()
    b = space.build(record, variant, seed=11).state_dict()
    c = space.build(record, variant, seed=12).state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not all(torch.equal(a[k], c[k]) for k in a if a[k].dtype.is_floating_point
                   and a[k].std() > 0)


@pytest.mark.parametrize("semantics", SEMANTICS)
def test_collect_is_deterministic_and_keeps_global_rng(space, batch, semantics):
    model = space.build(_parse(_raw("d", "SA", "WMA")), "reference", seed=0)
    state = torch.get_rng_state()
    first = space.collect(model, batch, semantics)
    assert torch.equal(state, torch.get_rng_state())
    second = space.collect(model, batch, semantics)
    for x, y in zip(_all_tensors(first), _all_tensors(second), strict=True):
        assert torch.equal(x, y)


def test_reference_init_follows_spec(space):
    model = space.build(_parse(_raw("i", "DSC", 5)), "reference", seed=0)
    assert torch.count_nonzero(model.embeddings.word.weight[0]) == 0
    assert abs(model.embeddings.word.weight[1:].std().item() - 0.02) < 1e-3
    mixer = model.layers[0].mixer
    assert torch.count_nonzero(mixer.conv_bias) == 0 and torch.count_nonzero(mixer.query.bias) == 0
    assert abs(mixer.depthwise.weight.std().item() - 0.02) < 3e-3


def test_as_trained_init_follows_spec(space):
    model = space.build(_parse(_raw("i", "SA", "SDP", hidden=256)), "as-trained", seed=0)
    word = model.embeddings.word.weight
    assert word.abs().max() <= 0.04 and torch.count_nonzero(word[0]) > 0
    assert abs(word.std().item() - 0.0176) < 1e-3
    proj = model.embeddings.projection.weight
    limit = math.sqrt(6 / (128 + 256))
    assert proj.abs().max() <= limit and proj.abs().max() > 0.9 * limit
    small = space.build(_parse(_raw("i", "SA", "SDP", hidden=128)), "as-trained", seed=0)
    assert small.embeddings.projection is None


def test_attention_mask_semantics(space, batch):
    """As-trained masks padded keys; the reference model ignores the mask (as specified)."""
    changed = dict(batch)
    changed["input_ids"] = batch["input_ids"].clone()
    changed["input_ids"][1, 11:] = 5000
    record = _parse(_raw("m", "SA", "SDP"))
    for variant, same in (("as-trained", True), ("reference", False)):
        model = space.build(record, variant, seed=0)
        with torch.no_grad():
            a = model(batch["input_ids"], batch["token_type_ids"], batch["attention_mask"])
            b = model(changed["input_ids"], changed["token_type_ids"], changed["attention_mask"])
        assert torch.allclose(a[1, :11], b[1, :11], atol=1e-5) is same, variant


def test_linear_transforms_match_numpy_and_scipy():
    torch.manual_seed(0)
    x = torch.randn(2, 6, 16, dtype=torch.float64)
    for kind in ("DFT", "DCT"):
        mixer = LinearTransformMixer(16, 2, kind).double()
        with torch.no_grad():
            mixer.input.weight.copy_(torch.eye(16))
            mixer.input.bias.zero_()
            got = mixer(x)
        heads = split_heads(x, 2).numpy()
        if kind == "DFT":
            want = np.fft.fft2(heads, axes=(-2, -1)).real
        else:
            want = scipy.fft.dctn(heads, type=2, axes=(-2, -1))
        np.testing.assert_allclose(got.numpy(), merge_heads(torch.from_numpy(want)).numpy(),
                                   rtol=1e-10, atol=1e-10)
    assert torch.allclose(dct2_matrix(5, x) @ x[0, :5, 0],
                          torch.from_numpy(scipy.fft.dct(x[0, :5, 0].numpy(), type=2)))


def test_dynamic_span_conv_matches_loops():
    torch.manual_seed(0)
    hidden, heads, k, length = 8, 4, 3, 5
    mixer = DynamicSpanConvMixer(hidden, heads, k).double().eval()
    with torch.no_grad():
        for p in mixer.parameters():
            p.normal_(0, 0.5)
    x = torch.randn(1, length, hidden, dtype=torch.float64)
    with torch.no_grad():
        got = mixer(x)[0]
    m, d = 2, 2
    q, kx, v, c = mixer.query(x)[0], mixer.key(x)[0], mixer.value(x)[0], mixer.conv_value(x)[0]
    xp = torch.nn.functional.pad(x[0].T, (k // 2, k // 2))  # (H, L + k - 1)
    depth = torch.stack([torch.stack([(xp[ch, t:t + k] * mixer.depthwise.weight[ch, 0]).sum()
                                      for t in range(length)]) for ch in range(hidden)])
    s = (mixer.pointwise.weight[:, :, 0] @ depth + mixer.conv_bias).T  # (L, A)
    taps = torch.softmax(mixer.kernel_generator(s * q).view(length, m, k), dim=-1)
    want = torch.zeros(length, hidden, dtype=torch.float64)
    for h in range(m):
        cols = slice(h * d, h * d + d)
        scores = q[:, cols] @ kx[:, cols].T / math.sqrt(d)
        want[:, cols] = torch.softmax(scores, dim=-1) @ v[:, cols]
        for t in range(length):
            for tap in range(k):
                pos = t - k // 2 + tap
                if 0 <= pos < length:
                    want[t, m * d + h * d: m * d + h * d + d] += taps[t, h, tap] * c[pos, cols]
    torch.testing.assert_close(got, want)


def test_mlm_positions(batch):
    inputs = prepare_batch(batch, torch.device("cpu"))
    pos = mlm_positions(inputs)
    eligible = 14 + 9  # row 0: 16 attended minus [CLS]/[SEP]; row 1: 11 attended minus 2
    assert pos.sum() == round(0.15 * eligible)
    assert not pos[:, 0].any() and not pos[0, 15] and not pos[1, 10:].any()
    assert torch.equal(pos, mlm_positions(inputs))
    flagged = dict(inputs, special_tokens_mask=torch.ones_like(inputs["input_ids"]))
    flagged["special_tokens_mask"][0, 3] = 0
    assert mlm_positions(flagged).nonzero().tolist() == [[0, 3]]


def test_packaged_records(space):
    records = space.load_records()
    assert [r.id for r in records] == [str(i) for i in range(500)]
    first = records[0]
    assert first.truth == pytest.approx(74.73375)
    assert set(first.config) == {"hidden_size", "encoder_layers"}
    assert first.raw["num_parameters"] == 13_330_176
    assert space.name == "flexibert" and space.default_variant == "as-trained"
    assert "higher is better" in space.truth_label


def _write(tmp_path, data, name="bench.json"):
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    return str(path)


def _layer_edit(**changes):
    raw = _raw(7, "SA", "SDP")
    raw["encoder_layers"][1].update(changes)
    return [raw]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ("{not json", "not valid JSON"),
        ({"id": 1}, "expected a JSON list"),
        ([], "no records"),
        ([5], "record #0: expected an object"),
        ([{"hidden_size": 128}], "record #0: missing field 'id'"),
        ([{k: v for k, v in _raw(3, "SA", "SDP").items() if k != "scores"}],
         "record 3: missing field 'scores'"),
        ([dict(_raw(3, "SA", "SDP"), scores={"glue": "high"})], "record 3: scores.glue"),
        ([dict(_raw(3, "SA", "SDP"), hidden_size="128")], "record 3: hidden_size must be a pos"),
        ([dict(_raw(3, "SA", "SDP"), hidden_size=0)], "record 3: hidden_size must be a pos"),
        ([dict(_raw(3, "SA", "SDP"), encoder_layers=[])], "record 3: encoder_layers must be"),
        (_layer_edit(operation_type="RNN"), "record 7: encoder_layers[1].operation_type 'RNN'"),
        (_layer_edit(operation_parameter="DFT"), "encoder_layers[1].operation_parameter 'DFT'"),
        (_layer_edit(num_operation_heads=-2), "encoder_layers[1].num_operation_heads must be"),
        (_layer_edit(num_feed_forward=True), "encoder_layers[1].num_feed_forward must be"),
        ([_raw(4, "SA", "SDP"), _raw(4, "LT", "DFT")], "duplicate id '4' (records #0 and #1)"),
    ],
)
def test_bad_user_files(space, tmp_path, data, message):
    with pytest.raises(SpaceError) as info:
        space.load_records(_write(tmp_path, data))
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_missing_layer_field(space, tmp_path):
    raw = _raw(9, "LT", "DCT")
    del raw["encoder_layers"][0]["num_feed_forward"]
    with pytest.raises(SpaceError, match=r"record 9: encoder_layers\[0\] is missing field"):
        space.load_records(_write(tmp_path, [raw]))


def test_missing_file(space, tmp_path):
    with pytest.raises(SpaceError, match="not found"):
        space.load_records(str(tmp_path / "nope.json"))


def test_user_file_skips_unbuildable_and_accepts_string_kernel(space, tmp_path):
    odd = _raw("odd", "SA", "SDP")
    odd["encoder_layers"][0]["num_operation_heads"] = 3
    good = _raw("good", "DSC", "9")
    with pytest.warns(UserWarning, match="skipped 1 of 2 records .* record odd"):
        records = space.load_records(_write(tmp_path, [odd, good]))
    assert [r.id for r in records] == ["good"]
    assert records[0].config["encoder_layers"][0]["operation_parameter"] == 9
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no warning before the error: the error says it all
        with pytest.raises(SpaceError, match="none can be built .*record odd"):
            space.load_records(_write(tmp_path, [odd], "only_odd.json"))


def test_bad_arguments(space, batch):
    record = _parse(_raw("a", "SA", "SDP"))
    with pytest.raises(SpaceError, match="unknown flexibert variant"):
        space.build(record, "tf", seed=0)
    with pytest.raises(SpaceError, match="unknown flexibert variant"):
        space.num_params(record, "default")
    with pytest.raises(SpaceError, match="seed must be an integer"):
        space.build(record, "reference", seed=1.5)
    model = space.build(record, "reference", seed=0)
    with pytest.raises(SpaceError, match="unknown semantics"):
        space.collect(model, batch, "faithful")
    with pytest.raises(SpaceError, match="sequence length 600"):
        space.collect(model, {"input_ids": torch.ones(1, 600, dtype=torch.long)})
    with pytest.raises(SpaceError, match=r"input_ids must lie in \[0, 30522\)"):
        space.collect(model, {"input_ids": torch.full((1, 4), 30522)})
    with pytest.raises(SpaceError, match="integer tensor"):
        space.collect(model, {"input_ids": torch.ones(1, 4)})
    with pytest.raises(SpaceError, match="built by the flexibert space"):
        space.collect(torch.nn.Linear(2, 2), batch)
    with pytest.raises(CalibrationError, match="seq_len"):
        space_batch(space.calibration, 4, 513)


def test_calibration_spec_asks_the_engine_for_a_bert_batch(space, monkeypatch):
    from lpzero_gp.stats import calibration

    calls = []
    monkeypatch.setattr(calibration, "bert_batch",
                        lambda **kw: calls.append(kw) or {"input_ids": torch.zeros(2, 8)})
    out = space_batch(space.calibration, 2, 8, tokenizer="tok", text="txt")
    assert calls == [{"batch_size": 2, "seq_len": 8, "tokenizer": "tok", "text": "txt"}]
    assert out["input_ids"].shape == (2, 8)
    assert (space.calibration.batch_size, space.calibration.seq_len) == (16, 128)
