"""iter_events: framing (LF/CRLF, blank lines, no final newline, raw U+2028), the line limit, line numbers in
errors, and laziness (events come out as bytes come in, not after EOF)."""

from __future__ import annotations

import io
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.reference import events as ev
from harness.reference.errors import EventParseError, LineTooLongError

STARTED = b'{"type":"turn.started"}'
MESSAGE = (
    '{"type":"item.completed","item":{"id":"item_0","type":"agent_message","text":"a\u2028b\u2029c"}}'
).encode()


class Trickle(io.RawIOBase):
    """A raw stream that hands out at most ``size`` bytes per read and records how much was asked for."""

    def __init__(self, data: bytes, size: int = 7) -> None:
        self._data = data
        self._pos = 0
        self._size = size
        self.requests: list[int] = []

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        self.requests.append(len(buffer))
        chunk = self._data[self._pos : self._pos + min(self._size, len(buffer))]
        buffer[: len(chunk)] = chunk
        self._pos += len(chunk)
        return len(chunk)

    @property
    def consumed(self) -> int:
        return self._pos


def _all(data: bytes, **kwargs: int) -> list[ev.ThreadEvent]:
    return list(ev.iter_events(io.BytesIO(data), **kwargs))  # type: ignore[arg-type]


def test_lf_crlf_blank_lines_and_missing_final_newline() -> None:
    data = STARTED + b"\r\n\r\n\n" + MESSAGE + b"\n  \n" + STARTED
    events = _all(data)
    assert [type(e) for e in events] == [ev.TurnStartedEvent, ev.ItemCompletedEvent, ev.TurnStartedEvent]
    assert [ev.serialize(e).encode() for e in events] == [STARTED, MESSAGE, STARTED]


def test_raw_line_separators_inside_strings_do_not_split_lines() -> None:
    (event,) = _all(MESSAGE + b"\n")
    assert isinstance(event, ev.ItemCompletedEvent) and isinstance(event.item, ev.AgentMessageItem)
    assert event.item.text == "a\u2028b\u2029c"


def test_small_reads_reassemble_lines() -> None:
    data = (STARTED + b"\n" + MESSAGE + b"\r\n") * 5
    events = list(ev.iter_events(Trickle(data, size=3)))  # type: ignore[arg-type]
    assert len(events) == 10


def test_non_json_line_reports_its_line_number() -> None:
    data = STARTED + b"\n\n" + b"garbage\n" + STARTED + b"\n"
    stream = ev.iter_events(io.BytesIO(data))
    assert isinstance(next(stream), ev.TurnStartedEvent)
    with pytest.raises(EventParseError) as info:
        next(stream)
    assert info.value.line_number == 3
    assert info.value.raw_line == "garbage"


def test_strict_errors_carry_line_numbers() -> None:
    with pytest.raises(EventParseError) as info:
        _all(STARTED + b'\n{"type":"turn.progress"}\n', strict=True)
    assert info.value.line_number == 2 and "unknown event type" in info.value.reason


def test_line_over_the_limit_raises_without_reading_everything() -> None:
    long_line = b'{"type":"error","message":"' + b"x" * 10_000 + b'"}'
    source = Trickle(STARTED + b"\n" + long_line + b"\n" + STARTED + b"\n", size=4096)
    stream = ev.iter_events(source, max_line_bytes=100)  # type: ignore[arg-type]
    assert isinstance(next(stream), ev.TurnStartedEvent)
    with pytest.raises(LineTooLongError) as info:
        next(stream)
    assert info.value.limit == 100 and info.value.line_number == 2
    assert "line 2 exceeds the 100-byte limit" in str(info.value)
    assert max(source.requests) <= 102  # never asked for more than the limit (+ CRLF)
    assert source.consumed <= len(STARTED) + 1 + 102


def test_limit_is_exclusive_of_the_terminator() -> None:
    line = b'{"type":"error","message":"' + b"y" * 20 + b'"}'
    assert len(_all(line + b"\r\n", max_line_bytes=len(line))) == 1
    assert len(_all(line, max_line_bytes=len(line))) == 1
    with pytest.raises(LineTooLongError):
        _all(line + b"\n", max_line_bytes=len(line) - 1)
    with pytest.raises(LineTooLongError):
        _all(line, max_line_bytes=len(line) - 1)


def test_default_limit_is_64_mib() -> None:
    assert (ev.iter_events.__kwdefaults__ or {})["max_line_bytes"] == 64 * 1024 * 1024


def test_events_are_yielded_as_lines_arrive_on_a_pipe() -> None:
    read_fd, write_fd = os.pipe()
    reader = os.fdopen(read_fd, "rb")
    writer = os.fdopen(write_fd, "wb", buffering=0)
    may_write_second = threading.Event()

    def produce() -> None:
        writer.write(STARTED + b"\n")
        may_write_second.wait(5)  # the second line is only written after the first event was yielded
        writer.write(MESSAGE + b"\n")
        writer.close()

    thread = threading.Thread(target=produce)
    thread.start()
    try:
        stream = ev.iter_events(reader)
        assert isinstance(next(stream), ev.TurnStartedEvent)  # would deadlock if iter_events read to EOF
        may_write_second.set()
        assert isinstance(next(stream), ev.ItemCompletedEvent)
        assert list(stream) == []
    finally:
        may_write_second.set()
        thread.join(5)
        reader.close()


def test_is_lazy_over_a_generator_backed_stream() -> None:
    pulled: list[int] = []

    def chunks() -> Iterator[bytes]:
        for i in range(3):
            pulled.append(i)
            yield STARTED + b"\n"

    source = chunks()

    class GeneratorStream(io.RawIOBase):
        def readable(self) -> bool:
            return True

        def read(self, size: int = -1) -> bytes:
            return next(source, b"")

    stream = ev.iter_events(GeneratorStream())  # type: ignore[arg-type]
    assert pulled == []  # nothing read before iteration starts
    next(stream)
    assert pulled == [0]
    assert len(list(stream)) == 2


def test_agrees_with_parsing_each_line_of_every_real_transcript() -> None:
    transcripts = sorted((Path(__file__).resolve().parent.parent / "fixtures" / "real").glob("*/*.jsonl"))
    assert transcripts
    for path in transcripts:
        data = path.read_bytes()
        expected = [ev.parse(line) for line in data.split(b"\n") if line]
        for size in (5, 4096):  # lines cut across reads, and many lines per read
            assert list(ev.iter_events(Trickle(data, size=size))) == expected  # type: ignore[arg-type]


def test_many_lines_per_read_keep_numbers_limits_and_blank_lines() -> None:
    good = b'{"type":"error","message":"' + b"z" * 10 + b'"}'
    data = b"\n".join([STARTED, b"", b" \t", b"\r", good, STARTED + b"\r", MESSAGE]) + b"\n"
    events = _all(data)  # one read: every line is complete in the buffer
    assert [type(e) for e in events] == [
        ev.TurnStartedEvent,
        ev.ThreadErrorEvent,
        ev.TurnStartedEvent,
        ev.ItemCompletedEvent,
    ]
    with pytest.raises(LineTooLongError) as info:
        _all(STARTED + b"\n" + good + b"\n" + STARTED + b"\n", max_line_bytes=len(good) - 1)
    assert info.value.line_number == 2
    assert len(_all(STARTED + b"\n" + good + b"\r\n" + STARTED, max_line_bytes=len(good))) == 3
    with pytest.raises(EventParseError) as error:
        _all(b"\n".join([STARTED, b"", STARTED, b"{oops", STARTED]))
    assert error.value.line_number == 4 and error.value.raw_line == "{oops"


def test_stray_carriage_returns_still_parse() -> None:
    events = _all(STARTED + b"\r\r\n" + MESSAGE + b"\r")
    assert [ev.serialize(e).encode() for e in events] == [STARTED, MESSAGE]
