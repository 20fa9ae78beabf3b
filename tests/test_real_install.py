"""Installing codex binaries into the cache, pinned by codex.lock (a fake package source; the real ones once)."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from harness.real.install import (
    FetchedPackage,
    InstallError,
    Platform,
    binary_path,
    current_platform,
    ensure_installed,
    install,
    sha256_file,
)
from harness.real.lock import LockEntry, LockError, LockFile, default_lock_path

pytestmark = pytest.mark.usefixtures("no_leaks")

PLAT = Platform("linux-x64", "x86_64-unknown-linux-musl")


@dataclass
class FakeSource:
    """A registry double: 'downloads' a shell-script codex that prints a version."""

    prints: str | None = None
    missing: tuple[str, ...] = ()
    fetched: list[str] = field(default_factory=list)
    name: str = "npm"

    def fetch(self, version: str, platform: Platform, workdir: Path) -> FetchedPackage:
        if version in self.missing:
            raise InstallError(f"npm has no @openai/codex@{version}: E404")
        self.fetched.append(version)
        binary = workdir / "unpacked" / "bin" / "codex"
        binary.parent.mkdir(parents=True)
        binary.write_text(f"#!/bin/sh\necho 'codex-cli {self.prints or version}'\n")
        binary.chmod(0o755)
        return FetchedPackage(f"@openai/codex@{version}-{platform.npm}", f"sha512-fake-{version}", workdir / "unpacked")


def _install(tmp_path: Path, version: str | None, source: FakeSource) -> object:
    return install(version, source=source, cache=tmp_path / "cache", lock_path=tmp_path / "codex.lock", platform=PLAT)


def test_install_pins_then_is_idempotent(tmp_path: Path) -> None:
    source = FakeSource()
    first = _install(tmp_path, "1.2.3", source)
    assert first.downloaded  # type: ignore[attr-defined]
    binary = binary_path("1.2.3", cache=tmp_path / "cache")
    assert binary.is_file() and os.access(binary, os.X_OK)
    entry = LockFile.load(tmp_path / "codex.lock").entries["1.2.3"]
    assert entry.binary_sha256 == sha256_file(binary)
    assert (entry.source, entry.package, entry.platform) == ("npm", "@openai/codex@1.2.3-linux-x64", "linux-x64")
    assert entry.binary_size == binary.stat().st_size
    second = _install(tmp_path, "1.2.3", source)
    assert not second.downloaded  # type: ignore[attr-defined]
    assert source.fetched == ["1.2.3"]


def test_versions_side_by_side_and_default_is_newest(tmp_path: Path) -> None:
    source = FakeSource()
    _install(tmp_path, "0.9.0", source)
    _install(tmp_path, "0.10.0", source)
    lock = LockFile.load(tmp_path / "codex.lock")
    assert lock.newest() == "0.10.0"
    result = _install(tmp_path, None, source)
    assert result.entry.version == "0.10.0"  # type: ignore[attr-defined]
    assert binary_path("0.9.0", cache=tmp_path / "cache").exists()
    assert list(json.loads((tmp_path / "codex.lock").read_text())["versions"]) == ["0.10.0", "0.9.0"]


def test_a_binary_that_does_not_match_the_lock_is_an_error(tmp_path: Path) -> None:
    _install(tmp_path, "1.0.0", FakeSource())
    binary = binary_path("1.0.0", cache=tmp_path / "cache")
    binary.write_text("#!/bin/sh\necho tampered\n")
    with pytest.raises(InstallError, match=r"sha256 .* does not match .*codex.lock"):
        _install(tmp_path, "1.0.0", FakeSource())


def test_a_republished_package_is_refused(tmp_path: Path) -> None:
    _install(tmp_path, "1.0.0", FakeSource())
    cache_dir = tmp_path / "cache" / "1.0.0"
    for path in sorted(cache_dir.rglob("*"), reverse=True):
        path.unlink() if path.is_file() else path.rmdir()
    cache_dir.rmdir()
    with pytest.raises(InstallError, match="do not match"):
        _install(tmp_path, "1.0.0", FakeSource(prints="1.0.0 "))


def test_wrong_version_output_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InstallError, match=r"printed 'codex-cli 9.9.9', expected 'codex-cli 1.0.0'"):
        _install(tmp_path, "1.0.0", FakeSource(prints="9.9.9"))
    assert not (tmp_path / "codex.lock").exists()
    assert not binary_path("1.0.0", cache=tmp_path / "cache").exists()


def test_unknown_version_and_unsupported_platform(tmp_path: Path) -> None:
    with pytest.raises(InstallError, match="npm has no @openai/codex@0.0.1"):
        _install(tmp_path, "0.0.1", FakeSource(missing=("0.0.1",)))
    with pytest.raises(InstallError, match="unsupported platform Darwin/arm64"):
        current_platform("Darwin", "arm64")
    assert current_platform("Linux", "x86_64") == PLAT
    with pytest.raises(InstallError, match="no version locked"):
        _install(tmp_path, None, FakeSource())


def test_lock_rejects_malformed_files(tmp_path: Path) -> None:
    path = tmp_path / "codex.lock"
    path.write_text("{nope")
    with pytest.raises(LockError, match="not a readable JSON lock"):
        LockFile.load(path)
    path.write_text(json.dumps({"versions": {"1.0.0": {"version": "1.0.0"}}}))
    with pytest.raises(LockError, match="needs exactly the fields"):
        LockFile.load(path)
    entry = LockEntry("2.0.0", "pypi", "p==2.0.0", "sha256:x", "ab", 1, "linux-x64")
    LockFile({}).with_entry(entry).save(path)
    assert LockFile.load(path).entries == {"2.0.0": entry}


def test_cli_unknown_version_is_one_line_exit_2(tmp_path: Path) -> None:
    env = {**os.environ, "HARNESS_CODEX_CACHE": str(tmp_path / "cache")}
    argv = [sys.executable, "-m", "harness", "install", "--cli", "0.0.1", "--lock", str(tmp_path / "l.lock")]
    done = subprocess.run(argv, capture_output=True, text=True, env=env, check=False, timeout=120)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1
    assert done.stderr.startswith("error: npm has no @openai/codex@0.0.1")
    bad = subprocess.run([*argv[:-2], "--source", "nope"], capture_output=True, text=True, env=env, check=False)
    assert bad.returncode == 2
    assert "unknown source 'nope'" in bad.stderr


def test_committed_lock_pins_the_real_versions_and_they_install() -> None:
    lock = LockFile.load(default_lock_path())
    assert lock.newest() == "0.171.0"
    assert {"0.171.0", "0.163.0"} <= set(lock.entries)
    assert lock.entries["0.163.0"].source == "pypi"
    assert lock.entries["0.171.0"].source == "npm"
    for version in ("0.171.0", "0.163.0"):
        binary = ensure_installed(version)
        assert binary == binary_path(version)
        assert binary.stat().st_mode & stat.S_IXUSR
        assert binary.stat().st_size == lock.entries[version].binary_size
