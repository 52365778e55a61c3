"""Stored splits: the packaged ones are what the space's split sizes draw, and user files split."""

from __future__ import annotations

import pytest

from lpzero_gp.errors import OptionError
from lpzero_gp.spaces import get_space
from lpzero_gp.workflows.splits import SPLIT_NAMES, draw_splits, pick, select, stored_splits


@pytest.mark.parametrize("name", ["flexibert", "gpt2", "llama"])
def test_stored_splits_are_the_seeded_draw_of_the_space_sizes(name):
    space = get_space(name)
    records = space.load_records(None)
    assert stored_splits(name) == draw_splits([r.id for r in records], space.split_sizes)
    sizes = [len(select(records, s, space, packaged=True)) for s in SPLIT_NAMES]
    assert tuple(sizes) == space.split_sizes


def test_a_user_file_is_split_from_its_own_ids():
    space = get_space("gpt2")
    records = space.load_records(None)[:40]
    search = select(records, "search", space, packaged=False)
    held = select(records, "heldout", space, packaged=False)
    assert len(search) == 4 and len(held) == 36
    assert not {r.id for r in search} & {r.id for r in held}
    with pytest.raises(OptionError, match="^archs: unknown split 'train'"):  # Python's wording
        select(records, "train", space, packaged=False)


@pytest.mark.parametrize("option", ["--archs", "--search-archs", "--heldout"])
def test_every_error_names_the_option_given(option):
    """Called from Python, the error names the field (``search_archs``), as a caller wrote it."""
    option = option.removeprefix("--").replace("-", "_")
    space = get_space("gpt2")
    records = space.load_records(None)
    for which, message in (("train", "unknown split 'train'"), ("2", "2: choose between 3"),
                           ("9999", "9999: choose between 3")):
        with pytest.raises(OptionError, match=f"^{option}[ :=].*{message}"):
            pick(records, which, space, True, 42, option)
    few = records[:12]  # a user file of 12: its search split has 2 architectures
    with pytest.raises(OptionError, match=f"^{option}='search': .* give {option}=N"):
        pick(few, "search", space, False, 42, option)
