"""Matching commands and paths for :class:`ByCommand` and :class:`ByPath`.

Why not plain ``fnmatch``: codex wraps every command in a login shell (``/bin/bash -lc 'touch approved.txt'``), so
the interesting text is the script inside the wrapper; and a rule written to allow ``touch *`` must not allow
``touch a; rm -rf ~``. So commands are unwrapped, split with POSIX shell rules, and a *compound* script (any
unquoted ``;``, ``&&``, ``||``, ``|``, ``&``, redirection, subshell, command substitution or newline) matches no rule
unless the policy says otherwise. Paths are normalised (``..`` folded) before globbing, for the same reason.
"""

from __future__ import annotations

import posixpath
import re
import shlex
from collections.abc import Sequence
from dataclasses import dataclass

from harness.reference.approvals.errors import InvalidPolicyError

__all__ = [
    "ArgvPattern",
    "CommandPattern",
    "PathGlob",
    "compile_command_pattern",
    "is_compound",
    "split_command",
    "unwrap_shell",
]

_SHELLS = frozenset({"bash", "sh", "zsh", "dash", "ksh"})
_SHELL_FLAGS = frozenset({"-c", "-lc", "-cl", "-ic", "-ci"})
_OPERATOR_CHARS = frozenset("();<>|&")


def split_command(text: str) -> list[str] | None:
    """POSIX shell words of ``text``, or ``None`` when it cannot be split (unbalanced quotes)."""
    try:
        return shlex.split(text)
    except ValueError:
        return None


def unwrap_shell(command: str) -> str:
    """The script inside ``<shell> -lc '<script>'`` (codex's wrapper), else the command itself."""
    argv = split_command(command)
    if argv is not None and len(argv) == 3 and posixpath.basename(argv[0]) in _SHELLS and argv[1] in _SHELL_FLAGS:
        return argv[2]
    return command


def is_compound(script: str) -> bool:
    """Whether a shell script runs more than one simple command (or cannot be parsed, which counts as compound)."""
    if "\n" in script or "\r" in script:
        return True
    lexer = shlex.shlex(script, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    try:
        tokens = list(lexer)
    except ValueError:
        return True
    for token in tokens:
        if token and set(token) <= _OPERATOR_CHARS:
            return True
        if "`" in token or "$(" in token:
            return True
    return False


class CommandPattern:
    """A compiled command rule: ``matches(command_texts, argv)``."""

    def matches(self, texts: Sequence[str], argv: Sequence[str] | None) -> bool:  # pragma: no cover - interface
        raise NotImplementedError


@dataclass(frozen=True, slots=True)
class _TextGlob(CommandPattern):
    pattern: str
    regex: re.Pattern[str]

    def matches(self, texts: Sequence[str], argv: Sequence[str] | None) -> bool:
        return any(self.regex.fullmatch(text) for text in texts)


@dataclass(frozen=True, slots=True)
class _TextRegex(CommandPattern):
    regex: re.Pattern[str]

    def matches(self, texts: Sequence[str], argv: Sequence[str] | None) -> bool:
        return any(self.regex.fullmatch(text) for text in texts)


@dataclass(frozen=True, slots=True)
class ArgvPattern(CommandPattern):
    """Shell-style globs matched word by word against the command's argv; a final ``"**"`` matches the rest."""

    globs: tuple[str, ...]

    def __post_init__(self) -> None:
        if not self.globs or not all(isinstance(g, str) for g in self.globs):
            raise InvalidPolicyError("an argv pattern is a non-empty tuple of glob strings")
        if "**" in self.globs[:-1]:
            raise InvalidPolicyError(f"argv pattern {self.globs!r}: '**' is only allowed as the last word")

    def matches(self, texts: Sequence[str], argv: Sequence[str] | None) -> bool:
        if argv is None:
            return False
        globs = self.globs
        if globs[-1] == "**":
            globs = globs[:-1]
            if len(argv) < len(globs):
                return False
        elif len(argv) != len(globs):
            return False
        return all(_word_glob(g).fullmatch(word) for g, word in zip(globs, argv, strict=False))


def _word_glob(pattern: str) -> re.Pattern[str]:
    return re.compile(_translate(pattern, crossing=True))


def compile_command_pattern(pattern: object) -> CommandPattern:
    """``str`` → a glob over the command text; ``re.Pattern`` → a regex (``fullmatch``); tuple → argv globs."""
    if isinstance(pattern, CommandPattern):
        return pattern
    if isinstance(pattern, str):
        return _TextGlob(pattern, re.compile(_translate(pattern, crossing=True), re.DOTALL))
    if isinstance(pattern, re.Pattern):
        if not isinstance(pattern.pattern, str):
            raise InvalidPolicyError("a command regex must be a str pattern, not bytes")
        return _TextRegex(pattern)
    if isinstance(pattern, tuple | list):
        return ArgvPattern(tuple(pattern))
    raise InvalidPolicyError(f"unsupported command pattern {pattern!r}: use a glob str, a re.Pattern or an argv tuple")


def _translate(pattern: str, *, crossing: bool) -> str:
    """Glob → regex body. ``crossing``: ``*`` also matches ``/`` (command text); else it stops at ``/`` (paths)."""
    out: list[str] = []
    i, n = 0, len(pattern)
    star = ".*" if crossing else "[^/]*"
    while i < n:
        if not crossing and pattern.startswith("**/", i):
            out.append("(?:[^/]*/)*")
            i += 3
            continue
        if pattern.startswith("**", i):
            out.append(".*")
            i += 2
            continue
        char = pattern[i]
        if char == "*":
            out.append(star)
        elif char == "?":
            out.append("." if crossing else "[^/]")
        elif char == "[":
            end = pattern.find("]", i + 2 if pattern[i + 1 : i + 2] in ("!", "]") else i + 1)
            if end == -1:
                out.append(re.escape(char))
            else:
                body = pattern[i + 1 : end]
                if body.startswith("!"):
                    body = "^" + body[1:]
                out.append("[" + body.replace("\\", "\\\\") + "]")
                i = end
        else:
            out.append(re.escape(char))
        i += 1
    return "".join(out)


@dataclass(frozen=True, slots=True)
class PathGlob:
    """A path glob: ``*`` and ``?`` stay within one path segment, ``**`` spans segments, ``[...]`` is a class.

    An absolute pattern (``/srv/ws/**``) is anchored at the root; a relative one (``*.txt``, ``docs/**``) matches
    at any segment boundary, so ``*.txt`` matches ``/srv/ws/hello.txt``. Paths are normalised first.
    """

    pattern: str
    regex: re.Pattern[str]

    @classmethod
    def compile(cls, pattern: str) -> PathGlob:
        if not isinstance(pattern, str) or not pattern:
            raise InvalidPolicyError(f"a path glob must be a non-empty string, got {pattern!r}")
        body = _translate(pattern, crossing=False)
        regex = body if pattern.startswith("/") else r"(?:.*/)?" + body
        try:
            return cls(pattern, re.compile(regex, re.DOTALL))
        except re.error as exc:
            raise InvalidPolicyError(f"invalid path glob {pattern!r}: {exc}") from exc

    def matches(self, path: str) -> bool:
        return self.regex.fullmatch(posixpath.normpath(path)) is not None
