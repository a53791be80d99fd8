// The built-in dashboard of a sidecar running in a pod, in real headless Chromium
// (tests/ui's pinned playwright-core): each of the three tabs shows, with the
// pod-level figures present, no console error and no request beyond 127.0.0.1.
// Usage: node check-dashboard.mjs http://127.0.0.1:PORT/   (exit 1 on any problem;
// screenshots under tests/artifacts/pod/)
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { launchChromium } from '../ui/launch-chromium.mjs';

const url = process.argv[2];
const artifacts = join(dirname(fileURLToPath(import.meta.url)), '../artifacts/pod');
mkdirSync(artifacts, { recursive: true });
const problems = [];
const profile = mkdtempSync(join(tmpdir(), 'ramflow-pod-chromium-'));
const context = await launchChromium(profile);
try {
  const page = await context.newPage();
  page.on('console', (m) => { if (m.type() === 'error') problems.push(`console: ${m.text()}`); });
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  page.on('request', (r) => { if (new URL(r.url()).hostname !== '127.0.0.1') problems.push(`request to ${r.url()}`); });
  await page.goto(url);
  await page.waitForSelector('#panel-executive [data-kpi=safety_margin]', { timeout: 30000 });
  const shown = {};
  for (const [tab, selector] of [['executive', '[data-kpi=safety_margin] .value'], ['flow', 'svg.chart'],
    ['system', 'dl.facts']]) {
    await page.click(`#tab-${tab}`);
    await page.waitForSelector(`#panel-${tab}:not([hidden]) ${selector}`, { timeout: 10000 });
    shown[tab] = (await page.locator(`#panel-${tab}`).innerText()).length;
    await page.screenshot({ path: join(artifacts, `${tab}.png`), fullPage: true });
  }
  const margin = await page.locator('#panel-executive [data-kpi=safety_margin] .value').innerText();
  if (!/\d+\.\d %/.test(margin)) problems.push(`safety margin shows "${margin}"`);
  const system = await page.locator('#panel-system').innerText();
  if (!system.includes('worker mount')) problems.push('the System context tab does not name the route');
  for (const [tab, chars] of Object.entries(shown)) if (chars < 200) problems.push(`tab ${tab} shows only ${chars} characters`);
  if (problems.length) throw new Error(problems.join('\n'));
  console.log(`three tabs rendered (${Object.entries(shown).map(([t, n]) => `${t} ${n} chars`).join(', ')}; margin ${margin})`);
} finally {
  await context.close();
  rmSync(profile, { recursive: true, force: true });
}
