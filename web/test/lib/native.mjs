// A stand-in for a browser's own EventSource, which the shim relays or
// supervises: the test drives it (open, send, fail) and reads what the shim
// asked of it (url, withCredentials, closed).

// fakeNative returns a fresh EventSource class and the list of every
// instance made of it, in order.
export function fakeNative() {
  const created = [];
  class NativeES extends EventTarget {
    constructor(url, init) {
      super();
      this.url = url;
      this.withCredentials = !!(init && init.withCredentials);
      this.readyState = 0;
      this.closed = false;
      this.at = performance.now();
      created.push(this);
    }
    close() { this.closed = true; this.readyState = 2; }
    emit(type, fields) {
      const e = fields ? new MessageEvent(type, fields) : new Event(type);
      if (this['on' + type]) this['on' + type](e);
      this.dispatchEvent(e);
    }
    open() { this.readyState = 1; this.emit('open'); }
    send(type, data, id) { this.emit(type, { data, lastEventId: id, origin: 'http://page.test' }); }
    fail() { this.readyState = 2; this.emit('error'); }
  }
  return { NativeES, created };
}
