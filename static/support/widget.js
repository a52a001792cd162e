/* ecomops support chat widget. Served at /support/widget/<store>.js with window.ECOMOPS_SUPPORT = {store, name, origin}.
   Opens a websocket to /ws/support/<store>/chat/; its first message carries the signed anonymous session kept in
   localStorage (never the URL, which ends up in access logs). */
(function () {
  'use strict';
  var cfg = window.ECOMOPS_SUPPORT;
  if (!cfg || window.__ecomopsSupportLoaded) return;
  window.__ecomopsSupportLoaded = true;
  var key = 'ecomops-support-' + cfg.store;
  var wsBase = cfg.origin.replace(/^http/, 'ws');
  var css = '.eso-btn{position:fixed;right:20px;bottom:20px;z-index:99999;border-radius:999px;padding:12px 18px;background:#2563eb;color:#fff;border:0;font:600 15px system-ui;cursor:pointer}' +
    '.eso-box{position:fixed;right:20px;bottom:76px;z-index:99999;width:340px;max-width:calc(100vw - 40px);height:460px;background:#fff;border:1px solid #d1d5db;border-radius:10px;display:flex;flex-direction:column;font:14px/1.4 system-ui;box-shadow:0 8px 24px rgba(0,0,0,.15)}' +
    '.eso-box[hidden]{display:none}.eso-head{padding:10px 12px;background:#111827;color:#fff;border-radius:10px 10px 0 0;font-weight:600}' +
    '.eso-log{flex:1;overflow-y:auto;padding:10px;margin:0;list-style:none}.eso-log li{margin:6px 0;padding:6px 9px;border-radius:8px;max-width:85%;white-space:pre-wrap}' +
    '.eso-customer{background:#dbeafe;margin-left:auto!important}.eso-bot,.eso-agent,.eso-system{background:#f3f4f6}.eso-agent{border-left:3px solid #10b981}.eso-draft{color:#6b7280;font-style:italic}' +
    '.eso-form{display:flex;gap:6px;padding:8px;border-top:1px solid #e5e7eb}.eso-form input{flex:1;padding:6px;border:1px solid #9ca3af;border-radius:6px}.eso-form button{padding:6px 10px}' +
    '.eso-csat button{margin:2px}.eso-err{color:#b91c1c;font-size:13px;padding:0 10px}.eso-src{display:block;font-size:12px;color:#4b5563;margin-top:4px}' +
    '.eso-sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}';
  var style = document.createElement('style'); style.textContent = css; document.head.appendChild(style);
  var btn = document.createElement('button'); btn.className = 'eso-btn'; btn.type = 'button'; btn.textContent = 'Chat with us';
  btn.setAttribute('aria-expanded', 'false');
  var box = document.createElement('section'); box.className = 'eso-box'; box.hidden = true; box.setAttribute('aria-label', 'Support chat');
  box.innerHTML = '<div class="eso-head"></div><ol class="eso-log" aria-live="polite"></ol><div class="eso-err" role="alert"></div>' +
    '<form class="eso-form"><label class="eso-sr" for="eso-input">Your message</label>' +
    '<input id="eso-input" maxlength="2000" autocomplete="off" placeholder="Ask a question…"><button type="submit">Send</button></form>';
  box.querySelector('.eso-head').textContent = cfg.name + ' support';
  document.body.appendChild(btn); document.body.appendChild(box);
  var log = box.querySelector('.eso-log'), input = box.querySelector('input'), err = box.querySelector('.eso-err');
  var ws = null, draft = null, delay = 1000, seen = {};

  function add(role, text, id, sources) {
    if (id && seen[id]) return; if (id) seen[id] = true;
    var li = document.createElement('li'); li.className = 'eso-' + role; li.textContent = text;
    var cited = (sources || []).filter(function (s) { return s.cited; });
    if (cited.length) {  // the citations [n] name the knowledge entries the answer came from
      var src = document.createElement('small'); src.className = 'eso-src';
      src.textContent = 'Sources: ' + cited.map(function (s) { return '[' + s.n + '] ' + s.title; }).join('; ');
      li.appendChild(src);
    }
    log.appendChild(li);
    log.scrollTop = log.scrollHeight; return li;
  }
  function csat() {
    var li = add('system', 'Rate this conversation: '); li.classList.add('eso-csat');
    [1, 2, 3, 4, 5].forEach(function (n) {
      var b = document.createElement('button'); b.type = 'button'; b.textContent = n;
      b.onclick = function () { send({type: 'csat', score: n}); li.textContent = 'Thanks for rating us ' + n + '/5.'; };
      li.appendChild(b);
    });
  }
  function send(msg) { if (ws && ws.readyState === 1) ws.send(JSON.stringify(msg)); }
  function connect() {
    ws = new WebSocket(wsBase + '/ws/support/' + encodeURIComponent(cfg.store) + '/chat/');
    ws.onopen = function () {
      delay = 1000; err.textContent = '';
      ws.send(JSON.stringify({type: 'session', token: localStorage.getItem(key) || ''}));
    };
    ws.onclose = function (ev) { if (ev.code === 4404) { err.textContent = 'This shop has no chat.'; return; } setTimeout(connect, delay); delay = Math.min(delay * 2, 30000); };
    ws.onmessage = function (ev) {
      var m; try { m = JSON.parse(ev.data); } catch (e) { return; }
      if (m.type === 'session') {
        localStorage.setItem(key, m.token);
        if (!log.children.length) {
          if (m.history && m.history.length) m.history.forEach(function (h) { add(h.role, h.text, h.id, h.sources); });
          else add('bot', 'Hi! Ask me about orders, shipping, returns or products.');
        }
      } else if (m.type === 'token') {
        if (!draft) { draft = add('bot', ''); draft.classList.add('eso-draft'); }
        draft.textContent += m.text; log.scrollTop = log.scrollHeight;
      } else if (m.type === 'message') {
        if (m.message.role === 'bot' && draft) { draft.remove(); draft = null; }
        add(m.message.role, m.message.text, m.message.id, m.message.sources);
        if (m.message.role === 'system' && /Rate us/.test(m.message.text)) csat();
      } else if (m.type === 'done') {
        if (draft) { draft.remove(); draft = null; }
        if (m.message) add(m.message.role, m.message.text, m.message.id, m.message.sources);  // no-op if already shown
      } else if (m.type === 'error') {
        if (draft) { draft.remove(); draft = null; }
        err.textContent = m.message;
      }
    };
  }
  btn.onclick = function () {
    box.hidden = !box.hidden; btn.setAttribute('aria-expanded', String(!box.hidden));
    if (!ws) connect();
    if (!box.hidden) input.focus();
  };
  box.querySelector('form').onsubmit = function (e) {
    e.preventDefault(); var text = input.value.trim(); if (!text) return;
    err.textContent = ''; send({type: 'message', text: text}); input.value = '';
  };
  var me = document.currentScript;
  if (me && me.dataset.open) btn.click();
  window.ecomopsSupport = {send: function (t) { send({type: 'message', text: t}); }, open: function () { if (box.hidden) btn.click(); }};
})();
