"""Where the built-in corpus lives, and which folders a run uses when the user names none.

The corpus (``scenarios/``, ``fixtures/``, ``golden/``, ``baselines/``, ``cases/``, ``codex.lock``) is kept once, at
the root of the source checkout; the wheel maps those folders into ``harness/_corpus/`` (hatch ``force-include``,
see ``pyproject.toml``), so a ``pip install``-ed harness carries it without a second copy in git. At run time the
installed ``_corpus`` wins; without it (a source checkout or an editable install) the checkout's root is used.

Either way the layout is the same -- the parts sit side by side under one *project root* -- because scenario
fixture paths are relative to the scenarios folder's parent. That is also why the defaults here follow the
scenarios folder: the goldens and the fallback baselines of a run are the ones *beside its scenarios*
(``<scenarios>/../golden``), so a user's own corpus is never judged by the packaged goldens by accident.

Baselines are looked up per implementation (:func:`baseline_sources`): the user's folder first, then -- for a
built-in implementation only -- the baselines beside the scenarios (the packaged reference baselines), so an SDK's
repository can hold ``<its id>.yaml`` and still run the built-in peers against their committed findings.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path

from harness.errors import HarnessError

__all__ = [
    "CORPUS_PARTS",
    "PACKAGED_DIR",
    "Corpus",
    "CorpusError",
    "RunDirs",
    "baseline_sources",
    "builtin_corpus",
    "candidate_roots",
    "find_corpus",
    "resolve_run_dirs",
]

#: What the corpus is made of, as folder (or file) names under its root; the wheel maps each into ``_corpus/``.
CORPUS_PARTS: tuple[str, ...] = ("scenarios", "fixtures", "golden", "baselines", "cases", "codex.lock")

_PACKAGE_DIR = Path(__file__).resolve().parent

#: Where a wheel puts the corpus: ``harness/_corpus`` inside the installed package.
PACKAGED_DIR = _PACKAGE_DIR / "_corpus"


class CorpusError(HarnessError):
    """No built-in corpus can be found (a broken install: neither ``harness/_corpus`` nor a source checkout)."""


@dataclasses.dataclass(frozen=True)
class Corpus:
    """One corpus root and where it came from (``package``: the installed ``_corpus``; ``checkout``: the source
    tree beside the package). Every part is a path under :attr:`root`; none is guaranteed to exist except
    ``scenarios``."""

    root: Path
    origin: str

    @property
    def scenarios(self) -> Path:
        return self.root / "scenarios"

    @property
    def golden(self) -> Path:
        return self.root / "golden"

    @property
    def baselines(self) -> Path:
        return self.root / "baselines"

    @property
    def fixtures(self) -> Path:
        return self.root / "fixtures"

    @property
    def cases(self) -> Path:
        return self.root / "cases"

    @property
    def lock(self) -> Path:
        return self.root / "codex.lock"


def candidate_roots(package_dir: Path = _PACKAGE_DIR) -> tuple[Corpus, ...]:
    """Where a corpus may be, best first: the installed ``<package>/_corpus``, then the checkout root (the
    package's parent, recognised by its ``pyproject.toml``)."""
    return (Corpus(package_dir / "_corpus", "package"), Corpus(package_dir.parent, "checkout"))


def find_corpus(candidates: Sequence[Corpus]) -> Corpus:
    """The first candidate holding a ``scenarios/`` folder (a checkout must also hold ``pyproject.toml``, so a
    site-packages folder that happens to hold ``scenarios/`` is not mistaken for one); CorpusError otherwise."""
    for corpus in candidates:
        if not corpus.scenarios.is_dir():
            continue
        if corpus.origin == "checkout" and not (corpus.root / "pyproject.toml").is_file():
            continue
        return corpus
    looked = ", ".join(str(c.root) for c in candidates)
    raise CorpusError(f"no built-in corpus found (looked in: {looked}); reinstall codex-parity-harness")


def builtin_corpus() -> Corpus:
    """The corpus that ships with this harness (``harness corpus path`` prints its root)."""
    return find_corpus(candidate_roots())


@dataclasses.dataclass(frozen=True)
class RunDirs:
    """The folders one ``harness parity`` run reads and writes. ``baselines`` is the user's folder (where
    ``--update-baseline`` writes); ``fallback_baselines`` the one beside the scenarios (built-ins only)."""

    scenarios: Path
    golden: Path
    baselines: Path
    fallback_baselines: Path


def resolve_run_dirs(
    *,
    scenarios: Path | None,
    golden: Path | None,
    baselines: Path | None,
    cwd: Path | None = None,
    corpus: Corpus | None = None,
) -> RunDirs:
    """Fill in the folders the user did not name (``None``).

    - scenarios: ``./scenarios`` if the current directory has one (kept relative, as the user would type it),
      else the built-in corpus's (``corpus`` is only looked up then);
    - golden: ``<scenarios>/../golden``, the goldens of that corpus;
    - baselines: ``./baselines`` (it need not exist: built-ins then use the fallback, ad-hoc adapters start
      empty and ``--update-baseline`` creates it);
    - fallback baselines: ``<scenarios>/../baselines``.
    """
    here = Path.cwd() if cwd is None else cwd
    if scenarios is None:
        local = Path("scenarios")
        scenarios = local if (here / local).is_dir() else (corpus or builtin_corpus()).scenarios
    project = scenarios.parent
    return RunDirs(
        scenarios=scenarios,
        golden=golden if golden is not None else project / "golden",
        baselines=baselines if baselines is not None else Path("baselines"),
        fallback_baselines=project / "baselines",
    )


def _same(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve()
    except OSError:  # pragma: no cover - resolve() of an unreadable path
        return False


def baseline_sources(
    implementations: Sequence[str], dirs: RunDirs, builtin_ids: Collection[str]
) -> Mapping[str, Path]:
    """Which folder each implementation's baseline is read from: the user's ``<baselines>/<id>.yaml`` when it
    exists; else, for a built-in implementation, the fallback folder's when *that* exists; else the user's folder
    (a missing file is an empty baseline). An ad-hoc adapter's baseline is always the user's."""
    chosen: dict[str, Path] = {}
    for implementation in implementations:
        name = f"{implementation}.yaml"
        if (
            implementation in builtin_ids
            and not (dirs.baselines / name).is_file()
            and (dirs.fallback_baselines / name).is_file()
            and not _same(dirs.baselines, dirs.fallback_baselines)
        ):
            chosen[implementation] = dirs.fallback_baselines
        else:
            chosen[implementation] = dirs.baselines
    return chosen
