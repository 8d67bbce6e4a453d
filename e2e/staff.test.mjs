// The staff side in a real browser (issue 22): each role's main pages — its
// start page and every module its navigation offers, with their first
// list page — on a 1,366 px desktop and a phone. A page never scrolls
// sideways (a wide table scrolls inside itself), money never breaks inside
// a number, and axe-core finds no serious or critical accessibility
// violation. The Rust crawl test (crates/boai-web/tests/web/crawl.rs)
// follows every link and form; this file checks what only a browser can.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import { h, useServer, DEMO_PASSWORD, STEP_TIMEOUT_MS, submitLogin } from './support.mjs';

useServer({ name: 'staff' });

const axeSource = fs.readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

const screens = [
  { name: 'desktop', options: { viewport: { width: 1366, height: 768 } } },
  { name: 'phone', options: { viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true } },
];

// Pages every role reaches from its navigation, plus the lists the issue
// names; a page the role may not open is not in its navigation, so it is
// not visited here (the crawl test checks that no link leads to one).
const extraPages = ['/orgs/list', '/network/units', '/members', '/members/arrears', '/audit', '/fundraising/major-donors'];

async function signedIn(screen, user) {
  // bypassCSP only lets the test inject axe-core; the pages are unchanged.
  const context = await h.browser.newContext({ ...screen.options, locale: 'zh-CN', bypassCSP: true });
  context.setDefaultTimeout(STEP_TIMEOUT_MS);
  const page = await context.newPage();
  const landed = page.waitForURL((url) => url.pathname.endsWith('/dashboard'));
  await submitLogin(page, user, DEMO_PASSWORD);
  await landed;
  return { context, page };
}

async function navLinks(page) {
  return page.$$eval('nav[aria-label=modules] a', (links) => links.map((a) => new URL(a.href).pathname));
}

async function checkPage(page, path, problems) {
  const res = await page.goto(`${h.baseUrl}${path}`);
  const status = res?.status();
  if (status === 403 || status === 404) return; // not this role's page (crawl test covers links)
  if (status !== 200) {
    problems.push(`${path}: ${status}`);
    return;
  }
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  if (overflow > 1) problems.push(`${path}: the page scrolls sideways by ${overflow} px`);
  // Money is one line: a cell holding ¥ is no taller than one line of text.
  const broken = await page.$$eval('td', (cells) =>
    cells
      .filter((td) => /^-?¥[\d,]+\.\d\d$/.test(td.textContent.trim()))
      .filter((td) => {
        const range = document.createRange();
        range.selectNodeContents(td);
        return range.getClientRects().length > 1;
      })
      .map((td) => td.textContent.trim())
      .slice(0, 3),
  );
  if (broken.length) problems.push(`${path}: money broken over lines: ${broken.join(', ')}`);
  await page.evaluate(axeSource);
  const result = await page.evaluate(async () =>
    // eslint-disable-next-line no-undef
    axe.run(document, { resultTypes: ['violations'] }),
  );
  for (const v of result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')) {
    problems.push(`${path}: axe ${v.impact} ${v.id} (${v.nodes.length}×: ${v.nodes[0]?.target?.join(' ')})`);
  }
}

for (const screen of screens) {
  for (const user of ['caiwu', 'lixia', 'admin', 'jiceng']) {
    test(`${screen.name}: ${user}'s main pages fit the screen and pass axe`, { timeout: 180_000 }, async () => {
      const { context, page } = await signedIn(screen, user);
      const problems = [];
      try {
        const pages = ['/dashboard', ...(await navLinks(page)), ...extraPages];
        for (const path of [...new Set(pages)].filter((p) => !p.startsWith('/m/'))) {
          await checkPage(page, path, problems);
        }
      } finally {
        await context.close();
      }
      assert.deepEqual(problems, [], problems.join('\n'));
    });
  }
}
