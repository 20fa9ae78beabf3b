"""Every ``harness`` command answers ``--help`` (and the root ``--version``) with a usage text that is true.

The command tree is walked programmatically (root group → groups → commands), so a new command is covered the day
it is added. Checked for each: exit 0, a ``Usage: harness …`` line naming the command, no value placeholder beside a
flag (``--json <bool>`` reads as if the flag took a value), and every word of every option's help text visible (a
literal ``[default: …]`` in a help string is eaten by rich markup unless escaped).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
import typer
from rich.errors import StyleSyntaxError
from rich.style import Style
from typer.testing import CliRunner

from harness import __version__
from harness.cli import app
from harness.commands import fake as fake_commands

#: Commands without a ``--help`` of their own, and why. ``fake-codex`` passes every argument through to the fake
#: codex, as real ``codex`` would receive it; its own subcommands (``build``, ``launcher``) are a separate app.
NO_HELP_OPTION = {("fake-codex",): "arguments are passed through to the fake codex"}
#: Typer apps dispatched by hand below a command of the root tree: ``harness fake-codex build|launcher``.
NESTED_APPS: dict[tuple[str, ...], typer.Typer] = {("fake-codex",): fake_commands._sub}

_PLACEHOLDER = re.compile(r"<bool>|\bBOOLEAN\b|\[BOOL\]|<boolean>", re.IGNORECASE)
_TAG = re.compile(r"\[(/?[^\[\]]*)\]")


def _walk(command: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    yield path, command
    for name, sub in sorted(getattr(command, "commands", {}).items()):
        yield from _walk(sub, (*path, name))
    nested = NESTED_APPS.get(path)
    if nested is not None:
        for name, sub in sorted(typer.main.get_command(nested).commands.items()):  # type: ignore[attr-defined]
            yield from _walk(sub, (*path, name))


def _command_paths() -> list[tuple[tuple[str, ...], Any]]:
    return list(_walk(typer.main.get_command(app)))


COMMANDS = _command_paths()


def _help(args: list[str]) -> tuple[int, str]:
    result = CliRunner().invoke(app, args, env={"COLUMNS": "200", "NO_COLOR": "1", "TERM": "dumb"})
    return result.exit_code, result.output


def _visible_words(help_text: str) -> list[str]:
    """The words of a help string as rich shows them: style tags (``[bold]``, ``[/]``) removed, other brackets kept,
    ``\\[`` unescaped."""

    def keep(match: re.Match[str]) -> str:
        tag = match.group(1)
        if tag.startswith("/"):
            return ""
        try:
            Style.parse(tag)
        except StyleSyntaxError:
            return match.group(0)
        return ""

    text = _TAG.sub(keep, help_text.replace("\\[", "\x00")).replace("\x00", "[")
    return text.split()


def test_the_walk_finds_every_command() -> None:
    paths = {" ".join(path) for path, _ in COMMANDS}
    # A few commands of each kind: root, grouped, registered by harness.commands, dispatched by hand.
    assert {"", "parity", "golden refresh", "adapters install", "report merge", "fake-codex build"} <= paths
    assert len(paths) == len(COMMANDS) >= 20


def test_version() -> None:
    code, output = _help(["--version"])
    assert code == 0
    assert output.strip() == f"harness {__version__}"


@pytest.mark.parametrize("path", [p for p, _ in COMMANDS], ids=lambda p: " ".join(p) or "harness")
def test_help_of_every_command(path: tuple[str, ...]) -> None:
    command = dict(COMMANDS)[path]
    if path in NO_HELP_OPTION:
        assert command.add_help_option is False, f"{path}: listed in NO_HELP_OPTION but has --help"
        return
    code, output = _help([*path, "--help"])
    assert code == 0, output
    assert re.search(r"Usage: (harness|root) " + re.escape(" ".join(path)), output), output
    flagged = [line for line in output.splitlines() if _PLACEHOLDER.search(line)]
    assert flagged == [], f"a flag shows a value placeholder in `harness {' '.join(path)} --help`"
    words = set(output.replace("│", " ").split())
    for param in command.params:
        missing = [w for w in _visible_words(getattr(param, "help", None) or "") if w not in words]
        assert missing == [], f"{param.name}: help words not shown (rich markup ate them?): {missing}"


def test_every_flag_is_checked() -> None:
    """The placeholder check has something to check: flags exist, and each shows no type in its help row."""
    flags = [(path, p) for path, c in COMMANDS for p in c.params if getattr(p, "is_flag", False) and p.opts[0] != "-v"]
    assert len(flags) >= 8
    for path, param in flags:
        _code, output = _help([*path, "--help"])
        rows = [line for line in output.splitlines() if re.search(rf"(?<![\w-]){re.escape(param.opts[-1])}\b", line)]
        assert rows, f"{param.opts} not shown in `harness {' '.join(path)} --help`"
        assert not any(_PLACEHOLDER.search(row) for row in rows), rows


def test_options_that_take_a_value_keep_their_type() -> None:
    """Flags show no placeholder (typer < 0.29 is pinned: 0.29 prints ``<bool>`` beside every flag), values do."""
    _code, output = _help(["parity", "--help"])
    assert re.search(r"--workers\s+-n\s+<int", output), "an option that takes a value keeps its type"


def test_a_help_word_check_fails_on_eaten_markup() -> None:
    """The word check itself: an unescaped ``[default: X]`` is a word rich would drop, an escaped one is kept."""
    assert "[default:" in _visible_words("log \\[default: DIR/log.jsonl]")
    assert _visible_words("[bold]golden/[/] files") == ["golden/", "files"]
    assert "[default:" in _visible_words("log [default: DIR/log.jsonl]")  # not a style: rich eats it, we expect it
