// Command floor is the least a Go program can be and still be booted by
// the polyfill's shim in place of the engine (../): it registers the
// bridge's engine function and, when the shim opens an EventSource, asks
// for the stream's request, then ignores everything. Built and lowered
// exactly like the engine (ENGINE=../wasm/floor web/build.sh), it is the
// floor under the engine's cold start: what Go's runtime alone costs to
// download, compile and start. BenchmarkColdStartFloor (e2e/) runs the two
// side by side.
package main
