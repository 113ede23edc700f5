package sse

// Event is one server-sent event.
type Event struct {
	// ID is written as an id field when non-empty. A decoded event carries
	// the stream's last event ID string at dispatch, as lastEventId does.
	ID string
	// Type is written as an event field when non-empty. A decoded event
	// has "message" when the stream named no type.
	Type string
	// Data is the event's data; line breaks in it become data lines.
	Data string
	// Retry, in milliseconds, is written as a retry field when positive.
	// The decoder reports retry fields through its own callback instead.
	Retry int
}
