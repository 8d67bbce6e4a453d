// Browser end-to-end test of online giving (issue 5), on a phone viewport:
// the public giving page, the sandbox provider's payment page (确认支付),
// the return page that waits for the signed notification, the confirmation
// with the e-certificate downloaded as a PDF, and finding the gift again by
// certificate number and name.
//
// Same harness as login.test.mjs: node:test + playwright-core driving
// /usr/bin/chromium, against `target/debug/boai serve --demo` on a free port.

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
const loggedIn = new Map();

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

test('phone: gives online through the sandbox and downloads the certificate', { timeout: 120_000 }, async () => {
  const vp = viewports[0];
  const context = await newContext(vp);
  try {
    const page = await context.newPage();
    const res = await page.goto(`${baseUrl}/give`);
    assert.equal(res?.status(), 200, `GET /give answered ${res?.status()}`);
    // Pick a project other than the general fund, a typed amount, a named person.
    const options = await page.locator('#project_id option').evaluateAll((os) => os.map((o) => o.value));
    assert.ok(options.length >= 2, `too few projects: ${options}`);
    await page.selectOption('#project_id', options[1]);
    await page.fill('#amount', '66.60');
    await page.check('input[name=donor_kind][value=person]');
    await page.fill('#name', '赵手机');
    await page.fill('#phone', '13700001234');
    await page.check('input[name=public]');
    const { scrollWidth, innerWidth } = await page.evaluate(() => ({
      scrollWidth: document.documentElement.scrollWidth,
      innerWidth: window.innerWidth,
    }));
    assert.ok(scrollWidth <= innerWidth + 1, `giving page scrolls horizontally on a phone (${scrollWidth} > ${innerWidth})`);
    await page.screenshot({ path: path.join(screenshotDir, 'give-phone.png'), fullPage: true });
    await Promise.all([
      page.waitForURL((url) => url.pathname.startsWith('/sandbox/pay/')),
      page.click('form.give-form button[type=submit]'),
    ]);
    assert.equal(((await page.textContent('#pay-amount')) ?? '').trim(), '¥66.60', await describePage(page));
    await page.screenshot({ path: path.join(screenshotDir, 'sandbox-pay-phone.png'), fullPage: true });
    await Promise.all([
      page.waitForURL((url) => url.pathname.startsWith('/give/orders/')),
      page.click('#confirm-pay'),
    ]);
    // The return page shows the confirmation once the notification arrived
    // (it refreshes itself while 确认中).
    const certNo = ((await page.locator('#certificate-no').textContent({ timeout: 20_000 }).catch(() => null)) ?? '').trim();
    assert.match(certNo, /^[A-Z]+-\d{4}-\d{7}$/, `no certificate number: ${await describePage(page)}`);
    const ledgerIndex = ((await page.locator('#ledger-index').textContent()) ?? '').trim();
    assert.match(ledgerIndex, /^\d+$/, 'no ledger index on the confirmation');
    await page.screenshot({ path: path.join(screenshotDir, 'give-confirmed-phone.png'), fullPage: true });
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#certificate-link')]);
    const file = path.join(tmpDir, 'certificate.pdf');
    await download.saveAs(file);
    const bytes = fs.readFileSync(file);
    assert.equal(bytes.subarray(0, 5).toString('latin1'), '%PDF-', 'the certificate is not a PDF');
    assert.ok(bytes.length > 5_000, `the certificate is suspiciously small (${bytes.length} bytes)`);
    // Found again with the certificate number and the name.
    await page.click('#find-link');
    await page.fill('#name', '赵手机');
    await Promise.all([
      page.waitForURL((url) => url.pathname.endsWith('/transparency/find')),
      page.click('form.form button[type=submit]'),
    ]);
    const index = ((await page.locator('.ledger-index').first().textContent().catch(() => null)) ?? '').trim();
    assert.equal(index, ledgerIndex, `the gift was not found again: ${await describePage(page)}`);
  } finally {
    await context.close();
  }
});
