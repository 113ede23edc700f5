package server

import (
	"errors"
	"net"
	"net/http"
	"strconv"
)

// The reasons reserve refuses a stream.
var (
	errHubFull    = errors.New("too many subscribers on this hub")
	errClientFull = errors.New("too many subscriptions from this client")
)

// clientKeys returns what a stream counts against per client: the remote
// address (the host alone: a client opens its streams from many ports),
// and the token's subject when there is one, so that a client spreading
// its streams over addresses is still bounded by its identity.
func clientKeys(r *http.Request, subject string) []string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	keys := []string{"addr:" + host}
	if subject != "" {
		keys = append(keys, "sub:"+subject)
	}
	return keys
}

// reserveLocked counts one more stream for keys, unless the hub or one of
// the clients is at its limit; h.mu is held for writing.
func (h *Hub) reserveLocked(keys []string) error {
	if h.open >= h.cfg.MaxSubscribers {
		return errHubFull
	}
	if limit := h.cfg.MaxSubscribersPerClient; limit > 0 {
		for _, k := range keys {
			if h.perClient[k] >= limit {
				return errClientFull
			}
		}
	}
	h.open++
	for _, k := range keys {
		h.perClient[k]++
	}
	return nil
}

// unreserveLocked undoes reserveLocked; h.mu is held for writing.
func (h *Hub) unreserveLocked(keys []string) {
	h.open--
	for _, k := range keys {
		if h.perClient[k]--; h.perClient[k] <= 0 {
			delete(h.perClient, k)
		}
	}
}

// HoldStream counts a stream that the hub does not serve itself (a status
// page's, say) against MaxSubscribers and the per-client limit, as one of
// its own subscriptions. When the hub or the client is at its limit, it
// answers w (503 or 429, with Retry-After) and returns ok false; otherwise
// the caller serves the stream and calls release once it ends.
func (h *Hub) HoldStream(w http.ResponseWriter, r *http.Request) (release func(), ok bool) {
	keys := clientKeys(r, "")
	h.mu.Lock()
	err := h.reserveLocked(keys)
	h.mu.Unlock()
	if err != nil {
		h.refuseStream(w, err)
		return nil, false
	}
	return func() {
		h.mu.Lock()
		h.unreserveLocked(keys)
		h.mu.Unlock()
	}, true
}

// refuseStream answers a stream that reserveLocked refused.
func (h *Hub) refuseStream(w http.ResponseWriter, err error) {
	if errors.Is(err, errClientFull) {
		w.Header().Set("Retry-After", "5")
		http.Error(w, err.Error()+": the limit is "+strconv.Itoa(h.cfg.MaxSubscribersPerClient), http.StatusTooManyRequests)
		return
	}
	w.Header().Set("Retry-After", "5")
	http.Error(w, err.Error()+": the limit is "+strconv.Itoa(h.cfg.MaxSubscribers), http.StatusServiceUnavailable)
}

// fileHeadroom is the share of the open-file limit left to everything but
// streams (the log, listeners, Redis connections, publishers' requests)
// when the subscriber cap is derived from it, and fileHeadroomMin its
// floor.
const (
	fileHeadroom    = 10 // percent
	fileHeadroomMin = 64
)

// capFromFileLimit derives the subscriber cap from the process's open-file
// limit: every stream holds a socket, and a process out of descriptors
// can accept nothing, health checks included.
func capFromFileLimit(limit uint64) int {
	if limit == 0 {
		return DefaultMaxSubscribers
	}
	headroom := max(limit*fileHeadroom/100, fileHeadroomMin)
	if limit <= headroom+16 {
		return 16
	}
	return int(min(limit-headroom, DefaultMaxSubscribers))
}
