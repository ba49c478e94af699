// lab.mjs: the rest of the browser client, which the exercise does not ask
// you to change. It is built on the lab's JavaScript client
// (clients/js/mitmlab.mjs): its message encoding, key schedule and record
// layer. What it adds is the static-rsa conversation with your handshake
// (client.mjs) in its place: connect, run handshake(conn, opts), then send
// each message, read each reply, seal the end record, wait for the
// server's, and close. Like a browser, it refuses with 4000 + the RFC
// code (4008 for a failed check).

import { CLOSE, LabError, Records, Schedule, decode, encode, sendable, subprotocol } from "../../clients/js/mitmlab.mjs";

const SCHEME = "static-rsa";
const utf8 = new TextEncoder();
const fromUTF8 = new TextDecoder();

// Conn is what your handshake gets: one lab message per WebSocket message.
class Conn {
  constructor(ws, timeout) {
    this.ws = ws;
    this.timeout = timeout;
    this.queue = [];
    this.wake = null;
    this.closed = null;
    ws.onmessage = (ev) => this.push({ data: ev.data });
    ws.onclose = (ev) => {
      this.closed = { code: ev.code, reason: ev.reason };
      this.push({ close: this.closed });
    };
    ws.onerror = () => {};
  }

  push(item) {
    this.queue.push(item);
    if (this.wake) this.wake();
  }

  // read returns the next message as {raw, msg}: the exact bytes, for a
  // transcript, and the message decoded as docs/protocol.md says.
  async read() {
    const deadline = Date.now() + this.timeout;
    while (this.queue.length === 0) {
      const left = deadline - Date.now();
      if (left <= 0) throw new LabError("failed", "timed out waiting for the server", CLOSE.policy);
      await new Promise((resolve) => {
        const timer = setTimeout(resolve, left);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wake = null;
    }
    const item = this.queue[0];
    if (item.close) {
      const { code, reason } = item.close;
      const refusal = [1002, 1003, 1007, 1008, 1009].includes(code >= 4000 ? code - 3000 : code);
      throw new LabError(refusal ? "peer-refused" : "truncated", `closed with ${code} ${JSON.stringify(reason)} before the server's end record`);
    }
    this.queue.shift();
    if (typeof item.data !== "string") throw new LabError("refused", "binary message", CLOSE.protocolError);
    return { raw: utf8.encode(item.data), msg: decode(SCHEME, item.data) };
  }

  // readAs reads the next message, which must be of the given type.
  async readAs(type) {
    const got = await this.read();
    if (got.msg.type !== type) throw new LabError("refused", `unexpected message: got ${got.msg.type}, want ${type}`, CLOSE.protocolError);
    return got;
  }

  // send encodes a message of the given type and sends it.
  send(type, fields) {
    this.sendRaw(encode(type, fields));
  }

  sendRaw(s) {
    this.ws.send(s);
  }

  async close(code, reason) {
    if (!this.closed && this.ws.readyState === 1) this.ws.close(code, reason.slice(0, 120));
    const deadline = Date.now() + 1000;
    while (!this.closed && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  }
}

function opened(ws, timeout) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new LabError("failed", "no answer to the WebSocket upgrade")), timeout);
    ws.addEventListener("open", () => {
      clearTimeout(timer);
      resolve();
    });
    ws.addEventListener("close", (ev) => {
      clearTimeout(timer);
      reject(new LabError("failed", `could not connect: closed with ${ev.code}`));
    });
  });
}

// converse runs one static-rsa conversation with handshake in the
// client's place. It never throws; it returns {sent, received, error}.
export async function converse({ WebSocket, url, pin, messages, timeout, handshake }) {
  const out = { sent: [], received: [], error: "" };
  let conn = null;
  try {
    const ws = new WebSocket(url, [subprotocol(SCHEME)]);
    const c = new Conn(ws, timeout);
    await opened(ws, timeout);
    conn = c;
    if (ws.protocol !== subprotocol(SCHEME)) throw new LabError("failed", `protocol mismatch: ${ws.protocol}`, CLOSE.protocolError);
    let secret;
    try {
      secret = await handshake(conn, { pin });
    } catch (e) {
      // Whatever your handshake throws refuses the server.
      throw e instanceof LabError ? e : new LabError("refused", String(e?.message ?? e), CLOSE.policy);
    }
    const keys = await (await Schedule.from(secret)).traffic(new Uint8Array(0));
    const rec = new Records(keys);
    const next = async () => {
      const { msg } = await conn.read();
      if (msg.type !== "data" && msg.type !== "end") throw new LabError("refused", `unexpected message: ${msg.type}`, CLOSE.protocolError);
      const pt = await rec.open(msg);
      if (msg.type === "end") return null;
      out.received.push(fromUTF8.decode(pt));
      return pt;
    };
    let serverEnded = false;
    for (const m of messages) {
      conn.sendRaw(await rec.seal("data", utf8.encode(m)));
      out.sent.push(m);
      if ((await next()) === null) {
        serverEnded = true;
        break;
      }
    }
    conn.sendRaw(await rec.seal("end", new Uint8Array(0)));
    while (!serverEnded) serverEnded = (await next()) === null;
    await conn.close(CLOSE.normal, "bye");
  } catch (e) {
    const err = e instanceof LabError ? e : new LabError("failed", String(e?.message ?? e));
    out.error = err.message;
    if (conn) {
      const code = err.kind === "refused" ? sendable(err.code || CLOSE.policy) : err.kind === "failed" ? sendable(err.code || CLOSE.internal) : CLOSE.normal;
      await conn.close(code, err.message);
    }
  }
  return out;
}
