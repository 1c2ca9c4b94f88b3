// Reading examples out of the project's Markdown, so that tests run what the
// documents say (and fail when a document drifts from what works).
//
//   section(md, '## A 30-second example') → the text under that heading, up to
//                                           the next heading of the same or a higher level
//   codeBlocks(text, 'sh')                 → the bodies of the fenced blocks in that language
//   commandLines(body)                     → the non-blank, non-comment lines, each without
//                                           its trailing `# comment`
//   stripComment(line)                     → a shell line without its trailing `# comment`
//   links(md)                              → every [text](target) target
//   anchors(md)                            → the GitHub anchor of every heading

/** The text under `heading` (a whole heading line, e.g. '## Quick start'). */
export function section(md, heading) {
  const lines = md.split('\n');
  const level = heading.match(/^#+/)[0].length;
  const start = lines.findIndex((l) => l.trim() === heading);
  if (start < 0) throw new Error(`no heading '${heading}'`);
  let end = lines.length;
  let fenced = false;
  for (let i = start + 1; i < lines.length; i++) {
    if (/^```/.test(lines[i])) fenced = !fenced;
    const m = !fenced && lines[i].match(/^(#+)\s/);
    if (m && m[1].length <= level) { end = i; break; }
  }
  return lines.slice(start + 1, end).join('\n');
}

/** Bodies of the ```lang fenced blocks in text, in order. */
export function codeBlocks(text, lang) {
  const out = [];
  const re = /^```(\S*)[^\n]*\n([\s\S]*?)^```\s*$/gm;
  for (const m of text.matchAll(re)) if (!lang || m[1] === lang) out.push(m[2]);
  return out;
}

/** A shell line without its trailing comment (a '#' after blank space, outside quotes). */
export function stripComment(line) {
  let quote = null;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quote) { if (c === quote) quote = null; continue; }
    if (c === "'" || c === '"') quote = c;
    else if (c === '#' && (i === 0 || /\s/.test(line[i - 1]))) return line.slice(0, i).trimEnd();
  }
  return line.trimEnd();
}

/** The command lines of a shell block: no blank lines, no comment lines. */
export function commandLines(body) {
  return body.split('\n').map(stripComment).filter((l) => l.trim() !== '');
}

/** Every [text](target) link target in md, outside fenced code. */
export function links(md) {
  const prose = md.replace(/^```[\s\S]*?^```\s*$/gm, '');
  return [...prose.matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1]);
}

/** GitHub's anchors for the headings of md. */
export function anchors(md) {
  const prose = md.replace(/^```[\s\S]*?^```\s*$/gm, '');
  const seen = new Map();
  const out = new Set();
  for (const m of prose.matchAll(/^#+\s+(.*)$/gm)) {
    const base = m[1].trim().toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, '').replace(/\s/g, '-');
    const n = seen.get(base) || 0;
    seen.set(base, n + 1);
    out.add(n ? `${base}-${n}` : base);
  }
  return out;
}
