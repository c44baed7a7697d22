// tailhook pages: live list, details without reloads, copy buttons, j/k,
// the filter, settings panels and the request tools.
// Loaded from our origin only; no inline script anywhere. Every piece of HTML
// inserted here was rendered and escaped by the server; whatever this script
// builds from JSON (forward results, verdicts, share links) is set with
// textContent only.
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

  // --- small DOM and API helpers --------------------------------------------
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  // api sends JSON and resolves with the decoded answer; it rejects with the
  // server's own message ({"error": …}) when there is one.
  function api(method, url, body) {
    return fetch(url, {
      method: method, credentials: 'same-origin',
      headers: body !== undefined ? { 'Content-Type': 'application/json' } : {},
      body: body !== undefined ? JSON.stringify(body) : undefined
    }).then(function (r) {
      if (r.status === 204) return null;
      return r.text().then(function (t) {
        var j = null;
        try { j = t ? JSON.parse(t) : null; } catch (e) { j = null; }
        if (!r.ok) throw new Error((j && j.error) || ('HTTP ' + r.status));
        return j;
      });
    });
  }
  function tell(form, text) {
    var n = form && $('.form-status', form);
    if (n) n.textContent = text;
  }
  // headerLines reads "Name: value" lines; "Name:" alone maps to null.
  function headerLines(text, empty) {
    var out = {};
    text.split('\n').forEach(function (line) {
      var i = line.indexOf(':');
      if (i <= 0) return;
      var k = line.slice(0, i).trim(), v = line.slice(i + 1).trim();
      if (v === '' && empty !== undefined) { out[k] = empty; return; }
      if (Object.prototype.hasOwnProperty.call(out, k) && out[k] !== null) {
        out[k] = [].concat(out[k], v);
      } else {
        out[k] = v;
      }
    });
    return out;
  }

  // --- copy as cURL: one builder, the API's ---------------------------------
  document.addEventListener('click', function (e) {
    var b = e.target.closest('[data-curl]');
    if (!b) return;
    var label = b.textContent;
    fetch(b.getAttribute('data-curl'), { credentials: 'same-origin' })
      .then(function (r) { if (!r.ok) throw new Error('HTTP ' + r.status); return r.text(); })
      .then(copyText)
      .then(function () { b.textContent = 'Copied'; })
      .catch(function (err) { b.textContent = 'Copy failed: ' + err.message; })
      .then(function () { setTimeout(function () { b.textContent = label; }, 1500); });
  });

  var insp = $('#inspector');
  if (!insp) return;
  var list = $('#request-list');
  var detail = $('#detail');
  var empty = $('#list-empty');
  var status = $('#live-status');
  var follow = $('#follow-newest');
  if (follow) {
    try { follow.checked = localStorage.getItem('tailhook.follow') === '1'; } catch (e) { /* storage off */ }
    follow.addEventListener('change', function () {
      try { localStorage.setItem('tailhook.follow', follow.checked ? '1' : '0'); } catch (e) { /* storage off */ }
      if (follow.checked && list.firstElementChild) select(list.firstElementChild, false);
    });
  }

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
  // replays whatever was captured meanwhile, so the list has no gaps. The
  // stream carries the list's filter: a new filter is a new stream.
  var streamBase = insp.getAttribute('data-stream').split('?')[0];
  var es = null;
  // updates holds row-updates that came before their row; gone, the ids
  // deleted meanwhile, so that a late event cannot bring one back.
  var updates = {};
  var gone = {};
  function connect(url) {
    if (es) es.close();
    setStatus('connecting');
    var me = new EventSource(url);
    es = me;
    me.addEventListener('open', function () { if (es === me) setStatus('live'); });
    me.addEventListener('error', function () {
      if (es === me) setStatus(me.readyState === EventSource.CLOSED ? 'offline' : 'reconnecting');
    });
    me.addEventListener('request', function (ev) {
      var row = html(ev.data).firstElementChild;
      if (!row) return;
      var id = row.getAttribute('data-request-id');
      if (rowOf(id) || gone[id]) return;
      if (updates[id]) { row = updates[id]; delete updates[id]; }
      row.classList.add('new');
      list.insertBefore(row, list.firstElementChild);
      empty.hidden = true;
      unseenOne();
      // Auto-open: with nothing selected, the first request to arrive opens
      // and stays open (select marks it at once, so a burst cannot race);
      // with "follow newest" on, every new request opens as it arrives.
      if (follow && follow.checked || !$('.req[aria-current]', list)) select(row, false);
    });
    me.addEventListener('row-update', function (ev) {
      var row = html(ev.data).firstElementChild;
      if (!row) return;
      var id = row.getAttribute('data-request-id');
      if (gone[id]) return;
      var old = rowOf(id);
      if (!old) { updates[id] = row; return; }
      if (old.hasAttribute('aria-current')) row.setAttribute('aria-current', 'true');
      old.replaceWith(row);
      var open = $('[data-detail-id]', detail);
      if (open && open.getAttribute('data-detail-id') === id) refreshForwarding(row);
    });
    // Deleted here or in another tab: one request's id, or "*" for all.
    // "bin": the bin itself was deleted; this page has nothing left to show.
    me.addEventListener('removed', function (ev) {
      if (ev.data === 'bin') { binDeleted(); return; }
      if (ev.data === '*') removeAll(); else removeRow(ev.data);
    });
  }
  // While the tab is in the background, its title counts the requests that
  // arrived meanwhile: "(3) stripe-dev · tailhook".
  var baseTitle = document.title, unseen = 0;
  function unseenOne() {
    if (!document.hidden) return;
    unseen++;
    document.title = '(' + unseen + ') ' + baseTitle;
  }
  document.addEventListener('visibilitychange', function () {
    if (document.hidden || !unseen) return;
    unseen = 0;
    document.title = baseTitle;
  });
  connect(insp.getAttribute('data-stream'));
  window.addEventListener('pagehide', function () { if (es) es.close(); });

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

  // --- filter: narrows the list and the live stream ------------------------
  var filter = $('#filter');
  function exportLinks(q) {
    $$('[data-export]').forEach(function (a) {
      var u = a.getAttribute('href').split('?')[0];
      a.setAttribute('href', q ? u + '?q=' + encodeURIComponent(q) : u);
    });
  }
  function setEmptyText(q) {
    empty.textContent = empty.getAttribute(q ? 'data-filtered-text' : 'data-empty-text');
  }
  var filterTimer = null, filterReq = null, filterValue = filter ? filter.value.trim() : '';
  function applyFilter() {
    var q = filter.value.trim();
    if (q === filterValue) return;
    filterValue = q;
    if (filterReq) filterReq.abort();
    filterReq = new AbortController();
    var u = filter.getAttribute('data-rows') + (q ? '?q=' + encodeURIComponent(q) : '');
    fetch(u, { credentials: 'same-origin', signal: filterReq.signal })
      .then(function (r) { if (!r.ok) throw new Error('HTTP ' + r.status); return r.text(); })
      .then(function (text) {
        var frag = html(text);
        var rows = frag.querySelector('ol');
        var selected = $('.req[aria-current]', list);
        var selID = selected && selected.getAttribute('data-request-id');
        list.replaceChildren.apply(list, Array.prototype.slice.call(rows.children));
        var cur = selID && rowOf(selID);
        if (cur) cur.setAttribute('aria-current', 'true');
        updates = {};
        var old = $('#older');
        var next = frag.querySelector('#older');
        if (old && next) old.replaceWith(next);
        else if (old) old.remove();
        else if (next) empty.after(next);
        empty.hidden = list.children.length > 0;
        setEmptyText(q);
        exportLinks(q);
        var page = new URL(location.href);
        if (q) page.searchParams.set('q', q); else page.searchParams.delete('q');
        history.replaceState(null, '', page.pathname + page.search);
        var s = streamBase + '?last_event_id=' + encodeURIComponent(rows.getAttribute('data-last-seq') || '0');
        connect(q ? s + '&q=' + encodeURIComponent(q) : s);
      })
      .catch(function (err) { if (err.name !== 'AbortError') setStatus('offline'); });
  }
  if (filter) {
    filter.addEventListener('input', function () {
      clearTimeout(filterTimer);
      filterTimer = setTimeout(applyFilter, 250);
    });
    filter.form.addEventListener('submit', function (e) {
      e.preventDefault();
      clearTimeout(filterTimer);
      applyFilter();
    });
    filter.addEventListener('keydown', function (e) {
      if (e.key === 'Escape') { filter.value = ''; clearTimeout(filterTimer); applyFilter(); filter.blur(); }
    });
    document.addEventListener('keydown', function (e) {
      if (e.key !== '/' || e.altKey || e.ctrlKey || e.metaKey) return;
      if (e.target.closest('input, textarea, select, [contenteditable]')) return;
      e.preventDefault();
      filter.focus();
      filter.select();
    });
  }

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

  // --- rename: the title, the heading and the home page's list ------------
  // Inline: the heading becomes a text field; Enter saves, Escape cancels.
  insp.addEventListener('click', function (e) {
    var b = e.target.closest('[data-rename]');
    if (!b || $('#rename-input')) return;
    var h = $('#bin-title');
    var input = document.createElement('input');
    input.type = 'text';
    input.id = 'rename-input';
    input.maxLength = 200;
    input.value = b.getAttribute('data-name');
    input.placeholder = 'Name (empty for none)';
    input.setAttribute('aria-label', 'Name of this bin');
    h.hidden = true;
    b.hidden = true;
    h.after(input);
    input.focus();
    input.select();
    var done = false;
    function close() {
      done = true;
      input.remove();
      h.hidden = false;
      b.hidden = false;
    }
    function save() {
      if (done) return;
      var name = input.value;
      if (name === b.getAttribute('data-name')) { close(); return; }
      done = true;
      input.disabled = true;
      fetch(b.getAttribute('data-rename'), {
        method: 'PATCH', credentials: 'same-origin',
        headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ name: name })
      })
        .then(function (r) {
          if (!r.ok) return r.json().then(function (j) { throw new Error(j.error || 'HTTP ' + r.status); });
          return r.json();
        })
        .then(function (bin) {
          if (bin.name) {
            h.textContent = bin.name;
          } else {
            var id = document.createElement('span');
            id.className = 'mono';
            id.textContent = bin.id;
            h.replaceChildren(document.createTextNode('Bin '), id);
          }
          b.setAttribute('data-name', bin.name);
          baseTitle = (bin.name || 'Bin ' + bin.id) + ' · tailhook';
          document.title = unseen ? '(' + unseen + ') ' + baseTitle : baseTitle;
          close();
        })
        .catch(function (err) {
          done = false;
          input.disabled = false;
          input.setCustomValidity('Could not rename: ' + err.message);
          input.reportValidity();
        });
    }
    input.addEventListener('keydown', function (ev) {
      if (ev.key === 'Enter') { ev.preventDefault(); save(); }
      if (ev.key === 'Escape') { ev.preventDefault(); close(); }
      input.setCustomValidity('');
    });
    input.addEventListener('blur', save);
  });

  // --- API token: shown once, for scripts and tailhook relay ---------------
  insp.addEventListener('click', function (e) {
    var b = e.target.closest('[data-new-token]');
    if (!b) return;
    var out = $('#token-out');
    if (!out.hidden && !confirm('Replace the token? The one shown stops working.')) return;
    b.disabled = true;
    fetch(b.getAttribute('data-new-token'), { method: 'POST', credentials: 'same-origin' })
      .then(function (r) { if (!r.ok) throw new Error('HTTP ' + r.status); return r.json(); })
      .then(function (bin) {
        $('#bin-token').textContent = bin.token;
        $('#relay-command').textContent = 'tailhook relay ' + b.getAttribute('data-capture-url') +
          ' --to http://localhost:3000 --token ' + bin.token;
        out.hidden = false;
        b.textContent = 'Create a new token';
      })
      .catch(function (err) { alert('Could not create a token: ' + err.message); })
      .then(function () { b.disabled = false; });
  });

  // --- delete one, clear all -----------------------------------------------
  function del(url) {
    return fetch(url, { method: 'DELETE', credentials: 'same-origin' }).then(function (r) {
      if (!r.ok && r.status !== 404) throw new Error('HTTP ' + r.status);
    });
  }
  // removeRow drops a deleted request's row; if it was the one shown, the
  // next one is shown instead. Other rows and the selection stay as they are.
  function removeRow(id) {
    gone[id] = true;
    delete updates[id];
    var row = rowOf(id);
    var open = $('[data-detail-id]', detail);
    var shown = (row && row.hasAttribute('aria-current')) || (open && open.getAttribute('data-detail-id') === id);
    var next = row && (row.nextElementSibling || row.previousElementSibling);
    if (row) row.remove();
    if (!$('.req', list)) empty.hidden = false;
    if (!shown) return;
    if (next) select(next, false);
    else detail.replaceChildren(html('<div class="placeholder"><p>Request deleted.</p></div>'));
  }
  // One request's Delete can be undone for a few seconds: the row goes at
  // once, the DELETE is sent when the undo note times out (or the page
  // goes away, with keepalive).
  var undoDelay = 5000, pendingDel = null;
  function flushDelete() {
    if (!pendingDel) return;
    var p = pendingDel;
    pendingDel = null;
    clearTimeout(p.timer);
    p.note.remove();
    del(p.url).catch(function (err) { alert('Could not delete: ' + err.message); });
  }
  function laterDelete(id, url, row) {
    flushDelete();
    var note = el('div', 'undo-note');
    note.id = 'undo-note';
    note.setAttribute('role', 'status');
    var undo = el('button', 'btn btn-sm', 'Undo');
    undo.type = 'button';
    undo.id = 'undo-delete';
    note.append(el('span', '', 'Deleted #' + id.replace(/^req_/, '') + '. '), undo);
    document.body.append(note);
    pendingDel = { id: id, url: url, note: note, timer: setTimeout(flushDelete, undoDelay) };
    undo.addEventListener('click', function () {
      if (!pendingDel || pendingDel.id !== id) return;
      clearTimeout(pendingDel.timer);
      pendingDel = null;
      note.remove();
      delete gone[id];
      if (!row || rowOf(id)) return;
      row.removeAttribute('aria-current');
      var seq = +id.replace(/^req_/, '');
      var after = $$('.req', list).filter(function (r) { return +r.getAttribute('data-request-id').replace(/^req_/, '') < seq; })[0];
      list.insertBefore(row, after || null);
      empty.hidden = true;
      select(row, true);
    });
  }
  window.addEventListener('pagehide', function () {
    if (!pendingDel) return;
    fetch(pendingDel.url, { method: 'DELETE', credentials: 'same-origin', keepalive: true });
    pendingDel = null;
  });
  function removeAll() {
    $$('.req', list).forEach(function (r) { gone[r.getAttribute('data-request-id')] = true; });
    updates = {};
    list.replaceChildren();
    $('#older') && $('#older').remove();
    empty.hidden = false;
    detail.replaceChildren(html('<div class="placeholder"><p>The bin is empty.</p></div>'));
    history.replaceState(null, '', location.pathname);
  }
  function binDeleted() {
    if (es) es.close();
    es = null;
    removeAll();
    setStatus('deleted');
    detail.replaceChildren(html('<div class="placeholder"><p>This bin was deleted.</p></div>'));
  }
  insp.addEventListener('click', function (e) {
    var delBin = e.target.closest('[data-delete-bin]');
    if (delBin) {
      if (!confirm('Delete this bin and every request in it? This cannot be undone.')) return;
      del(delBin.getAttribute('data-delete-bin')).then(function () { location.href = '/'; })
        .catch(function (err) { alert('Could not delete the bin: ' + err.message); });
      return;
    }
    var d = e.target.closest('[data-delete]');
    if (d) {
      var id = d.getAttribute('data-request');
      var row = rowOf(id);
      var keep = row && row.cloneNode(true);
      removeRow(id);
      laterDelete(id, d.getAttribute('data-delete'), keep);
      return;
    }
    var c = e.target.closest('[data-clear]');
    if (c && confirm('Delete every request in this bin?')) {
      del(c.getAttribute('data-clear')).then(removeAll)
        .catch(function (err) { alert('Could not clear: ' + err.message); });
    }
  });

  // --- request tools: forward, verify, delivery ----------------------------
  // refreshForwarding re-reads a request's details and swaps in its
  // forwarding sections, leaving the forms (and a shown result) alone.
  var deliveryNotes = {};
  function refreshForwarding(row) {
    var a = row && $('a', row);
    if (!a) return Promise.resolve();
    var id = row.getAttribute('data-request-id');
    return fetch(a.getAttribute('data-detail'), { credentials: 'same-origin' })
      .then(function (r) { if (!r.ok) throw new Error(r.status); return r.text(); })
      .then(function (text) {
        var fresh = html(text);
        var open = $('[data-detail-id]', detail);
        if (!open || open.getAttribute('data-detail-id') !== id) return;
        var hist = $('#forwards-' + id, detail);
        var newHist = fresh.querySelector('#forwards-' + id);
        if (hist && newHist) hist.replaceWith(newHist);
        var dl = $('#delivery-' + id, detail);
        var newDl = fresh.querySelector('#delivery-' + id);
        // What the last Retry now / Cancel did stays said across refreshes.
        if (newDl && deliveryNotes[id]) tell(newDl, deliveryNotes[id]);
        if (dl && newDl) dl.replaceWith(newDl);
        else if (dl) dl.remove();
        else if (newDl && newHist) newHist.before(newDl);
        refreshTimes();
      })
      .catch(function () {});
  }
  function selectedRow() { return $('.req[aria-current]', list); }

  function renderForward(box, j) {
    box.replaceChildren();
    var head = el('p', 'result-head');
    if (j.error) head.append(el('span', 'tag tag-bad', j.error));
    else head.append(el('span', 'tag ' + (j.status < 400 ? 'tag-ok' : 'tag-bad'), j.status));
    head.append(el('span', 'muted small', ' ' + j.duration_ms + ' ms · ' + j.url));
    box.append(head);
    var names = Object.keys(j.headers || {}).sort();
    if (names.length) {
      var wrap = el('div', 'table-wrap');
      var t = el('table', 'fields');
      var tb = el('tbody');
      names.forEach(function (n) {
        j.headers[n].forEach(function (v) {
          var tr = el('tr');
          var th = el('th', '', n);
          th.setAttribute('scope', 'row');
          tr.append(th, el('td', '', v));
          tb.append(tr);
        });
      });
      t.append(tb);
      wrap.append(t);
      box.append(wrap);
    }
    if (j.body !== null && j.body !== undefined && j.body !== '') {
      box.append(el('pre', 'code', j.body));
    } else if (j.body_base64) {
      box.append(el('p', 'muted small', 'Binary response body, ' + Math.floor(j.body_base64.length * 3 / 4) + ' bytes.'));
    }
    if (j.body_truncated) box.append(el('p', 'muted small', 'Only the start of the response body was kept.'));
    box.hidden = false;
  }

  function seconds(f) {
    return (Math.round(f * 10) / 10) + ' s';
  }
  function renderVerdict(box, v) {
    box.replaceChildren();
    var d = v.details || {};
    var sec = el('div', 'verdict ' + (v.valid ? 'verdict-ok' : 'verdict-bad'));
    sec.setAttribute('data-verdict', v.valid ? 'valid' : 'invalid');
    var head = el('p', 'verdict-head');
    head.append(el('span', 'tag ' + (v.valid ? 'tag-ok' : 'tag-bad'), v.valid ? 'valid' : 'invalid'), ' ',
      el('span', 'mono', v.provider), ' ', el('span', 'verdict-reason', v.reason));
    sec.append(head);
    var dl = el('dl', 'kv');
    function row(label, value, cls) {
      if (value === undefined || value === null || value === '' || value === 0) return;
      var dd = el('dd', cls || '');
      if (value instanceof Node) dd.append(value); else dd.textContent = String(value);
      dl.append(el('dt', '', label), dd);
    }
    row('Read from', d.header, 'mono');
    row('Received', d.received, 'mono');
    row('Expected', d.expected, 'mono');
    row('Matched form', d.variant);
    if (d.timestamp) {
      var drift = '';
      if (typeof d.drift_seconds === 'number') {
        drift = d.drift_seconds >= 0 ? seconds(d.drift_seconds) + ' old' : seconds(-d.drift_seconds) + ' in the future';
        if (typeof d.tolerance_seconds === 'number') drift += ' (tolerance ' + seconds(d.tolerance_seconds) + ')';
      }
      row('Timestamp', d.timestamp + (drift ? ' · ' + drift : ''), 'mono');
    }
    if (d.matched_secret) row('Matched secret', 'line ' + d.matched_secret);
    if (d.signed_preview) row('Signed bytes', el('pre', 'code signed', d.signed_preview));
    if (dl.children.length) sec.append(dl);
    if (d.hints && d.hints.length) {
      var ul = el('ul', 'hints');
      d.hints.forEach(function (h) { ul.append(el('li', '', h)); });
      sec.append(ul);
    }
    box.append(sec);
    box.hidden = false;
  }

  detail.addEventListener('submit', function (e) {
    var f = e.target;
    if (f.hasAttribute('data-forward')) {
      e.preventDefault();
      var body = { url: f.elements.url.value.trim(), resign: f.elements.resign.checked };
      var m = f.elements.method.value.trim();
      if (m) body.method = m;
      var hs = headerLines(f.elements.headers.value, null);
      if (Object.keys(hs).length) body.headers = hs;
      if (f.elements.body.value !== f.elements.body.defaultValue) body.body = f.elements.body.value;
      tell(f, 'Sending…');
      var box = f.parentElement.querySelector('.forward-result');
      api('POST', f.getAttribute('data-forward'), body).then(function (j) {
        tell(f, j.error ? 'Could not reach the target.' : 'Done.');
        renderForward(box, j);
        refreshForwarding(selectedRow());
      }).catch(function (err) { tell(f, err.message); });
      return;
    }
    if (f.hasAttribute('data-verify')) {
      e.preventDefault();
      // The same fields as the settings' signature form; a secret left
      // empty for the bin's own provider is the saved one (server side).
      var vb = providerParams(f);
      vb.provider = f.elements.provider.value;
      tell(f, 'Checking…');
      api('POST', f.getAttribute('data-verify'), vb).then(function (v) {
        tell(f, '');
        renderVerdict(f.parentElement.querySelector('.verify-result'), v);
      }).catch(function (err) { tell(f, err.message); });
    }
  });
  detail.addEventListener('click', function (e) {
    var c = e.target.closest('[data-sns-confirm]');
    if (c) {
      var box = c.closest('.sns-confirm');
      tell(box, 'Confirming…');
      api('POST', c.getAttribute('data-sns-confirm')).then(function (j) {
        tell(box, j.error ? 'Could not reach SNS: ' + j.error : 'SNS answered ' + j.status + '.');
      }).catch(function (err) { tell(box, err.message); });
      return;
    }
    var b = e.target.closest('[data-delivery-action]');
    if (!b) return;
    var sec = b.closest('.delivery');
    var retry = /\/retry$/.test(b.getAttribute('data-delivery-action'));
    tell(sec, 'Working…');
    // Say what was done, in the section as it is after the refresh.
    api('POST', b.getAttribute('data-delivery-action')).then(function (j) {
      var id = sec.id;
      return refreshForwarding(selectedRow()).then(function () {
        var now = document.getElementById(id) || sec;
        var behind = $('[data-behind]', now);
        var msg = !retry ? 'Cancelled: it will not be sent.'
          : 'Retry queued: attempt ' + ((j && j.attempts || 0) + 1) + ' starts now' +
            (behind ? ', once #' + behind.getAttribute('data-behind') + ' before it is delivered or cancelled.' : '.');
        deliveryNotes[id.replace(/^delivery-/, '')] = msg;
        tell(now, msg);
      });
    }).catch(function (err) { tell(sec, err.message); });
  });

  // --- signature panel -----------------------------------------------------
  // Provider fields (views.ProviderFields), in the settings and in "Verify
  // with…": only the chosen provider's fieldset is shown and enabled.
  document.addEventListener('change', function (e) {
    var sel = e.target;
    if (sel.name !== 'provider' || !sel.form || !$('.provider-params', sel.form)) return;
    $$('.provider-params', sel.form).forEach(function (fs) {
      var on = fs.getAttribute('data-provider') === sel.value;
      fs.hidden = !on;
      fs.disabled = !on;
    });
  });
  // providerParams reads the chosen provider's non-empty fields.
  function providerParams(form) {
    var out = {};
    var fs = $('.provider-params[data-provider="' + CSS.escape(form.elements.provider.value) + '"]', form);
    if (!fs) return out;
    $$('input, textarea, select', fs).forEach(function (i) {
      var v = i.value.trim();
      if (i.name && v !== '') out[i.name] = v;
    });
    return out;
  }

  var sigForm = $('#signature-form');
  if (sigForm) {
    var provSel = sigForm.elements.provider;
    sigForm.elements.reject_invalid.addEventListener('change', function () {
      sigForm.elements.reject_invalid.dataset.touched = '1';
    });
    var params = function () { return providerParams(sigForm); };
    var saved = function (bin) {
      var s = bin && bin.signature;
      var summary = $('#signature-summary');
      $('[data-signature-remove]', sigForm).hidden = !s;
      $$('[data-secret]', sigForm).forEach(function (i) { i.value = ''; i.placeholder = ''; });
      sigForm.elements.handshakes.checked = bin.handshakes;
      sigForm.elements.reject_invalid.checked = !!(s && s.reject_invalid);
      delete sigForm.elements.reject_invalid.dataset.touched;
      if (!s) { summary.textContent = 'off: captures get no verdict'; return; }
      var opt = $('option[value="' + CSS.escape(s.provider) + '"]', provSel);
      var text = opt ? opt.textContent : s.provider;
      if (s.params && s.params.secret) text += ' · secret ' + s.params.secret;
      summary.textContent = text;
      var fs = $('.provider-params[data-provider="' + CSS.escape(s.provider) + '"]', sigForm);
      $$('[data-secret]', fs).forEach(function (i) {
        if (s.params && s.params[i.name]) i.placeholder = 'saved: ' + s.params[i.name] + ' (leave empty to keep it)';
      });
    };
    sigForm.addEventListener('submit', function (e) {
      e.preventDefault();
      if (!provSel.value) { tell(sigForm, 'Choose a provider.'); return; }
      var body = params();
      body.provider = provSel.value;
      body.handshakes = sigForm.elements.handshakes.checked;
      // Sent only when touched: untouched, the provider's default applies
      // (on for Discord and Xero).
      if (sigForm.elements.reject_invalid.dataset.touched) body.reject_invalid = sigForm.elements.reject_invalid.checked;
      tell(sigForm, 'Saving…');
      api('PUT', sigForm.getAttribute('data-url'), body).then(function (bin) {
        saved(bin);
        tell(sigForm, 'Saved. New captures get a verdict.');
      }).catch(function (err) { tell(sigForm, err.message); });
    });
    $('[data-signature-remove]', sigForm).addEventListener('click', function () {
      tell(sigForm, 'Removing…');
      api('DELETE', sigForm.getAttribute('data-url')).then(function (bin) {
        saved(bin);
        tell(sigForm, 'Removed.');
      }).catch(function (err) { tell(sigForm, err.message); });
    });
    $('[data-sample]', sigForm).addEventListener('click', function () {
      if (!provSel.value) { tell(sigForm, 'Choose a provider.'); return; }
      var body = params();
      body.provider = provSel.value;
      tell(sigForm, 'Sending…');
      // The new capture arrives through the live stream like any other.
      api('POST', sigForm.getAttribute('data-samples'), body).then(function (req) {
        tell(sigForm, 'Sent ' + req.method + ' ' + req.path + ' as #' + req.seq + '.');
      }).catch(function (err) { tell(sigForm, err.message); });
    });
  }

  // --- auto-forward panel --------------------------------------------------
  var fwdForm = $('#forwarding-form');
  if (fwdForm) {
    var fwdSaved = function (bin) {
      var f = bin.forwarding;
      $('#forwarding-summary').textContent = !f.url ? 'off' : f.enabled ? 'on → ' + f.url : 'paused (' + f.url + ')';
      fwdForm.elements.enabled.checked = f.enabled || !f.url;
      if (f.mode) fwdForm.elements.mode.value = f.mode;
    };
    fwdForm.addEventListener('submit', function (e) {
      e.preventDefault();
      tell(fwdForm, 'Saving…');
      api('PUT', fwdForm.getAttribute('data-url'), {
        url: fwdForm.elements.url.value.trim(), enabled: fwdForm.elements.enabled.checked,
        mode: fwdForm.elements.mode.value
      }).then(function (bin) { fwdSaved(bin); tell(fwdForm, 'Saved.'); })
        .catch(function (err) { tell(fwdForm, err.message); });
    });
    $('[data-forwarding-off]', fwdForm).addEventListener('click', function () {
      tell(fwdForm, 'Turning off…');
      api('DELETE', fwdForm.getAttribute('data-url')).then(function (bin) {
        fwdSaved(bin);
        fwdForm.elements.enabled.checked = false;
        tell(fwdForm, 'Auto-forward is off.');
      }).catch(function (err) { tell(fwdForm, err.message); });
    });
  }

  // --- share links -----------------------------------------------------------
  var shareForm = $('#share-form');
  if (shareForm) {
    var shareList = $('#share-list');
    var shareCount = function () {
      var n = shareList.children.length;
      $('#share-summary').textContent = n === 0 ? 'none' : n === 1 ? '1 active link' : n + ' active links';
    };
    // shareItem builds what the ShareItem component renders.
    var shareItem = function (s) {
      var li = el('li');
      li.setAttribute('data-share-id', s.id);
      var code = el('code', 'share-url', s.url);
      code.setAttribute('data-share-url', s.id);
      var when = el('span', 'muted small', 'expires ');
      var t = el('time', '', new Date(s.expires_at).toISOString().slice(0, 16).replace('T', ' ') + ' UTC');
      t.setAttribute('datetime', s.expires_at);
      when.append(t);
      var copy = el('button', 'btn btn-sm', 'Copy');
      copy.type = 'button';
      copy.setAttribute('data-copy', '[data-share-url="' + s.id + '"]');
      var revoke = el('button', 'btn btn-sm btn-danger', 'Revoke');
      revoke.type = 'button';
      revoke.setAttribute('data-share-revoke', shareForm.getAttribute('data-url') + '/' + encodeURIComponent(s.id));
      li.append(code, ' ', when, ' ', copy, ' ', revoke);
      return li;
    };
    shareForm.addEventListener('submit', function (e) {
      e.preventDefault();
      tell(shareForm, 'Creating…');
      api('POST', shareForm.getAttribute('data-url'), { expires_in: shareForm.elements.expires_in.value }).then(function (s) {
        shareList.insertBefore(shareItem(s), shareList.firstElementChild);
        shareCount();
        tell(shareForm, 'Created.');
      }).catch(function (err) { tell(shareForm, err.message); });
    });
    shareList.addEventListener('click', function (e) {
      var b = e.target.closest('[data-share-revoke]');
      if (!b) return;
      api('DELETE', b.getAttribute('data-share-revoke')).then(function () {
        b.closest('li').remove();
        shareCount();
        tell(shareForm, 'Revoked: the link is a 404 now.');
      }).catch(function (err) { tell(shareForm, err.message); });
    });
  }

  // --- response settings ---------------------------------------------------
  var form = $('#response-form');
  // responseSaved shows a saved response in the panel's summary, as the
  // server's responseSummary words it, and says so beside the buttons.
  function responseSaved(bin) {
    if (!bin) return;
    var r = bin.response, s;
    if (!r) {
      s = 'default: 200 with {"ok":true,"id":…}';
      $$('textarea', form).forEach(function (t) { t.placeholder = t.getAttribute('data-default-placeholder') || ''; });
    } else {
      s = String(r.status);
      if (r.delay_ms > 0) s += ' after ' + r.delay_ms + ' ms';
      if (r.sequence && r.sequence.length) s += ', after a sequence of ' + r.sequence.length;
      if (r.cors) s += ', CORS';
      $$('textarea', form).forEach(function (t) { t.placeholder = 'none'; });
    }
    $('#response-summary').textContent = s;
    $('.form-status', form).textContent = r ? 'Saved: captures now get ' + s + '.' : 'Saved.';
  }
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
        headers: headers, body: form.elements.body.value, sequence: sequence,
        cors: form.elements.cors.checked
      }).then(responseSaved);
    });
    $('[data-reset-response]', form).addEventListener('click', function () {
      send('DELETE').then(function (j) {
        if (!j) return;
        form.reset();
        form.elements.status.value = 200;
        form.elements.delay_ms.value = 0;
        form.elements.headers.value = form.elements.body.value = form.elements.sequence.value = '';
        responseSaved(j);
        note.textContent = 'Restored the default answer.';
      });
    });
  }
})();
