//go:build !unix

package hijack

// rawIOSupported is false here: every stream takes the handler path.
const rawIOSupported = false

func (st *Stream) writeNB(p []byte) (int, error) { return 0, nil }

func (st *Stream) peerGone() bool { return false }
