/* Copywriter: shows a draft's vetted sentences as they pass the checks (never raw tokens), drafts as they land,
   and the training loss live. */
(function () {
  'use strict';
  const live = window.ecomopsLive;
  function esc(s) { const d = document.createElement('span'); d.textContent = s == null ? '' : String(s); return d.innerHTML; }
  let currentJob = null;
  const form = document.getElementById('copywriter-generate-form');
  const streamEl = document.getElementById('copywriter-stream');
  const resultEl = document.getElementById('copywriter-result');
  if (form) {
    form.addEventListener('submit', function (ev) {
      ev.preventDefault();
      streamEl.textContent = ''; resultEl.innerHTML = '<p class="muted">Queued…</p>';
      fetch(form.action, {method: 'POST', body: new FormData(form), headers: {'X-Requested-With': 'fetch'}})
        .then(function (r) { return r.json().then(function (j) { return [r.status, j]; }); })
        .then(function (res) {
          if (res[0] >= 400) { resultEl.innerHTML = '<p class="error" role="alert">' + esc(res[1].error) + '</p>'; return; }
          currentJob = res[1].job_id; resultEl.innerHTML = '<p class="muted">Writing…</p>';
        });
    });
  }
  if (!live) return;
  // one message per sentence that passed the fact, relevance and style checks (or its stand-in built from facts)
  live.on('copywriter.sentence', function (msg) {
    if (!streamEl || msg.job_id !== currentJob) return;
    let span = streamEl.querySelector('[data-index="' + msg.index + '"]');
    if (!span) {
      span = document.createElement('span'); span.dataset.index = msg.index; span.className = 'sentence ' + msg.source;
      streamEl.appendChild(span);
    }
    span.textContent = msg.text + ' ';
    resultEl.innerHTML = '<p class="muted">Writing… ' + (msg.index + 1) + '/' + msg.total + ' sentences checked</p>';
  });
  live.on('copywriter.draft', function (msg) {
    const d = msg.draft;
    if (resultEl && d.job_id === currentJob) {
      let html = '<h4>Grounded draft (' + esc(d.source) + ')</h4><p>' + esc(d.description) + '</p>';
      if (d.unsupported_facts.length) html += '<p class="error">Unsupported facts: ' + d.unsupported_facts.map(function (f) { return esc(f.text); }).join(', ') + '</p>';
      if ((d.offtopic_sentences || []).length) html += '<p class="error">Off-topic sentences: ' + d.offtopic_sentences.map(function (o) { return '“' + esc(o.text) + '”'; }).join(' ') + '</p>';
      html += '<p class="muted">Meta title: ' + esc(d.meta_title) + '</p><p><a href="drafts-link">Review draft #' + d.id + '</a></p>';
      resultEl.innerHTML = html.replace('drafts-link', '/stores/' + document.body.dataset.store + '/copywriter/drafts/' + d.id + '/');
    }
    const tbody = document.querySelector('#copywriter-drafts tbody');
    if (tbody && !document.getElementById('draft-' + d.id)) {
      const tr = document.createElement('tr'); tr.id = 'draft-' + d.id;
      tr.innerHTML = '<td><a href="' + d.id + '/">#' + d.id + '</a></td><td>' + esc(d.sku) + ' ' + esc(d.title) + '</td><td>' + esc(d.status) +
        '</td><td>' + (d.unsupported_facts.length ? '<span class="error">' + d.unsupported_facts.length + '</span>' : '0') + '</td><td>' +
        ((d.offtopic_sentences || []).length ? '<span class="error">' + d.offtopic_sentences.length + '</span>' : '0') + '</td><td>' +
        d.covered_attributes.length + ' of ' + (d.covered_attributes.length + d.missing_attributes.length) + '</td><td>' + esc(d.description.slice(0, 140)) + '</td>';
      tr.querySelector('a').href = '/stores/' + document.body.dataset.store + '/copywriter/drafts/' + d.id + '/';
      tbody.prepend(tr);
    }
  });
  const plot = document.getElementById('copywriter-loss');
  if (plot && window.Plotly) {
    const curves = JSON.parse(plot.dataset.curves || '[]');
    const traces = curves.map(function (c) {
      const pts = c.curve.filter(function (p) { return p.val_loss != null; });
      return {x: pts.map(function (p) { return p.step; }), y: pts.map(function (p) { return p.val_loss; }), name: 'v' + c.version + ' val', mode: 'lines+markers'};
    });
    const liveTrain = {x: [], y: [], name: 'running: train', mode: 'lines'};
    const liveVal = {x: [], y: [], name: 'running: val', mode: 'lines+markers'};
    traces.push(liveTrain, liveVal);
    // Through the shared helper: an empty state until a version or a running fine-tune has a loss to show.
    const layout = {margin: {t: 20}, xaxis: {title: {text: 'training step'}, rangemode: 'tozero'},
                    yaxis: {title: {text: 'loss'}, rangemode: 'tozero'}, legend: {orientation: 'h', y: -0.25}};
    const draw = function () {
      return window.ecomopsCharts.plot(plot, traces.map(function (t) { return Object.assign({}, t, {x: t.x.slice(), y: t.y.slice()}); }), layout,
        {emptyText: 'No fine-tuned version yet: the loss per training step appears here while "Fine-tune on our descriptions" runs.'});
    };
    draw();
    live.on('copywriter.training', function (msg) {
      const p = msg.point;
      if (p.train_loss != null) { liveTrain.x.push(p.step); liveTrain.y.push(p.train_loss); }
      if (p.val_loss != null) { liveVal.x.push(p.step); liveVal.y.push(p.val_loss); }
      draw();
    });
  }
})();
