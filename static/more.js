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

  // --- "Open on another device": a single-use login link ---------------------
  document.addEventListener('click', function (e) {
    var b = e.target.closest('[data-login-link]');
    if (!b) return;
    b.disabled = true;
    fetch(b.getAttribute('data-login-link'), {
      method: 'POST', credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json' }, body: '{}'
    })
      .then(function (r) { if (!r.ok) throw new Error('HTTP ' + r.status); return r.json(); })
      .then(function (l) {
        $('#login-link-url').textContent = l.url;
        $('#login-link-expiry').textContent = 'Works once, until ' + new Date(l.expires_at).toLocaleTimeString() + '.';
        $('#login-link-out').hidden = false;
        b.textContent = 'Make another link';
      })
      .catch(function (err) { $('#login-link-expiry').textContent = 'Could not make a link: ' + err.message; $('#login-link-out').hidden = false; })
      .then(function () { b.disabled = false; });
  });
})();
