// Where this script came from: the engine files live in the same folder.
// document.currentScript is set only while the script first runs, so it is
// read now; IE has no currentScript, so there the script tags are searched.

import { doc } from './env.js';

function self() {
  if (!doc) return null;
  if (doc.currentScript) return doc.currentScript;
  var all = doc.getElementsByTagName ? doc.getElementsByTagName('script') : [];
  for (var i = all.length - 1; i >= 0; i--) {
    if (/(^|\/)eventsource[^\/]*\.js([?#]|$)/.test(all[i].src || '')) return all[i];
  }
  // A script that runs as it is parsed is the last one so far.
  return all.length ? all[all.length - 1] : null;
}

var me = self();

// scriptBase is the URL of this script's folder, ending in a slash.
export var scriptBase = ((me && me.src) || '').replace(/[?#].*$/, '').replace(/[^\/]*$/, '');

// scriptNonce lets the scripts this one adds run under the same
// Content-Security-Policy nonce.
export var scriptNonce = (me && (me.nonce || (me.getAttribute && me.getAttribute('nonce')))) || '';
