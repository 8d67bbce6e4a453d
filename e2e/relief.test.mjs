// Browser end-to-end test of humanitarian relief (人道救助): a person files an
// application online on a phone-sized viewport (no sign-in): picks the
// programme, sees field errors next to the fields when incomplete, attaches
// the documents, gets a case number and lookup code, and checks the status.
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


const phone = viewports.find((v) => v.name === 'phone');

/** A valid 18-digit ID number (GB 11643) of someone born on `birth` (YYYYMMDD). */
function idCard(birth, seq) {
  const body = `370102${birth}${String(seq).padStart(3, '0')}`;
  const weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
  const sum = [...body].reduce((acc, d, i) => acc + Number(d) * weights[i], 0);
  return body + '10X98765432'[sum % 11];
}

const PNG = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d]);
const PDF = Buffer.from('%PDF-1.4\n% relief e2e\n');

test('phone: a person files a relief application online and checks its status', { timeout: 120_000 }, async () => {
  const context = await newContext(phone);
  const page = await context.newPage();
  try {
    const res = await page.goto(`${baseUrl}/relief/apply`);
    assert.equal(res?.status(), 200, await describePage(page));
    await page.getByRole('link', { name: '尿毒症救助' }).click();
    await page.waitForSelector('#applicant_name');
    // The form fits the phone: no horizontal scrolling.
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 1, `the form scrolls sideways by ${overflow}px`);

    // Incomplete: errors next to the fields, nothing filed.
    await page.fill('#applicant_name', '赵秀兰');
    await page.click('button[type=submit]');
    await page.waitForSelector('#form-errors');
    const errors = await page.locator('.field-error').allInnerTexts();
    assert.ok(errors.some((e) => e.includes('身份证')), `no ID error: ${errors.join(' | ')}`);
    assert.ok(errors.some((e) => e.includes('请上传')), `no document error: ${errors.join(' | ')}`);
    assert.equal(await page.inputValue('#applicant_name'), '赵秀兰', 'what was typed is kept');

    const year = new Date().getFullYear() - 48;
    await page.fill('#id_card', idCard(`${year}0506`, 321));
    await page.fill('#phone', '13600001234');
    await page.selectOption('#district', '历下区');
    await page.fill('#household_size', '3');
    await page.fill('#household_income', '2100');
    await page.selectOption('#hardship', '低保');
    await page.fill('#diagnosis', '尿毒症');
    await page.fill('#hospital', '济南市中心医院');
    await page.check('input[name=health_consent]');
    await page.fill('#bank_name', '农业银行');
    await page.fill('#bank_account', '6228480012345678901');
    await page.fill('#amount', '8000');
    await page.setInputFiles('#doc_0', { name: 'id.png', mimeType: 'image/png', buffer: PNG });
    await page.setInputFiles('#doc_1', { name: 'diagnosis.pdf', mimeType: 'application/pdf', buffer: PDF });
    await page.setInputFiles('#doc_2', { name: 'dialysis.pdf', mimeType: 'application/pdf', buffer: PDF });
    await page.click('button[type=submit]');
    await page.waitForSelector('#case-no', { timeout: STEP_TIMEOUT_MS }).catch(async () => {
      assert.fail(`no case number after submitting: ${await describePage(page)}`);
    });
    const caseNo = (await page.locator('#case-no').innerText()).trim();
    const code = (await page.locator('#lookup-code').innerText()).trim();
    assert.match(caseNo, /^JZ\d{10}$/);
    assert.match(code, /^\d{8}$/);
    await page.screenshot({ path: path.join(screenshotDir, 'phone-relief-applied.png'), fullPage: true });

    await page.goto(`${baseUrl}/relief/status`);
    await page.fill('#case_no', caseNo);
    await page.fill('#lookup_code', code);
    await page.click('button[type=submit]');
    await page.waitForSelector('#status-result');
    const status = await page.locator('#status-result').innerText();
    assert.ok(status.includes('审核中') && status.includes('尿毒症救助'), status);
  } finally {
    await context.close();
  }
});
