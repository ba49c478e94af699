#!/usr/bin/env node
// cli.mjs: the JavaScript starter client on the command line, with the
// same flags and exit codes as `mitmlab client`. The protocol is all in
// mitmlab.mjs, which the victim page runs unchanged in a browser.
//
//   node clients/js/cli.mjs --scheme pinned-ecdh --connect ws://127.0.0.1:8443/pinned-ecdh \
//       --pin sha256/... --message "hi Bob, it's Alice"
//
// Exit status: 0 the chat worked and ended cleanly; 1 it failed; 2 a
// mistake on the command line; 3 the client refused the server or
// detected an attack.

import { createInterface } from "node:readline";
import { chat, SCHEMES } from "./mitmlab.mjs";

const USAGE = `Usage: node cli.mjs --scheme NAME --connect URL [flags]

Runs Alice, the victim client, in JavaScript (WebCrypto only). It connects,
runs the handshake, sends each --message (or, with none, each line of
stdin) and prints Bob's answer; then it seals its end record and waits for
Bob's. On a failed check it closes with 4000 + the RFC code (4008, 4002),
as a browser must, and sends nothing more.

Flags:
  --scheme NAME        ${SCHEMES.join(", ")}
  --connect URL        the server's (or the attacker's) ws:// or wss:// URL
  --pin sha256/...     pinned-ecdh (required) or static-rsa (optional): the server's pin
  --insecure-no-pin    pinned-ecdh: accept any key that signs (lets any man in the middle in)
  --insecure-fallback  pinned-ecdh: offer unauth-ecdh too and accept it if chosen (the downgrade scenario)
  --offer-unauth       pinned-ecdh: offer unauth-ecdh too, but refuse it if chosen
  --message TEXT       a chat message; repeat for several
  --name NAME          sent as ?name=
  --timeout SECONDS    for the connection and the handshake (default 10)
  --json               print the result as one JSON object on stdout
  --frames             print every frame sent and received on stderr

Exit status: 0 ok; 1 failed; 2 usage; 3 refused the server or detected an attack.`;

class UsageError extends Error {}

function parseArgs(argv) {
  const f = { messages: [], timeout: 10 };
  const value = (i, name) => {
    if (i + 1 >= argv.length) throw new UsageError(`${name} needs a value`);
    return argv[i + 1];
  };
  for (let i = 0; i < argv.length; i++) {
    let a = argv[i];
    let inline;
    if (a.startsWith("--") && a.includes("=")) {
      inline = a.slice(a.indexOf("=") + 1);
      a = a.slice(0, a.indexOf("="));
    }
    const take = () => (inline !== undefined ? inline : value(i++, a));
    switch (a) {
      case "--scheme":
        f.scheme = take();
        break;
      case "--connect":
        f.connect = take();
        break;
      case "--pin":
        f.pin = take();
        break;
      case "--insecure-no-pin":
        f.insecureNoPin = true;
        break;
      case "--insecure-fallback":
        f.acceptFallback = true;
        break;
      case "--offer-unauth":
        f.offerUnauth = true;
        break;
      case "--message":
        f.messages.push(take());
        break;
      case "--name":
        f.name = take();
        break;
      case "--timeout":
        f.timeout = Number.parseFloat(take());
        if (!(f.timeout > 0)) throw new UsageError("--timeout must be a number of seconds above 0");
        break;
      case "--json":
        f.json = true;
        break;
      case "--frames":
        f.frames = true;
        break;
      case "-h":
      case "--help":
        f.help = true;
        break;
      default:
        throw new UsageError(`unknown argument ${JSON.stringify(argv[i])}`);
    }
  }
  if (f.help) return f;
  if (!SCHEMES.includes(f.scheme)) throw new UsageError(`--scheme must be one of ${SCHEMES.join(", ")}`);
  if (!/^wss?:\/\//.test(f.connect ?? "")) throw new UsageError("--connect needs a ws:// or wss:// URL");
  return f;
}

// webSocket returns a WebSocket constructor: the ws package (installed by
// npm ci; it sends no Origin header, as a non-browser client should), or
// the runtime's own (Node 22+, or Node 20 with --experimental-websocket).
async function webSocket() {
  try {
    return (await import("ws")).WebSocket;
  } catch {
    if (typeof globalThis.WebSocket === "function") return globalThis.WebSocket;
    throw new Error("no WebSocket: run `npm ci` in clients/js (for the ws package), or use Node 22+");
  }
}

async function stdinLines() {
  const lines = [];
  for await (const line of createInterface({ input: process.stdin })) lines.push(line);
  return lines;
}

async function main(argv) {
  let f;
  try {
    f = parseArgs(argv);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    console.error(`cli.mjs: ${e.message}\n\n${USAGE}`);
    return 2;
  }
  if (f.help) {
    console.log(USAGE);
    return 0;
  }
  const messages = f.messages.length > 0 ? f.messages : await stdinLines();
  const onFrame = f.frames
    ? (fr) => console.error(`${fr.dir === "send" ? "→" : "←"} ${fr.type.padEnd(15)} ${String(fr.size).padStart(5)}${fr.seq !== undefined ? ` seq ${fr.seq}` : ""}${fr.note ? "  " + fr.note : ""}`)
    : undefined;
  const r = await chat({
    WebSocket: await webSocket(),
    url: f.connect,
    scheme: f.scheme,
    pin: f.pin,
    insecureNoPin: f.insecureNoPin,
    acceptFallback: f.acceptFallback,
    offerUnauth: f.offerUnauth,
    messages,
    name: f.name,
    timeout: f.timeout * 1000,
    onFrame,
  });
  if (f.json) {
    console.log(JSON.stringify({ scheme: r.scheme, sent: r.sent, replies: r.replies, refused: r.refused, reason: r.reason, kind: r.kind }));
  } else {
    for (const t of r.replyTexts) console.log(`bob: ${t}`);
    console.log(summary(r));
  }
  switch (r.kind) {
    case "ok":
      return 0;
    case "refused":
    case "truncated":
      return 3;
    default:
      return 1;
  }
}

function summary(r) {
  switch (r.kind) {
    case "ok":
      return `done: ${r.sent} sent, ${r.replies} answered; both end records in, closed with 1000${r.reason ? " (" + r.reason + ")" : ""}`;
    case "refused":
      return `client refused the server: ${r.reason} (closed with ${r.closeCode})`;
    case "truncated":
      return `client detected an attack: ${r.reason}; messages may be missing`;
    default:
      return `failed: ${r.reason}`;
  }
}

process.exitCode = await main(process.argv.slice(2));
