// Compiled by test/pack.test.mjs against ../../index.d.ts with tsc --strict:
// what the README shows must type-check, and each @ts-expect-error line
// must be refused, or the compile fails.
import { EventSourcePolyfill, type EventSourcePolyfillInit } from "../../index";

const init: EventSourcePolyfillInit = {
  withCredentials: true,
  headers: () => ({ Authorization: "Bearer " + localStorage.getItem("token") }),
  lastEventIdQueryParameterName: "lastEventID",
  heartbeatTimeout: 45000,
  retry: {
    initial: 1000,
    max: 30000,
    factor: 2,
    jitter: 0.25,
    onAuthError: (status, es) => (status === 401 ? Promise.resolve(0) : es.readyState === es.CLOSED),
  },
  transport: "xhr",
  engine: "auto",
  supervise: true,
  maxAttempts: 10,
  fallback: true,
  fallbackTimeout: 5000,
  reportEngine: true,
  engineBase: "/assets/polysse/",
  retryGatewayErrors: false,
};

const es = new EventSourcePolyfill("/.well-known/mercure?topic=demo", init);
es.onmessage = (e) => console.log(e.data.length, e.lastEventId, e.origin);
es.addEventListener("open", (e) => console.log(e.type));
es.addEventListener("score", (e) => console.log(e.data));
const ready: number = es.readyState;
const closed: 2 = EventSourcePolyfill.CLOSED;
const native: EventSource = es;
const global: typeof EventSourcePolyfill = window.EventSourcePolyfill;
console.log(ready, closed, native.url, global.OPEN, es.withCredentials);
es.close();

// @ts-expect-error: transport is one of four names
new EventSourcePolyfill("/s", { transport: "websocket" });
// @ts-expect-error: headers are strings
new EventSourcePolyfill("/s", { headers: { "X-Count": 1 } });
// @ts-expect-error: the retry policy's fields are numbers
new EventSourcePolyfill("/s", { retry: { initial: "1s" } });
// @ts-expect-error: readyState is read-only
es.readyState = 2;
// @ts-expect-error: no such option
new EventSourcePolyfill("/s", { reconnect: true });
