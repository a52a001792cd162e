/* Inventory page and product detail: the forecast chart (units sold per day, then the forecast with its interval
   band), the live forecast job progress, and KPI anomalies arriving over the store socket. */
(function () {
  'use strict';
  const charts = window.ecomopsCharts;
  const dataEl = document.getElementById('forecast-data');
  const chart = document.getElementById('forecast-chart');
  if (dataEl && chart && window.Plotly && charts) {
    const f = JSON.parse(dataEl.textContent);
    if (!f || !f.dates || !f.dates.length) {
      charts.showEmpty(chart, 'No forecast yet: train one above to see the expected units per day and their range.');
    } else {
      const lastHistory = f.history_dates.length ? f.history_dates[f.history_dates.length - 1] : null;
      const day = '%{x|%a %d %b %Y}<br>';
      const traces = [
        {x: f.history_dates, y: f.history, type: 'bar', name: 'Sold per day', marker: {color: '#94a3b8'},
         hovertemplate: day + '%{y:,.0f} sold<extra></extra>'},
        {x: f.dates, y: f.hi, type: 'scatter', mode: 'lines', line: {width: 0, color: 'rgba(37,99,235,0.25)'},
         showlegend: false, hoverinfo: 'skip', name: 'upper'},
        {x: f.dates, y: f.lo, type: 'scatter', mode: 'lines', line: {width: 0, color: 'rgba(37,99,235,0.25)'},
         fill: 'tonexty', fillcolor: 'rgba(37,99,235,0.18)', name: f.level + '% interval',
         customdata: f.hi, hovertemplate: day + '%{y:,.1f}–%{customdata:,.1f} expected range<extra></extra>'},
        {x: f.dates, y: f.mean, type: 'scatter', mode: 'lines', name: 'Forecast',
         line: {color: '#2563eb', width: 2}, hovertemplate: day + '%{y:,.1f} expected (' + f.model + ')<extra></extra>'}
      ];
      const layout = {
        margin: {t: 10, r: 20, b: 40, l: 60}, hovermode: 'x unified',
        legend: {orientation: 'h', x: 0, y: 1.08},
        xaxis: {type: 'date', tickformat: '%d %b', gridcolor: '#f3f4f6', automargin: true},
        yaxis: charts.countAxis('Units per day', {tickformat: ',~r'}),
        shapes: lastHistory ? [{type: 'line', xref: 'x', yref: 'paper', x0: f.dates[0], x1: f.dates[0], y0: 0, y1: 1,
                                 line: {color: '#9ca3af', width: 1, dash: 'dot'}}] : [],
        annotations: lastHistory ? [{x: f.dates[0], y: 1, xref: 'x', yref: 'paper', text: 'forecast →',
                                      showarrow: false, xanchor: 'left', yanchor: 'top', font: {size: 11, color: '#6b7280'}}] : []
      };
      charts.plot(chart, traces, layout, {empty: false});
    }
  }
  const live = window.ecomopsLive;
  if (!live) return;
  const bar = document.getElementById('forecast-progress');
  const label = document.getElementById('forecast-job');
  live.on('job.progress', function (msg) {
    if (!bar || msg.job.kind !== 'inventory_forecast') return;
    const line = document.getElementById('forecast-job-line');
    if (line) line.hidden = false;
    bar.value = msg.job.progress;
    label.textContent = msg.job.progress + '% — ' + (msg.job.error || msg.job.message);
    if (msg.job.status === 'succeeded') { label.textContent += ' (reload to see the new version)'; }
  });
  const METRICS = {revenue: 'Revenue', orders: 'Orders', conversion: 'Conversion'};
  function shown(metric, v, currency, count) {
    if (metric === 'conversion') return (v * 100).toFixed(2) + '%';
    if (metric === 'orders') return v.toLocaleString('en-US', {maximumFractionDigits: count ? 0 : 1, minimumFractionDigits: count ? 0 : 1});
    const text = v.toLocaleString('en-US', {minimumFractionDigits: 2, maximumFractionDigits: 2});
    return metric === 'revenue' && currency ? text + ' ' + currency : text;
  }
  live.on('inventory.anomaly', function (msg) {
    const box = document.getElementById('kpi-anomalies');
    if (!box) return;
    const a = msg.anomaly, cur = box.dataset.currency;
    if (box.querySelector('li[data-metric="' + a.metric + '"][data-date="' + a.date + '"]')) return;
    box.hidden = false; box.className = 'card error'; box.setAttribute('role', 'alert');
    let list = box.querySelector('ul');
    if (!list) { box.innerHTML = '<strong>KPI anomalies</strong>'; list = document.createElement('ul'); box.appendChild(list); }
    const li = document.createElement('li');
    li.dataset.metric = a.metric; li.dataset.date = a.date;
    const day = new Date(a.date + 'T12:00:00').toLocaleDateString(undefined, {weekday: 'short', day: 'numeric', month: 'short', year: 'numeric'});
    li.textContent = day + ': ' + (METRICS[a.metric] || a.metric) + ' ' + shown(a.metric, a.actual, cur, true) + ' was ' + a.direction +
      ' its expected range ' + shown(a.metric, a.lo) + '–' + shown(a.metric, a.hi, cur) + ' (' + (a.size >= 0 ? '+' : '') +
      Math.round(a.size * 100) + '% vs the forecast ' + shown(a.metric, a.expected, cur) + ')';
    list.insertBefore(li, list.firstChild);
  });
})();
