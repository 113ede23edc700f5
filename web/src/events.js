// Event construction: real Event and MessageEvent objects where the browser
// can construct them (a subclass of MessageEvent that the engine script
// provides, else document.createEvent or new MessageEvent), a plain object
// with the same fields where it cannot.

import { root, doc, isFunction } from './env.js';
import { hooks } from './eventtarget.js';

function canConstruct(C, args) {
  try {
    return isFunction(C) && !!new C(args[0], args[1]);
  } catch (e) {
    return false;
  }
}

var MessageEventClass = root.MessageEvent;
var EventClass = root.Event;
var newMessageEvent = canConstruct(MessageEventClass, ['message', { data: '' }]);
var newEvent = canConstruct(EventClass, ['open']);
var createEvent = !!(doc && doc.createEvent);

// initMessageEvent, where it works, is the faster way to a MessageEvent:
// positional arguments cost the browser less than an init dictionary, and
// this runs once per event.
var initMessageEvent = (function () {
  try {
    var e = doc.createEvent('MessageEvent');
    // IE, EdgeHTML and current browsers alike:
    // (type, bubbles, cancelable, data, origin, lastEventId, source)
    e.initMessageEvent('message', false, false, 'd', 'o', 'i', null);
    return e.data === 'd' && e.origin === 'o' && e.lastEventId === 'i' && e.type === 'message';
  } catch (err) {
    return false;
  }
})();

function plainEvent(type) {
  // What a listener reads from an event, for engines without DOM events.
  return {
    type: type, target: null, currentTarget: null, srcElement: null,
    eventPhase: 2, bubbles: false, cancelable: false, defaultPrevented: false,
    isTrusted: false, timeStamp: +new Date(),
    preventDefault: function () {},
    stopPropagation: function () {},
    stopImmediatePropagation: function () { this.__polysseStop = true; }
  };
}

// makeEvent returns a simple event (open, error) of the given type.
export function makeEvent(type) {
  if (newEvent) return new EventClass(type);
  if (createEvent) {
    try {
      var e = doc.createEvent('Event');
      e.initEvent(type, false, false);
      return e;
    } catch (err) { /* plain object below */ }
  }
  return plainEvent(type);
}

// makeMessageEvent returns a MessageEvent for one server-sent event.
export function makeMessageEvent(type, data, lastEventId, origin) {
  // The engine script's subclass of MessageEvent, when it is loaded (see
  // eventtarget.js and fastevents.js).
  if (hooks.make) return hooks.make(type, data, lastEventId, origin);
  if (initMessageEvent) {
    var e = doc.createEvent('MessageEvent');
    e.initMessageEvent(type, false, false, data, origin, lastEventId, null);
    return e;
  }
  if (newMessageEvent) {
    return new MessageEventClass(type, { data: data, lastEventId: lastEventId, origin: origin });
  }
  var m = plainEvent(type);
  m.data = data;
  m.lastEventId = lastEventId;
  m.origin = origin;
  m.source = null;
  m.ports = [];
  return m;
}
