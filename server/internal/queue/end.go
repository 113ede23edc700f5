package queue

import "time"

// The comments that end a response early. Either makes the client
// reconnect and resume from its last event id.
const (
	// EndDraining ends every stream when the hub shuts down, so that its
	// client reconnects to another node, or to this one restarted.
	EndDraining = "hub restarting: reconnect"
	// EndExpired ends a stream when its subscriber's token expires: no
	// event goes out after that.
	EndExpired = "token expired"
)

// Expired reports whether a token that expires at expires (zero: never)
// has expired at now.
func Expired(expires, now time.Time) bool {
	return !expires.IsZero() && !now.Before(expires)
}
