// The operator files in docker/observability against a running gateway: every metric the
// Grafana dashboard and the alert rules name is declared by GET /metrics (a `# TYPE` line, which
// the gateway writes for every family even before its first sample), and every label they
// select or aggregate by exists on its metric (on a sample, or in the README's Metrics table).
// A renamed metric or label fails here, not as a blank panel or an alert that can never fire.
// The rules' own logic is tested by promtool (tests/observability/check_rules.sh).

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before } from 'node:test';

import { CLIENT_KEY, startStack, testWithLogs } from './harness.mjs';

const read = (relative) => readFileSync(new URL(relative, import.meta.url), 'utf8');

const FILES = ['grafana-dashboard.json', 'alerts.yml'].map((name) => ({
  name,
  text: read(`../../docker/observability/${name}`),
}));
const README = read('../../README.md');

/** What the dashboard and the rules must cover at least: the families the gateway exposes. */
const REQUIRED = [
  'videogate_http_requests_total',
  'videogate_http_request_duration_seconds',
  'videogate_upstream_requests_total',
  'videogate_upstream_request_duration_seconds',
  'videogate_upstream_keys',
  'videogate_jobs_created_total',
  'videogate_jobs_completed_total',
  'videogate_jobs_failed_total',
  'videogate_jobs_in_flight',
  'videogate_job_reads_total',
  'videogate_webhook_deliveries_total',
  'videogate_webhook_backlog',
  'videogate_store_errors_total',
  'videogate_config_reloads_total',
  'videogate_config_last_reload_successful',
  'videogate_content_bytes_total',
];

/** Labels Prometheus adds to every series at scrape time, not the gateway. */
const TARGET_LABELS = new Set(['instance', 'job', '__name__']);

const HISTOGRAM_SUFFIX = /_(bucket|sum|count)$/;
const LABEL_PAIR = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

/** Every metric name a file mentions, in expressions and in prose alike. */
function metricNames(text) {
  return new Set(text.match(/videogate_[a-z0-9_]+/g) ?? []);
}

/**
 * The label names a file selects on (`name{label=...}`) or groups by
 * (`by (a, b) (name` or `by (a, b) (fn(name`), as [metric, label, file] triples.
 */
function labelUses(file) {
  const uses = [];
  for (const m of file.text.matchAll(/(videogate_[a-z0-9_]+)\{([^}]*)\}/g))
    for (const l of m[2].matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)/g)) uses.push([m[1], l[1], file.name]);
  for (const m of file.text.matchAll(/\b(?:by|without)\s*\(([^)]*)\)\s*\(\s*(?:[a-z_]+\s*\(\s*)?(videogate_[a-z0-9_]+)/g))
    for (const l of m[1].split(',').map((s) => s.trim()).filter(Boolean)) uses.push([m[2], l, file.name]);
  return uses;
}

/** The exposition format: each family's type, and the label names seen on its samples. */
function parseMetrics(text) {
  const types = new Map();
  const sampleLines = [];
  for (const line of text.split('\n')) {
    const type = /^# TYPE (\S+) (\S+)\s*$/.exec(line);
    if (type) types.set(type[1], type[2]);
    else if (line && !line.startsWith('#')) sampleLines.push(line);
  }
  const labels = new Map();
  for (const line of sampleLines) {
    const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s/.exec(line);
    if (!sample) continue;
    const family = familyOf(sample[1], types);
    if (!labels.has(family)) labels.set(family, new Set());
    for (const [, name] of (sample[2] ?? '').matchAll(LABEL_PAIR)) if (name !== 'le') labels.get(family).add(name);
  }
  return { types, labels };
}

/** `x_bucket`, `x_sum` and `x_count` belong to `x` when `x` is a histogram (or summary). */
function familyOf(name, types) {
  if (types.has(name)) return name;
  const base = name.replace(HISTOGRAM_SUFFIX, '');
  return base !== name && ['histogram', 'summary'].includes(types.get(base)) ? base : name;
}

/** The labels README.md's "## Metrics" table documents for each metric. */
function documentedLabels(readme) {
  const start = readme.indexOf('\n## Metrics');
  assert.ok(start >= 0, 'README.md has a "## Metrics" section');
  const end = readme.indexOf('\n## ', start + 1);
  const section = readme.slice(start, end < 0 ? undefined : end);
  const out = new Map();
  for (const [, names, , labelCell] of section.matchAll(/^\|([^|]*)\|([^|]*)\|([^|]*)\|/gm)) {
    const labels = labelCell.split(/[\s,]+/).filter((l) => /^[a-z_]+$/.test(l));
    for (const [, name] of names.matchAll(/`(videogate_[a-z0-9_]+)`/g)) out.set(name, new Set(labels));
  }
  return out;
}

let stack;
/** GET /metrics of each gateway (one, or each replica of a fleet). */
const scrapes = [];

before(async () => {
  stack = await startStack();
  for (const url of stack.gatewayUrls) {
    // One authenticated request first, so the request families carry samples (and labels).
    const models = await fetch(`${url}/v1/models`, { headers: { authorization: `Bearer ${CLIENT_KEY}` } });
    await models.arrayBuffer();
    assert.equal(models.status, 200, `GET ${url}/v1/models`);
    const res = await fetch(`${url}/metrics`);
    const text = await res.text();
    assert.equal(res.status, 200, `GET ${url}/metrics`);
    assert.match(String(res.headers.get('content-type')), /^text\/plain/, 'Prometheus text format');
    scrapes.push({ url, ...parseMetrics(text) });
  }
});

const e2e = testWithLogs(() => stack);

after(async () => {
  await stack?.stop();
});

e2e('the dashboard and the rules name the metrics the gateway exposes', async () => {
  const dashboard = JSON.parse(FILES[0].text);
  assert.equal(dashboard.uid, 'videogate');

  const named = new Set(FILES.flatMap((f) => [...metricNames(f.text)]));
  assert.ok(named.size > 0, 'no videogate_* metric found in docker/observability');
  const bases = new Set([...named].map((n) => n.replace(HISTOGRAM_SUFFIX, '')));
  const uncovered = REQUIRED.filter((n) => !named.has(n) && !bases.has(n));
  assert.deepEqual(uncovered, [], 'families the dashboard and the rules do not use');

  const checked = new Set();
  const missing = [];
  for (const { url, types } of scrapes) {
    for (const name of named) {
      const family = familyOf(name, types);
      checked.add(family);
      if (!types.has(family)) missing.push(`${name} (${url}/metrics has no "# TYPE ${family} ..." line)`);
    }
  }
  console.log(`observability: ${checked.size} metric families checked against GET /metrics: ${[...checked].sort().join(', ')}`);
  assert.deepEqual(missing, [], 'metrics named in docker/observability that the gateway does not declare');
});

e2e('every label the rules and the dashboard select or group by exists on its metric', async () => {
  const documented = documentedLabels(README);
  const problems = [];
  const checked = [];
  for (const file of FILES) {
    for (const [name, label, where] of labelUses(file)) {
      if (TARGET_LABELS.has(label)) continue;
      for (const { url, types, labels } of scrapes) {
        const family = familyOf(name, types);
        if (label === 'le' && family !== name && types.get(family) === 'histogram') continue;
        const known = new Set([...(labels.get(family) ?? []), ...(documented.get(family) ?? [])]);
        if (!known.has(label)) problems.push(`${where}: ${name} has no label "${label}" (not on a sample at ${url}, not in README)`);
      }
      checked.push(`${name}:${label}`);
    }
  }
  console.log(`observability: labels checked: ${[...new Set(checked)].sort().join(', ')}`);
  assert.ok(checked.length > 0, 'no label use found in docker/observability');
  assert.deepEqual([...new Set(problems)], [], 'labels the gateway does not have');
});
