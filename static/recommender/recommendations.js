/* The Recommendations page: the training curves (stored ones on load, live ones per epoch), the metrics per
   version, the offline evaluation chart, and the evaluation job's live progress. */
(function () {
  'use strict';
  const charts = window.ecomopsCharts;
  const live = window.ecomopsLive;
  const PHASES = {validation: '(validation run)', final: '(final fit)'};
  function data(id) { const el = document.getElementById(id); return el ? JSON.parse(el.textContent) : null; }

  // --- training curves: one line per model and phase for the loss, one for validation NDCG@10 (right axis)
  const curves = {};
  (data('training-curves') || []).forEach(function (c) { curves[c.label + ' ' + c.phase] = c; });
  function drawCurves() {
    const traces = []; let epochs = 1;
    Object.keys(curves).forEach(function (key) {
      const c = curves[key];
      const name = c.label + ' ' + (PHASES[c.phase] || c.phase);
      epochs = Math.max(epochs, c.epochs || 0, Math.max.apply(null, c.x.concat([1])));
      // New arrays on every draw: Plotly.react skips arrays it has seen, which froze the axes before.
      traces.push({x: c.x.slice(), y: c.loss.slice(), name: name + ' loss', type: 'scatter', mode: 'lines+markers'});
      if (c.ndcg.some(function (v) { return v !== null && v !== undefined; })) {
        traces.push({x: c.x.slice(), y: c.ndcg.slice(), name: name + ' validation NDCG@10', yaxis: 'y2', type: 'scatter',
                     mode: 'lines+markers', connectgaps: true, line: {dash: 'dot'}});
      }
    });
    return charts.plot('loss-chart', traces, {
      margin: {t: 10, r: 70, b: 50, l: 70}, legend: {orientation: 'h', y: -0.25},
      xaxis: {title: {text: 'epoch'}, range: [0.5, epochs + 0.5], dtick: epochs > 20 ? undefined : 1, tickformat: ',d'},
      yaxis: {title: {text: 'training loss'}, rangemode: 'tozero'},
      yaxis2: {title: {text: 'validation NDCG@10'}, overlaying: 'y', side: 'right', rangemode: 'tozero', showgrid: false},
    }, {emptyText: 'No training curves yet. SASRec and implicit ALS report a loss per epoch while they train; ' +
                   'popularity, trending, item-kNN and EASE are fitted in one step and have no curve.'});
  }
  drawCurves();

  // --- metrics per version
  const versions = data('versions-data') || [];
  charts.plot('versions-chart', [
    {x: versions.map(function (v) { return v.label; }), y: versions.map(function (v) { return v['ndcg@10']; }), type: 'bar', name: 'NDCG@10'},
    {x: versions.map(function (v) { return v.label; }), y: versions.map(function (v) { return v['recall@10']; }), type: 'bar', name: 'Recall@10'},
  ], {barmode: 'group', legend: {orientation: 'h', y: -0.2}, xaxis: {type: 'category'},
      yaxis: {title: {text: 'validation score (0–1)'}, rangemode: 'tozero', tickformat: '.2f'}},
  {emptyText: 'No trained version yet: validation NDCG@10 and Recall@10 per version appear here.'});

  // --- offline evaluation: models side by side
  function drawEvaluation(rows) {
    return charts.plot('eval-chart', [
      {x: rows.map(function (r) { return r.model; }), y: rows.map(function (r) { return r['ndcg@10']; }), type: 'bar', name: 'NDCG@10'},
      {x: rows.map(function (r) { return r.model; }), y: rows.map(function (r) { return r['recall@10']; }), type: 'bar', name: 'Recall@10'},
    ], {barmode: 'group', legend: {orientation: 'h', y: -0.2}, xaxis: {type: 'category'},
        yaxis: {title: {text: 'test score (0–1)'}, rangemode: 'tozero', tickformat: '.2f'}},
    {emptyText: 'No evaluation yet: choose the models above and run one; it compares them on this store\'s own events.'});
  }
  drawEvaluation(data('eval-data') || []);

  if (!live) return;
  live.on('recommender.training', function (msg) {
    const key = msg.label + ' ' + msg.phase;
    if (!Object.keys(curves).some(function (k) { return k.indexOf(msg.label + ' ') === 0; })) {
      Object.keys(curves).forEach(function (k) { if (!curves[k].live) delete curves[k]; });  // a new run replaces the stored curves
    }
    const c = curves[key] = curves[key] || {label: msg.label, phase: msg.phase, epochs: msg.epochs, x: [], loss: [], ndcg: [], live: true};
    c.epochs = msg.epochs || c.epochs;
    const at = c.x.indexOf(msg.epoch);
    const ndcg = msg['val_ndcg@10'] === undefined ? null : msg['val_ndcg@10'];
    if (at >= 0) { c.loss[at] = msg.loss; c.ndcg[at] = ndcg; } else { c.x.push(msg.epoch); c.loss.push(msg.loss); c.ndcg.push(ndcg); }
    document.getElementById('training-status').textContent = msg.label + ' ' + msg.phase + ' epoch ' + msg.epoch + '/' + msg.epochs +
      ': loss ' + Number(msg.loss).toFixed(4) + (ndcg !== null ? ', validation NDCG@10 ' + Number(ndcg).toFixed(4) : '');
    drawCurves();
  });
  live.on('job.progress', function (msg) {
    const job = msg.job;
    if (job.kind === 'recommender_train') {
      document.getElementById('training-progress').value = job.progress;
      document.getElementById('training-job').textContent = job.progress + '% — ' + (job.error || job.message || job.status);
      // The finished run's curves stay: the reload draws them from the stored training log.
      if (job.status === 'succeeded' || job.status === 'failed') { setTimeout(function () { location.reload(); }, 1500); }
    } else if (job.kind === 'recommender_evaluate') {
      document.getElementById('evaluation-live').hidden = false;
      document.getElementById('evaluation-progress').value = job.progress;
      document.getElementById('evaluation-job').textContent = job.progress + '% — ' + (job.error || job.message || job.status);
      if (job.status === 'succeeded' && job.result) {
        document.getElementById('eval-summary').textContent = 'This store\'s events (just now): ' + (job.result.summary || ('winner: ' + job.result.winner));
        drawEvaluation(job.result.models || []);
      }
    }
  });
  live.on('recommender.activated', function () { setTimeout(function () { location.reload(); }, 500); });
})();
