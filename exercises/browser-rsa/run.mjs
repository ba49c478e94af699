#!/usr/bin/env node
// run.mjs: runs the browser client in Node, once, for `mitmlab exercise
// check browser-rsa`, and prints what it did as one JSON line:
// {"sent":[...],"received":[...],"error":"..."}.
//
//   node run.mjs --url ws://127.0.0.1:9443/static-rsa --pin sha256/... \
//       --message "hi Bob" [--student client.mjs] [--timeout MS]
//
// Node 20 needs --experimental-websocket; Node 22 and later have a
// WebSocket of their own. In a browser, the same client.mjs and lab.mjs
// run unchanged (README.md says how).

import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { converse } from "./lab.mjs";

const args = { messages: [], student: new URL("./client.mjs", import.meta.url).href, timeout: 2000 };
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i += 2) {
  const v = argv[i + 1];
  switch (argv[i]) {
    case "--url":
      args.url = v;
      break;
    case "--pin":
      args.pin = v;
      break;
    case "--message":
      args.messages.push(v);
      break;
    case "--student":
      args.student = pathToFileURL(resolve(v)).href;
      break;
    case "--timeout":
      args.timeout = Number(v);
      break;
    default:
      console.error(`run.mjs: unknown flag ${argv[i]}`);
      process.exit(2);
  }
}
if (typeof WebSocket !== "function") {
  console.error("run.mjs: no WebSocket: use Node 22 or later, or node --experimental-websocket on Node 20");
  process.exit(2);
}
const { handshake } = await import(args.student);
const out = await converse({ WebSocket, url: args.url, pin: args.pin, messages: args.messages, timeout: args.timeout, handshake });
console.log(JSON.stringify(out));
