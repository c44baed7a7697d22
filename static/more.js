// tailhook pages, continued: access from another device, and inspector
// conveniences that stand apart from app.js's live list. Same rules as
// app.js: no inline script, whatever comes from JSON is set as text.
(function () {
  'use strict';

  function $(sel, root) { return (root || document).querySelector(sel); }

  // Settings are a strip of panels under the capture URL: they start
  // closed, so the requests stay where they are; each summary says its state.
  Array.prototype.forEach.call(document.querySelectorAll('.settings details[open]'), function (d) { d.open = false; });

  // --- light / dark / system ---------------------------------------------------
  var themes = ['system', 'light', 'dark'];
  function applyTheme(t) {
    if (t === 'light' || t === 'dark') document.documentElement.setAttribute('data-theme', t);
    else document.documentElement.removeAttribute('data-theme');
    var b = $('#theme-toggle');
    if (b) b.textContent = 'Theme: ' + (themes.indexOf(t) > 0 ? t : 'system');
  }
  var theme = 'system';
  try { theme = localStorage.getItem('tailhook.theme') || 'system'; } catch (e) { /* storage off */ }
  applyTheme(theme);
  document.addEventListener('click', function (e) {
    if (!e.target.closest('#theme-toggle')) return;
    theme = themes[(themes.indexOf(theme) + 1) % themes.length];
    try { localStorage.setItem('tailhook.theme', theme); } catch (err) { /* storage off */ }
    applyTheme(theme);
  });

  // --- keyboard: ? lists the shortcuts, o loads older requests, f follows ----
  var shortcuts = [
    ['j / k', 'next / previous request'], ['/', 'filter the list'], ['Esc', 'clear the filter'],
    ['o', 'load older requests'], ['f', 'follow newest on / off'], ['?', 'this list']
  ];
  function showShortcuts() {
    var d = $('#shortcuts');
    if (!d) {
      d = document.createElement('dialog');
      d.id = 'shortcuts';
      d.className = 'shortcuts';
      var h = document.createElement('h2');
      h.textContent = 'Keyboard shortcuts';
      var dl = document.createElement('dl');
      shortcuts.forEach(function (s) {
        var dt = document.createElement('dt'), k = document.createElement('kbd'), dd = document.createElement('dd');
        k.textContent = s[0];
        dt.append(k);
        dd.textContent = s[1];
        dl.append(dt, dd);
      });
      var close = document.createElement('button');
      close.type = 'button';
      close.className = 'btn btn-sm';
      close.textContent = 'Close';
      close.addEventListener('click', function () { d.close(); });
      d.append(h, dl, close);
      document.body.append(d);
    }
    if (!d.open) d.showModal();
  }
  document.addEventListener('keydown', function (e) {
    if (e.altKey || e.ctrlKey || e.metaKey || e.target.closest('input, textarea, select, [contenteditable]')) return;
    if (e.key === '?') { e.preventDefault(); showShortcuts(); return; }
    if (!$('#inspector') || $('#shortcuts[open]')) return;
    if (e.key === 'o') {
      var older = $('[data-older]');
      if (older) { e.preventDefault(); older.click(); }
    } else if (e.key === 'f') {
      var f = $('#follow-newest');
      if (f) { e.preventDefault(); f.click(); }
    }
  });

  // --- JSON tree: folds a JSON body of any size (up to the body limit) ------
  // The body comes from its download URL and is parsed once; a node's
  // children are built only when it is opened, at most 200 at a time, so
  // a 10 MiB document opens as fast as a small one.
  var chunk = 200;
  function leaf(v) {
    var s = document.createElement('span');
    if (v === null) { s.className = 'j-null'; s.textContent = 'null'; }
    else if (typeof v === 'string') { s.className = 'j-str'; s.textContent = JSON.stringify(v); }
    else if (typeof v === 'number') { s.className = 'j-num'; s.textContent = String(v); }
    else { s.className = 'j-bool'; s.textContent = String(v); }
    return s;
  }
  function keyEl(k) {
    var s = document.createElement('span');
    s.className = 'j-key';
    s.textContent = typeof k === 'number' ? k + ':' : JSON.stringify(k) + ':';
    return s;
  }
  function treeNode(k, v, open) {
    if (v === null || typeof v !== 'object') {
      var row = document.createElement('div');
      row.className = 'jt-leaf';
      if (k !== undefined) row.append(keyEl(k), ' ');
      row.append(leaf(v));
      return row;
    }
    var isArr = Array.isArray(v), keys = isArr ? null : Object.keys(v), n = isArr ? v.length : keys.length;
    var d = document.createElement('details');
    d.className = 'jt-node';
    var sum = document.createElement('summary');
    if (k !== undefined) sum.append(keyEl(k), ' ');
    var meta = document.createElement('span');
    meta.className = 'muted';
    meta.textContent = (isArr ? '[' : '{') + ' ' + n + (isArr ? (n === 1 ? ' item ]' : ' items ]') : (n === 1 ? ' key }' : ' keys }'));
    sum.append(meta);
    d.append(sum);
    var box = document.createElement('div');
    box.className = 'jt-children';
    d.append(box);
    var shown = 0;
    function more() {
      var end = Math.min(n, shown + chunk);
      for (; shown < end; shown++) box.append(treeNode(isArr ? shown : keys[shown], isArr ? v[shown] : v[keys[shown]], false));
      var old = box.querySelector(':scope > .jt-more');
      if (old) old.remove();
      if (shown < n) {
        var b = document.createElement('button');
        b.type = 'button';
        b.className = 'btn btn-sm jt-more';
        b.textContent = 'Show ' + Math.min(chunk, n - shown) + ' more of ' + (n - shown);
        b.addEventListener('click', more);
        box.append(b);
      }
    }
    d.addEventListener('toggle', function () { if (d.open && shown === 0) more(); });
    if (open) d.open = true;
    return d;
  }
  document.addEventListener('click', function (e) {
    var v = e.target.closest('[data-view]'), t = v && v.closest('.body') && v.closest('.body').querySelector('[data-json-tree]');
    if (t) t.setAttribute('aria-pressed', 'false');
    var b = e.target.closest('[data-json-tree]');
    if (!b) return;
    var body = b.closest('.body');
    var pane = body.querySelector('[data-view-pane="tree"]');
    var show = function () {
      Array.prototype.forEach.call(body.querySelectorAll('[data-view-pane]'), function (p) { p.hidden = p !== pane; });
      Array.prototype.forEach.call(body.querySelectorAll('[data-view]'), function (x) { x.setAttribute('aria-pressed', 'false'); });
      b.setAttribute('aria-pressed', 'true');
    };
    if (pane) { show(); return; }
    b.disabled = true;
    b.textContent = 'Loading…';
    fetch(b.getAttribute('data-json-tree'), { credentials: 'same-origin' })
      .then(function (r) { if (!r.ok) throw new Error('HTTP ' + r.status); return r.text(); })
      .then(function (text) {
        var v = JSON.parse(text);
        pane = document.createElement('div');
        pane.className = 'view code json-tree';
        pane.setAttribute('data-view-pane', 'tree');
        pane.append(treeNode(undefined, v, true));
        body.append(pane);
        show();
      })
      .catch(function (err) { b.title = 'Could not build the tree: ' + err.message; })
      .then(function () { b.disabled = false; b.textContent = 'Tree'; });
  });

  // --- "Open on another device": a single-use login link ---------------------
  document.addEventListener('click', function (e) {
    var b = e.target.closest('[data-login-link]');
    if (!b) return;
    b.disabled = true;
    // The server answers the link as a fragment: the URL and its QR code,
    // drawn there (no QR script here, and the secret in no image URL).
    fetch(b.getAttribute('data-login-link'), { method: 'POST', credentials: 'same-origin' })
      .then(function (r) { if (!r.ok) throw new Error('HTTP ' + r.status); return r.text(); })
      .then(function (text) {
        var t = document.createElement('template');
        t.innerHTML = text; // our own server's escaped HTML
        var out = t.content.querySelector('#login-link-out');
        if (!out) throw new Error('no link in the answer');
        var when = out.querySelector('time');
        if (when) when.textContent = new Date(when.getAttribute('datetime')).toLocaleTimeString();
        $('#login-link-out').replaceWith(out);
        b.textContent = 'Make another link';
      })
      .catch(function (err) {
        var out = $('#login-link-out');
        out.textContent = 'Could not make a link: ' + err.message;
        out.hidden = false;
      })
      .then(function () { b.disabled = false; });
  });
})();
