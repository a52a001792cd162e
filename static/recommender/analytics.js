/* The Analytics page: each section's form queries the analytics API and draws a plotly chart.
   Live counters come over the store websocket (`analytics.live`), with a 30 s refresh as fallback. */
(function () {
  'use strict';
  const cfg = document.getElementById('analytics-config');
  const api = cfg.dataset.api;
  const csvUrl = cfg.dataset.csv;
  const currency = cfg.dataset.currency;
  const charts = window.ecomopsCharts;
  const margin = {t: 10, r: 20, b: 40, l: 60};

  function esc(s) { const d = document.createElement('span'); d.textContent = s == null ? '' : String(s); return d.innerHTML; }
  function pct(x) { return x == null ? '–' : (100 * x).toFixed(1) + '%'; }
  function duration(s) {
    if (s == null) return '–';
    if (s < 120) return Math.round(s) + ' s';
    if (s < 7200) return (s / 60).toFixed(1) + ' min';
    if (s < 172800) return (s / 3600).toFixed(1) + ' h';
    return (s / 86400).toFixed(1) + ' d';
  }
  function params(form) {
    const p = new URLSearchParams();
    new FormData(form).forEach(function (v, k) { if (v !== '') p.append(k, v); });
    return p;
  }
  function showError(name, body) {
    const el = document.getElementById(name + '-error');
    if (!el) return;
    if (!body) { el.hidden = true; el.textContent = ''; return; }
    el.hidden = false;
    el.textContent = typeof body === 'string' ? body : Object.keys(body).map(function (k) {
      return k + ': ' + [].concat(body[k]).join(' ');
    }).join('; ');
  }
  function load(name, path, form, draw) {
    const url = api + path + (form ? '?' + params(form).toString() : '');
    const section = document.getElementById(name + '-section');
    if (section) section.setAttribute('aria-busy', 'true');
    return fetch(url, {credentials: 'same-origin', headers: {Accept: 'application/json'}})
      .then(function (r) { return r.json().then(function (body) { return {ok: r.ok, body: body}; }); })
      .then(function (res) {
        if (!res.ok) { showError(name, res.body); return; }
        showError(name, null);
        draw(res.body);
        if (section) section.dataset.ready = '1';
      })
      .catch(function (e) { showError(name, 'Could not load: ' + e); })
      .finally(function () { if (section) section.removeAttribute('aria-busy'); });
  }
  function bind(name, path, draw) {
    const form = document.getElementById(name + '-form');
    if (form) form.addEventListener('submit', function (ev) { ev.preventDefault(); load(name, path, form, draw); });
    return load(name, path, form, draw);
  }

  // --- funnel
  function drawFunnel(d) {
    const traces = [];
    const labels = d.steps.map(function (s) { return s.step + '. ' + s.event; });
    if (d.series && d.series.length) {
      d.series.forEach(function (s) {
        traces.push({type: 'bar', name: s.value, x: labels, y: s.steps.map(function (x) { return x.count; }),
          text: s.steps.map(function (x) { return pct(x.conversion_from_start); }), textposition: 'auto'});
      });
    } else {
      traces.push({type: 'funnel', y: labels, x: d.steps.map(function (s) { return s.count; }),
        textinfo: 'value+percent initial', marker: {color: '#2563eb'}});
    }
    charts.plot('funnel-chart', traces, {margin: {t: 10, r: 20, b: 40, l: 120}, barmode: 'group',
      legend: {orientation: 'h'}, yaxis: {automargin: true}}, {empty: !d.steps.length || !d.steps[0].count,
      emptyText: 'Nobody entered the first step in this period: pick a longer period or other steps.'});
    const tbody = document.querySelector('#funnel-table tbody');
    tbody.innerHTML = d.steps.map(function (s) {
      return '<tr><td>' + s.step + '. ' + esc(s.event) + '</td><td class="num">' + s.count.toLocaleString() +
        '</td><td class="num">' + pct(s.conversion_from_start) + '</td><td class="num">' + pct(s.conversion_from_previous) +
        '</td><td class="num">' + s.dropoff_from_previous.toLocaleString() + '</td><td class="num">' +
        duration(s.median_seconds_from_start) + '</td></tr>';
    }).join('');
  }

  // --- retention heatmap
  function drawRetention(d) {
    const y = d.cohorts.map(function (c) { return c.period + ' (' + c.size + ')'; });
    const z = d.cohorts.map(function (c) {
      return d.offsets.map(function (k) { return k < c.rates.length ? Math.round(1000 * c.rates[k]) / 10 : null; });
    });
    charts.plot('retention-chart', [{type: 'heatmap', x: d.offsets.map(function (k) { return d.period + ' ' + k; }),
      y: y, z: z, colorscale: 'Blues', reversescale: true, zmin: 0, zmax: 100, hoverongaps: false, texttemplate: '%{z}',
      colorbar: {title: {text: '%'}}}],
      {margin: {t: 10, r: 20, b: 60, l: 130}, yaxis: {autorange: 'reversed', automargin: true}},
      {empty: !d.cohorts.length, emptyText: 'No customer cohorts in this period yet.'});
  }

  // --- lifecycle stacked bars
  function drawLifecycle(d) {
    const colors = {new: '#16a34a', returning: '#2563eb', resurrecting: '#f59e0b', dormant: '#dc2626'};
    const lifecycle = Object.keys(d.series).map(function (k) {
      return {type: 'bar', name: k, x: d.periods, y: d.series[k], marker: {color: colors[k]},
              customdata: d.series[k].map(Math.abs), hovertemplate: '%{x}<br>%{customdata:,d} ' + k + '<extra></extra>'};
    });
    // Dormant customers are drawn below the line on purpose (they left); the ticks count customers both ways, so
    // the axis never reads "−600 customers".
    let up = 0, down = 0;
    (d.periods || []).forEach(function (_, i) {
      let a = 0, b = 0;
      lifecycle.forEach(function (t) { const v = t.y[i] || 0; if (v >= 0) a += v; else b -= v; });
      up = Math.max(up, a); down = Math.max(down, b);
    });
    const raw = Math.max(up, down, 1) / 3, mag = Math.pow(10, Math.floor(Math.log10(raw)));
    const step = [1, 2, 5, 10].map(function (m) { return m * mag; }).find(function (v) { return v >= raw; });
    const ticks = [];
    for (let v = -Math.ceil(down / step) * step; v <= Math.ceil(up / step) * step + 1e-9; v += step) ticks.push(v);
    charts.plot('lifecycle-chart', lifecycle, {barmode: 'relative', margin: margin, legend: {orientation: 'h', y: -0.2},
      yaxis: {title: {text: 'customers (dormant below the line)'}, tickvals: ticks,
              ticktext: ticks.map(function (v) { return Math.abs(Math.round(v)).toLocaleString(); }),
              zeroline: true, zerolinecolor: '#6b7280', gridcolor: '#e5e7eb'}},
      {empty: !lifecycle.some(function (t) { return t.y.some(function (v) { return v; }); }), emptyText: 'No active customers in this period yet.'});
  }

  // --- RFM treemap + table + customer list
  function drawRfm(d) {
    const segs = d.segments.filter(function (s) { return s.customers > 0; });
    charts.plot('rfm-chart', [{type: 'treemap', labels: segs.map(function (s) { return s.label; }),
      parents: segs.map(function () { return ''; }), values: segs.map(function (s) { return s.customers; }),
      customdata: segs.map(function (s) { return pct(s.revenue_share); }),
      texttemplate: '%{label}<br>%{value} customers<br>%{customdata} of revenue'}],
      {margin: {t: 10, r: 10, b: 10, l: 10}}, {empty: !segs.length, emptyText: 'No orders yet: customers are segmented by recency, frequency and spend once they buy.'});
    document.querySelector('#rfm-table tbody').innerHTML = d.segments.map(function (s) {
      return '<tr><td><a href="#rfm-customers" data-segment="' + s.key + '">' + esc(s.label) + '</a></td><td class="num">' +
        s.customers.toLocaleString() + '</td><td class="num">' + pct(s.revenue_share) + '</td><td><a href="' + csvUrl +
        '?segment=' + s.key + '">CSV</a></td></tr>';
    }).join('') + '<tr><td class="muted">Prospects (no orders)</td><td class="num">' + d.prospects.toLocaleString() + '</td><td></td><td></td></tr>';
    drawCustomers(d.customer_list, null);
  }
  function drawCustomers(list, label) {
    document.getElementById('rfm-list-title').textContent = label ? 'Customers: ' + label : 'Top customers';
    document.querySelector('#rfm-customers tbody').innerHTML = list.results.map(function (c) {
      return '<tr><td>' + esc(c.name || c.email || c.external_id) + ' <span class="muted">' + esc(c.external_id) +
        '</span></td><td>' + esc(c.segment_label) + '</td><td class="num">' + c.r + '</td><td class="num">' + c.f +
        '</td><td class="num">' + c.m + '</td><td class="num">' + c.orders + '</td><td class="num">' + esc(c.revenue) +
        ' ' + esc(currency) + '</td><td>' + esc(String(c.last_order_at).slice(0, 10)) + '</td></tr>';
    }).join('');
  }
  document.getElementById('rfm-table').addEventListener('click', function (ev) {
    const a = ev.target.closest('a[data-segment]');
    if (!a) return;
    ev.preventDefault();
    load('rfm', 'rfm?segment=' + encodeURIComponent(a.dataset.segment) + '&limit=100', null, function (d) {
      drawCustomers(d.customer_list, a.textContent);
    });
  });

  // --- trends
  function drawTrends(d) {
    const traces = Object.keys(d.events).map(function (t) {
      return {type: 'scatter', mode: 'lines', name: t, x: d.periods, y: d.events[t]};
    });
    traces.push({type: 'bar', name: 'revenue (' + currency + ')', x: d.periods, y: d.revenue.map(Number), yaxis: 'y2',
      opacity: 0.3, marker: {color: '#6b7280'}, hovertemplate: '%{y:,.2f} ' + currency + '<extra></extra>'});
    // Both axes start at zero, so the revenue bars stand on the same baseline as the event lines.
    charts.plot('trends-chart', traces, {margin: {t: 10, r: 90, b: 40, l: 60}, legend: {orientation: 'h', y: -0.2},
      yaxis: charts.countAxis('events'), yaxis2: charts.moneyAxis(currency, {overlaying: 'y', side: 'right', showgrid: false})},
      {empty: !traces.some(function (t) { return t.y.some(function (v) { return v; }); }), emptyText: 'No events or orders in this period.'});
  }

  // --- top products and categories
  function drawTop(d) {
    document.querySelector('#top-products tbody').innerHTML = d.products.map(function (p) {
      return '<tr><td>' + esc(p.title) + ' <span class="muted">' + esc(p.sku) + '</span></td><td class="num">' +
        esc(p.revenue) + '</td><td class="num">' + p.units + '</td><td class="num">' + p.views + '</td><td class="num">' +
        p.add_to_cart + '</td><td class="num">' + pct(p.view_to_cart_rate) + '</td></tr>';
    }).join('');
    charts.plot('categories-chart', [{type: 'bar', orientation: 'h', y: d.categories.map(function (c) { return c.category; }),
      x: d.categories.map(function (c) { return Number(c.revenue); }), marker: {color: '#2563eb'}}],
      {margin: {t: 10, r: 20, b: 50, l: 140}, yaxis: {autorange: 'reversed', automargin: true},
       xaxis: charts.moneyAxis(currency)},
      {empty: !d.categories.some(function (c) { return Number(c.revenue) > 0; }), emptyText: 'No revenue in this period yet.'});
  }

  // --- paths: Sankey from the next-step links
  function drawPaths(d) {
    const index = {}; const labels = [];
    function node(depth, name) {
      const key = depth + ':' + name;
      if (!(key in index)) { index[key] = labels.length; labels.push(name); }
      return index[key];
    }
    const links = {source: [], target: [], value: []};
    d.links.slice(0, 60).forEach(function (l) {
      links.source.push(node(l.depth - 1, l.source)); links.target.push(node(l.depth, l.target)); links.value.push(l.count);
    });
    charts.plot('paths-chart', [{type: 'sankey', node: {label: labels, pad: 12}, link: links}],
      {margin: {t: 10, r: 10, b: 10, l: 10}}, {emptyText: 'No sessions start with this event in this period.'});
    document.querySelector('#paths-table tbody').innerHTML = d.paths.map(function (p) {
      return '<tr><td>' + esc(d.start_event) + ' → ' + p.steps.map(esc).join(' → ') + '</td><td class="num">' +
        p.count.toLocaleString() + '</td><td class="num">' + pct(p.share) + '</td></tr>';
    }).join('');
  }

  // --- live counters
  function drawLive(s) {
    document.getElementById('live-epm').textContent = s.events_last_minute.toLocaleString();
    document.getElementById('live-sessions').textContent = s.active_sessions.toLocaleString();
    document.getElementById('live-revenue').textContent = Number(s.revenue_today).toLocaleString(undefined, {minimumFractionDigits: 2}) + ' ' + s.currency;
    document.getElementById('live-orders').textContent = s.orders_today.toLocaleString();
    Plotly.react('live-spark', [{type: 'bar', y: s.events_per_minute, marker: {color: '#2563eb'}}],
      {margin: {t: 0, r: 0, b: 0, l: 0}, xaxis: {visible: false}, yaxis: {visible: false}, height: 48},
      {displayModeBar: false, staticPlot: true});
    document.getElementById('live-panel').dataset.asOf = s.as_of;
  }
  drawLive(JSON.parse(document.getElementById('analytics-live-initial').textContent));
  if (window.ecomopsLive) window.ecomopsLive.on('analytics.live', function (msg) { drawLive(msg.live); });
  setInterval(function () { load('live', 'live', null, drawLive); }, 30000);

  bind('funnel', 'funnel', drawFunnel);
  bind('retention', 'retention', drawRetention);
  bind('lifecycle', 'lifecycle', drawLifecycle);
  load('rfm', 'rfm', null, drawRfm);
  bind('trends', 'trends', drawTrends);
  bind('top', 'top-products', drawTop);
  bind('paths', 'paths', drawPaths);
})();
