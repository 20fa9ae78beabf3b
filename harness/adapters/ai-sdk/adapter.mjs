// Peer adapter for the Vercel AI SDK provider `ai-sdk-provider-codex-cli` (its exec provider, `createCodexExec`)
// driven through the AI SDK itself (`ai`), speaking the parity harness adapter protocol: JSON lines on
// stdin/stdout, one long-lived process (docs/adapters-peers.md, "ai-sdk-codex").
//
//   -> {"cmd":"start","version":1}   <- {"implementation":{...}}
//   -> {"cmd":"run","seq":N,"case":{...},"codex_path":"/abs/codex","workdir":"/abs/tmp"}
//                                    <- {"seq":N,"observation":{...}} | {"seq":N,"skipped":{...}} | {"seq":N,"errored":{...}}
//   -> {"cmd":"stop"}                <- {"ok":true}, exit 0
//
// This client is a *provider inside a framework*, not an SDK of its own, so a turn is what an AI SDK user
// writes: run -> `generateText`, streamed -> `streamText` (its `fullStream` parts, recorded as yielded), an
// output schema -> `generateObject` / `streamObject` with `jsonSchema(schema)`. The result is what those
// functions return (`content` parts as items, the AI SDK usage object, the thread id from
// `providerMetadata["codex-cli"].sessionId`). `harness.adapters.install` copies this file, ../_node/protocol.mjs and package.json
// into the adapter cache and runs `npm install --omit=optional` (no `@openai/codex` binary: `codexPath` is
// always set, so the provider's `resolveCodexPath` never looks for one).
//
// The exec provider has no threads (every call is a fresh `codex exec`, never `resume`), no idle timeout and
// no base URL / API key / originator / raw `-c` options: such cases are `skipped` with the reason, never run
// with the option dropped. Errors are AI SDK classes (`APICallError` carrying `data.exitCode`), mapped below.

import { readFileSync } from "node:fs";
import { generateObject, generateText, jsonSchema, streamObject, streamText } from "ai";
import { createCodexExec } from "ai-sdk-provider-codex-cli";
import { Skip as ProtocolSkip, consumeEvents, guarded, installedVersion, main, walkAwayOf } from "./protocol.mjs";

const SDK = "ai-sdk-provider-codex-cli";
const NAME = "ai-sdk-provider-codex-cli";
const HOMEPAGE = "https://github.com/ben-vargas/ai-sdk-provider-codex-cli";
const CAPABILITIES = ["run", "streamed", "local_image", "output_schema", "abort", "walk_away"];
// The AI SDK cannot create a language model without an id (`ExecLanguageModel` throws NoSuchModelError on an
// empty one) and the provider always passes `-m <id>`; a case without a model gets the model of the real
// recordings (fixtures/real/*/.meta.json: `model = "gpt-5.5"`).
const DEFAULT_MODEL = "gpt-5.5";

class Skip extends ProtocolSkip {
  constructor(reason) {
    super(`${SDK}: ${reason}`);
  }
}

// thread_options -> exec settings of `createCodexExec()(modelId, settings)` (src/validation.ts
// execSettingsSchema, strict). `model` is the model id, not a setting.
const THREAD_SETTINGS = {
  sandbox_mode: "sandboxMode",
  working_directory: "cwd",
  skip_git_repo_check: "skipGitRepoCheck",
  model_reasoning_effort: "reasoningEffort",
  approval_policy: "approvalMode",
  additional_directories: "addDirs",
  web_search_enabled: "webSearch",
};

// Options the exec provider has no setting for, with what it offers instead.
const THREAD_UNSUPPORTED = {
  network_access_enabled: "no network-access setting (only sandboxMode; configOverrides would be the adapter's invention)",
  web_search_mode: "no web search mode (only the boolean webSearch, sent as `-c tools.web_search=true`)",
};
const CODEX_UNSUPPORTED = {
  base_url: "no base URL setting (the exec provider relies on codex's own config and login)",
  api_key: "no API key setting (the exec provider relies on `codex login` or the inherited environment)",
  config_overrides: "no raw `--config` strings (configOverrides takes a key/value object)",
  originator: "no originator setting",
};

function given(options, key) {
  if (!options || !(key in options)) return false;
  const value = options[key];
  if (value === null || value === undefined) return false;
  if (Array.isArray(value)) return value.length > 0;
  if (typeof value === "object") return Object.keys(value).length > 0;
  return true;
}

function check(testCase) {
  const turns = testCase.turns ?? [];
  if (testCase.resume_thread_id || turns.length > 1 || turns.some((turn) => turn.thread === "resume")) {
    throw new Skip(
      "the exec provider has no threads: every generateText/streamText call spawns a new `codex exec` (never " +
        "`resume <id>`; the thread id is only reported as providerMetadata.codex-cli.sessionId), so a second turn " +
        "or a resumed thread cannot be expressed",
    );
  }
  for (const [key, why] of Object.entries(CODEX_UNSUPPORTED)) {
    if (given(testCase.codex_options, key)) throw new Skip(`codex_options.${key}: ${why}`);
  }
  for (const key of Object.keys(testCase.codex_options ?? {})) {
    if (!["env", "config", ...Object.keys(CODEX_UNSUPPORTED)].includes(key) && given(testCase.codex_options, key)) {
      throw new Skip(`codex_options.${key}: no equivalent setting`);
    }
  }
  for (const [key, why] of Object.entries(THREAD_UNSUPPORTED)) {
    if (given(testCase.thread_options, key)) throw new Skip(`thread_options.${key}: ${why}`);
  }
  for (const key of Object.keys(testCase.thread_options ?? {})) {
    const known = key === "model" || key in THREAD_SETTINGS || key in THREAD_UNSUPPORTED;
    if (!known && given(testCase.thread_options, key)) throw new Skip(`thread_options.${key}: no equivalent setting`);
  }
  for (const turn of turns) {
    if (given(turn.turn_options, "idle_timeout")) {
      throw new Skip("turn_options.idle_timeout: the exec provider has no idle timeout (only its app-server provider has idleTimeoutMs)");
    }
    for (const key of Object.keys(turn.turn_options ?? {})) {
      if (!["output_schema", "idle_timeout"].includes(key) && given(turn.turn_options, key)) {
        throw new Skip(`turn_options.${key}: no equivalent call option`);
      }
    }
  }
}

function settingsFor(testCase, codexPath) {
  const settings = { codexPath };
  for (const [key, value] of Object.entries(testCase.thread_options ?? {})) {
    if (value === null || value === undefined || !(key in THREAD_SETTINGS)) continue;
    settings[THREAD_SETTINGS[key]] = value;
  }
  const codexOptions = testCase.codex_options ?? {};
  // The provider spreads `env` over process.env (buildArgs: `{...process.env, ...settings.env, RUST_LOG}`):
  // it does not replace the environment, which is part of what is observed.
  if (codexOptions.env !== null && codexOptions.env !== undefined) settings.env = codexOptions.env;
  if (given(codexOptions, "config")) settings.configOverrides = codexOptions.config;
  return settings;
}

// A case's input as AI SDK call options: a string is `prompt`; parts are one user message whose images are
// the file's bytes (the provider accepts no paths, nor file:// URLs: converters/image-converter.ts).
function promptOf(input) {
  if (typeof input === "string") return { prompt: input };
  const content = [];
  for (const part of input ?? []) {
    if (part.type === "text") {
      content.push({ type: "text", text: part.text });
    } else if (part.type === "local_image") {
      let bytes;
      try {
        bytes = readFileSync(part.path);
      } catch (error) {
        throw new Skip(
          `local_image ${JSON.stringify(part.path)}: the provider takes image bytes, not paths, and the file cannot be read (${error.code ?? error.message})`,
        );
      }
      content.push({ type: "image", image: bytes });
    } else {
      throw new Skip(`input part type ${JSON.stringify(part.type)} is not supported`);
    }
  }
  return { messages: [{ role: "user", content }] };
}

const EXITED = /^Codex CLI exited with code (\S+)$/;

function classify(error) {
  if (error?.uncaught) return "unknown";
  const name = error?.name ?? "";
  const message = String(error?.message ?? error);
  if (name === "AbortError" || error?.code === "ABORT_ERR") return "abort";
  if (name === "AI_APICallError") {
    const code = error?.data?.code;
    if (code === "ENOENT" || code === "EACCES" || code === "ENOTDIR") return "binary_missing";
    const exited = EXITED.exec(message);
    // finishStream(code): Node reports code null exactly when the child was killed by a signal.
    if (exited) return exited[1] === "null" ? "signal" : "exit";
    // finishStream after exit 0 with a turn.failed or top-level error event: the event's message.
    return "turn_failed";
  }
  if (name === "AI_LoadAPIKeyError") return "unknown";
  if (name === "AI_NoObjectGeneratedError") return "structured_output";
  if (name === "AI_NoSuchModelError" || name === "AI_InvalidArgumentError" || name === "AI_InvalidPromptError") {
    return "invalid_options";
  }
  // createCodexExec()(id, settings): `Invalid settings: …` (zod); buildArgs: `Invalid config override key …`.
  if (/^(Invalid settings: |Invalid default settings: |Invalid config override key |Invalid MCP server name )/.test(message)) {
    return "invalid_options";
  }
  return "unknown";
}

function errorRecord(error) {
  const name = error?.constructor?.name ?? error?.name ?? typeof error;
  const record = {
    kind: classify(error),
    class: error?.uncaught ? `uncaught ${name}` : name,
    message: String(error?.message ?? error),
  };
  const details = {};
  const data = error?.data;
  if (data && typeof data === "object") {
    if (data.exitCode !== undefined) details.exit_code = data.exitCode;
    if (typeof data.stderr === "string") details.stderr = data.stderr;
    if (data.code !== undefined) details.code = data.code;
  }
  if (typeof error?.text === "string") details.text = error.text;
  if (Object.keys(details).length > 0) record.details = details;
  return record;
}

// JSON of what the AI SDK yielded: Dates become ISO strings (toJSON), errors inside parts their name/message.
function plain(value) {
  if (value === undefined) return null;
  return JSON.parse(
    JSON.stringify(value, (_, v) => (v instanceof Error ? { name: v.name, message: String(v.message) } : v)),
  );
}

function sessionIdOf(providerMetadata) {
  const id = providerMetadata?.["codex-cli"]?.sessionId;
  return typeof id === "string" ? id : null;
}

async function runTurn(model, turn, rec, abortSignal, walkAway) {
  const mode = turn.mode ?? "run";
  const schema = turn.turn_options?.output_schema;
  const call = { model, ...promptOf(turn.input), ...(abortSignal ? { abortSignal } : {}) };
  if (schema !== undefined && schema !== null) call.schema = jsonSchema(schema);
  if (mode === "streamed") {
    let failure = null;
    const onPart = (part) => {
      rec.events.push(plain(part));
      if (part?.type === "error" && failure === null) failure = part.error;
    };
    if (walkAway !== null) {
      // Walking away (protocol.mjs consumeEvents): the StreamTextResult lives only inside `open`, so `drop`
      // leaves no reference to it. An error part among the N received is the SDK's error, as in a full read.
      const open = () => (call.schema ? streamObject(call) : streamText(call)).fullStream;
      const walkedAway = await consumeEvents(open, onPart, walkAway);
      if (failure !== null) throw failure;
      if (walkedAway) return;
      rec.result = { thread_id: null, final_response: null, items: null, usage: null };
      return;
    }
    const stream = call.schema ? streamObject(call) : streamText(call);
    await consumeEvents(() => stream.fullStream, onPart, null);
    if (failure !== null) throw failure;
    // streamText's parts never carry the session id (doStream's finish part has no providerMetadata).
    rec.result = { thread_id: sessionIdOf(await stream.providerMetadata), final_response: null, items: null, usage: null };
    return;
  }
  if (call.schema) {
    const result = await generateObject(call);
    rec.result = {
      thread_id: sessionIdOf(result.providerMetadata),
      // generateObject exposes the parsed object only, not the agent message's text.
      final_response: JSON.stringify(result.object),
      items: null,
      usage: plain(result.usage),
    };
    return;
  }
  const result = await generateText(call);
  rec.result = {
    thread_id: sessionIdOf(result.providerMetadata),
    final_response: result.text,
    items: plain(result.content),
    usage: plain(result.usage),
  };
}

async function runCase(testCase, codexPath) {
  const turns = testCase.turns ?? [];
  if (turns.length === 0) throw new Error("case has no turns");
  check(testCase);
  const [turn] = turns;
  const walkAway = walkAwayOf(turn);
  const mode = turn.mode ?? "run";
  const rec = { mode, events: [], result: null, error: null };
  let model;
  try {
    const provider = createCodexExec();
    model = provider(testCase.thread_options?.model ?? DEFAULT_MODEL, settingsFor(testCase, codexPath));
  } catch (error) {
    rec.error = errorRecord(error);
    return observation(rec);
  }
  let timer;
  let signal;
  if (turn.abort_after_ms !== undefined && turn.abort_after_ms !== null) {
    const controller = new AbortController();
    signal = controller.signal;
    timer = setTimeout(() => controller.abort(), turn.abort_after_ms);
  }
  try {
    await guarded(() => runTurn(model, turn, rec, signal, walkAway));
  } catch (error) {
    if (error instanceof Skip) throw error;
    rec.error = errorRecord(error);
    rec.result = null;
  } finally {
    if (timer !== undefined) clearTimeout(timer);
  }
  return observation(rec);
}

function observation(rec) {
  return { events: rec.events, result: rec.result, error: rec.error, earlier_turns: [] };
}

main({
  implementation: () => {
    process.stderr.write(`adapter: ${SDK} ${installedVersion(SDK)} with ai ${installedVersion("ai")}, zod ${installedVersion("zod")}\n`);
    return {
      name: NAME,
      version: installedVersion(SDK),
      language: "javascript",
      sdk: SDK,
      homepage: HOMEPAGE,
      capabilities: CAPABILITIES,
    };
  },
  runCase,
});
