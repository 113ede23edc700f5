//go:build !(js && wasm)

package main

// The engine runs only in a browser; built for any other platform it is an
// empty command, which lets go build ./... and go test ./... cover the
// platform-independent state machine.
func main() {}
