//go:build !unix

package server

// openFileLimit is unknown here: the cap is DefaultMaxSubscribers.
func openFileLimit() uint64 { return 0 }
