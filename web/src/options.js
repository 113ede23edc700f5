// The second constructor argument, read once into the shape every engine
// uses. Unknown fields are ignored and wrong types fall back to the
// defaults, so that options meant for another polyfill never break a page.

import { isFunction } from './env.js';

function number(v, min, max, dflt) {
  v = +v;
  if (v !== v || v < min) return dflt; // NaN or out of range
  return v > max ? max : v;
}

var MAX_MS = 2147483647;

// parseOptions returns the normalised options. Times are in milliseconds;
// zero turns the watchdog off.
export function parseOptions(init) {
  init = init !== null && typeof init === 'object' ? init : {};
  var retry = init.retry !== null && typeof init.retry === 'object' ? init.retry : {};
  var headers = init.headers;
  if (headers !== null && typeof headers === 'object') {
    var fixed = headers;
    headers = function () { return fixed; };
  } else if (!isFunction(headers)) {
    headers = null;
  }
  var param = init.lastEventIdQueryParameterName;
  var transport = String(init.transport || 'auto');
  var engine = String(init.engine || 'auto');
  return {
    withCredentials: !!init.withCredentials,
    headers: headers,
    lastEventIdQueryParameterName: typeof param === 'string' ? param : '',
    heartbeatTimeout: Math.floor(number(init.heartbeatTimeout, 0, MAX_MS, 0)),
    retry: {
      initial: Math.floor(number(retry.initial, 0, MAX_MS, 3000)),
      max: Math.floor(number(retry.max, 0, MAX_MS, 30000)),
      factor: number(retry.factor, 1, 1000, 2),
      jitter: number(retry.jitter, 0, 1, 0.25),
      onAuthError: isFunction(retry.onAuthError) ? retry.onAuthError : null
    },
    transport: /^(auto|fetch|xhr)$/.test(transport) ? transport : 'auto',
    engine: /^(auto|wasm|native|lite)$/.test(engine) ? engine : 'auto'
  };
}

// headerList calls the page's headers option and returns its headers as a
// flat [name, value, …] array of strings.
export function headerList(opts) {
  var out = [];
  if (!opts.headers) return out;
  var h = opts.headers();
  if (h !== null && typeof h === 'object') {
    for (var name in h) {
      if (Object.prototype.hasOwnProperty.call(h, name) && h[name] !== undefined && h[name] !== null) {
        out.push(String(name), String(h[name]));
      }
    }
  }
  return out;
}
