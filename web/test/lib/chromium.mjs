// Headless Chromium driven over the DevTools protocol on a pipe
// (--remote-debugging-pipe: NUL-separated JSON on file descriptors 3 and 4),
// so the npm tests need no driver package. Debian's /usr/bin/chromium, or
// $CHROMIUM; when there is none, chromium() returns null, and the caller
// fails under CI and skips otherwise.

import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';

export function haveChromium() {
  return existsSync(CHROMIUM);
}

// launch starts a browser and returns { page(url, { beforeLoad }), close() }.
export async function launch() {
  const profile = mkdtempSync(join(tmpdir(), 'polysse-chromium-'));
  const proc = spawn(CHROMIUM, [
    '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-dev-shm-usage',
    '--remote-debugging-pipe', '--user-data-dir=' + profile, 'about:blank',
  ], { stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe'] });
  let stderr = '';
  proc.stderr.on('data', (b) => { stderr = (stderr + b).slice(-4000); });
  const toBrowser = proc.stdio[3];
  const fromBrowser = proc.stdio[4];
  let nextId = 1;
  const pending = new Map();
  const listeners = new Set();
  let buf = '';
  fromBrowser.on('data', (chunk) => {
    buf += chunk.toString('utf8');
    let i;
    while ((i = buf.indexOf('\0')) >= 0) {
      const msg = JSON.parse(buf.slice(0, i));
      buf = buf.slice(i + 1);
      if (msg.id && pending.has(msg.id)) {
        const { resolve, reject, method } = pending.get(msg.id);
        pending.delete(msg.id);
        if (msg.error) reject(new Error(method + ': ' + msg.error.message));
        else resolve(msg.result);
      } else {
        for (const l of listeners) l(msg);
      }
    }
  });
  const exited = new Promise((resolve) => proc.on('exit', resolve));
  exited.then(() => {
    for (const { reject } of pending.values()) reject(new Error('chromium exited: ' + stderr));
    pending.clear();
  });
  const send = (method, params = {}, sessionId) => new Promise((resolve, reject) => {
    const id = nextId++;
    pending.set(id, { resolve, reject, method });
    toBrowser.write(JSON.stringify({ id, method, params, sessionId }) + '\0');
  });
  await send('Browser.getVersion');

  return {
    // page opens url in a new tab; beforeLoad is script that runs in the
    // page before any of its own. It returns { eval(expr), waitFor(expr,
    // ms), console, requests }.
    async page(url, { beforeLoad = '' } = {}) {
      const { targetId } = await send('Target.createTarget', { url: 'about:blank' });
      const { sessionId } = await send('Target.attachToTarget', { targetId, flatten: true });
      const consoleLog = [];
      const requests = [];
      listeners.add((msg) => {
        if (msg.sessionId !== sessionId) return;
        if (msg.method === 'Runtime.consoleAPICalled') {
          consoleLog.push(msg.params.type + ': ' + msg.params.args.map((a) => a.value ?? a.description).join(' '));
        } else if (msg.method === 'Runtime.exceptionThrown') {
          consoleLog.push('exception: ' + (msg.params.exceptionDetails.exception?.description || msg.params.exceptionDetails.text));
        } else if (msg.method === 'Network.requestWillBeSent') {
          requests.push(msg.params.request.url);
        }
      });
      await send('Page.enable', {}, sessionId);
      await send('Runtime.enable', {}, sessionId);
      await send('Network.enable', {}, sessionId);
      if (beforeLoad) await send('Page.addScriptToEvaluateOnNewDocument', { source: beforeLoad }, sessionId);
      await send('Page.navigate', { url }, sessionId);
      const evaluate = async (expression) => {
        const r = await send('Runtime.evaluate', { expression, returnByValue: true, awaitPromise: true }, sessionId);
        if (r.exceptionDetails) throw new Error(expression + ': ' + (r.exceptionDetails.exception?.description || r.exceptionDetails.text));
        return r.result.value;
      };
      return {
        console: consoleLog,
        requests,
        eval: evaluate,
        async waitFor(expression, ms = 10000) {
          const end = Date.now() + ms;
          for (;;) {
            let v;
            try {
              v = await evaluate(expression);
            } catch {
              v = false; // the page is still loading
            }
            if (v) return v;
            if (Date.now() > end) {
              throw new Error(`not true within ${ms} ms: ${expression}\nconsole:\n${consoleLog.join('\n')}\nrequests:\n${requests.join('\n')}`);
            }
            await new Promise((r) => setTimeout(r, 50));
          }
        },
      };
    },
    async close() {
      try {
        await Promise.race([send('Browser.close'), new Promise((r) => setTimeout(r, 2000))]);
      } catch {
        // exited already
      }
      if (proc.exitCode === null) proc.kill('SIGKILL');
      await exited;
      // Chromium's helpers may still be writing to the profile for a moment.
      try {
        rmSync(profile, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
      } catch {
        // left in the temporary folder
      }
    },
  };
}
