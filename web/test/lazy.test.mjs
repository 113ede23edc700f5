// An engine's file whose load the page stopped (window.stop(), which
// Chromium answers with the script's error event) is not a broken engine
// (src/loaders/lazy.js): the connections waiting fail, as the page's abort
// of their requests fails them, and the next connection loads the file
// again. A load that fails without a stop breaks the engine for the page.

import { test } from 'node:test';
import assert from 'node:assert/strict';

globalThis.stop = () => {};
const { lazy } = await import('../src/loaders/lazy.js');

const tick = () => new Promise((r) => setTimeout(r, 5));

// sink records what a connection was told.
function sink(log, name) {
  return { error: (reconnect) => log.push(`${name} error ${reconnect}`), open() {}, messages() {} };
}

for (const stop of [true, false]) {
  test(`a load that fails ${stop ? 'after window.stop()' : 'by itself'}`, async () => {
    const loads = [];
    const engine = lazy('test', true, (ready, broken) => loads.push({ ready, broken }));
    const log = [];
    engine.connect('/a', {}, sink(log, 'a'));
    assert.equal(loads.length, 1);
    if (stop) globalThis.stop();
    loads[0].broken(new Error('could not load'));
    await tick();
    assert.deepEqual(log, ['a error false'], 'the waiting connection fails');
    engine.connect('/b', {}, sink(log, 'b'));
    await tick();
    if (!stop) {
      assert.equal(loads.length, 1, 'a broken engine is not loaded again');
      assert.deepEqual(log, ['a error false', 'b error false']);
      return;
    }
    assert.equal(loads.length, 2, 'loaded again for the next connection');
    // The stopped load's late calls are ignored.
    loads[0].broken(new Error('late'));
    loads[0].ready({ connect: () => assert.fail('the stopped load is not the engine') });
    const made = [];
    loads[1].ready({ connect: (url) => { made.push(url); return { close() {} }; } });
    assert.deepEqual(made, ['/b']);
    assert.deepEqual(log, ['a error false']);
  });
}
