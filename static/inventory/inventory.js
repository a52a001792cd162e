/* Inventory page: the forecast chart (history, forecast, 80% interval band), the live forecast job progress,
   and KPI anomalies arriving over the store socket. */
(function () {
  'use strict';
  const dataEl = document.getElementById('forecast-data');
  const chart = document.getElementById('forecast-chart');
  if (dataEl && chart && window.Plotly) {
    const d = JSON.parse(dataEl.textContent);
    const f = typeof d === 'string' ? JSON.parse(d) : d;
    if (f) {
      Plotly.newPlot(chart, [
        {x: f.history_dates, y: f.history, type: 'bar', name: 'Sold per day', marker: {color: '#94a3b8'}},
        {x: f.dates, y: f.hi, type: 'scatter', mode: 'lines', line: {width: 0}, showlegend: false, hoverinfo: 'skip'},
        {x: f.dates, y: f.lo, type: 'scatter', mode: 'lines', line: {width: 0}, fill: 'tonexty',
         fillcolor: 'rgba(37,99,235,0.18)', name: f.level + '% interval'},
        {x: f.dates, y: f.mean, type: 'scatter', mode: 'lines', name: 'Forecast (' + f.model + ')',
         line: {color: '#2563eb', width: 2}}
      ], {margin: {t: 10, r: 20, b: 50, l: 50}, legend: {orientation: 'h', y: -0.2},
          xaxis: {type: 'date'}, yaxis: {title: {text: 'Units'}, rangemode: 'tozero'}},
      {responsive: true, displaylogo: false}).then(function () { chart.dataset.ready = '1'; });
    } else {
      chart.textContent = 'No forecast to show yet.';
    }
  }
  const live = window.ecomopsLive;
  if (!live) return;
  const bar = document.getElementById('forecast-progress');
  const label = document.getElementById('forecast-job');
  live.on('job.progress', function (msg) {
    if (!bar || msg.job.kind !== 'inventory_forecast') return;
    bar.value = msg.job.progress;
    label.textContent = msg.job.progress + '% — ' + (msg.job.error || msg.job.message);
    if (msg.job.status === 'succeeded') { label.textContent += ' (reload to see the new version)'; }
  });
  live.on('inventory.anomaly', function (msg) {
    const box = document.getElementById('kpi-anomalies');
    if (!box) return;
    const a = msg.anomaly;
    box.hidden = false; box.className = 'card error'; box.setAttribute('role', 'alert');
    let list = box.querySelector('ul');
    if (!list) { box.innerHTML = '<strong>KPI anomalies</strong>'; list = document.createElement('ul'); box.appendChild(list); }
    const li = document.createElement('li');
    li.textContent = a.date + ': ' + a.metric + ' ' + a.actual.toFixed(2) + ' was ' + a.direction +
      ' its expected range ' + a.lo.toFixed(2) + '–' + a.hi.toFixed(2) + ' (' + (a.size >= 0 ? '+' : '') +
      Math.round(a.size * 100) + '% vs the forecast)';
    list.insertBefore(li, list.firstChild);
  });
})();
