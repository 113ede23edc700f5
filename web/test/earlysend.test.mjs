// The stream's request at construction on a page with WebAssembly and no
// native EventSource, whose lite engine reads with XHR (no TextDecoder, as
// EdgeHTML): lib/earlysend.mjs.

import { earlySend } from './lib/earlysend.mjs';

await earlySend(['TextDecoder']);
