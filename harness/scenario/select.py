"""``-k``-style selection of scenarios: ``shell and not fail``, ``(errors or faults) and streamed``.

Grammar (as pytest's ``-k``): ``expr := or; or := and ('or' and)*; and := not ('and' not)*;
not := 'not' not | '(' or ')' | WORD``. A word matches a scenario when it is a case-insensitive substring of
its id
or title, or equals one of its tags.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from harness.errors import HarnessError

__all__ = ["matches_keyword"]

_TOKEN = re.compile(r"\s*(\(|\)|[^\s()]+)")


class _Parser:
    def __init__(self, expr: str, words: set[str], text: str) -> None:
        self.tokens = [m.group(1) for m in _TOKEN.finditer(expr)]
        self.pos = 0
        self.expr = expr
        self.words = words
        self.text = text

    def peek(self) -> str | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> str:
        token = self.peek()
        if token is None:
            raise HarnessError(f"invalid selection expression {self.expr!r}: unexpected end")
        self.pos += 1
        return token

    def parse(self) -> bool:
        value = self.or_()
        if self.peek() is not None:
            raise HarnessError(f"invalid selection expression {self.expr!r}: unexpected {self.peek()!r}")
        return value

    def or_(self) -> bool:
        value = self.and_()
        while self.peek() == "or":
            self.take()
            right = self.and_()
            value = value or right
        return value

    def and_(self) -> bool:
        value = self.not_()
        while self.peek() == "and":
            self.take()
            right = self.not_()
            value = value and right
        return value

    def not_(self) -> bool:
        token = self.take()
        if token == "not":
            return not self.not_()
        if token == "(":
            value = self.or_()
            if self.take() != ")":
                raise HarnessError(f"invalid selection expression {self.expr!r}: expected ')'")
            return value
        if token in (")", "and", "or"):
            raise HarnessError(f"invalid selection expression {self.expr!r}: unexpected {token!r}")
        word = token.lower()
        return word in self.words or word in self.text


def matches_keyword(expr: str, scenario_id: str, title: str, tags: Iterable[str]) -> bool:
    """Whether a scenario with this id, title and tags is selected by the ``-k``-style ``expr``."""
    if not expr.strip():
        return True
    return _Parser(expr, {t.lower() for t in tags}, f"{scenario_id}\n{title}".lower()).parse()
