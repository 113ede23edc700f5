// Runs before the polyfill on legacy.html: makes this browser look like the
// one the page's ?profile= names, the way polysse's end-to-end tests do, so
// that a person can watch each path of the polyfill work. &emulate=0 turns
// it off (the real browser's path). ES5: a real IE may open the page.
(function (w) {
  var profiles = {
    modern: [],
    firefox: [],
    edgehtml: ['EventSource', 'TextEncoder', 'TextDecoder', 'globalThis'],
    ie11: ['EventSource', 'WebAssembly', 'fetch', 'Promise', 'ReadableStream', 'TextEncoder', 'TextDecoder']
  };
  var m = /[?&]profile=([a-z0-9]+)/.exec(w.location.search);
  var profile = m && profiles[m[1]] ? m[1] : 'modern';
  var emulate = !/[?&]emulate=0/.test(w.location.search);
  var gone = [];
  if (emulate) {
    var names = profiles[profile];
    for (var i = 0; i < names.length; i++) {
      try { delete w[names[i]]; } catch (e) { /* not deletable here */ }
      if (!(names[i] in w)) gone.push(names[i]);
    }
    if (profile === 'firefox' && w.EventSource && w.EventTarget) w.EventSource = firefoxLike(w.EventSource);
  }
  w.__legacyProfile = { name: profile, emulate: emulate, deleted: gone };

  // firefoxLike wraps the browser's EventSource so that a failed connection
  // attempt (a refused reconnection, a 5xx, a proxy's 502) leaves it CLOSED,
  // where Chromium keeps retrying: what Firefox does outside a short list of
  // network errors. A drop after open still reconnects.
  function firefoxLike(Native) {
    function EventSource(url, init) {
      var t = new w.EventTarget();
      var es = arguments.length > 1 ? new Native(url, init) : new Native(url);
      var closed = false;
      var wasOpen = false;
      var types = {};
      function fire(e) {
        var h = t['on' + e.type];
        if (typeof h === 'function') h.call(t, e);
        t.dispatchEvent(e);
      }
      function listen(type) {
        if (types[type] || type === 'open' || type === 'error') return;
        types[type] = true;
        es.addEventListener(type, function (e) {
          if (!closed) fire(new w.MessageEvent(type, { data: e.data, lastEventId: e.lastEventId, origin: e.origin }));
        });
      }
      es.onopen = function () {
        wasOpen = true;
        fire(new w.Event('open'));
      };
      es.onerror = function () {
        if (closed) return;
        if (es.readyState === 0 && wasOpen) {
          wasOpen = false;
          fire(new w.Event('error'));
          return;
        }
        es.close();
        closed = true;
        fire(new w.Event('error'));
      };
      var add = t.addEventListener;
      t.addEventListener = function (type, fn, opts) {
        listen(type);
        add.call(t, type, fn, opts);
      };
      t.close = function () {
        closed = true;
        es.close();
      };
      Object.defineProperty(t, 'readyState', { get: function () { return closed ? 2 : es.readyState; } });
      Object.defineProperty(t, 'url', { value: es.url });
      Object.defineProperty(t, 'withCredentials', { value: es.withCredentials });
      t.onopen = t.onmessage = t.onerror = null;
      listen('message');
      return t;
    }
    EventSource.CONNECTING = 0;
    EventSource.OPEN = 1;
    EventSource.CLOSED = 2;
    return EventSource;
  }
})(window);
