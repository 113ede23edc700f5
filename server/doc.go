// Package server is the polysse hub: an http.Handler that speaks the
// publish/subscribe core of the Mercure protocol over Server-Sent Events,
// draft-07 and draft-08 on one endpoint at once (told apart per request:
// see draft.go), keeps a replay log so that a client resuming with its
// last event id misses nothing, and adds the transports legacy browsers
// need.
//
// Subscribe with GET on the hub's URL (conventionally /.well-known/mercure)
// and one or more topic parameters (draft-07), or match and
// match_urlpattern parameters, by GET or QUERY (draft-08); publish with a
// POST form carrying topic, data and optionally id, type, retry and
// private. Draft-08 clients present OAuth 2.0 access tokens
// (Config.AccessTokens); with Config.Subscriptions the hub also announces
// subscriptions and lists them (subscriptions.go). Programs in the same
// process publish with Hub.Publish, without a token.
//
// An HTTP/1.1 stream is taken over from net/http once accepted: the hub
// writes its response head, replays, and hands the connection to a small
// pool of writers, so that an idle stream owns no goroutine and no buffers
// (about 2–3 KiB each; see docs/benchmarks.md). Heartbeats, token expiry
// and the detection of gone clients run on one shared timer wheel.
// HTTP/2, TLS, HEAD and long-poll keep the ordinary handler path, as does
// a hub with Config.DisableHijack.
//
// Data flows one way: publisher → Publish → store.Log → Watch → fan-out →
// each subscriber's bounded queue (internal/queue) → the way that writes
// its stream (its handler goroutine, or the writers of internal/hijack) →
// the network.
package server
