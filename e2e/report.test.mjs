// Opens the HTML report of `tiered-sessions bench` in Debian's headless
// Chromium (/usr/bin/chromium) and checks that its charts render: every SVG
// has a size on the page, with bars in it. The screenshot goes to
// target/e2e/bench-report.png. Needs the built binary
// (target/debug/tiered-sessions, built by `cargo test --workspace`); the cost
// chart needs Redis and moto (TS_REDIS_URL, TS_DYNAMODB_MOTO_ENDPOINT): without
// them that part is skipped with the reason, and fails under CI=true.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const shots = path.join(root, 'target', 'e2e');
mkdirSync(shots, { recursive: true });
const bin = process.env.TIERED_SESSIONS_BIN || path.join(root, 'target', 'debug', 'tiered-sessions');
const chromiumPath = process.env.CHROMIUM || '/usr/bin/chromium';
const inCi = (process.env.CI || '').trim().toLowerCase() === 'true';

// The services of the DynamoDB configuration, or why they are missing.
function dynamoEnv() {
  const redis = process.env.TS_REDIS_URL;
  const moto = process.env.TS_DYNAMODB_MOTO_ENDPOINT;
  if (!redis || !moto) {
    return { missing: 'TS_REDIS_URL or TS_DYNAMODB_MOTO_ENDPOINT is not set (eval "$(scripts/services env)")' };
  }
  const ns = `bench_e2e_${process.pid}_${Date.now().toString(16)}`;
  return {
    env: {
      TIERED_SESSIONS_REDIS_URL: redis,
      TIERED_SESSIONS_REDIS_KEY_PREFIX: `${ns}:`,
      TIERED_SESSIONS_DYNAMODB_ENDPOINT: moto,
      TIERED_SESSIONS_DYNAMODB_TABLE: ns,
      TIERED_SESSIONS_DYNAMODB_ENSURE_TABLE: 'true',
      AWS_ACCESS_KEY_ID: process.env.AWS_ACCESS_KEY_ID || 'test',
      AWS_SECRET_ACCESS_KEY: process.env.AWS_SECRET_ACCESS_KEY || 'test',
      AWS_REGION: process.env.AWS_REGION || 'us-east-1',
    },
  };
}

test('bench --html: the report opens in Chromium and its charts render', async (t) => {
  const dynamo = dynamoEnv();
  if (dynamo.missing && inCi) assert.fail(`CI=true and a service is missing: ${dynamo.missing}`);
  const stores = dynamo.missing ? 'cookie-only,memory' : 'cookie-only,memory,redis-dynamodb';
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-report-'));
  const page = path.join(dir, 'report.html');
  const env = { ...process.env };
  for (const k of Object.keys(env)) if (k.startsWith('TIERED_SESSIONS_')) delete env[k];
  Object.assign(env, dynamo.env || {});
  const run = spawnSync(
    bin,
    ['bench', '--stores', stores, '--sizes', '256,4k', '--concurrency', '1,4', '--mix', 'read,write=20',
      '--requests', '100', '--html', page],
    { env, encoding: 'utf8', timeout: 300_000 },
  );
  assert.equal(run.status, 0, `${bin} bench failed (${run.error || run.status}): ${run.stderr}`);
  const html = readFileSync(page, 'utf8');
  for (const fetch of ['<script', '<link', 'src=', 'url(']) {
    assert.ok(!html.includes(fetch), `the page fetches nothing: found ${fetch}`);
  }

  const browser = await chromium.launch({
    executablePath: chromiumPath,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
  try {
    const context = await browser.newContext({ viewport: { width: 1100, height: 900 } });
    const tab = await context.newPage();
    // Any request but the file itself is a fetch the page must not make.
    const fetched = [];
    tab.on('request', (r) => { if (r.url() !== pathToFileURL(page).href) fetched.push(r.url()); });
    await tab.goto(pathToFileURL(page).href, { waitUntil: 'load' });
    assert.deepEqual(fetched, [], 'no network fetches');
    assert.equal((await tab.textContent('h1')).trim(), 'tiered-sessions bench');
    const charts = dynamo.missing ? ['latency', 'throughput'] : ['latency', 'cost', 'throughput'];
    for (const id of charts) {
      const svg = tab.locator(`#${id} svg`);
      assert.equal(await svg.count(), 1, `#${id} holds one chart`);
      const box = await svg.boundingBox();
      assert.ok(box && box.width > 100 && box.height > 100, `#${id} has a size: ${JSON.stringify(box)}`);
      // Bars: filled rectangles beyond the white background.
      const bars = await svg.evaluate((el) => [...el.querySelectorAll('rect')]
        .filter((r) => { const b = r.getBoundingClientRect(); return b.width > 0 && b.height > 0; }).length);
      assert.ok(bars > 2, `#${id} draws bars (${bars} rectangles with a size)`);
    }
    // Every configuration that ran is named on the latency chart.
    const labels = (await tab.locator('#latency svg text').allTextContents()).map((s) => s.trim());
    for (const name of ['cookie-only 256 read c1', 'memory 4k write=20 c4']) {
      assert.ok(labels.includes(name), `${name} is labelled: ${labels.join(' | ')}`);
    }
    await tab.screenshot({ path: path.join(shots, 'bench-report.png'), fullPage: true });
    if (dynamo.missing) t.skip(`cost chart not checked: ${dynamo.missing}`);
  } finally {
    await browser.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
