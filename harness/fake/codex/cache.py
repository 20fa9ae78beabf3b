"""The compile cache shared by the perl launcher (``launcher.pl``) and ``harness-fake-codex``'s Python side.

Why a cache the launcher can read without Python: ``harness-fake-codex`` with ``HARNESS_FAKE_PLAN`` is what SDKs in
other languages use, and paying a Python start-up plus a compile on every turn made it ~10x the compiled fake. So
Python compiles once per (plan path, plan bytes, fixture bytes, harness sources) and the launcher, on every later
invocation, only compares bytes and execs. Layout under :func:`cache_root`::

    entries/<key>/            a compiled fake (build layout) + inputs/, immutable once published
    entries/<key>/inputs/     manifest; "plan" and "<n>": exact copies of the plan and replayed fixtures
    paths/<path key>          a symlink used as an atomic string: its *target* is the entry key for that plan path

An entry is written in a temp directory and published with rename(2); the pointer is replaced with rename(2) of a
fresh symlink. Racing misses therefore each compile and the last pointer wins, and a reader never sees half an
entry. Every function here except :func:`compile_cached` uses the standard library only, so the Python fast path
(:func:`lookup`) does not pay for importing YAML and the compiler.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: the fast path (lookup) imports nothing it does not need
if TYPE_CHECKING:
    from harness.fake.codex.plan import Plan

__all__ = ["CACHE_FORMAT", "SOURCES", "cache_root", "compile_cached", "lookup", "normalize_path", "path_key"]

#: Part of every entry key; bump it when the cache layout changes.
CACHE_FORMAT = "fake-codex-cache-1"

#: The harness files whose content decides what a compiled fake does. Their size and mtime are in every manifest,
#: so editing or upgrading the harness makes the launcher miss (and Python recompile) instead of running a fake
#: compiled by older code.
SOURCES = ("compile.py", "plan.py", "runtime.pl")

_HERE = Path(__file__).resolve().parent


def cache_root() -> Path:
    """``$HARNESS_FAKE_CACHE``, else ``$XDG_CACHE_HOME/codex-parity-harness/fake-codex``, else
    ``~/.cache/codex-parity-harness/fake-codex`` (the launcher computes the same)."""
    explicit = os.environ.get("HARNESS_FAKE_CACHE")
    if explicit:
        return Path(explicit)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "codex-parity-harness" / "fake-codex"


def normalize_path(path: str, cwd: str | None = None) -> str:
    """Absolute, with empty and ``.`` components dropped (``..`` is kept: resolving it needs the file system).

    The launcher computes the same string; it is what the cached fake bakes in as its plan path, so the two must
    agree byte for byte."""
    if not path.startswith("/"):
        path = f"{os.getcwd() if cwd is None else cwd}/{path}"
    return "/" + "/".join(part for part in path.split("/") if part not in ("", "."))


def path_key(path: str) -> str:
    """FNV-1a over the UTF-8 bytes of ``path`` in two 32-bit lanes, as 16 hex digits (the launcher's
    ``path_key``): a cheap name for the pointer file; collisions are caught by the manifest's plan path."""
    a, b = 0x811C9DC5, 0x050C5D1F
    for byte in os.fsencode(path):
        a = ((a ^ byte) * 16777619) & 0xFFFFFFFF
        b = ((b ^ byte) * 16777619) & 0xFFFFFFFF
    return f"{a:08x}{b:08x}"


def _read(path: str | Path) -> bytes | None:
    try:
        with open(path, "rb") as fh:
            return fh.read()
    except OSError:
        return None


def _fresh(entry: Path, plan_path: str) -> bool:
    """Python twin of the launcher's ``fresh``: the entry was compiled from exactly what is on disk now."""
    manifest = _read(entry / "inputs" / "manifest")
    if manifest is None:
        return False
    complete = False
    for line in manifest.decode("ascii", errors="replace").split("\n"):
        if not line:
            continue
        kind, *fields = line.split(" ")
        if kind == "plan":
            if bytes.fromhex(fields[0]) != os.fsencode(plan_path):
                return False
            current = _read(plan_path)
            if current is None or current != _read(entry / "inputs" / "plan"):
                return False
        elif kind == "fixture":
            current = _read(os.fsdecode(bytes.fromhex(fields[1])))
            if current is None or current != _read(entry / "inputs" / fields[0]):
                return False
        elif kind == "source":
            try:
                st = os.stat(bytes.fromhex(fields[2]))
            except OSError:
                return False
            if (st.st_size, st.st_mtime_ns // 1_000_000_000) != (int(fields[0]), int(fields[1])):
                return False
        elif kind == "end":
            complete = True
        else:
            return False
    return complete


def lookup(plan_path: str, root: Path | None = None) -> Path | None:
    """The cached executable for the (normalized) ``plan_path`` if it is fresh, else ``None``."""
    root = cache_root() if root is None else root
    try:
        key = os.readlink(root / "paths" / path_key(plan_path))
    except OSError:
        return None
    if not key or not all(c in "0123456789abcdef" for c in key):
        return None
    entry = root / "entries" / key
    return entry / "codex" if _fresh(entry, plan_path) else None


def _sources_manifest() -> list[str]:
    lines = []
    for name in SOURCES:
        path = _HERE / name
        st = path.stat()
        lines.append(f"source {st.st_size} {st.st_mtime_ns // 1_000_000_000} {os.fsencode(str(path)).hex()}")
    return lines


def _fixtures(plan: Plan) -> list[tuple[str, bytes]]:
    """Each replayed fixture once, with the bytes the plan was compiled from (rebuilt from the step's lines, so
    a fixture edited since the plan was loaded is caught by the launcher's comparison next time)."""
    seen: dict[str, bytes] = {}
    for step in plan.steps:
        if step.fixture is not None:
            data = b"\n".join(step.lines) + (b"\n" if step.lines and step.final_newline else b"")
            seen.setdefault(str(step.fixture), data)
    return list(seen.items())


def _publish(root: Path, key: str, plan: Plan, plan_path: str, plan_bytes: bytes, manifest: str) -> Path:
    import contextlib
    import shutil
    import tempfile

    from harness.fake.codex.compile import write_fake

    entries = root / "entries"
    final = entries / key
    if not (final / "inputs" / "manifest").exists():
        entries.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".tmp.{key}.", dir=entries))
        try:
            write_fake(plan, tmp, plan_path=plan_path, log_path="", final_dir=final)
            inputs = tmp / "inputs"
            inputs.mkdir()
            (inputs / "plan").write_bytes(plan_bytes)
            for n, (_, data) in enumerate(_fixtures(plan)):
                (inputs / str(n)).write_bytes(data)
            (inputs / "manifest").write_text(manifest, encoding="ascii")  # last: marks the entry complete
            tmp.chmod(0o755)
            try:
                os.rename(tmp, final)  # atomic publish; a concurrent compile that won the race is just as good
            except OSError:
                if not (final / "inputs" / "manifest").exists():
                    raise
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    paths = root / "paths"
    paths.mkdir(parents=True, exist_ok=True)
    link = paths / path_key(plan_path)
    tmp_link = paths / f".tmp.{link.name}.{os.getpid()}.{os.urandom(4).hex()}"
    os.symlink(key, tmp_link)
    try:
        os.replace(tmp_link, link)
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(tmp_link)
        raise
    return final / "codex"


def compile_cached(plan_path: str, root: Path | None = None) -> Path:
    """Load, validate and compile the plan at ``plan_path`` (normalized, see :func:`normalize_path`) into the
    cache, point the launcher at it, and return the executable. Raises :class:`~harness.errors.PlanError`.

    The compiled fake has no log baked in: it logs to ``HARNESS_FAKE_LOG`` at run time."""
    import hashlib

    from harness.errors import PlanError
    from harness.fake.codex.plan import load_plan

    root = cache_root() if root is None else root
    for _ in range(3):
        before = _read(plan_path)
        plan = load_plan(Path(plan_path))
        if before is not None and before == _read(plan_path):
            break
    else:  # pragma: no cover - needs a plan rewritten during each of three loads
        raise PlanError("the plan changed while it was being compiled", path=plan_path)
    assert before is not None
    fixtures = _fixtures(plan)
    manifest = "\n".join(
        [
            f"plan {os.fsencode(plan_path).hex()}",
            *(f"fixture {n} {os.fsencode(path).hex()}" for n, (path, _) in enumerate(fixtures)),
            *_sources_manifest(),
            "end",
        ]
    )
    h = hashlib.sha256()
    for part in (CACHE_FORMAT.encode(), manifest.encode(), before, os.fsencode(sys.executable)):
        h.update(len(part).to_bytes(8, "big") + part)
    for _, data in fixtures:
        h.update(len(data).to_bytes(8, "big") + data)
    for name in SOURCES:
        h.update(hashlib.sha256((_HERE / name).read_bytes()).digest())
    return _publish(root, h.hexdigest()[:32], plan, plan_path, before, manifest + "\n")
