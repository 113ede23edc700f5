// Listener bookkeeping and event dispatch for the EventSource facade.
//
// Every EventSource keeps its listeners in lists of its own (below), which
// follow the DOM's dispatch rules: registration order, capture listeners
// first at the target, duplicates ignored, a listener added during a
// dispatch not called by it and one removed during it not called either,
// once and signal, handleEvent objects, stopImmediatePropagation, and an
// exception in a listener reported to the page (window.onerror, the console)
// while the other listeners and the stream go on.
//
// Where the browser has a constructible EventTarget (every engine with
// WebAssembly except EdgeHTML), each EventSource is also a real EventTarget:
// instanceof EventTarget, and the events a page dispatches itself go through
// the browser's dispatch, which reaches the lists through one listener of
// ours per type. The message events of the WebAssembly engine skip the
// browser's dispatch, the most costly thing after building the event: the
// engine script (src/fastevents.js) makes them, of a subclass of
// MessageEvent that serves its target fields itself, and has them
// dispatched straight to the lists (hooks below).
//
// Elsewhere (EdgeHTML, IE) the same lists run with every event, and the
// event's target fields are set as own properties of the event.

import { root, isFunction, report, hidden, defineProperty } from './env.js';

var NativeEventTarget = root.EventTarget;
var Reflect_ = root.Reflect;
var ETProto = isFunction(NativeEventTarget) ? NativeEventTarget.prototype : null;

// nativeTargets is true when EventTarget can be subclassed from ES5 code.
export var nativeTargets = (function () {
  try {
    if (!ETProto || !Reflect_ || !isFunction(Reflect_.construct)) return false;
    var F = function () {};
    F.prototype = Object.create(ETProto, { constructor: { value: F } });
    inherit(F);
    var t = Reflect_.construct(NativeEventTarget, [], F);
    var hit = 0;
    t.addEventListener('x', function () { hit++; });
    t.dispatchEvent(new root.Event('x'));
    return hit === 1 && t instanceof F;
  } catch (e) {
    return false;
  }
})();

// inherit makes C a subclass of EventTarget the way class … extends does,
// statics included (Node's EventTarget, for one, recognises its instances by
// a static of the constructor).
export function inherit(C) {
  Object.setPrototypeOf(C, NativeEventTarget);
}

// construct returns the object an EventSource constructor works on: `self`
// itself, or a native EventTarget with self's prototype.
export function construct(self) {
  if (!nativeTargets) return self;
  var F = function () {};
  F.prototype = Object.getPrototypeOf(self);
  return Reflect_.construct(NativeEventTarget, [], F);
}

// ---------------------------------------------------------------------------
// Listener lists.

var LISTENERS = '__polysseListeners';

// listeners returns obj's listener lists by type, creating them. A list's
// key is '$' and the type: any type name is safe, constructor, __proto__
// and hasOwnProperty included, in every engine (IE's too).
function listeners(obj) {
  var l = obj[LISTENERS];
  if (!l) {
    l = {};
    hidden(obj, LISTENERS, l);
  }
  return l;
}

function flags(options) {
  if (options !== null && typeof options === 'object') {
    return { capture: !!options.capture, once: !!options.once, signal: options.signal };
  }
  return { capture: !!options, once: false, signal: null };
}

// Lists are replaced, never changed in place, so that a dispatch in progress
// walks the list as it was when it started (listeners added meanwhile are
// not called) while removal marks the entry so that a listener removed
// meanwhile is not called either.
function remove(obj, type, entry) {
  var map = listeners(obj);
  var list = map['$' + type] || [];
  var next = [];
  for (var i = 0; i < list.length; i++) {
    if (list[i] !== entry) next.push(list[i]);
  }
  entry.removed = true;
  map['$' + type] = next;
}

// add registers a listener and reports whether it was added.
function add(target, args) {
  var callback = args[1];
  if (callback === null || callback === undefined) return false;
  var f = flags(args[2]);
  if (f.signal && f.signal.aborted) return false;
  var type = String(args[0]);
  var map = listeners(target);
  var list = map['$' + type] || [];
  for (var i = 0; i < list.length; i++) {
    if (list[i].callback === callback && list[i].capture === f.capture) return false;
  }
  var entry = { callback: callback, capture: f.capture, once: f.once, removed: false };
  map['$' + type] = list.concat([entry]);
  if (f.signal && isFunction(f.signal.addEventListener)) {
    f.signal.addEventListener('abort', function () { remove(target, type, entry); });
  }
  return true;
}

// The ES5 target's methods (EdgeHTML, IE): the facade installs them on its
// prototype when there are no native targets.
export function addEventListener() {
  add(this, arguments);
}

export function removeEventListener(type, callback) {
  var capture = flags(arguments[2]).capture;
  type = String(type);
  var list = listeners(this)['$' + type] || [];
  for (var i = 0; i < list.length; i++) {
    if (list[i].callback === callback && list[i].capture === capture) {
      remove(this, type, list[i]);
      return;
    }
  }
}

export function dispatchEvent(event) {
  if (!event || typeof event.type !== 'string') {
    throw new TypeError("Failed to execute 'dispatchEvent' on 'EventTarget': parameter 1 is not of type 'Event'.");
  }
  // The DOM's dispatch flag: an event being dispatched cannot be dispatched
  // again (a listener that tried would otherwise recurse without end).
  if (event[DISPATCHING]) {
    throw invalidState("Failed to execute 'dispatchEvent' on 'EventTarget': The event is already being dispatched.");
  }
  var target = this;
  hidden(event, DISPATCHING, true);
  setField(event, 'target', target);
  setField(event, 'srcElement', target);
  setField(event, 'currentTarget', target);
  setField(event, 'eventPhase', 2);
  // The event's path is the target alone, while it is dispatched: an event
  // that the browser never dispatched itself answers [] otherwise.
  setField(event, 'composedPath', function () { return event[DISPATCHING] ? [target] : []; });
  try {
    run(target, event.type, event, null);
  } finally {
    event[DISPATCHING] = false;
  }
  setField(event, 'currentTarget', null);
  setField(event, 'eventPhase', 0);
  return !event.defaultPrevented;
}

var DISPATCHING = '__polysseDispatching';

// invalidState returns the InvalidStateError DOMException, or an Error of
// that name where DOMException cannot be constructed (IE, EdgeHTML).
function invalidState(message) {
  try {
    return new root.DOMException(message, 'InvalidStateError');
  } catch (e) {
    var err = new Error(message);
    err.name = 'InvalidStateError';
    return err;
  }
}

// setField gives an event a value for a field that real events only have
// getters for.
function setField(event, name, value) {
  try {
    defineProperty(event, name, { value: value, configurable: true, writable: true });
  } catch (e) {
    try { event[name] = value; } catch (e2) { /* read-only: leave it */ }
  }
}

var EventProto = root.Event && root.Event.prototype;
var protoStop = EventProto && EventProto.stopImmediatePropagation;

function stopImmediate() {
  this.__polysseStop = true;
  if (protoStop) {
    try { protoStop.call(this); } catch (e) { /* not a DOM event */ }
  }
}

// run calls the listeners of type on target with event. s is the dispatch
// state of an event of the engine script's (see hooks), whose stop field
// says that stopImmediatePropagation was called; for another event, that is
// watched through an own property of the event.
function run(target, type, event, s) {
  var list = target[LISTENERS];
  list = list && list['$' + type];
  if (!list || !list.length) return;
  if (!s && list.length > 1) {
    // Only worth watching for when another listener could be skipped.
    event.__polysseStop = false;
    setField(event, 'stopImmediatePropagation', stopImmediate);
  }
  // At the target, capturing listeners come before the others, as in
  // current browsers.
  for (var pass = 0; pass < 2; pass++) {
    var capture = pass === 0;
    for (var i = 0; i < list.length; i++) {
      var entry = list[i];
      if (entry.removed || entry.capture !== capture) continue;
      if (entry.once) remove(target, type, entry);
      invoke(target, entry.callback, event);
      if (s ? s.stop : event.__polysseStop) return;
    }
  }
}

// invoke calls one listener as the browser does: a function with the target
// as this, else the object's handleEvent method, looked up at each call (one
// that is not a function throws). An exception goes to the page's error
// reporting and the other listeners still run.
function invoke(target, callback, event) {
  try {
    if (typeof callback === 'function') {
      callback.call(target, event);
    } else {
      callback.handleEvent(event);
    }
  } catch (err) {
    report(err);
  }
}

// ---------------------------------------------------------------------------
// Native targets.

// hooks lets the engine script (src/fastevents.js), where the events come
// from, provide their construction and dispatch: make(type, data,
// lastEventId, origin) returns a MessageEvent, and own(target, event)
// dispatches an event that make returned, with run, and returns true, or
// returns false for any other event. It finds hooks through the shim's
// registration point (registry.js), where there are native targets.
export var hooks = { make: null, own: null, run: run };

var nativeAdd = ETProto && ETProto.addEventListener;
var nativeDispatch = ETProto && ETProto.dispatchEvent;

// trampoline is the one native listener per type of an EventSource: it runs
// the EventSource's list for an event that the browser dispatches (one that
// the page dispatched itself), with the target fields the browser set.
function trampoline(event) {
  run(this, event.type, event, null);
}

// baseProto is what EventSource.prototype inherits from: below EventTarget's
// prototype when there are native targets, with the methods that keep the
// lists in step. Where EventTarget exists but cannot be subclassed
// (EdgeHTML, IE), it is still below EventTarget's prototype, so that
// instanceof EventTarget holds, and the prototypes carry the ES5 methods.
export var baseProto = ETProto && !nativeTargets ? Object.create(ETProto) : Object.prototype;
if (nativeTargets) {
  baseProto = Object.create(ETProto);
  baseProto.addEventListener = function (type, callback) {
    if (add(this, arguments)) nativeAdd.call(this, String(type), trampoline);
  };
  baseProto.removeEventListener = removeEventListener;
  baseProto.dispatchEvent = function (event) {
    // A page's own event goes through the browser's dispatch, which checks
    // it and sets its target fields, and reaches the lists by trampoline.
    return hooks.own && hooks.own(this, event) || nativeDispatch.call(this, event);
  };
}
