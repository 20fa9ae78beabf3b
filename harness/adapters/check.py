"""``harness adapters check``: a protocol-conformance check of one adapter, independent of what its SDK does.

:class:`~harness.adapters.client.AdapterClient` *tolerates* misbehaviour (every case still gets a result), so a
parity run never says plainly that an adapter breaks the protocol. This module drives an adapter over the raw
wire instead and judges each rule of docs/adapters.md separately, so an author sees *which* rule fails and the
line that showed it (docs/adapter-check.md)::

    start-reply          the start reply is one JSON line matching start-reply.json
    run-reply            a healthy case is answered with a valid run-reply that is not `errored`
    seq-echo             every run reply echoes the request's seq
    one-reply            exactly one line per request (nothing after a reply, nothing after stop's reply)
    stdout-clean         every line on stdout is a JSON object (stderr is free)
    run-timely           every request is answered within its timeout (a hang is this failure, not the checker's)
    sdk-error-observed   an SDK failure (the fake codex exits 1) is an observation with `error`, not `errored`
    stop-clean           stop is answered {"ok": true} and the process exits 0 within the timeout
    restart              after SIGKILL of its process group mid-session, a fresh process answers start + a run

The probe cases are real scenarios built by the scenario transports (:mod:`harness.scenario.transports`), the way
the parity matrix builds them: a fake codex plan (a healthy turn; a codex that exits 1 with a stderr message) for
exec, a fake app-server replaying a recorded session (as recorded; crashing mid-turn) for app-server-only adapters.

The wire is one small seam (:class:`Session`, opened by a :data:`Launcher`): :class:`ProcessSession` spawns the
adapter in its own process group (and always SIGKILLs that group at the end); :class:`ScriptedSession` answers
from a Python function, for fast tests of the rules themselves.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import os
import shutil
import signal
import tempfile
from collections.abc import Awaitable, Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal, Protocol

import yaml

from harness.adapters.protocol import SchemaName, dumps, schema_errors
from harness.errors import HarnessError
from harness.redact import redact_text

__all__ = [
    "RULES",
    "CheckOptions",
    "CheckReport",
    "CheckUsageError",
    "Launcher",
    "Probe",
    "ProbeFactory",
    "ProcessSession",
    "Rule",
    "RuleResult",
    "ScriptedSession",
    "Session",
    "check_adapter",
    "check_command",
    "process_launcher",
    "scripted_launcher",
]

#: How much of an offending line a failure quotes.
QUOTE_LIMIT = 240


class CheckUsageError(HarnessError):
    """The check cannot be run at all (no command, a command that does not exist): exit status 2."""


@dataclasses.dataclass(frozen=True)
class Rule:
    """One named check; ``id`` is stable (scripts and CI grep for it)."""

    id: str
    summary: str


RULES: tuple[Rule, ...] = (
    Rule("start-reply", "the start reply is one JSON line matching start-reply.json"),
    Rule("run-reply", "a healthy case gets a valid run-reply that is not `errored`"),
    Rule("seq-echo", "every run reply echoes the request's seq"),
    Rule("one-reply", "exactly one stdout line per request, none after stop's reply"),
    Rule("stdout-clean", "every stdout line is a JSON object (stderr is free)"),
    Rule("run-timely", "every request is answered within its timeout"),
    Rule("sdk-error-observed", "an SDK failure (fake codex fails) is an observation with `error`, not `errored`"),
    Rule("stop-clean", 'stop is answered {"ok": true}, then the process exits 0 within the timeout'),
    Rule("restart", "after SIGKILL of the process group mid-session, a fresh process answers start + run again"),
)

Status = Literal["pass", "fail", "not_run"]


@dataclasses.dataclass(frozen=True)
class RuleResult:
    """The verdict on one rule: ``fail`` carries the evidence (redacted, truncated); ``not_run`` says which
    earlier failure made the rule impossible to check (it counts as a failure for the exit status)."""

    id: str
    summary: str
    status: Status
    detail: str | None = None

    @property
    def passed(self) -> bool:
        return self.status == "pass"

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "summary": self.summary, "status": self.status, "detail": self.detail}


@dataclasses.dataclass(frozen=True)
class CheckReport:
    """Every rule's verdict, in :data:`RULES` order, and what the adapter announced (if it did)."""

    command: tuple[str, ...]
    transport: str | None
    implementation: Mapping[str, Any] | None
    results: tuple[RuleResult, ...]
    stderr_tail: str = ""

    @property
    def passed(self) -> bool:
        return all(r.passed for r in self.results)

    def to_dict(self) -> dict[str, Any]:
        return {
            "command": list(self.command),
            "transport": self.transport,
            "implementation": dict(self.implementation) if self.implementation is not None else None,
            "passed": self.passed,
            "rules": [r.to_dict() for r in self.results],
            "stderr_tail": self.stderr_tail,
        }

    def to_text(self) -> str:
        """One line per rule (``PASS``/``FAIL``/``N/A``), each failure's evidence indented under it."""
        marks = {"pass": "PASS", "fail": "FAIL", "not_run": "N/A "}
        lines = []
        if self.implementation is not None:
            impl = self.implementation
            lines.append(f"adapter: {impl.get('name')} {impl.get('version')} ({impl.get('language')}), "
                         f"transport: {self.transport}")
        for r in self.results:
            lines.append(f"{marks[r.status]}  {r.id:<19} {r.summary}")
            if r.detail:
                lines.extend(f"        {part}" for part in r.detail.splitlines())
        failed = sum(not r.passed for r in self.results)
        lines.append(f"{len(self.results) - failed}/{len(self.results)} rules pass")
        return "\n".join(lines)


@dataclasses.dataclass(frozen=True)
class CheckOptions:
    """Timeouts in seconds. ``transport``: ``auto`` checks app-server when the adapter announces
    ``transport:app-server`` (the peers that speak nothing else), exec otherwise."""

    start_timeout: float = 30.0
    run_timeout: float = 30.0
    stop_timeout: float = 5.0
    quiet: float = 0.3
    transport: Literal["auto", "exec", "app-server"] = "auto"


def quote(line: bytes | str) -> str:
    """An offending line as evidence: decoded, secrets redacted, truncated."""
    text = line.decode("utf-8", errors="replace") if isinstance(line, bytes) else line
    text = redact_text(text.rstrip("\r\n"))
    return repr(text if len(text) <= QUOTE_LIMIT else text[:QUOTE_LIMIT] + "...")


# ------------------------------------------------------------------------------------------------ the wire seam


class Session(Protocol):
    """One adapter process (or its stand-in). ``read_line`` returns ``None`` at EOF and raises ``TimeoutError``."""

    async def send(self, message: Mapping[str, Any]) -> None: ...

    async def read_line(self, timeout: float) -> bytes | None: ...

    async def extra_lines(self, quiet: float) -> list[bytes]:
        """Lines that arrive within ``quiet`` seconds although no request is outstanding."""
        ...

    async def wait_exit(self, timeout: float) -> int | None:
        """The exit status once the process exits within ``timeout`` (stdin closed first), else ``None``."""
        ...

    async def kill(self) -> None:
        """SIGKILL the whole process group and reap it."""
        ...

    def stderr_tail(self) -> str: ...


Launcher = Callable[[], Awaitable[Session]]


class ProcessSession:
    """An adapter process in its own session/process group; stdout lines are queued by a reader task, stderr
    is drained (kept: the last 8 KiB) so a chatty adapter never blocks on a full pipe."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self._process = process
        self._lines: asyncio.Queue[bytes | None] = asyncio.Queue()
        self._stderr = bytearray()
        assert process.stdout is not None and process.stderr is not None
        loop = asyncio.get_running_loop()
        self._tasks = [loop.create_task(self._read_stdout(process.stdout)),
                       loop.create_task(self._read_stderr(process.stderr))]

    @classmethod
    async def spawn(cls, argv: Sequence[str], *, env: Mapping[str, str] | None = None) -> ProcessSession:
        process = await asyncio.create_subprocess_exec(
            *argv, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
            env=None if env is None else dict(env), start_new_session=True, limit=256 * 1024 * 1024,
        )
        return cls(process)

    async def _read_stdout(self, stream: asyncio.StreamReader) -> None:
        while line := await stream.readline():
            await self._lines.put(line)
        await self._lines.put(None)

    async def _read_stderr(self, stream: asyncio.StreamReader) -> None:
        while chunk := await stream.read(65536):
            self._stderr += chunk
            del self._stderr[:-8192]

    async def send(self, message: Mapping[str, Any]) -> None:
        stdin = self._process.stdin
        assert stdin is not None
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            stdin.write(dumps(message).encode("utf-8") + b"\n")
            await stdin.drain()

    async def read_line(self, timeout: float) -> bytes | None:
        return await asyncio.wait_for(self._lines.get(), timeout)

    async def extra_lines(self, quiet: float) -> list[bytes]:
        await asyncio.sleep(quiet)
        out: list[bytes] = []
        while not self._lines.empty():
            line = self._lines.get_nowait()
            if line is None:
                self._lines.put_nowait(None)  # EOF stays visible to a later read
                break
            out.append(line)
        return out

    async def wait_exit(self, timeout: float) -> int | None:
        stdin = self._process.stdin
        if stdin is not None:
            with contextlib.suppress(Exception):
                stdin.close()
        try:
            return await asyncio.wait_for(self._process.wait(), timeout)
        except TimeoutError:
            return None

    async def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self._process.pid, signal.SIGKILL)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._process.wait(), 5.0)
        for task in self._tasks:
            with contextlib.suppress(TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(task, 1.0)

    def stderr_tail(self) -> str:
        return redact_text(self._stderr.decode("utf-8", errors="replace"))


#: A scripted adapter: given each request, the stdout lines it prints (``[]``: it never answers), or ``None``
#: to exit with status 1.
Script = Callable[[dict[str, Any]], list[bytes] | None]


class ScriptedSession:
    """An in-process stand-in for an adapter, answering each request through ``script``; ``exit_code`` is the
    status it "exits" with after ``stop`` or EOF."""

    def __init__(self, script: Script, *, exit_code: int = 0) -> None:
        self._script = script
        self._exit_code = exit_code
        self._lines: list[bytes | None] = []
        self._exited: int | None = None

    async def send(self, message: Mapping[str, Any]) -> None:
        if self._exited is not None:
            return
        lines = self._script(json.loads(dumps(message)))
        if lines is None:
            self._exited = 1
            self._lines.append(None)
            return
        self._lines.extend(lines)
        if message.get("cmd") == "stop":
            self._exited = self._exit_code
            self._lines.append(None)

    async def read_line(self, timeout: float) -> bytes | None:
        if not self._lines:
            await asyncio.sleep(timeout)
            raise TimeoutError
        return self._lines.pop(0)

    async def extra_lines(self, quiet: float) -> list[bytes]:
        out: list[bytes] = []
        while self._lines and self._lines[0] is not None:
            line = self._lines.pop(0)
            assert line is not None
            out.append(line)
        return out

    async def wait_exit(self, timeout: float) -> int | None:
        if self._exited is None:
            self._exited = self._exit_code
        return self._exited

    async def kill(self) -> None:
        self._exited = -signal.SIGKILL

    def stderr_tail(self) -> str:
        return ""


def process_launcher(argv: Sequence[str], *, env: Mapping[str, str] | None = None) -> Launcher:
    """Spawn ``argv`` for each session; a missing executable is :class:`CheckUsageError` (exit 2)."""
    if not argv:
        raise CheckUsageError("adapters check: no command given")
    exe = argv[0]
    if shutil.which(exe) is None:
        raise CheckUsageError(f"adapters check: command not found: {exe}")

    async def launch() -> Session:
        try:
            return await ProcessSession.spawn(argv, env=env)
        except OSError as exc:
            raise CheckUsageError(f"adapters check: cannot start {exe}: {exc.strerror or exc}") from exc

    return launch


def scripted_launcher(script: Script, *, exit_code: int = 0) -> Launcher:
    """A fresh :class:`ScriptedSession` per session."""

    async def launch() -> Session:
        return ScriptedSession(script, exit_code=exit_code)

    return launch


# ------------------------------------------------------------------------------------------------------ probes

_EVENTS = [
    {"type": "thread.started", "thread_id": "0199a000-0000-7000-8000-0000000c4ec1"},
    {"type": "turn.started"},
    {"type": "item.completed", "item": {"id": "item_0", "type": "agent_message", "text": "Hello from the check"}},
    {"type": "turn.completed", "usage": {"input_tokens": 10, "cached_input_tokens": 0, "output_tokens": 5}},
]
_RECORDING = "fixtures/appserver/0.171.0/minimal_turn.jsonl"

#: The probe scenarios of each transport: a healthy case (``ok``) and one whose codex fails (``fail``).
_PROBES: dict[str, dict[str, dict[str, Any]]] = {
    "exec": {
        "ok": {"title": "check: a healthy turn", "plan": {"steps": [{"events": _EVENTS}]},
               "input": "Say hello", "mode": "run", "options": {"thread": {"skip_git_repo_check": True}}},
        "fail": {"title": "check: codex exits 1", "plan": {"steps": [{"events": _EVENTS[:2], "faults": {
                     "exit_code": 1, "stderr": "fake codex: deliberate failure for adapters check\n"}}]},
                 "input": "Say hello", "mode": "run", "options": {"thread": {"skip_git_repo_check": True}}},
    },
    "app-server": {
        "ok": {"title": "check: a healthy app-server turn", "transport": "app-server",
               "plan": {"recording": _RECORDING}, "input": "Say hello",
               "options": {"thread": {"approval_policy": "never", "sandbox_mode": "workspace-write"}}},
        "fail": {"title": "check: the app-server crashes mid-turn", "transport": "app-server",
                 "plan": {"recording": _RECORDING, "faults": {"crash_mid_turn": True}}, "input": "Say hello",
                 "options": {"thread": {"approval_policy": "never", "sandbox_mode": "workspace-write"}}},
    },
}


def _project_root() -> Path:
    """The built-in corpus's root (holding ``fixtures/``): the checkout, or the installed package's ``_corpus``."""
    from harness.corpus import builtin_corpus

    return builtin_corpus().root


@dataclasses.dataclass(frozen=True)
class Probe:
    """One run request's worth: the case, the fake it is pointed at, its workdir."""

    case: dict[str, Any]
    codex_path: str
    workdir: str


class ProbeFactory:
    """Builds a fresh fake (and its case) for every run, through the scenario transports."""

    def __init__(self, transport: str, scratch: Path) -> None:
        self.transport = transport
        self._scratch = scratch
        self._count = 0

    def build(self, kind: Literal["ok", "fail"]) -> Probe:
        from harness.scenario.load import load_scenario
        from harness.scenario.transports import transport_for

        self._count += 1
        folder = self._scratch / "check"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{kind}.yaml"
        path.write_text(yaml.safe_dump(_PROBES[self.transport][kind]), encoding="utf-8")
        scenario = load_scenario(path, root=_project_root() / "scenarios")
        transport = transport_for(scenario)
        prepared = transport.prepare(scenario, self._scratch / f"run-{self._count}")
        return Probe(transport.case(scenario, prepared), str(prepared.fake), str(prepared.workdir))


# ------------------------------------------------------------------------------------------------------ judging


class _Verdicts:
    """Collects failures per rule (first evidence wins, later ones are counted) and marks rules not run."""

    def __init__(self) -> None:
        self.failures: dict[str, list[str]] = {}
        self.not_run: dict[str, str] = {}
        self.checked: set[str] = set()

    def ok(self, rule: str) -> None:
        self.checked.add(rule)

    def fail(self, rule: str, evidence: str) -> None:
        self.checked.add(rule)
        seen = self.failures.setdefault(rule, [])
        if evidence not in seen:  # the same fault in both sessions is one piece of evidence
            seen.append(evidence)

    def skip(self, rule: str, why: str) -> None:
        if rule not in self.checked:
            self.not_run.setdefault(rule, why)

    def results(self) -> tuple[RuleResult, ...]:
        out = []
        for rule in RULES:
            if rule.id in self.failures:
                evidence = self.failures[rule.id]
                more = f"\n(+{len(evidence) - 3} more)" if len(evidence) > 3 else ""
                out.append(RuleResult(rule.id, rule.summary, "fail", "\n".join(evidence[:3]) + more))
            elif rule.id in self.checked:
                out.append(RuleResult(rule.id, rule.summary, "pass"))
            else:
                why = self.not_run.get(rule.id, "not reached")
                out.append(RuleResult(rule.id, rule.summary, "not_run", f"not checked: {why}"))
        return tuple(out)


class _Hung(Exception):
    pass


class _Gone(Exception):
    pass


class _Checker:
    def __init__(self, launch: Launcher, options: CheckOptions, scratch: Path) -> None:
        self.launch = launch
        self.options = options
        self.scratch = scratch
        self.v = _Verdicts()
        self.seq = 0
        self.implementation: dict[str, Any] | None = None
        self.transport: str | None = None
        self.probes: ProbeFactory | None = None
        self.stderr = ""
        #: The rule the request in flight belongs to (an adapter that dies on it fails that rule).
        self.step = "start-reply"

    async def _reply(self, session: Session, what: str, timeout: float) -> dict[str, Any]:
        """The next JSON-object line; non-JSON lines before it are stdout-clean violations."""
        while True:
            try:
                line = await session.read_line(timeout)
            except TimeoutError:
                self.v.fail("run-timely", f"{what}: no reply within {timeout:g} s")
                raise _Hung from None
            if line is None:
                raise _Gone(f"{what}: the adapter closed stdout / exited without replying")
            try:
                data = json.loads(line)
            except ValueError:
                data = None
            if isinstance(data, dict):
                self.v.ok("run-timely")
                self.v.ok("stdout-clean")
                return data
            self.v.fail("stdout-clean", f"{what}: a stdout line that is not a JSON object: {quote(line)}")

    async def _extras(self, session: Session, after: str) -> None:
        self.v.ok("one-reply")
        for line in await session.extra_lines(self.options.quiet):
            self.v.fail("one-reply", f"an extra stdout line after the reply to {after}: {quote(line)}")
            try:
                is_json = isinstance(json.loads(line), dict)
            except ValueError:
                is_json = False
            if not is_json:
                self.v.fail("stdout-clean", f"after the reply to {after}: not a JSON object: {quote(line)}")

    def _schema(self, name: SchemaName, data: Any) -> list[str]:
        return schema_errors(name, data)

    async def _start(self, session: Session, *, rule: str) -> bool:
        await session.send({"cmd": "start", "version": 1})
        reply = await self._reply(session, "start", self.options.start_timeout)
        problems = self._schema("start-reply", reply)
        if problems:
            self.v.fail(rule, f"start reply does not match start-reply.json: {'; '.join(problems)}: "
                              f"{quote(json.dumps(reply))}")
            return False
        self.v.ok(rule)
        if self.implementation is None:
            self.implementation = reply["implementation"]
        await self._extras(session, "start")
        return True

    def _choose_transport(self) -> str:
        if self.options.transport != "auto":
            return self.options.transport
        assert self.implementation is not None
        return "app-server" if "transport:app-server" in self.implementation.get("capabilities", []) else "exec"

    async def _run(self, session: Session, kind: Literal["ok", "fail"]) -> dict[str, Any]:
        assert self.probes is not None
        probe = self.probes.build(kind)
        self.seq += 1
        seq = self.seq
        await session.send({"cmd": "run", "seq": seq, "case": probe.case, "codex_path": probe.codex_path,
                            "workdir": probe.workdir})
        reply = await self._reply(session, f"run seq {seq}", self.options.run_timeout)
        if reply.get("seq") != seq:
            self.v.fail("seq-echo", f"run seq {seq}: the reply echoes seq {reply.get('seq')!r}: "
                                    f"{quote(json.dumps(reply))}")
        else:
            self.v.ok("seq-echo")
        await self._extras(session, f"run seq {seq}")
        return reply

    def _judge_ok(self, reply: dict[str, Any], rule: str, label: str) -> None:
        problems = self._schema("run-reply", reply)
        if problems:
            self.v.fail(rule, f"{label}: the reply does not match run-reply.json: {'; '.join(problems)}")
        elif "errored" in reply:
            self.v.fail(rule, f"{label}: a healthy case was answered `errored`: {quote(json.dumps(reply))}")
        else:
            self.v.ok(rule)

    def _judge_fail(self, reply: dict[str, Any]) -> None:
        rule = "sdk-error-observed"
        observation = reply.get("observation")
        if self._schema("run-reply", reply):
            self.v.fail(rule, f"the reply does not match run-reply.json: {'; '.join(self._schema('run-reply', reply))}")
        elif not isinstance(observation, dict):
            shape = next((k for k in ("errored", "skipped") if k in reply), "?")
            self.v.fail(rule, f"codex failed, the adapter answered `{shape}` instead of an observation with "
                              f"`error`: {quote(json.dumps(reply))}")
        elif observation.get("error") is None:
            self.v.fail(rule, "codex failed, but the observation's `error` is null")
        else:
            self.v.ok(rule)

    async def _stop(self, session: Session) -> None:
        await session.send({"cmd": "stop"})
        try:
            reply = await self._reply(session, "stop", self.options.stop_timeout)
        except _Hung:
            self.v.fail("stop-clean", f"no reply to stop within {self.options.stop_timeout:g} s")
            return
        except _Gone as gone:
            self.v.fail("stop-clean", str(gone))
            return
        if reply.get("ok") is not True or self._schema("stop-reply", reply):
            self.v.fail("stop-clean", f"the stop reply does not match stop-reply.json: {quote(json.dumps(reply))}")
        await self._extras(session, "stop")
        code = await session.wait_exit(self.options.stop_timeout)
        while True:  # anything printed before exit is still an extra line
            try:
                line = await session.read_line(0.05)
            except TimeoutError:
                break
            if line is None:
                break
            self.v.fail("one-reply", f"a stdout line after the reply to stop: {quote(line)}")
        if code is None:
            self.v.fail("stop-clean", f"still running {self.options.stop_timeout:g} s after its stop reply")
        elif code != 0:
            self.v.fail("stop-clean", f"exited with status {code} after stop (expected 0)")
        else:
            self.v.ok("stop-clean")

    async def first_session(self) -> bool:
        """start, a healthy run, a failing run, then SIGKILL mid-session. False if the adapter never started."""
        session = await self.launch()
        try:
            if not await self._start(session, rule="start-reply"):
                return False
            self.transport = self._choose_transport()
            self.probes = ProbeFactory(self.transport, self.scratch)
            self.step = "run-reply"
            self._judge_ok(await self._run(session, "ok"), "run-reply", "run seq 1")
            self.step = "sdk-error-observed"
            self._judge_fail(await self._run(session, "fail"))
            return True
        except _Hung:
            if self.implementation is None:
                self.v.fail("start-reply", f"no reply to start within {self.options.start_timeout:g} s")
            self._not_run("the adapter hung on an earlier request")
            return self.implementation is not None
        except _Gone as gone:
            self.v.fail(self.step, str(gone))  # the rule of the request it died on
            self._not_run("the adapter exited on an earlier request")
            return self.implementation is not None
        finally:
            self.stderr = session.stderr_tail()
            await session.kill()  # the crash half of `restart`, and the cleanup of a hang

    async def second_session(self) -> None:
        """A fresh process after the SIGKILL: start + a healthy run must work again; then a clean stop."""
        session = await self.launch()
        try:
            started = await self._start(session, rule="restart")
            if started:
                if self.probes is None:
                    self.transport = self._choose_transport()
                    self.probes = ProbeFactory(self.transport, self.scratch)
                reply = await self._run(session, "ok")
                problems = self._schema("run-reply", reply)  # its shape is run-reply's business, not restart's
                if problems:
                    self.v.fail("restart", f"after the restart, run: not a valid run-reply: {'; '.join(problems)}")
                else:
                    self.v.ok("restart")
                await self._stop(session)
        except _Hung:
            self.v.fail("restart", "the restarted adapter did not answer in time")
            self.v.skip("stop-clean", "the restarted adapter hung")
        except _Gone as gone:
            self.v.fail("restart", f"after the restart: {gone}")
            self.v.skip("stop-clean", "the restarted adapter exited")
        finally:
            self.stderr = self.stderr or session.stderr_tail()
            await session.kill()

    def _not_run(self, why: str) -> None:
        for rule in RULES:
            if rule.id not in ("restart", "stop-clean"):
                self.v.skip(rule.id, why)


async def check_adapter(
    launch: Launcher, *, options: CheckOptions | None = None, command: Sequence[str] = ()
) -> CheckReport:
    """Judge every rule of :data:`RULES` against the adapter ``launch`` opens (two sessions: the first ends in
    SIGKILL, the second checks the restart and ``stop``). Every process started is killed before returning."""
    options = options or CheckOptions()
    with tempfile.TemporaryDirectory(prefix="harness-check-") as scratch:
        checker = _Checker(launch, options, Path(scratch))
        if await checker.first_session():
            await checker.second_session()
        else:
            for rule in RULES:
                checker.v.skip(rule.id, "the adapter did not start")
        return CheckReport(tuple(command), checker.transport, checker.implementation, checker.v.results(),
                           checker.stderr[-2000:])


def check_command(argv: Sequence[str], *, options: CheckOptions | None = None) -> CheckReport:
    """:func:`check_adapter` for a command line (synchronous: the CLI's entry point)."""
    launch = process_launcher(argv)
    return asyncio.run(check_adapter(launch, options=options, command=argv))
