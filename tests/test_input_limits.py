"""Huge or odd inputs are refused in one line before any work: model folders, GGUF files, hf
benchmark files and their records, calibration text, proxy files and Dask addresses."""

from __future__ import annotations

import json
import socket
import struct
import threading
import time

import pytest
from cli_check import refused

from lpzero_gp.errors import CalibrationError, ParallelError, ProxyError, SpaceError
from lpzero_gp.parallel import check_scheduler
from lpzero_gp.proxy.read import read_proxy
from lpzero_gp.spaces.hf import records as hf_records
from lpzero_gp.spaces.llama import checkpoints
from lpzero_gp.stats.text import MAX_TEXT_MB_ENV, load_text

TINY_LLAMA = {"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2,
              "num_attention_heads": 4, "num_key_value_heads": 4, "vocab_size": 300,
              "max_position_embeddings": 64}


def _llama_folder(path, weights: bool = False, **changes):
    """A Llama checkpoint folder (weights of TINY_LLAMA when asked) whose config.json is then
    edited with ``changes``."""
    from transformers import LlamaConfig, LlamaForCausalLM

    path.mkdir()
    config = LlamaConfig(**TINY_LLAMA)
    if weights:
        LlamaForCausalLM(config).save_pretrained(path)
    else:
        config.save_pretrained(path)
    data = json.loads((path / "config.json").read_text())
    data.update(changes)
    (path / "config.json").write_text(json.dumps(data))
    return path


# -- model folders and GGUF files ---------------------------------------------------------------

def test_a_folder_of_100000_layers_is_refused_before_any_build(tmp_path):
    folder = _llama_folder(tmp_path / "deep", num_hidden_layers=100_000)
    start = time.monotonic()
    with pytest.raises(SpaceError, match=r"num_hidden_layers must be an integer in 1\.\.1024, "
                                         r"got 100000"):
        checkpoints.load_config(checkpoints.resolve(str(folder)))
    assert time.monotonic() - start < 30


def test_the_llama_space_refuses_a_deep_folder_in_one_line(tmp_path, capsys):
    folder = _llama_folder(tmp_path / "deep", weights=True, num_hidden_layers=100_000)
    refused(capsys, ["run", "--space", "llama", "--space-option", f"model={folder}",
                     "--budget", "quick", "--out", tmp_path / "out"],
            "num_hidden_layers", "1..1024", "100000")


def test_a_vocabulary_of_a_billion_is_refused_before_the_load(tmp_path, capfd):
    folder = _llama_folder(tmp_path / "wide", weights=True, vocab_size=10 ** 9)
    with pytest.raises(SpaceError, match="vocab_size must be an integer"):
        checkpoints.load_config(checkpoints.resolve(str(folder)))
    assert "LOAD REPORT" not in capfd.readouterr().err


def test_the_transformers_load_report_is_one_line(tmp_path, capfd):
    """Weights that do not fit the config: transformers' report table becomes a summary in
    our one error line, and nothing of it reaches the terminal."""
    import torch

    folder = _llama_folder(tmp_path / "mismatch", weights=True, vocab_size=400)
    with pytest.raises(SpaceError) as info:
        checkpoints.load_model(checkpoints.resolve(str(folder)), torch.float32)
    message = str(info.value)
    assert "\n" not in message and str(folder) in message
    assert "load report: 2 mismatched weight tensor(s)" in message
    err = capfd.readouterr()
    assert "LOAD REPORT" not in err.err + err.out and "MISMATCH" not in err.err + err.out


def _gguf_header(path, version: int = 3, tensors: int = 0, entries: int = 0) -> None:
    path.write_bytes(b"GGUF" + struct.pack("<IQQ", version, tensors, entries) + b"\0" * 64)


def test_a_gguf_header_declaring_absurd_counts_is_refused(tmp_path):
    pytest.importorskip("gguf")
    bad = tmp_path / "huge.gguf"
    _gguf_header(bad, tensors=1 << 40)
    with pytest.raises(SpaceError, match="1,099,511,627,776 tensors"):
        checkpoints.resolve(str(bad))
    fake = tmp_path / "fake.gguf"
    fake.write_bytes(b"not a model at all, but long enough to hold a header")
    with pytest.raises(SpaceError, match="not a GGUF file"):
        checkpoints.resolve(str(fake))


def test_a_gguf_of_100000_blocks_is_refused_before_any_build(tmp_path):
    gguf = pytest.importorskip("gguf")
    path = tmp_path / "deep.gguf"
    w = gguf.GGUFWriter(str(path), "llama")
    w.add_context_length(64)
    w.add_embedding_length(32)
    w.add_feed_forward_length(64)
    w.add_block_count(100_000)
    w.add_head_count(4)
    w.add_head_count_kv(4)
    w.add_layer_norm_rms_eps(1e-6)
    w.add_vocab_size(8)
    w.add_tokenizer_model("gpt2")
    w.add_token_list([f"t{i}" for i in range(8)])
    w.add_token_types([1] * 8)
    w.add_token_merges([])
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    with pytest.raises(SpaceError, match=r"num_hidden_layers must be an integer in 1\.\.1024"):
        checkpoints.load_config(checkpoints.resolve(str(path)))


def test_a_gguf_tokenizer_that_is_no_gguf_file_is_one_line(capsys):
    refused(capsys, ["eval", "--space", "gpt2", "--proxy", "params", "--archs", "3",
                     "--no-cache", "--tokenizer", "/dev/null"], "/dev/null")


# -- hf benchmark files ------------------------------------------------------------------------

def _hf_file(path, n: int, pad: int = 0) -> str:
    rows = [{"id": f"r{i}", "config": {"model_type": "gpt2", "n_layer": 1 + i % 2, "n_embd": 32,
                                       "n_head": 4, "vocab_size": 300, "n_positions": 64,
                                       "note": "x" * pad},
             "truth": float(i)} for i in range(n)]
    path.write_text(json.dumps({"higher_is_better": True, "records": rows}))
    return str(path)


def test_a_large_benchmark_file_is_refused_before_it_is_read(tmp_path, monkeypatch, capsys):
    path = _hf_file(tmp_path / "big.json", 400, pad=6000)  # about 2.4 MiB
    monkeypatch.setenv(hf_records.MAX_BENCHMARK_MB_ENV, "1")
    with pytest.raises(SpaceError, match="over the 1 MiB limit .*LPZERO_GP_MAX_BENCHMARK_MB"):
        hf_records.load_benchmark(path)
    refused(capsys, ["eval", "--space", "hf", "--benchmark", path, "--proxy", "params"],
            "MiB limit", "LPZERO_GP_MAX_BENCHMARK_MB=MB")
    monkeypatch.setenv(hf_records.MAX_BENCHMARK_MB_ENV, "8")  # raised: the file reads
    monkeypatch.setenv(hf_records.MAX_RECORDS_ENV, "1000")
    assert len(hf_records.load_benchmark(path).records) == 400


def test_too_many_records_are_refused_before_any_is_built(tmp_path, monkeypatch):
    path = _hf_file(tmp_path / "many.json", 50)
    monkeypatch.setenv(hf_records.MAX_RECORDS_ENV, "49")
    monkeypatch.setattr(hf_records, "measure", lambda *a: pytest.fail("built a record"))
    with pytest.raises(SpaceError, match="50 records, over the limit of 49 .*"
                                         "LPZERO_GP_MAX_RECORDS=N"):
        hf_records.load_benchmark(path)


def test_the_default_record_limit_stops_a_million_records(tmp_path):
    rows = [{"id": i, "config": {"model_type": "gpt2"}, "truth": 1.0}
            for i in range(hf_records.MAX_RECORDS + 1)]
    path = tmp_path / "million.json"
    path.write_text(json.dumps({"higher_is_better": True, "records": rows}))
    with pytest.raises(SpaceError, match="10,001 records, over the limit of 10,000"):
        hf_records.load_benchmark(str(path))


def test_a_bad_limit_variable_is_one_line(tmp_path, monkeypatch, capsys):
    path = _hf_file(tmp_path / "b.json", 3)
    monkeypatch.setenv(hf_records.MAX_RECORDS_ENV, "lots")
    refused(capsys, ["eval", "--space", "hf", "--benchmark", path, "--proxy", "params"],
            "LPZERO_GP_MAX_RECORDS", "positive whole number")


def test_reading_many_records_shows_a_progress_line(tmp_path, monkeypatch, capsys):
    path = _hf_file(tmp_path / "p.json", 6)
    monkeypatch.setattr(hf_records, "_PROGRESS_AFTER_S", 0.0)
    bench = hf_records.load_benchmark(path)
    assert len(bench.shapes) == 6
    assert "reading p.json" in capsys.readouterr().err


def test_a_benchmark_that_is_a_device_is_refused(capsys):
    refused(capsys, ["eval", "--space", "hf", "--benchmark", "/dev/zero", "--proxy", "params"],
            "/dev/zero", "not a regular file")


# -- calibration text and proxy files ----------------------------------------------------------

def test_text_from_a_device_is_not_called_missing(capsys):
    with pytest.raises(CalibrationError, match="/dev/zero is not a regular file"):
        load_text("/dev/zero")
    refused(capsys, ["eval", "--space", "flexibert", "--proxy", "params", "--archs", "3",
                     "--no-cache", "--text", "/dev/zero"], "/dev/zero", "not a regular file")


def test_a_text_over_the_limit_names_it_and_its_variable(tmp_path, monkeypatch):
    path = tmp_path / "big.txt"
    path.write_text("words and more words\n" * 100_000)  # about 2 MiB
    monkeypatch.setenv(MAX_TEXT_MB_ENV, "1")
    with pytest.raises(CalibrationError, match="over the 1 MiB limit .*LPZERO_GP_MAX_TEXT_MB"):
        load_text(str(path))
    monkeypatch.setenv(MAX_TEXT_MB_ENV, "4")
    assert load_text(str(path)).startswith("words")


def test_an_unreadable_proxy_file_names_the_path(capsys):
    with pytest.raises(ProxyError, match="/proc/self/mem"):
        read_proxy("/proc/self/mem")
    refused(capsys, ["export", "--proxy", "/proc/self/mem"], "/proc/self/mem",
            "Input/output error")
    refused(capsys, ["export", "--proxy", "/dev/zero"], "/dev/zero", "not a regular file")


def test_an_os_error_without_a_file_name_still_names_the_path(tmp_path):
    from lpzero_gp.cli import _os_error_path

    def read(path):
        raise OSError(5, "Input/output error")

    try:
        read(str(tmp_path / "x"))
    except OSError as exc:
        assert _os_error_path(exc) == str(tmp_path / "x")
    assert _os_error_path(OSError(5, "Input/output error", "/some/file")) == "/some/file"


# -- Dask addresses ----------------------------------------------------------------------------

class _Server:
    """A TCP server on 127.0.0.1 that answers every connection with ``reply`` (None: says
    nothing), then waits for the peer to go."""

    def __init__(self, reply: bytes | None):
        self.reply = reply
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.address = f"127.0.0.1:{self.sock.getsockname()[1]}"
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._answer, args=(conn,), daemon=True).start()

    def _answer(self, conn: socket.socket) -> None:
        with conn:
            try:
                if self.reply is not None:
                    conn.sendall(self.reply)
                conn.settimeout(5)
                conn.recv(1 << 16)
            except OSError:
                pass

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def garbage():
    server = _Server(b"HTTP/1.0 200 OK\r\n\r\nhello, this is not a scheduler" * 4)
    yield server
    server.close()


def test_an_address_that_answers_garbage_is_no_scheduler(garbage):
    with pytest.raises(ParallelError, match="does not answer as a Dask scheduler .*claims"):
        check_scheduler(garbage.address)
    with pytest.raises(ParallelError, match="does not answer"):
        check_scheduler(f"tcp://{garbage.address}")


def test_a_silent_or_closing_server_is_no_scheduler():
    silent = _Server(None)
    try:
        start = time.monotonic()
        with pytest.raises(ParallelError, match="no handshake within 0.5 s"):
            check_scheduler(silent.address, timeout=0.5)
        assert time.monotonic() - start < 5
    finally:
        silent.close()
    short = _Server(struct.pack("<Q", 100) + b"\0" * 10)  # says 100 bytes, sends 10
    try:
        with pytest.raises(ParallelError, match="does not answer"):
            check_scheduler(short.address, timeout=0.5)
    finally:
        short.close()


def test_a_garbage_dask_address_is_one_line_exit_2(garbage, capsys):
    pytest.importorskip("distributed")
    refused(capsys, ["eval", "--space", "flexibert", "--proxy", "params", "--archs", "3",
                     "--no-cache", "--dask", garbage.address],
            garbage.address, "does not answer as a Dask scheduler")


def test_a_bad_dask_address_is_one_line():
    with pytest.raises(ParallelError, match="tcp://HOST:8786"):
        check_scheduler("tcp://127.0.0.1:notaport")


def test_a_model_over_the_parameter_limit_is_refused_before_any_build(tmp_path, monkeypatch,
                                                                        capsys):
    """Each field within its own limit, the whole still too large: the meta build's count
    is checked before any weight is allocated, with the limit's variable in the message."""
    path = _hf_file(tmp_path / "p.json", 3)
    monkeypatch.setenv(hf_records.MAX_PARAMS_ENV, "1000")
    refused(capsys, ["eval", "--space", "hf", "--benchmark", path, "--proxy", "params"],
            "parameters, over the limit of 1,000", "LPZERO_GP_MAX_PARAMS=N")
    monkeypatch.delenv(hf_records.MAX_PARAMS_ENV)
    assert len(hf_records.load_benchmark(path).shapes) == 3  # the default limit lets them in
