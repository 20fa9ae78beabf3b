"""Leaf-level differences between a golden and an observation, addressed by JSON pointers.

A part-level verdict ("``invocations`` differs") is too coarse for a baseline: once a part is excused for one
reason, any new difference in it hides behind that excuse. Here every difference is a *leaf*: a scalar (or an
empty container) that was changed, added or removed, at a JSON pointer from the observation's root
(``invocations/0/argv/3``, ``error/message``, ``result/usage/reasoning_output_tokens``). A finding
(:mod:`harness.parity.findings`) explains leaves by pointer pattern, so it explains exactly what it names.

Lists are aligned before they are walked (``difflib.SequenceMatcher`` over each element's canonical JSON): an
element inserted into ``argv`` is one added leaf at its index, not a cascade of changed leaves behind it; a
replaced run of elements is walked pair by pair (so a changed ``usage`` inside the third event shows as the
changed keys inside it), and the rest of an uneven run is added or removed whole.

An SDK that inserts one argument differs by one added leaf, not by every argument after it:

>>> golden = {"invocations": [{"argv": ["exec", "--json", "-"]}], "error": None}
>>> observed = {"invocations": [{"argv": ["exec", "--json", "--skip-git-repo-check", "-"]}], "error": None}
>>> [leaf.to_dict() for leaf in diff_leaves(golden, observed, ["invocations", "error"])]
[{'path': 'invocations/0/argv/2', 'change': 'added', 'observed': '--skip-git-repo-check'}]
>>> Leaf.from_dict({"path": "error/kind", "change": "moved"})
Traceback (most recent call last):
    ...
ValueError: 'moved' is not a valid Change
"""

from __future__ import annotations

import dataclasses
import difflib
import fnmatch
import json
import re
from collections.abc import Iterator, Mapping, Sequence
from enum import StrEnum
from typing import Any

__all__ = [
    "Change",
    "Leaf",
    "diff_leaves",
    "escape_segment",
    "generalize",
    "matches_pattern",
    "pointer",
    "split_pointer",
    "unescape_segment",
]

_ABSENT: Any = object()


class Change(StrEnum):
    """How a leaf differs: present in both with other values, only in the observation, only in the golden."""

    CHANGED = "changed"
    ADDED = "added"
    REMOVED = "removed"


def escape_segment(segment: str | int) -> str:
    """One pointer segment, escaped as RFC 6901 does (``~`` → ``~0``, ``/`` → ``~1``)."""
    return str(segment).replace("~", "~0").replace("/", "~1")


def unescape_segment(segment: str) -> str:
    return segment.replace("~1", "/").replace("~0", "~")


def pointer(path: Sequence[str | int]) -> str:
    """``("invocations", 0, "argv")`` → ``invocations/0/argv`` (no leading slash: the root is implied).

    >>> pointer(("invocations", 0, "env", "a/b~c"))
    'invocations/0/env/a~1b~0c'
    """
    return "/".join(escape_segment(s) for s in path)


@dataclasses.dataclass(frozen=True)
class Leaf:
    """One differing leaf. ``expected``/``observed`` are the golden's and the observation's values (JSON
    values; for an added or removed container, the whole container); the missing side is ``None`` and
    :attr:`change` says which side is missing."""

    path: tuple[str | int, ...]
    change: Change
    expected: Any = None
    observed: Any = None

    @property
    def pointer(self) -> str:
        return pointer(self.path)

    @property
    def part(self) -> str:
        return str(self.path[0]) if self.path else ""

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"path": self.pointer, "change": self.change.value}
        if self.change is not Change.ADDED:
            out["expected"] = self.expected
        if self.change is not Change.REMOVED:
            out["observed"] = self.observed
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Leaf:
        path = tuple(int(s) if s.isdigit() else unescape_segment(s) for s in str(data["path"]).split("/") if s != "")
        return cls(path, Change(data["change"]), data.get("expected"), data.get("observed"))


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def _walk(path: tuple[str | int, ...], expected: Any, observed: Any) -> Iterator[Leaf]:
    if expected is _ABSENT or (expected is None and isinstance(observed, Mapping) and observed):
        # ``error: null`` in the golden and an error object observed: each key of it is an added leaf, so a
        # finding can name ``error/kind`` whether or not the golden had an error.
        if isinstance(observed, Mapping) and observed:
            for key in observed:
                yield from _walk((*path, key), _ABSENT, observed[key])
        else:
            yield Leaf(path, Change.ADDED, None, observed)
        return
    if observed is _ABSENT or (observed is None and isinstance(expected, Mapping) and expected):
        if isinstance(expected, Mapping) and expected:
            for key in expected:
                yield from _walk((*path, key), expected[key], _ABSENT)
        else:
            yield Leaf(path, Change.REMOVED, expected, None)
        return
    if isinstance(expected, Mapping) and isinstance(observed, Mapping) and (expected or observed):
        for key in list(expected) + [k for k in observed if k not in expected]:
            yield from _walk((*path, key), expected.get(key, _ABSENT), observed.get(key, _ABSENT))
        return
    if isinstance(expected, list) and isinstance(observed, list) and (expected or observed):
        yield from _walk_list(path, expected, observed)
        return
    if type(expected) is not type(observed) or expected != observed:
        # Scalars, or a container against something else: the whole value is one fact.
        yield Leaf(path, Change.CHANGED, expected, observed)


def _walk_list(path: tuple[str | int, ...], expected: list[Any], observed: list[Any]) -> Iterator[Leaf]:
    matcher = difflib.SequenceMatcher(
        a=[_canonical(v) for v in expected], b=[_canonical(v) for v in observed], autojunk=False
    )
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        pairs = min(i2 - i1, j2 - j1) if tag == "replace" else 0
        for k in range(pairs):
            # Pointers name the observation's index where there is one, the golden's otherwise.
            yield from _walk((*path, j1 + k), expected[i1 + k], observed[j1 + k])
        for k in range(i1 + pairs, i2):
            yield Leaf((*path, k), Change.REMOVED, expected[k], None)
        for k in range(j1 + pairs, j2):
            yield Leaf((*path, k), Change.ADDED, None, observed[k])


def diff_leaves(expected: Mapping[str, Any], observed: Mapping[str, Any], parts: Sequence[str]) -> list[Leaf]:
    """Every differing leaf of ``parts`` (top-level keys of two comparable views), in part order."""
    leaves: list[Leaf] = []
    for part in parts:
        leaves.extend(_walk((part,), expected.get(part, _ABSENT), observed.get(part, _ABSENT)))
    return leaves


# ------------------------------------------------------------------------------------------ patterns

_INDEX = re.compile(r"^\d+$")


def generalize(path: Sequence[str | int]) -> str:
    """A leaf's pointer with list indexes replaced by ``*``: the shape shared by the same fact in every
    invocation, event or turn (``invocations/*/env/CODEX_INTERNAL_ORIGINATOR_OVERRIDE``,
    ``invocations/*/argv/*`` -- an inserted argument sits at another index in every scenario)."""
    segments = [escape_segment(s) for s in path]
    return "/".join("*" if isinstance(s, int) or _INDEX.match(e) else e for s, e in zip(path, segments, strict=True))


def split_pointer(text: str) -> tuple[str, ...]:
    """A pointer (or pattern) as unescaped segments; the empty pointer is the root."""
    return tuple(unescape_segment(s) for s in text.split("/")) if text else ()


def matches_pattern(pattern: Sequence[str], path: Sequence[str | int]) -> bool:
    """Whether a leaf path matches a pointer pattern (segments from :func:`split_pointer`).

    Each pattern segment is an ``fnmatch`` pattern for one path segment (``*`` any segment, ``item_*``);
    ``**`` matches any number of segments, none included. The whole path must match.

    >>> path = ("invocations", 0, "argv", 2)
    >>> generalize(path), matches_pattern(split_pointer("invocations/**/argv/*"), path)
    ('invocations/*/argv/*', True)
    >>> matches_pattern(split_pointer("invocations/*/argv"), path)  # the whole path must match
    False
    """
    segments = [str(s) for s in path]

    def match(p: int, s: int) -> bool:
        if p == len(pattern):
            return s == len(segments)
        if pattern[p] == "**":
            return any(match(p + 1, k) for k in range(s, len(segments) + 1))
        return s < len(segments) and fnmatch.fnmatchcase(segments[s], pattern[p]) and match(p + 1, s + 1)

    return match(0, 0)
