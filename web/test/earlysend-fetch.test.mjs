// The stream's request at construction on a modern page without a native
// EventSource, where the lite engine reads with fetch and serves the
// connection alone: the constructor sends a fetch (lib/earlysend.mjs).

import { earlySend } from './lib/earlysend.mjs';

await earlySend([], 'fetch');
