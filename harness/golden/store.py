"""Golden files: one JSON document per scenario at ``golden/<area>/<name>.json``.

Goldens are written in one canonical form (sorted keys, indent 2, raw UTF-8, final newline) and *atomically*:
the
text goes to a temp file in the same directory, which then replaces the golden with :func:`os.replace`. A
reader
(or a second pytest-xdist worker) sees the old file or the new one, never a torn one; as each scenario owns
exactly
one file, concurrent refreshes cannot lose each other's writes.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from harness._atomic import write_text_atomic
from harness.errors import GoldenError

__all__ = [
    "GOLDEN_SUFFIX",
    "delete_golden",
    "golden_path",
    "list_goldens",
    "read_golden",
    "render_golden",
    "unused_goldens",
    "write_golden",
    "write_text_atomic",
]

GOLDEN_SUFFIX = ".json"


def golden_path(scenario_id: str, root: Path | str = Path("golden")) -> Path:
    """``<root>/<area>/<name>.json`` for the scenario id ``<area>/<name>``."""
    return Path(root) / f"{scenario_id}{GOLDEN_SUFFIX}"


def render_golden(data: dict[str, Any]) -> str:
    """The canonical text of a golden: sorted keys, indent 2, raw UTF-8 (no ``\\u`` escapes), final
    newline."""
    return json.dumps(data, sort_keys=True, indent=2, ensure_ascii=False) + "\n"


def read_golden(scenario_id: str, root: Path | str = Path("golden")) -> dict[str, Any] | None:
    """The golden document of a scenario, or ``None`` when there is none. Raises :class:`GoldenError` if
    unreadable."""
    path = golden_path(scenario_id, root)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise GoldenError(f"cannot read golden: {exc}", path=path) from exc
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise GoldenError(f"invalid JSON: {exc.msg}", path=path, line=exc.lineno, column=exc.colno) from exc
    if not isinstance(data, dict):
        raise GoldenError("a golden must be a JSON object", path=path, line=1, column=1)
    return data


def write_golden(scenario_id: str, data: dict[str, Any], root: Path | str = Path("golden")) -> Path:
    """Write a scenario's golden atomically; returns its path."""
    path = golden_path(scenario_id, root)
    try:
        write_text_atomic(path, render_golden(data))
    except OSError as exc:
        raise GoldenError(f"cannot write golden: {exc}", path=path) from exc
    return path


def delete_golden(scenario_id: str, root: Path | str = Path("golden")) -> bool:
    """Remove a golden (and its directory when it becomes empty); whether there was one."""
    path = golden_path(scenario_id, root)
    try:
        path.unlink()
    except FileNotFoundError:
        return False
    with contextlib.suppress(OSError):
        path.parent.rmdir()
    return True


def list_goldens(root: Path | str = Path("golden")) -> list[str]:
    """Ids of every golden under ``root`` (temp files of interrupted writes are ignored), sorted."""
    root = Path(root)
    if not root.is_dir():
        return []
    return sorted(
        p.relative_to(root).with_suffix("").as_posix()
        for p in root.rglob(f"*{GOLDEN_SUFFIX}")
        if p.is_file() and not p.name.startswith(".")
    )


def unused_goldens(root: Path | str, scenario_ids: Iterable[str]) -> list[str]:
    """Ids of goldens under ``root`` that belong to none of ``scenario_ids``."""
    known = set(scenario_ids)
    return [sid for sid in list_goldens(root) if sid not in known]
