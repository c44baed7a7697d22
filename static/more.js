// tailhook pages, continued: access from another device, and inspector
// conveniences that stand apart from app.js's live list. Same rules as
// app.js: no inline script, whatever comes from JSON is set as text.
(function () {
  'use strict';

  function $(sel, root) { return (root || document).querySelector(sel); }

  // Settings are a strip of panels under the capture URL: they start
  // closed, so the requests stay where they are; each summary says its state.
  Array.prototype.forEach.call(document.querySelectorAll('.settings details[open]'), function (d) { d.open = false; });

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
