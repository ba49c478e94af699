// page.mjs: the victim page's script. The browser is Alice: everything
// about the protocol is in /mitmlab.mjs (clients/js/mitmlab.mjs), this file
// only reads the page's settings, shows each frame, and writes the outcome.

import { chat, supported } from "/mitmlab.mjs";

const $ = (sel) => document.querySelector(sel);
const meta = (name) => document.querySelector(`meta[name="${name}"]`)?.content ?? "";
const form = $("#chat");

// The server put its own pin (and scheme) into the page it served.
const pagePin = meta("mitmlab-pin");
const pageScheme = meta("mitmlab-scheme");

// settings reads the query string, then the fragment, which wins: the
// fragment never leaves the browser, while the query crosses the network
// with the page's GET, where anyone on a plain-HTTP path reads it.
function settings() {
  const q = new URLSearchParams(location.search);
  const h = new URLSearchParams(location.hash.slice(1));
  const get = (k) => (h.has(k) ? h.get(k) : q.get(k));
  const all = (k) => (h.has(k) ? h.getAll(k) : q.getAll(k));
  return {
    scheme: get("scheme"),
    pin: get("pin"),
    name: get("name"),
    messages: all("message"),
    autorun: get("autorun") === "1",
    // pinned-ecdh's downgrade lessons: offer unauth-ecdh too, and accept it.
    offerUnauth: get("offer") === "unauth-ecdh",
    acceptFallback: get("fallback") === "1",
  };
}

function fill(s) {
  form.scheme.value = s.scheme || pageScheme;
  form.pin.value = s.pin ?? "";
  form.pin.placeholder = pagePin ? `${pagePin} (from the page)` : "none in the page";
  form.name.value = s.name ?? "";
  if (s.messages.length > 0) form.messages.value = s.messages.join("\n");
}

function row(f) {
  const tr = document.createElement("tr");
  tr.className = f.dir + (f.note && f.type !== "close" ? " bad" : "");
  let what = f.note ?? "";
  if (f.plaintext !== undefined) what = `sealed: ${JSON.stringify(f.plaintext)}`;
  else if (!what && f.text) what = f.text.length > 160 ? f.text.slice(0, 157) + "..." : f.text;
  const cells = [f.dir === "send" ? "→ Bob" : "← Bob", f.type, f.size, f.seq ?? "", what];
  for (const c of cells) {
    const td = document.createElement("td");
    td.textContent = String(c);
    tr.append(td);
  }
  $("#frames tbody").append(tr);
}

function finish(r, lines) {
  const res = $("#result");
  res.className = r.kind === "ok" ? "ok" : r.refused ? "refused" : "failed";
  const head = {
    ok: `Bob answered ${r.replies} of ${r.sent} messages; Alice noticed nothing wrong.`,
    refused: `Alice refused: ${r.reason}`,
    truncated: `Alice detected an attack: ${r.reason}`,
  }[r.kind] ?? `The chat failed: ${r.reason}`;
  res.textContent = [head, ...lines].join("\n");
  res.style.whiteSpace = "pre-wrap";
  const out = $("#outcome");
  out.textContent = JSON.stringify({ scheme: r.scheme, sent: r.sent, replies: r.replies, refused: r.refused, reason: r.reason, received: r.replyTexts ?? [] });
  out.hidden = false;
}

async function run(ev) {
  ev?.preventDefault();
  const scheme = form.scheme.value;
  const typed = form.pin.value.trim();
  const pin = typed || pagePin;
  const messages = form.messages.value.split("\n").filter((m) => m !== "");
  $("#frames tbody").replaceChildren();
  $("#outcome").hidden = true;
  $("#result").className = "";
  $("#result").textContent = "running...";
  if (!globalThis.crypto?.subtle) {
    finish({ scheme, sent: 0, replies: 0, refused: false, kind: "failed", reason: "crypto.subtle is missing: this page is not a secure context (open it over https://, or http://localhost)" }, []);
    return;
  }
  const usesPin = scheme === "pinned-ecdh" || scheme === "static-rsa";
  $("#about").textContent = usesPin ? `pin: ${pin || "none"} (${typed ? "typed or from the URL" : "from the page, as the server sent it"})` : "";
  const url = `${location.protocol === "https:" ? "wss:" : "ws:"}//${location.host}/${scheme}`;
  const r = await chat({
    url,
    scheme,
    pin: usesPin && pin ? pin : undefined,
    messages,
    name: form.name.value || undefined,
    offerUnauth: s.offerUnauth,
    acceptFallback: s.acceptFallback,
    onFrame: row,
  });
  finish(r, r.replyTexts.map((t) => `Bob: ${t}`));
}

form.addEventListener("submit", run);
const s = settings();
fill(s);
if (globalThis.crypto?.subtle) {
  const caps = await supported();
  const missing = Object.keys(caps).filter((k) => !caps[k]);
  if (missing.length > 0) $("#about").textContent = `this browser's WebCrypto lacks ${missing.join(" and ")}: see docs/browser.md`;
}
if (s.autorun) run();
