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
      row.innerHTML = '<td><a></a></td><td class="c-status"></td><td class="c-intent"></td><td class="c-reason"></td><td class="c-csat"></td><td class="c-updated"></td>';
      row.querySelector('a').href = '/stores/' + slug + '/support/conversations/' + c.id + '/';
      row.querySelector('a').textContent = c.customer_email || c.id.slice(0, 8);
      tbody.prepend(row);
    }
    row.querySelector('.c-status').innerHTML = '<span class="badge ' + c.status + '"></span>';
    row.querySelector('.c-status span').textContent = labels[c.status] || c.status;
    row.querySelector('.c-intent').textContent = c.last_intent || '—';
    row.querySelector('.c-reason').textContent = c.handoff_reason || '';
    row.querySelector('.c-csat').textContent = c.csat || '—';
    row.querySelector('.c-updated').textContent = (c.updated_at || '').replace('T', ' ').slice(0, 19);
    if (liveNote) liveNote.textContent = 'Updated live: ' + (c.customer_email || c.id.slice(0, 8)) + ' is ' + (labels[c.status] || c.status) + '.';
  });

  window.ecomopsLive.on('support.message', function (msg) {
    var m = msg.message;
    if (!log || log.dataset.conversation !== m.conversation) return;
    var li = document.createElement('li'); li.className = 'msg ' + m.role;
    var who = document.createElement('strong'); who.textContent = (roles[m.role] || m.role) + ': ';
    var text = document.createElement('span'); text.className = 'msg-text'; text.textContent = m.text;
    li.appendChild(who); li.appendChild(text); log.appendChild(li);
  });
})();
