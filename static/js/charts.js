/* One way to draw a chart on every page: a readable empty state instead of an empty −1..6 grid, and the
   same font, margins and axis habits everywhere. Pages call ecomopsCharts.plot(el, traces, layout, opts).

   opts.empty      true/false: whether there is nothing to show (default: no trace has a value)
   opts.emptyText  what the merchant reads instead of the chart
   The element gets data-ready="1" once drawn (or emptied) and data-empty="1" while it shows the empty state. */
(function () {
  'use strict';
  const FONT = {family: 'system-ui, -apple-system, "Segoe UI", Roboto, sans-serif', size: 12, color: '#374151'};
  const VALUE_KEYS = {histogram: ['x', 'y'], heatmap: ['z'], treemap: ['values'], sankey: [], funnel: ['x']};

  function element(el) { return typeof el === 'string' ? document.getElementById(el) : el; }
  function present(v) { return v !== null && v !== undefined && v !== '' && !(typeof v === 'number' && isNaN(v)); }
  function flat(a) { return [].concat.apply([], a.map(function (v) { return Array.isArray(v) ? flat(v) : [v]; })); }

  function hasData(traces) {
    return (traces || []).some(function (t) {
      if (t.type === 'sankey') return !!(t.link && t.link.value && t.link.value.length);
      const keys = VALUE_KEYS[t.type] || [t.orientation === 'h' ? 'x' : 'y'];
      return keys.some(function (k) { return Array.isArray(t[k]) && flat(t[k]).some(present); });
    });
  }

  function showEmpty(el, text) {
    el = element(el);
    if (!el) return;
    if (el.data && window.Plotly) Plotly.purge(el);
    el.innerHTML = '';
    const p = document.createElement('p');
    p.className = 'chart-empty';
    p.textContent = text || 'No data yet.';
    el.appendChild(p);
    el.classList.add('is-empty');
    el.dataset.empty = '1';
    el.dataset.ready = '1';
  }

  function plot(el, traces, layout, opts) {
    el = element(el);
    opts = opts || {};
    if (!el) return Promise.resolve(null);
    const empty = opts.empty !== undefined ? opts.empty : !hasData(traces);
    if (empty) { showEmpty(el, opts.emptyText); return Promise.resolve(el); }
    if (el.dataset.empty) { el.innerHTML = ''; el.classList.remove('is-empty'); delete el.dataset.empty; }
    const full = Object.assign({font: FONT, paper_bgcolor: '#fff', plot_bgcolor: '#fff',
                                margin: {t: 10, r: 20, b: 50, l: 60}}, layout || {});
    const config = Object.assign({responsive: true, displaylogo: false}, opts.config || {});
    return Plotly.react(el, traces, full, config).then(function () { el.dataset.ready = '1'; return el; });
  }

  // Axis presets: counts never go below zero and tick in whole numbers; money ticks carry the currency.
  function countAxis(title, extra) {
    return Object.assign({title: {text: title}, rangemode: 'tozero', tickformat: ',d', gridcolor: '#e5e7eb', automargin: true}, extra || {});
  }
  function moneyAxis(currency, extra) {
    return Object.assign({title: {text: 'Revenue (' + currency + ')'}, rangemode: 'tozero', tickformat: ',.0f',
                          ticksuffix: ' ' + currency, hoverformat: ',.2f', gridcolor: '#e5e7eb', automargin: true}, extra || {});
  }

  window.ecomopsCharts = {plot: plot, showEmpty: showEmpty, hasData: hasData, countAxis: countAxis, moneyAxis: moneyAxis, FONT: FONT};
})();
