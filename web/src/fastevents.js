// The message events of the WebAssembly and lite engines, and their dispatch: the
// shim's hooks (see eventtarget.js) filled in from the engine scripts, so
// that the shim itself stays small.
//
// Building a MessageEvent is most of what an event costs a page: Chromium
// spends more on new MessageEvent's init dictionary, or initMessageEvent's
// arguments (it converts data and stores it in a form of its own), than on
// everything else, and its dispatchEvent costs as much again. So an event of
// ours is a real MessageEvent (instanceof MessageEvent and Event, dispatchable
// anywhere) made with its type only, of a subclass whose prototype serves
// data, lastEventId and origin from a small object of ours, and the dispatch
// state too: target, srcElement, currentTarget, eventPhase, composedPath,
// cancelBubble and the propagation methods. The shim's lists then call the
// listeners directly (hooks.own), and the listeners see what the browser's
// dispatch would show them; only isTrusted differs, as it must for any
// script-made event.
//
// Outside our dispatch the browser's own fields answer, so that a page that
// dispatches such an event again elsewhere sees that dispatch; the target we
// set stays, as after a dispatch of the browser's.

import { root } from './env.js';

var STATE = typeof Symbol === 'function' ? Symbol('polysse') : '__polysseEvent';

var R = root.Reflect;
var ME = root.MessageEvent;
var EP = root.Event && root.Event.prototype;
var doc = root.document;
var createEvent = doc && doc.createEvent;
var initEvent = EP && EP.initEvent;
var setPrototypeOf = Object.setPrototypeOf;
var ctorArgs = [''];
var Ctor = function () {};
var proto = null;
var installed = false;

// install fills in the shim's hooks (null where the shim's EventSources
// are not native EventTargets) when the browser lets a script subclass
// MessageEvent; where it does not, the shim builds its events the usual way.
export function install(hooks) {
  if (installed) return;
  installed = true;
  if (!hooks || hooks.make || !R || typeof R.construct !== 'function' || typeof ME !== 'function' || !EP) return;
  try {
    Ctor.prototype = proto = subclass(ME.prototype);
    if (!works(make)) return;
  } catch (err) {
    return;
  }
  try {
    if (typeof createEvent === 'function' && typeof initEvent === 'function' && works(makeCreated)) make = makeCreated;
  } catch (err) { /* the constructor, then */ }
  var run = hooks.run;
  hooks.own = function (target, event) {
    var s = event !== null && event !== undefined ? event[STATE] : undefined;
    if (!s) return false;
    if (s.phase) throw new root.DOMException('The event is already being dispatched.', 'InvalidStateError');
    s.target = s.current = target;
    s.phase = 2;
    s.stop = s.stopProp = false;
    run(target, s.type, event, s);
    s.current = null;
    s.phase = 0;
    return true; // never cancelable, so never canceled
  };
  hooks.make = make;
}

// works reports whether make makes the events it should.
function works(make) {
  var e = make('message', 'd', 'i', 'o');
  return Object.getPrototypeOf(e) === proto && e instanceof ME && e.type === 'message' &&
    e.data === 'd' && e.lastEventId === 'i' && e.origin === 'o' && e.target === null && !e.bubbles && !e.cancelable;
}

var lastType = '';

// make returns a MessageEvent of our subclass: by the subclass's
// constructor, or (makeCreated, where there is a document) by
// document.createEvent, initEvent and a change of prototype, which cost
// Chromium a third less than a MessageEvent constructor, whose default
// init dictionary is most of its cost.
var make = function (type, data, lastEventId, origin) {
  ctorArgs[0] = intern(type);
  return own(R.construct(ME, ctorArgs, Ctor), type, data, lastEventId, origin);
};

function makeCreated(type, data, lastEventId, origin) {
  var e = createEvent.call(doc, 'MessageEvent');
  initEvent.call(e, intern(type), false, false);
  setPrototypeOf(e, proto);
  return own(e, type, data, lastEventId, origin);
}

// intern returns the same string object for the same type, so that the
// browser finds its own copy of it in its cache instead of converting it
// again.
function intern(type) {
  if (type === lastType) return lastType;
  lastType = type;
  return type;
}

function own(e, type, data, lastEventId, origin) {
  e[STATE] = {
    data: data, lastEventId: lastEventId, origin: origin, type: type,
    target: null, current: null, phase: 0, stop: false, stopProp: false
  };
  return e;
}

function accessor(proto, name) {
  var d = Object.getOwnPropertyDescriptor(proto, name);
  return d || {};
}

function subclass(P) {
  var native = {};
  var names = ['data', 'lastEventId', 'origin'];
  var i;
  for (i = 0; i < names.length; i++) native[names[i]] = accessor(P, names[i]).get;
  names = ['target', 'srcElement', 'currentTarget', 'eventPhase'];
  for (i = 0; i < names.length; i++) native[names[i]] = accessor(EP, names[i]).get;
  var bubble = accessor(EP, 'cancelBubble');
  var stopProp = EP.stopPropagation;
  var stopNow = EP.stopImmediatePropagation;
  var path = EP.composedPath;

  function call(f, self) {
    return f ? f.call(self) : undefined;
  }
  function get(f) {
    return { get: f, enumerable: true, configurable: true };
  }
  function method(f) {
    return { value: f, writable: true, enumerable: true, configurable: true };
  }
  function field(name) {
    return get(function () {
      var s = this[STATE];
      return s ? s[name] : call(native[name], this);
    });
  }
  function target() {
    var s = this[STATE];
    if (!s) return call(native.target, this);
    if (s.phase) return s.target;
    var t = call(native.target, this);
    return t === null || t === undefined ? s.target : t;
  }
  function during(name, key) {
    return get(function () {
      var s = this[STATE];
      return s && s.phase ? s[key] : call(native[name], this);
    });
  }

  return Object.create(P, {
    constructor: { value: ME, writable: true, configurable: true },
    data: field('data'),
    lastEventId: field('lastEventId'),
    origin: field('origin'),
    target: get(target),
    srcElement: get(target),
    currentTarget: during('currentTarget', 'current'),
    eventPhase: during('eventPhase', 'phase'),
    cancelBubble: {
      get: function () {
        var s = this[STATE];
        return s && s.phase ? s.stopProp : call(bubble.get, this);
      },
      set: function (v) {
        var s = this[STATE];
        if (s && s.phase) {
          if (v) s.stopProp = true;
        } else if (bubble.set) {
          bubble.set.call(this, v);
        }
      },
      enumerable: true,
      configurable: true
    },
    composedPath: method(function composedPath() {
      var s = this[STATE];
      if (s && s.phase) return [s.current];
      return path ? path.call(this) : [];
    }),
    stopPropagation: method(function stopPropagation() {
      var s = this[STATE];
      if (s && s.phase) s.stopProp = true;
      else stopProp.call(this);
    }),
    stopImmediatePropagation: method(function stopImmediatePropagation() {
      var s = this[STATE];
      if (s && s.phase) s.stop = s.stopProp = true;
      else stopNow.call(this);
    })
  });
}
