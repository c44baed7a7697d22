// tailhook pages: live list, details without reloads, copy buttons, j/k.
// Loaded from our origin only; no inline script anywhere. Every piece of HTML
// inserted here was rendered and escaped by the server.
(function () {
  'use strict';

  function $(sel, root) { return (root || document).querySelector(sel); }
  function $$(sel, root) { return Array.prototype.slice.call((root || document).querySelectorAll(sel)); }

  // --- copy buttons: data-copy="#element" ---------------------------------
  function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text);
    }
    var ta = document.createElement('textarea');
    ta.value = text;
    ta.setAttribute('readonly', '');
    ta.className = 'visually-hidden';
    document.body.appendChild(ta);
    ta.select();
    try { document.execCommand('copy'); } finally { ta.remove(); }
    return Promise.resolve();
  }
  document.addEventListener('click', function (e) {
    var b = e.target.closest('[data-copy]');
    if (!b) return;
    var src = document.querySelector(b.getAttribute('data-copy'));
    if (!src) return;
    var label = b.textContent;
    copyText(src.textContent).then(function () {
      b.textContent = 'Copied';
      setTimeout(function () { b.textContent = label; }, 1200);
    });
  });

  // --- relative times: <span data-ago="ISO"> --------------------------------
  function ago(iso) {
    var s = Math.max(0, (Date.now() - Date.parse(iso)) / 1000);
    if (s < 10) return 'just now';
    if (s < 60) return Math.floor(s) + 's ago';
    if (s < 3600) return Math.floor(s / 60) + 'm ago';
    if (s < 86400) return Math.floor(s / 3600) + 'h ago';
    return Math.floor(s / 86400) + 'd ago';
  }
  function refreshTimes() {
    $$('[data-ago]').forEach(function (el) {
      var iso = el.getAttribute('data-ago') || el.getAttribute('datetime');
      if (iso) el.textContent = ago(iso);
    });
  }
  setInterval(refreshTimes, 15000);

  var insp = $('#inspector');
  if (!insp) return;
  var list = $('#request-list');
  var detail = $('#detail');
  var empty = $('#list-empty');
  var status = $('#live-status');

  function html(text) {
    var t = document.createElement('template');
    t.innerHTML = text;
    return t.content;
  }
  function rowOf(id) {
    return $$('.req', list).filter(function (r) { return r.getAttribute('data-request-id') === id; })[0];
  }
  function setStatus(state) {
    status.setAttribute('data-state', state);
    status.textContent = state;
  }

  // --- live stream -------------------------------------------------------
  // EventSource reconnects by itself and sends Last-Event-ID; the server
  // replays whatever was captured meanwhile, so the list has no gaps.
  var es = new EventSource(insp.getAttribute('data-stream'));
  es.addEventListener('open', function () { setStatus('live'); });
  es.addEventListener('error', function () {
    setStatus(es.readyState === EventSource.CLOSED ? 'offline' : 'reconnecting');
  });
  es.addEventListener('request', function (ev) {
    var row = html(ev.data).firstElementChild;
    if (!row || rowOf(row.getAttribute('data-request-id'))) return;
    row.classList.add('new');
    list.insertBefore(row, list.firstElementChild);
    empty.hidden = true;
    if (!$('[data-detail-id]', detail)) select(row, false);
  });
  window.addEventListener('pagehide', function () { es.close(); });

  // --- selection and details ---------------------------------------------
  var pending = null;
  function select(row, focus) {
    if (!row) return;
    $$('.req[aria-current]', list).forEach(function (r) { r.removeAttribute('aria-current'); });
    row.setAttribute('aria-current', 'true');
    var a = $('a', row);
    if (focus) a.focus({ preventScroll: true });
    row.scrollIntoView({ block: 'nearest' });
    history.replaceState(null, '', a.getAttribute('href'));
    if (pending) pending.abort();
    pending = new AbortController();
    fetch(a.getAttribute('data-detail'), { signal: pending.signal, credentials: 'same-origin' })
      .then(function (r) { if (!r.ok) throw new Error(r.status); return r.text(); })
      .then(function (text) { detail.replaceChildren(html(text)); refreshTimes(); })
      .catch(function (err) { if (err.name !== 'AbortError') location.href = a.getAttribute('href'); });
  }
  list.addEventListener('click', function (e) {
    var a = e.target.closest('.req a');
    if (!a || e.metaKey || e.ctrlKey || e.shiftKey || e.button !== 0) return;
    e.preventDefault();
    select(a.parentElement, true);
  });
  document.addEventListener('keydown', function (e) {
    if (e.altKey || e.ctrlKey || e.metaKey || e.target.closest('input, textarea, select, [contenteditable]')) return;
    if (e.key !== 'j' && e.key !== 'k') return;
    var rows = $$('.req', list);
    if (!rows.length) return;
    var cur = rows.indexOf($('.req[aria-current]', list));
    var next = e.key === 'j' ? Math.min(cur + 1, rows.length - 1) : Math.max(cur - 1, 0);
    if (cur < 0) next = 0;
    if (next !== cur) select(rows[next], true);
    e.preventDefault();
  });

  // --- load older ----------------------------------------------------------
  insp.addEventListener('click', function (e) {
    var a = e.target.closest('[data-older]');
    if (!a) return;
    e.preventDefault();
    fetch(a.getAttribute('data-older'), { credentials: 'same-origin' })
      .then(function (r) { return r.text(); })
      .then(function (text) {
        var frag = html(text);
        var rows = frag.querySelector('ol');
        Array.prototype.slice.call(rows.children).forEach(function (r) {
          if (!rowOf(r.getAttribute('data-request-id'))) list.appendChild(r);
        });
        var old = $('#older');
        var next = frag.querySelector('#older');
        if (next) old.replaceWith(next); else old.remove();
      });
  });

  // --- body view toggle ----------------------------------------------------
  detail.addEventListener('click', function (e) {
    var b = e.target.closest('[data-view]');
    if (!b) return;
    var body = b.closest('.body');
    var view = b.getAttribute('data-view');
    $$('[data-view]', body).forEach(function (x) { x.setAttribute('aria-pressed', String(x === b)); });
    $$('[data-view-pane]', body).forEach(function (p) { p.hidden = p.getAttribute('data-view-pane') !== view; });
  });

  // --- delete one, clear all -----------------------------------------------
  function del(url) {
    return fetch(url, { method: 'DELETE', credentials: 'same-origin' }).then(function (r) {
      if (!r.ok && r.status !== 404) throw new Error('HTTP ' + r.status);
    });
  }
  insp.addEventListener('click', function (e) {
    var d = e.target.closest('[data-delete]');
    if (d) {
      var id = d.getAttribute('data-request');
      del(d.getAttribute('data-delete')).then(function () {
        var row = rowOf(id);
        var next = row && (row.nextElementSibling || row.previousElementSibling);
        if (row) row.remove();
        if (next) select(next, false);
        else { detail.replaceChildren(html('<div class="placeholder"><p>Request deleted.</p></div>')); empty.hidden = false; }
      }).catch(function (err) { alert('Could not delete: ' + err.message); });
      return;
    }
    var c = e.target.closest('[data-clear]');
    if (c && confirm('Delete every request in this bin?')) {
      del(c.getAttribute('data-clear')).then(function () {
        list.replaceChildren();
        $('#older') && $('#older').remove();
        empty.hidden = false;
        detail.replaceChildren(html('<div class="placeholder"><p>The bin is empty.</p></div>'));
        history.replaceState(null, '', location.pathname);
      }).catch(function (err) { alert('Could not clear: ' + err.message); });
    }
  });

  // --- response settings ---------------------------------------------------
  var form = $('#response-form');
  if (form) {
    var note = $('.form-status', form);
    var send = function (method, body) {
      note.textContent = 'Saving…';
      return fetch(form.getAttribute('data-url'), {
        method: method, credentials: 'same-origin',
        headers: body ? { 'Content-Type': 'application/json' } : {},
        body: body ? JSON.stringify(body) : undefined
      }).then(function (r) {
        return r.json().then(function (j) {
          if (!r.ok) throw new Error(j.error || ('HTTP ' + r.status));
          note.textContent = 'Saved.';
          return j;
        });
      }).catch(function (err) { note.textContent = err.message; });
    };
    form.addEventListener('submit', function (e) {
      e.preventDefault();
      var headers = {};
      form.elements.headers.value.split('\n').forEach(function (line) {
        var i = line.indexOf(':');
        if (i > 0) headers[line.slice(0, i).trim()] = line.slice(i + 1).trim();
      });
      var sequence = [];
      var bad = null;
      form.elements.sequence.value.split(',').forEach(function (p) {
        p = p.trim();
        if (!p) return;
        var m = /^(\d{3})\s*(?:[x×*]\s*(\d+))?$/.exec(p);
        if (!m) { bad = p; return; }
        sequence.push({ status: +m[1], times: m[2] ? +m[2] : 1 });
      });
      if (bad) { note.textContent = 'Sequence: cannot read "' + bad + '"; write e.g. 500x3, 429'; return; }
      send('PUT', {
        status: +form.elements.status.value || 200,
        delay_ms: +form.elements.delay_ms.value || 0,
        headers: headers, body: form.elements.body.value, sequence: sequence
      });
    });
    $('[data-reset-response]', form).addEventListener('click', function () {
      send('DELETE').then(function (j) { if (j) location.reload(); });
    });
  }
})();
