"""Concurrency: N processes staging overlapping content while another process sweeps, and a Hypothesis state
machine over stage / hold / release / temporary / sweep / advance-clock on one store."""

from __future__ import annotations

import hashlib
import io
import json
import multiprocessing
import os
import random
import shutil
import time
import uuid
from collections import Counter
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule, run_state_machine_as_test

from harness.reference.files import EXPIRY_GRANULARITY, Attachment, AttachmentGoneError, FileStore, ManualClock
from harness.reference.telemetry import TelemetryBus, TelemetryEvent

WORKERS = 4
STAGES = 50
BLOBS = [random.Random(seed).randbytes(size) for seed, size in enumerate([0, 1, 4096, 65_536, 300_000, 700_000])]
DIGESTS = {hashlib.sha256(b).hexdigest() for b in BLOBS}


def _tally(bus: TelemetryBus) -> Counter[str]:
    counts: Counter[str] = Counter()

    def on_event(event: TelemetryEvent) -> None:
        counts[f"{event.name.rsplit('.', 1)[1]}:{event.metadata['sha256']}"] += 1

    bus.subscribe(on_event)
    return counts


def _check_held(attachment: Attachment, blob: bytes, problems: list[str]) -> None:
    """While held: the file must be there, complete, every time we look."""
    for _ in range(3):
        try:
            data = attachment.path.read_bytes()
        except FileNotFoundError:
            problems.append(f"held {attachment.sha256[:12]} was swept")
            return
        if data != blob:
            problems.append(f"held {attachment.sha256[:12]} read {len(data)} bytes, expected {len(blob)}")
        time.sleep(0.001)


def stager(root: str, sources: str, seed: int, out: str) -> None:
    bus = TelemetryBus()
    counts = _tally(bus)
    store = FileStore(root, telemetry=bus, durable=False)
    rng = random.Random(seed)
    problems: list[str] = []
    for _ in range(STAGES):
        index = rng.randrange(len(BLOBS))
        blob = BLOBS[index]
        mode = rng.choice(["bytes", "stream", "path", "hold", "temporary"])
        try:
            if mode == "bytes":
                attachment = store.stage(blob, ttl=rng.choice([0.0, 0.01]))
            elif mode == "stream":
                attachment = store.stage(io.BytesIO(blob), ttl=0.0)
            elif mode == "path":
                attachment = store.stage(Path(sources) / f"{index}.bin", ttl=0.0)
            elif mode == "hold":
                with store.stage_and_hold(blob, ttl=0.0) as attachment:
                    _check_held(attachment, blob, problems)
            else:
                with store.temporary(blob) as attachment:
                    _check_held(attachment, blob, problems)
            if attachment.sha256 != hashlib.sha256(blob).hexdigest():
                problems.append(f"{mode}: wrong digest")
        except Exception as exc:  # recorded, so the parent's assertion shows it
            problems.append(f"{mode}: {type(exc).__name__}: {exc}")
    Path(out).write_text(json.dumps({"counts": counts, "problems": problems}))


def sweeper(root: str, stop: str, out: str) -> None:
    bus = TelemetryBus()
    counts = _tally(bus)
    store = FileStore(root, telemetry=bus, durable=False)
    sweeps = 0
    problems: list[str] = []
    while True:
        stopping = os.path.exists(stop)
        try:
            store.sweep()
        except Exception as exc:
            problems.append(f"sweep: {type(exc).__name__}: {exc}")
        sweeps += 1
        if stopping:
            break
        time.sleep(0.001)
    Path(out).write_text(json.dumps({"counts": counts, "problems": problems, "sweeps": sweeps}))


def test_many_processes_stage_overlapping_content_while_one_sweeps(tmp_path: Path, no_leaks: str) -> None:
    root, sources, results = tmp_path / "store", tmp_path / "sources", tmp_path / "results"
    sources.mkdir()
    results.mkdir()
    for index, blob in enumerate(BLOBS):
        (sources / f"{index}.bin").write_bytes(blob)
    FileStore(root, telemetry=TelemetryBus())
    ctx = multiprocessing.get_context("fork")  # spawn would start multiprocessing's resource tracker process
    stop = tmp_path / "stop"
    sweep_process = ctx.Process(target=sweeper, args=(str(root), str(stop), str(results / "sweeper.json")))
    workers = [
        ctx.Process(target=stager, args=(str(root), str(sources), seed, str(results / f"stager-{seed}.json")))
        for seed in range(WORKERS)
    ]
    sweep_process.start()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
    stop.touch()
    sweep_process.join(60)
    assert [p.exitcode for p in [*workers, sweep_process]] == [0] * (WORKERS + 1)

    reports = [json.loads(p.read_text()) for p in sorted(results.iterdir())]
    assert [problem for report in reports for problem in report["problems"]] == []
    totals: Counter[str] = Counter()
    for report in reports:
        totals.update(report["counts"])
    expired = sum(n for key, n in totals.items() if key.startswith("expired:"))
    assert expired > 0, "the sweeper never removed anything: the test did not exercise concurrency"

    present = set()
    for shard in root.iterdir():
        if shard.name == ".tmp":
            assert list(shard.iterdir()) == [], "a temp file was left behind"
            continue
        for path in shard.iterdir():
            if "." not in path.name:
                assert hashlib.sha256(path.read_bytes()).hexdigest() == path.name
                present.add(path.name)
    assert present <= DIGESTS
    for digest in DIGESTS:
        # each digest was written once per lifetime: creations minus deletions is whether it is there now
        created = totals[f"staged:{digest}"]
        deleted = totals[f"expired:{digest}"] + totals[f"removed:{digest}"]
        assert created - deleted == (1 if digest in present else 0), digest


# -- state machine -------------------------------------------------------------------------------------------

CONTENTS = [b"", b"alpha", b"\x89PNG\r\n\x1a\nimage", b"beta" * 100]


def make_machine(base: Path) -> type[RuleBasedStateMachine]:
    class StoreMachine(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.root = base / uuid.uuid4().hex
            self.clock = ManualClock(0.0)
            self.store = FileStore(self.root, telemetry=TelemetryBus(), clock=self.clock, durable=False)
            self.expires: dict[str, float | None] = {}  # the model: digest -> expiry, for entries present
            self.holds: list[tuple[str, AbstractContextManager[Any]]] = []

        def held(self) -> Counter[str]:
            return Counter(digest for digest, _ in self.holds)

        def expired(self, digest: str) -> bool:
            expiry = self.expires[digest]
            return expiry is not None and expiry <= self.clock.now()

        def extend(self, digest: str, ttl: float | None) -> None:
            wanted = None if ttl is None else self.clock.now() + ttl
            if digest not in self.expires:
                self.expires[digest] = wanted
            else:
                old = self.expires[digest]
                if old is not None and (wanted is None or wanted - old >= EXPIRY_GRANULARITY):
                    self.expires[digest] = wanted

        @rule(index=st.integers(0, len(CONTENTS) - 1), ttl=st.sampled_from([0.0, 0.5, 3.0, 10.0, None]),
              stream=st.booleans())  # fmt: skip
        def stage(self, index: int, ttl: float | None, stream: bool) -> None:
            content = CONTENTS[index]
            attachment = self.store.stage(io.BytesIO(content) if stream else content, ttl=ttl)
            self.extend(attachment.sha256, ttl)
            assert attachment.expires_at == self.expires[attachment.sha256]
            assert attachment.path.read_bytes() == content

        @rule(index=st.integers(0, len(CONTENTS) - 1))
        def hold(self, index: int) -> None:
            digest = hashlib.sha256(CONTENTS[index]).hexdigest()
            attachment = Attachment(digest, None, 0, "", digest, self.store.layout.content(digest), None)
            context = self.store.hold(attachment)
            if digest in self.expires:
                context.__enter__()
                self.holds.append((digest, context))
            else:
                try:
                    context.__enter__()
                except AttachmentGoneError:
                    return
                raise AssertionError("hold of a removed entry succeeded")

        @precondition(lambda self: self.holds)
        @rule(data=st.data())
        def release(self, data: st.DataObject) -> None:
            _digest, context = self.holds.pop(data.draw(st.integers(0, len(self.holds) - 1)))
            context.__exit__(None, None, None)

        @rule(index=st.integers(0, len(CONTENTS) - 1))
        def temporary(self, index: int) -> None:
            content = CONTENTS[index]
            with self.store.temporary(content) as attachment:
                digest = attachment.sha256
                self.extend(digest, 0.0)
                assert attachment.path.read_bytes() == content
            if not self.held()[digest] and self.expired(digest):
                del self.expires[digest]

        @rule()
        def sweep(self) -> None:
            held = self.held()
            due = sorted(d for d in self.expires if self.expired(d))
            result = self.store.sweep()
            assert sorted(a.sha256 for a in result.removed) == [d for d in due if not held[d]]
            assert sorted(result.held) == [d for d in due if held[d]]
            for attachment in result.removed:
                del self.expires[attachment.sha256]

        @rule(seconds=st.sampled_from([0.0, 0.5, 1.0, 3.0, 7.0]))
        def advance(self, seconds: float) -> None:
            self.clock.advance(seconds)

        @invariant()
        def disk_matches_model(self) -> None:
            present = set()
            for path in self.root.glob("*/*"):
                if path.parent.name != ".tmp" and "." not in path.name:
                    assert hashlib.sha256(path.read_bytes()).hexdigest() == path.name
                    present.add(path.name)
            assert present == set(self.expires)
            assert list(self.store.layout.tmp_dir.iterdir()) == []
            assert self.store.metrics().entries == len(present)
            for digest, _ in self.holds:
                assert digest in present, "a held entry disappeared"

        def teardown(self) -> None:
            for _, context in self.holds:
                context.__exit__(None, None, None)
            shutil.rmtree(self.root, ignore_errors=True)

    return StoreMachine


def test_state_machine_of_one_store(tmp_path: Path) -> None:
    run_state_machine_as_test(
        make_machine(tmp_path),
        settings=settings(max_examples=60, stateful_step_count=30, deadline=None, database=None),
    )
