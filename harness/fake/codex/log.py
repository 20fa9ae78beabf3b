"""Reading the invocation log the fake codex appends to (one JSON object per line, one line per invocation).

The fake writes each record with a single write(2) on an O_APPEND handle, so a line is either wholly present
or absent even when invocations run concurrently; a malformed line therefore means the file was not written
by the fake, and is an error rather than something to skip.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.errors import HarnessError

__all__ = ["ENV_KEYS", "ImageRecord", "Invocation", "ProcessRecord", "read_ends", "read_log"]

#: The environment variables every record carries (``None`` when unset): what an SDK sets for codex. A record also
#: carries every other ``CODEX_*``/``OPENAI_*`` variable and ``RUST_LOG`` that was set (sorted, after these).
ENV_KEYS = (
    "CODEX_API_KEY",
    "CODEX_INTERNAL_ORIGINATOR_OVERRIDE",
    "OPENAI_BASE_URL",
    "CODEX_HOME",
    "OPENAI_API_KEY",
    "PATH",
)


@dataclass(frozen=True)
class ImageRecord:
    """One ``--image``/``-i`` value as the fake saw it when it started, i.e. when codex would read the attachment.

    ``path`` is the value as given (relative to the invocation's ``cwd``; a comma-separated value is split, as codex
    splits it); ``sha256`` is the hex digest of the file's content, ``None`` when it is not a readable regular file
    (or, on a perl without ``Digest::SHA``, always)."""

    path: str
    exists: bool
    sha256: str | None

    @classmethod
    def from_json(cls, data: Any) -> ImageRecord:
        exists = data["exists"]
        if not isinstance(exists, bool):
            raise TypeError(f"images[].exists must be a boolean, got {exists!r}")
        return cls(path=str(data["path"]), exists=exists, sha256=data["sha256"])


@dataclass(frozen=True)
class Invocation:
    """One run of the fake codex.

    ``step`` is the plan step index that answered, ``None`` when no step was left (the fake exited 1).
    ``stdin`` is ``None`` when the step had ``exit_before_stdin``; ``output_schema`` is the content of the
    ``--output-schema`` file, ``None`` without the flag or when the file could not be read. Bytes that are not
    UTF-8 arrive as U+FFFD. ``env`` is a dict, so an Invocation compares by value but is not hashable.
    ``images`` lists the ``--image`` values in argv order; ``()`` when there were none (the record then has no
    ``images`` key at all, so logs written before the field existed read the same).
    """

    step: int | None
    argv: tuple[str, ...]
    stdin: str | None
    cwd: str
    env: dict[str, str | None]
    output_schema: str | None
    images: tuple[ImageRecord, ...] = ()
    #: The fake's own process (pid, process group, /proc starttime), for the leak probes; not part of equality
    #: (it differs on every run). ``None`` in logs written before the field existed.
    process: ProcessRecord | None = dataclasses.field(default=None, compare=False)

    @classmethod
    def from_json(cls, data: Any) -> Invocation:
        env = data["env"]
        return cls(
            step=data["step"],
            argv=tuple(data["argv"]),
            stdin=data["stdin"],
            cwd=data["cwd"],
            env={k: env.get(k) for k in ENV_KEYS} | dict(env),
            output_schema=data["output_schema"],
            images=tuple(ImageRecord.from_json(i) for i in data.get("images", ())),
            process=ProcessRecord.from_json(data) if "pid" in data else None,
        )


@dataclass(frozen=True)
class ProcessRecord:
    """Which process an invocation was: ``starttime`` (field 22 of ``/proc/<pid>/stat``) tells it from a later
    process given the same pid, so the harness never mistakes -- or kills -- a stranger."""

    pid: int
    pgid: int
    starttime: int | None

    @classmethod
    def from_json(cls, data: Any) -> ProcessRecord:
        return cls(pid=int(data["pid"]), pgid=int(data.get("pgid", data["pid"])), starttime=data.get("starttime"))


def read_ends(log_path: Path) -> dict[tuple[int, int | None], str]:
    """How each fake process ended, from ``<log>.ends``: ``(pid, starttime) -> "exit" | "SIGTERM" | ...``. A process
    without an entry was killed by SIGKILL (or crashed) -- or is still running."""
    try:
        raw = Path(f"{log_path}.ends").read_bytes()
    except FileNotFoundError:
        return {}
    ends: dict[tuple[int, int | None], str] = {}
    for line in raw.split(b"\n"):
        if line:
            record = json.loads(line)
            ends.setdefault((int(record["pid"]), record.get("starttime")), str(record["ended_by"]))
    return ends


def read_log(log_path: Path) -> list[Invocation]:
    """All invocations recorded in ``log_path``, oldest first; ``[]`` when the fake was never run."""
    log_path = Path(log_path)
    try:
        raw = log_path.read_bytes()
    except FileNotFoundError:
        return []
    out: list[Invocation] = []
    for number, line in enumerate(raw.split(b"\n"), start=1):
        if not line:
            continue
        try:
            out.append(Invocation.from_json(json.loads(line.decode("utf-8", errors="replace"))))
        except (ValueError, KeyError, TypeError) as exc:
            raise HarnessError(f"{log_path}:{number}: not a fake-codex invocation record: {exc}") from None
    return out
