// Builds the standalone HTML report: src/export/ui/assets/index.html with style.css, the
// report JSON and app.js inlined (the contract in docs/report.md, which the C++
// report writer mirrors). Usage: node build-standalone.mjs REPORT.json OUT.html [UI_DIR]
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const MARKERS = {
  style: '<link rel="stylesheet" href="style.css">',
  report: '<!-- ramflow-report -->',
  script: '<script src="app.js"></script>',
};

export function buildStandalone(indexHtml, styleCss, appJs, reportJson) {
  if (/<\/style/i.test(styleCss)) throw new Error('style.css contains "</style": it cannot be inlined');
  if (/<\/script/i.test(appJs)) throw new Error('app.js contains "</script": it cannot be inlined');
  // "<" as \u003c keeps the JSON valid and makes "</script>" impossible inside it.
  const json = JSON.stringify(JSON.parse(reportJson)).replace(/</g, '\\u003c');
  const lines = indexHtml.split('\n');
  const replace = (marker, text) => {
    const at = lines.findIndex((l) => l.trim() === marker);
    if (at < 0) throw new Error(`index.html lacks the line ${marker}: restore it (docs/report.md)`);
    lines[at] = text;
  };
  replace(MARKERS.style, `<style>\n${styleCss}</style>`);
  replace(MARKERS.report, `<script type="application/json" id="ramflow-report">${json}</script>`);
  replace(MARKERS.script, `<script>\n${appJs}</script>`);
  return lines.join('\n');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [report, out, uiArg] = process.argv.slice(2);
  if (!report || !out) {
    console.error('usage: node build-standalone.mjs REPORT.json OUT.html [UI_DIR]');
    process.exit(2);
  }
  const ui = uiArg || join(dirname(fileURLToPath(import.meta.url)), '../../src/export/ui/assets');
  const read = (f) => readFileSync(join(ui, f), 'utf8');
  writeFileSync(out, buildStandalone(read('index.html'), read('style.css'), read('app.js'), readFileSync(report, 'utf8')));
  console.log(`wrote ${out}`);
}
