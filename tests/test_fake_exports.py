"""The fake packages' public names: sorted ``__all__``, every name resolves, and the old import paths still work."""

from __future__ import annotations

import importlib

import pytest

MODULES = [
    "harness.fake",
    "harness.fake.cli",
    "harness.fake.codex",
    "harness.fake.codex.cache",
    "harness.fake.codex.cli",
    "harness.fake.codex.compile",
    "harness.fake.codex.launcher",
    "harness.fake.codex.log",
    "harness.fake.codex.plan",
    "harness.fake.codex.testing",
    "harness.fake.testing",
]


@pytest.mark.parametrize("name", MODULES)
def test_all_is_sorted_and_resolves(name: str) -> None:
    module = importlib.import_module(name)
    assert module.__all__ == sorted(module.__all__)
    assert len(set(module.__all__)) == len(module.__all__)
    for attr in module.__all__:
        assert getattr(module, attr) is not None, attr
        assert attr in dir(module)


def test_old_paths_are_the_same_objects() -> None:
    import harness.fake as fake
    import harness.fake.cli as old_cli
    import harness.fake.codex as codex
    import harness.fake.testing as old_testing
    from harness.fake.codex import cli, testing

    for attr in fake.__all__:
        assert getattr(fake, attr) is getattr(codex, attr)
    assert old_cli.main is cli.main
    assert all(getattr(old_testing, a) is getattr(testing, a) for a in testing.__all__)
    assert set(old_testing.__all__) == set(testing.__all__)


def test_unknown_names_raise_attribute_error() -> None:
    import harness.fake as fake
    import harness.fake.codex as codex

    for module in (fake, codex):
        with pytest.raises(AttributeError, match="no_such_name"):
            _ = module.no_such_name
