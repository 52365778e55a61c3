"""A space option the space does not take is one line naming the option and the ones it takes."""

from __future__ import annotations

import pytest

from lpzero_gp.errors import SpaceError
from lpzero_gp.spaces import REGISTRY, Space, get_space, register


def test_unknown_option_names_the_space_options():
    with pytest.raises(SpaceError, match=r"has no option 'foo'; its options are .*model"):
        get_space("llama", foo=1)


def test_a_space_without_options_says_so():
    with pytest.raises(SpaceError, match=r"space 'gpt2' has no option 'width'; it takes no"):
        get_space("gpt2", width=3)


def test_a_space_taking_any_keyword_gets_them_all():
    class Open(Space):
        name = "open"

        def __init__(self, **options):
            self.options = options

        def load_records(self, path=None):
            return []

        def build(self, record, variant, seed):
            raise NotImplementedError

        def num_params(self, record, variant):
            return 0

        def features(self, record, variant):
            return {}

        def collect(self, model, batch, semantics="intended"):
            return {}

    register("open-test", Open)
    try:
        assert get_space("open-test", anything=1).options == {"anything": 1}
    finally:
        REGISTRY.pop("open-test")
