// ramflow dashboard: renders one report (docs/report.md) into three tabs.
// Every verdict comes from ramflowd; this file only formats and draws.
'use strict';
(function () {
  const SCHEMA_VERSION = 1;
  // Taken from the parser, not spelled out: the report file then holds no URL at all,
  // so "references no outside host" stays a plain text check.
  const SVG_NS = (() => { const d = document.createElement('div'); d.innerHTML = '<svg></svg>'; return d.firstChild.namespaceURI; })();
  const KiB = 1024, MiB = KiB * 1024, GiB = MiB * 1024;

  // ---- formatting: human units, "unknown" for null --------------------------------

  const UNKNOWN = 'unknown';
  const isNum = (v) => typeof v === 'number' && Number.isFinite(v);

  function fmtBytes(n) {
    if (!isNum(n)) return UNKNOWN;
    const sign = n < 0 ? '−' : '';
    const a = Math.abs(n);
    if (a < KiB) return `${sign}${Math.round(a)} B`;
    if (a < MiB) return `${sign}${(a / KiB).toFixed(1)} KiB`;
    if (a < GiB) return `${sign}${(a / MiB).toFixed(1)} MiB`;
    return `${sign}${(a / GiB).toFixed(2)} GiB`;
  }
  const fmtRate = (n) => (isNum(n) ? `${fmtBytes(n)}/s` : UNKNOWN);
  const fmtPct = (r) => (isNum(r) ? `${(r * 100).toFixed(1)} %` : UNKNOWN);
  const fmtCount = (n) => (isNum(n) ? n.toLocaleString('en-US') : UNKNOWN);

  function fmtDuration(s) {
    if (!isNum(s)) return UNKNOWN;
    if (s < 1) return `${Math.round(s * 1000)} ms`;
    if (s < 60) return `${s.toFixed(s < 10 ? 2 : 1)} s`;
    const m = Math.floor(s / 60);
    if (m < 60) return `${m} min ${Math.floor(s % 60)} s`;
    const h = Math.floor(m / 60);
    if (h < 48) return m % 60 ? `${h} h ${m % 60} min` : `${h} h`;
    return h % 24 ? `${Math.floor(h / 24)} d ${h % 24} h` : `${Math.floor(h / 24)} d`;
  }
  const fmtClock = (t) => (isNum(t) ? new Date(t * 1000).toLocaleTimeString('en-GB') : UNKNOWN);
  const fmtDateTime = (t) => (isNum(t) ? new Date(t * 1000).toLocaleString('en-GB') : UNKNOWN);
  const upper = (s) => (typeof s === 'string' ? s.toUpperCase() : UNKNOWN.toUpperCase());

  // Verdict words -> colour tone; unknown words stay neutral.
  const TONE = {
    secure: 'good', stable: 'warn', bloated: 'bad',
    healthy: 'good', tight: 'warn', critical: 'bad',
    fits: 'good', near_limit: 'bad',
    moderate: 'good', greedy: 'bad',
    low: 'good', medium: 'warn', high: 'bad',
  };
  const READY_MARKER = {
    celery_worker_ready: 'Celery worker_ready',
    django_ready: 'Django apps ready',
    mark_ready: 'ramflow.mark_ready()',
    log_django_bootstrap: 'tracker.log_django_bootstrap()',
  };
  const HELD_BY = {
    python_objects: 'Python objects (globals, caches, lists that keep growing)',
    native_buffers: 'native buffers (C extensions, drivers, arrays)',
    unknown: 'not known yet',
  };

  // ---- DOM helpers (text only: report strings never become markup) -----------------

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    setAttrs(node, attrs);
    append(node, children);
    return node;
  }
  function svg(tag, attrs, ...children) {
    const node = document.createElementNS(SVG_NS, tag);
    setAttrs(node, attrs);
    append(node, children);
    return node;
  }
  function setAttrs(node, attrs) {
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === 'class') node.setAttribute('class', v);
      else if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
      else node.setAttribute(k, v === true ? '' : String(v));
    }
  }
  function append(node, children) {
    for (const c of children.flat(Infinity)) {
      if (c === null || c === undefined || c === false) continue;
      node.appendChild(typeof c === 'object' ? c : document.createTextNode(String(c)));
    }
  }
  const chip = (word) => el('span', { class: `chip tone-${TONE[word] || 'neutral'}` }, upper(word));
  const section = (title, ...body) => el('section', { class: 'block' }, el('h2', null, title), ...body);

  function factList(rows) {
    return el('dl', { class: 'facts' }, rows.map(([k, v]) => [el('dt', null, k), el('dd', null, v)]));
  }

  function table(caption, headers, rows, opts) {
    const head = el('tr', null, headers.map((h) => el('th', { scope: 'col', class: h.num ? 'num' : null }, h.label)));
    const body = rows.map((cells) =>
      el('tr', null, cells.map((c, i) => el('td', { class: headers[i].num ? 'num' : null }, c))));
    return el('div', { class: 'table-wrap' },
      el('table', opts, el('caption', { class: 'sr-only' }, caption), el('thead', null, head), el('tbody', null, body)));
  }

  // ---- tab 1: Executive -------------------------------------------------------------

  function card(title, value, verdict, help, detail, extra) {
    return el('article', { class: 'card', 'data-kpi': extra && extra.key },
      el('h3', null, title),
      el('p', { class: 'value' }, value, verdict && verdict !== 'unknown' ? [' ', chip(verdict)] : null),
      detail ? el('p', { class: 'detail' }, detail) : null,
      el('p', { class: 'help' }, help));
  }

  function renderExecutive(r) {
    const ex = r.executive;
    const L = ex.layers, I = ex.integrity, K = ex.kpis;
    const bootNote = L.bootstrap_source === 'first_sample' ? 'first sidecar sample' : L.bootstrap_source === 'agent' ? 'measured by the agent' : 'not measured';
    const pillars = el('div', { class: 'grid pillars' },
      card('Bootstrap', fmtBytes(L.bootstrap_bytes), null,
        'The bare interpreter: what Python costs before any import.', bootNote),
      card('Ecosystem bloat', fmtBytes(L.ecosystem_bytes), null,
        'Frameworks and imports loaded before the worker was ready.',
        L.ready_marker ? `ready at ${READY_MARKER[L.ready_marker] || L.ready_marker}` : 'not ready yet'),
      el('article', { class: `card integrity tone-${TONE[I.status] || 'neutral'}`, 'data-kpi': 'integrity' },
        el('h3', null, 'Integrity'),
        el('p', { class: 'badge' }, upper(I.status)),
        el('p', { class: 'detail' }, `Residual ${fmtBytes(I.residual_bytes)} · leak ${I.leak_level}`),
        el('p', { class: 'detail', title: I.held_by_reason || '' },
          `Held by: ${HELD_BY[I.held_by] || I.held_by}${I.held_by_capture ? ' · measured by an allocation-site capture' : ''}`),
        el('p', { class: 'help' }, `python-ram-flow's rule: ${upper(I.seed_rule.level)} (residual ${fmtBytes(I.seed_rule.residual_bytes)} against a ${fmtBytes(I.seed_rule.peak_bytes)} peak; thresholds ${fmtBytes(I.thresholds.medium_bytes)} / ${fmtBytes(I.thresholds.high_bytes)}).`)),
      card('Business logic', fmtBytes(L.business_bytes), null,
        'What the tasks themselves added on top of the ready worker, up to the peak.',
        `peak ${fmtBytes(L.peak_bytes)} (${L.peak_source.replace(/_/g, ' ')})`));

    const sm = K.safety_margin, fp = K.footprint, as = K.allocation_speed, lp = K.leak_probability;
    const kpis = el('div', { class: 'grid kpis' },
      card('Safety margin', fmtPct(sm.ratio), sm.verdict,
        'Share of the memory limit still free; under 10 % the OOM killer is close.',
        sm.limit_bytes === null ? 'the worker cgroup cannot be read (System context tab)'
          : `${fmtBytes(sm.working_set_bytes)} working set of ${fmtBytes(sm.limit_bytes)} (${sm.limit_source} limit) · non-reclaimable margin ${fmtPct(sm.nonreclaimable_ratio)}${sm.scope === 'processes' ? ' · the workers\' own memory (others share the cgroup)' : ''}`,
        { key: 'safety_margin' }),
      card('Process footprint', fmtBytes(fp.peak_bytes), fp.verdict,
        'The most memory the workers held that the kernel could not reclaim (ended workers included): size the limit from it.',
        `${isNum(fp.limit_ratio) ? `${fmtPct(fp.limit_ratio)} of the limit · ` : ''}${fp.source.replace(/_/g, ' ')}${isNum(fp.cgroup_peak_bytes) ? ` · cgroup peak with page cache ${fmtBytes(fp.cgroup_peak_bytes)}` : ''}`,
        { key: 'footprint' }),
      card('Allocation speed', fmtRate(as.bytes_per_second), as.verdict,
        'How fast memory grows while code runs; at or above the threshold the code is greedy and loads large chunks at once.',
        [as.pid !== null ? `pid ${as.pid}` : null, as.function, `threshold ${fmtRate(as.threshold_bytes_per_second)}`].filter(Boolean).join(' · '),
        { key: 'allocation_speed' }),
      card('Leak probability', fmtPct(lp.probability), lp.level,
        'Probability that the worker leaks, always in its level\'s band (LOW under 35 %, HIGH from 85 %); beside it, the trend test\'s confidence that the memory left after each task rises at all.',
        lp.window_tasks < 10 ? `${lp.window_tasks} tasks so far: the trend test needs 10`
          : `${isNum(lp.rate_bytes_per_task) ? `+${fmtBytes(lp.rate_bytes_per_task)} per task · ` : ''}${fmtRate(lp.rate_bytes_per_second)} · ${lp.window_tasks} tasks · trend confidence ${fmtPct(lp.trend_probability)}${lp.pid !== null ? ` · pid ${lp.pid}` : ''}`,
        { key: 'leak_probability' }));

    const cg = r.system_context.cgroup;
    const unreadable = cg.route === 'unreachable';
    const oom = ex.time_to_oom;
    const rec = ex.recommendation;
    const snippet = el('pre', { class: 'snippet', id: 'resources-snippet' }, rec.resources_snippet || 'unknown: the worker cgroup cannot be read');
    const copyStatus = el('span', { class: 'copy-status', role: 'status', 'aria-live': 'polite' });
    const copyBtn = el('button', { type: 'button', class: 'copy', onclick: () => copySnippet(rec.resources_snippet, snippet, copyStatus) }, 'Copy the resources: block');
    const planning = el('div', { class: 'grid two' },
      el('article', { class: 'card', 'data-kpi': 'time_to_oom' },
        el('h3', null, 'Time to OOM'),
        el('p', { class: 'value' }, isNum(oom.seconds) ? fmtDuration(oom.seconds) : unreadable ? UNKNOWN : 'not growing'),
        el('p', { class: 'detail' }, isNum(oom.growth_bytes_per_second)
          ? `non-reclaimable memory grows ${fmtRate(oom.growth_bytes_per_second)}`
          : unreadable ? 'the worker cgroup cannot be read' : 'non-reclaimable memory is flat'),
        el('p', { class: 'help' }, 'Projection of when the non-reclaimable memory reaches the limit at its current growth.')),
      el('article', { class: 'card', 'data-kpi': 'recommendation' },
        el('h3', null, 'Recommended limit'),
        el('p', { class: 'value' }, rec.limit_quantity || UNKNOWN, el('span', { class: 'sub' }, ` request ${rec.request_quantity || UNKNOWN}`)),
        el('p', { class: 'detail', 'data-reason': 'limit' }, `Limit: ${rec.limit_reason}.`),
        el('p', { class: 'detail', 'data-reason': 'request' }, `Request: ${rec.request_reason}.`),
        rec.recycle_instead ? el('p', { class: 'detail warn', 'data-reason': 'recycle' },
          'The leak is high: no limit fixes a leak. Fix it, or recycle the worker' + (rec.celery && isNum(rec.celery.max_tasks_per_child) ? ' (worker_max_tasks_per_child below).' : ' before it outgrows the headroom.')) : null,
        rec.celery ? el('p', { class: 'detail', 'data-reason': 'celery' }, [
          `Celery worker_max_memory_per_child = ${rec.celery.max_memory_per_child_kib} (KiB): ${rec.celery.max_memory_per_child_reason}`,
          isNum(rec.celery.max_tasks_per_child) ? `worker_max_tasks_per_child = ${rec.celery.max_tasks_per_child}: ${rec.celery.max_tasks_per_child_reason}` : null,
          rec.celery.trap ? `Warning: ${rec.celery.trap_reason}` : null,
        ].filter(Boolean).join(' · ')) : null,
        snippet, rec.resources_snippet ? el('p', null, copyBtn, ' ', copyStatus) : null));

    const imports = ex.imports.length
      ? barList(ex.imports.map((i) => [i.module, i.bytes]))
      : el('p', { class: 'muted' }, 'No import data: the agent was not loaded before the imports.');

    const state = (p) => p.state === 'running' ? 'running'
      : `${p.end.reason === 'oom_killed' ? 'OOM-killed' : 'ended'}${p.end.task ? ` in ${p.end.task}` : ''}`;
    const procs = table('Processes of the worker group (those that ended keep their last verdicts)',
      [{ label: 'PID' }, { label: 'Role' }, { label: 'State' }, { label: 'Worker' }, { label: 'RSS', num: 1 }, { label: 'PSS', num: 1 },
        { label: 'USS', num: 1 }, { label: 'Peak RSS', num: 1 }, { label: 'Business', num: 1 }, { label: 'Residual', num: 1 },
        { label: 'Integrity' }, { label: 'Leak' }],
      ex.processes.map((p) => [String(p.pid), p.role, state(p), p.worker || '—', fmtBytes(p.rss_bytes), fmtBytes(p.pss_bytes),
        fmtBytes(p.uss_bytes), fmtBytes(p.peak_rss_bytes), fmtBytes(p.layers.business_bytes), fmtBytes(p.residual_bytes),
        chip(p.integrity), `${p.leak_level}${isNum(p.leak_probability) ? ` (${fmtPct(p.leak_probability)})` : ''}`]));

    const unread = unreadable
      ? el('p', { class: 'callout tone-warn', 'data-kpi': 'cgroup_unreadable' },
        el('strong', null, 'No pod-level figure: '),
        `the worker container's cgroup cannot be read (${cg.missing}). Per-process figures below are complete. To get the limit, margins, peak and recommendations: ${cg.remedy}.`)
      : null;
    return [
      ...(unread ? [unread] : []),
      section('Three layers and integrity', pillars),
      section('KPI scorecard', kpis),
      section('Planning', planning),
      section('Heaviest imports behind the ecosystem bloat', imports),
      section('Processes', procs),
    ];
  }

  function barList(items) {
    const max = Math.max(1, ...items.map(([, v]) => Math.abs(v)));
    return el('ol', { class: 'bars' }, items.map(([label, value]) =>
      el('li', null,
        el('span', { class: 'bar-label', title: label }, label),
        el('span', { class: 'bar-track' }, el('span', { class: 'bar', style: `width:${(100 * Math.abs(value) / max).toFixed(1)}%` })),
        el('span', { class: 'bar-value' }, fmtBytes(value)))));
  }

  async function copySnippet(text, pre, status) {
    try {
      await navigator.clipboard.writeText(text);
      status.textContent = 'Copied.';
    } catch (_) {
      // file:// pages and old browsers have no async clipboard: select it for Ctrl+C.
      const range = document.createRange();
      range.selectNodeContents(pre);
      const sel = window.getSelection();
      sel.removeAllRanges();
      sel.addRange(range);
      status.textContent = 'Selected: press Ctrl+C to copy.';
    }
  }

  // ---- tab 2: Execution flow --------------------------------------------------------

  const CHART = { w: 960, h: 200, left: 64, right: 12, top: 10, lane: 9 };

  function niceStep(span) {
    const raw = span / 4;
    const p = Math.pow(2, Math.floor(Math.log2(raw / MiB))) * MiB;
    return raw / p > 1.5 ? p * 2 : p;
  }

  function timelineChart(tl) {
    const pts = tl.points;
    if (pts.length < 2) return el('p', { class: 'muted' }, 'Not enough samples yet.');
    const t0 = pts[0][0];
    const t1 = Math.max(pts[pts.length - 1][0], ...tl.spans.map((s) => s.end));
    let lo = Math.min(...pts.map((p) => p[1])), hi = Math.max(...pts.map((p) => p[1]));
    const pad = Math.max((hi - lo) * 0.08, MiB);
    lo = Math.max(0, lo - pad); hi += pad;
    const depth = Math.min(6, 1 + Math.max(0, ...tl.spans.map((s) => s.depth)));
    const lanesTop = CHART.top + CHART.h + 22;
    const height = lanesTop + (tl.spans.length ? depth * (CHART.lane + 2) + 4 : 0);
    const x = (t) => CHART.left + ((t - t0) / Math.max(1e-9, t1 - t0)) * (CHART.w - CHART.left - CHART.right);
    const y = (v) => CHART.top + CHART.h - ((v - lo) / (hi - lo)) * CHART.h;

    const g = svg('svg', { viewBox: `0 0 ${CHART.w} ${height}`, class: 'chart', role: 'img',
      'aria-label': `RSS of pid ${tl.pid} from ${fmtBytes(pts[0][1])} to ${fmtBytes(pts[pts.length - 1][1])}, ${tl.tasks.length} tasks, ${tl.spans.length} tracked calls` });
    const step = niceStep(hi - lo);
    for (let v = Math.ceil(lo / step) * step; v <= hi; v += step) {
      g.appendChild(svg('line', { x1: CHART.left, x2: CHART.w - CHART.right, y1: y(v), y2: y(v), class: 'grid-line' }));
      g.appendChild(svg('text', { x: CHART.left - 6, y: y(v) + 4, class: 'axis', 'text-anchor': 'end' }, fmtBytes(v)));
    }
    tl.tasks.forEach((task) => {
      const end = isNum(task.end) ? task.end : t1;
      if (end < t0) return;
      const a = x(Math.max(task.start, t0));
      g.appendChild(svg('rect', { x: a, y: CHART.top, width: Math.max(1, x(end) - a), height: CHART.h,
        class: `task-band outcome-${task.outcome}` },
      svg('title', null, `${task.name} ${task.task_id || ''} · ${task.outcome} · ${fmtClock(task.start)}–${isNum(task.end) ? fmtClock(task.end) : 'running'} · residual ${fmtBytes(task.residual_bytes)}`)));
      g.appendChild(svg('line', { x1: a, x2: a, y1: CHART.top, y2: CHART.top + CHART.h, class: 'task-start' }));
    });
    g.appendChild(svg('polyline', { class: 'rss-line', points: pts.map((p) => `${x(p[0]).toFixed(1)},${y(p[1]).toFixed(1)}`).join(' ') }));
    for (let i = 0; i <= 4; i++) {
      const t = t0 + (i / 4) * (t1 - t0);
      const anchor = i === 0 ? 'start' : i === 4 ? 'end' : 'middle';
      g.appendChild(svg('text', { x: x(t), y: CHART.top + CHART.h + 16, class: 'axis', 'text-anchor': anchor }, fmtClock(t)));
    }
    if (tl.spans.length) g.appendChild(svg('text', { x: CHART.left - 6, y: lanesTop + CHART.lane, class: 'axis', 'text-anchor': 'end' }, 'calls'));
    // Shade by what each call kept, so the culprit's calls stand out from their parents.
    const maxKept = Math.max(1, ...tl.spans.map((s) => s.net_self_bytes));
    tl.spans.forEach((s) => {
      if (s.end < t0 || s.depth >= depth) return;
      const a = x(Math.max(s.start, t0));
      const kept = s.net_self_bytes > 0 ? s.net_self_bytes / maxKept : 0;
      g.appendChild(svg('rect', { x: a, y: lanesTop + s.depth * (CHART.lane + 2), width: Math.max(1.5, x(s.end) - a), height: CHART.lane,
        class: `span kind-${s.kind}${kept > 0 ? ' retains' : ''}`, 'fill-opacity': kept > 0 ? (0.2 + 0.8 * kept).toFixed(2) : null },
      svg('title', null, `${s.function} (${s.kind}) · ${fmtDuration(s.end - s.start)} · gross ${fmtBytes(s.gross_bytes)} · net self ${fmtBytes(s.net_self_bytes)}`)));
    });
    return g;
  }

  function renderTimeline(tl) {
    const pts = tl.points;
    const last = pts.length ? pts[pts.length - 1][1] : null;
    const first = pts.length ? pts[0][1] : null;
    return el('figure', { class: 'timeline', 'data-pid': tl.pid },
      el('figcaption', null,
        el('strong', null, `${tl.worker || 'pid ' + tl.pid}`), ` · pid ${tl.pid} · ${tl.role} · RSS now ${fmtBytes(last)}`,
        isNum(first) && isNum(last) ? ` (${last >= first ? '+' : ''}${fmtBytes(last - first)} over the window)` : '',
        ` · ${tl.tasks.length} tasks · ${tl.spans.length} tracked calls`),
      el('div', { class: 'chart-wrap' }, timelineChart(tl)));
  }

  // The definitions and their invariants: docs/analysis.md, "Net self".
  const NET_SELF_COLUMNS = [
    { key: 'function', label: 'Function' },
    { key: 'kind', label: 'Kind' },
    { key: 'calls', label: 'Calls', num: 1, sort: true, fmt: fmtCount },
    { key: 'measured_calls', label: 'Measured', num: 1, sort: true, fmt: fmtCount,
      title: 'Calls whose memory was read; a quiet function is measured about one call in eight' },
    { key: 'net_self_bytes', label: 'Kept (net self)', num: 1, sort: true, fmt: fmtBytes,
      title: 'Growth of its own code still resident when it returned, tracked children excluded' },
    { key: 'released_bytes', label: 'Released', num: 1, sort: true, fmt: fmtBytes,
      title: 'RSS its own code dropped below the call\'s start: memory it did not add itself' },
    { key: 'gross_bytes', label: 'Own rise', num: 1, sort: true, fmt: fmtBytes,
      title: 'Highest growth of its own code during the call = kept + freed' },
    { key: 'freed_bytes', label: 'Freed', num: 1, sort: true, fmt: fmtBytes,
      title: 'Own rise given back before returning (never more than the own rise)' },
    { key: 'duration_seconds', label: 'Duration', num: 1, sort: true, fmt: fmtDuration },
    { key: 'peak_bytes', label: 'Largest own rise', num: 1, sort: true, fmt: fmtBytes },
  ];
  const netSort = { key: 'net_self_bytes' };

  // The line that makes the table add up: kept - released over every row,
  // plus what happened outside tracked calls, is the RSS growth since ready.
  function reconciliationRows(ns) {
    const rc = ns.reconciliation;
    if (!rc) return [];
    const since = ns.since === 'start' ? 'since the agent started' : 'since ready';
    const line = (label, value, title) => el('tr', { class: 'reconcile' },
      el('th', { scope: 'row', colspan: 4, title }, label),
      el('td', { class: 'num' }, fmtBytes(value)),
      el('td', { colspan: NET_SELF_COLUMNS.length - 5 }));
    return [
      line('All rows: kept − released', rc.tracked_net_bytes, 'The sum over the rows above'),
      line('Outside tracked calls', rc.outside_tracked_bytes,
        'Untracked code, unmeasured calls of quiet functions, and changes after the last report of calls'),
      line(`RSS growth ${since} (${rc.processes} process${rc.processes === 1 ? '' : 'es'})`, rc.growth_since_ready_bytes,
        'RSS now minus RSS at ready, over the processes whose agent sent its table'),
    ];
  }

  function netSelfTable(ns) {
    const rows = ns.rows.slice().sort((a, b) => (b[netSort.key] - a[netSort.key]) || a.function.localeCompare(b.function));
    const head = el('tr', null, NET_SELF_COLUMNS.map((c) => {
      if (!c.sort) return el('th', { scope: 'col' }, c.label);
      const active = netSort.key === c.key;
      return el('th', { scope: 'col', class: 'num', 'aria-sort': active ? 'descending' : 'none', title: c.title || null },
        el('button', { type: 'button', class: 'sort', 'data-sort': c.key,
          onclick: () => { netSort.key = c.key; rerender(); focusSort(c.key); } },
        c.label, active ? ' ▼' : ''));
    }));
    const body = rows.map((row) => el('tr', null, NET_SELF_COLUMNS.map((c) =>
      el('td', { class: c.num ? 'num' : null }, c.fmt ? c.fmt(row[c.key]) : row[c.key],
        c.key === 'function' && row.approximate ? el('abbr', { title: 'approximate: overlapping calls shared the RSS' }, ' ≈') : null))));
    return el('div', { class: 'table-wrap' },
      el('table', { id: 'net-self' }, el('caption', { class: 'sr-only' }, 'Net self per tracked function, sortable'),
        el('thead', null, head), el('tbody', null, body), el('tfoot', null, reconciliationRows(ns))));
  }
  function focusSort(key) {
    const b = document.querySelector(`button.sort[data-sort="${key}"]`);
    if (b) b.focus();
  }

  // Allocation-site captures (docs/allocation-sites.md): the lines that grew in a
  // bounded tracemalloc window, with their tracebacks.
  function frameText(f) {
    return `${f.file}:${f.line}${f.function ? ` ${f.function}` : ''}`;
  }
  function captureSites(c) {
    const rows = c.sites.map((site) => el('tr', null,
      el('td', { class: 'num' }, fmtBytes(site.bytes)),
      el('td', { class: 'num' }, fmtCount(site.blocks)),
      el('td', null, el('code', null, `${site.file}:${site.line}`)),
      el('td', null, site.function || UNKNOWN),
      el('td', null, el('details', null, el('summary', null, el('code', null, site.code)),
        el('ol', { class: 'traceback' }, site.traceback.map((f) => el('li', null, el('code', null, frameText(f)))))))));
    return el('div', { class: 'table-wrap' },
      el('table', { class: 'sites' }, el('caption', { class: 'sr-only' }, 'Allocation sites that grew, largest first'),
        el('thead', null, el('tr', null, el('th', { scope: 'col', class: 'num' }, 'Grew'),
          el('th', { scope: 'col', class: 'num' }, 'Blocks'), el('th', { scope: 'col' }, 'Line'),
          el('th', { scope: 'col' }, 'Function'), el('th', { scope: 'col' }, 'Code and traceback'))),
        el('tbody', null, rows)));
  }
  function renderCapture(c) {
    const w = c.window;
    const g = c.growth;
    const head = el('p', { title: `reason: ${c.reason}` }, el('strong', null, `${c.worker || 'pid ' + c.pid}`),
      ` · pid ${c.pid} · ${c.why} · `, chip(c.status),
      isNum(w.seconds) ? ` · ${fmtCount(w.tasks)} tasks in ${fmtDuration(w.seconds)}, ended by ${w.ended_by}` : '',
      ` · ${w.frames} frames · asked ${fmtDateTime(c.requested_at)}`);
    const notes = [];
    if (c.error) notes.push(el('p', { class: 'note' }, c.error));
    if (w.concurrent) notes.push(el('p', { class: 'note' }, 'Tasks ran concurrently in this process: the sites are those of every task in the window.'));
    if (isNum(c.oom_killed_at)) notes.push(el('p', { class: 'note' }, `The process was OOM-killed at ${fmtDateTime(c.oom_killed_at)}: this is what grew before it.`));
    if (g) {
      notes.push(el('p', { class: 'growth' }, `Growth: RssAnon ${fmtBytes(g.process_bytes)} · Python objects ${fmtBytes(g.python_bytes)} · native ${fmtBytes(g.native_bytes)}`,
        isNum(g.native_share) ? ` (${fmtPct(g.native_share)})` : ''));
      if (g.verdict === 'native') {
        notes.push(el('p', { class: 'note' }, 'Most of the growth is native (C extensions, drivers, ctypes): the lines below hold only its Python part.'));
      }
    }
    const body = c.sites.length ? captureSites(c)
      : c.status === 'done' ? el('p', { class: 'muted' }, 'No allocation grew during the window.') : null;
    return el('article', { class: 'capture', 'data-capture': c.id }, head, notes, body);
  }

  function renderFlow(r) {
    const fl = r.execution_flow;
    const legend = el('p', { class: 'legend' },
      el('span', { class: 'key key-rss' }), ' RSS ',
      el('span', { class: 'key key-task' }), ' task ',
      el('span', { class: 'key key-span' }), ' tracked call ',
      el('span', { class: 'key key-retains' }), ' call that retained memory. ',
      'Staircases mean memory accumulates across tasks; a spike that drops back is heavy but clean. ',
      `Last ${fl.bounds.points} samples, ${fl.bounds.tasks} tasks and ${fl.bounds.spans} calls per process.`);
    const timelines = fl.timelines.length ? fl.timelines.map(renderTimeline)
      : el('p', { class: 'muted' }, 'No process seen yet.');
    const note = fl.net_self.approximate
      ? el('p', { class: 'note' }, 'This pool runs tasks concurrently in one process: net self is approximate.') : null;
    return [
      section('Memory timeline per worker', legend, timelines),
      section(`Net self: what each tracked function keeps for itself, ${fl.net_self.since === 'start' ? 'since the agent started' : 'since ready'}`, note,
        fl.net_self.rows.length ? netSelfTable(fl.net_self)
          : el('p', { class: 'muted' }, 'No tracked calls yet: decorate functions with @ramflow.track.')),
      section('Allocation sites: the lines that grew',
        (fl.allocation_sites || []).length ? el('div', { id: 'allocation-sites' }, fl.allocation_sites.map(renderCapture))
          : el('p', { class: 'muted' }, 'No capture yet: ramflowd captures a process when its leak turns high or its pod nears an OOM kill; ramflowd capture --pid N asks for one.')),
    ];
  }

  // ---- tab 3: System context --------------------------------------------------------

  function renderSystem(r) {
    const sc = r.system_context, L = r.executive.layers;
    const ex = sc.expansion, share = sc.ecosystem_share;
    const peak = ex.peak_bytes;
    const w = (v) => (isNum(v) && peak > 0 ? `width:${Math.min(100, 100 * v / peak).toFixed(1)}%` : 'width:0');
    const journey = el('div', { class: 'journey', 'data-kpi': 'expansion' },
      el('div', { class: 'journey-row' }, el('span', { class: 'bar-label', title: 'Infrastructure baseline' }, 'Infrastructure baseline'),
        el('span', { class: 'bar-track' }, el('span', { class: 'bar infra', style: w(ex.infrastructure_bytes) })),
        el('span', { class: 'bar-value' }, fmtBytes(ex.infrastructure_bytes))),
      el('div', { class: 'journey-row' }, el('span', { class: 'bar-label', title: 'Peak' }, 'Peak'),
        el('span', { class: 'bar-track' }, el('span', { class: 'bar', style: w(peak) })),
        el('span', { class: 'bar-value' }, fmtBytes(peak))),
      el('p', { class: 'value' }, isNum(ex.factor) ? `×${ex.factor.toFixed(1)}` : '× unknown',
        el('span', { class: 'sub' }, ' expansion factor: how far the business logic stretched the ready worker')));

    const parts = [['Bootstrap', L.bootstrap_bytes, 'boot'], ['Ecosystem', L.ecosystem_bytes, 'eco'], ['Business logic', L.business_bytes, 'biz']];
    const stack = el('div', { class: 'stack', role: 'img',
      'aria-label': parts.map(([n, v]) => `${n} ${fmtBytes(v)}`).join(', ') },
    parts.map(([n, v, c]) => el('span', { class: `seg ${c}`, style: w(v), title: `${n} ${fmtBytes(v)}` })));
    const stackLegend = el('p', { class: 'legend' }, parts.map(([n, v, c]) =>
      [el('span', { class: `key seg ${c}` }), ` ${n} ${fmtBytes(v)} (${isNum(v) && peak > 0 ? fmtPct(v / peak) : UNKNOWN})  `]));
    const verdict = !isNum(share.ratio)
      ? el('p', { class: 'callout tone-neutral', 'data-kpi': 'reality_check' },
        'The infrastructure share is unknown: bootstrap and ecosystem were not measured (load the agent at interpreter start to see them).')
      : share.reality_check
      ? el('p', { class: 'callout tone-warn', 'data-kpi': 'reality_check' },
        el('strong', null, 'Reality check: '),
        `infrastructure is ${fmtPct(share.ratio)} of the peak (≥ ${fmtPct(share.threshold_ratio)}). Trim heavy imports and unused INSTALLED_APPS before tuning loops.`)
      : el('p', { class: 'callout tone-good', 'data-kpi': 'reality_check' },
        `Infrastructure is ${fmtPct(share.ratio)} of the peak (under ${fmtPct(share.threshold_ratio)}): the business logic drives the footprint; the Execution flow tab shows where.`);

    const cg = sc.cgroup, h = sc.host, p = sc.pressure;
    const facts = el('div', { class: 'grid two' },
      el('div', null, el('h3', null, 'Container (cgroup)'), factList([
        ['cgroup version', cg.version], ['path', cg.path],
        // Reports of schema 1 written before the route was added have none.
        ['read through', !cg.route ? UNKNOWN : cg.route === 'unreachable' ? `nothing: ${cg.missing}` : `${cg.route.replace(/_/g, ' ')} (${cg.route_dir})`],
        ['limit', cg.limit_bytes === null ? UNKNOWN : `${fmtBytes(cg.limit_bytes)} (source: ${cg.limit_source})`],
        ['declared limit (RAMFLOW_MEMORY_LIMIT_BYTES)', isNum(cg.declared_limit_bytes)
          ? `${fmtBytes(cg.declared_limit_bytes)} (${cg.declared_limit_check === 'unchecked' ? 'not cross-checked: shown only' : cg.declared_limit_check})` : 'not set'],
        ['usage', fmtBytes(cg.usage_bytes)], ['working set', fmtBytes(cg.working_set_bytes)],
        ['non-reclaimable', fmtBytes(cg.nonreclaimable_bytes)], ['peak', fmtBytes(cg.peak_bytes)],
        ['memory pressure (PSI avg10)', p.scope === 'unavailable' ? 'unavailable'
          : `some ${fmtPct(p.some_avg10_ratio)} · full ${fmtPct(p.full_avg10_ratio)} (${p.scope})`],
      ].concat(p.note ? [['pressure note', p.note]] : []))),
      el('div', null, el('h3', null, 'Host and sidecar'), factList([
        ['host', h.hostname], ['kernel', h.kernel], ['CPUs', String(h.cpus)],
        ['memory', `${fmtBytes(h.mem_available_bytes)} available of ${fmtBytes(h.mem_total_bytes)}`],
        ['eBPF OOM watcher', sc.ebpf.reason ? `${sc.ebpf.state} (${sc.ebpf.reason})` : sc.ebpf.state],
        ['agents connected', String(sc.agent.connected_processes)],
        ['agent events', `${fmtCount(sc.agent.events_total)} accepted · ${fmtCount(sc.agent.rejected_total)} rejected · ${fmtCount(sc.agent.dropped_total)} dropped`],
      ])));

    const ooms = sc.oom_kills;
    const oomBody = ooms.recent.length
      ? table('Recent OOM kills', [{ label: 'When' }, { label: 'PID' }, { label: 'Command' }, { label: 'Task' }, { label: 'Anon RSS', num: 1 }, { label: 'Seen by' }],
        ooms.recent.map((k) => [fmtDateTime(k.time), String(k.pid), k.comm, k.task || UNKNOWN, fmtBytes(k.rss_at_death_bytes), k.source]))
      : el('p', { class: 'muted' }, 'No OOM kill seen in this cgroup.');

    const config = table('Configuration in force', [{ label: 'Setting' }, { label: 'Value' }, { label: 'Source' }],
      sc.configuration.map((c) => [el('code', null, c.key), el('code', null, c.value), c.source]));

    return [
      section('Memory expansion journey', journey),
      section('Ecosystem share of the peak', stack, stackLegend, verdict),
      section('Host and cgroup facts', facts),
      section(`OOM kills (${ooms.total})`, oomBody),
      section('Configuration in force', config),
    ];
  }

  // ---- tabs: ARIA tab pattern, arrow keys, #hash remembers the tab -----------------

  const TABS = ['executive', 'flow', 'system'];
  function selectTab(name, focus) {
    TABS.forEach((t) => {
      const tab = document.getElementById(`tab-${t}`);
      const on = t === name;
      tab.setAttribute('aria-selected', String(on));
      tab.tabIndex = on ? 0 : -1;
      document.getElementById(`panel-${t}`).hidden = !on;
      if (on && focus) tab.focus();
    });
    if (location.hash !== `#${name}`) history.replaceState(null, '', `#${name}`);
  }
  function initTabs() {
    TABS.forEach((t, i) => {
      const tab = document.getElementById(`tab-${t}`);
      tab.addEventListener('click', () => selectTab(t, false));
      tab.addEventListener('keydown', (e) => {
        const moves = { ArrowRight: i + 1, ArrowLeft: i - 1, Home: 0, End: TABS.length - 1 };
        if (!(e.key in moves)) return;
        e.preventDefault();
        selectTab(TABS[(moves[e.key] + TABS.length) % TABS.length], true);
      });
    });
    const fromHash = location.hash.slice(1);
    selectTab(TABS.includes(fromHash) ? fromHash : 'executive', false);
  }

  // ---- loading: embedded JSON or live polling --------------------------------------

  let current = null;

  function problems(r) {
    if (!r || typeof r !== 'object') return 'the report is not a JSON object';
    if (r.schema_version > SCHEMA_VERSION) {
      return `this report was written by a newer ramflow (schema ${r.schema_version}); open it with a ramflow that reads schema ${r.schema_version}`;
    }
    if (r.schema_version !== SCHEMA_VERSION) return `unknown schema_version ${JSON.stringify(r.schema_version)} (expected ${SCHEMA_VERSION})`;
    const missing = ['executive', 'execution_flow', 'system_context'].filter((k) => !r[k] || typeof r[k] !== 'object');
    return missing.length ? `the report lacks the section(s) ${missing.join(', ')}` : null;
  }

  function showStatus(text, tone) {
    const s = document.getElementById('status');
    s.textContent = text;
    s.className = `status tone-${tone}`;
  }

  function rerender() {
    const r = current;
    const w = r.executive.worker;
    document.getElementById('scope').textContent =
      `${w.name || 'pid ' + w.main_pid} · cgroup ${r.cgroup} · ${r.env} · report of ${fmtDateTime(r.generated_at_unix)} · ramflow ${r.ramflow_version}`;
    const views = { executive: renderExecutive, flow: renderFlow, system: renderSystem };
    for (const [name, render] of Object.entries(views)) {
      const panel = document.getElementById(`panel-${name}`);
      panel.replaceChildren(...[render(r)].flat());
    }
  }

  function accept(r) {
    const bad = problems(r);
    if (bad) {
      showStatus(`Cannot show this report: ${bad}.`, 'bad');
      return false;
    }
    current = r;
    try {
      rerender();
    } catch (e) {
      showStatus(`Cannot show this report: a field does not match docs/report.md (${e.message}).`, 'bad');
      return false;
    }
    return true;
  }

  async function poll() {
    let delay = 5;
    try {
      const res = await fetch('api/v1/report', { cache: 'no-store', headers: { Accept: 'application/json' } });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      const r = await res.json();
      if (accept(r)) showStatus(`Live · updated ${new Date().toLocaleTimeString('en-GB')}`, 'good');
      if (r && isNum(r.refresh_seconds) && r.refresh_seconds > 0) delay = r.refresh_seconds;
    } catch (e) {
      showStatus(`Sidecar unreachable (${e.message}) — retrying`, 'warn');
    }
    setTimeout(function next() {
      if (document.hidden) document.addEventListener('visibilitychange', poll, { once: true });
      else poll();
    }, delay * 1000);
  }

  function start() {
    initTabs();
    const embedded = document.getElementById('ramflow-report');
    if (!embedded) { poll(); return; }
    let r;
    try {
      r = JSON.parse(embedded.textContent);
    } catch (e) {
      showStatus(`The embedded report is not valid JSON (${e.message}); write it again with ramflowd report.`, 'bad');
      return;
    }
    if (accept(r)) showStatus(`Saved report (${r.source})`, 'neutral');
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
})();
