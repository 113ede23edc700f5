// The stream's request at construction on the IE10-11 path, without
// WebAssembly (the lite engine alone): lib/earlysend.mjs.

import { earlySend } from './lib/earlysend.mjs';

await earlySend(['WebAssembly', 'fetch', 'EventTarget', 'Event', 'MessageEvent']);
