// Peer adapter for the TypeScript SDK `@openai/codex-sdk` (the behavioural reference), speaking the parity
// harness adapter protocol: JSON lines on stdin/stdout, one long-lived process (docs/adapters-peers.md).
//
//   -> {"cmd":"start","version":1}   <- {"implementation":{...}}
//   -> {"cmd":"run","seq":N,"case":{...},"codex_path":"/abs/codex","workdir":"/abs/tmp"}
//                                    <- {"seq":N,"observation":{...}} | {"seq":N,"skipped":{...}} | {"seq":N,"errored":{...}}
//   -> {"cmd":"stop"}                <- {"ok":true}, exit 0
//
// `harness.adapters.install.install_ts()` copies this file, ../_node/protocol.mjs and package.json into a cache folder and runs
// `npm install --omit=optional` there (no 400 MB platform binary: `codexPathOverride` skips the binary lookup).
// The protocol loop is ./protocol.mjs (shared with the ai-sdk adapter). Events and items are recorded exactly as the SDK surfaced them (plain objects). Errors are all `Error`, so
// the canonical kind comes from the message (or `name`/`code` for AbortError and spawn errors).
// A streamed turn's `walk_away` (issue #17) is consumed by protocol.mjs `consumeEvents` (break / raise / drop).

import { Codex } from "@openai/codex-sdk";
import { Skip, consumeEvents, guarded, installedVersion, main, walkAwayOf } from "./protocol.mjs";

const SDK = "@openai/codex-sdk";
const NAME = "@openai/codex-sdk";
const CAPABILITIES = ["run", "streamed", "resume", "local_image", "output_schema", "abort", "walk_away"];

const THREAD_OPTION_NAMES = {
  model: "model",
  sandbox_mode: "sandboxMode",
  working_directory: "workingDirectory",
  skip_git_repo_check: "skipGitRepoCheck",
  model_reasoning_effort: "modelReasoningEffort",
  network_access_enabled: "networkAccessEnabled",
  web_search_mode: "webSearchMode",
  web_search_enabled: "webSearchEnabled",
  approval_policy: "approvalPolicy",
  additional_directories: "additionalDirectories",
  thread_source: "threadSource",
};

const CODEX_OPTION_NAMES = {
  base_url: "baseUrl",
  api_key: "apiKey",
  config: "config",
  config_overrides: "configOverrides",
  env: "env",
};

function camel(key) {
  return key.replace(/_([a-z])/g, (_, c) => c.toUpperCase());
}

function mapOptions(options, names) {
  const out = {};
  for (const [key, value] of Object.entries(options ?? {})) {
    if (value === null || value === undefined) continue;
    out[names[key] ?? camel(key)] = value;
  }
  return out;
}

function given(options, key) {
  if (!options || !(key in options)) return false;
  const value = options[key];
  if (value === null || value === undefined) return false;
  if (Array.isArray(value)) return value.length > 0;
  if (typeof value === "object") return Object.keys(value).length > 0;
  return true;
}

function check(testCase) {
  for (const turn of testCase.turns ?? []) {
    if (given(turn.turn_options, "idle_timeout")) {
      throw new Skip("@openai/codex-sdk: TurnOptions has no idle timeout (outputSchema, signal and cyberAccessProgram only)");
    }
  }
}

function turnOptions(options, signal) {
  const out = {};
  if (signal !== undefined) out.signal = signal;
  if (options?.output_schema !== undefined && options?.output_schema !== null) {
    out.outputSchema = options.output_schema;
  }
  return out;
}

function classify(error, mode) {
  const message = String(error?.message ?? error);
  if (error?.name === "AbortError" || error?.code === "ABORT_ERR") return "abort";
  if (error?.code === "ENOENT" || error?.code === "EACCES" || error?.code === "ENOTDIR") return "binary_missing";
  if (/^Codex Exec exited with signal /.test(message)) return "signal";
  if (/^Codex Exec exited with code /.test(message)) return "exit";
  if (message.startsWith("Failed to parse item: ")) return "parse";
  if (/^(Unable to locate Codex CLI binaries|Unsupported platform|Unsupported target triple)/.test(message)) {
    return "binary_missing";
  }
  if (/^(Codex config override|Unsupported Codex config override|outputSchema must be)/.test(message)) {
    return "invalid_options";
  }
  if (message.startsWith("Child process has no ") || error?.uncaught) return "unknown";
  // run() throws `new Error(turnFailure.message)` on turn.failed; runStreamed() never throws for it.
  return mode === "run" && error?.constructor === Error ? "turn_failed" : "unknown";
}

function errorRecord(error, mode) {
  const name = error?.constructor?.name ?? error?.name ?? typeof error;
  const cls = error?.uncaught ? `uncaught ${name}` : name;
  return { kind: classify(error, mode), class: cls, message: String(error?.message ?? error) };
}

function plain(value) {
  return value === undefined ? null : JSON.parse(JSON.stringify(value));
}

function record(mode, error = null) {
  return { mode, events: [], result: null, error };
}

// Like the reference runner: one thread (startThread, or resumeThread when resume_thread_id); a turn with
// "thread": "resume" runs on resumeThread(<id after the previous turn>); abort_after_ms aborts through an
// AbortController; the loop stops at the first failed turn.
async function runCase(testCase, codexPath) {
  const turns = testCase.turns ?? [];
  if (turns.length === 0) throw new Error("case has no turns");
  const walkAways = turns.map(walkAwayOf);
  check(testCase);
  const records = [];
  let codex;
  let thread;
  const threadOptions = mapOptions(testCase.thread_options, THREAD_OPTION_NAMES);
  try {
    codex = new Codex({
      ...mapOptions(testCase.codex_options, CODEX_OPTION_NAMES),
      codexPathOverride: codexPath,
    });
    thread = testCase.resume_thread_id
      ? codex.resumeThread(testCase.resume_thread_id, threadOptions)
      : codex.startThread(threadOptions);
  } catch (error) {
    const mode = turns[0].mode ?? "run";
    records.push(record(mode, errorRecord(error, mode)));
    return observation(records);
  }
  for (const [index, turn] of turns.entries()) {
    const mode = turn.mode ?? "run";
    if (turn.thread === "resume") {
      if (thread.id === null || thread.id === undefined) {
        records.push(record(mode, { kind: "unknown", class: "NoThreadId", message: "cannot resume: the previous turn produced no thread id" }));
        break;
      }
      thread = codex.resumeThread(thread.id, threadOptions);
    }
    const rec = record(mode);
    let timer;
    let signal;
    if (turn.abort_after_ms !== undefined && turn.abort_after_ms !== null) {
      const controller = new AbortController();
      signal = controller.signal;
      timer = setTimeout(() => controller.abort(), turn.abort_after_ms);
    }
    try {
      await guarded(async () => {
        if (mode === "streamed") {
          // The stream is opened inside the consumer, so that `drop` holds no reference to it afterwards.
          const open = async () => (await thread.runStreamed(turn.input, turnOptions(turn.turn_options, signal))).events;
          const walkedAway = await consumeEvents(open, (event) => rec.events.push(plain(event)), walkAways[index]);
          if (!walkedAway) rec.result = { thread_id: thread.id, final_response: null, items: null, usage: null };
        } else {
          const result = await thread.run(turn.input, turnOptions(turn.turn_options, signal));
          rec.result = {
            thread_id: thread.id,
            final_response: result.finalResponse,
            items: plain(result.items),
            usage: plain(result.usage),
          };
        }
      });
    } catch (error) {
      rec.error = errorRecord(error, mode);
    } finally {
      if (timer !== undefined) clearTimeout(timer);
    }
    records.push(rec);
    if (rec.error !== null) break;
  }
  return observation(records);
}

function observation(records) {
  const last = records[records.length - 1];
  return { events: last.events, result: last.result, error: last.error, earlier_turns: records.slice(0, -1) };
}

main({
  implementation: () => ({
    name: NAME,
    version: installedVersion(SDK),
    language: "javascript",
    sdk: SDK,
    homepage: null,
    capabilities: CAPABILITIES,
  }),
  runCase,
});
