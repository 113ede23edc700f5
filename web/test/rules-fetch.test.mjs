// The table of connection rules (lib/rules.mjs) on a modern page without a
// native EventSource, where the lite engine reads with fetch
// (src/transports.js, fetchText) for window.EventSource and
// EventSourcePolyfill.

import { test, after } from 'node:test';
import { startServer } from './lib/server.mjs';
import { installBrowser, loadShim, sources } from './lib/browser.mjs';
import { responseRules } from './lib/rules.mjs';

const srv = await startServer();
installBrowser(srv.origin);
loadShim();
after(() => srv.close());
const source = sources(after);

test('responses over fetch: what each status and Content-Type leads to, standard and polyfill', () => responseRules(srv, source));
