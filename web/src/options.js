// The second constructor argument, read once into the shape every engine
// uses. Unknown fields are ignored and wrong types fall back to the
// defaults, so that options meant for another polyfill never break a page.

import { isFunction } from './env.js';
import { stops } from './pagestop.js';

function number(v, min, max, dflt) {
  v = +v;
  if (v !== v || v < min) return dflt; // NaN or out of range
  return v > max ? max : v;
}

var MAX_MS = 2147483647;

// ms reads a time (or a count) in milliseconds: a whole number.
function ms(v, min, dflt) {
  return Math.floor(number(v, min, MAX_MS, dflt));
}

// parseOptions returns the normalised options. Times are in milliseconds;
// zero turns the watchdog off, and a maxAttempts of zero means no limit.
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
    heartbeatTimeout: ms(init.heartbeatTimeout, 0, 0),
    retry: {
      initial: ms(retry.initial, 0, 3000),
      max: ms(retry.max, 0, 30000),
      factor: number(retry.factor, 1, 1000, 2),
      jitter: number(retry.jitter, 0, 1, 0.25),
      onAuthError: isFunction(retry.onAuthError) ? retry.onAuthError : null
    },
    transport: /^(auto|fetch|xhr|poll)$/.test(transport) ? transport : 'auto',
    engine: /^(auto|wasm|native|lite)$/.test(engine) ? engine : 'auto',
    supervise: init.supervise !== false,
    maxAttempts: ms(init.maxAttempts, 0, 0),
    fallback: init.fallback !== false,
    fallbackTimeout: ms(init.fallbackTimeout, 1, 5000),
    reportEngine: !!init.reportEngine,
    engineBase: typeof init.engineBase === 'string' ? init.engineBase : '',
    // A 502, 503 or 504 is the network error it stands for (a proxy
    // without its upstream, a hub restarting or draining): reconnect with
    // backoff, where the standard fails the connection.
    gatewayErrors: init.retryGatewayErrors !== false,
    // Not an option: the page's calls of window.stop(), for the fetch
    // transport of the engines, which are scripts of their own.
    stops: stops
  };
}

// standardOptions is what the standard EventSource constructor reads of its
// second argument: withCredentials, and nothing else. Every leniency of
// parseOptions' defaults is off.
export function standardOptions(init) {
  var opts = parseOptions({
    withCredentials: init !== null && typeof init === 'object' && init.withCredentials,
    supervise: false,
    fallback: false,
    retryGatewayErrors: false
  });
  opts.standard = true;
  return opts;
}

// backoff returns the wait before the next attempt, as the WebAssembly
// engine's policy (wasm/policy.go) computes it: the reconnection time base
// after a success or a single failure, then base × factor^(n−1) for the n-th
// failure in a row, capped at max (never below base), minus up to jitter of
// the part above base.
// random is in [0, 1): Math.random() (testdata/connection-rules.json gives
// its own).
export function backoff(r, base, failures, random) {
  var d = base;
  if (failures > 1 && r.factor > 1) {
    var limit = r.max > base ? r.max : base;
    for (var i = 1; i < failures && d < limit; i++) d *= r.factor;
    if (d > limit) d = limit;
    d -= (d - base) * r.jitter * random;
  }
  return Math.floor(d);
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
