"""``harness adapters new``: a minimal adapter to start from, in Python or Node, that passes the check as written.

The templates (``python_adapter.py.tmpl``, ``node_adapter.mjs.tmpl``, shipped in the package) are standalone
programs (placeholders ``{{name}}``, ``{{filename}}``) with one marked "SDK CALL" -- a stub that runs ``codex exec
--json`` itself, so the skeleton behaves like a tiny SDK until the author puts theirs in. They use no harness import
(an adapter runs in the SDK's own environment) and no npm dependency. A skeleton never overwrites a file: the text
is written to a temporary file and *linked* into place, which fails atomically when the name is taken.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import re
import tempfile
from importlib import resources
from pathlib import Path

from harness.errors import HarnessError

__all__ = ["LANGUAGES", "SkeletonError", "Written", "render", "skeleton_filename", "write_skeleton"]

#: ``--lang`` value -> (template file, how the command that runs it starts).
LANGUAGES: dict[str, tuple[str, str]] = {
    "node": ("node_adapter.mjs.tmpl", "node"),
    "python": ("python_adapter.py.tmpl", "python3"),
}

_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,63}$")


class SkeletonError(HarnessError):
    """A name, language or target the skeleton cannot be written for (exit status 2)."""


@dataclasses.dataclass(frozen=True)
class Written:
    """The file written and the README snippet to print (how to run and check it)."""

    path: Path
    command: str
    readme: str


def skeleton_filename(name: str, lang: str) -> str:
    """``my_sdk_adapter.py`` / ``my-sdk-adapter.mjs``."""
    return f"{name.replace('-', '_')}_adapter.py" if lang == "python" else f"{name}-adapter.mjs"


def render(name: str, lang: str, filename: str) -> str:
    """The skeleton's text for ``name`` in ``lang`` (``filename``: how the file is named in its comments)."""
    if lang not in LANGUAGES:
        raise SkeletonError(f"adapters new: --lang {lang!r}: expected one of {', '.join(sorted(LANGUAGES))}")
    if not _NAME.match(name):
        raise SkeletonError(f"adapters new: name {name!r}: use a letter, then letters, digits, '-' or '_'")
    template = resources.files(__name__).joinpath(LANGUAGES[lang][0]).read_text(encoding="utf-8")
    return template.replace("{{name}}", name).replace("{{filename}}", filename)


def _readme(name: str, command: str, lang: str) -> str:
    return "\n".join([
        f"## {name} adapter ({lang})",
        "",
        f"Replace the block marked `SDK CALL` in `{command.split(' ', 1)[1]}` with a call to your SDK, announce",
        "only the capabilities it has, and read its installed version at run time. Then:",
        "",
        "```sh",
        f'harness adapters check "{command}"',
        f'harness parity --adapter {name}="{command}"',
        "```",
        "",
        "The protocol is docs/adapters.md; the rules the check applies are docs/adapter-check.md.",
    ])


def write_skeleton(name: str, lang: str, out_dir: Path) -> Written:
    """Write the skeleton into ``out_dir`` (created if missing); refuse if the file exists."""
    filename = skeleton_filename(name, lang)
    target = Path(out_dir) / filename
    text = render(name, lang, str(target))
    if target.exists():
        raise SkeletonError(f"adapters new: {target} already exists; not overwriting it (remove it or use -o)")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SkeletonError(f"adapters new: cannot create {target.parent}: {exc.strerror or exc}") from exc
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{filename}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(tmp, 0o755)
        try:
            os.link(tmp, target)  # atomic, and fails if the name is taken meanwhile
        except FileExistsError:
            raise SkeletonError(f"adapters new: {target} already exists; not overwriting it") from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
    command = f"{LANGUAGES[lang][1]} {target}"
    return Written(target, command, _readme(name, command, lang))
