"""The perl launcher of ``harness-fake-codex`` and the compile cache it shares with Python.

The launcher must run a fresh cached fake without Python (checked by pointing ``HARNESS_FAKE_PYTHON`` at a
program that does not exist), and must miss, i.e. go to Python, whenever the plan, a replayed fixture or the
harness sources differ from what the entry was compiled from.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.fake import read_log
from harness.fake.codex import cache, cache_root, compile_cached, launcher_path, write_launcher
from harness.fake.codex.cache import lookup, normalize_path, path_key
from harness.fake.codex.launcher import PY_PLACEHOLDER
from harness.fake.testing import wait_no_leftovers

NO_PYTHON = "/nonexistent/python-for-a-cache-hit"


@pytest.fixture(autouse=True)
def no_leftovers(tmp_path: Path) -> Iterator[None]:
    yield
    assert not wait_no_leftovers(tmp_path)


def env_for(tmp_path: Path, plan: Path | str, *, python: str | None = sys.executable, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HARNESS_FAKE_")}
    env["HARNESS_FAKE_CACHE"] = str(tmp_path / "cache")
    env["HARNESS_FAKE_PLAN"] = str(plan)
    if python is not None:
        env["HARNESS_FAKE_PYTHON"] = python
    return env | extra


def launch(
    env: dict[str, str], *args: str, stdin: bytes = b"prompt", cwd: Path | None = None
) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([str(launcher_path()), *args], input=stdin, capture_output=True, env=env, cwd=cwd, timeout=30)


def entries(tmp_path: Path) -> list[str]:
    root = tmp_path / "cache" / "entries"
    return sorted(p.name for p in root.iterdir()) if root.exists() else []


def test_hit_runs_the_cached_fake_without_python(tmp_path: Path) -> None:
    plan = tmp_path / "plan.yaml"
    plan.write_text("steps:\n  - lines: [one]\n  - lines: [two]\n    faults: {exit_code: 3}\n")
    log = tmp_path / "log.jsonl"
    first = launch(env_for(tmp_path, plan, HARNESS_FAKE_LOG=str(log)), "exec", "--json", stdin=b"p1")
    assert (first.returncode, first.stdout, first.stderr) == (0, b"one\n", b"")
    # Python is now unreachable: only a cache hit can still answer, and it keeps the step state going.
    second = launch(env_for(tmp_path, plan, python=NO_PYTHON, HARNESS_FAKE_LOG=str(log)), "exec", stdin=b"p2")
    assert (second.returncode, second.stdout) == (3, b"two\n")
    assert [(i.step, i.argv, i.stdin) for i in read_log(log)] == [(0, ("exec", "--json"), "p1"), (1, ("exec",), "p2")]
    assert len(entries(tmp_path)) == 1


def test_relative_plan_path_is_normalized_like_python(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "plan.yaml").write_text("steps:\n  - lines: [rel]\n")
    env = env_for(tmp_path, "./sub//plan.yaml")
    assert launch(env, cwd=tmp_path).stdout == b"rel\n"
    hit = launch(env_for(tmp_path, "sub/./plan.yaml", python=NO_PYTHON), cwd=tmp_path)
    assert (hit.returncode, hit.stdout) == (0, b"rel\n")
    assert lookup(str(tmp_path / "sub" / "plan.yaml"), tmp_path / "cache") is not None


def test_miss_is_not_shadowed_by_a_harness_directory_in_the_cwd(tmp_path: Path) -> None:
    # An SDK repository may well have its own `harness/`; Python must still import the installed harness.
    repo = tmp_path / "sdk-repo"
    (repo / "harness" / "fake" / "codex").mkdir(parents=True)
    (repo / "harness" / "__init__.py").write_text("raise SystemExit('wrong harness imported')\n")
    (repo / "plan.yaml").write_text("steps:\n  - lines: [right]\n")
    result = launch(env_for(tmp_path, "plan.yaml"), cwd=repo)
    assert (result.returncode, result.stdout, result.stderr) == (0, b"right\n", b"")


def test_edited_plan_of_the_same_size_misses(tmp_path: Path) -> None:
    plan = tmp_path / "plan.yaml"
    plan.write_text("steps:\n  - lines: [aa]\n")
    assert launch(env_for(tmp_path, plan)).stdout == b"aa\n"
    plan.write_text("steps:\n  - lines: [bb]\n")  # same size, and possibly the same mtime second
    assert launch(env_for(tmp_path, plan, python=NO_PYTHON)).returncode == 2  # a miss needs Python
    assert launch(env_for(tmp_path, plan)).stdout == b"bb\n"
    assert len(entries(tmp_path)) == 2


def test_edited_fixture_misses(tmp_path: Path) -> None:
    fixture = tmp_path / "fx.jsonl"
    fixture.write_bytes(b'{"type":"turn.started"}\n')
    plan = tmp_path / "plan.yaml"
    plan.write_text("steps:\n  - replay: fx.jsonl\n")
    assert launch(env_for(tmp_path, plan)).stdout == fixture.read_bytes()
    assert launch(env_for(tmp_path, plan, python=NO_PYTHON)).stdout == fixture.read_bytes()
    fixture.write_bytes(b'{"type":"turn.Started"}\n')
    missed = launch(env_for(tmp_path, plan, python=NO_PYTHON))
    assert missed.returncode == 2 and b"cannot run Python" in missed.stderr
    assert launch(env_for(tmp_path, plan)).stdout == b'{"type":"turn.Started"}\n'


def test_changed_harness_source_misses(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Compile against a private copy of the harness sources, then "upgrade" the copy.
    sources = tmp_path / "harness-src"
    sources.mkdir()
    for name in cache.SOURCES:
        (sources / name).write_bytes((cache._HERE / name).read_bytes())
    monkeypatch.setattr(cache, "_HERE", sources)
    plan = tmp_path / "plan.yaml"
    plan.write_text("steps:\n  - lines: [x]\n")
    exe = compile_cached(str(plan), tmp_path / "cache")
    manifest = (exe.parent / "inputs" / "manifest").read_text()
    assert [line.split()[0] for line in manifest.splitlines()] == ["plan", "source", "source", "source", "end"]
    assert launch(env_for(tmp_path, plan, python=NO_PYTHON)).stdout == b"x\n"
    runtime = sources / "runtime.pl"
    st = runtime.stat()
    os.utime(runtime, ns=(st.st_atime_ns, st.st_mtime_ns - 5_000_000_000))
    assert lookup(str(plan), tmp_path / "cache") is None
    assert launch(env_for(tmp_path, plan, python=NO_PYTHON)).returncode == 2  # a miss needs Python
    assert compile_cached(str(plan), tmp_path / "cache") != exe  # a new entry ...
    assert launch(env_for(tmp_path, plan, python=NO_PYTHON)).stdout == b"x\n"  # ... that the launcher hits
    assert len(entries(tmp_path)) == 2


def test_incomplete_or_unknown_manifest_is_a_miss(tmp_path: Path) -> None:
    plan = tmp_path / "plan.yaml"
    plan.write_text("steps:\n  - lines: [x]\n")
    manifest = compile_cached(str(plan), tmp_path / "cache").parent / "inputs" / "manifest"
    good = manifest.read_text()
    for bad in (good.replace("end\n", ""), good.replace("end\n", "future thing\nend\n")):
        manifest.write_text(bad)
        assert lookup(str(plan), tmp_path / "cache") is None
        assert launch(env_for(tmp_path, plan, python=NO_PYTHON)).returncode == 2


def test_errors_are_one_line_exit_2(tmp_path: Path) -> None:
    env = env_for(tmp_path, "")
    missing = launch(env)
    assert (missing.returncode, missing.stderr) == (
        2, b"harness-fake-codex: HARNESS_FAKE_PLAN is not set (it names the plan file)\n"
    )  # fmt: skip
    bad = tmp_path / "bad.yaml"
    bad.write_text("steps:\n  - lines: [a]\n    faults: {exit_code: x}\n")
    result = launch(env_for(tmp_path, bad))
    assert result.returncode == 2 and result.stderr.count(b"\n") == 1
    assert result.stderr.startswith(f"harness-fake-codex: {bad}:3:".encode())
    assert b"steps[0].faults.exit_code" in result.stderr
    nothing = launch(env_for(tmp_path, tmp_path / "absent.yaml"))
    assert nothing.returncode == 2 and b"cannot read plan" in nothing.stderr


def test_concurrent_misses_each_get_a_step_and_leave_no_temp_files(tmp_path: Path) -> None:
    n = 6
    plan = tmp_path / "plan.yaml"
    plan.write_text("steps:\n" + "".join(f"  - lines: [s{i}]\n" for i in range(n)))
    log = tmp_path / "log.jsonl"
    env = env_for(tmp_path, plan, HARNESS_FAKE_LOG=str(log))
    with ThreadPoolExecutor(n) as pool:
        results = list(pool.map(lambda _: launch(env), range(n)))
    assert sorted(r.stdout for r in results) == sorted(f"s{i}\n".encode() for i in range(n))
    assert sorted(i.step for i in read_log(log) if i.step is not None) == list(range(n))
    root = tmp_path / "cache"
    assert [p.name for p in (root / "entries").iterdir()] == entries(tmp_path) and len(entries(tmp_path)) == 1
    assert [p.name for p in (root / "paths").iterdir()] == [path_key(str(plan))]


def test_python_console_script_shares_the_cache(tmp_path: Path) -> None:
    plan = tmp_path / "plan.yaml"
    plan.write_text("steps:\n  - lines: [py]\n")
    run = subprocess.run(
        [sys.executable, "-m", "harness.fake.cli"], input=b"", capture_output=True, env=env_for(tmp_path, plan)
    )
    assert (run.returncode, run.stdout) == (0, b"py\n")
    assert launch(env_for(tmp_path, plan, python=NO_PYTHON)).stdout == b"py\n"


def test_cache_root_default_and_override(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HARNESS_FAKE_CACHE", str(tmp_path / "c"))
    assert cache_root() == tmp_path / "c"
    monkeypatch.delenv("HARNESS_FAKE_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_root() == tmp_path / "xdg" / "codex-parity-harness" / "fake-codex"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cache_root() == tmp_path / "home" / ".cache" / "codex-parity-harness" / "fake-codex"
    # the launcher agrees (HARNESS_FAKE_CACHE unset: it writes under $HOME/.cache)
    plan = tmp_path / "plan.yaml"
    plan.write_text("steps:\n  - lines: [home]\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HARNESS_FAKE_", "XDG_"))}
    env |= {"HOME": str(tmp_path / "home"), "HARNESS_FAKE_PLAN": str(plan), "HARNESS_FAKE_PYTHON": sys.executable}
    assert launch(env).stdout == b"home\n"
    assert lookup(str(plan), cache_root()) is not None


def test_write_launcher_bakes_the_interpreter(tmp_path: Path) -> None:
    dest = write_launcher(tmp_path / "bin" / "harness-fake-codex")
    text = dest.read_text()
    assert os.access(dest, os.X_OK) and text.startswith("#!/") and "perl" in text.splitlines()[0]
    assert PY_PLACEHOLDER not in text and PY_PLACEHOLDER in launcher_path().read_text()
    plan = tmp_path / "plan.yaml"
    plan.write_text("steps:\n  - lines: [baked]\n")
    env = env_for(tmp_path, plan, python=None, PATH="/usr/bin:/bin")  # no venv python on PATH
    run = subprocess.run([str(dest)], input=b"", capture_output=True, env=env, timeout=30)
    assert (run.returncode, run.stdout) == (0, b"baked\n")
    broken = write_launcher(tmp_path / "broken", python="/nonexistent/python3")
    plan.write_text("steps:\n  - lines: [other]\n")
    result = subprocess.run([str(broken)], input=b"", capture_output=True, env=env, timeout=30)
    assert result.returncode == 2 and b"/nonexistent/python3" in result.stderr


def test_built_fake_deferring_to_another_plan_goes_through_the_launcher(tmp_path: Path) -> None:
    from harness.fake import build_fake, load_plan

    baked = tmp_path / "baked.yaml"
    baked.write_text("steps:\n  - lines: [baked]\n")
    other = tmp_path / "other.yaml"
    other.write_text("steps:\n  - lines: [other]\n  - lines: [again]\n")
    exe = build_fake(load_plan(baked), tmp_path / "out", log_path=tmp_path / "log.jsonl")
    env = env_for(tmp_path, other, python=None)
    assert subprocess.run([str(exe)], input=b"", capture_output=True, env=env).stdout == b"other\n"
    # the second time the launcher hits, so even an unusable Python does not matter; the baked log goes along
    env["HARNESS_FAKE_PYTHON"] = NO_PYTHON
    assert subprocess.run([str(exe)], input=b"", capture_output=True, env=env).stdout == b"again\n"
    assert [i.step for i in read_log(tmp_path / "log.jsonl")] == [0, 1]


PATH_PART = st.text(
    alphabet=st.characters(codec="utf-8", blacklist_characters="\x00\n/"), max_size=6
) | st.sampled_from([".", "..", ""])


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(paths=st.lists(st.builds("/".join, st.lists(PATH_PART, min_size=1, max_size=5)), min_size=1, max_size=8))
def test_perl_and_python_agree_on_path_normalization_and_key(tmp_path: Path, paths: list[str]) -> None:
    script = (
        f'do "{launcher_path()}" or die $@;'
        "while (my $p = <STDIN>) { chomp $p; my $n = HarnessFakeLauncher::normalize($p);"
        ' print $n, "\\t", HarnessFakeLauncher::path_key($n), "\\n" }'
    )
    stdin = "".join(f"{p}\n" for p in paths).encode()
    out = subprocess.run(["perl", "-e", script], input=stdin, capture_output=True, cwd=tmp_path, check=True).stdout
    expected = []
    for p in paths:
        n = normalize_path(p, cwd=str(tmp_path))
        expected.append(f"{n}\t{path_key(n)}\n")
    assert out.decode() == "".join(expected)
