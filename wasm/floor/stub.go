//go:build !(js && wasm)

package main

// Built for any platform but js/wasm it is an empty command, like the
// engine, so that go build ./... and go vet ./... cover it.
func main() {}
