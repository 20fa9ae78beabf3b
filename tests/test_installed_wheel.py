"""The harness as an SDK author gets it: a wheel installed (non-editable) into a fresh venv, run in a folder outside
the repository, with the SDK's adapter given as ``--adapter`` and then through ``codex-parity.toml``.

The wheel is built once per module from this checkout (hatchling from the test venv, no build isolation: no
download). To avoid downloading the dependencies too, the fresh venv sees the test venv's site-packages through a
``.pth`` line -- for the dependencies only: the test asserts that ``harness`` itself is imported from the fresh venv
(the copy in the wheel, with its packaged corpus), never from the checkout.
"""

from __future__ import annotations

import os
import shlex
import site
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

import pytest

from harness.report.model import Status
from harness.report.reader import read_report

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow


def _run(argv: list[str], *, cwd: Path, env: Mapping[str, str] | None = None, timeout: float = 120) -> str:
    done = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False)
    assert done.returncode == 0, f"{argv}: exit {done.returncode}\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}"
    return done.stdout


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with the wheel of this checkout installed; returns its root."""
    base = tmp_path_factory.mktemp("wheel")
    assert not base.resolve().is_relative_to(ROOT)
    wheels = base / "dist"
    _run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", str(wheels), str(ROOT)],
        cwd=base,
    )
    (wheel,) = wheels.glob("codex_parity_harness-*.whl")
    venv = base / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], cwd=base)
    (purelib,) = venv.glob("lib/python*/site-packages")
    (purelib / "_test_venv_dependencies.pth").write_text("\n".join(site.getsitepackages()) + "\n", encoding="utf-8")
    _run([sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"), "install", "-q", "--no-deps",
          str(wheel)], cwd=base)
    return venv


def _env(venv: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME")}
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    env["COLUMNS"] = "200"
    return env


def _check_report(out: Path, venv: Path, *, implementations: set[str]) -> None:
    report = read_report(out / "parity.json")
    assert report.ok
    assert {r.implementation for r in report.results} == implementations
    mine = [r for r in report.results if r.implementation == "mine"]
    assert sum(r.status is Status.PASSED for r in mine) >= 10
    assert {r.status for r in mine} <= {Status.PASSED, Status.SKIPPED}
    assert Path(report.header.selection.scenarios).is_relative_to(venv), "the packaged corpus was used"


def test_the_installed_harness_is_the_wheel_with_its_corpus(installed: Path, tmp_path: Path) -> None:
    python = installed / "bin" / "python"
    where = _run([str(python), "-c", "import harness; print(harness.__file__)"], cwd=tmp_path, env=_env(installed))
    assert Path(where.strip()).is_relative_to(installed) and not Path(where.strip()).is_relative_to(ROOT)
    root = Path(_run([str(installed / "bin" / "harness"), "corpus", "path"], cwd=tmp_path, env=_env(installed)).strip())
    assert root == installed.glob("lib/python*/site-packages").__next__() / "harness" / "_corpus"
    for part in ("scenarios", "fixtures", "golden", "baselines", "cases", "codex.lock"):
        assert (root / part).exists(), part


def test_parity_with_an_adapter_flag_in_a_scratch_folder(installed: Path, tmp_path: Path, no_leaks: str) -> None:
    scratch = tmp_path / "my-sdk"
    scratch.mkdir()
    command = f"{shlex.quote(str(installed / 'bin' / 'python'))} -m harness.adapters.reference_adapter"
    _run(
        [str(installed / "bin" / "harness"), "parity", "--adapter", f"mine={command}", "-n", "2"],
        cwd=scratch,
        env=_env(installed),
    )
    _check_report(scratch / "reports", installed, implementations={"reference", "mine"})


def test_parity_with_a_config_file_in_a_scratch_folder(installed: Path, tmp_path: Path, no_leaks: str) -> None:
    scratch = tmp_path / "my-sdk"
    scratch.mkdir()
    argv = [str(installed / "bin" / "python"), "-m", "harness.adapters.reference_adapter"]
    (scratch / "codex-parity.toml").write_text(
        "keyword = 'turns or errors or recorded'\n"
        "out = 'parity/reports'\n"
        "baselines = 'parity/baselines'\n"
        "impl = 'mine'\n"
        "[adapters]\n"
        f"mine = [{', '.join(repr(a).replace(chr(39), chr(34)) for a in argv)}]\n",
        encoding="utf-8",
    )
    _run([str(installed / "bin" / "harness"), "parity", "-n", "2"], cwd=scratch, env=_env(installed))
    _check_report(scratch / "parity" / "reports", installed, implementations={"mine"})
