/* Live inbox: new conversations, status changes and messages arrive over the store socket (support.* events). */
(function () {
  'use strict';
  if (!window.ecomopsLive) return;
  var slug = document.body.dataset.store;
  var labels = {bot: 'With the bot', waiting: 'Waiting for a human', resolved: 'Resolved'};
  var roles = {customer: 'Customer', bot: 'Bot', agent: 'Agent', note: 'Internal note', system: 'System'};
  var table = document.getElementById('inbox-table');
  var log = document.getElementById('chat-log');
  var liveNote = document.getElementById('inbox-live');
  function humanize(code) { var t = String(code || '').replace(/_/g, ' ').trim(); return t ? t.charAt(0).toUpperCase() + t.slice(1) : '—'; }
  function who(c) { return c.customer_name || c.customer_email || 'Visitor'; }

  window.ecomopsLive.on('support.conversation', function (msg) {
    var c = msg.conversation;
    if (log && log.dataset.conversation === c.id) {
      var badge = document.getElementById('conv-status');
      if (badge) { badge.className = 'badge ' + c.status; badge.textContent = labels[c.status] || c.status; }
      var csat = document.getElementById('conv-csat'); if (csat && c.csat) csat.textContent = c.csat;
    }
    if (!table) return;
    var filter = table.dataset.statusFilter;
    var row = table.querySelector('tr[data-conversation="' + c.id + '"]');
    if (filter && c.status !== filter) { if (row) row.remove(); return; }
    if (!row) {
      var tbody = table.querySelector('tbody'); var empty = tbody.querySelector('tr.empty'); if (empty) empty.remove();
      row = document.createElement('tr'); row.dataset.conversation = c.id;
      row.innerHTML = '<td class="c-customer"><a></a> <span class="muted">· chat widget</span></td><td class="c-preview"><span class="inbox-preview">(no message yet)</span></td>' +
        '<td class="c-status"></td><td class="c-intent"></td><td class="c-updated"></td><td class="c-csat num"></td>';
      row.querySelector('a').href = '/stores/' + slug + '/support/conversations/' + c.id + '/';
      row.querySelector('a').textContent = who(c);
      tbody.prepend(row);
    }
    row.dataset.status = c.status;
    row.querySelector('.c-status').innerHTML = '<span class="badge ' + c.status + '"></span>';
    row.querySelector('.c-status span').textContent = labels[c.status] || c.status;
    if (c.handoff_reason) {
      const reason = document.createElement('span'); reason.className = 'muted c-reason'; reason.textContent = c.handoff_reason;
      row.querySelector('.c-status').appendChild(document.createElement('br')); row.querySelector('.c-status').appendChild(reason);
    }
    row.querySelector('.c-intent').textContent = humanize(c.last_intent);
    row.querySelector('.c-csat').textContent = c.csat ? c.csat + '/5' : '—';
    row.querySelector('.c-updated').textContent = 'just now';
    if (liveNote) liveNote.textContent = 'Updated live: ' + who(c) + ' is ' + (labels[c.status] || c.status) + '.';
  });

  window.ecomopsLive.on('support.message', function (msg) {
    var m = msg.message;
    var inboxRow = table && table.querySelector('tr[data-conversation="' + m.conversation + '"]');
    if (inboxRow && m.role === 'customer') {
      var preview = inboxRow.querySelector('.inbox-preview');
      if (preview) { preview.textContent = m.text.length > 120 ? m.text.slice(0, 119) + '…' : m.text; preview.title = m.text; }
      inboxRow.querySelector('.c-updated').textContent = 'just now';
    }
    if (!log || log.dataset.conversation !== m.conversation) return;
    var li = document.createElement('li'); li.className = 'msg ' + m.role;
    var who = document.createElement('strong'); who.textContent = (roles[m.role] || m.role) + ': ';
    var text = document.createElement('span'); text.className = 'msg-text'; text.textContent = m.text;
    li.appendChild(who); li.appendChild(text); log.appendChild(li);
  });
})();
