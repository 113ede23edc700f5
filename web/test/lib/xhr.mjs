// A small XMLHttpRequest over node:http, enough for the streaming transport:
// readyState 2 with the head, 3 and progress for each chunk with
// responseText growing, 4 at the end; status 0 for a network error;
// synchronous readystatechange on abort, as browsers do. Text is decoded as
// UTF-8 incrementally, as a browser decodes responseText.
//
// FakeXHR.progressEvery = ms makes it behave as a browser whose network runs
// ahead of the page: text is appended to responseText as it arrives, but
// readystatechange and progress fire at most every ms (Chromium throttles
// progress to 50 ms), so a page that decodes slowly finds more waiting at
// each event. FakeXHR.maxHeld is the most any responseText held.

import http from 'node:http';

// Node's own, captured before a profile (edgehtml) takes the page's away:
// the fake XHR is the browser, which decodes whatever the page lacks.
const NodeTextDecoder = globalThis.TextDecoder;

export class FakeXHR {
  constructor() {
    this.readyState = 0;
    this.status = 0;
    this.responseText = '';
    this.responseURL = '';
    this.withCredentials = false;
    this.onreadystatechange = null;
    this.onprogress = null;
    this._headers = {};
    this._res = null;
    this.chunks = 0; // network chunks received, for tests that pace a stream
    FakeXHR.instances.push(this);
  }
  open(method, url) {
    this._method = method;
    this._url = url;
    this._set(1);
  }
  setRequestHeader(name, value) {
    if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name)) throw new SyntaxError('invalid header name ' + name);
    const k = name.toLowerCase();
    this._headers[k] = k in this._headers ? this._headers[k] + ', ' + value : value;
  }
  overrideMimeType(t) { this._mime = t; }
  getResponseHeader(name) {
    if (!this._res) return null;
    const v = this._res.headers[name.toLowerCase()];
    return v === undefined ? null : String(v);
  }
  send() {
    const decoder = new NodeTextDecoder('utf-8');
    this._req = http.get(this._url, { headers: this._headers }, (res) => {
      if (this._aborted) return;
      this._res = res;
      this.status = res.statusCode;
      this.responseURL = this._url;
      this._set(2);
      res.on('data', (chunk) => {
        if (this._aborted) return;
        this.chunks++;
        this.responseText += decoder.decode(chunk, { stream: true });
        FakeXHR.maxHeld = Math.max(FakeXHR.maxHeld, this.responseText.length);
        if (!FakeXHR.progressEvery) {
          this._progress();
        } else if (!this._timer) {
          this._timer = setTimeout(() => {
            this._timer = null;
            if (!this._aborted && this.readyState < 4) this._progress();
          }, FakeXHR.progressEvery);
        }
      });
      res.on('end', () => {
        if (this._aborted) return;
        clearTimeout(this._timer);
        this.responseText += decoder.decode();
        this._set(4);
      });
      res.on('error', () => this._fail());
      res.on('aborted', () => this._fail());
    });
    this._req.on('error', () => this._fail());
  }
  _progress() {
    this._set(3);
    if (this.onprogress) this.onprogress({ type: 'progress' });
  }
  _fail() {
    if (this._aborted || this.readyState === 4) return;
    this.status = 0;
    this._set(4);
  }
  abort() {
    this._aborted = true;
    clearTimeout(this._timer);
    // A browser forgets the response of an aborted request.
    this.responseText = '';
    if (this._req) this._req.destroy();
    if (this.readyState > 1 && this.readyState < 4) {
      this.status = 0;
      this._set(4);
    }
    this.readyState = 0;
  }
  _set(state) {
    this.readyState = state;
    if (this.onreadystatechange) this.onreadystatechange({ type: 'readystatechange' });
  }
}
FakeXHR.instances = [];
FakeXHR.progressEvery = 0;
FakeXHR.maxHeld = 0;
