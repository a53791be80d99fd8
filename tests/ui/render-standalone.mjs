// Opens standalone HTML reports written by ramflowd's C++ writer (html_report.cpp)
// in headless Chromium from file:// and checks that the dashboard renders every tab
// of them: status "Saved report (...)", each panel filled, no console error, no
// request leaving the file. Screenshots go beside each file.
// Usage: node render-standalone.mjs REPORT.html...   (prints "N passed, M failed")
// The unit test ramflow_report_test writes tests/artifacts/report/report.cpp.html.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { launchChromium } from './launch-chromium.mjs';

const files = process.argv.slice(2);
if (!files.length) {
  console.error('usage: node render-standalone.mjs REPORT.html...');
  process.exit(2);
}
let passed = 0;
const failures = [];
const check = (name, ok, detail) => (ok ? passed++ : failures.push(`${name}${detail ? `: ${detail}` : ''}`));

const profile = mkdtempSync(join(tmpdir(), 'ramflow-render-'));
const context = await launchChromium(profile);
try {
  for (const file of files) {
    const page = await context.newPage();
    const errors = [];
    const foreign = [];
    page.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warning') errors.push(m.text()); });
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('request', (r) => { if (!r.url().startsWith('file:') && !r.url().startsWith('data:')) foreign.push(r.url()); });
    await page.goto(pathToFileURL(resolve(file)).href);
    const status = await page.innerText('#status');
    check(`${file}: status`, status.startsWith('Saved report ('), status);
    for (const tab of ['executive', 'flow', 'system']) {
      await page.click(`#tab-${tab}`);
      await page.waitForSelector(`#panel-${tab}:not([hidden])`);
      const text = await page.innerText(`#panel-${tab}`);
      check(`${file}: ${tab} tab rendered`, text.trim().length > 100, `${text.length} characters`);
      await page.screenshot({ path: `${file}.${tab}.png`, fullPage: true });
    }
    check(`${file}: no console errors`, errors.length === 0, errors.join(' | '));
    check(`${file}: no network request`, foreign.length === 0, foreign.join(' '));
    await page.close();
  }
} finally {
  await context.close();
  rmSync(profile, { recursive: true, force: true });
}
for (const f of failures) console.log(`FAIL ${f}`);
console.log(`${passed} passed, ${failures.length} failed`);
process.exit(failures.length ? 1 : 0);
