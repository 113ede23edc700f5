// The engine for browsers that no other engine can serve (no WebAssembly,
// no XMLHttpRequest): it fails every connection as a browser fails one it
// cannot make (an error event, readyState CLOSED), with a console warning.

import { lazy } from '../loaders/lazy.js';

export var noneEngine = lazy('none', true, function (ready, broken) {
  broken(new Error('this browser has neither WebAssembly nor XMLHttpRequest'));
});
