import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * The documentation per reader (README.md → docs/) holds together: every page
 * is reachable from the README, every relative link and anchor resolves, and
 * the code names docs/architecture.md gives with its links exist in the files
 * they point at — so a moved file or a renamed function shows here.
 */
const pagesUnder = (dir: string): string[] =>
  readdirSync(dir).flatMap((f) => {
    const p = path.join(dir, f);
    return statSync(p).isDirectory() ? pagesUnder(p) : f.endsWith('.md') ? [p] : [];
  });
const docs = ['README.md', 'dashboards/README.md', ...pagesUnder('docs')];

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens, repeats numbered. */
function anchorsOf(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  for (const [, text] of withoutCode(markdown).matchAll(/^#{1,6} (.+)$/gm)) {
    const base = text!.trim().toLowerCase().replace(/[^\p{L}\p{N}\- _]/gu, '').replace(/ /g, '-');
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n === 0 ? base : `${base}-${n}`);
  }
  return out;
}

const withoutCode = (markdown: string) => markdown.replace(/^```[\s\S]*?^```/gm, '');

interface Link {
  from: string;
  text: string;
  file: string;
  anchor: string | undefined;
}

function linksOf(page: string): Link[] {
  const text = withoutCode(readFileSync(page, 'utf8'));
  return [...text.matchAll(/\[([^\]]*)\]\(([^)\s]+)\)/g)]
    .filter(([, , target]) => !/^[a-z]+:/.test(target!))
    .map(([, label, target]) => {
      const [file, anchor] = target!.split('#') as [string, string | undefined];
      return { from: page, text: label!, file: file === '' ? page : path.normalize(path.join(path.dirname(page), file)), anchor };
    });
}

describe('documentation', () => {
  it('README is short and gives the test command that .ci/run calls', () => {
    const readme = readFileSync('README.md', 'utf8');
    expect(readme.split('\n').length).toBeLessThan(250);
    expect(readme).toMatch(/npm test/);
    expect(readFileSync('.ci/run', 'utf8')).toMatch(/^npm test$/m);
  });

  it('every relative link resolves to a file, and every anchor to a heading of it', () => {
    const broken: string[] = [];
    for (const page of docs) {
      for (const l of linksOf(page)) {
        if (!existsSync(l.file)) broken.push(`${l.from}: [${l.text}] → ${l.file} (no such file)`);
        else if (l.anchor !== undefined && l.file.endsWith('.md') && !anchorsOf(readFileSync(l.file, 'utf8')).has(l.anchor)) {
          broken.push(`${l.from}: [${l.text}] → ${l.file}#${l.anchor} (no such heading)`);
        }
      }
    }
    expect(broken).toEqual([]);
  });

  it('every page under docs/ is reachable from the README', () => {
    const reached = new Set<string>(['README.md']);
    const queue = ['README.md'];
    while (queue.length > 0) {
      for (const l of linksOf(queue.shift()!)) {
        const target = existsSync(l.file) && statSync(l.file).isDirectory() ? path.join(l.file, 'README.md') : l.file;
        if (target.endsWith('.md') && existsSync(target) && !reached.has(target)) {
          reached.add(target);
          queue.push(target);
        }
      }
    }
    expect(docs.filter((p) => !reached.has(p))).toEqual([]);
  });

  it('a code name linked to a source file (architecture.md) is in that file', () => {
    const missing = linksOf('docs/architecture.md')
      .filter((l) => /^`\w+`$/.test(l.text) && l.file.endsWith('.ts'))
      .filter((l) => !new RegExp(`\\b${l.text.slice(1, -1)}\\b`).test(readFileSync(l.file, 'utf8')))
      .map((l) => `${l.text} not in ${l.file}`);
    expect(missing).toEqual([]);
  });
});
