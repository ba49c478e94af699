// Exercise browser-rsa: read README.md, then fix handshake below and run
//
//   mitmlab exercise check browser-rsa
//
// The browser client from the lab's original question: ask the server for
// its RSA public key, wrap a fresh AES key under it, and chat under that
// key. It uses only what a browser has: WebCrypto (crypto.subtle), btoa.

const OAEP = { name: "RSA-OAEP", hash: "SHA-256" };

// handshake runs static-rsa's client side over conn and returns the
// 32-byte secret the record keys come from. conn.readAs(type) returns the
// next message as {raw, msg}; conn.send(type, fields) sends one. opts.pin
// is the server's pin, "sha256/" and the base64 of SHA-256 over its key's
// SubjectPublicKeyInfo, given to the page before the lab began. Throw to
// refuse the server: the lab closes with 4008, a browser's 1008.
export async function handshake(conn, opts) {
  const { msg } = await conn.readAs("rsa_public_key");

  // Is it the server's key? Hash the spki bytes exactly as they came, and
  // compare with the pin, in time that does not depend on where they
  // differ.
  const sum = new Uint8Array(await crypto.subtle.digest("SHA-256", msg.spki));
  const got = "sha256/" + btoa(String.fromCharCode(...sum));
  if (!sameText(got, opts.pin)) {
    throw new Error(`key does not match pin: server sent ${got}`);
  }

  const key = await crypto.subtle.importKey("spki", msg.spki, OAEP, false, ["encrypt"]);
  const secret = crypto.getRandomValues(new Uint8Array(32));
  const wrapped = new Uint8Array(await crypto.subtle.encrypt(OAEP, key, secret));
  conn.send("key_transport", { wrapped });
  return secret;
}

function sameText(a, b) {
  if (typeof b !== "string" || a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return d === 0;
}
