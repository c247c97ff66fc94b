// The operator status page (`GET /admin`) in a real browser: headless Chromium through
// puppeteer-core, against the real gateway and the simulated vendor.
//
// Not named `*.test.mjs` on purpose: the plain e2e run (`node --test` in tests/e2e) does not
// load it. Run it alone (CTest registers it only when a Chromium is found):
//
//   cd tests/e2e && node --test --test-reporter=spec status_page.browser.mjs
//
// Environment, besides the harness's (VIDEOGATE_BIN, VIDEOGATE_MOCK_BIN, ...):
// - VIDEOGATE_CHROMIUM: the Chromium (or Chrome) binary, default /usr/bin/chromium
// - VIDEOGATE_ARTIFACTS_DIR: where the full-page screenshot status-page.png goes,
//   default <os.tmpdir()>/videogate-artifacts
//
// Scenario: upstream `sora-main` (openai, round robin) holds one key per key state the page
// shows: good-key-1 (healthy), ratelimit-1 (cooling: the mock's 429 asks for an hour),
// bad-key-1 (disabled, invalid key: 401) and nocredit-1 (disabled, out of credit: 402);
// `backup` (unified, good-key-2) is never used. Creates through the gateway drive the keys
// into those states (checked on /admin/keys), one job runs to completion, then the page is
// checked as the browser renders it: the 401 Basic challenge, the headers (no-store, CSP), no
// CSP violation, each key's badge, colours and details, the last vendor error, the chart, and
// no secret anywhere in the page. The tests run in order and build on the first one's states.

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

import { CLIENT_KEY, HERE, assertNoSecrets, startStack, testWithLogs, upstream } from './harness.mjs';

const CHROMIUM = process.env.VIDEOGATE_CHROMIUM || '/usr/bin/chromium';
const ARTIFACTS_DIR = process.env.VIDEOGATE_ARTIFACTS_DIR
  ? path.resolve(process.cwd(), process.env.VIDEOGATE_ARTIFACTS_DIR)
  : path.join(os.tmpdir(), 'videogate-artifacts');

const ADMIN_KEY = 'status-page-admin-key-0123456789';
const MODEL = 'sora-2';
const BACKUP_MODEL = 'sora-2-backup';
const KEYS = {
  healthy: 'good-key-1',
  cooling: 'ratelimit-1',
  invalid: 'bad-key-1',
  noCredit: 'nocredit-1',
  backup: 'good-key-2',
};
/** Every upstream key of this config (not all are in the harness's UPSTREAM_KEYS). */
const ALL_KEYS = Object.values(KEYS);
const MAX_CREATES = 12;

/** The fingerprint the gateway shows for a key: the first 12 hex digits of its SHA-256. */
const fingerprint = (key) => createHash('sha256').update(key).digest('hex').slice(0, 12);
const FP = Object.fromEntries(Object.entries(KEYS).map(([k, v]) => [k, fingerprint(v)]));

// What the stylesheet paints (getComputedStyle's notation).
const COLOURS = {
  healthy: 'rgb(22, 163, 74)',
  cooling: 'rgb(245, 158, 11)',
  disabled: 'rgb(220, 38, 38)',
  created: 'rgb(59, 130, 246)',
};

let stack;
let browser;
const createdIds = [];
let completedId;

const e2e = testWithLogs(() => stack, { timeout: 120_000 });

/** puppeteer-core from node_modules, or a clear instruction when `npm ci` has not run. */
async function loadPuppeteer() {
  if (!existsSync(path.join(HERE, 'node_modules', 'puppeteer-core', 'package.json'))) {
    throw new Error(`puppeteer-core is not installed in ${HERE}/node_modules: run \`npm ci\` in ${HERE} first.`);
  }
  return (await import('puppeteer-core')).default;
}

before(
  async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(
        `Chromium not found at ${CHROMIUM}: install chromium or set VIDEOGATE_CHROMIUM to a Chromium/Chrome binary ` +
          '(CTest registers this test only when it finds one).',
      );
    }
    const puppeteer = await loadPuppeteer();
    stack = await startStack({
      // The status page needs neither; fewer moving parts.
      publicEntrance: false,
      // ratelimit-1 stays cooling for the whole run: "1 h left", then "59 min 59 s left", ...
      mockArgs: ['--retry-after', '3600'],
      upstreams: (mockUrl) => [
        upstream(mockUrl, {
          name: 'sora-main',
          key_strategy: 'round_robin',
          keys: [KEYS.healthy, KEYS.cooling, KEYS.invalid, KEYS.noCredit],
          models: { [MODEL]: 'sora-2' },
        }),
        upstream(mockUrl, {
          name: 'backup',
          dialect: 'unified',
          keys: [KEYS.backup],
          models: { [BACKUP_MODEL]: 'sora-2' },
        }),
      ],
      configure: (cfg) => {
        cfg.admin = { key: ADMIN_KEY };
      },
    });
    browser = await puppeteer.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
    });
  },
  { timeout: 60_000 },
);

after(async () => {
  try {
    await browser?.close();
  } finally {
    await stack?.stop();
  }
});

// ---------------------------------------------------------------------------------------------
// Helpers

async function gateway(pathname, { method = 'GET', bearer = CLIENT_KEY, body } = {}) {
  const res = await fetch(`${stack.gatewayUrl}${pathname}`, {
    method,
    headers: { Authorization: `Bearer ${bearer}` },
    body,
  });
  const text = await res.text();
  assertNoSecrets(text);
  for (const key of ALL_KEYS) assert.ok(!text.includes(key), `${method} ${pathname} leaks upstream key ${key}`);
  return { res, text };
}

async function createVideo(i) {
  const form = new FormData();
  form.set('model', MODEL);
  form.set('prompt', `status page scenario, create ${i}`);
  const { res, text } = await gateway('/v1/videos', { method: 'POST', body: form });
  assert.equal(res.status, 200, `create ${i}: ${text}`);
  return JSON.parse(text);
}

/** `GET /admin/keys` as { fingerprint → key entry } of one upstream. */
async function adminKeys(upstreamName) {
  const { res, text } = await gateway('/admin/keys', { bearer: ADMIN_KEY });
  assert.equal(res.status, 200, `GET /admin/keys: ${text}`);
  const entry = JSON.parse(text).data.find((u) => u.upstream === upstreamName);
  assert.ok(entry, `/admin/keys lists ${upstreamName}: ${text}`);
  return Object.fromEntries(entry.keys.map((k) => [k.fingerprint, k]));
}

const WANTED = [
  [FP.healthy, 'healthy', null],
  [FP.cooling, 'cooling', 'rate_limited'],
  [FP.invalid, 'disabled', 'invalid_key'],
  [FP.noCredit, 'disabled', 'out_of_credit'],
];

function statesReached(keys) {
  return WANTED.every(
    ([fp, state, reason]) => keys[fp]?.state === state && (reason === null || keys[fp].reason === reason),
  );
}

/**
 * A fresh browser context (no cached Basic credentials) with a page that records CSP
 * violations (the DOM event, through a script the CSP cannot block, and Chromium's console
 * report) and every console message.
 */
async function openPage() {
  const context = await browser.createBrowserContext();
  const page = await context.newPage();
  await page.setViewport({ width: 1200, height: 900, deviceScaleFactor: 1 });
  const consoleMessages = [];
  page.on('console', (m) => consoleMessages.push(`${m.type()}: ${m.text()}`));
  page.on('pageerror', (err) => consoleMessages.push(`pageerror: ${err.message}`));
  await page.evaluateOnNewDocument(() => {
    window.__cspViolations = [];
    document.addEventListener('securitypolicyviolation', (e) => {
      window.__cspViolations.push(`${e.violatedDirective} blocked ${e.blockedURI || 'inline'}`);
    });
  });
  const violations = async () => [
    ...(await page.evaluate(() => window.__cspViolations ?? ['(the violation listener did not run)'])),
    ...consoleMessages.filter((m) => /content security policy|violates/i.test(m)),
  ];
  return { context, page, consoleMessages, violations };
}

const adminUrl = () => `${stack.gatewayUrl}/admin?refresh=0`;

/** The page's durations (human_duration): "42 s", "9 min 59 s", "1 h", "1 h 5 min", "2 d 3 h". */
const DURATION_LEFT = /^\d+ (s|min|h|d)( \d+ (s|min|h))? left$/;
function durationSeconds(text) {
  const unit = { s: 1, min: 60, h: 3600, d: 86400 };
  let total = 0;
  for (const [, n, u] of text.matchAll(/(\d+) (s|min|h|d)\b/g)) total += Number(n) * unit[u];
  return total;
}

/**
 * Answers every login prompt of `page` with "Cancel", as a person dismissing the browser's
 * dialog would: the browser then shows the 401 answer itself. (Headless Chromium left alone
 * fails such a navigation with net::ERR_INVALID_AUTH_CREDENTIALS instead.)
 */
async function dismissLoginPrompts(page) {
  const cdp = await page.createCDPSession();
  const ignoreClosed = () => {};
  cdp.on('Fetch.requestPaused', (e) => {
    cdp.send('Fetch.continueRequest', { requestId: e.requestId }).catch(ignoreClosed);
  });
  cdp.on('Fetch.authRequired', (e) => {
    cdp
      .send('Fetch.continueWithAuth', { requestId: e.requestId, authChallengeResponse: { response: 'CancelAuth' } })
      .catch(ignoreClosed);
  });
  await cdp.send('Fetch.enable', { handleAuthRequests: true, patterns: [{ urlPattern: '*' }] });
}

async function expectChallenge(page, how) {
  const res = await page.goto(adminUrl(), { waitUntil: 'load' });
  assert.equal(res.status(), 401, how);
  const challenge = res.headers()['www-authenticate'];
  assert.match(String(challenge), /^Basic /, `${how}: www-authenticate: ${challenge}`);
  assert.match(String(challenge), /realm="videogate admin"/, how);
  assert.equal(res.headers()['cache-control'], 'no-store', how);
  const content = await page.content();
  assertNoSecrets(content);
  assert.ok(!content.includes(ADMIN_KEY), `${how}: the 401 page names the admin key`);
  assert.equal(await page.$('article.upstream'), null, `${how}: no status shown`);
}

// ---------------------------------------------------------------------------------------------
// Tests

e2e('creates drive sora-main keys to healthy, cooling, disabled (invalid key, out of credit)', async (t) => {
  let keys = await adminKeys('sora-main');
  for (const [fp] of WANTED) assert.ok(keys[fp], `/admin/keys shows fingerprint ${fp}: ${JSON.stringify(keys)}`);
  for (let i = 1; i <= MAX_CREATES && !statesReached(keys); i++) {
    createdIds.push((await createVideo(i)).id);
    keys = await adminKeys('sora-main');
  }
  assert.ok(statesReached(keys), `after ${createdIds.length} creates: ${JSON.stringify(keys, null, 1)}`);
  t.diagnostic(`${createdIds.length} creates; cooling ${keys[FP.cooling].cooldown_left_s} s left`);
  assert.ok(keys[FP.cooling].cooldown_left_s > 3500, "the cooldown is the mock's hour");

  // One job to completion, for a completed bar in the chart (the mock completes after 2 polls).
  const id = createdIds[0];
  const deadline = Date.now() + 30_000;
  for (;;) {
    const { res, text } = await gateway(`/v1/videos/${encodeURIComponent(id)}`);
    assert.equal(res.status, 200, `retrieve ${id}: ${text}`);
    const video = JSON.parse(text);
    assert.notEqual(video.status, 'failed', `video ${id} failed: ${text}`);
    if (video.status === 'completed') break;
    assert.ok(Date.now() < deadline, `video ${id} still ${video.status} after 30 s`);
    const hint = Number(res.headers.get('openai-poll-after-ms'));
    await sleep(Math.min(Math.max(Number.isFinite(hint) ? hint : 250, 20), 1000));
  }
  completedId = id;
});

e2e('/admin without credentials, or with a wrong password: 401 with a Basic challenge', async () => {
  const { context, page } = await openPage();
  try {
    await dismissLoginPrompts(page);
    await expectChallenge(page, 'no credentials');
  } finally {
    await context.close();
  }
  const second = await openPage();
  try {
    // puppeteer offers the credentials once, then cancels the repeated prompt.
    await second.page.authenticate({ username: 'operator', password: `${ADMIN_KEY}-wrong` });
    await expectChallenge(second.page, 'wrong password');
  } finally {
    await second.context.close();
  }
});

e2e('/admin in Chromium: headers, CSP, key states, colours, last error, chart, no secrets', async (t) => {
  const { context, page, consoleMessages, violations } = await openPage();
  try {
    await page.authenticate({ username: 'operator', password: ADMIN_KEY });
    const res = await page.goto(adminUrl(), { waitUntil: 'load' });
    assert.equal(res.status(), 200);
    const headers = res.headers();
    assert.equal(headers['cache-control'], 'no-store');
    assert.match(String(headers['content-type']), /^text\/html/);
    const csp = String(headers['content-security-policy']);
    assert.ok(csp.includes("default-src 'none'"), `CSP: ${csp}`);
    assert.ok(csp.includes("script-src 'none'"), `CSP: ${csp}`);
    assert.match(csp, /style-src 'sha256-[A-Za-z0-9+/]+=*'/, `CSP: ${csp}`);
    assert.equal(await page.$('meta[http-equiv="refresh"]'), null, '?refresh=0 leaves out the refresh');

    // First, so that a failing check below still leaves the picture behind.
    await mkdir(ARTIFACTS_DIR, { recursive: true });
    const shot = path.join(ARTIFACTS_DIR, 'status-page.png');
    await page.screenshot({ path: shot, fullPage: true });
    console.log(`status page screenshot: ${shot} (${(await stat(shot)).size} bytes)`);

    // --- keys of sora-main, one row each
    const main = 'article.upstream[data-upstream="sora-main"]';
    const row = (fp) => `${main} table.keys tr.key[data-key="${fp}"]`;
    const cell = (selector) =>
      page.$eval(selector, (el) => {
        const box = el.getBoundingClientRect();
        const style = getComputedStyle(el);
        return {
          text: el.textContent.trim(),
          background: style.backgroundColor,
          visible: box.width > 0 && box.height > 0 && style.display !== 'none' && style.visibility !== 'hidden',
        };
      });
    const stateText = (fp) =>
      page.$eval(`${row(fp)} > td:nth-child(2)`, (el) => el.textContent.replace(/\s+/g, ' ').trim());
    assert.equal((await page.$$(`${main} table.keys tr.key`)).length, 4, 'sora-main shows one row per key');

    assert.equal(await page.$eval(row(FP.healthy), (el) => el.dataset.state), 'healthy');
    const healthy = await cell(`${row(FP.healthy)} span.badge.healthy`);
    assert.ok(healthy.visible, 'healthy badge visible');
    assert.equal(healthy.text, 'healthy');
    assert.equal(healthy.background, COLOURS.healthy, 'healthy badge colour (the stylesheet applied)');

    assert.equal(await page.$eval(row(FP.cooling), (el) => el.dataset.state), 'cooling');
    assert.equal(await page.$eval(row(FP.cooling), (el) => el.dataset.reason), 'rate_limited');
    const cooling = await cell(`${row(FP.cooling)} span.badge.cooling`);
    assert.ok(cooling.visible, 'cooling badge visible');
    assert.equal(cooling.text, 'cooling');
    assert.equal(cooling.background, COLOURS.cooling, 'cooling badge colour');
    // "1 h left" right after the 429 (Retry-After 3600), then "59 min 59 s left", ...
    const left = await cell(`${row(FP.cooling)} span.left`);
    assert.match(left.text, DURATION_LEFT, `time left: ${left.text}`);
    const leftS = durationSeconds(left.text);
    assert.ok(leftS > 3500 && leftS <= 3600, `the mock's hour: ${left.text}`);
    assert.match((await cell(`${row(FP.cooling)} span.reason`)).text, /rate limited/);

    for (const [fp, reason, text] of [
      [FP.invalid, 'invalid_key', 'invalid key'],
      [FP.noCredit, 'out_of_credit', 'out of credit'],
    ]) {
      assert.equal(await page.$eval(row(fp), (el) => el.dataset.state), 'disabled');
      assert.equal(await page.$eval(row(fp), (el) => el.dataset.reason), reason);
      const badge = await cell(`${row(fp)} span.badge.disabled`);
      assert.ok(badge.visible, `${reason}: disabled badge visible`);
      assert.equal(badge.text, 'disabled');
      assert.equal(badge.background, COLOURS.disabled, `${reason}: disabled badge colour`);
      assert.ok((await cell(`${row(fp)} span.reason`)).text.includes(text), `${reason}: reason "${text}"`);
      const state = await stateText(fp);
      const probe = /next probe in (\d+ \S+( \d+ \S+)?)$/.exec(state);
      assert.ok(probe, `${reason}: "next probe in": ${state}`);
      const probeS = durationSeconds(probe[1]);
      assert.ok(probeS > 500 && probeS <= 600, `${reason}: the first probe comes 10 min later: ${probe[0]}`);
    }

    const overview = await page.$eval('section#overview', (el) => el.textContent.replace(/\s+/g, ' '));
    assert.match(overview, /2 upstreams/, overview);
    assert.match(overview, /keys: 2 healthy, 1 cooling, 2 disabled/, overview);

    // --- the last vendor error (one of the refused keys), and none on backup
    const lastError = await page.$eval(`${main} p.last-error`, (el) => ({
      none: el.classList.contains('none'),
      code: el.querySelector('code.code')?.textContent ?? '',
      message: el.querySelector('span.message')?.textContent ?? '',
      text: el.textContent.replace(/\s+/g, ' '),
    }));
    assert.equal(lastError.none, false, `sora-main had vendor errors: ${lastError.text}`);
    assert.match(lastError.code, /^[a-z][a-z0-9_]+$/, `an error code: ${lastError.text}`);
    assert.ok(
      [FP.cooling, FP.invalid, FP.noCredit].some((fp) => lastError.text.includes(fp)),
      `the error names a refused key's fingerprint: ${lastError.text}`,
    );
    t.diagnostic(`sora-main last error: ${lastError.text}`);

    const backup = 'article.upstream[data-upstream="backup"]';
    assert.equal(await page.$eval(`${backup} span.tag.dialect`, (el) => el.textContent.trim()), 'unified');
    assert.match(await page.$eval(`${backup} span.tag.host`, (el) => el.textContent), /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.equal(await page.$eval(`${backup} p.last-error`, (el) => el.classList.contains('none')), true);
    assert.match(await page.$eval(`${backup} p.last-error`, (el) => el.textContent), /No vendor error/);
    assert.equal(await page.$eval(`${backup} tr.key[data-key="${FP.backup}"]`, (el) => el.dataset.state), 'healthy');

    // --- the chart: created bars (blue), and a completed one for the job that finished
    const chart = await page.$eval(`${main} svg[role="img"]`, (svg) => ({
      label: svg.getAttribute('aria-label'),
      created: [...svg.querySelectorAll('g.minute rect.c-created')].map((r) => getComputedStyle(r).fill),
      completed: svg.querySelectorAll('g.minute rect.c-completed').length,
      width: svg.getBoundingClientRect().width,
    }));
    assert.match(chart.label, /^Jobs per minute on sora-main /, chart.label);
    assert.ok(chart.created.length >= 1, `a created bar: ${JSON.stringify(chart)}`);
    assert.equal(chart.created[0], COLOURS.created, 'created bars are blue');
    if (completedId) assert.ok(chart.completed >= 1, `a completed bar: ${JSON.stringify(chart)}`);
    assert.ok(chart.width > 500, `the chart spans the card: ${chart.width}px`);
    t.diagnostic(`chart: ${chart.label}`);

    assert.ok(await page.$('section#webhooks'), 'section#webhooks');
    assert.ok(await page.$('section#config'), 'section#config');
    const overflow = await page.evaluate(
      () => document.documentElement.scrollWidth - document.documentElement.clientWidth,
    );
    assert.ok(overflow <= 0, `no horizontal scrolling at 1200 px (${overflow}px too wide)`);

    // --- no secret in the page
    const content = await page.content();
    assertNoSecrets(content);
    for (const secret of [...ALL_KEYS, ADMIN_KEY, CLIENT_KEY]) {
      assert.ok(!content.includes(secret), `the page shows a secret: ${secret}`);
    }
    assert.doesNotMatch(content, /authorization/i, 'the page mentions an Authorization header');

    // --- the CSP blocked nothing (a wrong style hash would block the stylesheet)
    assert.deepEqual(await violations(), [], `CSP violations; console:\n${consoleMessages.join('\n')}`);
    if (consoleMessages.length) t.diagnostic(`console:\n${consoleMessages.join('\n')}`);
  } finally {
    await context.close();
  }
});

e2e('control: the violation check sees a wrong style hash', async (t) => {
  // The same page, served through interception with the style hash replaced: the stylesheet
  // must be blocked and reported, or the "no violation" check above proves nothing.
  const { text: html, res } = await gateway('/admin?refresh=0', { bearer: ADMIN_KEY });
  assert.equal(res.status, 200);
  const csp = res.headers.get('content-security-policy');
  const wrong = csp.replace(/'sha256-[^']+'/, `'sha256-${Buffer.alloc(32).toString('base64')}'`);
  assert.notEqual(wrong, csp);
  const { context, page, violations } = await openPage();
  try {
    await page.setRequestInterception(true);
    page.on('request', (req) => {
      if (req.url() === adminUrl()) {
        void req.respond({
          status: 200,
          contentType: 'text/html; charset=utf-8',
          headers: { 'Content-Security-Policy': wrong },
          body: html,
        });
      } else {
        void req.abort();
      }
    });
    await page.goto(adminUrl(), { waitUntil: 'load' });
    const found = await violations();
    t.diagnostic(`reported: ${found.join(' | ')}`);
    // Both sources: the page's own securitypolicyviolation event and Chromium's console report.
    assert.ok(found.some((v) => /^style-src(-elem)? blocked inline$/.test(v)), `the DOM event: ${found.join(' | ')}`);
    assert.ok(found.some((v) => /Content Security Policy/i.test(v)), `the console report: ${found.join(' | ')}`);
    const background = await page.$eval('span.badge.healthy', (el) => getComputedStyle(el).backgroundColor);
    assert.notEqual(background, COLOURS.healthy, 'without the stylesheet the badge is not green');
  } finally {
    await context.close();
  }
});
