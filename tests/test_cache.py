"""The default statistics cache: where it lives, reuse across commands, ``lpzero-gp cache``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from run_check import cli

from lpzero_gp.lock import FolderLock, lock_file
from lpzero_gp.spaces import get_space
from lpzero_gp.stats import cache as stats_cache

EVAL = ["eval", "--archs", "4", "--batch-size", "2", "--seq-len", "16", "--quiet", "--json"]



def test_resolution_order(monkeypatch, tmp_path):
    monkeypatch.delenv(stats_cache.ENV_OFF, raising=False)
    monkeypatch.delenv(stats_cache.ENV_DIR, raising=False)
    assert stats_cache.resolve() == stats_cache.default_root()
    assert stats_cache.source() == "platform default"
    monkeypatch.setenv(stats_cache.ENV_DIR, str(tmp_path / "env"))
    assert stats_cache.resolve() == tmp_path / "env"
    assert stats_cache.resolve(tmp_path / "given") == tmp_path / "given"
    monkeypatch.setenv(stats_cache.ENV_OFF, "1")
    assert stats_cache.resolve() is None
    assert stats_cache.resolve(tmp_path / "given") == tmp_path / "given"  # explicit wins
    assert stats_cache.resolve(tmp_path / "given", no_cache=True) is None


@pytest.fixture
def counted_builds(monkeypatch):
    """Architecture ids built, in order, by the FlexiBERT space."""
    cls = type(get_space("flexibert"))
    build, built = cls.build, []

    def counting(self, record, variant, seed):
        built.append(record.id)
        return build(self, record, variant, seed)

    monkeypatch.setattr(cls, "build", counting)
    return built


def test_second_eval_builds_no_model(monkeypatch, tmp_path, capsys, counted_builds):
    monkeypatch.delenv(stats_cache.ENV_OFF)
    monkeypatch.setenv(stats_cache.ENV_DIR, str(tmp_path / "cache"))
    assert cli(*EVAL, "--proxy", "agg_mean(l1(W))") == 0
    first = json.loads(capsys.readouterr().out)
    assert len(counted_builds) == 4
    assert cli(*EVAL, "--proxy", "agg_sum(fro(G))") == 0  # a new proxy: statistics reused
    second = json.loads(capsys.readouterr().out)
    assert len(counted_builds) == 4
    assert first["results"][0]["n"] == second["results"][0]["n"] == 4
    assert cli(*EVAL, "--proxy", "agg_sum(fro(G))", "--no-cache") == 0
    assert len(counted_builds) == 8  # --no-cache: built again


def test_cache_info_and_clear(monkeypatch, tmp_path, capsys):
    root = tmp_path / "cache"
    monkeypatch.delenv(stats_cache.ENV_OFF)
    monkeypatch.setenv(stats_cache.ENV_DIR, str(root))
    assert cli(*EVAL, "--proxy", "agg_mean(l1(W))") == 0
    capsys.readouterr()
    (root / "notes.txt").write_text("mine")
    assert cli("cache", "info", "--json") == 0
    info = json.loads(capsys.readouterr().out)
    assert info["root"] == str(root) and info["source"] == f"${stats_cache.ENV_DIR}"
    [entry] = info["entries"]
    assert entry["key"]["space"] == "flexibert" and entry["files"] == 5  # 4 + key.json
    assert info["bytes"] > 0
    assert cli("cache", "info") == 0
    text = capsys.readouterr().out
    assert str(root) in text and "space=flexibert" in text
    assert cli("cache", "clear", "--space", "gpt2") == 0
    assert "removed 0 files" in capsys.readouterr().out
    assert cli("cache", "clear") == 0
    assert "removed 5 files" in capsys.readouterr().out
    assert sorted(p.name for p in root.iterdir()) == ["notes.txt"]  # not the cache's: kept


def test_cache_off(monkeypatch, capsys):
    assert cli("cache", "info") == 0  # the test session turns the cache off
    assert "off" in capsys.readouterr().out


def test_folder_lock_is_reentrant_and_leaves_nothing(tmp_path):
    target = tmp_path / "results"
    with FolderLock(target), FolderLock(target):
        assert lock_file(target).is_file()
        assert int(lock_file(target).read_text()) > 0
    assert not lock_file(target).exists()
    assert list(Path(tmp_path).iterdir()) == []
