"""Compile a :class:`Plan` into a directory holding a fast, self-contained fake ``codex`` executable.

Why compile: an SDK test suite spawns codex once per turn, and a Python fake costs a Python start-up
(30-150 ms) per turn. The compiled fake is one perl process (~3 ms, see ``benchmarks/fake_codex.py``) that
does no decision making: every step is turned here into a list of operations (write these bytes, sleep,
close stdout, hang, die by a signal, ...) and the pre-rendered stdout bytes are written to ``steps/<i>.out``.
The runtime is ``runtime.pl`` in this package; the layout of the directory is::

    <out_dir>/codex          the executable (a perl script: generated header + runtime.pl)
    <out_dir>/steps/<i>.out  the static stdout bytes of step i (lines with faults applied)
    <out_dir>/steps/<i>.err  the stderr text of step i, if any
    <out_dir>/steps/<i>.pl   the operations of step i
    <out_dir>/plan.json      what was compiled, for humans

Step state (which steps are used) lives beside the log, in the file ``<log>.state/<plan digest>``: the used
step indices, one a line, read and appended under an exclusive flock(2) so that racing invocations never take
the same step.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from harness.errors import HarnessError
from harness.fake.codex.launcher import launcher_path
from harness.fake.codex.plan import (
    BIG_LINE_PREFIX,
    BIG_LINE_SUFFIX,
    ECHO_PREFIX,
    ECHO_SUFFIX,
    SIGNALS,
    UNKNOWN_EVENT,
    UNKNOWN_ITEM,
    Plan,
    Step,
)

__all__ = [
    "CLOSE_STDOUT_LINGER_MS",
    "CompiledStep",
    "build_fake",
    "compile_step",
    "plan_digest",
    "state_file",
    "write_fake",
]

#: How long a step with ``close_stdout_after`` keeps running after closing stdout: long enough that an SDK
#: which treats stdout EOF as "process exited" is caught, short enough to keep suites fast.
CLOSE_STDOUT_LINGER_MS = 100

Op = tuple[Any, ...]


@dataclass(frozen=True)
class _Line:
    """One emitted line: static bytes, a runtime-generated big line, or the echo of stdin."""

    kind: str  # "static" | "big" | "echo"
    data: bytes = b""
    fill: int = 0


@dataclass(frozen=True)
class CompiledStep:
    resume: str | None
    ops: tuple[Op, ...]
    out: bytes
    err: bytes | None
    no_stdin: bool
    ignore_sigterm: bool


def _emitted(step: Step) -> list[tuple[_Line, bool]]:
    """The lines a step prints, in order, each with "is a source line" (inserts come before source line
    ``after``, i.e. right after the ``after``-th source line, in the order the faults are documented)."""
    f = step.faults
    inserts: dict[int, list[_Line]] = {}

    def add(after: int | None, line: _Line) -> None:
        if after is not None:
            inserts.setdefault(after, []).append(line)

    if f.malformed_line is not None:
        add(f.malformed_line.after, _Line("static", f.malformed_line.text.encode()))
    add(f.unknown_event_after, _Line("static", UNKNOWN_EVENT))
    add(f.unknown_item_after, _Line("static", UNKNOWN_ITEM))
    if f.big_line is not None:
        add(
            f.big_line.after,
            _Line("big", fill=f.big_line.bytes - len(BIG_LINE_PREFIX) - len(BIG_LINE_SUFFIX)),
        )
    add(f.echo_stdin_after, _Line("echo"))
    out: list[tuple[_Line, bool]] = []
    for pos in range(len(step.lines) + 1):
        out.extend((line, False) for line in inserts.get(pos, []))
        if pos < len(step.lines):
            out.append((_Line("static", step.lines[pos]), True))
    return out


def compile_step(step: Step) -> CompiledStep:
    """Turn a step into runtime operations; all fault semantics are decided here, none in the runtime."""
    f = step.faults
    ops: list[Op] = []
    out = bytearray()

    def write(data: bytes) -> None:
        if ops and ops[-1][0] == "W" and ops[-1][1] + ops[-1][2] == len(out):
            ops[-1] = ("W", ops[-1][1], ops[-1][2] + len(data))  # merge: one write(2) for adjacent lines
        else:
            ops.append(("W", len(out), len(data)))
        out.extend(data)

    if f.delay_before_ms:
        ops.append(("S", f.delay_before_ms))
    emitted = _emitted(step)
    limit = len(emitted)
    if f.hang_after_line is not None:
        limit = f.hang_after_line
    elif f.close_stdout_after is not None:
        limit = f.close_stdout_after
    for j, (line, is_source) in enumerate(emitted[:limit]):
        if j and f.delay_between_ms:
            ops.append(("S", f.delay_between_ms))
        last = j == len(emitted) - 1
        cut = f.cut_last_line and last
        newline = not cut and not (last and is_source and not step.final_newline)
        if line.kind == "static":
            write(line.data[: len(line.data) // 2] if cut else line.data + (b"\n" if newline else b""))
        elif line.kind == "big":
            ops.append(("B", BIG_LINE_PREFIX.hex(), line.fill, BIG_LINE_SUFFIX.hex(), int(cut)))
        else:
            ops.append(("E", ECHO_PREFIX.hex(), ECHO_SUFFIX.hex(), int(cut)))
    err = f.stderr.encode() if f.stderr else None
    if f.hang_after_line is not None:
        ops.extend([("R",)] if err else [])
        ops.append(("H",))
    elif f.close_stdout_after is not None:
        ops.extend([("C",), ("S", CLOSE_STDOUT_LINGER_MS)])
        ops.extend([("R",)] if err else [])
        ops.append(("X", f.exit_code))
    else:
        ops.extend([("R",)] if err else [])
        if f.signal is not None:
            ops.append(("K", f.signal, SIGNALS[f.signal]))
        else:
            ops.append(("X", f.exit_code))
    return CompiledStep(
        resume=step.resume,
        ops=tuple(ops),
        out=bytes(out),
        err=err,
        no_stdin=f.exit_before_stdin,
        ignore_sigterm=f.ignore_sigterm,
    )


def plan_digest(compiled: list[CompiledStep]) -> str:
    """Content hash of what the fake will do; names the step-state directory so that two executables built
    from the same plan share state and different plans sharing one log do not."""
    h = hashlib.sha256()
    for c in compiled:
        h.update(json.dumps([c.resume, c.ops, c.no_stdin, c.ignore_sigterm]).encode())
        h.update(hashlib.sha256(c.out).digest())
        h.update(hashlib.sha256(c.err or b"").digest())
    return h.hexdigest()[:20]


def state_file(log_path: Path, digest: str) -> Path:
    """The file where the fake built for ``digest`` records used steps when it logs to ``log_path``."""
    return Path(f"{log_path}.state") / digest


def _perl(value: Any) -> str:
    """Render a Python value as a perl literal; strings are hex so nothing ever needs quoting."""
    if value is None:
        return "undef"
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return f"h('{value.encode().hex()}')"
    if isinstance(value, tuple | list):
        return "[" + ",".join(_perl(v) for v in value) + "]"
    raise TypeError(value)


def _op(op: Op) -> str:
    # Operation codes and hex payloads are plain ASCII; keep them literal so the perl stays readable.
    parts = [f"'{op[0]}'"]
    for v in op[1:]:
        parts.append(f"'{v}'" if isinstance(v, str) else _perl(v))
    return "[" + ",".join(parts) + "]"


def _step_perl(c: CompiledStep) -> str:
    ops = ",\n  ".join(_op(op) for op in c.ops)
    flags = f"n=>{int(c.no_stdin)},t=>{int(c.ignore_sigterm)}"
    return f"# step operations, see runtime.pl\n{{{flags},o=>[\n  {ops}\n]}};\n"


def _perl_path() -> str:
    perl = shutil.which("perl") or ("/usr/bin/perl" if os.path.exists("/usr/bin/perl") else None)
    if perl is None:
        raise HarnessError("the compiled fake codex needs perl (any perl 5; perl-base is enough) on PATH")
    return perl


def _script(
    compiled: list[CompiledStep], *, out_dir: Path, plan_path: str, log_path: str, digest: str, source: str
) -> str:
    runtime = resources.files("harness.fake.codex").joinpath("runtime.pl").read_text(encoding="utf-8")
    resume = ",".join(_perl(c.resume) for c in compiled)
    return (
        f"#!{_perl_path()}\n"
        f"# Fake codex generated by harness.fake.codex from {source}. Do not edit: rebuild with build_fake().\n"
        f"our $DIR = {_perl(str(out_dir))};\n"
        f"our $PLAN_PATH = {_perl(plan_path)};\n"
        f"our $LOG_PATH = {_perl(log_path)};\n"
        f"our $HASH = '{digest}';\n"
        f"our $PY = {_perl(sys.executable)};\n"
        f"our $LAUNCHER = {_perl(str(launcher_path()))};\n"
        f"our @RESUME = ({resume});\n"
        f"{runtime}"
    )


def write_fake(
    plan: Plan, out_dir: Path, *, plan_path: str, log_path: str, final_dir: Path | None = None
) -> tuple[Path, str]:
    """Write the compiled fake into ``out_dir``; return ``(executable, plan digest)``.

    ``plan_path``/``log_path`` are baked in (``""``: none); ``final_dir`` is the directory the executable will
    live in when it differs from ``out_dir`` (the cache compiles in a temp dir, then renames it into place)."""
    compiled = [compile_step(s) for s in plan.steps]
    digest = plan_digest(compiled)
    out_dir.mkdir(parents=True, exist_ok=True)
    steps_dir = out_dir / "steps"
    if steps_dir.exists():
        shutil.rmtree(steps_dir)
    steps_dir.mkdir()
    for i, c in enumerate(compiled):
        (steps_dir / f"{i}.out").write_bytes(c.out)
        if c.err is not None:
            (steps_dir / f"{i}.err").write_bytes(c.err)
        (steps_dir / f"{i}.pl").write_text(_step_perl(c), encoding="utf-8")
    summary = {
        "source": str(plan.source) if plan.source else None,
        "digest": digest,
        "log": log_path or None,
        "steps": [
            {
                "resume": c.resume,
                "ops": c.ops,
                "read_stdin": not c.no_stdin,
                "ignore_sigterm": c.ignore_sigterm,
            }
            for c in compiled
        ],
    }
    (out_dir / "plan.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    exe = out_dir / "codex"
    tmp = out_dir / ".codex.tmp"
    source = str(plan.source) if plan.source else "a mapping"
    tmp.write_text(
        _script(
            compiled,
            out_dir=final_dir or out_dir,
            plan_path=plan_path,
            log_path=log_path,
            digest=digest,
            source=source,
        ),
        encoding="utf-8",
    )
    tmp.chmod(0o755)
    os.replace(tmp, exe)  # atomic: never hand out a half-written executable
    return exe, digest


def build_fake(plan: Plan, out_dir: Path, *, log_path: Path) -> Path:
    """Compile ``plan`` into ``out_dir`` and return the executable to hand to an SDK as its codex path.

    The plan and ``log_path`` are baked in, so the fake works when an SDK replaces the environment; when set,
    ``HARNESS_FAKE_LOG`` still overrides the log and ``HARNESS_FAKE_PLAN`` (naming another plan) makes the
    executable defer to ``harness-fake-codex``. Building resets the step state for this plan and log, so the
    next invocation gets the first step again; the log itself is not truncated.
    """
    out_dir = Path(out_dir).absolute()
    log_path = Path(log_path).absolute()
    plan_path = str(plan.source.absolute()) if plan.source else ""
    exe, digest = write_fake(plan, out_dir, plan_path=plan_path, log_path=str(log_path))
    state = state_file(log_path, digest)
    state.parent.mkdir(parents=True, exist_ok=True)
    state.unlink(missing_ok=True)
    return exe
