package server

// HijackedStreams returns the number of streams on the hijacked path.
func HijackedStreams(h *Hub) int { return h.hijacked.Open() }

// CapFromFileLimit is capFromFileLimit, for tests.
var CapFromFileLimit = capFromFileLimit
