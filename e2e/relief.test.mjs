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

import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { h, useServer, screenshotDir, STEP_TIMEOUT_MS, viewports, describePage, newContext } from './support.mjs';

useServer({ name: 'relief' });


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
    const res = await page.goto(`${h.baseUrl}/relief/apply`);
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

    await page.goto(`${h.baseUrl}/relief/status`);
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
