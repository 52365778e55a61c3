"""Statistics-cache entries are keyed by what defines the statistics, not by record id alone.

For every space: the same record is a cache hit (no model built), and a record whose config
changed under the same id is recomputed and scores differently. The key also holds the
space's model-code version and the content of the files a record or the space's options point
at. Also here: a cache folder that is a symlink loop, and a statistics file replaced by a folder.
"""

from __future__ import annotations

import json
import os
import shutil
import warnings
from dataclasses import replace
from pathlib import Path

import pytest

from lpzero_gp.cli import main
from lpzero_gp.errors import ResultsError
from lpzero_gp.score.scoring import score_stats
from lpzero_gp.spaces import get_space
from lpzero_gp.spaces.base import Record, path_digest
from lpzero_gp.stats.calibration import space_batch
from lpzero_gp.stats.extract import ExtractConfig, Extractor

PLUGIN = Path(__file__).resolve().parent / "plugin"
PROXY = "agg_mean(l1(W))"


def _extract(space, records, cache: Path, seq_len: int = 16) -> tuple[Extractor, list]:
    """A fresh extractor (as a new command makes) on ``cache``, and its statistics."""
    batch = space_batch(space.calibration, 2, seq_len)
    cfg = ExtractConfig(space.name, space.default_variant)
    ex = Extractor(space, cfg, batch, cache, progress=False)
    return ex, ex.stats(records)


def _hit_then_changed(space, record: Record, changed: dict, cache: Path) -> None:
    """The same record is loaded without a build; ``changed`` under its id is built again and
    scores differently; the original is still a hit afterwards."""
    first, [st] = _extract(space, [record], cache)
    assert (first.built, first.loaded) == (1, 0)
    again, [st2] = _extract(space, [record], cache)
    assert (again.built, again.loaded) == (0, 1)  # no model built
    assert score_stats(PROXY, [st2]) == pytest.approx(score_stats(PROXY, [st]))
    edited = Record(record.id, changed, record.truth)
    other, [st3] = _extract(space, [edited], cache)
    assert (other.built, other.loaded) == (1, 0)  # recomputed, not served by id
    assert score_stats(PROXY, [st3])[0] != pytest.approx(score_stats(PROXY, [st])[0])
    back, _ = _extract(space, [record], cache)
    assert (back.built, back.loaded) == (0, 1)


def _smallest(space) -> Record:
    records = space.load_records(None)
    return min(records, key=lambda r: space.num_params(r, space.default_variant))


def test_flexibert_key_follows_the_config(tmp_path):
    space = get_space("flexibert")
    record = _smallest(space)
    changed = {**record.config, "encoder_layers": record.config["encoder_layers"][:1]}
    _hit_then_changed(space, record, changed, tmp_path / "cache")


def test_gpt2_key_follows_the_config(tmp_path):
    space = get_space("gpt2")
    record = _smallest(space)
    changed = {**record.config, "d_inner": [c // 2 for c in record.config["d_inner"]]}
    _hit_then_changed(space, record, changed, tmp_path / "cache")


def _gpt2(layers: int, width: int) -> dict:
    return {"model_type": "gpt2", "n_layer": layers, "n_embd": width, "n_head": 4,
            "vocab_size": 6500, "n_positions": 32, "bos_token_id": 1, "eos_token_id": 1}


def test_hf_key_follows_the_config(tmp_path):
    space = get_space("hf")
    record = Record("gpt2-a", _gpt2(1, 32), 1.0)
    _hit_then_changed(space, record, _gpt2(4, 128), tmp_path / "cache")


def test_llama_key_follows_the_config(tmp_path):
    """Records of a small benchmark file of the tiny model; the second one's config under the
    first one's id stands for an edited record."""
    space = get_space("llama", model="tiny")
    configs = space.lonas().sample_distinct(3, 0)
    bench = tmp_path / "bench.json"
    bench.write_text(json.dumps([{"config": list(c), "accuracy": 0.1 * i}
                                 for i, c in enumerate(configs)]))
    a, b, _ = space.load_records(str(bench))
    _hit_then_changed(space, a, b.config, tmp_path / "cache")


def test_llama_key_follows_the_checkpoint_files(tmp_path):
    """A checkpoint folder's content is part of every record's key: an unchanged folder keeps
    the key, an edited file (same size) or a new file changes it."""
    folder = tmp_path / "ckpt"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({"model_type": "llama"}))
    (folder / "model.safetensors").write_bytes(b"\0" * 4096)
    (folder / ".cache").mkdir()  # hidden: not part of the digest
    record = Record("r", {"subnet": [0, 1]}, 0.0)

    def digest() -> str:
        space = get_space("llama", model="tiny")
        space.options["model"] = str(folder)  # a folder the checks accept, without a load
        return space.record_digest(record)

    before = digest()
    assert digest() == before
    (folder / ".cache" / "lock").write_text("x")
    assert digest() == before
    (folder / "model.safetensors").write_bytes(b"\1" + b"\0" * 4095)
    edited = digest()
    assert edited != before
    (folder / "tokenizer.json").write_text("{}")
    assert digest() != edited
    tiny = get_space("llama", model="tiny")
    assert tiny.record_digest(record) != before  # the files are part of it


def test_large_files_are_digested_by_a_sample(tmp_path, monkeypatch):
    """Past the whole-file limit a file counts by size, time and both ends: an edit at either
    end or a new time changes it, and only the two ends are read."""
    from lpzero_gp.spaces import base

    monkeypatch.setattr(base, "FULL_HASH_BYTES", 64)
    monkeypatch.setattr(base, "SAMPLE_BYTES", 16)
    path = tmp_path / "weights.gguf"
    path.write_bytes(bytes(range(200)))
    os.utime(path, ns=(1, 1))
    first = path_digest(path)
    data = bytearray(path.read_bytes())
    data[100] ^= 0xFF  # the middle: not read
    path.write_bytes(bytes(data))
    os.utime(path, ns=(1, 1))
    assert path_digest(path) == first
    data[-1] ^= 0xFF
    path.write_bytes(bytes(data))
    os.utime(path, ns=(1, 1))
    edited = path_digest(path)
    assert edited != first
    os.utime(path, ns=(2, 2))
    assert path_digest(path) != edited
    assert path_digest(tmp_path / "missing") != path_digest(tmp_path / "other")


def test_toy_plugin_key_follows_the_config(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(PLUGIN))
    from toyspace import ToySpace

    space = ToySpace()
    record = space.load_records()[0]
    _hit_then_changed(space, record, {**record.config, "depth": 2}, tmp_path / "cache")


def test_truth_and_key_order_keep_the_entry(tmp_path):
    """Only what defines the statistics is in the key: a new truth or another key order of the
    same config still hits."""
    space = get_space("hf")
    record = Record("gpt2-a", _gpt2(1, 32), 1.0)
    _extract(space, [record], tmp_path)
    reordered = dict(reversed(list(record.config.items())))
    ex, _ = _extract(space, [Record(record.id, reordered, 7.0)], tmp_path)
    assert (ex.built, ex.loaded) == (0, 1)


def test_code_version_is_part_of_the_key(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(PLUGIN))
    from toyspace import ToySpace

    space = ToySpace()
    record = space.load_records()[0]
    first, _ = _extract(space, [record], tmp_path)
    monkeypatch.setattr(ToySpace, "code_version", "2")
    bumped, _ = _extract(space, [record], tmp_path)
    assert bumped.built == 1 and bumped.cache != first.cache
    key = json.loads((bumped.cache / "key.json").read_text())
    assert key["code_version"] == "2"


def _eval(bench: Path, cache: Path, capsys) -> dict:
    argv = ["eval", "--space", "hf", "--benchmark", bench, "--archs", "all", "--proxy",
            "params", "--proxy", PROXY, "--batch-size", "2", "--seq-len", "16", "--json",
            "--quiet", "--cache-dir", cache]
    assert main([str(a) for a in argv]) == 0
    data = json.loads(capsys.readouterr().out)
    return {"stats": data["statistics"], **{r["proxy"]: r for r in data["results"]}}


def test_edited_benchmark_record_is_recomputed_end_to_end(tmp_path, capsys):
    """The reported case: record gpt2-a of an hf file goes from 1 x 32 to 4 x 128 under the
    same id; its statistics are recomputed and the proxy's scores change."""
    configs = {"gpt2-a": _gpt2(1, 32), "gpt2-b": _gpt2(2, 32), "gpt2-c": _gpt2(1, 64)}
    bench = tmp_path / "bench.json"

    def write() -> None:
        bench.write_text(json.dumps({"higher_is_better": False, "truth_label": "loss",
                                     "records": [{"id": k, "config": c, "truth": 3.0 + i}
                                                 for i, (k, c) in enumerate(configs.items())]}))

    write()
    first = _eval(bench, tmp_path / "cache", capsys)
    assert first["stats"]["models_built"] == 3
    again = _eval(bench, tmp_path / "cache", capsys)
    assert (again["stats"]["models_built"], again["stats"]["loaded_from_cache"]) == (0, 3)
    configs["gpt2-a"] = _gpt2(4, 128)
    write()
    edited = _eval(bench, tmp_path / "cache", capsys)
    assert (edited["stats"]["models_built"], edited["stats"]["loaded_from_cache"]) == (1, 2)
    assert edited["params"]["rho"] != first["params"]["rho"]
    assert edited[PROXY]["rho"] != first[PROXY]["rho"]


# -- robustness ---------------------------------------------------------------------------------


@pytest.mark.parametrize("how", ["option", "environment"])
def test_symlink_loop_cache_folder_is_one_line(tmp_path, capsys, monkeypatch, how):
    loop = tmp_path / "loop"
    loop.symlink_to(loop)
    monkeypatch.delenv("LPZERO_GP_NO_CACHE", raising=False)
    argv = ["cache", "info"]
    if how == "option":
        argv += ["--cache-dir", str(loop)]
    else:
        monkeypatch.setenv("LPZERO_GP_CACHE_DIR", str(loop))
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and str(loop) in err[0] and "symlink loop" in err[0], err


def _toy(monkeypatch):
    monkeypatch.syspath_prepend(str(PLUGIN))
    from toyspace import ToySpace

    space = ToySpace()
    return space, space.load_records()[:3]


def test_statistics_file_replaced_by_a_folder_is_recomputed(tmp_path, monkeypatch):
    space, records = _toy(monkeypatch)
    first, stats = _extract(space, records, tmp_path)
    victim = sorted(first.cache.glob("*.safetensors"))[0]
    victim.unlink()
    (victim / "inside").mkdir(parents=True)
    with pytest.warns(UserWarning, match="1 statistics cache entry .* damaged: .*a folder, "
                                         "not a file.*recomputing"):
        ex, again = _extract(space, records, tmp_path)
    assert (ex.built, ex.loaded) == (1, 2)
    assert victim.is_file()
    assert [score_stats(PROXY, [s])[0] for s in again] == pytest.approx(
        [score_stats(PROXY, [s])[0] for s in stats])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ex, _ = _extract(space, records, tmp_path)
    assert (ex.built, ex.loaded) == (0, 3)


def test_folder_that_cannot_be_replaced_is_one_line(tmp_path, monkeypatch):
    space, records = _toy(monkeypatch)
    first, _ = _extract(space, records[:1], tmp_path)
    [victim] = first.cache.glob("*.safetensors")
    victim.unlink()
    victim.mkdir()

    def refuse(path, *args, **kwargs):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(shutil, "rmtree", refuse)
    with pytest.warns(UserWarning, match="a folder, not a file"), \
            pytest.raises(ResultsError, match=f"cannot replace the folder {victim}"):
        _extract(space, records[:1], tmp_path)


def test_the_extractor_takes_the_code_version_from_its_space(monkeypatch):
    space, _ = _toy(monkeypatch)
    cfg = ExtractConfig(space.name, "default")
    batch = space_batch(space.calibration, 2, 16)
    ex = Extractor(space, replace(cfg, code_version="stale"), batch, progress=False)
    assert ex.cfg.code_version == space.code_version
