"""An ``hf`` record's config may be a path: a ``save_pretrained`` folder or a JSON config file.

A relative path is read from the benchmark file's folder (not the working folder); the config
read is the record's config, so its statistics-cache key follows the file's content. A missing
or bad path is one line naming the record and the path. The models are tiny GPT-2 decoders; the
end-to-end check builds three of them, twice.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from transformers import AutoConfig

from lpzero_gp.cli import main
from lpzero_gp.errors import SpaceError
from lpzero_gp.spaces import get_space
from lpzero_gp.spaces.base import config_digest

PROXY = "agg_mean(l1(W))"


def _gpt2(layers: int, width: int) -> dict:
    return {"model_type": "gpt2", "n_layer": layers, "n_embd": width, "n_head": 4,
            "vocab_size": 6500, "n_positions": 32, "bos_token_id": 1, "eos_token_id": 1}


def _save(folder: Path, config: dict) -> Path:
    """``config`` written by transformers' own ``save_pretrained`` into ``folder``."""
    fields = {k: v for k, v in config.items() if k != "model_type"}
    AutoConfig.for_model(config["model_type"], **fields).save_pretrained(folder)
    return folder


def _bench(path: Path, configs: dict) -> Path:
    path.write_text(json.dumps({"higher_is_better": False, "truth_label": "loss",
                                "records": [{"id": k, "config": c, "truth": 3.0 + i}
                                            for i, (k, c) in enumerate(configs.items())]}))
    return path


@pytest.fixture
def models(tmp_path) -> Path:
    """A benchmark file beside a ``models/`` folder: one save_pretrained folder, one plain JSON
    config file, and one inline config."""
    root = tmp_path / "project"
    _save(root / "models" / "a", _gpt2(1, 32))
    (root / "models" / "b.json").write_text(json.dumps(_gpt2(2, 32)))
    return _bench(root / "bench.json", {"a": "models/a", "b": "models/b.json",
                                        "c": _gpt2(1, 64)})


def test_a_path_reads_the_config_relative_to_the_benchmark_file(models, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # not the benchmark's folder
    space = get_space("hf")
    a, b, c = space.load_records(str(models))
    assert (a.config["n_layer"], a.config["n_embd"]) == (1, 32)  # the saved folder's config
    assert "transformers_version" in a.config and a.raw["config"] == "models/a"
    assert b.config == _gpt2(2, 32) and c.config == _gpt2(1, 64)
    assert space.features(a, "default")["layers"] == 1.0
    assert space.record_digest(b) == config_digest(_gpt2(2, 32))  # the config read counts
    absolute = _bench(tmp_path / "elsewhere.json",
                      {"a": str(models.parent / "models" / "a"), "c": _gpt2(1, 64)})
    assert space.load_records(str(absolute))[0].config == a.config


def test_the_cache_key_follows_the_referenced_config(models, tmp_path, capsys):
    """Edited under the same id and path, a record's statistics are recomputed."""
    def run() -> dict:
        argv = ["eval", "--space", "hf", "--benchmark", models, "--archs", "all", "--proxy",
                PROXY, "--batch-size", "2", "--seq-len", "16", "--json", "--quiet",
                "--cache-dir", tmp_path / "cache"]
        assert main([str(x) for x in argv]) == 0
        return json.loads(capsys.readouterr().out)["statistics"]

    first = run()
    assert first["models_built"] == 3
    again = run()
    assert (again["models_built"], again["loaded_from_cache"]) == (0, 3)
    _save(models.parent / "models" / "a", _gpt2(3, 32))  # the folder's config.json changes
    (models.parent / "models" / "b.json").write_text(json.dumps(_gpt2(2, 64)))
    edited = run()
    assert (edited["models_built"], edited["loaded_from_cache"]) == (2, 1)


@pytest.mark.parametrize(("config", "fragment"), [
    ("missing", "record z: config path missing (in "),
    ("empty", "record z: config folder empty (in "),
    ("list.json", "record z: config file "),
    ("bad.json", "record z: config file "),
    ("huge.json", "record z (config file "),
    ("", "record z: 'config' is an empty path"),
])
def test_a_bad_path_is_one_line_naming_the_record_and_the_path(tmp_path, capsys, config,
                                                               fragment):
    (tmp_path / "empty").mkdir()
    (tmp_path / "list.json").write_text("[1, 2]")
    (tmp_path / "bad.json").write_text("{not json")
    (tmp_path / "huge.json").write_text(json.dumps({**_gpt2(1, 32), "n_layer": 10**6}))
    bench = _bench(tmp_path / "bench.json", {"z": config, "c": _gpt2(1, 64)})
    with pytest.raises(SpaceError, match=None) as err:
        get_space("hf").load_records(str(bench))
    assert fragment in str(err.value)
    if config:
        assert config in str(err.value)
    assert main(["eval", "--space", "hf", "--benchmark", str(bench), "--proxy", "params",
                 "--quiet"]) == 2
    lines = [x for x in capsys.readouterr().err.splitlines() if x.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: record z") and fragment in lines[0]
