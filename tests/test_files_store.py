"""The file store's core: hashing, MIME inference, dedup, expiry, sweeping, errors, telemetry, the public surface."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import logging
import os
import random
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import harness.reference.files as files
from harness.reference.errors import CodexError, InvalidOptionsError
from harness.reference.files import (
    Attachment,
    AttachmentGoneError,
    FileMissingError,
    FileStore,
    FileUnreadableError,
    ManualClock,
    guess_content_type,
    hashing,
    sniff,
)
from harness.reference.files import store as store_module
from harness.reference.files.hashing import CHUNK_SIZE, hash_stream
from harness.reference.telemetry import TelemetryBus, TelemetryEvent, TelemetryLogFormatter, log_telemetry

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(range(40))
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(40))
GIF = b"GIF89a" + bytes(range(40))
WEBP = b"RIFF\x24\x00\x00\x00WEBPVP8 " + bytes(range(40))


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(1_000_000.0)


@pytest.fixture
def events() -> list[TelemetryEvent]:
    return []


@pytest.fixture
def store(tmp_path: Path, clock: ManualClock, events: list[TelemetryEvent]) -> FileStore:
    bus = TelemetryBus()
    bus.subscribe(events.append)
    return FileStore(tmp_path / "store", telemetry=bus, clock=clock)


def stored_files(store: FileStore, *, locks: bool = False) -> list[str]:
    """Every file under the store's root, relative; lock files (which outlive a stage) only with ``locks``."""
    return sorted(
        os.path.relpath(os.path.join(d, f), store.root)
        for d, _, fs in os.walk(store.root)
        for f in fs
        if locks or not f.endswith((".lock", ".mutex"))
    )


# -- public surface ------------------------------------------------------------------------------------------


def test_all_is_sorted_and_every_name_resolves() -> None:
    assert files.__all__ == sorted(files.__all__)
    for name in files.__all__:
        assert getattr(files, name) is not None
    assert {"FileStore", "Attachment"} <= set(files.__all__)


def test_attachment_is_frozen_and_path_like(store: FileStore) -> None:
    attachment = store.stage(b"hello", name="greeting.txt")
    assert isinstance(attachment, os.PathLike)
    assert os.fspath(attachment) == str(attachment.path)
    assert Path(attachment).read_bytes() == b"hello"
    with open(attachment, "rb") as handle:
        assert handle.read() == b"hello"
    with pytest.raises(dataclasses.FrozenInstanceError):
        attachment.name = "other"  # type: ignore[misc]
    assert attachment.to_dict()["path"] == str(attachment.path)


# -- hashing -------------------------------------------------------------------------------------------------


@settings(max_examples=40, deadline=None)
@given(st.binary(max_size=3 * 1024))
def test_stream_hash_matches_hashlib_whatever_the_chunking(data: bytes) -> None:
    class Dribble:
        """A stream that returns at most 7 bytes per read (no readinto shortcut for the hasher)."""

        def __init__(self) -> None:
            self.rest = data

        def read(self, size: int = -1, /) -> bytes:
            chunk, self.rest = self.rest[:7], self.rest[7:]
            return chunk

    sink = bytearray()
    found = hash_stream(Dribble(), sink.extend)
    assert found.sha256 == hashlib.sha256(data).hexdigest()
    assert found.size == len(data)
    assert bytes(sink) == data
    assert found.head == data[:16]


def test_stage_hashes_large_streams_in_chunks(store: FileStore) -> None:
    data = random.Random(7).randbytes(CHUNK_SIZE * 2 + 123)
    reads: list[int] = []

    class Counting(io.BytesIO):
        def readinto(self, buffer: bytearray) -> int:  # type: ignore[override]
            count = super().readinto(buffer)
            reads.append(count)
            return count

    attachment = store.stage(Counting(data), name="big.bin")
    assert attachment.sha256 == hashlib.sha256(data).hexdigest()
    assert attachment.size == len(data)
    assert Path(attachment).read_bytes() == data
    assert max(reads) <= CHUNK_SIZE and len(reads) >= 3  # never read whole


def test_content_addressed_layout(store: FileStore) -> None:
    attachment = store.stage(b"layout")
    digest = hashlib.sha256(b"layout").hexdigest()
    assert attachment.id == attachment.sha256 == digest
    assert attachment.path == store.root / digest[:2] / digest
    assert attachment.path.stat().st_mode & 0o777 == 0o444
    assert stored_files(store) == [f"{digest[:2]}/{digest}", f"{digest[:2]}/{digest}.json"]


# -- MIME ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("head", "expected"),
    [(PNG, "image/png"), (JPEG, "image/jpeg"), (GIF, "image/gif"), (WEBP, "image/webp"), (b"GIF87a..", "image/gif")],
)
def test_magic_bytes_of_the_four_image_types(head: bytes, expected: str) -> None:
    assert sniff(head) == expected
    assert guess_content_type(head, None) == expected


@pytest.mark.parametrize(
    ("data", "name", "expected"),
    [
        (PNG, "screenshot.jpg", "image/png"),  # content wins over a wrong extension
        (JPEG, "photo.png", "image/jpeg"),
        (GIF, "anim.txt", "image/gif"),
        (WEBP, "pic", "image/webp"),
        (b"plain words", "notes.txt", "text/plain"),
        (b'{"a": 1}', "data.json", "application/json"),
        (b"RIFF\x00\x00\x00\x00WAVE", "sound.bin", "application/octet-stream"),  # RIFF but not WebP
        (b"\x00\x01\x02", None, "application/octet-stream"),
        (b"\x00\x01\x02", "blob.unknownext", "application/octet-stream"),
        (b"", "empty.webp", "image/webp"),  # extension only when the content says nothing
    ],
)
def test_content_type_inference(store: FileStore, data: bytes, name: str | None, expected: str) -> None:
    assert guess_content_type(data[:16], name) == expected
    assert store.stage(data, name=name).content_type == expected


# -- dedup and expiry ----------------------------------------------------------------------------------------


def test_same_content_dedups_and_extends_expiry(store: FileStore, clock: ManualClock, tmp_path: Path) -> None:
    first = store.stage(PNG, name="a.png", ttl=100)
    assert first.expires_at == clock.now() + 100
    clock.advance(60)
    source = tmp_path / "copy.png"
    source.write_bytes(PNG)
    again = store.stage(source, ttl=100)
    streamed = store.stage(io.BytesIO(PNG), ttl=10)  # a shorter ttl never shortens the expiry
    assert again.id == first.id == streamed.id and again.path == first.path == streamed.path
    assert again.name == "copy.png" and streamed.name is None
    assert again.expires_at == streamed.expires_at == clock.now() + 100
    metrics = store.metrics()
    assert (metrics.entries, metrics.staged, metrics.deduplicated) == (1, 1, 2)
    assert metrics.content_bytes == len(PNG) and metrics.disk_bytes > len(PNG)
    stored = store.get(first.sha256)
    assert stored is not None and stored.name == "a.png" and stored.expires_at == clock.now() + 100


def test_dedup_map_distinct_contents_distinct_entries(store: FileStore) -> None:
    contents = [b"a", b"b", b"a", b"c", b"b", b"a"]
    attachments = [store.stage(c) for c in contents]
    by_digest = {a.sha256: a.path for a in attachments}
    assert len(by_digest) == 3
    for content, attachment in zip(contents, attachments, strict=True):
        assert attachment.sha256 == hashlib.sha256(content).hexdigest()
        assert attachment.path.read_bytes() == content
    assert store.metrics().entries == 3
    assert (store.metrics().staged, store.metrics().deduplicated) == (3, 3)


def test_ttl_none_never_expires_and_negative_ttl_is_rejected(store: FileStore, clock: ManualClock) -> None:
    forever = store.stage(b"forever", ttl=None)
    assert forever.expires_at is None
    store.stage(b"forever", ttl=1)  # a finite ttl does not shorten "never"
    clock.advance(10**9)
    assert store.sweep().removed == ()
    with pytest.raises(InvalidOptionsError, match="ttl"):
        store.stage(b"x", ttl=-1)


def test_sweep_removes_expired_keeps_fresh_and_held(
    store: FileStore, clock: ManualClock, events: list[TelemetryEvent]
) -> None:
    expired = store.stage(b"expired", name="old.txt", ttl=10)
    held = store.stage(b"held", ttl=10)
    fresh = store.stage(b"fresh", ttl=100)
    refreshed = store.stage(b"refreshed", ttl=10)
    clock.advance(5)
    store.stage(b"refreshed", ttl=10)  # re-stage moves its expiry to now + 10
    clock.advance(5)  # now == the expiry of "expired" and "held": due
    with store.hold(held):
        result = store.sweep()
        assert [a.sha256 for a in result.removed] == [expired.sha256]
        assert result.removed[0].name == "old.txt" and result.bytes_removed == len(b"expired")
        assert result.held == (held.sha256,)
        assert held.path.exists() and fresh.path.exists() and refreshed.path.exists()
        assert not expired.path.exists()
    result = store.sweep()  # released: now it goes
    assert [a.sha256 for a in result.removed] == [held.sha256] and result.held == ()
    clock.advance(5)
    assert [a.sha256 for a in store.sweep().removed] == [refreshed.sha256]
    assert [a.sha256 for a in store.sweep(now=clock.now() + 1000).removed] == [fresh.sha256]
    assert stored_files(store, locks=True) == []
    assert store.metrics().expired == 4
    assert [e.name for e in events].count("codex.files.expired") == 4


def test_holds_in_one_process_are_independent(store: FileStore, clock: ManualClock) -> None:
    attachment = store.stage(b"shared", ttl=0)
    with store.hold(attachment), store.hold(attachment):
        pass
    with store.hold(attachment):
        with store.hold(attachment):
            pass
        assert store.sweep().held == (attachment.sha256,)  # the outer hold still counts
    assert store.sweep().removed[0].sha256 == attachment.sha256
    with pytest.raises(AttachmentGoneError) as info, store.hold(attachment):
        pass
    assert info.value.kind == "file_gone" and info.value.to_dict()["details"]["sha256"] == attachment.sha256


def test_stage_and_hold_protects_a_zero_ttl_stage(store: FileStore) -> None:
    with store.stage_and_hold(b"zero", ttl=0) as attachment:
        assert store.sweep().removed == ()
        assert attachment.path.read_bytes() == b"zero"
    assert [a.sha256 for a in store.sweep().removed] == [attachment.sha256]


def test_remove_respects_holds(store: FileStore, events: list[TelemetryEvent]) -> None:
    attachment = store.stage(b"removable")
    with store.hold(attachment):
        assert store.remove(attachment) is False
    assert store.remove(attachment) is True
    assert store.remove(attachment) is False
    assert stored_files(store, locks=True) == [] and store.metrics().removed == 1
    assert [e.name for e in events][-1] == "codex.files.removed"


def test_sweep_cleans_orphans_and_abandoned_temp_files(store: FileStore) -> None:
    kept = store.stage(b"kept", ttl=None)
    lost = store.stage(b"no sidecar", ttl=None)
    os.unlink(store.layout.sidecar(lost.sha256))  # a crash between publishing content and its sidecar
    orphan = "ab" * 32
    store.layout.shard(orphan).mkdir(exist_ok=True)
    store.layout.hold_lock(orphan).write_bytes(b"")  # a lock without content
    (store.layout.tmp_dir / "dead-writer.tmp").write_bytes(b"partial")
    result = store.sweep()
    assert [a.sha256 for a in result.removed] == [lost.sha256]
    assert result.temp_files == 1
    assert stored_files(store) == sorted([f"{kept.sha256[:2]}/{kept.sha256}", f"{kept.sha256[:2]}/{kept.sha256}.json"])


def test_a_corrupt_sidecar_is_repaired_by_the_next_stage(store: FileStore) -> None:
    attachment = store.stage(b"corrupt", ttl=None)
    sidecar = store.layout.sidecar(attachment.sha256)
    sidecar.write_bytes(b"{not json")
    assert store.stage(b"corrupt", ttl=None).expires_at is None
    assert b'"version": 1' in sidecar.read_bytes()


# -- errors --------------------------------------------------------------------------------------------------


def test_missing_and_unreadable_sources_raise_typed_errors(store: FileStore, tmp_path: Path) -> None:
    missing = tmp_path / "nope.png"
    with pytest.raises(FileMissingError) as info:
        store.stage(missing)
    assert isinstance(info.value, CodexError) and info.value.kind == "file_missing"
    assert str(missing) in str(info.value)
    assert info.value.to_dict() == {
        "kind": "file_missing",
        "class": "FileMissingError",
        "message": f"Attachment source not found: {missing}",
        "details": {"path": str(missing)},
    }
    with pytest.raises(FileUnreadableError) as unreadable:
        store.stage(tmp_path)
    assert unreadable.value.kind == "file_unreadable" and str(tmp_path) in str(unreadable.value)
    with pytest.raises(TypeError, match="cannot stage int"):
        store.stage(42)  # type: ignore[arg-type]
    assert stored_files(store) == []


# -- telemetry -----------------------------------------------------------------------------------------------


def test_telemetry_events_and_their_log_lines(store: FileStore, events: list[TelemetryEvent]) -> None:
    attachment = store.stage(PNG, name="shot.png", ttl=0)
    store.stage(PNG, name="again.png", ttl=0)
    store.sweep()
    assert [(e.name, dict(e.measurements), e.metadata["name"]) for e in events] == [
        ("codex.files.staged", {"bytes": len(PNG), "count": 1}, "shot.png"),
        ("codex.files.deduplicated", {"bytes": len(PNG), "count": 1}, "again.png"),
        ("codex.files.expired", {"bytes": len(PNG), "count": 1}, "shot.png"),
    ]
    assert {e.metadata["sha256"] for e in events} == {attachment.sha256}
    assert all(e.name in files.FILE_EVENT_NAMES for e in events)
    logger = logging.getLogger("test.files.telemetry")
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    logger.addHandler(Keep())
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    log_telemetry(events[0], logger)
    text = TelemetryLogFormatter("text").format(records[0])
    assert text == f"INFO test.files.telemetry codex.files.staged sha256={attachment.sha256} name=shot.png bytes=" + (
        f"{len(PNG)} count=1"
    )
    assert '"metadata": {"sha256": "' in TelemetryLogFormatter("json").format(records[0])


def test_default_bus_is_used_without_telemetry_argument(tmp_path: Path) -> None:
    from harness.reference.telemetry import default_bus

    seen: list[str] = []
    unsubscribe = default_bus().subscribe(lambda e: seen.append(e.name), names=files.FILE_EVENT_NAMES)
    try:
        FileStore(tmp_path / "s").stage(b"default bus")
    finally:
        unsubscribe()
    assert seen == ["codex.files.staged"]


def test_a_file_changed_between_hash_and_copy_is_staged_as_it_is_now(
    store: FileStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = tmp_path / "changing.bin"
    source.write_bytes(b"before")
    calls = 0

    def hash_then_change(path: Path, sink: hashing.Sink | None = None) -> hashing.Digest:
        nonlocal calls
        calls += 1
        found = hashing.hash_path(path, sink)
        if calls == 1:  # another program rewrites the file after the first (hashing) pass
            path.write_bytes(b"after!")
        return found

    monkeypatch.setattr(store_module, "hash_path", hash_then_change)
    attachment = store.stage(source)
    assert attachment.sha256 == hashlib.sha256(b"after!").hexdigest()
    assert attachment.path.read_bytes() == b"after!"
    digest = attachment.sha256
    assert stored_files(store) == [f"{digest[:2]}/{digest}", f"{digest[:2]}/{digest}.json"]
    assert store.sweep().removed == ()  # the first digest's lock files are orphans: swept, the entry stays
    assert stored_files(store, locks=True) == [f"{digest[:2]}/{digest}{s}" for s in ("", ".json", ".lock", ".mutex")]


def test_attachment_type_roundtrip() -> None:
    a = Attachment("d", None, 1, "text/plain", "d", Path("/x/d"), None)
    assert a == dataclasses.replace(a) and hash(a) == hash(dataclasses.replace(a))
