"""The configuration file an SDK's repository keeps for ``harness parity``: ``codex-parity.toml``.

An SDK that is not part of this project (Go, Rust, Elixir, in-house) describes its run once, in its own
repository, instead of repeating flags in CI::

    # codex-parity.toml (or [tool.codex-parity] in pyproject.toml)
    baselines = "parity/baselines"     # this SDK's findings: <baselines>/<adapter id>.yaml
    keyword = "not appserver"          # -k
    tags = ["exec"]                    # --tag (any of them)
    impl = ["reference"]               # --impl (built-in or ad-hoc ids)
    out = "reports"                    # --out
    # scenarios = "...", golden = "..."   (default: the packaged corpus)

    [adapters]                         # --adapter ID=COMMAND
    mine = "go run ./cmd/parity-adapter"
    other = ["node", "adapter.mjs"]

Paths are relative to the file, and so is any word of an adapter command written ``./x`` or ``../x`` (made
absolute); the adapter runs in the harness's working directory, as every adapter does (docs/adapters.md). The
command line wins over the file (``--adapter`` adds to or replaces the file's adapters by id). Any problem is one
located line -- ``codex-parity.toml: adapters.mine: expected a string or a list of strings`` -- and exit status 2,
never a traceback: the file is the user's input, not our bug.
"""

from __future__ import annotations

import dataclasses
import os
import re
import shlex
import tomllib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from harness.errors import _LocatedError

__all__ = [
    "CONFIG_NAME",
    "PYPROJECT_TABLE",
    "ConfigError",
    "ParityConfig",
    "discover_config",
    "load_config",
    "parse_config",
]

#: The file name looked for in the current directory.
CONFIG_NAME = "codex-parity.toml"

#: The table of ``pyproject.toml`` read when there is no :data:`CONFIG_NAME`.
PYPROJECT_TABLE = ("tool", "codex-parity")

_LINE_COL = re.compile(r"\s*\(at line (\d+), column (\d+)\)$")


class ConfigError(_LocatedError):
    """A configuration file that cannot be used: ``file[:line:col]: field: message``."""


@dataclasses.dataclass(frozen=True)
class ParityConfig:
    """What a configuration file sets (``None``/empty: not set). Paths are already absolute (resolved against the
    file's folder); ``adapters`` maps each ad-hoc id to its argv, in file order."""

    path: Path
    scenarios: Path | None = None
    golden: Path | None = None
    baselines: Path | None = None
    out: Path | None = None
    keyword: str | None = None
    tags: tuple[str, ...] | None = None
    impl: tuple[str, ...] | None = None
    adapters: Mapping[str, tuple[str, ...]] = dataclasses.field(default_factory=dict)

    @property
    def folder(self) -> Path:
        """The folder paths and adapter commands are relative to."""
        return self.path.parent


# ------------------------------------------------------------------------------------------ values


def _string(value: Any, fail: Callable[[str], ConfigError]) -> str:
    if not isinstance(value, str):
        raise fail(f"expected a string, got {_kind(value)}")
    return value


def _strings(value: Any, fail: Callable[[str], ConfigError], *, comma: bool = False) -> tuple[str, ...]:
    """A list of strings, or (``comma``) one string of comma-separated names, as ``--impl a,b`` takes."""
    if comma and isinstance(value, str):
        return tuple(part.strip() for part in value.split(",") if part.strip())
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        kinds = "a list of strings" + (" or a comma-separated string" if comma else "")
        raise fail(f"expected {kinds}, got {_kind(value)}")
    return tuple(value)


def _command(value: Any, fail: Callable[[str], ConfigError], folder: Path) -> tuple[str, ...]:
    if isinstance(value, str):
        try:
            argv = tuple(shlex.split(value))
        except ValueError as exc:
            raise fail(f"cannot split the command: {exc}") from None
    elif isinstance(value, list) and all(isinstance(item, str) for item in value):
        argv = tuple(value)
    else:
        raise fail("expected a string or a list of strings")
    if not argv or not argv[0]:
        raise fail("empty command")
    return tuple(_anchored(word, folder) for word in argv)


def _anchored(word: str, folder: Path) -> str:
    """A word of an adapter command written as an explicitly relative path (``./x``, ``../x``) is relative to the
    configuration file; everything else is left alone. The adapter itself runs in the harness's working directory,
    as the protocol says (docs/adapters.md): the fake codex records it, and the goldens expect it.

    >>> _anchored("./bin/adapter", Path("/sdk")), _anchored("../x", Path("/sdk/a")), _anchored("node", Path("/sdk"))
    ('/sdk/bin/adapter', '/sdk/x', 'node')
    """
    if word.startswith(("./", "../")):
        return os.path.abspath(folder / word)
    return word


def _kind(value: Any) -> str:
    return {bool: "a boolean", int: "an integer", float: "a number", dict: "a table", list: "a list"}.get(
        type(value), type(value).__name__
    )


_PATH_KEYS = ("scenarios", "golden", "baselines", "out")
_KEYS = (*_PATH_KEYS, "keyword", "tags", "impl", "adapters")


def parse_config(table: Mapping[str, Any], path: Path, *, prefix: str = "") -> ParityConfig:
    """Validate one configuration table read from ``path`` (``prefix``: where the table sits in the file, e.g.
    ``tool.codex-parity.`` in ``pyproject.toml``, so messages name the key as the user wrote it)."""
    folder = path.parent

    def failer(field: str) -> Callable[[str], ConfigError]:
        return lambda message: ConfigError(message, path=path, field=prefix + field)

    values: dict[str, Any] = {}
    for key, value in table.items():
        fail = failer(key)
        if key not in _KEYS:
            raise fail(f"unknown key (expected one of: {', '.join(_KEYS)})")
        if key in _PATH_KEYS:
            text = _string(value, fail)
            if not text:
                raise fail("expected a path, got an empty string")
            values[key] = folder / Path(text).expanduser()
        elif key == "keyword":
            values[key] = _string(value, fail)
        elif key == "tags":
            values[key] = _strings(value, fail)
        elif key == "impl":
            values[key] = _strings(value, fail, comma=True)
        else:
            if not isinstance(value, dict):
                raise fail(f"expected a table of id = command, got {_kind(value)}")
            from harness.adapters.registry import adhoc_id_problem

            adapters: dict[str, tuple[str, ...]] = {}
            for adapter_id, command in value.items():
                problem = adhoc_id_problem(adapter_id)
                if problem is not None:
                    raise failer(f"adapters.{adapter_id}")(problem)
                adapters[adapter_id] = _command(command, failer(f"adapters.{adapter_id}"), folder)
            values[key] = adapters
    return ParityConfig(path=path, **values)


# ------------------------------------------------------------------------------------------ files


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError("no such configuration file", path=path) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read: {exc}", path=path) from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        found = _LINE_COL.search(message)
        line, column = (int(found.group(1)), int(found.group(2))) if found else (None, None)
        raise ConfigError(f"invalid TOML: {_LINE_COL.sub('', message)}", path=path, line=line, column=column) from None


def _pyproject_table(data: Mapping[str, Any], path: Path) -> Mapping[str, Any] | None:
    tool = data.get(PYPROJECT_TABLE[0])
    if not isinstance(tool, dict) or PYPROJECT_TABLE[1] not in tool:
        return None
    table = tool[PYPROJECT_TABLE[1]]
    if not isinstance(table, dict):
        raise ConfigError(f"expected a table, got {_kind(table)}", path=path, field=".".join(PYPROJECT_TABLE))
    return table


def load_config(path: Path) -> ParityConfig:
    """Read ``path``: a ``pyproject.toml`` contributes its ``[tool.codex-parity]`` table (an error if it has none,
    since it was named explicitly), any other file is the table itself."""
    data = _read_toml(path)
    if path.name == "pyproject.toml":
        table = _pyproject_table(data, path)
        if table is None:
            raise ConfigError("no [tool.codex-parity] table", path=path)
        return parse_config(table, path, prefix="tool.codex-parity.")
    return parse_config(data, path)


def discover_config(explicit: Path | None = None, *, cwd: Path | None = None) -> ParityConfig | None:
    """The run's configuration: ``explicit`` (``--config FILE``) if given, else ``./codex-parity.toml``, else
    ``./pyproject.toml``'s ``[tool.codex-parity]`` table, else none. Paths in messages are as found (relative
    to the current directory), so ``codex-parity.toml: adapters.mine: ...`` reads like what the user typed."""
    if explicit is not None:
        return load_config(explicit)
    here = Path.cwd() if cwd is None else cwd
    own = here / CONFIG_NAME
    if own.is_file():
        config = load_config(Path(CONFIG_NAME) if cwd is None else own)
        return dataclasses.replace(config, path=own.absolute())
    pyproject = here / "pyproject.toml"
    if pyproject.is_file():
        shown = Path("pyproject.toml") if cwd is None else pyproject
        table = _pyproject_table(_read_toml(shown), shown)
        if table is not None:
            config = parse_config(table, shown, prefix="tool.codex-parity.")
            return dataclasses.replace(config, path=pyproject.absolute())
    return None
