"""``harness corpus``: where the corpus that ships with the harness is (registered by
:func:`harness.commands.register_all`).

A pip-installed harness carries its scenarios, fixtures, goldens and reference baselines inside the package
(:mod:`harness.corpus`); an SDK author needs the folder to read a scenario, copy one as a starting point, or
point another tool at the goldens.
"""

from __future__ import annotations

from typing import Annotated

import typer

__all__ = ["register"]

corpus_app = typer.Typer(
    name="corpus",
    help="The corpus that ships with the harness: scenarios, fixtures, goldens, reference baselines.",
    no_args_is_help=True,
    rich_markup_mode="rich",
)


@corpus_app.command("path")
def path(
    part: Annotated[
        str | None,
        typer.Argument(
            metavar="[PART]",
            help="One part: scenarios, fixtures, golden, baselines, cases or codex.lock (default: the root).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Print where the built-in corpus is (its root, or one PART of it): the installed package's
    [bold]harness/_corpus[/], or the source checkout's root. [i]harness parity[/] uses it when the current
    directory has no [bold]scenarios/[/]."""
    from harness.corpus import CORPUS_PARTS, builtin_corpus
    from harness.errors import HarnessError

    if part is not None and part not in CORPUS_PARTS:
        raise HarnessError(f"unknown corpus part {part!r} (expected one of: {', '.join(CORPUS_PARTS)})")
    corpus = builtin_corpus()
    typer.echo(str(corpus.root if part is None else corpus.root / part))


def register(app: typer.Typer) -> None:
    """Add ``corpus`` to the root app."""
    app.add_typer(corpus_app, name="corpus")
