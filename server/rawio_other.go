//go:build !unix

package server

// rawIOSupported is false here: every stream takes the ordinary path.
const rawIOSupported = false

func (hs *hstream) writeNB(p []byte) (int, error) { return 0, nil }

func (hs *hstream) peerGone() bool { return false }
