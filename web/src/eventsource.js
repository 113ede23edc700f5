// The EventSource constructor and its API, shared by every engine.
//
// An engine opens the connection and reports what happens through a sink:
//
//   engine.connect(url, options, sink) → handle
//     url      absolute URL, resolved against the document
//     options  parseOptions' result
//     handle   { close(): stop everything; watch(type): optional, called
//                with each event type the page listens for }
//   sink.open(url)           the connection is announced (url after redirects)
//   sink.message(type, data, lastEventId[, origin])
//   sink.messages(fields)    many at once: [type, data, id, type, data, id, …]
//   sink.error(reconnecting) readyState CONNECTING when reconnecting, else CLOSED
//   sink.target              the EventSource, for hooks that want it
//
// The sink owns readyState and fires the events; an engine never touches the
// EventSource object itself.

import { isFunction, hidden, defineProperty } from './env.js';
import { resolve, origin as originOf, documentOrigin, setQuery } from './url.js';
import { makeEvent, makeMessageEvent } from './events.js';
import * as targets from './eventtarget.js';
import { parseOptions } from './options.js';

var CONNECTING = 0;
var OPEN = 1;
var CLOSED = 2;

var selectEngine = function () { throw new Error('polysse: no engine'); };

// setEngineSelector installs the function that picks an engine for a new
// EventSource from its options.
export function setEngineSelector(f) {
  selectEngine = f;
}

function state(es) {
  var st = es && es.__polysse;
  if (!st) throw new TypeError('Illegal invocation');
  return st;
}

// The second parameter, init, is read from arguments: the interface's length
// is 1, as the browser's.
export function EventSourcePolyfill(url) {
  if (!(this instanceof EventSourcePolyfill)) {
    throw new TypeError("Failed to construct 'EventSource': Please use the 'new' operator.");
  }
  if (arguments.length < 1) {
    throw new TypeError("Failed to construct 'EventSource': 1 argument required, but only 0 present.");
  }
  var self = targets.construct(this);
  var opts = parseOptions(arguments[1]);
  var abs = resolve(String(url));
  var st = {
    url: abs,
    withCredentials: opts.withCredentials,
    readyState: CONNECTING,
    origin: originOf(abs),
    handlers: {},
    target: self,
    conn: null,
    watched: {}
  };
  hidden(self, '__polysse', st);
  // A same-origin request could carry any header without a CORS preflight,
  // until a redirect takes it to another origin: then a header of ours
  // would cost the preflight that native EventSource never makes. So the
  // engines set no header of their own (fetch asks for an uncached response
  // through its cache mode, which makes the browser add the header itself);
  // only the lite engine, on XHR, which has no cache mode, sends
  // Cache-Control to its own origin, and drops it after a network error.
  opts.sameOrigin = false;
  opts.local = st.origin === documentOrigin();
  var engine = selectEngine(opts);
  st.engine = engine.name;
  // reportEngine tells the hub which path serves the page (its status page
  // counts open streams by engine).
  st.conn = engine.connect(opts.reportEngine ? setQuery(abs, '_engine', engine.name) : abs, opts, sink(st));
  watch(st, 'message');
  return self;
}

function fire(st, event) {
  if (targets.nativeTargets) {
    st.target.dispatchEvent(event);
  } else {
    targets.dispatchEvent.call(st.target, event);
  }
}

function sink(st) {
  return {
    target: st.target,
    open: function (url) {
      if (st.readyState === CLOSED) return;
      st.readyState = OPEN;
      if (url) st.origin = originOf(url);
      fire(st, makeEvent('open'));
    },
    message: function (type, data, id, origin) {
      if (st.readyState !== OPEN) return;
      fire(st, makeMessageEvent(type, data, id, origin || st.origin));
    },
    messages: function (f) {
      for (var i = 0; i + 2 < f.length; i += 3) {
        if (st.readyState !== OPEN) return;
        fire(st, makeMessageEvent(f[i], f[i + 1], f[i + 2], st.origin));
      }
    },
    error: function (reconnecting) {
      if (st.readyState === CLOSED) return;
      st.readyState = reconnecting ? CONNECTING : CLOSED;
      fire(st, makeEvent('error'));
    }
  };
}

function watch(st, type) {
  if (!st.watched[type] && st.conn && isFunction(st.conn.watch)) {
    st.watched[type] = true;
    st.conn.watch(type);
  }
}

// The name the page sees is the interface's, whatever the minifier calls
// the function.
try {
  defineProperty(EventSourcePolyfill, 'name', { value: 'EventSource', configurable: true });
} catch (e) { /* a name that cannot be redefined stays */ }

var proto = EventSourcePolyfill.prototype = Object.create(targets.baseProto, {
  constructor: { value: EventSourcePolyfill, writable: true, configurable: true }
});
if (targets.nativeTargets) targets.inherit(EventSourcePolyfill);

function constant(obj, name, value) {
  defineProperty(obj, name, { value: value, enumerable: true });
}

function getter(name, get) {
  defineProperty(proto, name, { get: get, enumerable: true, configurable: true });
}

var names = ['CONNECTING', 'OPEN', 'CLOSED'];
for (var i = 0; i < names.length; i++) {
  constant(EventSourcePolyfill, names[i], i);
  constant(proto, names[i], i);
}

getter('url', function () { return state(this).url; });
getter('withCredentials', function () { return state(this).withCredentials; });
getter('readyState', function () { return state(this).readyState; });

// The on… attributes are event handlers: the first non-null value set
// registers a listener at that point of the list, later values replace the
// function it calls, and null removes it.
function handler(type) {
  defineProperty(proto, 'on' + type, {
    enumerable: true,
    configurable: true,
    get: function () {
      var h = state(this).handlers[type];
      return h ? h.fn : null;
    },
    set: function (fn) {
      var st = state(this);
      var h = st.handlers[type];
      if (!isFunction(fn) && (fn === null || typeof fn !== 'object')) fn = null;
      if (fn === null) {
        if (h) {
          this.removeEventListener(type, h.listener);
          st.handlers[type] = null;
        }
        return;
      }
      if (h) {
        h.fn = fn;
        return;
      }
      var self = this;
      h = st.handlers[type] = { fn: fn, listener: null };
      h.listener = function (event) {
        var f = h.fn;
        if (isFunction(f)) {
          var r = f.call(self, event);
          if (r === false && event.cancelable) event.preventDefault();
        }
      };
      this.addEventListener(type, h.listener);
    }
  });
}
handler('open');
handler('message');
handler('error');

proto.close = function () {
  var st = state(this);
  if (st.readyState === CLOSED) return;
  st.readyState = CLOSED;
  if (st.conn) st.conn.close();
};

var baseAdd = targets.nativeTargets ? targets.baseProto.addEventListener : targets.addEventListener;

proto.addEventListener = function (type, callback, options) {
  var st = state(this);
  baseAdd.call(this, type, callback, options);
  watch(st, String(type));
};

if (!targets.nativeTargets) {
  proto.removeEventListener = targets.removeEventListener;
  proto.dispatchEvent = targets.dispatchEvent;
}

if (typeof Symbol === 'function' && Symbol.toStringTag) {
  defineProperty(proto, Symbol.toStringTag, { value: 'EventSource', configurable: true });
}
