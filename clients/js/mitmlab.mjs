// mitmlab.mjs: a client for the mitmlab wire protocol, version 2, written
// from docs/protocol.md with WebCrypto alone. No dependencies: it runs
// unchanged in Node 20+ (cli.mjs) and in a browser (the victim page that
// `mitmlab server --web` serves).
//
// One function does a whole conversation: chat({WebSocket, url, scheme,
// pin, messages}) connects, runs the scheme's handshake, sends each
// message and reads the reply, seals its end record, waits for the
// server's, and closes with 1000. On a failed check it closes with the
// application-range twin of the RFC code (4002, 4008, 4009: a browser's
// JavaScript may send nothing else) and sends no record.
//
// Section names in the comments (§ ...) are docs/protocol.md's.

export const VERSION = 2;
export const SCHEMES = ["plaintext-rsa", "unauth-ecdh", "pinned-ecdh", "static-rsa", "plain"];

const LABEL_PREFIX = "mitmlab2 ";
const SIGNATURE_CONTEXT = "mitmlab v2 server verify";
const MAX_MESSAGE = 65536; // bytes of one WebSocket message
const MAX_PLAINTEXT = 32768; // bytes of one record's plaintext
const TAG = 16;
const MAX_SEQ = (1n << 64n) - 1n;

const subtle = globalThis.crypto.subtle;
const utf8 = new TextEncoder();
const fromUTF8 = new TextDecoder("utf-8", { fatal: true });

// ---------------------------------------------------------------------------
// Close codes (§ Close codes and errors)

export const CLOSE = {
  normal: 1000,
  goingAway: 1001,
  protocolError: 1002,
  unsupported: 1003,
  invalidUTF8: 1007,
  policy: 1008,
  tooBig: 1009,
  internal: 1011,
};

const TWINS = [1002, 1003, 1007, 1008, 1009, 1011];

// sendable returns the code a browser may send for an RFC code: 4000 +
// (code - 1000) for the codes that have a twin (1002, 1003, 1007, 1008,
// 1009, 1011), and 1000 for any other code a browser may not send (1001).
export function sendable(code) {
  if (TWINS.includes(code)) return 4000 + (code - 1000);
  return code === 1000 || (code >= 3000 && code <= 4999) ? code : 1000;
}

// canonical reads an application-range twin as the RFC code it stands for.
export function canonical(code) {
  return TWINS.includes(code - 3000) ? code - 3000 : code;
}

// isRefusal reports whether a peer that closed with code refused.
export function isRefusal(code) {
  return [1002, 1003, 1007, 1008, 1009].includes(canonical(code));
}

// LabError is every failure of a conversation. kind says whose:
//   "refused"      this client refused: a check failed or input was bad
//                  (code is the RFC code it closed with);
//   "truncated"    the connection ended before the server's end record;
//   "peer-refused" the server (or whoever answered) closed with a refusal;
//   "failed"       anything else: no connection, a timeout, a mismatch.
export class LabError extends Error {
  constructor(kind, message, code = 0) {
    super(message);
    this.name = "LabError";
    this.kind = kind;
    this.code = code;
  }
}

const refuse = (message, code = CLOSE.policy) => new LabError("refused", message, code);
const badInput = (message) => new LabError("refused", "wire: " + message, CLOSE.protocolError);

// ---------------------------------------------------------------------------
// Bytes and base64 (§ Encoding rules)

export function concat(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

export function toBase64(bytes) {
  let s = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(s);
}

const B64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

// fromBase64 decodes canonical standard base64 with padding, and returns
// null for anything else: another alphabet, white space, a missing pad, or
// unused bits that are not zero.
export function fromBase64(s) {
  if (!B64.test(s)) return null;
  const bin = atob(s);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return toBase64(out) === s ? out : null;
}

export const hex = (b) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");

function equalConstantTime(a, b) {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a[i] ^ b[i];
  return d === 0;
}

const sha256 = async (b) => new Uint8Array(await subtle.digest("SHA-256", b));

// ---------------------------------------------------------------------------
// Messages (§ Messages), decoded strictly (§ Encoding rules)

const b64 = (min, max) => ({ kind: "b64", min, max });
const text = (min, max) => ({ kind: "text", min, max });
const list = (items, min, max) => ({ kind: "list", items, min, max });
const uint = { kind: "uint" };
const req = (name, f) => ({ name, required: true, ...f });
const opt = (name, f) => ({ name, required: false, ...f });

export const MESSAGES = {
  rsa_public_key: [req("spki", b64(1, 2048))],
  key_transport: [req("wrapped", b64(256, 256))],
  client_hello: [req("nonce", b64(32, 32)), req("key_share", b64(32, 32)), opt("offered", list(16, 1, 64))],
  server_hello: [
    req("nonce", b64(32, 32)),
    req("key_share", b64(32, 32)),
    opt("chosen", text(1, 64)),
    opt("certificate", b64(1, 16384)),
  ],
  server_verify: [req("signature", b64(64, 64)), req("finished", b64(32, 32))],
  client_finished: [req("mac", b64(32, 32))],
  data: [req("seq", uint), req("ct", b64(0, 65536))],
  end: [req("seq", uint), req("ct", b64(0, 65536))],
};

// HANDSHAKES lists each scheme's handshake messages; every scheme also has
// data and end.
const HANDSHAKES = {
  "plaintext-rsa": ["rsa_public_key", "key_transport"],
  "unauth-ecdh": ["client_hello", "server_hello"],
  "pinned-ecdh": ["client_hello", "server_hello", "server_verify", "client_finished"],
  "static-rsa": ["rsa_public_key", "key_transport"],
  plain: [],
};

// encode writes a message as the lab does: type first, the fields in the
// table's order, no white space, empty optional fields left out.
export function encode(type, fields) {
  const parts = [`"type":${JSON.stringify(type)}`];
  for (const f of MESSAGES[type]) {
    const v = fields[f.name];
    if (v === undefined || (!f.required && v.length === 0)) continue;
    let j;
    if (f.kind === "b64") j = JSON.stringify(toBase64(v));
    else if (f.kind === "uint") j = v.toString();
    else j = JSON.stringify(v);
    parts.push(`${JSON.stringify(f.name)}:${j}`);
  }
  return "{" + parts.join(",") + "}";
}

// parseObject reads one JSON object with nothing around it, and returns
// its members in order as [name, value] pairs. Values are tagged:
// {t: "string", v}, {t: "number", raw}, {t: "array", v: [values]},
// {t: "null"}, or {t: "other"} (true, false, an object).
function parseObject(s) {
  let i = 0;
  const fail = (why) => {
    throw badInput(`malformed message: ${why}`);
  };
  const ws = () => {
    while (i < s.length && " \t\r\n".includes(s[i])) i++;
  };
  const str = () => {
    if (s[i] !== '"') fail(`want a string at byte ${i}`);
    i++;
    let out = "";
    let escaped = false;
    for (;;) {
      if (i >= s.length) fail("unterminated string");
      const c = s[i];
      if (c === '"') {
        i++;
        return { v: out, escaped };
      }
      if (c.charCodeAt(0) < 0x20) fail("control character in a string");
      if (c !== "\\") {
        out += c;
        i++;
        continue;
      }
      escaped = true;
      const e = s[i + 1];
      const simple = { '"': '"', "\\": "\\", "/": "/", b: "\b", f: "\f", n: "\n", r: "\r", t: "\t" };
      if (e in simple) {
        out += simple[e];
        i += 2;
      } else if (e === "u" && /^[0-9a-fA-F]{4}$/.test(s.slice(i + 2, i + 6))) {
        out += String.fromCharCode(parseInt(s.slice(i + 2, i + 6), 16));
        i += 6;
      } else fail("bad escape in a string");
    }
  };
  const value = (depth) => {
    if (depth > 8) fail("nested too deeply");
    ws();
    const c = s[i];
    if (c === '"') return { t: "string", v: str().v };
    if (c === "[") {
      i++;
      const items = [];
      ws();
      if (s[i] === "]") {
        i++;
        return { t: "array", v: items };
      }
      for (;;) {
        items.push(value(depth + 1));
        ws();
        if (s[i] === ",") {
          i++;
          continue;
        }
        if (s[i] === "]") {
          i++;
          return { t: "array", v: items };
        }
        fail("bad array");
      }
    }
    if (c === "{") {
      members(depth + 1);
      return { t: "other" };
    }
    const m = /^-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/.exec(s.slice(i));
    if (m && m[0] !== "") {
      i += m[0].length;
      return { t: "number", raw: m[0] };
    }
    for (const [word, t] of [["null", "null"], ["true", "other"], ["false", "other"]]) {
      if (s.startsWith(word, i)) {
        i += word.length;
        return { t };
      }
    }
    return fail(`unexpected input at byte ${i}`);
  };
  const members = (depth) => {
    if (s[i] !== "{") fail("not an object");
    i++;
    const out = [];
    const seen = new Set();
    ws();
    if (s[i] === "}") {
      i++;
      return out;
    }
    for (;;) {
      ws();
      const name = str();
      if (name.escaped) fail(`escaped field name ${JSON.stringify(name.v)}`);
      if (seen.has(name.v)) fail(`field ${JSON.stringify(name.v)} twice`);
      seen.add(name.v);
      ws();
      if (s[i] !== ":") fail("want ':'");
      i++;
      out.push([name.v, value(depth)]);
      ws();
      if (s[i] === ",") {
        i++;
        continue;
      }
      if (s[i] === "}") {
        i++;
        return out;
      }
      fail("bad object");
    }
  };
  const out = members(0);
  if (i !== s.length) fail("data after the object");
  if (out.length > 32) fail("more than 32 members");
  return out;
}

// decode checks one message against the scheme's tables and returns
// {type, ...fields}, binary fields as Uint8Array and seq as a BigInt. It
// throws a LabError (1002, or 1009 for a message over 64 KiB) for anything
// the lab's own decoder refuses.
export function decode(scheme, s) {
  const size = utf8.encode(s).length;
  if (size > MAX_MESSAGE) throw new LabError("refused", `wire: message too large: ${size} bytes`, CLOSE.tooBig);
  if (s[0] !== "{" || s[s.length - 1] !== "}") throw badInput("malformed message: white space or data around the object");
  const members = parseObject(s);
  const typeMember = members.find(([n]) => n === "type");
  if (!typeMember) throw badInput('missing field: "type"');
  if (typeMember[1].t !== "string") throw badInput('malformed message: "type" is not a string');
  const type = typeMember[1].v;
  const types = [...HANDSHAKES[scheme], "data", "end"];
  if (!types.includes(type)) throw badInput(`unknown message type: ${JSON.stringify(type)}`);
  const table = MESSAGES[type];
  const msg = { type };
  for (const [name, v] of members) {
    if (name === "type") continue;
    const f = table.find((x) => x.name === name);
    if (!f) throw badInput(`${type}: unknown field: ${JSON.stringify(name)}`);
    if (v.t === "null") {
      if (f.required) throw badInput(`${type}: missing field: ${JSON.stringify(name)}`);
      throw badInput(`${type}: malformed message: ${JSON.stringify(name)} is null`);
    }
    msg[name] = fieldValue(type, f, v);
  }
  for (const f of table) {
    const v = msg[f.name];
    const empty = v === undefined || (f.kind !== "uint" && v.length === 0);
    if (empty && !f.required) {
      delete msg[f.name];
      continue;
    }
    if (v === undefined || (empty && f.min > 0)) throw badInput(`${type}: missing field: ${JSON.stringify(f.name)}`);
    if (f.kind === "b64" || f.kind === "text") {
      const n = f.kind === "text" ? utf8.encode(v).length : v.length;
      if (n < f.min || n > f.max) {
        throw badInput(`${type}: wrong field length: ${JSON.stringify(f.name)} is ${n} bytes, want ${f.min === f.max ? f.min : `${f.min} to ${f.max}`}`);
      }
    }
    if (f.kind === "list") {
      if (v.length > f.items) throw badInput(`${type}: wrong field length: ${JSON.stringify(f.name)} has ${v.length} items`);
      for (const item of v) {
        const n = utf8.encode(item).length;
        if (n < f.min || n > f.max) throw badInput(`${type}: wrong field length: an item of ${JSON.stringify(f.name)} is ${n} bytes`);
      }
    }
  }
  return msg;
}

function fieldValue(type, f, v) {
  const bad = (why) => badInput(`${type}: malformed message: ${JSON.stringify(f.name)} ${why}`);
  switch (f.kind) {
    case "b64": {
      if (v.t !== "string") throw bad("is not a string");
      const b = fromBase64(v.v);
      if (b === null) throw bad("is not canonical standard base64");
      return b;
    }
    case "text":
      if (v.t !== "string") throw bad("is not a string");
      return v.v;
    case "list":
      if (v.t !== "array" || v.v.some((x) => x.t !== "string")) throw bad("is not an array of strings");
      return v.v.map((x) => x.v);
    case "uint": {
      if (v.t !== "number" || !/^(?:0|[1-9][0-9]*)$/.test(v.raw)) throw bad("is not a plain non-negative integer");
      const n = BigInt(v.raw);
      if (n > MAX_SEQ) throw bad("is over 2^64-1");
      return n;
    }
  }
  throw bad("has an unknown kind");
}

// ---------------------------------------------------------------------------
// The transcript and the key schedule (§ The transcript, § The key schedule)

// transcriptHash is SHA-256 over each message framed by its 4-byte
// big-endian length. Messages are the raw bytes as sent or received.
export async function transcriptHash(...msgs) {
  const parts = [];
  for (const m of msgs) {
    const len = new Uint8Array(4);
    new DataView(len.buffer).setUint32(0, m.length);
    parts.push(len, m);
  }
  return sha256(concat(...parts));
}

// hkdfInfo is RFC 8446's HkdfLabel with the prefix "mitmlab2 ".
export function hkdfInfo(label, context, length) {
  const l = utf8.encode(LABEL_PREFIX + label);
  return concat(new Uint8Array([length >> 8, length & 0xff, l.length]), l, new Uint8Array([context.length]), context);
}

// Schedule holds one connection's secret as a WebCrypto HKDF key. Each
// label is one deriveBits or deriveKey call with the 32 zero bytes of "no
// salt" (RFC 5869): ExpandLabel(Extract(secret), label, context, length).
export class Schedule {
  static async from(secret) {
    const s = new Schedule();
    s.key = await subtle.importKey("raw", secret, "HKDF", false, ["deriveBits", "deriveKey"]);
    return s;
  }

  params(label, context, length) {
    return { name: "HKDF", hash: "SHA-256", salt: new Uint8Array(32), info: hkdfInfo(label, context, length) };
  }

  async bits(label, context, length) {
    return new Uint8Array(await subtle.deriveBits(this.params(label, context, length), this.key, length * 8));
  }

  // aesKey derives a non-extractable AES-256-GCM key straight from HKDF.
  async aesKey(label, context, usages) {
    return subtle.deriveKey(this.params(label, context, 32), this.key, { name: "AES-GCM", length: 256 }, false, usages);
  }

  async hmacKey(label, context) {
    const raw = await this.bits(label, context, 32);
    return subtle.importKey("raw", raw, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  }

  // traffic returns the client's record keys: it seals with c2s and opens
  // with s2c.
  async traffic(context) {
    return {
      seal: { key: await this.aesKey("c2s key", context, ["encrypt"]), iv: await this.bits("c2s iv", context, 12) },
      open: { key: await this.aesKey("s2c key", context, ["decrypt"]), iv: await this.bits("s2c iv", context, 12) },
    };
  }
}

const hmac = async (key, data) => new Uint8Array(await subtle.sign("HMAC", key, data));

// ---------------------------------------------------------------------------
// The record layer (§ The record layer)

function nonce(iv, seq) {
  const n = iv.slice();
  for (let i = 0; i < 8; i++) n[11 - i] ^= Number((seq >> BigInt(8 * i)) & 0xffn);
  return n;
}

function additionalData(type, dir, seq) {
  const s = new Uint8Array(8);
  new DataView(s.buffer).setBigUint64(0, seq);
  return concat(utf8.encode(type), new Uint8Array([0]), utf8.encode(dir), s);
}

// Records seals the client's records and opens the server's, with
// AES-256-GCM, or with the null suite (keys null) for the plain scheme.
export class Records {
  constructor(keys) {
    this.keys = keys;
    this.sendSeq = 0n;
    this.recvSeq = 0n;
    this.ended = false; // this side sent its end record
    this.peerEnded = false; // the peer's end record opened
  }

  async seal(type, plaintext) {
    if (this.ended) throw new LabError("failed", "channel: this side has already ended the conversation", CLOSE.internal);
    if (plaintext.length > MAX_PLAINTEXT) throw new LabError("failed", "channel: plaintext too large for one record", CLOSE.internal);
    const seq = this.sendSeq++;
    let ct = plaintext;
    if (this.keys) {
      const { key, iv } = this.keys.seal;
      const p = { name: "AES-GCM", iv: nonce(iv, seq), additionalData: additionalData(type, "c2s", seq), tagLength: 128 };
      ct = new Uint8Array(await subtle.encrypt(p, key, plaintext));
    }
    if (type === "end") this.ended = true;
    return encode(type, { seq, ct });
  }

  // open checks a record's seq, then opens it; it returns the plaintext.
  async open(msg) {
    const want = this.recvSeq;
    if (this.peerEnded) throw refuse("channel: record after the peer's end record");
    if (msg.seq < want) throw refuse(`channel: record replayed: sequence number already used: got seq ${msg.seq}, want ${want}`);
    if (msg.seq > want) throw refuse(`channel: record out of order: sequence number skipped ahead: got seq ${msg.seq}, want ${want}`);
    let pt = msg.ct;
    if (this.keys) {
      if (msg.ct.length < TAG) throw badInput(`${msg.type}: wrong field length: "ct" is shorter than a tag`);
      const { key, iv } = this.keys.open;
      const p = { name: "AES-GCM", iv: nonce(iv, want), additionalData: additionalData(msg.type, "s2c", want), tagLength: 128 };
      try {
        pt = new Uint8Array(await subtle.decrypt(p, key, msg.ct));
      } catch {
        throw refuse(`channel: record failed authentication: modified or wrong key: seq ${want}`);
      }
    }
    if (msg.type === "end" && pt.length !== 0) throw refuse("channel: end record carries data");
    if (pt.length > MAX_PLAINTEXT) throw new LabError("refused", `channel: record plaintext over the 32 KiB limit: ${pt.length} bytes`, CLOSE.tooBig);
    this.recvSeq++;
    if (msg.type === "end") this.peerEnded = true;
    return pt;
  }
}

// ---------------------------------------------------------------------------
// The connection: one lab message per WebSocket text message

// Conn wraps a WebSocket (the browser's, Node's global one, or the ws
// package's, which share this API) with a queue of incoming messages.
class Conn {
  constructor(ws, scheme, onFrame) {
    this.ws = ws;
    this.scheme = scheme;
    this.onFrame = onFrame;
    this.queue = [];
    this.waiting = null;
    this.closed = null; // {code, reason} once the peer's close (or a drop) arrived
    ws.binaryType = "arraybuffer";
    ws.onmessage = (ev) => this.push({ data: ev.data });
    ws.onclose = (ev) => {
      this.closed = { code: ev.code, reason: ev.reason };
      this.push({ close: this.closed });
    };
    ws.onerror = () => {};
  }

  push(item) {
    this.queue.push(item);
    if (this.waiting) {
      const w = this.waiting;
      this.waiting = null;
      w();
    }
  }

  async next(deadline) {
    while (this.queue.length === 0) {
      let timer;
      const timedOut = await new Promise((resolve) => {
        this.waiting = () => resolve(false);
        timer = setTimeout(() => resolve(true), Math.max(0, deadline.at - Date.now()));
      });
      clearTimeout(timer);
      this.waiting = null;
      if (timedOut && this.queue.length === 0) throw new LabError(deadline.kind, deadline.message, deadline.code);
    }
    return this.queue.shift();
  }

  // read returns the next lab message as {raw (bytes), msg (decoded)}, or
  // throws: at the peer's close, on a binary message, on bad input.
  async read(deadline) {
    const item = await this.next(deadline);
    if (item.close) {
      this.queue.unshift(item); // every later read sees the close too
      throw closedError(item.close);
    }
    if (typeof item.data !== "string") throw badInput("binary websocket message");
    const raw = utf8.encode(item.data);
    let msg;
    try {
      msg = decode(this.scheme, item.data);
    } catch (e) {
      this.frame("recv", { type: peekType(item.data), size: raw.length, text: item.data, note: e.message });
      throw e;
    }
    this.frame("recv", { type: msg.type, size: raw.length, text: item.data, seq: msg.seq });
    return { raw, msg };
  }

  async readAs(type, deadline) {
    const { raw, msg } = await this.read(deadline);
    if (msg.type !== type) throw badInput(`unexpected message: got ${msg.type}, want ${type}`);
    return { raw, msg };
  }

  // send writes one message and returns its bytes, for the transcript.
  send(s, extra = {}) {
    const raw = utf8.encode(s);
    if (raw.length > MAX_MESSAGE) throw new LabError("failed", "wire: message too large", CLOSE.internal);
    this.frame("send", { type: peekType(s), size: raw.length, text: s, ...extra });
    this.ws.send(s);
    return raw;
  }

  frame(dir, f) {
    if (this.onFrame) this.onFrame({ dir, ...f });
  }

  // close sends a close frame (once) and waits at most a second for the
  // peer's, as every lab side does.
  async close(code, reason) {
    if (!this.closed && this.ws.readyState === 1) {
      const r = cutReason(reason);
      this.frame("send", { type: "close", size: 0, note: `${code}${r ? ": " + r : ""}` });
      this.ws.close(code, r);
    }
    const deadline = Date.now() + 1000;
    while (!this.closed && Date.now() < deadline) {
      try {
        await this.next({ at: deadline, kind: "failed", message: "no close frame" });
      } catch {
        break;
      }
    }
  }
}

function peekType(s) {
  const m = /"type"\s*:\s*"([a-z_]{1,32})"/.exec(s);
  return m ? m[1] : "invalid";
}

// cutReason cuts a close reason to the 123 bytes a close frame holds,
// never inside a UTF-8 sequence.
function cutReason(reason) {
  if (utf8.encode(reason).length <= 123) return reason;
  let out = "";
  for (const ch of reason) {
    if (utf8.encode(out + ch + "...").length > 123) break;
    out += ch;
  }
  return out + "...";
}

function closedError(c) {
  const what = `${c.code}${c.reason ? " " + JSON.stringify(c.reason) : ""}`;
  if (isRefusal(c.code)) return new LabError("peer-refused", `the server refused: closed with ${what}`);
  return new LabError("truncated", `conversation cut short: the connection ended without the peer's end record (closed with ${what})`);
}

// ---------------------------------------------------------------------------
// The schemes (§ The schemes): each takes the connection and its options
// and returns the client's record keys.

async function x25519() {
  const kp = await subtle.generateKey({ name: "X25519" }, true, ["deriveBits"]);
  return { kp, share: new Uint8Array(await subtle.exportKey("raw", kp.publicKey)) };
}

// shared runs X25519 with the peer's share and refuses an all-zero result
// (a low-order point, RFC 7748 §6.1); some WebCrypto builds refuse it
// themselves, which counts the same.
async function shared(kp, peerShare) {
  let z;
  try {
    const pub = await subtle.importKey("raw", peerShare, { name: "X25519" }, false, []);
    z = new Uint8Array(await subtle.deriveBits({ name: "X25519", public: pub }, kp.privateKey, 256));
  } catch (e) {
    throw refuse(`key share is a low-order point: ${e.message}`);
  }
  if (equalConstantTime(z, new Uint8Array(32))) throw refuse("key share is a low-order point");
  return z;
}

const random = (n) => globalThis.crypto.getRandomValues(new Uint8Array(n));

async function unauthECDH(conn, o) {
  const { kp, share } = await x25519();
  const ch = conn.send(encode("client_hello", { nonce: random(32), key_share: share }));
  const { raw: sh, msg } = await conn.readAs("server_hello", o.deadline);
  const z = await shared(kp, msg.key_share);
  const ks = await Schedule.from(z);
  return ks.traffic(await transcriptHash(ch, sh));
}

// pin parses "sha256/BASE64" of 32 bytes, or returns null.
export function parsePin(pin) {
  if (typeof pin !== "string" || !pin.startsWith("sha256/")) return null;
  const b = fromBase64(pin.slice(7));
  return b && b.length === 32 ? b : null;
}

export const pinOf = async (spki) => "sha256/" + toBase64(await sha256(spki));

// certificateSPKI walks a DER X.509 certificate just far enough to return
// its SubjectPublicKeyInfo, as DER bytes, or null if it does not parse:
//   Certificate ::= SEQUENCE { tbsCertificate SEQUENCE { [0] version
//   OPTIONAL, serialNumber, signature, issuer, validity, subject,
//   subjectPublicKeyInfo, ... }, signatureAlgorithm, signatureValue }
export function certificateSPKI(der) {
  // tlv reads the element that starts at i and ends by limit: its tag,
  // where its contents start, and where it ends.
  const tlv = (i, limit) => {
    if (i + 2 > limit) return null;
    let len = der[i + 1];
    let start = i + 2;
    if (len & 0x80) {
      const n = len & 0x7f;
      if (n === 0 || n > 3 || start + n > limit) return null;
      len = 0;
      for (let k = 0; k < n; k++) len = len * 256 + der[start + k];
      start += n;
    }
    if (start + len > limit) return null;
    return { tag: der[i], begin: i, start, end: start + len };
  };
  const cert = tlv(0, der.length);
  if (!cert || cert.tag !== 0x30 || cert.end !== der.length) return null;
  const tbs = tlv(cert.start, cert.end);
  if (!tbs || tbs.tag !== 0x30) return null;
  let e = tlv(tbs.start, tbs.end);
  if (e && e.tag === 0xa0) e = tlv(e.end, tbs.end); // [0] version
  for (let k = 0; k < 5 && e; k++) e = tlv(e.end, tbs.end); // serial, signature, issuer, validity, subject
  if (!e || e.tag !== 0x30) return null;
  return der.slice(e.begin, e.end);
}

const SIGNED_PREFIX = concat(new Uint8Array(64).fill(0x20), utf8.encode(SIGNATURE_CONTEXT), new Uint8Array([0]));

async function pinnedECDH(conn, o) {
  // By default only pinned-ecdh is offered. offerUnauth adds unauth-ecdh
  // to the offer (the downgrade lessons); only acceptFallback takes it.
  const offered = o.offerUnauth || o.acceptFallback ? ["pinned-ecdh", "unauth-ecdh"] : ["pinned-ecdh"];
  const { kp, share } = await x25519();
  const ch = conn.send(encode("client_hello", { nonce: random(32), key_share: share, offered }));
  const { raw: sh, msg: hello } = await conn.readAs("server_hello", o.deadline);

  // 1. check chosen scheme
  if (!offered.includes(hello.chosen)) {
    throw refuse(`server chose a scheme the client did not offer: ${JSON.stringify(hello.chosen ?? "")}, offered ${JSON.stringify(offered)}`);
  }
  if (hello.chosen === "unauth-ecdh") {
    if (!o.acceptFallback) throw refuse("server chose unauthenticated unauth-ecdh; this client requires authentication");
    // INSECURE(downgrade): the fallback is unsigned; nothing proves who chose it.
    const ks = await Schedule.from(await shared(kp, hello.key_share));
    return ks.traffic(await transcriptHash(ch, sh));
  }
  // 2. parse certificate
  if (!hello.certificate) throw refuse("server hello carries no certificate");
  const spki = certificateSPKI(hello.certificate);
  if (!spki) throw refuse("certificate does not parse");
  // 3. check pin
  const sent = await pinOf(spki);
  // INSECURE(signed-unpinned): with insecureNoPin any key that signs is accepted.
  if (!o.insecureNoPin && !equalConstantTime(await sha256(spki), o.pinBytes)) {
    throw refuse(`key does not match pin: server sent ${sent}`);
  }
  // 4. check key type
  let key;
  try {
    key = await subtle.importKey("spki", spki, { name: "Ed25519" }, false, ["verify"]);
  } catch {
    throw refuse("certificate key is not Ed25519");
  }
  const { raw: sv, msg: verify } = await conn.readAs("server_verify", o.deadline);
  // 5. verify signature, over th1 = TranscriptHash(CH, SH)
  const th1 = await transcriptHash(ch, sh);
  if (!(await subtle.verify({ name: "Ed25519" }, key, verify.signature, concat(SIGNED_PREFIX, th1)))) {
    throw refuse("server signature does not verify");
  }
  // 6. compute shared secret
  const ks = await Schedule.from(await shared(kp, hello.key_share));
  // 7. verify server finished
  const sfk = await ks.hmacKey("s finished", th1);
  const want = await hmac(sfk, await transcriptHash(ch, sh, verify.signature));
  if (!equalConstantTime(want, verify.finished)) throw refuse("finished MAC does not verify");

  const cfk = await ks.hmacKey("c finished", th1);
  const cf = conn.send(encode("client_finished", { mac: await hmac(cfk, await transcriptHash(ch, sh, sv)) }));
  return ks.traffic(await transcriptHash(ch, sh, sv, cf));
}

const OAEP = { name: "RSA-OAEP", hash: "SHA-256" };

async function rsaKeys(secret) {
  const ks = await Schedule.from(secret);
  return ks.traffic(new Uint8Array(0));
}

async function plaintextRSA(conn, o) {
  const kp = await subtle.generateKey({ ...OAEP, modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]) }, true, ["encrypt", "decrypt"]);
  const spki = new Uint8Array(await subtle.exportKey("spki", kp.publicKey));
  conn.send(encode("rsa_public_key", { spki }));
  const { msg } = await conn.readAs("key_transport", o.deadline);
  let secret;
  try {
    secret = new Uint8Array(await subtle.decrypt(OAEP, kp.privateKey, msg.wrapped));
  } catch {
    throw refuse("wrapped secret does not decrypt");
  }
  if (secret.length !== 32) throw refuse("wrapped secret does not decrypt: not 32 bytes");
  return rsaKeys(secret);
}

async function staticRSA(conn, o) {
  const { msg } = await conn.readAs("rsa_public_key", o.deadline);
  let key;
  try {
    key = await subtle.importKey("spki", msg.spki, OAEP, false, ["encrypt"]);
  } catch {
    throw refuse("public key does not parse as RSA");
  }
  if (key.algorithm.modulusLength !== 2048) throw refuse(`RSA key has the wrong size: ${key.algorithm.modulusLength} bits, want 2048`);
  if (o.pinBytes && !equalConstantTime(await sha256(msg.spki), o.pinBytes)) {
    throw refuse(`key does not match pin: server sent ${await pinOf(msg.spki)}`);
  }
  const secret = random(32);
  conn.send(encode("key_transport", { wrapped: new Uint8Array(await subtle.encrypt(OAEP, key, secret)) }));
  return rsaKeys(secret);
}

const HALVES = {
  "plaintext-rsa": plaintextRSA,
  "unauth-ecdh": unauthECDH,
  "pinned-ecdh": pinnedECDH,
  "static-rsa": staticRSA,
  plain: async () => null, // the null suite: no keys
};

// ---------------------------------------------------------------------------
// A conversation

// subprotocol is what the client offers, and requires the server to select.
export const subprotocol = (scheme) => `mitmlab.v${VERSION}.${scheme}`;

// supported reports what this runtime's WebCrypto can do: X25519 and
// Ed25519 came late to some browsers (docs/browser.md has the table).
export async function supported() {
  const out = {};
  for (const [name, usages] of [["X25519", ["deriveBits"]], ["Ed25519", ["sign", "verify"]]]) {
    try {
      await subtle.generateKey({ name }, false, usages);
      out[name] = true;
    } catch {
      out[name] = false;
    }
  }
  return out;
}

// chat runs one conversation and returns its result; it never throws.
//
// Options:
//   WebSocket       the constructor to use (globalThis.WebSocket by default)
//   url             ws:// or wss:// URL of the server (or of Mallory)
//   scheme          one of SCHEMES
//   pin             pinned-ecdh (required) or static-rsa (optional): sha256/BASE64
//   insecureNoPin   pinned-ecdh: accept any key that signs (lets any MITM in)
//   offerUnauth     pinned-ecdh: offer unauth-ecdh too, but refuse it if chosen
//   acceptFallback  pinned-ecdh: offer unauth-ecdh and accept it (the downgrade lesson)
//   messages        the chat, as strings
//   name            sent as ?name=
//   timeout         ms for the connection and the handshake (default 10 s)
//   idleTimeout     ms to wait for each record after it (default 5 min)
//   onFrame         called with {dir: "send"|"recv", type, size, text, seq, note}
//
// The result: {scheme, sent, replies, refused, reason, kind, replyTexts,
// closeCode}. sent counts the data records sent, replies the server's
// data records opened; refused is true when this client refused the
// server or detected an attack (a check failed, or the conversation was
// cut short), and reason says why. kind is "ok", or a LabError's kind.
export async function chat(opts) {
  const o = {
    WebSocket: globalThis.WebSocket,
    timeout: 10_000,
    idleTimeout: 300_000,
    messages: [],
    ...opts,
  };
  const result = { scheme: o.scheme, sent: 0, replies: 0, refused: false, reason: "", kind: "ok", replyTexts: [], closeCode: 0 };
  let conn = null;
  try {
    await converse(o, result, (c) => (conn = c));
  } catch (e) {
    const err = e instanceof LabError ? e : new LabError("failed", String(e?.message ?? e));
    result.kind = err.kind;
    result.reason = err.message;
    result.refused = err.kind === "refused" || err.kind === "truncated";
    if (conn) {
      const code = err.kind === "refused" ? sendable(err.code || CLOSE.policy) : err.kind === "failed" ? sendable(err.code || CLOSE.internal) : 0;
      result.closeCode = code;
      if (code) await conn.close(code, err.message);
      else await conn.close(CLOSE.normal, "");
    }
  }
  return result;
}

async function converse(o, result, setConn) {
  if (!SCHEMES.includes(o.scheme)) throw new LabError("failed", `unknown scheme ${JSON.stringify(o.scheme)} (schemes: ${SCHEMES.join(", ")})`);
  if (typeof o.WebSocket !== "function") throw new LabError("failed", "no WebSocket: pass one (in Node 20, the ws package; see clients/js/README.md)");
  // check configuration: nothing is sent before the pin is known good.
  if (o.pin) {
    o.pinBytes = parsePin(o.pin);
    if (!o.pinBytes) throw new LabError("failed", "pin is not sha256/BASE64 of 32 bytes");
  }
  if (o.scheme === "pinned-ecdh" && !o.pinBytes && !o.insecureNoPin) {
    throw new LabError("failed", "no pin configured for the server's key");
  }
  let url = o.url;
  if (o.name) url += (url.includes("?") ? "&" : "?") + "name=" + encodeURIComponent(o.name);

  const ws = new o.WebSocket(url, [subprotocol(o.scheme)]);
  const conn = new Conn(ws, o.scheme, o.onFrame);
  setConn(conn);
  o.deadline = { at: Date.now() + o.timeout, kind: "failed", message: `handshake timed out after ${o.timeout / 1000}s`, code: CLOSE.policy };
  await opened(ws, conn, o);
  if (ws.protocol !== subprotocol(o.scheme)) {
    throw new LabError("failed", `protocol mismatch: the server selected ${JSON.stringify(ws.protocol)}, want ${subprotocol(o.scheme)}`, CLOSE.protocolError);
  }
  const keys = await HALVES[o.scheme](conn, o);
  const rec = new Records(keys);
  const idle = () => ({ at: Date.now() + o.idleTimeout, kind: "failed", message: `idle timeout after ${o.idleTimeout / 1000}s`, code: CLOSE.goingAway });

  // readRecord returns the next record's plaintext, or null for the
  // server's end record.
  const readRecord = async () => {
    const { msg } = await conn.read(idle());
    if (msg.type !== "data" && msg.type !== "end") throw badInput(`unexpected message: got ${msg.type}, want a record`);
    const pt = await rec.open(msg);
    if (msg.type === "end") return null;
    result.replies++;
    result.replyTexts.push(new TextDecoder().decode(pt));
    return pt;
  };

  let serverEnded = false;
  for (const m of o.messages) {
    conn.send(await rec.seal("data", utf8.encode(m)), { seq: rec.sendSeq - 1n, plaintext: m });
    result.sent++;
    if ((await readRecord()) === null) {
      serverEnded = true; // the server ended the conversation before answering
      break;
    }
  }
  conn.send(await rec.seal("end", new Uint8Array(0)), { seq: rec.sendSeq - 1n });
  while (!serverEnded) {
    if ((await readRecord()) === null) serverEnded = true;
  }
  result.closeCode = CLOSE.normal;
  await conn.close(CLOSE.normal, "bye");
  if (serverEnded && result.replies < result.sent) {
    result.reason = "the server ended the conversation before answering";
  }
}

// opened waits for the WebSocket's open event, or fails: a refused
// upgrade, an Origin refused (HTTP 403), a certificate the browser does
// not trust; browsers tell JavaScript none of these apart (close 1006).
function opened(ws, conn, o) {
  if (ws.readyState === 1) return Promise.resolve();
  return new Promise((resolve, reject) => {
    let settled = false;
    const settle = (err) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (err) reject(err);
      else resolve();
    };
    const timer = setTimeout(() => {
      settle(new LabError("failed", `no answer to the WebSocket upgrade within ${o.timeout / 1000}s`));
      try {
        ws.close();
      } catch {
        // not open yet
      }
    }, Math.max(0, o.deadline.at - Date.now()));
    ws.onopen = () => settle();
    const connClose = ws.onclose;
    ws.onclose = (ev) => {
      connClose(ev);
      settle(
        new LabError(
          "failed",
          `could not connect to ${o.url}: closed with ${ev.code} before the upgrade finished (is the server running, at this URL, speaking ${o.scheme}? a browser shows 1006 for every refused upgrade: an Origin or a certificate refused, an HTTP 400)`,
        ),
      );
    };
  });
}

// utf8Decode is exported for pages that show replies.
export const utf8Decode = (b) => fromUTF8.decode(b);
