#!/usr/bin/env python3
"""A fake adapter whose behaviour the test data scripts (after Bowtie's envsonschema).

Each ``run`` is steered by its case id, a ``+``-separated list of commands:

    ok            reply with a minimal valid observation (the default)
    stderr:TEXT   write TEXT and a newline to stderr before replying
    hang          never reply (sleep until killed)
    hang_hard     never reply and ignore SIGTERM (only SIGKILL ends it)
    orphan        start a grandchild (``sleep``) that would outlive us, then hang
    crash         exit 3 without replying
    crash_mid     write half a reply line, then exit 3
    garbage       reply with a line that is not JSON
    noise         print a non-JSON line to stdout *before* the valid reply
    wrong_seq     reply with seq + 1000
    invalid       reply with the right seq and a shape that matches no reply schema
    errored       reply errored with a message and a traceback
    skip          reply skipped with an issue_url
    split         send the reply in two writes, 50 ms apart
    echo          reply with an observation whose final_response is the received run message

Start-up is steered by argv: ``--start=ok`` (default), ``--start=crash``, ``--start=garbage``,
``--start=hang``, ``--start=invalid``, ``--start=crash-after-first`` (crash on start when the file named by
``--state`` exists, i.e. on every restart). ``--capabilities=a,b`` replaces the announced capabilities.
Every received line is appended to the file named by ``--log`` (one JSON line per message).
Other argv words (e.g. a unique marker for leftover checks) are ignored.
"""

import json
import os
import signal
import subprocess
import sys
import time

OPTS = dict(arg[2:].split("=", 1) for arg in sys.argv[1:] if arg.startswith("--") and "=" in arg)
OUT = sys.stdout.buffer


def send(obj):
    OUT.write(json.dumps(obj).encode() + b"\n")
    OUT.flush()


def hang():
    while True:
        time.sleep(60)


def observation(final_response="ok"):
    return {
        "events": [],
        "result": {"thread_id": "t1", "final_response": final_response, "items": [], "usage": None},
        "error": None,
        "earlier_turns": [],
    }


def start():
    mode = OPTS.get("start", "ok")
    state = OPTS.get("state")
    if mode == "crash-after-first":
        if state and os.path.exists(state):
            mode = "crash"
        elif state:
            open(state, "w").close()
            mode = "ok"
    if mode == "crash":
        sys.stderr.write("BOOM! fauxdapter cannot start\n")
        sys.stderr.flush()
        sys.exit(1)
    if mode == "garbage":
        OUT.write(b"hello, I am not JSON\n")
        OUT.flush()
        return
    if mode == "hang":
        hang()
    if mode == "invalid":
        send({"implementation": {"name": "fauxdapter"}})
        return
    capabilities = OPTS.get("capabilities", "run,streamed,resume")
    send(
        {
            "implementation": {
                "name": "fauxdapter",
                "version": "0.0.1",
                "language": "python",
                "sdk": "fauxdapter",
                "homepage": None,
                "capabilities": [c for c in capabilities.split(",") if c],
            }
        }
    )


def run(message):
    seq = message["seq"]
    reply = {"seq": seq, "observation": observation()}
    for command in message["case"]["id"].split("+"):
        name, _, arg = command.partition(":")
        if name == "stderr":
            sys.stderr.write(arg + "\n")
            sys.stderr.flush()
        elif name == "hang":
            hang()
        elif name == "hang_hard":
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            hang()
        elif name == "orphan":
            subprocess.Popen(
                [sys.executable, "-c", "import time; time.sleep(1000)", *sys.argv[1:]],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
            )
            hang()
        elif name == "crash":
            sys.exit(3)
        elif name == "crash_mid":
            OUT.write(json.dumps(reply).encode()[:10])
            OUT.flush()
            sys.exit(3)
        elif name == "garbage":
            OUT.write(b"Traceback? no: just garbage\n")
            OUT.flush()
            return
        elif name == "noise":
            OUT.write(b"a stray print from the SDK\n")
            OUT.flush()
        elif name == "wrong_seq":
            reply["seq"] = seq + 1000
        elif name == "invalid":
            reply = {"seq": seq, "observation": {"events": "not a list"}}
        elif name == "errored":
            reply = {"seq": seq, "errored": {"message": "adapter bug", "traceback": "Traceback: fake"}}
        elif name == "skip":
            reply = {"seq": seq, "skipped": {"reason": "known bug", "issue_url": "https://example.invalid/1"}}
        elif name == "echo":
            reply = {"seq": seq, "observation": observation(json.dumps(message, sort_keys=True))}
        elif name == "split":
            data = json.dumps(reply).encode() + b"\n"
            OUT.write(data[:7])
            OUT.flush()
            time.sleep(0.05)
            OUT.write(data[7:])
            OUT.flush()
            return
    send(reply)


def main():
    log = OPTS.get("log")
    for line in sys.stdin.buffer:
        if log:
            with open(log, "ab") as fh:
                fh.write(line if line.endswith(b"\n") else line + b"\n")
        message = json.loads(line)
        cmd = message.get("cmd")
        if cmd == "start":
            start()
        elif cmd == "run":
            run(message)
        elif cmd == "stop":
            send({"ok": True})
            return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
