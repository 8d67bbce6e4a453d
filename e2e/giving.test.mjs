// Browser end-to-end test of online giving (issue 5), on a phone viewport:
// the public giving page, the sandbox provider's payment page (确认支付),
// the return page that waits for the signed notification, the confirmation
// with the e-certificate downloaded as a PDF, and finding the gift again by
// certificate number and name.
//
// Same harness as login.test.mjs: node:test + playwright-core driving
// /usr/bin/chromium, against `target/debug/boai serve --demo` on a free port.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { h, useServer, screenshotDir, viewports, describePage, newContext } from './support.mjs';

useServer({ name: 'giving' });

test('phone: gives online through the sandbox and downloads the certificate', { timeout: 120_000 }, async () => {
  const vp = viewports.find((v) => v.name === 'phone');
  const context = await newContext(vp);
  try {
    const page = await context.newPage();
    const res = await page.goto(`${h.baseUrl}/give`);
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
    const file = path.join(h.tmpDir, 'certificate.pdf');
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
