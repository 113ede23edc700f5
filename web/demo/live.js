(function () {
  'use strict';
  var params = new URLSearchParams(location.search);
  var topics = params.getAll('topic');
  if (topics.length === 0) topics = ['*'];
  document.getElementById('topics').textContent = topics.join(', ');

  var hub = new URL('/.well-known/mercure', location.href);
  topics.forEach(function (t) { hub.searchParams.append('topic', t); });

  var list = document.getElementById('events');
  var count = document.getElementById('count');
  var state = document.getElementById('state');
  var names = ['connecting', 'open', 'closed'];
  var n = 0;
  var shown = {};

  // show lists an event once: the EventSource and the type reader below may
  // both hand it over, and ids (the hub gives every event one) tell.
  function show(e) {
    if (e.lastEventId) {
      if (shown[e.lastEventId]) return;
      shown[e.lastEventId] = true;
    }
    var li = document.createElement('li');
    li.dataset.id = e.lastEventId;
    li.dataset.type = e.type;
    var meta = document.createElement('span');
    meta.className = 'meta';
    meta.textContent = new Date().toLocaleTimeString() + ' · ' + e.type;
    var data = document.createElement('span');
    data.className = 'data';
    data.textContent = e.data;
    li.appendChild(meta);
    li.appendChild(data);
    list.insertBefore(li, list.firstChild);
    while (list.children.length > 200) list.removeChild(list.lastChild);
    count.textContent = String(++n);
  }

  var es = new EventSource(hub.href);
  es.onopen = es.onerror = function () { state.textContent = names[es.readyState]; };
  es.onmessage = show;
  var listening = { message: true };
  function listen(type) {
    if (!type || listening[type]) return;
    listening[type] = true;
    es.addEventListener(type, show);
  }
  // The demo publisher's types, and any named in ?type=.
  ['tick', 'polysse-missed'].concat(params.getAll('type')).forEach(listen);
  readTypes();

  // An EventSource has no listener for "any type", and a publisher may use
  // any. So a second reader of the same stream (fetch) learns each event's
  // type: the page starts listening for it at once, and shows from this
  // reader the event that taught it, which the EventSource had no listener
  // for. Only the type, data and id are read here; the page's events are
  // the EventSource's.
  function readTypes() {
    if (!window.fetch || !window.TextDecoder || !window.ReadableStream) return;
    fetch(hub.href, { headers: { Accept: 'text/event-stream' }, cache: 'no-store' }).then(function (res) {
      if (!res.ok || !res.body) return;
      var reader = res.body.getReader();
      var decoder = new TextDecoder();
      var rest = '';
      var ev = { type: '', data: [], id: '' };
      function line(l) {
        if (l === '') {
          var type = ev.type || 'message';
          if (ev.data.length && !listening[type]) {
            listen(type);
            show({ type: type, data: ev.data.join('\n'), lastEventId: ev.id });
          }
          ev = { type: '', data: [], id: ev.id };
          return;
        }
        var colon = l.indexOf(':');
        var field = colon < 0 ? l : l.slice(0, colon);
        var value = colon < 0 ? '' : l.slice(colon + 1).replace(/^ /, '');
        if (field === 'event') ev.type = value;
        else if (field === 'data') ev.data.push(value);
        else if (field === 'id') ev.id = value;
      }
      function pump() {
        return reader.read().then(function (r) {
          if (r.done) return;
          rest += decoder.decode(r.value, { stream: true });
          // A CR at the end may be half of a CRLF: keep it for the next chunk.
          var cut = rest.charAt(rest.length - 1) === '\r' ? rest.length - 1 : rest.length;
          var lines = rest.slice(0, cut).split(/\r\n|\r|\n/);
          rest = lines.pop() + rest.slice(cut);
          lines.forEach(line);
          return pump();
        });
      }
      return pump();
    }).then(null, function () {}); // a reader that ends only stops learning types
  }

  var form = document.getElementById('publish');
  var result = document.getElementById('publish-result');
  form.addEventListener('submit', function (ev) {
    ev.preventDefault();
    var body = new URLSearchParams(new FormData(form));
    if (!body.get('type')) body.delete('type');
    listen(body.get('type'));
    fetch('/demo/publish', { method: 'POST', body: body }).then(function (res) {
      return res.text().then(function (text) {
        result.textContent = res.ok ? 'published ' + text : 'refused: ' + text;
        result.className = res.ok ? 'ok' : 'err';
      });
    }, function (err) {
      result.textContent = 'failed: ' + err;
      result.className = 'err';
    });
  });
})();
