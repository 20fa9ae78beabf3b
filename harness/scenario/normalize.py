"""Normalization: turn a raw observation into one that is stable across machines, runs and temp directories.

The rules, applied in this order (docs/normalization.md is the prose version; keep both in step):

1. **secrets**: a mapping value under a secret-looking key (``CODEX_API_KEY``, ``api_key``, ``token``,
``password``
   ...) becomes ``<redacted>``; so does every occurrence of a known secret (the scenario's ``api_key`` and
   secret-named
   env values) and anything shaped like ``sk-...`` or ``Bearer ...`` in any string;
2. **output-schema file**: the argument after ``--output-schema`` and any
``.../codex-output-schema-*/schema.json``
   path become ``<schema-file>``;
3. **paths**, longest first, only at a path boundary: the run's file store -> ``<store>`` (staged attachments,
   ``<store>/<sha256[:2]>/<sha256>``), the fake codex -> ``<codex>``, the fake ``CODEX_HOME``
->
   ``<codex-home>``, the fake ``HOME`` and the real home -> ``<home>``, the scenario workdir ->
   ``<workdir>``, the
   runner's cwd -> ``<cwd>``, the system temp dir -> ``<tmp>``;
4. **thread ids** -> ``<thread:1>``, ``<thread:2>`` ... numbered in order of first appearance when the
observation is
   walked in canonical order (sorted keys, list order); **correlation ids** (values under ``correlation_id``
   keys, and the ones the runner set) -> ``<cid:1>``, ``<cid:2>`` ... the same way;
5. **timestamps** (ISO 8601) -> ``<timestamp>``; **durations** (numbers under ``duration_ms``, ``elapsed``,
   ``wall_time``... keys, in mappings or inside JSON text) -> ``<duration>``;
6. **long strings** (over :data:`LONG_STRING` characters, e.g. a 200 KB event line) ->
   ``<long string: N chars, sha256 XXXXXXXXXXXX>``, so goldens stay small but still change when the text does;
   JSON text is measured and digested in canonical form (sorted keys), so key order never counts.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
import re
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from harness.redact import REDACTED, is_secret_key, redact_text

__all__ = [
    "LONG_STRING",
    "REDACTED",
    "NormalizationContext",
    "is_secret_key",
    "normalize",
]

#: Strings longer than this (in characters) are replaced by their length and a digest (rule 6).
LONG_STRING = 16 * 1024

_SCHEMA_DIR = "codex-output-schema-"
_SCHEMA_FILE = re.compile(r"(?:/[^/\s\"'=]+)*/codex-output-schema-[^/\s\"']+/schema\.json")
_TIMESTAMP = re.compile(r"\b\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:[.,]\d+)?(?:Z|[+-]\d{2}:?\d{2})?(?![\d])")
_DURATION_KEY_TEXT = r"(?:[a-z_]*duration(?:_ms|_s|_seconds)?|elapsed(?:_ms|_s)?|wall_time(?:_s|_ms)?)"
_DURATION_KEY = re.compile(rf"^{_DURATION_KEY_TEXT}$")
_DURATION_IN_TEXT = re.compile(rf'"({_DURATION_KEY_TEXT})"(\s*):(\s*)-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?')
_THREAD_ID_IN_TEXT = re.compile(r'"thread_id"\s*:\s*"([^"\\]+)"')
_PATH_END = r"(?![A-Za-z0-9_.~-])"


@dataclasses.dataclass(frozen=True)
class NormalizationContext:
    """What the runner knows about one run: its paths, the secrets it handed out, the thread ids it saw."""

    workdir: Path | None = None
    home: Path | None = None
    codex_home: Path | None = None
    codex_path: Path | None = None
    cwd: Path | None = None
    secrets: tuple[str, ...] = ()
    thread_ids: tuple[str, ...] = ()
    correlation_ids: tuple[str, ...] = ()
    #: The run's file store (staged attachments): ``<store>``, so a staged path reads ``<store>/ab/ab12...``
    #: (content-addressed, hence the same in every run) rather than a temp directory.
    store: Path | None = None

    def path_rules(self) -> list[tuple[str, str]]:
        """(literal path, placeholder), longest path first; each path also in its resolved spelling."""
        pairs: list[tuple[Path | None, str]] = [
            (self.store, "<store>"),
            (self.codex_path, "<codex>"),
            (self.codex_home, "<codex-home>"),
            (self.home, "<home>"),
            (self.workdir, "<workdir>"),
            (self.cwd, "<cwd>"),
            (Path.home(), "<home>"),
            (Path(tempfile.gettempdir()), "<tmp>"),
        ]
        rules: dict[str, str] = {}
        for path, placeholder in pairs:
            if path is None:
                continue
            for spelling in (str(path), str(path.resolve())):
                if len(spelling) > 1 and spelling not in rules:
                    rules[spelling] = placeholder
        return sorted(rules.items(), key=lambda kv: (-len(kv[0]), kv[0]))


def _walk_strings(value: Any, visit: Callable[[str], None]) -> None:
    if isinstance(value, str):
        visit(value)
    elif isinstance(value, dict):
        for key in sorted(value):
            _walk_strings(value[key], visit)
    elif isinstance(value, list):
        for item in value:
            _walk_strings(item, visit)


def _map(value: Any, fn: Callable[[str], str], key: str | None = None) -> Any:
    if isinstance(value, str):
        return fn(value)
    if isinstance(value, dict):
        return {k: _map(v, fn, k) for k, v in value.items()}
    if isinstance(value, list):
        return [_map(item, fn) for item in value]
    return value


def _redact_keys(value: Any) -> Any:
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if isinstance(key, str) and is_secret_key(key) and isinstance(item, str) and item:
                out[key] = REDACTED
            elif (
                isinstance(key, str)
                and _DURATION_KEY.match(key)
                and isinstance(item, int | float)
                and not (isinstance(item, bool))
            ):
                out[key] = "<duration>"
            else:
                out[key] = _redact_keys(item)
        return out
    if isinstance(value, list):
        return [_redact_keys(item) for item in value]
    return value


def _collect_secrets(observation: dict[str, Any], given: Iterable[str]) -> list[str]:
    secrets = {s for s in given if isinstance(s, str) and len(s) >= 4}
    for invocation in observation.get("invocations") or []:
        env = invocation.get("env") if isinstance(invocation, dict) else None
        if isinstance(env, dict):
            secrets.update(v for k, v in env.items() if is_secret_key(k) and isinstance(v, str) and len(v) >= 4)
    return sorted(secrets, key=lambda s: (-len(s), s))


def _schema_files(observation: dict[str, Any]) -> list[str]:
    found: set[str] = set()
    for invocation in observation.get("invocations") or []:
        argv = invocation.get("argv") if isinstance(invocation, dict) else None
        if isinstance(argv, list):
            for flag, value in zip(argv, argv[1:], strict=False):
                if flag == "--output-schema" and isinstance(value, str) and len(value) > 1:
                    found.add(value)
    return sorted(found, key=lambda s: (-len(s), s))


def _discover_thread_ids(observation: dict[str, Any], given: Iterable[str]) -> set[str]:
    ids = {t for t in given if t}

    def visit(text: str) -> None:
        ids.update(_THREAD_ID_IN_TEXT.findall(text))

    _walk_strings(observation, visit)

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                if key == "thread_id" and isinstance(item, str) and item and not item.startswith("<"):
                    ids.add(item)
                walk(item)
        elif isinstance(value, list):
            for flag, item in zip(value, value[1:], strict=False):
                if flag == "resume" and isinstance(item, str) and item and not item.startswith("-"):
                    ids.add(item)
            for item in value:
                walk(item)

    walk(observation)
    return {i for i in ids if len(i) >= 4}


def _discover_correlation_ids(observation: dict[str, Any], given: Iterable[str]) -> set[str]:
    ids = {c for c in given if c}

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                if key == "correlation_id" and isinstance(item, str) and item and not item.startswith("<"):
                    ids.add(item)
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(observation)
    return {i for i in ids if len(i) >= 4}


def _number_ids(data: Any, candidates: set[str], placeholder: str) -> Any:
    """Replace every occurrence of a candidate by ``<placeholder:N>``, N in order of first appearance when
    ``data`` is walked in canonical order (sorted keys, list order)."""
    if not candidates:
        return data
    order: dict[str, int] = {}
    finder = re.compile("|".join(re.escape(c) for c in sorted(candidates, key=lambda s: (-len(s), s))))

    def number(text: str) -> None:
        for match in finder.finditer(text):
            order.setdefault(match.group(0), len(order) + 1)

    _walk_strings(data, number)

    def replace(text: str) -> str:
        return finder.sub(lambda m: f"<{placeholder}:{order[m.group(0)]}>", text)

    return _map(data, replace)


def _digested(text: str) -> str:
    """A long string as its length and digest. JSON text is digested in canonical form (sorted keys, compact,
    raw UTF-8): the digest is of the *content*, so an SDK that re-serializes an event or item in its own key
    order (openai-agents' 269 KB ``command_execution`` item) digests like the line codex printed."""
    canonical = text
    if text[:1] in ("{", "["):
        try:
            canonical = json.dumps(json.loads(text), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        except ValueError:
            canonical = text
    digest = hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()[:12]
    return f"<long string: {len(canonical)} chars, sha256 {digest}>"


def normalize(observation: dict[str, Any], context: NormalizationContext | None = None) -> dict[str, Any]:
    """A normalized deep copy of ``observation`` (see the module docstring for the rules)."""
    context = context or NormalizationContext()
    data: dict[str, Any] = copy.deepcopy(observation)

    # 1. secrets (keys first: they also reveal secret values to scrub elsewhere)
    secrets = _collect_secrets(data, context.secrets)
    data = _redact_keys(data)

    def scrub(text: str) -> str:
        for secret in secrets:
            text = text.replace(secret, REDACTED)
        return redact_text(text)

    data = _map(data, scrub)

    # 2. output-schema files
    schema_files = _schema_files(data)

    def schema_file(text: str) -> str:
        for literal in schema_files:
            text = text.replace(literal, "<schema-file>")
        return _SCHEMA_FILE.sub("<schema-file>", text) if _SCHEMA_DIR in text else text

    data = _map(data, schema_file)

    # 3. paths
    path_patterns = [(re.compile(re.escape(p) + _PATH_END), ph) for p, ph in context.path_rules()]

    def paths(text: str) -> str:
        if "/" not in text and "\\" not in text:
            return text
        for pattern, placeholder in path_patterns:
            text = pattern.sub(placeholder, text)
        return text

    data = _map(data, paths)

    # 4. thread ids, then correlation ids, numbered in order of first appearance
    data = _number_ids(data, _discover_thread_ids(data, context.thread_ids), "thread")
    data = _number_ids(data, _discover_correlation_ids(data, context.correlation_ids), "cid")

    # 5. timestamps and durations
    def times(text: str) -> str:
        text = _TIMESTAMP.sub("<timestamp>", text)
        text = _DURATION_IN_TEXT.sub(r'"\1"\2:\3"<duration>"', text)
        return _digested(text) if len(text) > LONG_STRING else text

    result: dict[str, Any] = _map(data, times)
    return result
