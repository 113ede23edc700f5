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

  function show(e) {
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
  // The demo publisher names some events; show every type it uses.
  ['tick', 'polysse-missed'].forEach(function (type) { es.addEventListener(type, show); });

  var form = document.getElementById('publish');
  var result = document.getElementById('publish-result');
  form.addEventListener('submit', function (ev) {
    ev.preventDefault();
    var body = new URLSearchParams(new FormData(form));
    if (!body.get('type')) body.delete('type');
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
