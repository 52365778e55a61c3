"""The shared check of a refused command line: exit 2 and one ``error:`` line."""

from __future__ import annotations

from lpzero_gp.cli import main


def refused(capsys, argv: list, *fragments: str) -> str:
    """Run the command line: exit code 2, one ``error:`` line (the last) holding every fragment,
    no traceback and no internal error. Returns that line."""
    rc = main([str(a) for a in argv])
    err = capsys.readouterr().err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert rc == 2, err
    assert lines and lines[-1].startswith("error: "), err
    assert sum(ln.startswith("error: ") for ln in lines) == 1, err
    assert "Traceback" not in err and "internal error" not in err
    for fragment in fragments:
        assert fragment in lines[-1], lines[-1]
    return lines[-1]
