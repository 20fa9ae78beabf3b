// The adapter-protocol side shared by the Node peer adapters (ts/, ai-sdk/): JSON lines on stdin/stdout, one
// long-lived process (docs/adapters.md).
//
//   -> {"cmd":"start","version":1}   <- {"implementation":{...}}
//   -> {"cmd":"run","seq":N,"case":{...},"codex_path":"/abs/codex","workdir":"/abs/tmp"}
//                                    <- {"seq":N,"observation":{...}} | {"seq":N,"skipped":{...}} | {"seq":N,"errored":{...}}
//   -> {"cmd":"stop"}                <- {"ok":true}, exit 0
//
// `harness.adapters.install` copies this file beside each adapter in the cache (`<cache>/<key>/protocol.mjs`),
// so an adapter imports it as `./protocol.mjs` and finds its SDK's `node_modules` beside both.

import { readFileSync } from "node:fs";
import readline from "node:readline";

export const PROTOCOL_VERSION = 1;

// The protocol owns stdout: everything else (console.*, stray writes, an SDK's logger) goes to stderr.
const protocolWrite = process.stdout.write.bind(process.stdout);
process.stdout.write = (chunk, encoding, callback) => process.stderr.write(chunk, encoding, callback);
for (const level of ["log", "info", "debug", "warn", "dir", "table", "trace"]) {
  console[level] = console.error;
}

export function send(message) {
  return new Promise((resolve) => protocolWrite(JSON.stringify(message) + "\n", "utf8", resolve));
}

// The installed version of a package in the adapter's folder (what `start` reports), or "unknown".
export function installedVersion(pkg) {
  try {
    const url = new URL(`./node_modules/${pkg}/package.json`, import.meta.url);
    return JSON.parse(readFileSync(url, "utf8")).version ?? "unknown";
  } catch {
    return "unknown";
  }
}

// A case the SDK cannot express: reported as `skipped` with the reason, never run with an option dropped.
export class Skip extends Error {
  constructor(reason) {
    super(reason);
    this.reason = reason;
  }
}

// Both SDKs write the prompt to child.stdin without an 'error' listener: when codex exits before reading stdin,
// the EPIPE is an uncaught exception that would kill this process. That is the SDK's behaviour, so the turn in
// progress (run inside `guarded`) records it as its error (`error.uncaught`), and the adapter lives on; outside
// a turn it is a crash of the adapter itself.
let failTurn = null;
process.on("uncaughtException", (error) => {
  if (failTurn !== null) {
    failTurn(error);
    return;
  }
  process.stderr.write(`adapter: uncaught exception: ${error?.stack ?? error}\n`);
  process.exit(1);
});

export async function guarded(work) {
  const crash = new Promise((_, reject) => {
    failTurn = (error) => reject(Object.assign(error, { uncaught: true }));
  });
  const task = work();
  task.catch(() => {}); // once the crash wins the race, a later rejection of the abandoned turn is not news
  try {
    return await Promise.race([task, crash]);
  } finally {
    failTurn = null;
  }
}

// ------------------------------------------------------------------------------------------------------------
// Walking away from a streamed turn (issue #17: does the SDK leave codex running?). A turn's `walk_away`
// ({how: "break"|"raise"|"drop", after_events: N}) says how the user stops consuming after N events:
//   break - `break` out of `for await` (the language then calls the iterator's return(): no explicit call here);
//   raise - `throw` inside the loop body, caught outside the loop (for-await also calls return() on a throw);
//   drop  - stop calling next() after N events, drop every reference to the stream and its iterator without
//           return(), then force a collection (`global.gc`, present when node runs with --expose-gc) and yield
//           to the event loop once, so a FinalizationRegistry callback of the SDK (if any) gets its chance.
// The turn then records the N events, `result` and `error` null (unless the SDK threw first).

export const WALK_AWAY_HOWS = ["break", "raise", "drop"];

export function walkAwayOf(turn) {
  const raw = turn?.walk_away;
  if (raw === undefined || raw === null) return null;
  if (typeof raw !== "object" || Array.isArray(raw)) throw new Error(`walk_away must be an object, got ${JSON.stringify(raw)}`);
  if (!WALK_AWAY_HOWS.includes(raw.how)) {
    throw new Error(`walk_away.how must be one of ${WALK_AWAY_HOWS.join(", ")}, got ${JSON.stringify(raw.how)}`);
  }
  if (!Number.isInteger(raw.after_events) || raw.after_events < 1) {
    throw new Error(`walk_away.after_events must be an integer >= 1, got ${JSON.stringify(raw.after_events)}`);
  }
  if ((turn.mode ?? "run") !== "streamed") throw new Error("walk_away needs mode: streamed");
  return { how: raw.how, afterEvents: raw.after_events };
}

class WalkedAway extends Error {}

let gcNoted = false;

async function collectGarbage() {
  if (typeof globalThis.gc === "function") {
    globalThis.gc();
  } else if (!gcNoted) {
    gcNoted = true;
    process.stderr.write("adapter: walk_away drop: global.gc is not exposed (start node with --expose-gc); references dropped without a forced collection\n");
  }
  await new Promise((resolve) => setImmediate(resolve));
}

// Consumers of a streamed turn: `open()` starts it and returns (a promise of) its async iterable of events,
// `onEvent(event)` records one. Each resolves to true when the user walked away after N events, false when the
// stream ended first (then the turn is an ordinary completed streamed turn).
const CONSUMERS = {
  async all(open, onEvent) {
    for await (const event of await open()) onEvent(event);
    return false;
  },
  async break(open, onEvent, after) {
    let count = 0;
    for await (const event of await open()) {
      onEvent(event);
      count += 1;
      if (count >= after) break;
    }
    return count >= after;
  },
  async raise(open, onEvent, after) {
    try {
      let count = 0;
      for await (const event of await open()) {
        onEvent(event);
        count += 1;
        if (count >= after) throw new WalkedAway(`walked away after ${count} events`);
      }
    } catch (error) {
      if (error instanceof WalkedAway) return true;
      throw error;
    }
    return false;
  },
  async drop(open, onEvent, after) {
    let iterator = (await open())[Symbol.asyncIterator]();
    let count = 0;
    while (count < after) {
      const step = await iterator.next();
      if (step.done) return false;
      onEvent(step.value);
      count += 1;
    }
    iterator = null;
    await collectGarbage();
    return true;
  },
};

export function consumeEvents(open, onEvent, walkAway) {
  return walkAway === null ? CONSUMERS.all(open, onEvent) : CONSUMERS[walkAway.how](open, onEvent, walkAway.afterEvents);
}

async function handleRun(request, runCase) {
  const seq = request.seq ?? null;
  try {
    const obs = await runCase(request.case, String(request.codex_path));
    return { seq, observation: obs };
  } catch (error) {
    if (error instanceof Skip) return { seq, skipped: { reason: error.reason, issue_url: null } };
    return {
      seq,
      errored: { message: `${error?.name ?? "Error"}: ${error?.message ?? error}`, traceback: String(error?.stack ?? ""), stderr: "" },
    };
  }
}

// The protocol loop: `implementation()` answers `start`, `runCase(case, codexPath)` returns an observation (or
// throws Skip); anything else it throws is `errored` (a bug of the adapter, not of the SDK).
export async function serve({ implementation, runCase }) {
  const rl = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
  for await (const raw of rl) {
    const line = raw.trim();
    if (!line) continue;
    let request;
    try {
      request = JSON.parse(line);
      if (request === null || typeof request !== "object" || Array.isArray(request)) {
        throw new Error("a request must be a JSON object");
      }
    } catch (error) {
      await send({ errored: { message: `bad request: ${error.message}`, traceback: "", stderr: "" } });
      continue;
    }
    if (request.cmd === "start") {
      if (request.version !== PROTOCOL_VERSION) {
        await send({ errored: { message: `unsupported protocol version ${JSON.stringify(request.version)}`, traceback: "", stderr: "" } });
        continue;
      }
      await send({ implementation: implementation() });
    } else if (request.cmd === "run") {
      await send(await handleRun(request, runCase));
    } else if (request.cmd === "stop") {
      await send({ ok: true });
      rl.close();
      process.exit(0);
    } else {
      await send({ seq: request.seq ?? null, errored: { message: `unknown command ${JSON.stringify(request.cmd)}`, traceback: "", stderr: "" } });
    }
  }
  process.exit(0);
}

export function main(options) {
  serve(options).catch((error) => {
    process.stderr.write(`adapter crashed: ${error?.stack ?? error}\n`);
    process.exit(1);
  });
}
