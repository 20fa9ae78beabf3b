"""`harness appserver …`: replay recorded ``codex app-server`` sessions against a client implementation.

``harness appserver replay RECORDING… --impl ID [--json]`` builds the fake app-server for each recording
(:mod:`harness.fake.appserver`), drives the client with the session's own inputs and scripted replies, and says
where the client parted from the recording. Exit status: 0 every client behaved as recorded, 1 at least one
diverged (the first differing message is printed: index, method, expected vs got), 2 a recording (or an
argument) is bad — checked for all recordings before any is run.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

__all__ = ["register"]

appserver_app = typer.Typer(
    name="appserver",
    help="Replay recorded [bold]codex app-server[/] sessions against a client (fake app-server).",
    no_args_is_help=True,
    rich_markup_mode="rich",
)


def _short(value: Any, limit: int = 160) -> str:
    text = json.dumps(value, ensure_ascii=False, sort_keys=True) if not isinstance(value, str) else value
    return text if len(text) <= limit else text[: limit - 3] + "..."


@appserver_app.command("replay")
def replay(
    recordings: Annotated[list[Path], typer.Argument(help="Recordings (.jsonl) or folders of them (exec/ and "
                                                          "wire/ are skipped).", show_default=False)],
    impl: Annotated[str, typer.Option("--impl", help="Client implementation: reference or scripted.")] = "reference",
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON document instead of text.")] = False,
    timeout: Annotated[float, typer.Option("--timeout", min=0.1,
                                           help="Seconds the fake waits for the client's next message.")] = 10.0,
) -> None:
    """Replay each recording against the client and report the first divergence per recording."""
    from harness.fake.appserver.recording import load_recording
    from harness.fake.appserver.replay import discover_recordings, make_driver, replay_recording

    make_driver(impl, timeout=timeout)  # an unknown --impl is an argument error (status 2) before any work
    paths = discover_recordings(recordings)
    if not paths:
        from harness.fake.appserver.recording import RecordingError

        raise RecordingError("no .jsonl recordings found", path=", ".join(str(p) for p in recordings))
    loaded = [load_recording(p) for p in paths]  # a bad recording stops everything with status 2
    results = []
    for rec in loaded:
        driver = make_driver(impl, timeout=timeout)
        results.append(replay_recording(rec, driver, timeout=timeout))
    failed = [r for r in results if not r.ok]
    if as_json:
        typer.echo(json.dumps({"impl": impl, "ok": not failed, "results": [r.to_dict() for r in results]},
                              indent=1, ensure_ascii=False))
    else:
        for r in results:
            status = "ok      " if r.ok else "DIVERGED"
            typer.echo(f"{status} {r.recording}")
            div = r.report.divergence
            if div is not None:
                typer.echo(f"         at message {div.index} (seq {div.seq}) {div.method or ''}: {div.reason}"
                           + (f" - {div.detail}" if div.detail else ""))
                typer.echo(f"         expected: {_short(div.expected)}")
                typer.echo(f"         got:      {_short(div.got)}")
            elif not r.ok:
                typer.echo(f"         incomplete: ended by {r.report.end} before the recording's end "
                           f"(client: {r.outcome.error or 'no error'})")
        typer.echo(f"{len(results) - len(failed)}/{len(results)} recordings replayed as recorded ({impl})")
    if failed:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add this subsystem's commands to the root app."""
    app.add_typer(appserver_app, name="appserver")
