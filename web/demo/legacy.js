// The legacy demo page: subscribes with EventSourcePolyfill, as a legacy
// page would, and shows which of the polyfill's paths serves it. ES5 (a
// real IE may open it). Query: profile (modern, firefox, edgehtml, ie11),
// emulate=0, topic (repeatable; default demo/counter and demo/clock),
// fallbackTimeout (ms).
(function (w, d) {
  var info = w.__legacyProfile || { name: 'modern', emulate: false, deleted: [] };
  var search = w.location.search;
  var $ = function (id) { return d.getElementById(id); };
  var text = function (id, s) { $(id).innerHTML = ''; $(id).appendChild(d.createTextNode(String(s))); };

  var explain = {
    modern: 'The browser\'s own EventSource, supervised: a stream that ends CLOSED is re-established with the last event ID; behind a buffering proxy it falls back to long-poll.',
    firefox: 'A native EventSource that gives up the way Firefox does (CLOSED after a failed reconnection, a 5xx, a 502): the supervisor re-establishes it.',
    edgehtml: 'No EventSource, TextEncoder/TextDecoder or globalThis, WebAssembly MVP: the Go engine, compiled to WebAssembly, over fetch or XHR.',
    ie11: 'No EventSource, WebAssembly, fetch or Promise: the ES5 lite engine over XHR streaming, recycled every 4 MiB; padded streaming, then long-poll, behind a buffering proxy.'
  };

  // The links to each profile, keeping the other parameters.
  var rest = search.replace(/^\?/, '').replace(/(^|&)(profile|emulate)=[^&]*/g, '').replace(/^&/, '');
  var names = ['modern', 'firefox', 'edgehtml', 'ie11'];
  for (var i = 0; i < names.length; i++) {
    var a = d.createElement('a');
    a.href = '?profile=' + names[i] + (info.emulate ? '' : '&emulate=0') + (rest ? '&' + rest : '');
    a.appendChild(d.createTextNode(names[i]));
    if (names[i] === info.name) a.className = 'current';
    $('profiles').appendChild(a);
  }
  var toggle = $('toggle');
  toggle.href = '?profile=' + info.name + (info.emulate ? '&emulate=0' : '') + (rest ? '&' + rest : '');
  toggle.appendChild(d.createTextNode(info.emulate ? 'turn off' : 'turn on'));
  text('emulation', info.emulate ? 'emulation on' : 'emulation off');
  text('profile', info.emulate ? info.name : info.name + ' (emulation off: this browser as it is)');
  text('deleted', info.deleted.length ? info.deleted.join(', ') : 'nothing');
  text('what', explain[info.name]);

  var topics = [];
  var re = /[?&]topic=([^&]*)/g;
  var m;
  while ((m = re.exec(search))) topics.push(decodeURIComponent(m[1].replace(/\+/g, ' ')));
  if (!topics.length) topics = ['demo/counter', 'demo/clock'];
  text('topics', topics.join(', '));
  var ft = /[?&]fallbackTimeout=([0-9]+)/.exec(search);

  var query = [];
  for (var t = 0; t < topics.length; t++) query.push('topic=' + encodeURIComponent(topics[t]));
  var url = '/.well-known/mercure?' + query.join('&');
  var opts = { reportEngine: true, retry: { initial: 1000, max: 10000 } };
  if (ft) opts.fallbackTimeout = +ft[1];

  var states = ['connecting', 'open', 'closed'];
  var got = [];
  var opens = 0;
  var errors = 0;
  var n = 0;
  var es = null;
  var list = $('events');

  function show(e) {
    got.push(e.data);
    var li = d.createElement('li');
    var meta = d.createElement('span');
    meta.className = 'meta';
    meta.appendChild(d.createTextNode(new Date().toLocaleTimeString() + ' · ' + e.type));
    var data = d.createElement('span');
    data.className = 'data';
    data.appendChild(d.createTextNode(e.data));
    li.appendChild(meta);
    li.appendChild(data);
    list.insertBefore(li, list.firstChild);
    while (list.children.length > 200) list.removeChild(list.lastChild);
    text('count', ++n);
  }

  function transport() {
    // The page's fallbacks by origin, from the shim (web/src/registry.js).
    var modes = (w.EventSourcePolyfill.__shim || {}).modes || {};
    var mode = modes[w.location.protocol + '//' + w.location.host];
    return mode === 2 ? 'long-poll' : mode === 1 ? 'padded streaming' : 'streaming';
  }

  function refresh() {
    if (!es) return;
    text('state', states[es.readyState]);
    text('engine', es.__polysse ? es.__polysse.engine : '?');
    text('transport', transport());
    text('opens', opens);
    text('errors', errors);
  }

  function open() {
    if (es) es.close();
    es = new w.EventSourcePolyfill(url, opts);
    es.onopen = function () { opens++; refresh(); };
    es.onerror = function () { errors++; refresh(); };
    es.onmessage = show;
    es.addEventListener('tick', show);
    es.addEventListener('polysse-missed', show);
    w.__legacy.es = es;
    refresh();
  }

  w.__legacy = { got: got, es: null, transport: transport };
  $('close').onclick = function () { es.close(); refresh(); };
  $('reopen').onclick = open;
  w.setInterval(refresh, 500);
  open();
})(window, document);
