package main

import "testing"

func TestIsEventStream(t *testing.T) {
	for ct, want := range map[string]bool{
		"text/event-stream":                  true,
		"Text/Event-Stream":                  true,
		" text/event-stream ; charset=utf-8": true,
		"text/event-stream;charset=latin1":   true,
		"text/event-stream\t":                true,
		"text/plain":                         false,
		"":                                   false,
		"text/event-streamx":                 false,
		"text/event":                         false,
	} {
		if got := isEventStream(ct); got != want {
			t.Errorf("isEventStream(%q) = %v", ct, got)
		}
	}
}

func TestSetQuery(t *testing.T) {
	for _, tc := range []struct{ url, want string }{
		{"http://h/p", "http://h/p?id=v"},
		{"http://h/p?", "http://h/p?id=v"},
		{"http://h/p?a=1", "http://h/p?a=1&id=v"},
		{"http://h/p?id=old&a=1&id", "http://h/p?a=1&id=v"},
		{"http://h/p?a=1#frag", "http://h/p?a=1&id=v#frag"},
		{"http://h/p#f?id=1", "http://h/p?id=v#f?id=1"},
		{"http://h/p?ida=1&a&&b=2", "http://h/p?ida=1&a&b=2&id=v"},
	} {
		if got := setQuery(tc.url, "id", "v"); got != tc.want {
			t.Errorf("setQuery(%q) = %q, want %q", tc.url, got, tc.want)
		}
	}
	if got := setQuery("http://h/", "last id", "1&2=3 é"); got != "http://h/?last%20id=1%262%3D3%20%C3%A9" {
		t.Errorf("escaping: %q", got)
	}
}

func TestByteString(t *testing.T) {
	if got := byteString("abc"); got != "abc" {
		t.Errorf("%q", got)
	}
	if got := byteString("€"); got != "\u00e2\u0082\u00ac" {
		t.Errorf("%q", got)
	}
}

func TestSetHeader(t *testing.T) {
	hs := setHeader(nil, "Accept", "a")
	hs = setHeader(hs, "X", "1")
	hs = setHeader(hs, "accept", "b")
	if len(hs) != 2 || hs[0] != (header{"accept", "b"}) {
		t.Errorf("%v", hs)
	}
}
