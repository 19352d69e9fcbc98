"""The suite never loads its own test modules from a ``__pycache__`` a hostile sample can reach."""

from __future__ import annotations

import sys
from pathlib import Path

from _pytest.assertion.rewrite import get_cache_dir


def test_rewritten_test_modules_live_in_the_sessions_private_cache() -> None:
    # pyc_trojan (local backend) plants assertion-free pycs in tests/*/__pycache__ of any
    # checkout it finds; pytest would trust them (mtime and size match) in a later session.
    prefix = sys.pycache_prefix
    assert prefix and Path(prefix).is_dir()
    here = Path(__file__).resolve()
    assert get_cache_dir(here).is_relative_to(prefix)
    assert not get_cache_dir(here).is_relative_to(here.parent / "__pycache__")
