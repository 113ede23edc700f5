// Where this script came from: the engine files live in the same folder.
// document.currentScript is set only while the script first runs, so it is
// read now; IE has no currentScript, so there the script tags are searched.

import { root, doc, isFunction } from './env.js';
import { onStop } from './pagestop.js';

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
var scriptBase = ((me && me.src) || '').replace(/[?#].*$/, '').replace(/[^\/]*$/, '');

// Where the engine files are when not beside this script (a bundle, a
// CDN): the engineBase option, else the script tag's data-engine-base,
// else the script's folder. Read when an engine loads, once per page.
var tagBase = (me && me.getAttribute && me.getAttribute('data-engine-base')) || '';
var optionBase = '';

// preloadable: the engine files are known to be where engineBase() points
// before any option names a folder: this script is the distributed
// eventsource*.js, or its tag says where they are.
export var preloadable = !!tagBase || /(^|\/)eventsource[^\/]*\.js([?#]|$)/.test((me && me.src) || '');

export function setEngineBase(url) {
  if (url) optionBase = url;
}

export function engineBase() {
  var b = optionBase || tagBase || scriptBase;
  return b && b.charAt(b.length - 1) !== '/' ? b + '/' : b;
}

// scriptNonce lets the scripts this one adds run under the same
// Content-Security-Policy nonce.
export var scriptNonce = (me && (me.nonce || (me.getAttribute && me.getAttribute('nonce')))) || '';

// loadScript adds the script at src to the page (or imports it, in a
// worker) and calls done(err) once, when it has run or failed. The engines
// load their files, from this script's folder, with it. An urgent script
// (the lite engine's, which a page's first event waits for) is fetched at
// high priority where the browser has Priority Hints: Chromium gives a
// script added by a script low priority, at which the lite engine's file
// took a median 7.3 ms to arrive on loopback in a fresh context, against
// 6.3 ms at high, and a first visit's first event came a little later
// (docs/benchmarks.md, Session 14). A window.stop() while it loads
// fails it at once (pagestop.js: Firefox may never say), and an event of
// the element after that is ignored: loaders/lazy.js takes such a failure
// for the page's, not a broken engine.
export function loadScript(src, done, urgent) {
  if (!doc) {
    if (isFunction(root.importScripts)) { // a worker
      try {
        root.importScripts(src);
      } catch (err) {
        done(err);
        return;
      }
      done(null);
    } else {
      done(new Error('no document to load ' + src + ' into'));
    }
    return;
  }
  var s = doc.createElement('script');
  var ended = false;
  var end = function (err) {
    if (!ended) {
      ended = true;
      done(err);
    }
  };
  var fail = function () {
    end(new Error('could not load ' + src));
  };
  onStop(fail);
  s.src = src;
  s.async = true;
  if (urgent && 'fetchPriority' in s) s.fetchPriority = 'high';
  if (scriptNonce) s.nonce = scriptNonce;
  s.onload = function () { end(null); };
  s.onerror = fail;
  (doc.head || doc.getElementsByTagName('head')[0] || doc.documentElement).appendChild(s);
}
