// Shared harness of the browser tests: starts `boai serve --demo` (the debug
// build, BOAI_E2E_BINARY or target/debug/boai) on a free port with a fresh
// SQLite database in a temporary folder, waits for /healthz, launches
// Debian's Chromium through playwright-core (nothing is downloaded), and
// stops both after the file's tests. Each test file calls `useServer()` once
// at its top and reads `h.baseUrl`, `h.browser`, `h.tmpDir` in its tests.

import { before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

export const here = path.dirname(fileURLToPath(import.meta.url));
// The binary under test: the debug build, relative to the repository root.
export const binary = process.env.BOAI_E2E_BINARY ?? path.resolve(here, '../target/debug/boai');
export const screenshotDir = path.join(here, 'screenshots');
export const chromiumPath = process.env.BOAI_E2E_CHROMIUM ?? '/usr/bin/chromium';

// Without the background-networking flags Chromium keeps trying to reach
// Google's hosts, which a closed network refuses many times a second.
export const chromiumArgs = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export const DEMO_USER = 'lixia';
export const DEMO_PASSWORD = 'boai-demo'; // the default; BOAI_DEMO_PASSWORD is unset for the server
export const HEALTH_TIMEOUT_MS = 60_000;
export const SHUTDOWN_TIMEOUT_MS = 10_000;
export const STEP_TIMEOUT_MS = 15_000;

export const viewports = [
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

/** What the running harness holds; filled in by `useServer`'s before hook. */
export const h = {
  tmpDir: undefined,
  logPath: undefined,
  server: undefined, // ChildProcess
  serverExit: undefined, // Promise<{code, signal}>
  baseUrl: undefined,
  browser: undefined,
  loggedIn: new Map(), // viewport name -> { context, page }
};

export function freePort() {
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

export function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export function logTail(lines = 40) {
  try {
    const text = fs.readFileSync(h.logPath, 'utf8').trimEnd().split('\n');
    return text.slice(-lines).join('\n');
  } catch {
    return '(no server log)';
  }
}

export async function waitForHealthy() {
  const deadline = Date.now() + HEALTH_TIMEOUT_MS;
  let last = 'no answer yet';
  while (Date.now() < deadline) {
    if (h.server.exitCode !== null || h.server.signalCode !== null) {
      throw new Error(
        `boai serve exited early (code ${h.server.exitCode}, signal ${h.server.signalCode}); ` +
          `last log lines:\n${logTail()}`,
      );
    }
    try {
      const res = await fetch(`${h.baseUrl}/healthz`, { signal: AbortSignal.timeout(2_000) });
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
export async function describePage(page) {
  let text = '';
  try {
    text = (await page.locator('body').innerText({ timeout: 2_000 })).replace(/\s+/g, ' ').slice(0, 400);
  } catch {
    text = '(body not readable)';
  }
  return `url=${page.url()} body="${text}"`;
}

export async function newContext(vp) {
  const context = await h.browser.newContext({ ...vp.options, locale: 'zh-CN' });
  context.setDefaultTimeout(STEP_TIMEOUT_MS);
  context.setDefaultNavigationTimeout(STEP_TIMEOUT_MS);
  return context;
}

export async function submitLogin(page, username, password) {
  const res = await page.goto(`${h.baseUrl}/login`);
  assert.equal(res?.status(), 200, `GET /login answered ${res?.status()}`);
  await page.fill('#username', username);
  await page.fill('#password', password);
  await page.click('button[type=submit]');
}

export function useServer({ name, demoGifts = '400' }) {
  before(async () => {
    assert.ok(
      fs.existsSync(binary),
      `${binary} is missing: build it first (cargo build --workspace --all-targets)`,
    );
    assert.ok(fs.existsSync(chromiumPath), `${chromiumPath} is missing: apt-get install chromium`);
    fs.mkdirSync(screenshotDir, { recursive: true });

    h.tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), 'boai-e2e-'));
    h.logPath = path.join(h.tmpDir, 'boai-serve.log');
    const port = await freePort();
    h.baseUrl = `http://127.0.0.1:${port}`;

    // A hermetic environment: no BOAI_* setting from the caller leaks in, and in
    // particular BOAI_DEMO_PASSWORD is unset so the demo password is the default.
    const env = { ...process.env };
    for (const key of Object.keys(env)) {
      if (key.startsWith('BOAI_')) delete env[key];
    }
    // A smaller demo year than `serve --demo`'s default, so start-up stays quick.
    env.BOAI_DEMO_GIFTS = process.env.BOAI_E2E_DEMO_GIFTS ?? demoGifts;

    const log = fs.openSync(h.logPath, 'a');
    h.server = spawn(
      binary,
      [
        'serve',
        '--demo',
        '--listen',
        `127.0.0.1:${port}`,
        '--data-dir',
        h.tmpDir,
        '--database-url',
        `sqlite://${h.tmpDir}/boai.db`,
      ],
      { cwd: h.tmpDir, env, stdio: ['ignore', log, log] },
    );
    fs.closeSync(log);
    h.serverExit = new Promise((resolve) => {
      h.server.on('exit', (code, signal) => resolve({ code, signal }));
    });
    await new Promise((resolve, reject) => {
      h.server.once('spawn', resolve);
      h.server.once('error', reject);
    });

    await waitForHealthy();

    h.browser = await chromium.launch({
      executablePath: chromiumPath,
      headless: true,
      args: chromiumArgs,
      timeout: 60_000,
    });
  });

  after(async () => {
    for (const { context } of h.loggedIn.values()) {
      await context.close().catch(() => {});
    }
    if (h.browser) await h.browser.close().catch(() => {});

    let shutdown = null;
    if (h.server && h.server.exitCode === null && h.server.signalCode === null) {
      const started = Date.now();
      h.server.kill('SIGTERM');
      let timer;
      const result = await Promise.race([
        h.serverExit,
        new Promise((resolve) => {
          timer = setTimeout(() => resolve(null), SHUTDOWN_TIMEOUT_MS);
        }),
      ]);
      clearTimeout(timer);
      if (result === null) {
        h.server.kill('SIGKILL');
        await h.serverExit;
        shutdown = `boai serve did not exit within ${SHUTDOWN_TIMEOUT_MS / 1000} s of SIGTERM`;
      } else if (result.code !== 0 && result.signal === null) {
        shutdown = `boai serve exited with code ${result.code} after SIGTERM`;
      } else {
        console.log(`# boai serve stopped ${Date.now() - started} ms after SIGTERM (code ${result.code}, signal ${result.signal})`);
      }
    }

    // Keep the server's log beside the screenshots (both git-ignored).
    if (h.logPath && fs.existsSync(h.logPath)) {
      fs.copyFileSync(h.logPath, path.join(screenshotDir, `boai-serve-${name}.log`));
    }
    if (h.tmpDir) fs.rmSync(h.tmpDir, { recursive: true, force: true });

    if (shutdown) assert.fail(`${shutdown}; last log lines:\n${logTail()}`);
  });
}
