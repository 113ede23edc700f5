// The stream's request at construction on a page with WebAssembly and no
// native EventSource: lib/earlysend.mjs.

import { earlySend } from './lib/earlysend.mjs';

await earlySend([]);
