"""Turn input for ``turn/start``: a string, or parts (text and local images).

The app-server takes ``input: [{"type":"text","text":…}, {"type":"localImage","path":…}, …]``. The exec
transport's spelling ``local_image`` is accepted too (so one scenario input drives both transports), and a
path may be any :class:`os.PathLike`. Parts of other types are passed through unchanged: the protocol grows
input kinds (``image`` URLs, ``skill``, ``mention``) and the client should not be the one to refuse them.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

from harness.reference.errors import InvalidOptionsError

__all__ = ["TurnInput", "build_input"]

TurnInput = str | Sequence[Mapping[str, Any]]


def build_input(value: TurnInput) -> list[dict[str, Any]]:
    """The wire ``input`` list for ``value``; :class:`InvalidOptionsError` for a malformed part."""
    if isinstance(value, str):
        return [{"type": "text", "text": value}]
    parts: list[dict[str, Any]] = []
    for index, part in enumerate(value):
        if not isinstance(part, Mapping):
            raise InvalidOptionsError(f"input[{index}]: expected an object, got {type(part).__name__}")
        kind = part.get("type")
        if kind == "text":
            text = part.get("text")
            if not isinstance(text, str):
                raise InvalidOptionsError(f"input[{index}].text: expected a string")
            parts.append({**part, "text": text})
        elif kind in ("localImage", "local_image"):
            path = part.get("path")
            if not isinstance(path, str | os.PathLike):
                raise InvalidOptionsError(f"input[{index}].path: expected a path")
            extra = {k: v for k, v in part.items() if k not in ("type", "path")}
            parts.append({"type": "localImage", "path": os.fspath(path), **extra})
        elif isinstance(kind, str):
            parts.append(dict(part))
        else:
            raise InvalidOptionsError(f"input[{index}].type: expected a string")
    return parts
