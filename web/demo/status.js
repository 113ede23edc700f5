(function () {
  'use strict';
  var HISTORY = 120; // seconds drawn
  var series = { streams: [], published: [], delivered: [], heap: [] };
  var prev = null;

  function push(name, v) {
    var s = series[name];
    s.push(v);
    if (s.length > HISTORY) s.shift();
  }

  // draw renders one series as a filled sparkline scaled to its own maximum.
  function draw(name) {
    var canvas = document.getElementById('c-' + name);
    var dpr = window.devicePixelRatio || 1;
    var w = canvas.clientWidth * dpr, h = canvas.clientHeight * dpr;
    if (canvas.width !== w) canvas.width = w;
    if (canvas.height !== h) canvas.height = h;
    var ctx = canvas.getContext('2d');
    var s = series[name];
    ctx.clearRect(0, 0, w, h);
    if (s.length < 2) return;
    var max = Math.max.apply(null, s) || 1;
    var step = w / (HISTORY - 1);
    var x0 = w - (s.length - 1) * step;
    ctx.beginPath();
    ctx.moveTo(x0, h);
    s.forEach(function (v, i) { ctx.lineTo(x0 + i * step, h - (v / max) * (h - 4 * dpr) - 2 * dpr); });
    ctx.lineTo(w, h);
    ctx.closePath();
    ctx.fillStyle = 'rgba(52, 81, 178, 0.15)';
    ctx.fill();
    ctx.beginPath();
    s.forEach(function (v, i) {
      var x = x0 + i * step, y = h - (v / max) * (h - 4 * dpr) - 2 * dpr;
      if (i === 0) ctx.moveTo(x, y); else ctx.lineTo(x, y);
    });
    ctx.strokeStyle = '#3451b2';
    ctx.lineWidth = 1.5 * dpr;
    ctx.stroke();
  }

  function table(streams) {
    var engines = ['native', 'supervised', 'wasm', 'lite', 'other'];
    var thead = document.querySelector('#streams thead');
    var tbody = document.querySelector('#streams tbody');
    thead.innerHTML = '<tr><th>transport</th>' + engines.map(function (e) { return '<th>' + e + '</th>'; }).join('') + '<th>total</th></tr>';
    tbody.innerHTML = '';
    Object.keys(streams).sort().forEach(function (tr) {
      var total = 0;
      var cells = engines.map(function (e) { var n = streams[tr][e] || 0; total += n; return '<td>' + n + '</td>'; });
      var row = document.createElement('tr');
      row.innerHTML = '<td>' + tr + '</td>' + cells.join('') + '<td>' + total + '</td>';
      tbody.appendChild(row);
    });
  }

  function totalStreams(streams) {
    var n = 0;
    Object.keys(streams).forEach(function (tr) {
      Object.keys(streams[tr]).forEach(function (e) { n += streams[tr][e]; });
    });
    return n;
  }

  var es = new EventSource('/status/events');
  var state = document.getElementById('state');
  es.onopen = function () { state.textContent = 'open'; };
  es.onerror = function () { state.textContent = es.readyState === 2 ? 'closed' : 'reconnecting'; prev = null; };
  es.addEventListener('status', function (e) {
    var s = JSON.parse(e.data);
    var open = totalStreams(s.streams);
    push('streams', open);
    document.getElementById('v-streams').textContent = open;
    if (prev) {
      var dt = (s.time - prev.time) / 1000 || 1;
      var pub = Math.max(0, (s.published - prev.published) / dt);
      var del = Math.max(0, (s.delivered - prev.delivered) / dt);
      push('published', pub);
      push('delivered', del);
      document.getElementById('v-published').textContent = pub.toFixed(pub < 10 ? 1 : 0);
      document.getElementById('v-delivered').textContent = del.toFixed(del < 10 ? 1 : 0);
    }
    push('heap', s.heapBytes / 1048576);
    document.getElementById('v-heap').textContent = (s.heapBytes / 1048576).toFixed(1) + ' · ' + s.goroutines;
    document.getElementById('replays').textContent = s.replays;
    document.getElementById('missed').textContent = s.missed;
    document.getElementById('cutoff').textContent = s.cutOff;
    table(s.streams);
    ['streams', 'published', 'delivered', 'heap'].forEach(draw);
    prev = s;
  });
})();
