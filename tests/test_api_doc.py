"""docs/api.md is one runnable page: its Python blocks run as written, top to bottom.

The blocks run in one namespace of their own (``__name__`` is ``"__main__"``, as in a script) in
an empty working folder, so a block may use what an earlier one defined, and whatever they write
(results folders, the statistics cache) lands in that folder. They run in this process, as the
other end-to-end tests run the commands: an op a block registers is taken out of the op table
again afterwards, and Python's random state is put back. A failing block is named by the
heading above it and its first line. The page keeps its examples small (a few GPT-2
architectures, a 2 x 16 batch).
"""

from __future__ import annotations

import io
import re
import traceback
from contextlib import redirect_stdout
from pathlib import Path

import pytest
from test_printed_names import TYPED, example_process

DOCS = Path(__file__).resolve().parents[1] / "docs"
_FENCE = re.compile(r"^```python\n(.*?)^```", re.DOTALL | re.MULTILINE)


def python_blocks(path: Path) -> list[tuple[str, str]]:
    """``(heading, code)`` of every fenced Python block of a Markdown page, in order."""
    text = path.read_text(encoding="utf-8")
    blocks = []
    for match in _FENCE.finditer(text):
        prose = re.sub(r"^```.*?^```", "", text[:match.start()], flags=re.DOTALL | re.MULTILINE)
        headings = re.findall(r"^#+ (.+)$", prose, re.MULTILINE)
        blocks.append((headings[-1] if headings else path.name, match.group(1)))
    return blocks


def run_blocks(path: Path, cwd: Path, monkeypatch) -> str:
    """Run the page's Python blocks in ``cwd`` in one fresh namespace, within
    :func:`test_printed_names.example_process`; what they printed."""
    monkeypatch.chdir(cwd)
    namespace = {"__name__": "__main__"}
    printed = io.StringIO()
    with example_process():
        for heading, code in python_blocks(path):
            try:
                with redirect_stdout(printed):
                    exec(compile(code, f"<{heading}>", "exec"), namespace)
            except BaseException:
                first = code.strip().splitlines()[0]
                pytest.fail(f"block under {heading!r} failed (first line: {first})\n"
                            f"{traceback.format_exc()[-4000:]}", pytrace=False)
    return printed.getvalue()


def test_the_blocks_are_found():
    blocks = python_blocks(DOCS / "api.md")
    assert len(blocks) >= 4 and [h for h, _ in blocks[:2]] == ["Python API", "Python API"]
    assert "lz.search_proxy(" in blocks[0][1]
    assert any("space_options=" in code for _, code in blocks)


def test_every_python_block_of_the_api_page_runs(tmp_path, monkeypatch):
    from lpzero_gp.primitives.ops import OPS_BY_NAME

    printed = run_blocks(DOCS / "api.md", tmp_path, monkeypatch)
    assert not TYPED.search(printed), printed  # trees print under the plain op names
    assert "seq_len: 1 is not an integer from 2 to 8,192" in printed
    assert "{'model': 'tiny', 'lora_r': 8} False 10 runs/llama-tiny" in printed
    assert (tmp_path / "runs" / "api" / "summary.json").is_file()
    assert not {"softsign", "hypot", "twice"} & set(OPS_BY_NAME)  # the page's ops are gone
