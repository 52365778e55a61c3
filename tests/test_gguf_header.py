"""One GGUF header check serves the tokenizer reader and the llama space, with the same limits."""

from __future__ import annotations

import struct

import pytest

from lpzero_gp.errors import CalibrationError, SpaceError
from lpzero_gp.spaces.base import MAX_GGUF_ENTRIES, MAX_GGUF_TENSORS, check_gguf_header
from lpzero_gp.stats.gguf import check_gguf


def _header(tmp_path, version=3, tensors=10, entries=20):
    path = tmp_path / "m.gguf"
    path.write_bytes(b"GGUF" + struct.pack("<IQQ", version, tensors, entries) + b"\0" * 64)
    return path


@pytest.mark.parametrize(("check", "error"), [(check_gguf, CalibrationError),
                                              (check_gguf_header, SpaceError)])
@pytest.mark.parametrize(("fields", "fragment"), [
    ({"tensors": MAX_GGUF_TENSORS + 1}, "tensors"),
    ({"entries": MAX_GGUF_ENTRIES + 1}, "metadata entries"),
    ({"version": 0}, "version 0"),
])
def test_both_readers_refuse_the_same_headers(tmp_path, check, error, fields, fragment):
    check(str(_header(tmp_path)))  # a sane header passes
    path = _header(tmp_path, **fields)
    with pytest.raises(error, match=fragment) as info:
        check(str(path))
    assert str(path) in str(info.value) and "not a model file" in str(info.value)
