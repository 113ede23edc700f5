// A driver for real Firefox (Debian's firefox-esr, headless, over WebDriver
// BiDi with puppeteer-core), for the Go e2e suite (e2e/helper_firefox_test.go):
// one JSON request per line on stdin, one JSON answer per line on stdout.
//
//   {"id": 1, "op": "open", "url": "http://…"}         → {"id": 1, "page": 7}
//   {"id": 2, "op": "eval", "page": 7, "expr": "…"}     → {"id": 2, "value": …}
//   {"id": 3, "op": "close", "page": 7}                 → {"id": 3}
//   any failure                                          → {"id": …, "error": "…"}
//
// The first line it writes is {"ready": "<browser version>"} once Firefox
// runs, or {"error": "…"} when it cannot start. It exits when stdin closes.
// FIREFOX overrides the binary (default /usr/bin/firefox-esr).

import { createInterface } from 'node:readline';
import puppeteer from 'puppeteer-core';

const out = (obj) => process.stdout.write(JSON.stringify(obj) + '\n');

let browser;
try {
  browser = await puppeteer.launch({
    browser: 'firefox',
    executablePath: process.env.FIREFOX || '/usr/bin/firefox-esr',
    protocol: 'webDriverBiDi',
    headless: true,
    // Loopback only: no updates, telemetry or remote settings.
    extraPrefsFirefox: {
      'network.proxy.allow_hijacking_localhost': false,
      'app.update.enabled': false,
      'datareporting.healthreport.uploadEnabled': false,
      'browser.safebrowsing.malware.enabled': false,
      'browser.safebrowsing.phishing.enabled': false,
      'network.captive-portal-service.enabled': false,
      // Every tab runs as a foreground one: the suite opens many at once,
      // and a background tab's timers are held to one a second.
      'dom.min_background_timeout_value': 4,
      'dom.min_background_timeout_value_without_budget_throttling': 4,
      'dom.timeout.enable_budget_timer_throttling': false,
    },
  });
} catch (err) {
  out({ error: 'starting Firefox: ' + (err && err.message || err) });
  process.exit(1);
}
out({ ready: await browser.version() });

const pages = new Map();
let next = 1;

async function handle(req) {
  switch (req.op) {
    case 'open': {
      // Firefox now and then discards a tab while it is being created,
      // when many are: another one is asked for.
      let page;
      for (let i = 0; ; i++) {
        try {
          page = await browser.newPage();
          break;
        } catch (err) {
          if (i >= 3 || !/no such frame|Discarded/.test(String(err && err.message))) throw err;
        }
      }
      const n = next++;
      pages.set(n, page);
      // DOMContentLoaded, not load: the page's scripts have run, and its log
      // is what the tests read. A page that calls window.stop() before its
      // load event (the conformance case request-cancellation) never fires
      // load in Firefox, and waiting for it timed out once in CI.
      await page.goto(req.url, { waitUntil: 'domcontentloaded', timeout: 30000 });
      return { page: n };
    }
    case 'eval': {
      const page = pages.get(req.page);
      if (!page) throw new Error('no page ' + req.page);
      // The expression's value, as JSON (undefined as null).
      const value = await page.evaluate((expr) => {
        // eslint-disable-next-line no-eval
        const v = (0, eval)(expr);
        return v === undefined ? null : JSON.parse(JSON.stringify(v));
      }, req.expr);
      return { value };
    }
    case 'close': {
      const page = pages.get(req.page);
      pages.delete(req.page);
      if (page) await page.close();
      return {};
    }
  }
  throw new Error('unknown op ' + req.op);
}

const rl = createInterface({ input: process.stdin });
rl.on('line', (line) => {
  let req;
  try {
    req = JSON.parse(line);
  } catch (err) {
    out({ error: 'bad request: ' + err.message });
    return;
  }
  handle(req).then(
    (res) => out({ id: req.id, ...res }),
    (err) => out({ id: req.id, error: String(err && err.message || err) }),
  );
});
rl.on('close', async () => {
  await browser.close().catch(() => {});
  process.exit(0);
});
