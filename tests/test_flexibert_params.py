"""Parameter counts of both FlexiBERT variants against the benchmark's two count fields."""

from __future__ import annotations

import pytest

from lpzero_gp.spaces.flexibert import FlexibertSpace
from lpzero_gp.spaces.flexibert.params import as_trained_num_params, reference_num_params

COUNT_FIELD = {"reference": "num_parameters", "as-trained": "num_parameters_as_trained"}
SAMPLE = 24  # the first 24 records: every operation type, both widths, n in {2,4}, f in {1,3}


@pytest.fixture(scope="module")
def space() -> FlexibertSpace:
    return FlexibertSpace()


@pytest.fixture(scope="module")
def records(space):
    return space.load_records()


def _trainable(model) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def _op(layer) -> str:
    return f"{layer['operation_type']}-{layer['operation_parameter']}"


@pytest.mark.parametrize("variant", ["reference", "as-trained"])
def test_analytic_counts_match_all_records(space, records, variant):
    assert len(records) == 500
    wrong = [r.id for r in records
             if space.num_params(r, variant) != r.raw[COUNT_FIELD[variant]]]
    assert wrong == []


def test_spec_worked_examples(records):
    by_id = {r.id: r for r in records}
    assert reference_num_params(by_id["1"].config) == 11_106_199
    assert as_trained_num_params(by_id["1"].config) == 9_920_512
    assert reference_num_params(by_id["88"].config) == 5_189_632  # smallest model
    assert as_trained_num_params(by_id["88"].config) == 4_369_408


def test_sample_spans_the_space(records):
    sample = records[:SAMPLE]
    layers = [layer for r in sample for layer in r.config["encoder_layers"]]
    assert {_op(layer) for layer in layers} == {"SA-SDP", "SA-WMA", "LT-DFT", "LT-DCT",
                                                "DSC-5", "DSC-9"}
    assert {r.config["hidden_size"] for r in sample} == {128, 256}
    assert {layer["num_operation_heads"] for layer in layers} == {2, 4}
    assert {layer["num_feed_forward"] for layer in layers} == {1, 3}
    assert {layer["feed_forward_dimension"] for layer in layers} == {512, 1024}


@pytest.mark.parametrize("variant", ["reference", "as-trained"])
def test_built_models_match_counts_sample(space, records, variant):
    for record in records[:SAMPLE]:
        model = space.build(record, variant, seed=0)
        assert _trainable(model) == record.raw[COUNT_FIELD[variant]], record.id


@pytest.mark.slow
@pytest.mark.parametrize("variant", ["reference", "as-trained"])
def test_built_models_match_counts_all(space, records, variant):
    wrong = []
    for record in records:
        if _trainable(space.build(record, variant, seed=0)) != record.raw[COUNT_FIELD[variant]]:
            wrong.append(record.id)
    assert wrong == []


def test_features(space, records):
    record = records[2]  # hidden_size 128, four layers
    ref = space.features(record, "reference")
    trained = space.features(record, "as-trained")
    assert ref == {"params": 8_840_082.0, "layers": 4.0, "hidden": 256.0}
    assert trained["hidden"] == 128.0 and trained["layers"] == 4.0
    assert trained["params"] == float(record.raw["num_parameters_as_trained"])
