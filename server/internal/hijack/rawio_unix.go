//go:build unix

package hijack

import "syscall"

// rawIOSupported reports whether this platform has the non-blocking
// writes the hijacked path needs.
const rawIOSupported = true

// writeNB writes as much of p as the socket takes now, without waiting:
// RawConn.Write's callback returns true, so the runtime never parks on the
// socket. It returns how much was written; less than len(p) with a nil
// error means the socket buffer is full.
func (st *Stream) writeNB(p []byte) (int, error) {
	if st.raw == nil {
		return 0, nil
	}
	n := 0
	var werr error
	err := st.raw.Write(func(fd uintptr) bool {
		for n < len(p) {
			m, e := syscall.Write(int(fd), p[n:])
			if m > 0 {
				n += m
			}
			switch {
			case e == syscall.EINTR:
				continue
			case e == syscall.EAGAIN:
				return true
			case e != nil:
				werr = e
				return true
			case m <= 0:
				return true
			}
		}
		return true
	})
	if err == nil {
		err = werr
	}
	return n, err
}

// peerGone reports whether the client closed or reset its side of the
// connection, with a read that does not wait. A client of an event stream
// sends nothing after its request: any bytes are discarded.
func (st *Stream) peerGone() bool {
	if st.raw == nil {
		return false
	}
	gone := false
	var b [512]byte
	err := st.raw.Read(func(fd uintptr) bool {
		for range 16 {
			m, e := syscall.Read(int(fd), b[:])
			switch {
			case e == syscall.EINTR:
				continue
			case e == syscall.EAGAIN:
				return true
			case e != nil, m == 0:
				gone = true
				return true
			}
		}
		return true
	})
	return gone || err != nil
}
