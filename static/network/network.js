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

  function linksPage(opts) {
    const charts = {};
    document.querySelectorAll('.net-link .chart').forEach(function (el) {
      const id = el.dataset.linkId;
      charts[id] = el;
      Plotly.newPlot(el, [
        {x: [], y: [], name: 'Throughput (Mbit/s)', type: 'scatter', mode: 'lines', line: {color: '#2563eb', width: 1.5}},
        {x: [], y: [], name: 'Latency (ms)', type: 'scatter', mode: 'lines', yaxis: 'y2', line: {color: '#b45309', width: 1.5}},
      ], {margin: {t: 6, r: 50, b: 30, l: 50}, font: FONT, showlegend: true, legend: {orientation: 'h', y: -0.25},
          xaxis: {type: 'date'}, yaxis: {rangemode: 'tozero', title: {text: 'Mbit/s'}},
          yaxis2: {overlaying: 'y', side: 'right', rangemode: 'tozero', showgrid: false, title: {text: 'ms'}}},
        {responsive: true, displaylogo: false, displayModeBar: false});
      fetch('/api/v1/stores/' + encodeURIComponent(opts.store) + '/network/links/' + id + '/kpis/?window=15m', {credentials: 'same-origin'})
        .then(function (r) { return r.ok ? r.json() : {points: []}; })
        .then(function (data) {
          const pts = data.points || [];
          Plotly.extendTraces(el, {x: [pts.map(function (p) { return p.ts; }), pts.map(function (p) { return p.ts; })],
            y: [pts.map(function (p) { return p.throughput_mbps; }), pts.map(function (p) { return p.latency_p50_ms; })]}, [0, 1], MAX_POINTS);
          el.dataset.ready = '1';
        });
    });

    window.ecomopsLive.on('network.kpis', function (msg) {
      const tick = document.getElementById('net-tick'); if (tick) tick.textContent = msg.tick;
      (msg.links || []).forEach(function (link) {
        const row = document.querySelector('#links-table tr[data-link-id="' + link.id + '"]');
        if (row) {
          row.querySelector('.grade').innerHTML = '<span class="badge ' + text(link.grade) + '">' + text(link.grade) + '</span>';
          row.querySelector('.score').textContent = fmt(link.score);
          ['rsrp', 'sinr', 'throughput_mbps', 'latency_p95_ms', 'availability'].forEach(function (k) {
            const cell = row.querySelector('.k-' + k); if (cell) cell.textContent = fmt(link.kpis[k]);
          });
        }
        const badge = document.querySelector('[data-grade-for="' + link.id + '"]');
        if (badge) { badge.className = 'badge ' + link.grade; badge.textContent = link.grade; }
        const el = charts[link.id];
        if (el && el.dataset.ready) {
          const now = link.now || {};
          const thr = now.throughput_mbps != null ? now.throughput_mbps : link.kpis.throughput_mbps;
          const lat = now.latency_ms != null ? now.latency_ms : link.kpis.latency_p50_ms;
          Plotly.extendTraces(el, {x: [[msg.sim_time], [msg.sim_time]], y: [[thr], [lat]]}, [0, 1], MAX_POINTS);
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

  function mapPage(data) {
    const el = document.getElementById('net-map');
    const sites = data.sites;
    function siteTrace() {
      return {x: sites.map(function (s) { return s.x_m; }), y: sites.map(function (s) { return s.y_m; }),
        text: sites.map(function (s) { return s.name + '<br>' + (s.grade || 'no data') + (s.score != null ? ' (' + s.score + ')' : ''); }),
        mode: 'markers+text', textposition: 'top center', hoverinfo: 'text', name: 'Sites', type: 'scatter',
        marker: {size: 14, color: sites.map(function (s) { return GRADE_COLOURS[s.grade || '']; }), line: {color: '#fff', width: 1}}};
    }
    function cellTrace(cells) {
      return {x: cells.map(function (c) { return c.x_m != null ? c.x_m : c.x; }), y: cells.map(function (c) { return c.y_m != null ? c.y_m : c.y; }),
        text: cells.map(function (c) { return c.name + ' (' + c.band + ')' + (c.active ? '' : ' — OUTAGE'); }), mode: 'markers+text',
        textposition: 'bottom center', hoverinfo: 'text', name: 'Cells', type: 'scatter',
        marker: {symbol: 'triangle-up', size: 18, color: cells.map(function (c) { return c.active ? (c.band === 'n257' ? '#7c3aed' : '#2563eb') : '#9ca3af'; })}};
    }
    Plotly.newPlot(el, [cellTrace(data.cells), siteTrace()], {
      margin: {t: 10, r: 10, b: 40, l: 60}, font: FONT, xaxis: {title: {text: 'x (m)'}, zeroline: false},
      yaxis: {title: {text: 'y (m)'}, scaleanchor: 'x', zeroline: false}, legend: {orientation: 'h'}},
      {responsive: true, displaylogo: false}).then(function () { el.dataset.ready = '1'; });
    window.ecomopsLive.on('network.kpis', function (msg) {
      const byLink = {}; (msg.links || []).forEach(function (l) { byLink[l.id] = l; });
      sites.forEach(function (s) {
        const l = byLink[s.link_id]; if (!l) return;
        s.grade = l.grade; s.score = l.score;
        if (l.x != null) { s.x_m = l.x; s.y_m = l.y; }
      });
      const tick = document.getElementById('net-tick'); if (tick) tick.textContent = msg.tick;
      Plotly.react(el, [cellTrace(msg.cells || data.cells), siteTrace()], el.layout);
    });
  }

  function timelinePage(data) {
    const el = document.getElementById('timeline');
    const now = new Date().toISOString();
    const rows = [];
    data.incidents.forEach(function (i) { rows.push({label: (i.link || 'store') + ': ' + i.kind_label, start: i.started_at, end: i.ended_at || now, colour: i.severity === 'critical' ? '#dc2626' : '#f59e0b', text: i.cause}); });
    data.injections.forEach(function (j) { rows.push({label: 'Injected: ' + j.kind_label, start: j.started_at, end: j.stopped_at || now, colour: '#7c3aed', text: j.note || ''}); });
    const traces = rows.map(function (r) {
      return {x: [r.start, r.end], y: [r.label, r.label], mode: 'lines', type: 'scatter', line: {color: r.colour, width: 10},
        hovertext: r.text, hoverinfo: 'text+x', showlegend: false};
    });
    Plotly.newPlot(el, traces, {margin: {t: 10, r: 10, b: 40, l: 260}, font: FONT, xaxis: {type: 'date'},
      yaxis: {automargin: true}, height: Math.max(260, 28 * (new Set(rows.map(function (r) { return r.label; })).size) + 80)},
      {responsive: true, displaylogo: false}).then(function () { el.dataset.ready = '1'; });
    window.ecomopsLive.on('network.alert', function () { el.dataset.stale = '1'; });
  }

  window.ecomopsNetwork = {linksPage: linksPage, mapPage: mapPage, timelinePage: timelinePage};
})();
