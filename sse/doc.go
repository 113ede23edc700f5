// Package sse holds the Server-Sent Events wire format used by every Go part
// of polysse: the server's encoder, the WebAssembly engine's decoder and the
// tests. There is deliberately no second parser or encoder anywhere else.
//
// The encoder (AppendEvent, AppendComment, AppendRetry) never lets a value
// create a field or an event of its own: data containing CR, LF or CRLF is
// split into several data lines, and ids and types containing CR, LF or NUL
// are refused with an error. It appends to a caller's buffer and allocates
// nothing else, as it runs once per event and subscriber.
//
// The decoder (Decoder, pushed chunks as they arrive, and Reader, pulling
// events from an io.Reader) implements the "event stream interpretation" of
// the WHATWG HTML standard exactly, with limits on line and event size so
// that a hostile stream cannot exhaust memory.
//
// Encoding then decoding an event gives back its ID, Type and Data, with two
// changes every conforming receiver makes: each line break in Data arrives
// as LF, and bytes that are not valid UTF-8 arrive as U+FFFD, one per
// maximal subpart as the WHATWG UTF-8 decoder replaces them (or, with
// Decoder.SetRawData, as they came, for a caller whose own decoder does
// that).
//
// The package is compiled to WebAssembly for browsers, where every imported
// package adds to the download: it keeps to bytes, strings, strconv, errors,
// io and unicode/utf8.
package sse
