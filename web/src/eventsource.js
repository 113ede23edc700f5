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

import { isFunction, hidden, defineProperty, report, schedule } from './env.js';
import { resolve, origin as originOf, documentOrigin, setQuery } from './url.js';
import { makeEvent, makeMessageEvent } from './events.js';
import * as targets from './eventtarget.js';
import { parseOptions, standardOptions } from './options.js';

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

// The two constructors. EventSource (window.EventSource where the browser
// has none) is the standard's: it reads only withCredentials from its second
// argument and behaves as the WHATWG HTML server-sent events section says.
// EventSourcePolyfill takes polysse's options (options.js), and its
// defaults add the leniencies a page behind proxies wants: 502-504 as
// network errors, supervision of the native engine, the long-poll fallback.
// Both read the second parameter from arguments: the interface's length is
// 1, as the browser's.
export function EventSourcePolyfill(url) {
  return create(this, arguments, EventSourcePolyfill);
}

export function EventSource(url) {
  return create(this, arguments, EventSource);
}

function create(target, args, C) {
  if (!(target instanceof C)) {
    throw new TypeError("Failed to construct 'EventSource': Please use the 'new' operator.");
  }
  var standard = C === EventSource;
  if (args.length < 1) {
    throw new TypeError("Failed to construct 'EventSource': 1 argument required, but only 0 present.");
  }
  var self = targets.construct(target);
  var init = args[1];
  var opts = standard ? standardOptions(init) : parseOptions(init);
  var abs = resolve(String(args[0]));
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
  // The URL's origin is the page's: the engines may add Cache-Control and
  // Last-Event-ID there (they drop both should a redirect make the server
  // refuse them).
  opts.local = st.origin === documentOrigin();
  if (!/^(https?|data|blob):/i.test(abs)) {
    // Fetching another scheme (ftp:, about:, mailto:, javascript:, …)
    // gives a network error that browsers know to be futile to retry: the
    // connection fails, on a later task, without a request. data: and blob:
    // URLs are fetched as the browser's own EventSource fetches them.
    schedule(function () { sink(st).error(false); });
    return self;
  }
  var engine = selectEngine(opts);
  st.engine = engine.name;
  // reportEngine tells the hub which path serves the page (its status page
  // counts open streams by engine).
  st.conn = engine.connect(opts.reportEngine ? setQuery(abs, '_engine', engine.name) : abs, opts, sink(st));
  watch(st, 'message');
  return self;
}

// fire dispatches one of the connection's events. The lists already report
// a listener's exception and go on; anything else that throws here is
// reported too, so that it never costs the events after this one.
function fire(st, type, message, data, id, origin) {
  try {
    var event = message ? makeMessageEvent(type, data, id, origin) : makeEvent(type);
    if (targets.nativeTargets) {
      st.target.dispatchEvent(event);
    } else {
      targets.dispatchEvent.call(st.target, event);
    }
  } catch (err) {
    report(err);
  }
}

function sink(st) {
  return {
    target: st.target,
    open: function (url) {
      if (st.readyState === CLOSED) return;
      st.readyState = OPEN;
      if (url) st.origin = originOf(url);
      fire(st, 'open', false);
    },
    message: function (type, data, id, origin) {
      if (st.readyState !== OPEN) return;
      fire(st, type, true, data, id, origin || st.origin);
    },
    messages: function (f) {
      for (var i = 0; i + 2 < f.length; i += 3) {
        if (st.readyState !== OPEN) return;
        fire(st, f[i], true, f[i + 1], f[i + 2], st.origin);
      }
    },
    error: function (reconnecting) {
      if (st.readyState === CLOSED) return;
      st.readyState = reconnecting ? CONNECTING : CLOSED;
      fire(st, 'error', false);
    }
  };
}

function watch(st, type) {
  // Keys are prefixed: a type named constructor or __proto__ is a type
  // like any other, not a property of Object.prototype.
  var key = '$' + type;
  if (!st.watched[key] && st.conn && isFunction(st.conn.watch)) {
    st.watched[key] = true;
    st.conn.watch(type);
  }
}

// define gives constructor C the interface: the constants, the prototype's
// accessors, handlers and methods. Each constructor has a prototype of its
// own, both over the same base, so that EventSource.prototype.constructor
// is EventSource and each instanceof holds for its own class.
function define(C) {
  // The name the page sees is the interface's, whatever the minifier calls
  // the function.
  try {
    defineProperty(C, 'name', { value: 'EventSource', configurable: true });
  } catch (e) { /* a name that cannot be redefined stays */ }

  var proto = C.prototype = Object.create(targets.baseProto, {
    constructor: { value: C, writable: true, configurable: true }
  });
  if (targets.nativeTargets) targets.inherit(C);

  var names = ['CONNECTING', 'OPEN', 'CLOSED'];
  for (var i = 0; i < names.length; i++) {
    constant(C, names[i], i);
    constant(proto, names[i], i);
  }

  getter(proto, 'url', function () { return state(this).url; });
  getter(proto, 'withCredentials', function () { return state(this).withCredentials; });
  getter(proto, 'readyState', function () { return state(this).readyState; });
  handler(proto, 'open');
  handler(proto, 'message');
  handler(proto, 'error');

  proto.close = close;
  proto.addEventListener = addEventListener;
  if (!targets.nativeTargets) {
    proto.removeEventListener = targets.removeEventListener;
    proto.dispatchEvent = targets.dispatchEvent;
  }
  if (typeof Symbol === 'function' && Symbol.toStringTag) {
    defineProperty(proto, Symbol.toStringTag, { value: 'EventSource', configurable: true });
  }
}

function constant(obj, name, value) {
  defineProperty(obj, name, { value: value, enumerable: true });
}

function getter(proto, name, get) {
  defineProperty(proto, name, { get: get, enumerable: true, configurable: true });
}

// The on… attributes are event handlers: the first non-null value set
// registers a listener at that point of the list, later values replace the
// function it calls, and null removes it.
function handler(proto, type) {
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

function close() {
  var st = state(this);
  if (st.readyState === CLOSED) return;
  st.readyState = CLOSED;
  if (st.conn) st.conn.close();
}

var baseAdd = targets.nativeTargets ? targets.baseProto.addEventListener : targets.addEventListener;

function addEventListener(type, callback, options) {
  var st = state(this);
  baseAdd.call(this, type, callback, options);
  watch(st, String(type));
}

define(EventSourcePolyfill);
define(EventSource);
