"""Live mode's sandboxed half: ``python -m harness.real.live JOB.json`` runs one scenario's reference turns
against the **real** codex, inside the loopback-only namespace.

Why a worker: the real binary may only run in a namespace holding nothing but ``lo``
(:mod:`harness.real.sandbox`), and the fake Responses server it talks to must live in the same namespace. So the
host (:class:`harness.scenario.transports.live.LiveExecTransport`) prepares the run's folders, writes a job and
spawns this module through an :class:`~harness.real.sandbox.Isolation`; here we check the namespace once more,
start the server scripted from the catalogue case, drive the reference SDK exactly as the replay does (the SDK
spawns codex through a *recording shim*, so ``invocations`` are observed the same way as with the fake), and
write ``result.json`` with one record per turn.

:func:`write_shim` writes that shim: a tiny script that logs argv, stdin, cwd, env and each ``--image`` file (in the
fake codex's log format, :func:`harness.fake.read_log`) and then ``exec``\\ s the real binary with the same stdin,
so signals from the SDK reach codex itself.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from harness.real.sandbox import FAKE_PORT, require_loopback_only

__all__ = ["LiveJob", "main", "run_job", "write_shim"]

_SHIM = r'''#!{python} -I
"""Recording shim for live mode (harness.real.live): log this invocation, then exec the real codex."""
import hashlib, json, os, sys, tempfile

BINARY = {binary!r}
LOG = {log!r}
KEYS = {keys!r}
argv = sys.argv[1:]
data = sys.stdin.buffer.read()
images = []
for flag, value in zip(argv, argv[1:]):
    if flag in ("--image", "-i"):
        for path in value.split(","):
            full = os.path.join(os.getcwd(), path)
            digest = None
            if os.path.isfile(full):
                with open(full, "rb") as handle:
                    digest = hashlib.sha256(handle.read()).hexdigest()
            images.append({{"path": path, "exists": os.path.exists(full), "sha256": digest}})
schema = None
if "--output-schema" in argv[:-1]:
    try:
        with open(argv[argv.index("--output-schema") + 1], encoding="utf-8") as handle:
            schema = handle.read()
    except OSError:
        schema = None
env = {{k: os.environ.get(k) for k in KEYS}}
env.update({{k: v for k, v in os.environ.items() if k.startswith(("CODEX_", "OPENAI_")) or k == "RUST_LOG"}})
try:
    with open(LOG, "rb") as handle:
        step = sum(1 for line in handle.read().split(b"\n") if line)
except FileNotFoundError:
    step = 0
record = {{"step": step, "argv": argv, "stdin": data.decode("utf-8", "replace"), "cwd": os.getcwd(), "env": env,
          "output_schema": schema}}
if images:
    record["images"] = images
with open(LOG, "a", encoding="utf-8") as handle:
    handle.write(json.dumps(record, ensure_ascii=False) + "\n")
stdin = tempfile.TemporaryFile()
stdin.write(data)
stdin.seek(0)
os.dup2(stdin.fileno(), 0)
os.execv(BINARY, [BINARY, *argv])
'''


def write_shim(path: Path, binary: Path, log: Path) -> Path:
    """Write the recording shim at ``path`` (executable) that runs ``binary`` and logs to ``log``."""
    from harness.fake.codex.log import ENV_KEYS

    path.parent.mkdir(parents=True, exist_ok=True)
    text = _SHIM.format(python=sys.executable, binary=str(binary), log=str(log), keys=tuple(ENV_KEYS))
    path.write_text(text, encoding="utf-8")
    path.chmod(0o755)
    return path


@dataclass(frozen=True)
class LiveJob:
    """What the sandboxed worker needs: the scenario (file + id), the run's folders, the shim, the model script,
    and the environment changes codex gets on top of the scenario's (``FAKE_API_KEY``; ``None`` removes one)."""

    scenario_file: str
    scenario_id: str
    workdir: str
    workspace: str
    shim: str
    script: list[Any]
    server: bool
    env: dict[str, str | None]
    port: int = FAKE_PORT

    def write(self, path: Path) -> Path:
        """The job as JSON at ``path``."""
        path.write_text(json.dumps(asdict(self), ensure_ascii=False), encoding="utf-8")
        return path


def run_job(job: LiveJob) -> dict[str, Any]:
    """Check the namespace, serve the script, run the scenario's turns with the reference SDK through the shim."""
    require_loopback_only()
    import dataclasses

    from harness.fake.responses import FakeResponsesServer, ScriptedResponder, parse_script
    from harness.scenario.load import load_file
    from harness.scenario.transports.exec import STORE_DIR, run_turns, stage_inputs
    from harness.scenario.transports.layout import Layout

    (scenario,) = [s for s in load_file(Path(job.scenario_file)) if s.id == job.scenario_id]
    env = {k: v for k, v in dict(scenario.codex_options.get("env", {})).items()}
    for key, value in job.env.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    scenario = dataclasses.replace(scenario, codex_options={**scenario.codex_options, "env": env})
    server = None
    if job.server:
        responder = ScriptedResponder(parse_script(job.script, f"{scenario.id}.model"))
        server = FakeResponsesServer(responder, port=job.port).start()
    os.chdir(job.workspace)  # codex runs in the seeded workspace, as `harness record` ran it
    try:
        layout = Layout(Path(job.workdir))
        staged = stage_inputs(scenario, layout.workdir / STORE_DIR)
        records = asyncio.run(
            asyncio.wait_for(run_turns(scenario, layout, Path(job.shim), None, staged), scenario.timeout)
        )
    finally:
        if server is not None:
            server.stop()
    return {"records": records, "requests": len(server.records) if server is not None else 0}


def main(argv: list[str]) -> int:
    """Run the job file ``argv[0]``; ``result.json`` beside it holds the records or one ``error`` line."""
    from harness.real.worker import serve_job

    return serve_job(argv, lambda data: run_job(LiveJob(**data)), "harness.real.live")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
