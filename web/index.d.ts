// Type declarations for polysse's eventsource.js: a standards-exact
// EventSource for every browser, with optional extensions.

/** What an `onAuthError` hook may answer: see {@link RetryPolicy.onAuthError}. */
export type AuthErrorAnswer = boolean | number | PromiseLike<number | void> | void;

/** How reconnections are paced after failures. */
export interface RetryPolicy {
  /** Reconnection time in ms until the server sends `retry:`. Default 3000. */
  initial?: number;
  /** Cap in ms for backed-off waits. Default 30000. */
  max?: number;
  /** Growth per consecutive failure; 1 never backs off. Default 2. */
  factor?: number;
  /** Up to this fraction of a backed-off wait is taken off at random. Default 0.25. */
  jitter?: number;
  /**
   * Called on 401 or 403. A promise reconnects when it resolves (a number
   * resolves to a wait in ms) and fails if it rejects; `true` reconnects
   * after the policy's wait; a number after that many ms; anything else
   * fails the connection (readyState CLOSED).
   */
  onAuthError?: (status: number, eventSource: EventSourcePolyfill) => AuthErrorAnswer;
}

/** Request headers, or a function called before every connection. */
export type HeadersInit = Record<string, string> | (() => Record<string, string>);

/** The second constructor argument: the standard dictionary and polysse's extensions. */
export interface EventSourcePolyfillInit extends EventSourceInit {
  /** Headers sent with every connection (not available to the native engine). */
  headers?: HeadersInit;
  /**
   * Send the last event id as this query parameter instead of the
   * Last-Event-ID header, which costs a CORS preflight cross-origin.
   */
  lastEventIdQueryParameterName?: string;
  /** Inactivity watchdog in ms: reconnect when nothing arrives for this long. 0 = off. */
  heartbeatTimeout?: number;
  /** Backoff after failures; the server's `retry:` is still honoured exactly. */
  retry?: RetryPolicy;
  /** The transport: a streaming fetch, XHR streaming, long-poll, or the best available. */
  transport?: "auto" | "fetch" | "xhr" | "poll";
  /** The engine: the browser's own (supervised), WebAssembly, the ES5 engine, or the best available. */
  engine?: "auto" | "native" | "wasm" | "lite";
  /** Re-establish a native stream that ends CLOSED without close(). Default true. */
  supervise?: boolean;
  /** Give up after this many consecutive reconnection attempts. Default: never. */
  maxAttempts?: number;
  /** Fall back to padded streaming or long-poll behind a buffering proxy. Default true. */
  fallback?: boolean;
  /** Ms without a byte (or the hub's probe) before falling back. Default 5000. */
  fallbackTimeout?: number;
  /** Tell a polysse hub which engine serves this stream (for its status page). */
  reportEngine?: boolean;
  /**
   * Where the engine files (dist/eventsource.*.wasm, wasm_exec.*.js,
   * eventsource-lite.*.js) are served from, when not beside the script: a
   * bundled copy, a CDN. A URL or path of their folder, read when an engine
   * first loads (once per page). A script tag can say it instead with
   * `data-engine-base`.
   */
  engineBase?: string;
  /**
   * Reconnect with backoff after 502, 503 or 504, as after a network error,
   * where the standard fails the connection. Default true.
   */
  retryGatewayErrors?: boolean;
}

/**
 * An EventSource that works in every browser. Where the browser has its
 * own, it is used and supervised; elsewhere a WebAssembly or ES5 engine
 * takes its place. The API is the standard one.
 */
export declare class EventSourcePolyfill extends EventTarget implements EventSource {
  constructor(url: string | URL, init?: EventSourcePolyfillInit);
  readonly url: string;
  readonly withCredentials: boolean;
  readonly readyState: number;
  readonly CONNECTING: 0;
  readonly OPEN: 1;
  readonly CLOSED: 2;
  static readonly CONNECTING: 0;
  static readonly OPEN: 1;
  static readonly CLOSED: 2;
  onopen: ((this: EventSource, ev: Event) => any) | null;
  onmessage: ((this: EventSource, ev: MessageEvent) => any) | null;
  onerror: ((this: EventSource, ev: Event) => any) | null;
  close(): void;
  addEventListener<K extends keyof EventSourceEventMap>(
    type: K,
    listener: (this: EventSource, ev: EventSourceEventMap[K]) => any,
    options?: boolean | AddEventListenerOptions,
  ): void;
  addEventListener(
    type: string,
    listener: (this: EventSource, event: MessageEvent) => any,
    options?: boolean | AddEventListenerOptions,
  ): void;
  addEventListener(
    type: string,
    listener: EventListenerOrEventListenerObject,
    options?: boolean | AddEventListenerOptions,
  ): void;
  removeEventListener<K extends keyof EventSourceEventMap>(
    type: K,
    listener: (this: EventSource, ev: EventSourceEventMap[K]) => any,
    options?: boolean | EventListenerOptions,
  ): void;
  removeEventListener(
    type: string,
    listener: (this: EventSource, event: MessageEvent) => any,
    options?: boolean | EventListenerOptions,
  ): void;
  removeEventListener(
    type: string,
    listener: EventListenerOrEventListenerObject,
    options?: boolean | EventListenerOptions,
  ): void;
}

declare global {
  interface Window {
    /** Always defined by eventsource.js. */
    EventSourcePolyfill: typeof EventSourcePolyfill;
  }
  /** Always defined by eventsource.js. */
  var EventSourcePolyfill: typeof import("./index").EventSourcePolyfill;
}
