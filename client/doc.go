// Package client is the Go side of a Server-Sent Events conversation: it
// subscribes to any event stream, polysse's hub or another server, and
// publishes updates to a Mercure hub.
//
// A Client reconnects the way the WHATWG HTML standard's EventSource does:
// after a clean end of the stream or a network error it waits the
// reconnection time (which the server may change with a retry field) and
// asks again with the Last-Event-ID header, so that a server with a replay
// log can resume where the stream broke off. A 204 No Content ends the
// subscription, and any other answer that is not a 200 text/event-stream
// fails it with a *StatusError, except that, unlike a browser, the client
// treats 5xx, 429 and 408 (Client.RetryStatus) as transient, because a hub
// restart or a proxy's 502 is.
//
// Failed attempts (network errors and transient statuses) are spaced out so
// that the clients of a failed hub do not all come back at the same instant:
// after the n-th consecutive failure the client waits the reconnection time
// (at least 10 ms) doubled n-1 times, capped at Client.MaxRetry or the
// reconnection time if larger, less a random part of up to half of it; a
// Retry-After header lengthens the wait, up to the same cap. A stream that
// opens resets the count, and its end, clean or not, is followed by exactly
// the reconnection time, as in browsers.
//
// Events are decoded by package sse's Decoder, the one parser of the
// project, with its limits on line and event size.
//
// Subscribe calls a function for each event; Open returns a Stream to pull
// events from one at a time. Publish sends one update with the Mercure
// publish form.
package client
