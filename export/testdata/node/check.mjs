// node check.mjs FILE...: checks each export with the tools that open it,
// offline, and prints one JSON line per file, in order:
//
//   FILE.mmd  parsed with Mermaid's own parser (in jsdom, so its sanitiser
//             runs as in a browser): {"file", "diagram": {"title", "actors",
//             "messages"}}, every message and note with Mermaid's entity
//             codes decoded, for the Go test to compare with the run.
//   FILE.har  validated against the HAR 1.2 JSON Schema (har-schema, via
//             har-validator): {"file", "ok": true}.
//
// A file that fails its check gives {"file", "error"}. The exit status is
// 0 unless the arguments are wrong.
import { readFileSync } from 'node:fs';

// decode turns Mermaid's stored entity codes (#35; is kept as ﬂ°°35¶ß)
// back into the characters a rendered diagram shows.
function decode(s) {
  return s
    .replace(/ﬂ°°(\d+)¶ß/g, (_, n) => String.fromCodePoint(Number(n)))
    .replace(/ﬂ°(\w+)¶ß/g, (_, name) => ({ amp: '&', lt: '<', gt: '>', quot: '"' })[name] ?? `&${name};`);
}

let mermaid;
async function loadMermaid() {
  if (!mermaid) {
    const { JSDOM } = await import('jsdom');
    const dom = new JSDOM('<!doctype html><html><body></body></html>');
    globalThis.window = dom.window;
    globalThis.document = dom.window.document;
    mermaid = (await import('mermaid')).default;
    mermaid.initialize({ startOnLoad: false, securityLevel: 'strict' });
  }
  return mermaid;
}

async function checkMermaid(text) {
  const m = await loadMermaid();
  await m.parse(text); // throws on a syntax error
  const diagram = await m.mermaidAPI.getDiagramFromText(text);
  if (diagram.type !== 'sequence') throw new Error(`not a sequence diagram: ${diagram.type}`);
  const db = diagram.db;
  return {
    diagram: {
      title: decode(db.getDiagramTitle() ?? ''),
      actors: [...db.getActors().values()].map((a) => ({ id: a.name, label: decode(a.description) })),
      messages: db.getMessages().map((x) => ({ from: x.from, to: x.to, type: x.type, text: decode(x.message ?? '') })),
    },
  };
}

async function checkHAR(text) {
  const { default: validate } = await import('har-validator');
  await validate.har(JSON.parse(text));
  return { ok: true };
}

const files = process.argv.slice(2);
if (files.length === 0) {
  process.stderr.write('usage: node check.mjs FILE.mmd|FILE.har...\n');
  process.exit(2);
}
for (const file of files) {
  let result;
  try {
    const text = readFileSync(file, 'utf8');
    if (file.endsWith('.mmd')) result = await checkMermaid(text);
    else if (file.endsWith('.har')) result = await checkHAR(text);
    else throw new Error('not a .mmd or .har file');
  } catch (e) {
    const detail = e.errors ? ' ' + JSON.stringify(e.errors) : '';
    result = { error: `${e.message}${detail}` };
  }
  process.stdout.write(JSON.stringify({ file, ...result }) + '\n');
}
