package hijack

import (
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/polysse/polysse/sse"
)

// Supported reports whether this platform has the non-blocking writes the
// hijacked path needs; where it does not, every stream takes the handler
// path.
const Supported = rawIOSupported

// CanHijack reports whether w, or a ResponseWriter it wraps, can be
// hijacked.
func CanHijack(w http.ResponseWriter) bool {
	for {
		switch x := w.(type) {
		case http.Hijacker:
			return true
		case interface{ Unwrap() http.ResponseWriter }:
			w = x.Unwrap()
		default:
			return false
		}
	}
}

// Take takes the connection of w over. What net/http had buffered of it (a
// pipelined request) is dropped with its reader: an event stream is the
// last response.
func Take(w http.ResponseWriter) (net.Conn, error) {
	conn, _, err := http.NewResponseController(w).Hijack()
	return conn, err
}

// StartWriter writes the start of a hijacked response from the handler
// goroutine: the head, then each Write as one chunk, with blocking writes
// bounded by the write timeout.
type StartWriter struct {
	conn    net.Conn
	timeout time.Duration
	head    []byte // the response head, sent with the first chunk
	scratch []byte
}

// NewStartWriter returns a StartWriter for conn, whose response head
// carries hdr (see appendHead).
func NewStartWriter(conn net.Conn, hdr http.Header, timeout time.Duration) *StartWriter {
	return &StartWriter{conn: conn, timeout: timeout, head: appendHead(nil, hdr)}
}

// Write writes p as one chunk, after the head if it has not gone yet.
func (sw *StartWriter) Write(p []byte) error {
	b := append(sw.scratch[:0], sw.head...)
	sw.head = nil
	b = appendChunk(b, p)
	sw.scratch = b
	_ = sw.conn.SetWriteDeadline(time.Now().Add(sw.timeout))
	_, err := sw.conn.Write(b)
	return err
}

// appendChunk appends p as one chunk of a chunked body.
func appendChunk(dst, p []byte) []byte {
	dst = strconv.AppendUint(dst, uint64(len(p)), 16)
	dst = append(dst, '\r', '\n')
	dst = append(dst, p...)
	return append(dst, '\r', '\n')
}

// lastChunk ends a chunked body.
const lastChunk = "0\r\n\r\n"

// appendEnd appends the end of a response: the comment msg, if any, as a
// last chunk with data, then the terminating chunk.
func appendEnd(dst []byte, msg string) []byte {
	if msg != "" {
		var c [64]byte
		dst = appendChunk(dst, sse.AppendComment(c[:0], msg))
	}
	return append(dst, lastChunk...)
}

// appendHead appends an HTTP/1.1 200 response head with hdr (the headers
// the hub and its CORS policy set), a chunked body and Connection: close.
func appendHead(dst []byte, hdr http.Header) []byte {
	dst = append(dst, "HTTP/1.1 200 OK\r\n"...)
	for _, k := range [...]string{"Content-Type", "Cache-Control", "X-Accel-Buffering"} {
		for _, v := range hdr[k] {
			dst = appendHeaderLine(dst, k, v)
		}
	}
	for k, vs := range hdr {
		switch k {
		case "Content-Type", "Cache-Control", "X-Accel-Buffering",
			"Content-Length", "Transfer-Encoding", "Connection", "Date":
			continue
		}
		for _, v := range vs {
			dst = appendHeaderLine(dst, k, v)
		}
	}
	dst = appendHeaderLine(dst, "Date", time.Now().UTC().Format(http.TimeFormat))
	dst = append(dst, "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"...)
	return dst
}

func appendHeaderLine(dst []byte, k, v string) []byte {
	dst = append(dst, k...)
	dst = append(dst, ':', ' ')
	for i := 0; i < len(v); i++ {
		// As net/http does: a CR or LF in a value must not start a header.
		if c := v[i]; c == '\r' || c == '\n' {
			dst = append(dst, ' ')
		} else {
			dst = append(dst, c)
		}
	}
	return append(dst, '\r', '\n')
}
