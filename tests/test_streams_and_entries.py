"""Closed or hostile output streams and cache entries that are no file: a command that did its
work is not failed by a stream it cannot write, printed text cannot drive a terminal, and a
folder or a looping link where a cache entry goes is damage, recomputed with a warning."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
from cli_check import refused

from lpzero_gp.errors import printable
from lpzero_gp.score import baselines as BL
from lpzero_gp.stats.calibration import space_batch
from lpzero_gp.stats.store import StatsFileError, read_stats


def _shell(line: str) -> int:
    """Exit code of ``line`` run by bash, with the package's command as ``LPZ``."""
    return subprocess.run(["bash", "-c", line], check=False, timeout=120,
                          env={"LPZ": f"{sys.executable} -m lpzero_gp", "PATH": "/usr/bin:/bin"}
                          ).returncode


def test_a_closed_stdout_ends_quietly_with_141():
    assert _shell("$LPZ export --proxy gpt2-best >&-") == 141


def test_a_closed_stderr_never_turns_an_error_into_an_internal_one():
    assert _shell("$LPZ export --proxy 'agg_sum(nosuchop(W))' 2>&- >/dev/null") == 2
    assert _shell("$LPZ export --proxy gpt2-best 2>&- >/dev/null") == 0


def test_control_characters_in_a_path_are_escaped_and_never_cut_the_line(capsys):
    line = refused(capsys, ["eval", "--benchmark", "x\x1b]0;T\x07\nerror: fake.json",
                            "--proxy", "params"], "does not exist")
    assert "\\x1b]0;T\\x07\\nerror: fake.json" in line and "\x1b" not in line


def test_printable_escapes_controls_and_bidi_and_keeps_what_is_asked():
    assert printable("a\u202eb\x00c\td") == "a\\u202eb\\x00c\\td"
    assert printable("a\tb\nc", keep="\t\n") == "a\tb\nc"


def test_a_dask_address_of_another_scheme_is_one_line(capsys):
    refused(capsys, ["eval", "--archs", "3", "--proxy", "params", "--dask",
                     "http://127.0.0.1:9"], "'http' is not a Dask transport")


def test_a_looping_link_or_a_folder_in_place_of_statistics_is_damage(tmp_path):
    loop = tmp_path / "a.safetensors"
    loop.symlink_to(loop)
    with pytest.raises(StatsFileError, match="a link that leads to no file"):
        read_stats(loop)
    (tmp_path / "b.safetensors").mkdir()
    with pytest.raises(StatsFileError, match="a folder"):
        read_stats(tmp_path / "b.safetensors")
    assert read_stats(tmp_path / "none.safetensors") is None


def test_a_folder_in_place_of_a_baseline_score_is_recomputed(tmp_path):
    from faulty_space import ToySpace

    from lpzero_gp.stats.extract import ExtractConfig

    space = ToySpace()
    records, batch = space.load_records(), space_batch(space.calibration, 2, 8)
    cfg = ExtractConfig("toy", "default")

    def scores():
        got = BL.score_many(space, records, batch, cfg, ["params"], cache_dir=str(tmp_path))
        return [(r.id, r.scores) for r in got]

    first = scores()
    path = BL.cache_file(BL.cache_folder(tmp_path, cfg, batch), records[0].id,
                         space.record_digest(records[0]))
    path.unlink()
    (path / "inside").mkdir(parents=True)
    with pytest.warns(UserWarning, match="a folder, not a file"):
        assert scores() == first
    assert path.is_file()  # the folder gave way to the recomputed entry
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert scores() == first


def test_a_full_disk_behind_stdout_is_one_line_naming_stdout():
    proc = subprocess.run(["bash", "-c", "$LPZ export --proxy gpt2-best > /dev/full"],
                          capture_output=True, text=True, check=False, timeout=120,
                          env={"LPZ": f"{sys.executable} -m lpzero_gp", "PATH": "/usr/bin:/bin"})
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip() == ("error: cannot write to standard output: No space left on "
                                   "device")


def test_a_pipe_given_as_a_proxy_is_named_as_such(tmp_path, capsys, monkeypatch):
    import os

    monkeypatch.chdir(tmp_path)
    os.mkfifo("ff")
    refused(capsys, ["export", "--proxy", "ff"], "ff: not a proxy, and not a regular file")


def test_a_looping_link_as_a_cache_folder_is_named(tmp_path):
    from lpzero_gp.errors import ResultsError
    from lpzero_gp.stats.cache import write_key

    loop = tmp_path / "entry"
    loop.symlink_to(loop)
    with pytest.raises(ResultsError, match="symbolic link that leads to no folder"):
        write_key(loop, {"a": 1})


def test_a_baseline_score_entry_that_is_no_json_says_why(tmp_path):
    path = tmp_path / "x.json"
    path.write_text('{"a": 1, "a": 2}')
    folder, arch, digest = tmp_path, "x", "d"
    target = BL.cache_file(folder, arch, digest)
    target.write_text('{"a": 1, "a": 2}')
    with pytest.raises(BL.ScoresFileError, match="repeated|duplicate"):
        BL.read_cached(folder, arch, digest)


def test_resuming_an_eval_folder_says_it_is_not_a_run(tmp_path, capsys):
    folder = tmp_path / "ev"
    folder.mkdir()
    (folder / "summary.json").write_text("{}")
    (folder / "scores.csv").write_text("id,score\n")
    refused(capsys, ["run", "--resume", str(folder)], "results of another command",
            "nothing to resume")


def test_cache_clear_removes_a_linked_entry_not_what_it_points_at(tmp_path):
    from lpzero_gp.stats.cache import clear, info

    root, elsewhere = tmp_path / "cache", tmp_path / "mine"
    (elsewhere / "keep").mkdir(parents=True)
    (elsewhere / "keep" / "a.txt").write_text("x")
    root.mkdir()
    linked = root / ("0" * 20)
    linked.symlink_to(elsewhere, target_is_directory=True)
    assert [e["files"] for e in info(root)["entries"]] == [0]
    assert clear(root)["files"] == 0
    assert not os.path.lexists(linked) and (elsewhere / "keep" / "a.txt").is_file()


def test_a_string_form_op_under_sympy_operators_gets_a_hint(capsys):
    line = refused(capsys, ["export", "--proxy", "agg_mean(mean(W))**2"],
                   "unknown function 'mean'", "proxy strings, which have no operators",
                   "square(x), not x**2")
    assert "Mean(W)**2" in line


def test_a_closed_stderr_does_not_stop_a_command_that_shows_progress(tmp_path):
    """The bars of a cold run have nowhere to go: the command still writes its results.
    One generation of 8 on 3 + 3 FlexiBERT architectures is enough: the bars are those of
    extraction and of the search (a space that loads no transformers keeps the process short)."""
    out = tmp_path / "rs"
    script = shutil.which("lpzero-gp", path=str(Path(sys.executable).parent)) or shutil.which(
        "lpzero-gp")  # the installed command: its start-up opens files Python's -m does not
    if script is None:
        pytest.skip("the lpzero-gp command is not installed")
    line = (f"cd {tmp_path} && {script} run --search-archs 3 --heldout 3 --population 8 "
            f"--offspring 8 --evaluations 8 --batch-size 2 --seq-len 16 --cache-dir "
            f"{tmp_path / 'c'} --out {out} 2>&- >/dev/null")
    assert _shell(line) == 0
    assert (out / "summary.json").is_file()
