// Browser end-to-end tests: the public home page, signing in, the organisation
// tree and a wrong password, recording a gift, and finding a gift whose ledger
// proof the page's script checks, on a desktop and on a phone viewport.
//
// Runs with Node's own test runner (`node --test e2e/`) and playwright-core,
// driving Debian's Chromium at /usr/bin/chromium (nothing is downloaded).
// It starts the debug binary `target/debug/boai serve --demo` on a free port,
// with a fresh SQLite database in a temporary folder, so `cargo build` must
// have run first (scripts/test.sh does that).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { h, useServer, screenshotDir, DEMO_USER, DEMO_PASSWORD, STEP_TIMEOUT_MS, viewports, describePage, newContext, submitLogin } from './support.mjs';

useServer({ name: 'login' });

for (const vp of viewports) {
  test(`${vp.name}: GET / is the public home page with security headers`, { timeout: 60_000 }, async () => {
    const context = await newContext(vp);
    try {
      const page = await context.newPage();
      const res = await page.goto(`${h.baseUrl}/`);
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
    h.loggedIn.set(vp.name, { context, page });
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
    const session = h.loggedIn.get(vp.name);
    assert.ok(session, 'not signed in (the sign-in test did not run)');
    const { page } = session;
    const res = await page.goto(`${h.baseUrl}/orgs`);
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
      await page.goto(`${h.baseUrl}/fundraising/new`);
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
      const pdf = await context.request.get(`${h.baseUrl}${href}`);
      assert.equal(pdf.status(), 200, `certificate answered ${pdf.status()}`);
      assert.equal(pdf.headers()['content-type'], 'application/pdf');
      const bytes = await pdf.body();
      assert.ok(bytes.subarray(0, 5).toString() === '%PDF-', 'certificate is not a PDF');
    } finally {
      await context.close();
    }
  });

  test(`${vp.name}: find my gift checks its ledger proof in the h.browser`, { timeout: 90_000 }, async () => {
    // A demo certificate and its donor's name, read through the staff API.
    const tokenRes = await fetch(`${h.baseUrl}/api/v1/auth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'caiwu', password: DEMO_PASSWORD }),
    });
    assert.equal(tokenRes.status, 200, `token answered ${tokenRes.status}`);
    const { token } = await tokenRes.json();
    const listRes = await fetch(`${h.baseUrl}/api/v1/donations?per_page=50`, {
      headers: { authorization: `Bearer ${token}` },
    });
    const list = await listRes.json();
    const gift = list.items.find((g) => g.donor_name && g.ledger_index !== null && g.ledger_index !== undefined);
    assert.ok(gift, 'no named demo gift in the first 50');

    const context = await newContext(vp);
    try {
      const page = await context.newPage();
      await page.goto(`${h.baseUrl}/transparency/find`);
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
        assert.fail(`the h.browser did not verify the proof: ${steps.replace(/\s+/g, ' ').slice(0, 600)}`);
      }
      const steps = await page.locator('#ledger-proof-steps li.ok').count();
      assert.ok(steps >= 4, `only ${steps} checks passed in the h.browser`);
      assert.equal(await page.locator('#ledger-proof-steps li.bad').count(), 0, 'a check failed in the h.browser');
      if (vp.name === 'phone') {
        const { scrollWidth, innerWidth } = await page.evaluate(() => ({
          scrollWidth: document.documentElement.scrollWidth,
          innerWidth: window.innerWidth,
        }));
        assert.ok(scrollWidth <= innerWidth + 1, `find page scrolls horizontally on a phone (${scrollWidth} > ${innerWidth})`);
      }
      await page.screenshot({ path: path.join(screenshotDir, `find-${vp.name}.png`), fullPage: true });

      // The portal: every project reconciles (no ✗), on any screen.
      const res = await page.goto(`${h.baseUrl}/transparency`);
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
