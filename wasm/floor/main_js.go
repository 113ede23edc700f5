//go:build js && wasm

package main

import "syscall/js"

// The numbers of the bridge contract (see ../main_js.go) that this program
// uses; ../bridge_test.go checks them against ../main_js.go.
const (
	hostRequest = 1
	engineOpen  = 1
	openURL     = 0
)

func main() {
	bridge := js.Global().Get("__polysse")
	host := bridge.Get("host")
	bridge.Set("engine", js.FuncOf(func(_ js.Value, args []js.Value) any {
		// Only as far as the engine's first act: asking for its request.
		if len(args) > 2 && args[0].Int() == engineOpen {
			host.Invoke(hostRequest, args[1], 1, false, args[2].Index(openURL), js.Global().Get("Array").New(), false)
		}
		return nil
	}))
	select {}
}
