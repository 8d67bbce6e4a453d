// Browser end-to-end tests: the public home page, signing in, the organisation
// tree and a wrong password, recording a gift, and finding a gift whose ledger
// proof the page's script checks, on a desktop and on a phone viewport.
//
// Runs with Node's own test runner (`node --test e2e/`) and playwright-core,
// driving Debian's Chromium at /usr/bin/chromium (nothing is downloaded).
// It starts the debug binary `target/debug/boai serve --demo` on a free port,
// with a fresh SQLite database in a temporary folder, so `cargo build` must
// have run first (scripts/test.sh does that).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
// The binary under test: the debug build, relative to the repository root.
const binary = process.env.BOAI_E2E_BINARY ?? path.resolve(here, '../target/debug/boai');
const screenshotDir = path.join(here, 'screenshots');
const chromiumPath = process.env.BOAI_E2E_CHROMIUM ?? '/usr/bin/chromium';

// Without the background-networking flags Chromium keeps trying to reach
// Google's hosts, which a closed network refuses many times a second.
const chromiumArgs = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

const DEMO_USER = 'lixia';
const DEMO_PASSWORD = 'boai-demo'; // the default; BOAI_DEMO_PASSWORD is unset for the server
const HEALTH_TIMEOUT_MS = 60_000;
const SHUTDOWN_TIMEOUT_MS = 10_000;
const STEP_TIMEOUT_MS = 15_000;

const viewports = [
  {
    name: 'desktop',
    options: { viewport: { width: 1280, height: 800 } },
  },
  {
    name: 'phone',
    options: {
      viewport: { width: 390, height: 844 },
      deviceScaleFactor: 2,
      isMobile: true,
      hasTouch: true,
    },
  },
];

let tmpDir;
let logPath;
let server; // ChildProcess
let serverExit; // Promise<{code, signal}>
let baseUrl;
let browser;
const loggedIn = new Map(); // viewport name -> { context, page }

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function logTail(lines = 40) {
  try {
    const text = fs.readFileSync(logPath, 'utf8').trimEnd().split('\n');
    return text.slice(-lines).join('\n');
  } catch {
    return '(no server log)';
  }
}

async function waitForHealthy() {
  const deadline = Date.now() + HEALTH_TIMEOUT_MS;
  let last = 'no answer yet';
  while (Date.now() < deadline) {
    if (server.exitCode !== null || server.signalCode !== null) {
      throw new Error(
        `boai serve exited early (code ${server.exitCode}, signal ${server.signalCode}); ` +
          `last log lines:\n${logTail()}`,
      );
    }
    try {
      const res = await fetch(`${baseUrl}/healthz`, { signal: AbortSignal.timeout(2_000) });
      await res.arrayBuffer();
      if (res.status === 200) return;
      last = `HTTP ${res.status}`;
    } catch (err) {
      last = String(err?.cause?.code ?? err?.message ?? err);
    }
    await sleep(250);
  }
  throw new Error(
    `GET /healthz did not answer 200 within ${HEALTH_TIMEOUT_MS / 1000} s (last: ${last}); ` +
      `last log lines:\n${logTail()}`,
  );
}

/** A short, readable description of where a page is, for failure messages. */
async function describePage(page) {
  let text = '';
  try {
    text = (await page.locator('body').innerText({ timeout: 2_000 })).replace(/\s+/g, ' ').slice(0, 400);
  } catch {
    text = '(body not readable)';
  }
  return `url=${page.url()} body="${text}"`;
}

async function newContext(vp) {
  const context = await browser.newContext({ ...vp.options, locale: 'zh-CN' });
  context.setDefaultTimeout(STEP_TIMEOUT_MS);
  context.setDefaultNavigationTimeout(STEP_TIMEOUT_MS);
  return context;
}

async function submitLogin(page, username, password) {
  const res = await page.goto(`${baseUrl}/login`);
  assert.equal(res?.status(), 200, `GET /login answered ${res?.status()}`);
  await page.fill('#username', username);
  await page.fill('#password', password);
  await page.click('button[type=submit]');
}

before(async () => {
  assert.ok(
    fs.existsSync(binary),
    `${binary} is missing: build it first (cargo build --workspace --all-targets)`,
  );
  assert.ok(fs.existsSync(chromiumPath), `${chromiumPath} is missing: apt-get install chromium`);
  fs.mkdirSync(screenshotDir, { recursive: true });

  tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), 'boai-e2e-'));
  logPath = path.join(tmpDir, 'boai-serve.log');
  const port = await freePort();
  baseUrl = `http://127.0.0.1:${port}`;

  // A hermetic environment: no BOAI_* setting from the caller leaks in, and in
  // particular BOAI_DEMO_PASSWORD is unset so the demo password is the default.
  const env = { ...process.env };
  for (const key of Object.keys(env)) {
    if (key.startsWith('BOAI_')) delete env[key];
  }
  // A smaller demo year than `serve --demo`'s default, so start-up stays quick.
  env.BOAI_DEMO_GIFTS = process.env.BOAI_E2E_DEMO_GIFTS ?? '400';

  const log = fs.openSync(logPath, 'a');
  server = spawn(
    binary,
    [
      'serve',
      '--demo',
      '--listen',
      `127.0.0.1:${port}`,
      '--data-dir',
      tmpDir,
      '--database-url',
      `sqlite://${tmpDir}/boai.db`,
    ],
    { cwd: tmpDir, env, stdio: ['ignore', log, log] },
  );
  fs.closeSync(log);
  serverExit = new Promise((resolve) => {
    server.on('exit', (code, signal) => resolve({ code, signal }));
  });
  await new Promise((resolve, reject) => {
    server.once('spawn', resolve);
    server.once('error', reject);
  });

  await waitForHealthy();

  browser = await chromium.launch({
    executablePath: chromiumPath,
    headless: true,
    args: chromiumArgs,
    timeout: 60_000,
  });
});

after(async () => {
  for (const { context } of loggedIn.values()) {
    await context.close().catch(() => {});
  }
  if (browser) await browser.close().catch(() => {});

  let shutdown = null;
  if (server && server.exitCode === null && server.signalCode === null) {
    const started = Date.now();
    server.kill('SIGTERM');
    let timer;
    const result = await Promise.race([
      serverExit,
      new Promise((resolve) => {
        timer = setTimeout(() => resolve(null), SHUTDOWN_TIMEOUT_MS);
      }),
    ]);
    clearTimeout(timer);
    if (result === null) {
      server.kill('SIGKILL');
      await serverExit;
      shutdown = `boai serve did not exit within ${SHUTDOWN_TIMEOUT_MS / 1000} s of SIGTERM`;
    } else if (result.code !== 0 && result.signal === null) {
      shutdown = `boai serve exited with code ${result.code} after SIGTERM`;
    } else {
      console.log(`# boai serve stopped ${Date.now() - started} ms after SIGTERM (code ${result.code}, signal ${result.signal})`);
    }
  }

  // Keep the server's log beside the screenshots (both git-ignored).
  if (logPath && fs.existsSync(logPath)) {
    fs.copyFileSync(logPath, path.join(screenshotDir, 'boai-serve.log'));
  }
  if (tmpDir) fs.rmSync(tmpDir, { recursive: true, force: true });

  if (shutdown) assert.fail(`${shutdown}; last log lines:\n${logTail()}`);
});

for (const vp of viewports) {
  test(`${vp.name}: GET / is the public home page with security headers`, { timeout: 60_000 }, async () => {
    const context = await newContext(vp);
    try {
      const page = await context.newPage();
      const res = await page.goto(`${baseUrl}/`);
      assert.ok(res, 'no response for GET /');
      assert.equal(res.status(), 200, `GET / answered ${res.status()}`);
      const headers = await res.allHeaders();
      assert.ok(headers['content-security-policy'], 'GET / has no Content-Security-Policy header');
      assert.equal(headers['x-content-type-options'], 'nosniff', 'GET / lacks X-Content-Type-Options: nosniff');
      assert.match(headers['content-type'] ?? '', /^text\/html/, 'GET / is not text/html');
    } finally {
      await context.close();
    }
  });

  test(`${vp.name}: ${DEMO_USER} signs in and lands on /dashboard`, { timeout: 60_000 }, async () => {
    const context = await newContext(vp);
    const page = await context.newPage();
    loggedIn.set(vp.name, { context, page });
    const landed = page.waitForURL((url) => url.pathname.endsWith('/dashboard'), { timeout: STEP_TIMEOUT_MS });
    await submitLogin(page, DEMO_USER, DEMO_PASSWORD);
    try {
      await landed;
    } catch {
      assert.fail(`after signing in as ${DEMO_USER}, expected /dashboard; got ${await describePage(page)}`);
    }
    assert.ok(page.url().endsWith('/dashboard'), `URL ${page.url()} does not end with /dashboard`);
  });

  test(`${vp.name}: /orgs shows only ${DEMO_USER}'s district subtree`, { timeout: 60_000 }, async () => {
    const session = loggedIn.get(vp.name);
    assert.ok(session, 'not signed in (the sign-in test did not run)');
    const { page } = session;
    const res = await page.goto(`${baseUrl}/orgs`);
    assert.equal(res?.status(), 200, `GET /orgs answered ${res?.status()}: ${await describePage(page)}`);

    const tree = page.locator('.org-tree').first();
    try {
      await tree.waitFor({ state: 'visible' });
    } catch {
      assert.fail(`no visible .org-tree on /orgs: ${await describePage(page)}`);
    }
    const text = (await tree.textContent()) ?? '';
    assert.ok(text.includes('历下区红十字会'), `.org-tree lacks 历下区红十字会: "${text.slice(0, 400)}"`);
    assert.ok(
      text.includes('历下区第一社区红十字服务站'),
      `.org-tree lacks 历下区第一社区红十字服务站: "${text.slice(0, 400)}"`,
    );
    assert.ok(!text.includes('市中区红十字会'), `.org-tree shows 市中区红十字会, outside ${DEMO_USER}'s scope`);

    if (vp.name === 'phone') {
      const { scrollWidth, innerWidth } = await page.evaluate(() => ({
        scrollWidth: document.documentElement.scrollWidth,
        innerWidth: window.innerWidth,
      }));
      assert.ok(
        scrollWidth <= innerWidth + 1,
        `/orgs scrolls horizontally on a phone: scrollWidth ${scrollWidth} > innerWidth ${innerWidth}`,
      );
    }

    await page.screenshot({ path: path.join(screenshotDir, `orgs-${vp.name}.png`), fullPage: true });
  });

  test(`${vp.name}: a wrong password keeps the user on /login with an error`, { timeout: 60_000 }, async () => {
    const context = await newContext(vp);
    try {
      const page = await context.newPage();
      await submitLogin(page, DEMO_USER, 'wrong-password');
      try {
        await page.locator('.form-error').first().waitFor({ state: 'visible' });
      } catch {
        assert.fail(`no visible .form-error after a wrong password: ${await describePage(page)}`);
      }
      const { pathname } = new URL(page.url());
      assert.ok(pathname.endsWith('/login'), `after a wrong password the page is ${page.url()}, not /login`);
    } finally {
      await context.close();
    }
  });

  test(`${vp.name}: finance records a gift and gets its certificate`, { timeout: 90_000 }, async () => {
    const context = await newContext(vp);
    try {
      const page = await context.newPage();
      const landed = page.waitForURL((url) => url.pathname.endsWith('/dashboard'), { timeout: STEP_TIMEOUT_MS });
      await submitLogin(page, 'caiwu', DEMO_PASSWORD);
      await landed;
      await page.goto(`${baseUrl}/fundraising/new`);
      await page.selectOption('#project_id', { label: '白内障复明工程' });
      await page.selectOption('#channel', 'cash');
      await page.fill('#amount_yuan', '1234.56');
      await page.selectOption('#donor_kind', 'person');
      await page.fill('#donor_name', '张三丰');
      const saved = page.waitForURL((url) => /\/fundraising\/gifts\//.test(url.pathname), { timeout: STEP_TIMEOUT_MS });
      await page.click('form.form button[type=submit]');
      try {
        await saved;
      } catch {
        assert.fail(`recording a gift did not open its page: ${await describePage(page)}`);
      }
      const body = (await page.textContent('main')) ?? '';
      assert.ok(body.includes('¥1,234.56') && body.includes('张三丰'), `gift page lacks the amount or donor: ${body.slice(0, 400)}`);
      if (vp.name === 'phone') {
        const { scrollWidth, innerWidth } = await page.evaluate(() => ({
          scrollWidth: document.documentElement.scrollWidth,
          innerWidth: window.innerWidth,
        }));
        assert.ok(scrollWidth <= innerWidth + 1, `gift page scrolls horizontally on a phone (${scrollWidth} > ${innerWidth})`);
      }
      await page.screenshot({ path: path.join(screenshotDir, `gift-${vp.name}.png`), fullPage: true });
      const href = await page.getAttribute('a[href$="certificate.pdf"]', 'href');
      const pdf = await context.request.get(`${baseUrl}${href}`);
      assert.equal(pdf.status(), 200, `certificate answered ${pdf.status()}`);
      assert.equal(pdf.headers()['content-type'], 'application/pdf');
      const bytes = await pdf.body();
      assert.ok(bytes.subarray(0, 5).toString() === '%PDF-', 'certificate is not a PDF');
    } finally {
      await context.close();
    }
  });

  test(`${vp.name}: find my gift checks its ledger proof in the browser`, { timeout: 90_000 }, async () => {
    // A demo certificate and its donor's name, read through the staff API.
    const tokenRes = await fetch(`${baseUrl}/api/v1/auth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'caiwu', password: DEMO_PASSWORD }),
    });
    assert.equal(tokenRes.status, 200, `token answered ${tokenRes.status}`);
    const { token } = await tokenRes.json();
    const listRes = await fetch(`${baseUrl}/api/v1/donations?per_page=50`, {
      headers: { authorization: `Bearer ${token}` },
    });
    const list = await listRes.json();
    const gift = list.items.find((g) => g.donor_name && g.ledger_index !== null && g.ledger_index !== undefined);
    assert.ok(gift, 'no named demo gift in the first 50');

    const context = await newContext(vp);
    try {
      const page = await context.newPage();
      await page.goto(`${baseUrl}/transparency/find`);
      await page.fill('#cert', gift.certificate_no);
      await page.fill('#name', gift.donor_name);
      const shown = page.waitForURL((url) => url.pathname.endsWith('/transparency/find'), { timeout: STEP_TIMEOUT_MS });
      await page.click('form.form button[type=submit]');
      await shown;
      const index = (await page.locator('.ledger-index').first().textContent({ timeout: STEP_TIMEOUT_MS }).catch(() => null)) ?? '';
      assert.equal(index.trim(), String(gift.ledger_index), `wrong or missing ledger index: ${await describePage(page)}`);
      try {
        await page.waitForFunction(
          () => (document.getElementById('ledger-proof-result')?.textContent ?? '').includes('已验证'),
          null,
          { timeout: STEP_TIMEOUT_MS },
        );
      } catch {
        const steps = (await page.locator('#ledger-proof').textContent().catch(() => '')) ?? '';
        assert.fail(`the browser did not verify the proof: ${steps.replace(/\s+/g, ' ').slice(0, 600)}`);
      }
      const steps = await page.locator('#ledger-proof-steps li.ok').count();
      assert.ok(steps >= 4, `only ${steps} checks passed in the browser`);
      assert.equal(await page.locator('#ledger-proof-steps li.bad').count(), 0, 'a check failed in the browser');
      if (vp.name === 'phone') {
        const { scrollWidth, innerWidth } = await page.evaluate(() => ({
          scrollWidth: document.documentElement.scrollWidth,
          innerWidth: window.innerWidth,
        }));
        assert.ok(scrollWidth <= innerWidth + 1, `find page scrolls horizontally on a phone (${scrollWidth} > ${innerWidth})`);
      }
      await page.screenshot({ path: path.join(screenshotDir, `find-${vp.name}.png`), fullPage: true });

      // The portal: every project reconciles (no ✗), on any screen.
      const res = await page.goto(`${baseUrl}/transparency`);
      assert.equal(res?.status(), 200, `GET /transparency answered ${res?.status()}`);
      const body = (await page.textContent('main')) ?? '';
      assert.ok(!body.includes('✗'), 'the portal shows a ✗');
      if (vp.name === 'phone') {
        const { scrollWidth, innerWidth } = await page.evaluate(() => ({
          scrollWidth: document.documentElement.scrollWidth,
          innerWidth: window.innerWidth,
        }));
        assert.ok(scrollWidth <= innerWidth + 1, `portal scrolls horizontally on a phone (${scrollWidth} > ${innerWidth})`);
      }
      await page.screenshot({ path: path.join(screenshotDir, `portal-${vp.name}.png`), fullPage: true });
    } finally {
      await context.close();
    }
  });
}
