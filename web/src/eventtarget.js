// Listener bookkeeping for the EventSource facade.
//
// Where the browser has a constructible EventTarget (every engine with
// WebAssembly except EdgeHTML), each EventSource is a real EventTarget, so
// addEventListener, removeEventListener and dispatchEvent are the browser's
// own, with exactly its ordering, removal, once/signal options, target
// fields and exception reporting. Elsewhere (EdgeHTML, IE) the functions
// below implement the same DOM dispatch rules.

import { root, isFunction, report, hidden, defineProperty } from './env.js';

var NativeEventTarget = root.EventTarget;
var Reflect_ = root.Reflect;

// nativeTargets is true when EventTarget can be subclassed from ES5 code.
export var nativeTargets = (function () {
  try {
    if (!isFunction(NativeEventTarget) || !Reflect_ || !isFunction(Reflect_.construct)) return false;
    var F = function () {};
    F.prototype = Object.create(NativeEventTarget.prototype, { constructor: { value: F } });
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

export var baseProto = nativeTargets ? NativeEventTarget.prototype : Object.prototype;

// listeners returns obj's listener lists by type, creating them.
function listeners(obj) {
  var l = obj.__polysseListeners;
  if (!l) {
    l = {};
    hidden(obj, '__polysseListeners', l);
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
  var list = map[type] || [];
  var next = [];
  for (var i = 0; i < list.length; i++) {
    if (list[i] !== entry) next.push(list[i]);
  }
  entry.removed = true;
  map[type] = next;
}

export function addEventListener(type, callback, options) {
  if (callback === null || callback === undefined) return;
  var f = flags(options);
  if (f.signal && f.signal.aborted) return;
  type = String(type);
  var map = listeners(this);
  var list = map[type] || [];
  for (var i = 0; i < list.length; i++) {
    if (list[i].callback === callback && list[i].capture === f.capture) return;
  }
  var entry = { callback: callback, capture: f.capture, once: f.once, removed: false };
  map[type] = list.concat([entry]);
  if (f.signal && isFunction(f.signal.addEventListener)) {
    var self = this;
    f.signal.addEventListener('abort', function () { remove(self, type, entry); });
  }
}

export function removeEventListener(type, callback, options) {
  var capture = flags(options).capture;
  type = String(type);
  var list = listeners(this)[type] || [];
  for (var i = 0; i < list.length; i++) {
    if (list[i].callback === callback && list[i].capture === capture) {
      remove(this, type, list[i]);
      return;
    }
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

var protoStop = root.Event && root.Event.prototype && root.Event.prototype.stopImmediatePropagation;

function stopImmediate() {
  this.__polysseStop = true;
  if (protoStop) {
    try { protoStop.call(this); } catch (e) { /* not a DOM event */ }
  }
}

export function dispatchEvent(event) {
  if (!event || typeof event.type !== 'string') {
    throw new TypeError("Failed to execute 'dispatchEvent': parameter 1 is not of type 'Event'.");
  }
  var list = listeners(this)[event.type];
  setField(event, 'target', this);
  setField(event, 'srcElement', this);
  setField(event, 'currentTarget', this);
  setField(event, 'eventPhase', 2);
  if (list && list.length > 1) {
    // Only worth watching for when another listener could be skipped.
    event.__polysseStop = false;
    setField(event, 'stopImmediatePropagation', stopImmediate);
  }
  if (list) {
    // At the target, capturing listeners come before the others, as in
    // current browsers.
    for (var pass = 0; pass < 2; pass++) {
      for (var i = 0; i < list.length; i++) {
        var entry = list[i];
        if (entry.removed || entry.capture !== (pass === 0)) continue;
        if (entry.once) remove(this, event.type, entry);
        invoke(this, entry.callback, event);
        if (event.__polysseStop) {
          pass = 2;
          break;
        }
      }
    }
  }
  setField(event, 'currentTarget', null);
  setField(event, 'eventPhase', 0);
  return !event.defaultPrevented;
}

// invoke calls one listener; an exception goes to the page's error
// reporting and the other listeners still run.
function invoke(target, callback, event) {
  try {
    if (isFunction(callback)) {
      callback.call(target, event);
    } else if (isFunction(callback.handleEvent)) {
      callback.handleEvent(event);
    }
  } catch (err) {
    report(err);
  }
}
