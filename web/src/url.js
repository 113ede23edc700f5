// URL resolution and origins, with the URL class where the browser has it
// and an anchor element (IE) where it does not.

import { root, doc, isFunction } from './env.js';

var URLClass = root.URL;
var hasURL = false;
try {
  hasURL = isFunction(URLClass) && new URLClass('b', 'http://a/').href === 'http://a/b';
} catch (e) { /* IE's URL is not a constructor */ }

function baseURL() {
  return doc ? (doc.baseURI || (root.location && root.location.href)) : (root.location && root.location.href);
}

// resolve returns url resolved against the document's base URL, as the
// EventSource constructor does, or throws a SyntaxError DOMException.
export function resolve(url) {
  var base = baseURL();
  if (hasURL) {
    try {
      return base ? new URLClass(url, base).href : new URLClass(url).href;
    } catch (e) {
      throw syntaxError("The URL '" + url + "' is invalid.");
    }
  }
  if (doc && doc.createElement) {
    var a = doc.createElement('a');
    a.href = url;
    // IE resolves on assignment but fills in the parts only when read
    // back through href.
    a.href = a.href;
    // An anchor keeps what it cannot parse: the authority is checked as
    // the URL parser would (a host without forbidden code points or an
    // IPv6 address in brackets, then an optional port up to 65535).
    var m = ORIGIN.exec(a.href);
    var h = m && /^(\[[\da-f:.]+\]|[^\s#\/:<>?@[\\\]^|]+)(:(\d*))?$/i.exec(m[2]);
    if (m && (!h || h[3] > 65535)) throw syntaxError("The URL '" + url + "' is invalid.");
    return a.href;
  }
  return url;
}

function syntaxError(msg) {
  try {
    return new root.DOMException(msg, 'SyntaxError');
  } catch (e) {
    var err = new SyntaxError(msg);
    err.name = 'SyntaxError';
    return err;
  }
}

var ORIGIN = /^([a-zA-Z][a-zA-Z0-9+.\-]*:)\/\/(?:[^\/?#@]*@)?([^\/?#]*)/;

// origin returns the serialisation of url's origin, as MessageEvent.origin
// carries it.
export function origin(url) {
  if (hasURL) {
    try {
      var o = new URLClass(url).origin;
      if (typeof o === 'string') return o;
    } catch (e) { /* fall back to parsing */ }
  }
  var m = ORIGIN.exec(url);
  if (!m) return 'null';
  var scheme = m[1].toLowerCase();
  var host = m[2].toLowerCase();
  if ((scheme === 'http:' && /:80$/.test(host)) || (scheme === 'https:' && /:443$/.test(host))) {
    host = host.replace(/:\d+$/, '');
  }
  return scheme + '//' + host;
}

// documentOrigin is the origin of the page, for telling same-origin streams
// (which may carry any header without a CORS preflight) from others.
export function documentOrigin() {
  var href = root.location && root.location.href;
  return href ? origin(href) : 'null';
}

// setQuery returns url with every name=… parameter of its query replaced by
// one name=value at the end, value percent-encoded; the fragment stays last.
// The engines use it for what they add to a request URL: the last event ID,
// the legacy transports, the engine report.
export function setQuery(url, name, value) {
  var hash = url.indexOf('#');
  var frag = hash < 0 ? '' : url.substring(hash);
  if (hash >= 0) url = url.substring(0, hash);
  var q = url.indexOf('?');
  var key = encodeURIComponent(name);
  var parts = q < 0 ? [] : url.substring(q + 1).split('&');
  var out = [];
  for (var i = 0; i < parts.length; i++) {
    var n = parts[i].split('=')[0];
    if (parts[i] && n !== key && n !== name) out.push(parts[i]);
  }
  out.push(key + '=' + encodeURIComponent(value));
  return (q < 0 ? url : url.substring(0, q)) + '?' + out.join('&') + frag;
}
