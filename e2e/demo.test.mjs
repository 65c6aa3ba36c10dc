// Drives Debian's headless Chromium (/usr/bin/chromium) through both demo
// apps (axum and actix-web), as a person would: click, reload, log in and
// out. Screenshots go to target/e2e/. scripts/test builds the demos, installs
// this folder's packages and runs `node --test` here.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const shots = path.join(root, 'target', 'e2e');
mkdirSync(shots, { recursive: true });
const demos = {
  demo: path.join(root, 'target', 'debug', 'examples', 'demo'),
  'demo-actix': path.join(root, 'target', 'debug', 'examples', 'demo-actix'),
};
const chromiumPath = process.env.CHROMIUM || '/usr/bin/chromium';

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

// Start a demo binary on a free port, in memory (no Redis variables), and
// wait (at most 30 s) until it answers.
async function startDemo(bin, extraEnv = {}) {
  const port = await freePort();
  const env = { ...process.env, PORT: String(port), RUST_LOG: 'warn', ...extraEnv };
  delete env.TIERED_SESSIONS_REDIS_URL;
  delete env.TIERED_SESSIONS_REDIS_CLUSTER_URLS;
  const proc = spawn(bin, [], { env, stdio: ['ignore', 'inherit', 'inherit'] });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 150; i++) {
    if (proc.exitCode !== null) throw new Error(`${bin} exited with ${proc.exitCode}`);
    try {
      const r = await fetch(`${url}/stats`);
      if (r.ok) return { url, stop: () => proc.kill('SIGTERM') };
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  proc.kill('SIGTERM');
  throw new Error(`${bin} did not answer on ${url}`);
}

async function browser() {
  return chromium.launch({
    executablePath: chromiumPath,
    headless: true,
    args: [
      '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
    ],
  });
}

const text = async (page, sel) => (await page.textContent(sel)).trim();
const sessionCookies = async (context) =>
  (await context.cookies()).filter((c) => c.name === 'session' || c.name.startsWith('session.'));

// Click a form's button and wait for the whole POST, 303, GET / navigation
// (waitForURL would return at once: the page is already at /).
async function click(page, sel) {
  await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), page.click(sel)]);
  assert.equal(new URL(page.url()).pathname, '/');
}

for (const [name, bin] of Object.entries(demos)) {
  test(`${name}: counter, HttpOnly, login, spill and move back, keys, logout`, async () => {
    const demo = await startDemo(bin);
    const b = await browser();
    try {
      const context = await b.newContext();
      const page = await context.newPage();
      page.on('dialog', (d) => assert.fail(`a script ran: ${d.message()}`));
      await page.goto(demo.url + '/');
      assert.equal(await text(page, '#location'), 'nowhere yet (no session)');
      assert.deepEqual(await sessionCookies(context), [], 'looking creates no session');

      // The counter persists across clicks and a reload, in the cookie.
      await click(page, '#count');
      await click(page, '#count');
      assert.equal(await text(page, '#visits'), '2');
      await page.reload();
      assert.equal(await text(page, '#visits'), '2');
      assert.equal(await text(page, '#location'), 'cookie');
      await page.screenshot({ path: path.join(shots, `${name}-01-counter.png`), fullPage: true });

      // The session cookie is HttpOnly: page scripts cannot see it.
      const [cookie] = await sessionCookies(context);
      assert.equal(cookie.httpOnly, true);
      assert.equal(cookie.sameSite, 'Lax');
      const visible = await page.evaluate(() => document.cookie);
      assert.ok(!/session/.test(visible), `document.cookie shows: ${visible}`);

      // Login regenerates the id and keeps the data.
      const before = await text(page, '#session-id');
      await page.fill('#login-user', 'alice');
      await click(page, '#login');
      assert.equal(await text(page, '#user'), 'alice');
      assert.notEqual(await text(page, '#session-id'), before, 'login kept the old id');
      assert.equal(await text(page, '#visits'), '2');
      await page.screenshot({ path: path.join(shots, `${name}-02-login.png`), fullPage: true });

      // Spill to the store and move back: nothing lost either way.
      await page.fill('#big-kib', '8');
      await click(page, '#big');
      assert.equal(await text(page, '#location'), 'store');
      assert.equal(await text(page, '#user'), 'alice');
      assert.equal(await text(page, '#visits'), '2');
      assert.equal(await text(page, '#cookie-count'), '1');
      // The cookie now carries only the signed id and times, not 8 KiB.
      assert.ok(Number(await text(page, '#cookie-bytes')) < 200);
      assert.ok(Number(await text(page, '#m-durable_writes')) >= 1);
      await page.screenshot({ path: path.join(shots, `${name}-03-spilled.png`), fullPage: true });
      await click(page, '#shrink');
      assert.equal(await text(page, '#location'), 'cookie');
      assert.equal(await text(page, '#user'), 'alice');
      assert.equal(await text(page, '#visits'), '2');
      await page.screenshot({ path: path.join(shots, `${name}-04-moved-back.png`), fullPage: true });

      // Keys, including hostile markup, shown as text and removable.
      const hostile = '<img src=x onerror=alert(1)>';
      await page.fill('#set-key', 'note');
      await page.fill('#set-value', hostile);
      await click(page, '#set');
      assert.ok((await text(page, '#data')).includes(hostile));
      await page.fill('#remove-key', 'note');
      await click(page, '#remove');
      assert.ok(!(await text(page, '#data')).includes('note'));

      // Logout removes every session cookie.
      await click(page, '#logout');
      assert.equal(await text(page, '#user'), 'anonymous');
      assert.deepEqual(await sessionCookies(context), [], 'cookies left after logout');
      await page.screenshot({ path: path.join(shots, `${name}-05-logout.png`), fullPage: true });

      // The counters as JSON.
      const stats = JSON.parse(await (await fetch(demo.url + '/stats')).text());
      for (const k of ['cookie_loads', 'store_loads', 'cache_hits', 'cache_misses',
        'durable_writes', 'quick_writes', 'conflicts']) {
        assert.equal(typeof stats[k], 'number', k);
      }
      assert.ok(stats.cookie_loads > 0 && stats.store_loads > 0, JSON.stringify(stats));
    } finally {
      await b.close();
      demo.stop();
    }
  });

  test(`${name}: a big cookie-only session is chunked and reassembled`, async () => {
    const demo = await startDemo(bin, { COOKIE_ONLY_THRESHOLD: '10000' });
    const b = await browser();
    try {
      const context = await b.newContext();
      const page = await context.newPage();
      await page.goto(demo.url + '/');
      await page.fill('#login-user', 'bob');
      await click(page, '#login');
      await page.fill('#big-kib', '6');
      await click(page, '#big');
      assert.equal(await text(page, '#location'), 'cookie');
      const names = (await sessionCookies(context)).map((c) => c.name).sort();
      assert.ok(names.length >= 2, `cookies: ${names}`);
      assert.deepEqual(names, names.map((_, i) => `session.${i}`), `cookies: ${names}`);
      assert.equal(await text(page, '#cookie-count'), String(names.length));
      // Reassembled on every request: the data survives reloads and writes.
      await page.reload();
      await click(page, '#count');
      assert.equal(await text(page, '#user'), 'bob');
      assert.equal(await text(page, '#visits'), '1');
      assert.ok((await text(page, '#data')).includes('(6 KiB)'));
      await page.screenshot({ path: path.join(shots, `${name}-06-chunked.png`), fullPage: true });
      await click(page, '#logout');
      assert.deepEqual(await sessionCookies(context), [], 'chunks left after logout');
    } finally {
      await b.close();
      demo.stop();
    }
  });

  test(`${name}: the user's sessions listed, another device logged out from this one`, async () => {
    const demo = await startDemo(bin);
    const b = await browser();
    try {
      const login = async (device) => {
        const context = await b.newContext();
        const page = await context.newPage();
        await page.goto(demo.url + '/');
        await page.fill('#login-user', 'carol');
        await page.fill('#login-agent', device);
        await click(page, '#login');
        return { context, page };
      };
      const laptop = await login('laptop');
      const phone = await login('phone');
      // A copy of the phone's cookie, as a thief would keep it.
      const stolen = await phone.context.cookies();
      await laptop.page.reload();
      const rows = await laptop.page.locator('#sessions tr.device').allTextContents();
      assert.equal(rows.length, 2, `rows: ${rows}`);
      assert.ok(rows.some((r) => r.includes('laptop') && r.includes('this one')), `rows: ${rows}`);
      assert.ok(rows.some((r) => r.includes('phone')), `rows: ${rows}`);
      await laptop.page.screenshot({ path: path.join(shots, `${name}-07-sessions.png`), fullPage: true });

      await click(laptop.page, '#sessions tr.device:has-text("phone") button');
      assert.equal(
        await laptop.page.locator('#sessions tr.device').count(), 1, 'the phone is still listed');
      assert.equal(await text(laptop.page, '#user'), 'carol');
      // The phone, and the stolen copy of its cookie, are logged out.
      await phone.page.reload();
      assert.equal(await text(phone.page, '#user'), 'anonymous');
      const thief = await b.newContext();
      await thief.addCookies(stolen);
      const thiefPage = await thief.newPage();
      await thiefPage.goto(demo.url + '/');
      assert.equal(await text(thiefPage, '#user'), 'anonymous');
      await laptop.page.screenshot({ path: path.join(shots, `${name}-08-revoked.png`), fullPage: true });
    } finally {
      await b.close();
      demo.stop();
    }
  });
}
