"""docs/api.md is one runnable page: its Python blocks run as written, top to bottom.

The blocks run in one fresh Python process (an op a block registers stays there), in one
namespace and an empty working folder, so a block may use what an earlier one defined, and
whatever they write (results folders, the statistics cache) lands in that folder. A failing
block is named by the heading above it and its first line. The page keeps its examples small
(a few GPT-2 architectures, a 2 x 32 batch), so the whole page takes about half a minute.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from test_printed_names import TYPED

DOCS = Path(__file__).resolve().parents[1] / "docs"
_FENCE = re.compile(r"^```python\n(.*?)^```", re.DOTALL | re.MULTILINE)

#: Runs the blocks handed over as JSON on stdin, each under the heading it sits below.
RUNNER = """
import json, sys, traceback
namespace = {"__name__": "__main__"}
for heading, code in json.load(sys.stdin):
    try:
        exec(compile(code, f"<{heading}>", "exec"), namespace)
    except BaseException:
        first = code.strip().splitlines()[0]
        sys.stderr.write(f"block under {heading!r} failed (first line: {first})\\n")
        traceback.print_exc()
        sys.exit(1)
"""


def python_blocks(path: Path) -> list[tuple[str, str]]:
    """``(heading, code)`` of every fenced Python block of a Markdown page, in order."""
    text = path.read_text(encoding="utf-8")
    blocks = []
    for match in _FENCE.finditer(text):
        prose = re.sub(r"^```.*?^```", "", text[:match.start()], flags=re.DOTALL | re.MULTILINE)
        headings = re.findall(r"^#+ (.+)$", prose, re.MULTILINE)
        blocks.append((headings[-1] if headings else path.name, match.group(1)))
    return blocks


def run_blocks(path: Path, cwd: Path, timeout: float = 600) -> subprocess.CompletedProcess:
    """Run the page's Python blocks in one fresh process in ``cwd``."""
    return subprocess.run([sys.executable, "-c", RUNNER], input=json.dumps(python_blocks(path)),
                          capture_output=True, text=True, cwd=cwd, timeout=timeout)


def test_the_blocks_are_found():
    blocks = python_blocks(DOCS / "api.md")
    assert len(blocks) >= 4 and [h for h, _ in blocks[:2]] == ["Python API", "Python API"]
    assert "lz.search_proxy(" in blocks[0][1]
    assert any("space_options=" in code for _, code in blocks)


def test_every_python_block_of_the_api_page_runs(tmp_path):
    proc = run_blocks(DOCS / "api.md", tmp_path)
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert not TYPED.search(proc.stdout), proc.stdout  # trees print under the plain op names
    assert "seq_len: 1 is not an integer from 2 to 8,192" in proc.stdout
    assert "{'model': 'tiny', 'lora_r': 8} False 10 runs/llama-tiny" in proc.stdout
    assert (tmp_path / "runs" / "api" / "summary.json").is_file()
