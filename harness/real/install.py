"""Put a real codex binary in the cache from a registry package, verify it, and pin it in ``codex.lock``.

Sources (the :class:`PackageSource` seam): npm ``@openai/codex@V`` whose linux platform package (an npm alias,
``@openai/codex@V-linux-x64``) carries ``vendor/<triple>/bin/codex``; PyPI ``openai-codex-cli-bin==V`` whose wheel
carries ``codex_cli_bin/bin/codex``. Either way the package's binary folder (``bin/``, ``codex-path/rg``,
``codex-resources/bwrap``) becomes ``<cache>/<V>/``, so :func:`binary_path` is ``<cache>/<V>/bin/codex``.

Why this shape: the install is idempotent and cheap to re-run (a present binary whose size, mtime and sha256 were
verified is trusted via a stamp file), versions live side by side, and the lock makes a changed package or binary
an error. ``codex --version`` is checked inside the loopback sandbox: even ``--version`` runs no real codex on the
host network.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform as _platform
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from harness.errors import HarnessError
from harness.real.lock import LockEntry, LockFile, default_lock_path
from harness.real.sandbox import Isolation, NetnsIsolation

__all__ = [
    "CACHE_ENV",
    "SOURCES",
    "FetchedPackage",
    "InstallError",
    "InstallResult",
    "NpmSource",
    "PackageSource",
    "Platform",
    "PypiSource",
    "binary_path",
    "cache_root",
    "current_platform",
    "ensure_installed",
    "install",
    "sha256_file",
]

CACHE_ENV = "HARNESS_CODEX_CACHE"
_STAMP = ".verified.json"


class InstallError(HarnessError):
    """A codex version cannot be installed (unknown version, unsupported platform, lock mismatch, ...)."""


@dataclass(frozen=True)
class Platform:
    """The host platform in npm's and Rust's spelling."""

    npm: str  # "linux-x64"
    triple: str  # "x86_64-unknown-linux-musl"


_PLATFORMS = {
    ("Linux", "x86_64"): Platform("linux-x64", "x86_64-unknown-linux-musl"),
    ("Linux", "aarch64"): Platform("linux-arm64", "aarch64-unknown-linux-musl"),
}


def current_platform(system: str | None = None, machine: str | None = None) -> Platform:
    """This host's platform, or :class:`InstallError` when codex publishes no binary we can run here."""
    key = (system or _platform.system(), machine or _platform.machine())
    found = _PLATFORMS.get(key)
    if found is None:
        raise InstallError(f"unsupported platform {key[0]}/{key[1]}: the harness runs codex on linux x86_64/aarch64")
    return found


def cache_root() -> Path:
    """``$HARNESS_CODEX_CACHE`` or ``~/.cache/codex-parity-harness/codex``."""
    configured = os.environ.get(CACHE_ENV)
    return Path(configured) if configured else Path.home() / ".cache" / "codex-parity-harness" / "codex"


def binary_path(version: str, *, cache: Path | None = None) -> Path:
    """Where the ``codex`` binary of ``version`` lives in the cache (whether or not it is installed)."""
    return (cache or cache_root()) / version / "bin" / "codex"


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass(frozen=True)
class FetchedPackage:
    """A package downloaded and unpacked: ``root`` holds ``bin/codex``."""

    package: str
    integrity: str
    root: Path


class PackageSource(Protocol):
    """Where a codex version comes from."""

    @property
    def name(self) -> str:
        """``npm`` or ``pypi``: recorded in the lock."""
        ...

    def fetch(self, version: str, platform: Platform, workdir: Path) -> FetchedPackage:
        """Download ``version`` for ``platform`` into ``workdir`` and unpack its binary folder there."""
        ...


Runner = Callable[[list[str], Path], "subprocess.CompletedProcess[str]"]


def _run(argv: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, cwd=cwd, capture_output=True, text=True, check=False, stdin=subprocess.DEVNULL)


@dataclass(frozen=True)
class NpmSource:
    """``npm pack`` of the platform package that ``@openai/codex@V`` lists as an optional dependency."""

    name: str = "npm"
    runner: Runner = _run

    def _spec(self, version: str, platform: Platform, workdir: Path) -> str:
        view = self.runner(["npm", "view", f"@openai/codex@{version}", "optionalDependencies", "--json"], workdir)
        if view.returncode != 0:
            raise InstallError(f"npm has no @openai/codex@{version}: {_last_line(view.stderr)}")
        deps = json.loads(view.stdout or "{}") if view.stdout.strip() else {}
        alias = deps.get(f"@openai/codex-{platform.npm}") if isinstance(deps, dict) else None
        if not isinstance(alias, str):
            raise InstallError(f"@openai/codex@{version} has no {platform.npm} platform package (unsupported)")
        return alias.removeprefix("npm:")

    def fetch(self, version: str, platform: Platform, workdir: Path) -> FetchedPackage:
        spec = self._spec(version, platform, workdir)
        pack = self.runner(["npm", "pack", spec, "--json", "--pack-destination", str(workdir)], workdir)
        if pack.returncode != 0:
            raise InstallError(f"npm pack {spec} failed: {_last_line(pack.stderr)}")
        info = json.loads(pack.stdout)[0]
        tarball = workdir / info["filename"]
        prefix = f"package/vendor/{platform.triple}/"
        root = workdir / "unpacked"
        with tarfile.open(tarball) as archive:
            members = [m for m in archive.getmembers() if m.name.startswith(prefix)]
            for member in members:
                member.name = member.name[len(prefix) :]
            archive.extractall(root, members=[m for m in members if m.name], filter="data")
        tarball.unlink()
        return FetchedPackage(spec, str(info["integrity"]), root)


@dataclass(frozen=True)
class PypiSource:
    """``pip download --no-deps openai-codex-cli-bin==V`` and the wheel's ``codex_cli_bin/`` folder."""

    name: str = "pypi"
    runner: Runner = _run
    project: str = "openai-codex-cli-bin"

    def fetch(self, version: str, platform: Platform, workdir: Path) -> FetchedPackage:
        spec = f"{self.project}=={version}"
        argv = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "-d", str(workdir), spec]
        done = self.runner(argv, workdir)
        wheels = sorted(workdir.glob("*.whl"))
        if done.returncode != 0 or not wheels:
            raise InstallError(f"PyPI has no {spec} for {platform.npm}: {_last_line(done.stderr)}")
        wheel = wheels[0]
        integrity = "sha256:" + sha256_file(wheel)
        root = workdir / "unpacked"
        with zipfile.ZipFile(wheel) as archive:
            for info in archive.infolist():
                if not info.filename.startswith("codex_cli_bin/") or info.is_dir():
                    continue
                relative = Path(info.filename).relative_to("codex_cli_bin")
                if relative.name.endswith(".py") or ".." in relative.parts:
                    continue
                target = root / relative
                target.parent.mkdir(parents=True, exist_ok=True)
                with archive.open(info) as source, target.open("wb") as sink:
                    shutil.copyfileobj(source, sink, 1 << 20)
                mode = (info.external_attr >> 16) & 0o777
                os.chmod(target, mode or 0o644)
        wheel.unlink()
        return FetchedPackage(spec, integrity, root)


SOURCES: dict[str, Callable[[], PackageSource]] = {"npm": NpmSource, "pypi": PypiSource}


@dataclass(frozen=True)
class InstallResult:
    """What :func:`install` did."""

    entry: LockEntry
    binary: Path
    downloaded: bool


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    interesting = [line for line in lines if "404" in line or "No matching" in line or "ERR" in line.upper()]
    return (interesting or lines or ["(no output)"])[-1]


def _stamp_matches(binary: Path, entry: LockEntry) -> bool:
    stamp = binary.parent.parent / _STAMP
    try:
        data = json.loads(stamp.read_text(encoding="utf-8"))
        st = binary.stat()
    except (OSError, json.JSONDecodeError):
        return False
    return bool(
        data.get("sha256") == entry.binary_sha256
        and data.get("size") == st.st_size
        and data.get("mtime_ns") == st.st_mtime_ns
    )


def _write_stamp(binary: Path, digest: str) -> None:
    st = binary.stat()
    (binary.parent.parent / _STAMP).write_text(
        json.dumps({"sha256": digest, "size": st.st_size, "mtime_ns": st.st_mtime_ns}), encoding="utf-8"
    )


def check_version(binary: Path, version: str, isolation: Isolation) -> None:
    """``codex --version`` (in the sandbox) must print ``codex-cli <version>``."""
    argv = isolation.wrap([str(binary), "--version"])
    done = subprocess.run(argv, capture_output=True, text=True, check=False, stdin=subprocess.DEVNULL, timeout=60)
    printed = done.stdout.strip()
    if done.returncode != 0 or printed != f"codex-cli {version}":
        detail = printed or _last_line(done.stderr)
        raise InstallError(f"{binary}: `codex --version` printed {detail!r}, expected 'codex-cli {version}'")


def install(
    version: str | None = None,
    *,
    source: str | PackageSource | None = None,
    cache: Path | None = None,
    lock_path: Path | None = None,
    isolation: Isolation | None = None,
    platform: Platform | None = None,
) -> InstallResult:
    """Install ``version`` (default: the newest in the lock) and pin it. Idempotent: a present binary that matches
    the lock downloads nothing. Raises :class:`InstallError` for unknown versions, unsupported platforms, and any
    binary or package that does not match the lock."""
    lock_path = lock_path or default_lock_path()
    lock = LockFile.load(lock_path)
    version = version or lock.newest()
    if version is None:
        raise InstallError(f"{lock_path}: no version locked yet; name one with --cli VERSION")
    plat = platform or current_platform()
    cache = cache or cache_root()
    isolation = isolation or NetnsIsolation()
    locked = lock.entries.get(version)
    if isinstance(source, str) and source not in SOURCES:
        raise InstallError(f"unknown source {source!r} (known: {', '.join(sorted(SOURCES))})")
    source_name = source if isinstance(source, str) else source.name if source is not None else None
    if locked is not None and source_name is not None and locked.source != source_name:
        raise InstallError(
            f"codex {version} is locked from {locked.source}, not {source_name}; remove it from {lock_path} first"
        )
    if locked is not None and locked.platform != plat.npm:
        raise InstallError(f"codex {version} is locked for {locked.platform}, this host is {plat.npm}")
    binary = binary_path(version, cache=cache)
    if locked is not None and binary.exists():
        if not _stamp_matches(binary, locked):
            digest = sha256_file(binary)
            if digest != locked.binary_sha256:
                raise InstallError(
                    f"{binary}: sha256 {digest} does not match {lock_path} ({locked.binary_sha256}); "
                    f"delete {binary.parent.parent} to reinstall"
                )
            _write_stamp(binary, digest)
        return InstallResult(locked, binary, downloaded=False)
    chosen: PackageSource
    if source is None or isinstance(source, str):
        chosen = SOURCES[source or (locked.source if locked else "npm")]()
    else:
        chosen = source
    cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f".install-{version}-", dir=cache) as work:
        fetched = chosen.fetch(version, plat, Path(work))
        fresh = fetched.root / "bin" / "codex"
        if not fresh.is_file():
            raise InstallError(f"{fetched.package}: no bin/codex in the package (layout changed?)")
        digest = sha256_file(fresh)
        entry = LockEntry(
            version=version,
            source=chosen.name,
            package=fetched.package,
            package_integrity=fetched.integrity,
            binary_sha256=digest,
            binary_size=fresh.stat().st_size,
            platform=plat.npm,
        )
        if locked is not None and (locked.binary_sha256, locked.package_integrity) != (digest, fetched.integrity):
            raise InstallError(
                f"{fetched.package}: package/binary do not match {lock_path} "
                f"(binary sha256 {digest}, locked {locked.binary_sha256}); refusing to replace a pinned binary"
            )
        check_version(fresh, version, isolation)
        target = binary.parent.parent
        if target.exists():
            shutil.rmtree(target)
        os.replace(fetched.root, target)
    _write_stamp(binary, digest)
    if locked is None:
        LockFile.load(lock_path).with_entry(entry).save(lock_path)
    return InstallResult(entry, binary, downloaded=True)


def ensure_installed(version: str, *, cache: Path | None = None, lock_path: Path | None = None) -> Path:
    """The binary of ``version``, installing it on demand from its locked source (what tests that need the real
    codex call; a failure raises :class:`InstallError` with the reason, it never skips)."""
    return install(version, cache=cache, lock_path=lock_path).binary
