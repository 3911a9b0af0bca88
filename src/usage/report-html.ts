/**
 * The usage report as one self-contained HTML file: no request to any other host, charts drawn
 * here as SVG (each with its numbers as a table beside it), the latest requests as a table that
 * filters in the page. Everything from the records is escaped.
 */
import type { ReportData, ReportDimension, SeriesByDay } from './report-data.js';

const COLORS = [
  '#4e79a7',
  '#f28e2b',
  '#e15759',
  '#76b7b2',
  '#59a14f',
  '#edc948',
  '#b07aa1',
  '#ff9da7',
  '#9c755f',
  '#bab0ac',
  '#86bcb6',
];

function escapeHtml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

const usd = (value: number) => `$${value.toFixed(value >= 100 ? 0 : 4)}`;

export function renderReportHtml(data: ReportData, title = 'aifd usage'): string {
  const period = `${data.since.slice(0, 10)} – ${data.until.slice(0, 10)}`;
  const body =
    data.totals.requests === 0
      ? `<p class="empty" id="empty">No requests were recorded in this period (${escapeHtml(period)}).</p>${budgetsSection(data)}`
      : [totalsSection(data), budgetsSection(data), ...charts(data), daysSection(data), latestSection(data)].join('\n');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)} ${escapeHtml(period)}</title>
<style>
body { font: 14px/1.4 system-ui, sans-serif; margin: 24px; color: #222; }
h1 { font-size: 20px; } h2 { font-size: 16px; margin-top: 28px; }
table { border-collapse: collapse; margin: 8px 0; }
th, td { border: 1px solid #ddd; padding: 3px 8px; text-align: right; }
th:first-child, td:first-child { text-align: left; }
.chart { display: flex; gap: 24px; flex-wrap: wrap; align-items: flex-start; }
.legend span { display: inline-block; width: 10px; height: 10px; margin-right: 4px; }
.filters label { margin-right: 12px; }
.empty { font-size: 16px; color: #666; }
</style>
</head>
<body>
<h1>${escapeHtml(title)}</h1>
<p>${escapeHtml(period)}${data.skipped > 0 ? ` · ${data.skipped} line(s) that were not records skipped` : ''}</p>
${body}
</body>
</html>
`;
}

function totalsSection(data: ReportData): string {
  const { totals } = data;
  const unpriced =
    totals.unpricedRequests > 0 ? ` (${totals.unpricedRequests} request(s) without a price: at least)` : '';
  return `<table id="totals"><tr><th>requests</th><th>errors</th><th>tokens</th><th>spend</th></tr>
<tr><td>${totals.requests}</td><td>${totals.errors}</td><td>${totals.tokens}</td><td>${usd(totals.costUsd)}${unpriced}</td></tr></table>`;
}

/** Spend and tokens per day stacked by `--by`, and spend by model (by user when `--by model`). */
function charts(data: ReportData): string[] {
  const series = { user: data.users, model: data.models, key: data.keys };
  const chart = (what: 'Spend' | 'Tokens', by: ReportDimension) =>
    what === 'Spend'
      ? chartSection(`spend-${by}s`, `Spend per day, by ${by}`, data.days, series[by], 'costUsd', usd)
      : chartSection(`tokens-${by}s`, `Tokens per day, by ${by}`, data.days, series[by], 'tokens', String);
  return [chart('Spend', data.by), chart('Spend', data.by === 'model' ? 'user' : 'model'), chart('Tokens', data.by)];
}

/** Each user budget, its period, and how much of it is used (a meter, and the numbers). */
function budgetsSection(data: ReportData): string {
  if (!data.budgets) return '';
  const rows = data.budgets
    .map(
      (budget) =>
        `<tr data-user="${escapeHtml(budget.user)}"><td>${escapeHtml(budget.user)}</td><td>${budget.period}</td><td>${escapeHtml(budget.startsAt.slice(0, 10))} – ${escapeHtml(budget.endsAt.slice(0, 10))}</td><td>${usd(budget.limitUsd)}</td><td>${usd(budget.spentUsd)}</td><td>${(100 * budget.share).toFixed(1)} %</td><td><meter min="0" max="1" low="0.8" high="0.95" optimum="0" value="${Math.min(1, budget.share).toFixed(4)}">${(100 * budget.share).toFixed(1)} %</meter></td></tr>`,
    )
    .join('\n');
  return `<h2>Budgets</h2>
<p>Each user budget, used in its current period as of ${escapeHtml(data.until.slice(0, 16).replace('T', ' '))} UTC (role budgets are not shown: records do not name roles).</p>
<table id="budgets"><tr><th>user</th><th>period</th><th>from – to</th><th>budget</th><th>spent</th><th>used</th><th></th></tr>
${rows}</table>`;
}

/** A stacked bar a day (SVG) and the same numbers as a table. */
function chartSection(
  id: string,
  heading: string,
  days: string[],
  series: SeriesByDay[],
  field: 'costUsd' | 'tokens',
  format: (value: number) => string,
): string {
  const width = 40;
  const gap = 12;
  const height = 200;
  const totals = days.map((_, i) => series.reduce((sum, one) => sum + one[field][i]!, 0));
  const most = Math.max(...totals, 0) || 1;
  const bars = days
    .map((day, i) => {
      let y = height;
      const segments = series
        .map((one, s) => {
          const value = one[field][i]!;
          if (value <= 0) return '';
          const h = Math.max(1, (value / most) * height);
          y -= h;
          return `<rect class="bar" x="${i * (width + gap)}" y="${y.toFixed(1)}" width="${width}" height="${h.toFixed(1)}" fill="${COLORS[s % COLORS.length]}" data-series="${escapeHtml(one.name)}" data-day="${day}" data-value="${value}"><title>${escapeHtml(`${one.name} ${day}: ${format(value)}`)}</title></rect>`;
        })
        .join('');
      return `${segments}<text x="${i * (width + gap) + width / 2}" y="${height + 14}" font-size="10" text-anchor="middle">${day.slice(5)}</text>`;
    })
    .join('');
  const svg = `<svg role="img" aria-labelledby="${id}-title" width="${Math.max(1, days.length) * (width + gap)}" height="${height + 20}" viewBox="0 0 ${Math.max(1, days.length) * (width + gap)} ${height + 20}"><title id="${id}-title">${escapeHtml(heading)}</title>${bars}</svg>`;
  const legend = series
    .map((one, s) => `<div><span style="background:${COLORS[s % COLORS.length]}"></span>${escapeHtml(one.name)}</div>`)
    .join('');
  const rows = series
    .map(
      (one) =>
        `<tr><td>${escapeHtml(one.name)}</td>${one[field].map((value) => `<td>${format(value)}</td>`).join('')}<td>${format(one[field].reduce((sum, value) => sum + value, 0))}</td></tr>`,
    )
    .join('\n');
  return `<h2>${escapeHtml(heading)}</h2>
<div class="chart" id="${id}">${svg}<div class="legend">${legend}</div></div>
<table id="${id}-table"><tr><th></th>${days.map((day) => `<th>${day}</th>`).join('')}<th>total</th></tr>
${rows}</table>`;
}

function daysSection(data: ReportData): string {
  const rows = data.perDay
    .map((day) => {
      const codes = Object.entries(day.errorsByCode)
        .sort((a, b) => b[1] - a[1])
        .map(([code, count]) => `${escapeHtml(code)} ${count}`)
        .join(', ');
      const rate = day.requests > 0 ? ((100 * day.errors) / day.requests).toFixed(1) : '0.0';
      return `<tr><td>${day.day}</td><td>${day.requests}</td><td>${day.errors}</td><td>${rate} %</td><td>${codes || '-'}</td><td>${day.p50Ms.toFixed(0)}</td><td>${day.p99Ms.toFixed(0)}</td><td>${day.ttfbP50Ms === null ? '-' : day.ttfbP50Ms.toFixed(0)}</td></tr>`;
    })
    .join('\n');
  return `<h2>Requests, errors and latency per day</h2>
<table id="days"><tr><th>day</th><th>requests</th><th>errors</th><th>error rate</th><th>errors by code</th><th>p50 ms</th><th>p99 ms</th><th>first byte p50 ms</th></tr>
${rows}</table>`;
}

function latestSection(data: ReportData): string {
  const options = (values: string[]) =>
    [
      '<option value="">all</option>',
      ...[...new Set(values)].sort().map((v) => `<option>${escapeHtml(v)}</option>`),
    ].join('');
  const rows = data.latest
    .map(
      (request) =>
        `<tr data-user="${escapeHtml(request.user)}" data-model="${escapeHtml(request.model)}" data-status="${request.status ?? ''}" data-path="${escapeHtml(request.path)}"><td>${escapeHtml(request.ts)}</td><td>${escapeHtml(request.user)}</td><td>${escapeHtml(request.model)}</td><td>${request.status ?? '-'}</td><td>${escapeHtml(request.path)}</td><td>${request.tokens}</td><td>${request.costUsd === null ? '-' : usd(request.costUsd)}</td><td>${request.durationMs.toFixed(0)}</td><td>${escapeHtml(request.error ?? '')}</td></tr>`,
    )
    .join('\n');
  return `<h2>Latest requests</h2>
<div class="filters">
<label>user <select id="filter-user">${options(data.latest.map((r) => r.user))}</select></label>
<label>model <select id="filter-model">${options(data.latest.map((r) => r.model))}</select></label>
<label>status <select id="filter-status"><option value="">all</option><option>2xx</option><option>4xx</option><option>5xx</option></select></label>
<label>path <input id="filter-path" placeholder="contains"></label>
<span id="shown"></span>
</div>
<table id="latest"><thead><tr><th>time</th><th>user</th><th>model</th><th>status</th><th>path</th><th>tokens</th><th>cost</th><th>ms</th><th>error</th></tr></thead>
<tbody>
${rows}
</tbody></table>
<script>
(function () {
  var ids = ['filter-user', 'filter-model', 'filter-status', 'filter-path'];
  function apply() {
    var user = document.getElementById('filter-user').value;
    var model = document.getElementById('filter-model').value;
    var status = document.getElementById('filter-status').value;
    var path = document.getElementById('filter-path').value;
    var shown = 0;
    document.querySelectorAll('#latest tbody tr').forEach(function (row) {
      var d = row.dataset;
      var ok = (!user || d.user === user) && (!model || d.model === model) &&
        (!status || (d.status || '').charAt(0) === status.charAt(0)) && (!path || d.path.indexOf(path) >= 0);
      row.hidden = !ok;
      if (ok) shown++;
    });
    document.getElementById('shown').textContent = shown + ' shown';
  }
  ids.forEach(function (id) { document.getElementById(id).addEventListener('input', apply); });
  apply();
})();
</script>`;
}
