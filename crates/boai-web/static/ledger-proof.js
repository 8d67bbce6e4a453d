// Boai: checks a gift's ledger proof in the browser, trusting nothing the
// server computed. Served as /static/ledger-proof.js (the page's CSP allows
// scripts from this origin only, never inline). It reads the data the page
// put on #ledger-proof and:
//   1. recomputes the leaf hash SHA-256(0x00 ‖ entry) of the entry's bytes;
//   2. walks the audit path with RFC 6962 node hashing SHA-256(0x01 ‖ l ‖ r),
//      deciding left/right from the index and tree size exactly as RFC 9162
//      §2.1.3.2 (and Go's golang.org/x/mod/sumdb/tlog) do, and compares the
//      result with the root;
//   3. checks that root and size are the ones the signed checkpoint names;
//   4. recomputes the commitment SHA-256("boai-commitment-v1" ‖ 0x00 ‖
//      certificate ‖ 0x00 ‖ name ‖ 0x00 ‖ salt) and compares it with the
//      entry's "commitment".
// WebCrypto (crypto.subtle) exists only in secure contexts: https, or
// http://localhost. Elsewhere the page says so instead of pretending.
(function () {
  'use strict';

  var box = document.getElementById('ledger-proof');
  if (!box) { return; }
  var result = document.getElementById('ledger-proof-result');
  var steps = document.getElementById('ledger-proof-steps');
  var d = box.dataset;

  function say(text, ok) {
    result.textContent = text;
    result.className = ok ? 'ok' : 'bad';
  }

  function step(text, ok) {
    var li = document.createElement('li');
    li.textContent = (ok ? '✓ ' : '✗ ') + text;
    li.className = ok ? 'ok' : 'bad';
    steps.appendChild(li);
    return ok;
  }

  if (!window.crypto || !window.crypto.subtle) {
    say('✗ 无法在此浏览器中核验: 本页不是通过 HTTPS (或本机 localhost) 打开, 浏览器因此不提供 WebCrypto (crypto.subtle)。' +
        '请改用 https 地址打开, 或按"如何自行核验"用 boai verify 或 Go 程序核验。 / ' +
        'Cannot verify here: WebCrypto is only available on https (or localhost) pages.', false);
    return;
  }

  var utf8 = new TextEncoder();

  function b64(text) {
    var bin = atob(text);
    var out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) { out[i] = bin.charCodeAt(i); }
    return out;
  }

  function hex(bytes) {
    var s = '';
    for (var i = 0; i < bytes.length; i++) { s += (bytes[i] < 16 ? '0' : '') + bytes[i].toString(16); }
    return s;
  }

  function same(a, b) {
    if (a.length !== b.length) { return false; }
    for (var i = 0; i < a.length; i++) { if (a[i] !== b[i]) { return false; } }
    return true;
  }

  function sha256() {
    var parts = Array.prototype.slice.call(arguments);
    var n = 0;
    parts.forEach(function (p) { n += p.length; });
    var buf = new Uint8Array(n);
    var at = 0;
    parts.forEach(function (p) { buf.set(p, at); at += p.length; });
    return crypto.subtle.digest('SHA-256', buf).then(function (h) { return new Uint8Array(h); });
  }

  var ZERO = Uint8Array.of(0);
  var ONE = Uint8Array.of(1);

  // RFC 9162 §2.1.3.2: recompute the root from a leaf hash and its path.
  async function rootFromPath(index, size, leaf, path) {
    if (index >= size) { return null; }
    var fn = index;
    var sn = size - 1;
    var r = leaf;
    for (var i = 0; i < path.length; i++) {
      var p = path[i];
      if (sn === 0) { return null; }
      if (fn % 2 === 1 || fn === sn) {
        r = await sha256(ONE, p, r);
        if (fn % 2 === 0) {
          while (fn % 2 === 0 && fn !== 0) { fn = Math.floor(fn / 2); sn = Math.floor(sn / 2); }
        }
      } else {
        r = await sha256(ONE, r, p);
      }
      fn = Math.floor(fn / 2);
      sn = Math.floor(sn / 2);
    }
    return sn === 0 ? r : null;
  }

  async function run() {
    var index = Number(d.index);
    var size = Number(d.size);
    var entry = utf8.encode(d.entry);
    var root = b64(d.root);
    var path = d.path ? d.path.split(' ').filter(Boolean).map(b64) : [];
    var all = true;

    var leaf = await sha256(ZERO, entry);
    all = step('叶子哈希 SHA-256(0x00‖条目) = ' + hex(leaf) + ' / leaf hash recomputed', d.leaf ? same(leaf, b64(d.leaf)) : true) && all;

    var computed = await rootFromPath(index, size, leaf, path);
    all = step('沿审计路径 (' + path.length + ' 个哈希) 算出的根哈希与检查点的根一致 / the audit path leads to the root',
      computed !== null && same(computed, root)) && all;

    var lines = (d.checkpoint || '').split('\n');
    all = step('检查点 (第 ' + size + ' 条为止) 写明的正是这个根 / the checkpoint names this size and root',
      lines[1] === String(size) && lines[2] === d.root) && all;

    var parsed = JSON.parse(d.entry);
    if (d.salt) {
      var sep = ZERO;
      var c = await sha256(utf8.encode('boai-commitment-v1'), sep, utf8.encode(d.cert), sep,
        utf8.encode(d.name || ''), sep, utf8.encode(d.salt));
      all = step('承诺 SHA-256("boai-commitment-v1"‖0‖证书编号‖0‖姓名‖0‖盐) = ' + hex(c) + ', 与条目中的 commitment 一致 / the commitment opens',
        parsed.commitment === hex(c)) && all;
    }

    say(all ? '✓ 已验证 / verified' : '✗ 核验未通过 / verification failed', all);
  }

  run().catch(function (e) { say('✗ 核验出错 / error: ' + e, false); });
}());
