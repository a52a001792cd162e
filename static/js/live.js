/* The store's live socket. Every page of a store opens one; apps subscribe with ecomopsLive.on(type, fn).
   Reconnects by itself with backoff (1 s doubling to 30 s) whenever the socket ends -- a deploy, a network
   blip, or Redis being down (the server then closes with 4503 "unavailable, try again") -- except when the user is
   not a member (4403). After a reconnect, job rows that were still queued/running are re-read from the API,
   so progress missed while disconnected is caught up, and subscribers get a `reconnected` message. */
(function () {
  'use strict';
  const slug = document.body.dataset.store;
  const handlers = {};
  const statusEl = document.getElementById('live-status');
  const live = {
    on: function (type, fn) { (handlers[type] = handlers[type] || []).push(fn); },
    send: function (msg) { if (live.socket && live.socket.readyState === 1) live.socket.send(JSON.stringify(msg)); },
    socket: null,
  };
  window.ecomopsLive = live;
  if (!slug) return;

  function setStatus(on) {
    if (!statusEl) return;
    const label = on ? 'Live updates: connected' : 'Live updates: reconnecting';
    statusEl.classList.toggle('on', on); statusEl.title = label;
    const sr = statusEl.querySelector('.sr-only'); if (sr) sr.textContent = label;
  }

  function dispatch(msg) {
    (handlers[msg.type] || []).forEach(function (fn) { try { fn(msg); } catch (e) { console.error(e); } });
    (handlers['*'] || []).forEach(function (fn) { fn(msg); });
  }

  function resyncJobs() {
    document.querySelectorAll('tr[data-job-id]').forEach(function (row) {
      if (['succeeded', 'failed', 'cancelled'].indexOf(row.dataset.status) >= 0) return;
      fetch('/api/v1/stores/' + encodeURIComponent(slug) + '/jobs/' + row.dataset.jobId + '/',
            {credentials: 'same-origin', headers: {Accept: 'application/json'}})
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (job) { if (job) dispatch({type: 'job.progress', job: job}); })
        .catch(function () {});
    });
  }

  let delay = 1000;
  let everOpen = false;
  function connect() {
    const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const ws = new WebSocket(proto + '//' + location.host + '/ws/stores/' + encodeURIComponent(slug) + '/live/');
    live.socket = ws;
    ws.onopen = function () {
      delay = 1000; setStatus(true); document.body.dataset.live = 'on';
      if (everOpen) { resyncJobs(); dispatch({type: 'reconnected'}); }
      everOpen = true;
    };
    ws.onclose = function (ev) {
      setStatus(false);
      document.body.dataset.live = 'off';
      if (ev.code === 4403) return; // not a member: do not retry
      setTimeout(connect, delay); delay = Math.min(delay * 2, 30000);
    };
    ws.onmessage = function (ev) {
      let msg; try { msg = JSON.parse(ev.data); } catch (e) { return; }
      dispatch(msg);
    };
  }
  connect();

  const labels = {queued: 'Queued', running: 'Running', succeeded: 'Succeeded', failed: 'Failed', cancelled: 'Cancelled'};
  function text(s) { const d = document.createElement('span'); d.textContent = s; return d.innerHTML; }
  const kindLabelsEl = document.getElementById('job-kind-labels');
  const kindLabels = kindLabelsEl ? JSON.parse(kindLabelsEl.textContent) : {};
  function kindLabel(kind) { return kindLabels[kind] || String(kind || '').replace(/_/g, ' '); }
  // Same rule as the job_message template filter: no tokens-per-second figures for merchants.
  function humanMessage(m) { return String(m || '').replace(/\s*[·,;-]?\s*\d+(?:\.\d+)?\s*tok(?:ens)?\/s/gi, '').trim(); }

  live.on('job.progress', function (msg) {
    const job = msg.job;
    let row = document.querySelector('tr[data-job-id="' + job.id + '"]');
    if (!row && window.ecomopsJobsPage) {
      const tbody = document.querySelector('#jobs-table tbody');
      if (!tbody) return;
      const empty = tbody.querySelector('tr.empty'); if (empty) empty.remove();
      row = document.createElement('tr');
      row.dataset.jobId = job.id; row.id = 'job-' + job.id;
      row.innerHTML = '<td><a href="/stores/' + slug + '/jobs/' + job.id + '/">' + text(kindLabel(job.kind)) + '</a></td>' +
        '<td class="job-status"></td><td class="job-progress-cell"><progress class="job-progress" max="100" value="0"></progress> <span class="job-pct"></span></td>' +
        '<td class="job-message"></td><td>' + text((job.created_at || '').replace('T', ' ').slice(0, 19)) + '</td><td class="job-actions"></td>';
      tbody.prepend(row);
      // Writers get a Cancel button on rows that arrive live too (the table carries the URL pattern).
      const table = tbody.closest('table');
      const csrf = document.querySelector('input[name=csrfmiddlewaretoken]');
      if (table && table.dataset.cancelUrl && csrf && ['queued', 'running'].indexOf(job.status) >= 0) {
        const form = document.createElement('form');
        form.method = 'post'; form.action = table.dataset.cancelUrl.replace('00000000-0000-0000-0000-000000000000', job.id);
        form.innerHTML = '<input type="hidden" name="csrfmiddlewaretoken"><button type="submit" class="danger">Cancel</button>';
        form.firstChild.value = csrf.value;
        row.querySelector('.job-actions').appendChild(form);
      }
    }
    if (!row) return;
    row.dataset.status = job.status;
    row.querySelector('.job-status').innerHTML = '<span class="badge ' + job.status + '">' + (labels[job.status] || job.status) + '</span>';
    const bar = row.querySelector('.job-progress'); bar.value = job.progress; bar.textContent = job.progress + '%';
    row.querySelector('.job-pct').textContent = job.progress + '%';
    row.querySelector('.job-message').innerHTML = job.error ? '<span class="error">' + text(job.error) + '</span>' : text(humanMessage(job.message));
    if (['succeeded', 'failed', 'cancelled'].indexOf(job.status) >= 0) {
      const actions = row.querySelector('.job-actions'); if (actions) actions.innerHTML = '';
    }
  });
})();
