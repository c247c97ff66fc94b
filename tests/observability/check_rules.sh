#!/usr/bin/env bash
# Checks docker/observability/alerts.yml (syntax, PromQL), runs its unit tests
# (alerts_test.yml) and parses every query of grafana-dashboard.json. Exit 77 (CTest's skip
# code) when promtool is not installed.
set -euo pipefail

cd "$(dirname "$0")/../.."

if ! command -v promtool >/dev/null 2>&1; then
  echo "promtool is not on PATH: skipping the alert rule checks (install prometheus, or put promtool on PATH)"
  exit 77
fi

promtool --version 2>&1 | head -n 1
promtool check rules docker/observability/alerts.yml
promtool test rules docker/observability/alerts_test.yml

# The dashboard's queries, parsed by the same PromQL parser: each `expr` of every panel target
# becomes a recording rule in a throwaway rules file (Grafana's variables replaced by values a
# query would carry), so a typo in a panel fails here rather than as an empty panel.
if ! command -v node >/dev/null 2>&1; then
  echo "node is not on PATH: cannot extract the dashboard's queries" >&2
  exit 1
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
node - docker/observability/grafana-dashboard.json "$tmp/dashboard_rules.yml" <<'JS'
const fs = require('fs');
const [src, out] = process.argv.slice(2);
const dash = JSON.parse(fs.readFileSync(src, 'utf8'));
const exprs = [];
const walk = (panels) => {
  for (const p of panels ?? []) {
    for (const t of p.targets ?? []) if (t.expr) exprs.push({ panel: p.title, expr: t.expr });
    walk(p.panels);
  }
};
walk(dash.panels);
if (exprs.length === 0) throw new Error(`no queries found in ${src}`);
const grafana = (e) =>
  e.replaceAll('$__rate_interval', '5m').replaceAll('$__interval', '1m').replaceAll('$__range', '1h')
   .replaceAll('$instance', '.*');
const rules = exprs
  .map((q, i) => `      - record: dashboard_query_${i}\n        expr: ${JSON.stringify(grafana(q.expr))}\n`)
  .join('');
fs.writeFileSync(out, `groups:\n  - name: dashboard\n    rules:\n${rules}`);
console.log(`${exprs.length} dashboard queries from ${dash.panels.length} panels`);
JS
promtool check rules "$tmp/dashboard_rules.yml"
