"""Where the built-in corpus is found, which folders a run uses by default, and ``harness corpus path``."""

from __future__ import annotations

import importlib
import tomllib
from pathlib import Path

import pytest
from typer.testing import CliRunner

import harness
import harness.cli as cli
from harness.corpus import (
    CORPUS_PARTS,
    Corpus,
    CorpusError,
    RunDirs,
    baseline_sources,
    builtin_corpus,
    candidate_roots,
    find_corpus,
    resolve_run_dirs,
)

ROOT = Path(__file__).resolve().parents[1]


def _tree(root: Path, *, scenarios: bool = True, pyproject: bool = False) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    if scenarios:
        (root / "scenarios").mkdir()
    if pyproject:
        (root / "pyproject.toml").write_text("[project]\nname = 'x'\n", encoding="utf-8")
    return root


@pytest.mark.parametrize(
    "module", ["harness.corpus", "harness.config", "harness.adapters.registry", "harness.commands.corpus"]
)
def test_all_is_sorted_and_resolves(module: str) -> None:
    """``__all__`` in the repo's isort-style order (ruff RUF022): constants, classes, then functions."""
    loaded = importlib.import_module(module)
    names = list(loaded.__all__)

    def group(name: str) -> int:
        return 0 if name.isupper() else 1 if name[0].isupper() else 2

    assert names == sorted(names, key=lambda name: (group(name), name))
    for name in names:
        assert getattr(loaded, name) is not None


def test_the_installed_corpus_wins_over_the_checkout(tmp_path: Path) -> None:
    checkout = _tree(tmp_path / "checkout", pyproject=True)
    package = checkout / "harness"
    _tree(package / "_corpus")
    found = find_corpus(candidate_roots(package))
    assert (found.root, found.origin) == (package / "_corpus", "package")


def test_without_an_installed_corpus_the_checkout_root_is_used(tmp_path: Path) -> None:
    checkout = _tree(tmp_path / "checkout", pyproject=True)
    (checkout / "harness").mkdir()
    found = find_corpus(candidate_roots(checkout / "harness"))
    assert (found.root, found.origin) == (checkout, "checkout")
    assert found.golden == checkout / "golden" and found.lock == checkout / "codex.lock"


def test_a_folder_with_scenarios_but_no_pyproject_is_not_a_checkout(tmp_path: Path) -> None:
    site = _tree(tmp_path / "site-packages")  # scenarios/ beside the package, but no project
    (site / "harness").mkdir()
    with pytest.raises(CorpusError, match="no built-in corpus found") as caught:
        find_corpus(candidate_roots(site / "harness"))
    assert str(site / "harness" / "_corpus") in str(caught.value)


def test_this_checkout_is_the_corpus_of_the_editable_install() -> None:
    found = builtin_corpus()
    assert found.root == Path(harness.__file__).resolve().parents[1] == ROOT
    assert found.origin == "checkout"
    assert all((found.root / part).exists() for part in CORPUS_PARTS)


def test_the_wheel_maps_every_corpus_part_into_the_package() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    mapped = config["tool"]["hatch"]["build"]["targets"]["wheel"]["force-include"]
    assert mapped == {part: f"harness/_corpus/{part}" for part in CORPUS_PARTS}
    assert all((ROOT / part).exists() for part in mapped)


# ------------------------------------------------------------------------------------------ run folders


def test_a_local_scenarios_folder_is_used_relative(tmp_path: Path) -> None:
    (tmp_path / "scenarios").mkdir()
    corpus = Corpus(tmp_path / "elsewhere", "package")
    dirs = resolve_run_dirs(scenarios=None, golden=None, baselines=None, cwd=tmp_path, corpus=corpus)
    assert dirs == RunDirs(Path("scenarios"), Path("golden"), Path("baselines"), Path("baselines"))


def test_without_a_local_corpus_the_builtin_one_is_used(tmp_path: Path) -> None:
    corpus = Corpus(tmp_path / "pkg" / "_corpus", "package")
    dirs = resolve_run_dirs(scenarios=None, golden=None, baselines=None, cwd=tmp_path, corpus=corpus)
    assert dirs.scenarios == corpus.scenarios
    assert dirs.golden == corpus.golden, "the goldens beside the scenarios"
    assert dirs.fallback_baselines == corpus.baselines
    assert dirs.baselines == Path("baselines"), "the user's own folder, even when it does not exist yet"


def test_named_folders_win_and_goldens_follow_the_scenarios(tmp_path: Path) -> None:
    corpus = Corpus(tmp_path / "pkg", "package")
    mine = tmp_path / "sdk" / "scenarios"
    dirs = resolve_run_dirs(scenarios=mine, golden=None, baselines=tmp_path / "b", cwd=tmp_path, corpus=corpus)
    assert dirs == RunDirs(mine, tmp_path / "sdk" / "golden", tmp_path / "b", tmp_path / "sdk" / "baselines")
    dirs = resolve_run_dirs(scenarios=mine, golden=tmp_path / "g", baselines=None, cwd=tmp_path, corpus=corpus)
    assert dirs.golden == tmp_path / "g"


def test_baseline_lookup_order(tmp_path: Path) -> None:
    user, packaged = tmp_path / "user", tmp_path / "packaged"
    user.mkdir()
    packaged.mkdir()
    for name in ("ts.yaml", "openai-agents.yaml", "mine.yaml"):
        (packaged / name).write_text("", encoding="utf-8")
    (user / "openai-agents.yaml").write_text("", encoding="utf-8")
    dirs = RunDirs(tmp_path / "s", tmp_path / "g", user, packaged)
    chosen = baseline_sources(
        ["ts", "openai-agents", "mine", "codex-sdk-python"], dirs, {"ts", "openai-agents", "codex-sdk-python"}
    )
    assert chosen == {
        "ts": packaged,  # built-in, not in the user's folder: the packaged findings
        "openai-agents": user,  # the user's copy wins
        "mine": user,  # an ad-hoc adapter never borrows a packaged file, even one with its name
        "codex-sdk-python": user,  # nowhere: an empty baseline, written to the user's folder
    }


def test_the_same_folder_twice_is_the_users(tmp_path: Path) -> None:
    (tmp_path / "baselines").mkdir()
    (tmp_path / "baselines" / "ts.yaml").write_text("", encoding="utf-8")
    dirs = RunDirs(tmp_path / "s", tmp_path / "g", tmp_path / "baselines", tmp_path / "." / "baselines")
    assert baseline_sources(["ts"], dirs, {"ts"}) == {"ts": tmp_path / "baselines"}


# ------------------------------------------------------------------------------------------ the command


def test_corpus_path_prints_the_root_and_parts() -> None:
    runner = CliRunner()
    root = runner.invoke(cli.app, ["corpus", "path"])
    assert (root.exit_code, root.stdout) == (0, f"{builtin_corpus().root}\n")
    golden = runner.invoke(cli.app, ["corpus", "path", "golden"])
    assert (golden.exit_code, golden.stdout) == (0, f"{builtin_corpus().root / 'golden'}\n")
    bad = runner.invoke(cli.app, ["corpus", "path", "nope"])
    assert bad.exit_code == 2
    assert bad.stderr == (
        "error: unknown corpus part 'nope' (expected one of: scenarios, fixtures, golden, baselines, cases, "
        "codex.lock)\n"
    )
