// The one place where the shim meets the scripts it does not contain: the
// engine scripts it loads (engines/wasm/, engines/lite/, each built into a
// file of its own), and the pages and tests that look inside it
// (web/demo/legacy.js, e2e). It is one hidden (non-enumerable) property,
// EventSourcePolyfill.__shim:
//
//   register(name, start)  what an engine script calls, once, when it runs:
//                          name is the engine's ('wasm', 'lite'), start what
//                          its loader (loaders/<name>.js) asked for; a name
//                          no loader is waiting for is ignored
//   modes                  the page's fallbacks by origin, 1 padded
//                          streaming, 2 long-poll (engines/supervisor.js):
//                          shared with the lite engine, shown by the demo
//   events                 the hooks through which the WebAssembly engine's
//                          fast events reach the listener lists
//                          (eventtarget.js, fastevents.js), or
//                          null where EventSources are not native
//                          EventTargets
//   handover               absent; only tests set it (engines/handover.js):
//                          it holds each lite-first connection's hand-over
//                          to the WebAssembly engine until released
//
// An engine needs nothing else from the shim: a new engine registers under
// its own name, and what it needs is added here, not as another property.

import { hidden } from './env.js';
import { EventSourcePolyfill } from './eventsource.js';
import { hooks, nativeTargets } from './eventtarget.js';
import { modes } from './engines/supervisor.js';

// waiting holds, by '$' and name, what each loader does with what its
// engine registers.
var waiting = {};

export var shim = {
  register: function (name, start) {
    var f = waiting['$' + name];
    if (!f) return;
    delete waiting['$' + name];
    f(start);
  },
  modes: modes,
  events: nativeTargets ? hooks : null
};
hidden(EventSourcePolyfill, '__shim', shim);

// expect makes f the taker of what the engine script called name
// registers.
export function expect(name, f) {
  waiting['$' + name] = f;
}

// expecting reports whether the engine script called name has yet to
// register (after its script has run: it did not start).
export function expecting(name) {
  return !!waiting['$' + name];
}
