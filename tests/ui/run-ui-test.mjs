// Browser test of the dashboard in real headless Chromium (Debian's /usr/bin/chromium).
// Serves src/export/ui/assets/ and fixtures/report.json from a local HTTP server on 127.0.0.1
// (live mode, with one refresh to a changed report), then opens the standalone HTML
// report built by build-standalone.mjs (embedded mode, file://). Checks the numbers in
// expected.json, keyboard tabs, table sorting, no console errors, no request leaving
// 127.0.0.1; saves screenshots under tests/artifacts/ui/.
// Usage: node run-ui-test.mjs   (prints "N passed, M failed"; exit 1 on any failure)
import { createServer } from 'node:http';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { launchChromium } from './launch-chromium.mjs';
import { buildStandalone } from './build-standalone.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const uiDir = join(here, '../../src/export/ui/assets');
const artifacts = join(here, '../artifacts/ui');
const expected = JSON.parse(readFileSync(join(here, 'expected.json'), 'utf8'));
const reportText = readFileSync(join(here, 'fixtures/report.json'), 'utf8');
mkdirSync(artifacts, { recursive: true });

let passed = 0;
const failures = [];
function check(name, ok, detail) {
  if (ok) passed++;
  else failures.push(`${name}${detail ? `: ${detail}` : ''}`);
}

// The live server: the first report until the test calls changeReport(), then a
// changed one, so the test sees the page refresh itself.
function liveReports() {
  const first = JSON.parse(reportText);
  first.refresh_seconds = 1;
  const second = structuredClone(first);
  second.system_context.ecosystem_share = { ratio: 0.72, threshold_ratio: 0.7, reality_check: true };
  return [first, second];
}

// The fixture as a sidecar that cannot reach the worker's cgroup reports it (docs/report.md).
function unreachableCgroupReport() {
  const r = JSON.parse(reportText);
  const k = r.executive.kpis;
  Object.assign(k.safety_margin, { ratio: null, nonreclaimable_ratio: null, limit_bytes: null, limit_source: null,
    working_set_bytes: null, nonreclaimable_bytes: null, verdict: 'unknown', oom_risk: null,
    oom_risk_reason: 'the worker cgroup cannot be read: see system_context.cgroup.missing' });
  Object.assign(k.footprint, { source: 'process_peaks', limit_ratio: null, verdict: 'unknown' });
  r.executive.time_to_oom = { seconds: null, growth_bytes_per_second: null };
  Object.assign(r.executive.recommendation, { limit_bytes: null, limit_quantity: null, request_bytes: null,
    request_quantity: null, leak_allowance_bytes: null, oom_victim_floor_bytes: null,
    celery_max_memory_per_child_kib: null, resources_snippet: null });
  Object.assign(r.system_context.cgroup, { route: 'unreachable', route_dir: null,
    missing: 'cannot read /proc/4100/root/sys/fs/cgroup/memory/cgroup.procs: Permission denied',
    remedy: "run the sidecar as the worker's UID (the pod's securityContext.runAsUser, the chart's default) or as UID 0 with CAP_SYS_PTRACE (chart: sidecar.readOtherUids=true)",
    declared_limit_bytes: 536870912, declared_limit_check: 'unchecked', limit_bytes: null, limit_source: null,
    usage_bytes: null, working_set_bytes: null, nonreclaimable_bytes: null, peak_bytes: null });
  return r;
}

// The fixture as a sidecar without any agent would report it: nulls and "unknown".
function noAgentReport() {
  const r = JSON.parse(reportText);
  const ex = r.executive;
  Object.assign(ex.worker, { name: null, pool: 'none', agent_connected: false, pids: [ex.worker.main_pid] });
  Object.assign(ex.layers, { bootstrap_bytes: null, bootstrap_source: 'unknown', ecosystem_bytes: null, ready_marker: null,
    business_bytes: null, peak_source: 'sampled' });
  Object.assign(ex.integrity, { status: 'unknown', residual_bytes: null, leak_level: 'unknown', held_by: 'unknown',
    held_by_reason: null, held_by_capture: null, allocated_blocks_delta: null, rss_anon_delta_bytes: null });
  Object.assign(ex.integrity.seed_rule, { level: 'unknown', residual_bytes: null });
  Object.assign(ex.kpis.allocation_speed, { bytes_per_second: null, pid: null, function: null, verdict: 'unknown' });
  Object.assign(ex.kpis.leak_probability, { probability: null, level: 'unknown', rate_bytes_per_task: null,
    rate_bytes_per_second: null, window_tasks: 0, pid: null });
  ex.time_to_oom = { seconds: null, growth_bytes_per_second: null };
  Object.assign(ex.recommendation, { leak_allowance_bytes: 0, celery_max_memory_per_child_kib: null });
  ex.imports = [];
  ex.processes = ex.processes.slice(0, 1).map((p) => ({ ...p, role: 'standalone', worker: null, pss_bytes: null, uss_bytes: null,
    layers: { bootstrap_bytes: null, ecosystem_bytes: null, business_bytes: null }, residual_bytes: null,
    integrity: 'unknown', leak_level: 'unknown', leak_probability: null }));
  r.execution_flow.timelines = [{ ...r.execution_flow.timelines[0], worker: null, role: 'standalone', tasks: [], spans: [] }];
  r.execution_flow.net_self.rows = [];
  r.execution_flow.allocation_sites = [];
  r.system_context.expansion = { infrastructure_bytes: null, peak_bytes: r.system_context.expansion.peak_bytes, factor: null };
  r.system_context.ecosystem_share = { ratio: null, threshold_ratio: 0.7, reality_check: false };
  r.system_context.pressure = { scope: 'unavailable', some_avg10_ratio: null, full_avg10_ratio: null, note: 'kernel without CONFIG_PSI' };
  r.system_context.oom_kills = { total: 0, recent: [] };
  r.system_context.ebpf = { state: 'unavailable', reason: 'no BTF at /sys/kernel/btf/vmlinux' };
  return r;
}

function standalone(reportJson) {
  const read = (f) => readFileSync(join(uiDir, f), 'utf8');
  return buildStandalone(read('index.html'), read('style.css'), read('app.js'), reportJson);
}

function startServer() {
  const [first, second] = liveReports();
  let changed = false;
  const files = { '/': ['index.html', 'text/html'], '/index.html': ['index.html', 'text/html'],
    '/app.js': ['app.js', 'text/javascript'], '/style.css': ['style.css', 'text/css'] };
  const server = createServer((req, res) => {
    const path = new URL(req.url, 'http://127.0.0.1').pathname;
    if (path === '/api/v1/report') {
      const body = JSON.stringify(changed ? second : first);
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(body);
    } else if (files[path]) {
      res.writeHead(200, { 'Content-Type': `${files[path][1]}; charset=utf-8` });
      res.end(readFileSync(join(uiDir, files[path][0])));
    } else {
      res.writeHead(404, { 'Content-Type': 'text/plain' });
      res.end('not found');
    }
  });
  server.changeReport = () => { changed = true; };
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

function watch(page, label) {
  const seen = { errors: [], foreign: [] };
  page.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warning') seen.errors.push(`${m.type()}: ${m.text()}`); });
  page.on('pageerror', (e) => seen.errors.push(`pageerror: ${e.message}`));
  page.on('request', (r) => {
    const u = new URL(r.url());
    const local = u.protocol === 'file:' || u.protocol === 'data:' || u.hostname === '127.0.0.1';
    if (!local) seen.foreign.push(r.url());
  });
  return () => {
    check(`${label}: no console errors`, seen.errors.length === 0, seen.errors.join(' | '));
    check(`${label}: no request beyond 127.0.0.1`, seen.foreign.length === 0, seen.foreign.join(' '));
  };
}

async function expectTexts(page, label, panel, rows) {
  for (const [selector, text] of rows) {
    const loc = page.locator(`#panel-${panel} ${selector}`).first();
    const got = (await loc.count()) ? await loc.innerText() : null;
    check(`${label}: ${panel} ${selector} shows "${text}"`, got !== null && got.includes(text),
      got === null ? 'element missing' : `got "${got.slice(0, 160)}"`);
  }
}

async function showTab(page, name) {
  await page.click(`#tab-${name}`);
  await page.waitForSelector(`#panel-${name}:not([hidden])`);
}

async function screenshots(page, label) {
  for (const name of ['executive', 'flow', 'system']) {
    await showTab(page, name);
    await page.screenshot({ path: join(artifacts, `${label}-${name}.png`), fullPage: true });
  }
}

async function checkAllTabs(page, label) {
  await page.waitForSelector('#panel-executive [data-kpi=safety_margin]');
  await showTab(page, 'executive');
  await expectTexts(page, label, 'executive', expected.executive);
  await showTab(page, 'flow');
  await expectTexts(page, label, 'flow', expected.flow);
  check(`${label}: one timeline per process`, (await page.locator('#panel-flow svg.chart').count()) === 3);
  check(`${label}: task bands drawn`, (await page.locator("figure[data-pid='4101'] rect.task-band").count()) === 40);
  await page.click('button.sort[data-sort=duration_seconds]');
  await expectTexts(page, label, 'flow', expected.flow_sorted_by_duration);
  check(`${label}: sorted column marked`, (await page.getAttribute('th:has(button[data-sort=duration_seconds])', 'aria-sort')) === 'descending');
  await page.focus('button.sort[data-sort=net_self_bytes]');
  await page.keyboard.press('Enter');
  await expectTexts(page, label, 'flow', expected.flow.slice(1, 3));
  await showTab(page, 'system');
  await expectTexts(page, label, 'system', expected.system);
}

async function checkKeyboard(page, label) {
  await page.focus('#tab-executive');
  await page.keyboard.press('ArrowRight');
  check(`${label}: ArrowRight selects Execution flow`, await page.isVisible('#panel-flow') && !(await page.isVisible('#panel-executive')));
  await page.keyboard.press('End');
  check(`${label}: End selects System context`, await page.isVisible('#panel-system'));
  await page.keyboard.press('ArrowRight');
  check(`${label}: ArrowRight wraps to Executive`, await page.isVisible('#panel-executive'));
  check(`${label}: selected tab has focus`, await page.evaluate(() => document.activeElement.id) === 'tab-executive');
}

// The lead embeds these files in the binary: keep them a handful, well under 300 KB.
const assetBytes = ['index.html', 'style.css', 'app.js'].reduce((n, f) => n + readFileSync(join(uiDir, f)).length, 0);
check(`assets total ${assetBytes} bytes < 300 KB`, assetBytes < 300 * 1024);

const profile = mkdtempSync(join(tmpdir(), 'ramflow-ui-'));
const server = await startServer();
const base = `http://127.0.0.1:${server.address().port}/`;
const context = await launchChromium(profile);
try {
  // Live mode: served assets + /api/v1/report, refreshing.
  const live = await context.newPage();
  const liveDone = watch(live, 'live');
  await live.goto(base);
  await checkAllTabs(live, 'live');
  await checkKeyboard(live, 'live');
  await showTab(live, 'system');
  server.changeReport();
  await live.waitForSelector('text=Reality check:', { timeout: 10000 }).catch(() => {});
  await expectTexts(live, 'live refresh', 'system', expected.live_update);
  check('live: status says live', (await live.innerText('#status')).startsWith('Live'));
  await screenshots(live, 'live-1280x800');
  await live.setViewportSize({ width: 390, height: 844 });
  await screenshots(live, 'live-390x844');
  for (const name of ['executive', 'flow', 'system']) {
    await showTab(live, name);
    const widths = await live.evaluate(() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]);
    check(`narrow screen: ${name} fits 390 px without sideways scrolling`, widths[0] <= widths[1], `scrollWidth ${widths[0]}`);
  }
  liveDone();
  await live.close();

  // Embedded mode: the standalone HTML file, opened from disk.
  const html = standalone(reportText);
  const file = join(artifacts, 'standalone-report.html');
  writeFileSync(file, html);
  check('standalone: no http(s) reference in the file', !/https?:/i.test(html));
  const saved = await context.newPage();
  const savedDone = watch(saved, 'standalone');
  await saved.goto(pathToFileURL(file).href);
  await checkAllTabs(saved, 'standalone');
  check('standalone: status says saved report', (await saved.innerText('#status')).startsWith('Saved report'));
  await screenshots(saved, 'standalone-1280x800');
  savedDone();
  await saved.close();

  // Without an agent most facts are unknown: the page says so and still renders.
  const unknownFile = join(artifacts, 'standalone-no-agent.html');
  writeFileSync(unknownFile, standalone(JSON.stringify(noAgentReport())));
  const bare = await context.newPage();
  const bareDone = watch(bare, 'no agent');
  await bare.goto(pathToFileURL(unknownFile).href);
  await bare.waitForSelector('#panel-executive [data-kpi=safety_margin]');
  await expectTexts(bare, 'no agent', 'executive', expected.no_agent_executive);
  await showTab(bare, 'flow');
  await expectTexts(bare, 'no agent', 'flow', expected.no_agent_flow);
  await showTab(bare, 'system');
  await expectTexts(bare, 'no agent', 'system', expected.no_agent_system);
  await screenshots(bare, 'no-agent-1280x800');
  bareDone();
  await bare.close();

  // The worker's cgroup cannot be read: no pod-level figure, the statement instead.
  const unreadFile = join(artifacts, 'standalone-cgroup-unreachable.html');
  writeFileSync(unreadFile, standalone(JSON.stringify(unreachableCgroupReport())));
  const unread = await context.newPage();
  const unreadDone = watch(unread, 'cgroup unreachable');
  await unread.goto(pathToFileURL(unreadFile).href);
  await unread.waitForSelector('#panel-executive [data-kpi=safety_margin]');
  await expectTexts(unread, 'cgroup unreachable', 'executive', [
    ['[data-kpi=cgroup_unreadable]', 'No pod-level figure: the worker container\'s cgroup cannot be read (cannot read /proc/4100/root/sys/fs/cgroup/memory/cgroup.procs: Permission denied)'],
    ['[data-kpi=cgroup_unreadable]', 'run the sidecar as the worker\'s UID'],
    ['[data-kpi=safety_margin] .value', 'unknown'],
    ['[data-kpi=recommendation] .value', 'unknown'],
    ['[data-kpi=time_to_oom]', 'the worker cgroup cannot be read'],
    ['#resources-snippet', 'unknown: the worker cgroup cannot be read'],
  ]);
  check('cgroup unreachable: no copy button without a snippet', (await unread.locator('#panel-executive button.copy').count()) === 0);
  await showTab(unread, 'system');
  await expectTexts(unread, 'cgroup unreachable', 'system', [
    ['dl.facts', 'nothing: cannot read /proc/4100/root'],
    ['dl.facts', '512.0 MiB (not cross-checked: shown only)'],
  ]);
  await screenshots(unread, 'cgroup-unreachable-1280x800');
  unreadDone();
  await unread.close();

  // A report from a newer ramflow is refused with a message, not a blank page.
  const newer = JSON.parse(reportText);
  newer.schema_version = 2;
  const newerFile = join(artifacts, 'standalone-newer-schema.html');
  writeFileSync(newerFile, standalone(JSON.stringify(newer)));
  const refused = await context.newPage();
  await refused.goto(pathToFileURL(newerFile).href);
  const msg = await refused.innerText('#status');
  check('newer schema: clear message', msg.includes('newer ramflow (schema 2)'), msg);
  await refused.close();
} catch (e) {
  failures.push(`test driver: ${e.stack || e}`);
} finally {
  await context.close();
  server.close();
  rmSync(profile, { recursive: true, force: true });
}

for (const f of failures) console.log(`FAIL ${f}`);
console.log(`screenshots in ${artifacts}`);
console.log(`${passed} passed, ${failures.length} failed`);
process.exit(failures.length ? 1 : 0);
