// The test vectors of docs/protocol.md, recomputed with mitmlab.mjs and
// WebCrypto alone. Run with `node --test test/` (the Go test
// TestJSProtocolVectors runs it too).

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";

import {
  certificateSPKI,
  decode,
  fromBase64,
  hex,
  hkdfInfo,
  pinOf,
  Records,
  Schedule,
  transcriptHash,
  canonical,
  sendable,
  isRefusal,
} from "../mitmlab.mjs";

const subtle = globalThis.crypto.subtle;
const utf8 = new TextEncoder();

// vectors reads every `name = value` line of the page's text blocks.
function vectors() {
  const doc = readFileSync(new URL("../../../docs/protocol.md", import.meta.url), "utf8");
  const v = {};
  for (const block of doc.split("```text").slice(1)) {
    for (const line of block.split("```")[0].split("\n")) {
      const m = /^([a-z0-9_]+) = (.*)$/.exec(line);
      if (m) v[m[1]] = m[2];
    }
  }
  return v;
}

const V = vectors();
const bytes = (h) => Uint8Array.from(h.match(/../g) ?? [], (x) => parseInt(x, 16));

test("the page has the vectors this test reads", () => {
  for (const name of ["demo_transcript_hash", "th1", "c2s_0_json", "unauth_c2s_key", "rsa_c2s_0_json", "plain_c2s_0_json"]) {
    assert.ok(V[name], `docs/protocol.md lacks ${name}`);
  }
});

test("framed transcript", async () => {
  assert.equal(hex(await transcriptHash(bytes(V.demo_m1), bytes(V.demo_m2))), V.demo_transcript_hash);
  assert.equal(hex(await transcriptHash(bytes("61"), bytes("6263"))), V.demo_moved_transcript_hash);
});

// x25519Private imports a raw X25519 private key (WebCrypto takes PKCS #8).
async function x25519Private(raw) {
  const pkcs8 = new Uint8Array([...bytes("302e020100300506032b656e04220420"), ...raw]);
  return subtle.importKey("pkcs8", pkcs8, { name: "X25519" }, false, ["deriveBits"]);
}

test("pinned-ecdh: shared secret, transcript, signature, finished MACs, keys and records", async () => {
  const priv = await x25519Private(bytes(V.client_x25519_private));
  const pub = await subtle.importKey("raw", bytes(V.server_key_share), { name: "X25519" }, false, []);
  const z = new Uint8Array(await subtle.deriveBits({ name: "X25519", public: pub }, priv, 256));
  assert.equal(hex(z), V.shared_secret);

  const ch = utf8.encode(V.client_hello_json);
  const sh = utf8.encode(V.server_hello_json);
  const sv = utf8.encode(V.server_verify_json);
  const cf = utf8.encode(V.client_finished_json);
  const th1 = await transcriptHash(ch, sh);
  assert.equal(hex(th1), V.th1);

  const hello = decode("pinned-ecdh", V.server_hello_json);
  const spki = certificateSPKI(hello.certificate);
  assert.equal(await pinOf(spki), V.server_pin);
  const key = await subtle.importKey("spki", spki, { name: "Ed25519" }, false, ["verify"]);
  assert.ok(await subtle.verify({ name: "Ed25519" }, key, bytes(V.signature), bytes(V.signed_content)));

  assert.equal(hex(hkdfInfo("s finished", th1, 32)), V.info_s_finished);
  const ks = await Schedule.from(z);
  assert.equal(hex(await ks.bits("s finished", th1, 32)), V.server_finished_key);
  assert.equal(hex(await ks.bits("c finished", th1, 32)), V.client_finished_key);
  const sig = decode("pinned-ecdh", V.server_verify_json).signature;
  assert.equal(hex(await transcriptHash(ch, sh, sig)), V.hash_ch_sh_signature);
  const cfk = await ks.hmacKey("c finished", th1);
  const mac = new Uint8Array(await subtle.sign("HMAC", cfk, await transcriptHash(ch, sh, sv)));
  assert.equal(hex(mac), V.client_finished);

  const th2 = await transcriptHash(ch, sh, sv, cf);
  assert.equal(hex(th2), V.th2);
  assert.equal(hex(await ks.bits("c2s iv", th2, 12)), V.c2s_iv);
  assert.equal(hex(await ks.bits("s2c key", th2, 32)), V.s2c_key);

  const rec = new Records(await ks.traffic(th2));
  assert.equal(await rec.seal("data", bytes(V.c2s_0_plaintext)), V.c2s_0_json);
  assert.equal(hex(await rec.open(decode("pinned-ecdh", V.s2c_0_json))), V.s2c_0_plaintext);
  assert.equal(await rec.seal("end", new Uint8Array(0)), V.c2s_1_end_json);
  assert.equal((await rec.open(decode("pinned-ecdh", V.s2c_1_end_json))).length, 0);
});

test("unauth-ecdh: keys", async () => {
  const priv = await x25519Private(bytes(V.client_x25519_private));
  const pub = await subtle.importKey("raw", bytes(V.server_key_share), { name: "X25519" }, false, []);
  const z = new Uint8Array(await subtle.deriveBits({ name: "X25519", public: pub }, priv, 256));
  const th = await transcriptHash(utf8.encode(V.unauth_client_hello_json), utf8.encode(V.unauth_server_hello_json));
  assert.equal(hex(th), V.unauth_th);
  const ks = await Schedule.from(z);
  assert.equal(hex(await ks.bits("c2s key", th, 32)), V.unauth_c2s_key);
  assert.equal(hex(await ks.bits("s2c iv", th, 12)), V.unauth_s2c_iv);
});

test("plaintext-rsa and static-rsa: keys from the secret, and the static key's pin", async () => {
  const ks = await Schedule.from(bytes(V.rsa_secret));
  assert.equal(hex(hkdfInfo("c2s key", new Uint8Array(0), 32)), V.rsa_info_c2s_key);
  assert.equal(hex(await ks.bits("c2s key", new Uint8Array(0), 32)), V.rsa_c2s_key);
  const rec = new Records(await ks.traffic(new Uint8Array(0)));
  assert.equal(await rec.seal("data", utf8.encode("hi")), V.rsa_c2s_0_json);
  assert.equal(await pinOf(fromBase64(V.static_rsa_spki_b64)), V.static_rsa_pin);
});

test("plain: the null suite", async () => {
  const rec = new Records(null);
  assert.equal(await rec.seal("data", utf8.encode("hi")), V.plain_c2s_0_json);
  assert.equal(await rec.seal("end", new Uint8Array(0)), V.plain_c2s_1_end_json);
});

test("records: replayed, skipped, tampered and after-end records are refused", async () => {
  const ks = await Schedule.from(bytes(V.shared_secret));
  const th2 = bytes(V.th2);
  const open = async (...msgs) => {
    const rec = new Records(await ks.traffic(th2));
    let last;
    for (const m of msgs) last = await rec.open(decode("pinned-ecdh", m));
    return last;
  };
  await assert.rejects(open(V.s2c_0_json, V.s2c_0_json), /record replayed/);
  await assert.rejects(open(V.s2c_1_end_json), /record out of order/);
  await assert.rejects(open(V.s2c_0_json.replace('"ct":"g', '"ct":"h')), /failed authentication/);
  await assert.rejects(open(V.s2c_0_json, V.s2c_1_end_json, V.s2c_1_end_json), /after the peer's end record/);
});

test("strict decoding refuses what the lab refuses", () => {
  const good = V.c2s_0_json;
  const refused = {
    "a trailing newline": good + "\n",
    "white space before the object": " " + good,
    "an escaped field name": good.replace('"seq"', '"s\\u0065q"'),
    "a field twice": good.replace("{", '{"seq":0,'),
    "an unknown field": good.replace("{", '{"extra":"",'),
    "a leading zero": good.replace('"seq":0', '"seq":00'),
    "a negative seq": good.replace('"seq":0', '"seq":-1'),
    "a null required field": good.replace('"seq":0', '"seq":null'),
    "another scheme's type": V.client_hello_json.replace("client_hello", "rsa_public_key"),
    "non-canonical base64": `{"type":"client_hello","nonce":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB=","key_share":"hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo="}`,
    "a nonce of 31 bytes": `{"type":"client_hello","nonce":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==","key_share":"hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo="}`,
  };
  for (const [name, msg] of Object.entries(refused)) {
    assert.throws(() => decode("unauth-ecdh", msg), (e) => e.kind === "refused" && e.code === 1002, name);
  }
  assert.doesNotThrow(() => decode("unauth-ecdh", '{ "seq" : 0 ,\n"type":"data", "ct":"" }'));
  assert.equal(decode("pinned-ecdh", V.client_hello_json).offered[0], "pinned-ecdh");
});

test("close codes: a browser's twins read as the RFC codes", () => {
  assert.equal(sendable(1008), 4008);
  assert.equal(sendable(1002), 4002);
  assert.equal(sendable(1000), 1000);
  assert.equal(sendable(1001), 1000);
  assert.equal(canonical(4008), 1008);
  assert.equal(canonical(4000), 4000);
  assert.ok(isRefusal(4008) && isRefusal(1009) && !isRefusal(4011) && !isRefusal(1000));
});
