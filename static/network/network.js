/* Network pages: live charts per link, the map and the incident timeline.
   Live data arrives on the store socket (static/js/live.js): `network.kpis` every tick, `network.alert` on
   raise/clear/acknowledge. Initial history comes from the REST API. */
(function () {
  'use strict';
  const GRADE_COLOURS = {excellent: '#059669', good: '#34d399', fair: '#f59e0b', poor: '#dc2626', no_service: '#111827', '': '#9ca3af'};
  const FONT = {family: 'system-ui, -apple-system, "Segoe UI", Roboto, sans-serif', size: 11, color: '#374151'};
  const MAX_POINTS = 600;
  function text(s) { const d = document.createElement('span'); d.textContent = s == null ? '' : String(s); return d.innerHTML; }
  function fmt(v) { return v == null ? '—' : (Math.round(v * 100) / 100).toString(); }
  function pct(v) { return v == null ? '—' : Math.round(v * 100) + '%'; }
  function gradeLabel(g) { return g === 'no_service' ? 'no service' : (g || 'no data'); }

  function linksPage(opts) {
    const charts = {};
    const EMPTY = 'No measurements yet: the simulator adds a point every second while it runs (Resume above if it is paused).';
    const layout = {margin: {t: 6, r: 60, b: 30, l: 60}, font: FONT, showlegend: true, legend: {orientation: 'h', y: -0.25},
        xaxis: {type: 'date', tickformat: '%H:%M:%S'}, yaxis: {rangemode: 'tozero', title: {text: 'Mbit/s'}},
        yaxis2: {overlaying: 'y', side: 'right', rangemode: 'tozero', showgrid: false, title: {text: 'ms'}}};
    function draw(el) {
      const s = el.series;
      return window.ecomopsCharts.plot(el, [
        {x: s.x.slice(), y: s.thr.slice(), name: 'Throughput (Mbit/s)', type: 'scatter', mode: 'lines', line: {color: '#2563eb', width: 1.5}},
        {x: s.x.slice(), y: s.lat.slice(), name: 'Latency (ms)', type: 'scatter', mode: 'lines', yaxis: 'y2', line: {color: '#b45309', width: 1.5}},
      ], layout, {emptyText: EMPTY, config: {displayModeBar: false}});
    }
    document.querySelectorAll('.net-link .chart').forEach(function (el) {
      const id = el.dataset.linkId;
      charts[id] = el;
      el.series = {x: [], thr: [], lat: []};
      fetch('/api/v1/stores/' + encodeURIComponent(opts.store) + '/network/links/' + id + '/kpis/?window=15m', {credentials: 'same-origin'})
        .then(function (r) { return r.ok ? r.json() : {points: []}; })
        .then(function (data) {
          (data.points || []).forEach(function (p) { el.series.x.push(p.ts); el.series.thr.push(p.throughput_mbps); el.series.lat.push(p.latency_p50_ms); });
          el.loaded = true;
          return draw(el);
        });
    });

    window.ecomopsLive.on('network.kpis', function (msg) {
      const tick = document.getElementById('net-tick'); if (tick) tick.textContent = msg.tick;
      (msg.links || []).forEach(function (link) {
        const row = document.querySelector('#links-table tr[data-link-id="' + link.id + '"]');
        if (row) {
          row.querySelector('.grade').innerHTML = '<span class="badge ' + text(link.grade) + '">' + text(gradeLabel(link.grade)) + '</span>';
          row.querySelector('.score').textContent = link.score == null ? '—' : Number(link.score).toFixed(1);
          ['rsrp', 'sinr', 'throughput_mbps', 'latency_p95_ms'].forEach(function (k) {
            const cell = row.querySelector('.k-' + k); if (cell) cell.textContent = fmt(link.kpis[k]);
          });
          const avail = row.querySelector('.k-availability'); if (avail) avail.textContent = pct(link.kpis.availability);
        }
        const badge = document.querySelector('[data-grade-for="' + link.id + '"]');
        if (badge) { badge.className = 'badge ' + link.grade; badge.textContent = gradeLabel(link.grade); }
        const el = charts[link.id];
        if (el && el.loaded) {
          const now = link.now || {};
          const s = el.series;
          s.x.push(msg.sim_time);
          s.thr.push(now.throughput_mbps != null ? now.throughput_mbps : link.kpis.throughput_mbps);
          s.lat.push(now.latency_ms != null ? now.latency_ms : link.kpis.latency_p50_ms);
          if (s.x.length > MAX_POINTS) { s.x.shift(); s.thr.shift(); s.lat.shift(); }
          draw(el);
        }
      });
    });
    alertFeed(opts);
  }

  function alertFeed(opts) {
    const feed = document.getElementById('alert-feed');
    if (!feed) return;
    window.ecomopsLive.on('network.alert', function (msg) {
      const inc = msg.incident;
      const empty = feed.querySelector('li.empty'); if (empty) empty.remove();
      let li = feed.querySelector('li[data-incident-id="' + inc.id + '"]');
      if (!li) { li = document.createElement('li'); li.dataset.incidentId = inc.id; feed.prepend(li); }
      const sev = inc.severity === 'critical' ? 'poor' : 'fair';
      let html = '<span class="badge ' + sev + '">' + text(inc.kind_label) + '</span> ' + text(inc.link) + ' — ' + text(inc.cause);
      if (msg.event === 'cleared') { li.className = 'cleared'; html += ' <span class="muted">· cleared</span>'; }
      if (inc.acknowledged_at) html += ' <span class="muted">· acknowledged by ' + text(inc.acknowledged_by) + '</span>';
      else if (opts.canWrite && msg.event === 'raised') {
        html += ' <form method="post" action="/stores/' + encodeURIComponent(opts.store) + '/network/incidents/' + inc.id + '/ack/" class="inline">' +
          '<input type="hidden" name="csrfmiddlewaretoken" value="' + text(opts.csrf) + '"><button class="link">Acknowledge</button></form>';
      }
      li.innerHTML = html;
    });
  }

  // Labels as annotations, placed one by one around their marker where they overlap no other marker and no
  // label placed before (cells first, so an outage marker and its label are never covered).
  const LABEL_OFFSETS = [[0, -24], [0, 26], [1, 0], [-1, 0], [1, -24], [1, 26], [-1, -24], [-1, 26], [0, -50], [0, 52],
                         [1, -50], [-1, -50], [1, 52], [-1, 52], [0, -76], [0, 78]];
  function placeLabels(el, points) {
    const fl = el._fullLayout;
    if (!fl || !fl.xaxis || !fl.xaxis.l2p) return [];
    const xa = fl.xaxis, ya = fl.yaxis;
    const px = function (p) { return [xa._offset + xa.l2p(p.x), ya._offset + ya.l2p(p.y)]; };
    const taken = points.map(function (p) { const c = px(p); return [c[0] - 11, c[1] - 11, c[0] + 11, c[1] + 11]; });
    function overlaps(b) {
      return taken.reduce(function (n, t) { return n + (b[0] < t[2] && b[2] > t[0] && b[1] < t[3] && b[3] > t[1] ? 1 : 0); }, 0);
    }
    return points.map(function (p) {
      const c = px(p);
      const lines = p.label.split('<br>');
      const w = 7 * Math.max.apply(null, lines.map(function (l) { return l.replace(/<[^>]+>/g, '').length; })) + 8;
      const h = 15 * lines.length + 4;
      let best = null;
      LABEL_OFFSETS.some(function (o) {
        const dx = o[0] === 0 ? 0 : o[0] * (w / 2 + 14), dy = o[1];
        const box = [c[0] + dx - w / 2, c[1] + dy - h / 2, c[0] + dx + w / 2, c[1] + dy + h / 2];
        const n = overlaps(box);
        if (best === null || n < best.n) best = {n: n, dx: dx, dy: dy, box: box};
        return n === 0;
      });
      taken.push(best.box);
      const far = Math.abs(best.dy) > 30 || Math.abs(best.dx) > w / 2 + 20;
      return {x: p.x, y: p.y, xref: 'x', yref: 'y', text: p.label, ax: best.dx, ay: best.dy, showarrow: true,
              arrowwidth: 1, arrowhead: 0, arrowcolor: far ? '#9ca3af' : 'rgba(0,0,0,0)', standoff: 9,
              font: Object.assign({}, FONT, {color: p.colour || FONT.color}), bgcolor: 'rgba(255,255,255,0.85)',
              borderpad: 1, captureevents: false, name: p.key};
    });
  }

  function mapPage(data) {
    const el = document.getElementById('net-map');
    const sites = data.sites;
    let cells = data.cells;
    function siteLabel(s) {
      return '<b>' + text(s.name) + '</b><br>' + gradeLabel(s.grade) + (s.score != null ? ' · ' + Number(s.score).toFixed(0) + '/100' : '');
    }
    function cellLabel(c) { return text(c.name) + ' (' + text(c.band) + ')' + (c.active ? '' : '<br><b>OUTAGE</b>'); }
    function siteTrace() {
      return {x: sites.map(function (s) { return s.x_m; }), y: sites.map(function (s) { return s.y_m; }),
        text: sites.map(function (s) { return siteLabel(s) + (s.link ? '<br>' + text(s.link) : ''); }),
        mode: 'markers', hoverinfo: 'text', name: 'Sites (colour = grade)', type: 'scatter',
        marker: {size: 14, color: sites.map(function (s) { return GRADE_COLOURS[s.grade || '']; }), line: {color: '#fff', width: 1}}};
    }
    function cx(c) { return c.x_m != null ? c.x_m : c.x; }
    function cy(c) { return c.y_m != null ? c.y_m : c.y; }
    function cellTrace() {
      return {x: cells.map(cx), y: cells.map(cy), text: cells.map(cellLabel), mode: 'markers', hoverinfo: 'text',
        name: 'Cells (grey ✕ = outage)', type: 'scatter',
        marker: {symbol: cells.map(function (c) { return c.active ? 'triangle-up' : 'x'; }), size: 18,
                 color: cells.map(function (c) { return c.active ? (c.band === 'n257' ? '#7c3aed' : '#2563eb') : '#dc2626'; }),
                 line: {color: '#fff', width: 1}}};
    }
    function labels() {
      const pts = cells.map(function (c) { return {x: cx(c), y: cy(c), label: cellLabel(c), colour: c.active ? null : '#b91c1c', key: 'cell-' + c.id}; })
        .concat(sites.map(function (s) { return {x: s.x_m, y: s.y_m, label: siteLabel(s), key: 'site-' + s.id}; }));
      return placeLabels(el, pts);
    }
    const layout = {margin: {t: 10, r: 10, b: 40, l: 60}, font: FONT, xaxis: {title: {text: 'x (m)'}, zeroline: false},
      yaxis: {title: {text: 'y (m)'}, scaleanchor: 'x', zeroline: false}, legend: {orientation: 'h'}, annotations: []};
    Plotly.newPlot(el, [cellTrace(), siteTrace()], layout, {responsive: true, displaylogo: false})
      .then(function () { return Plotly.relayout(el, {annotations: labels()}); })
      .then(function () { el.dataset.ready = '1'; });
    el.on('plotly_relayout', function (ev) {
      if (ev && (ev['xaxis.range[0]'] !== undefined || ev['xaxis.autorange'])) Plotly.relayout(el, {annotations: labels()});
    });
    window.ecomopsLive.on('network.kpis', function (msg) {
      const byLink = {}; (msg.links || []).forEach(function (l) { byLink[l.id] = l; });
      sites.forEach(function (s) {
        const l = byLink[s.link_id]; if (!l) return;
        s.grade = l.grade; s.score = l.score;
        if (l.x != null) { s.x_m = l.x; s.y_m = l.y; }
      });
      if (msg.cells) cells = msg.cells;
      const tick = document.getElementById('net-tick'); if (tick) tick.textContent = msg.tick;
      Plotly.react(el, [cellTrace(), siteTrace()], Object.assign({}, el.layout, {annotations: labels()}));
    });
  }

  function timelinePage(data) {
    const el = document.getElementById('timeline');
    const now = new Date().toISOString();
    const rows = [];
    data.incidents.forEach(function (i) { rows.push({label: (i.link || 'store') + ': ' + i.kind_label, start: i.started_at, end: i.ended_at || now, colour: i.severity === 'critical' ? '#dc2626' : '#f59e0b', text: i.cause + (i.hysteresis ? '<br>raised: ' + i.hysteresis.raise_rule + ' for ' + (i.hysteresis.raised_after || i.hysteresis.raise_after) + ' ticks<br>' + (i.hysteresis.state === 'cleared' ? 'cleared: ' + i.hysteresis.clear_rule + ' for ' + i.hysteresis.cleared_after + ' ticks (held ' + i.hysteresis.held_s + ' s)' : 'held ' + i.hysteresis.held_s + ' s; clears on ' + i.hysteresis.clear_rule + ' for ' + i.hysteresis.clear_after + ' ticks') : '')}); });
    data.injections.forEach(function (j) { rows.push({label: 'Injected: ' + j.kind_label, start: j.started_at, end: j.stopped_at || now, colour: '#7c3aed', text: j.note || ''}); });
    const traces = rows.map(function (r) {
      return {x: [r.start, r.end], y: [r.label, r.label], mode: 'lines', type: 'scatter', line: {color: r.colour, width: 10},
        hovertext: r.text, hoverinfo: 'text+x', showlegend: false};
    });
    window.ecomopsCharts.plot(el, traces, {margin: {t: 10, r: 10, b: 40, l: 260}, font: FONT, xaxis: {type: 'date'},
      yaxis: {automargin: true}, height: Math.max(260, 28 * (new Set(rows.map(function (r) { return r.label; })).size) + 80)},
      {empty: !rows.length, emptyText: 'No incidents and no injected scenarios yet: alerts raised by the links and scenarios you start appear on this timeline.'});
    window.ecomopsLive.on('network.alert', function () { el.dataset.stale = '1'; });
  }

  window.ecomopsNetwork = {linksPage: linksPage, mapPage: mapPage, timelinePage: timelinePage};
})();
