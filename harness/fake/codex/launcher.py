"""Where the perl launcher of ``harness-fake-codex`` lives, and writing a copy with the interpreter baked in.

The launcher (``launcher.pl``, see its header) is what makes ``HARNESS_FAKE_PLAN`` cheap: it only needs Python on a
cache miss. Installed as the ``harness-fake-codex`` script it finds the Python beside itself; the copy written by
:func:`write_launcher` (``harness fake-codex launcher``) names it explicitly, so it works from any directory.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from harness._atomic import write_text_atomic
from harness.errors import HarnessError

__all__ = ["PY_PLACEHOLDER", "launcher_path", "write_launcher"]

#: The line of ``launcher.pl`` that :func:`write_launcher` replaces with the baked interpreter.
PY_PLACEHOLDER = "our $PY;    # baked by write_launcher() (launcher.py); else found at run time, see python()"


def launcher_path() -> Path:
    """The launcher inside the installed package (executable; finds Python via ``HARNESS_FAKE_PYTHON``, beside
    itself, or ``python3`` on ``PATH``)."""
    return Path(__file__).resolve().parent / "launcher.pl"


def _perl_literal(text: str) -> str:
    return f"pack('H*', '{os.fsencode(text).hex()}')"


def write_launcher(dest: Path, *, python: str | None = None, perl: str | None = None) -> Path:
    """Write an executable launcher to ``dest`` whose cache misses run ``python`` (default: this interpreter) and
    whose shebang is ``perl`` (default: the one on ``PATH``); return its absolute path."""
    perl = perl or shutil.which("perl") or "/usr/bin/perl"
    if not os.path.exists(perl):
        raise HarnessError("the fake codex launcher needs perl (any perl 5; perl-base is enough) on PATH")
    text = launcher_path().read_text(encoding="utf-8")
    if PY_PLACEHOLDER not in text:  # pragma: no cover - guarded by a test
        raise HarnessError(f"{launcher_path()}: the $PY placeholder line is missing")
    _shebang, _, body = text.partition("\n")
    python = python or sys.executable
    body = body.replace(PY_PLACEHOLDER, f"our $PY = {_perl_literal(python)};    # baked by write_launcher()", 1)
    dest = Path(dest).absolute()
    write_text_atomic(dest, f"#!{perl}\n{body}", mode=0o755, redact=False)
    return dest
