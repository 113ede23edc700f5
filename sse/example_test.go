package sse_test

import (
	"fmt"
	"io"
	"strings"

	"github.com/polysse/polysse/sse"
)

func ExampleAppendEvent() {
	buf, err := sse.AppendEvent(nil, &sse.Event{ID: "42", Type: "update", Data: "line one\nline two"})
	if err != nil {
		panic(err)
	}
	fmt.Printf("%q\n", buf)

	_, err = sse.AppendEvent(nil, &sse.Event{ID: "1\nevent: evil", Data: "x"})
	fmt.Println(err)
	// Output:
	// "id: 42\nevent: update\ndata: line one\ndata: line two\n\n"
	// sse: invalid event id: contains a line feed (LF) at byte 1
}

func ExampleDecoder() {
	d := sse.NewDecoder(sse.Limits{},
		func(ev sse.Event) { fmt.Printf("%s %q id=%q\n", ev.Type, ev.Data, ev.ID) },
		func(ms int) { fmt.Println("retry", ms) })
	// Chunks can split anything, even a CRLF.
	for _, chunk := range []string{"retry: 3000\r", "\nid: 7\r\nda", "ta: hello\r\n\r\n"} {
		if _, err := d.Write([]byte(chunk)); err != nil {
			panic(err)
		}
	}
	fmt.Println("resume from", d.LastEventID())
	// Output:
	// retry 3000
	// message "hello" id="7"
	// resume from 7
}

func ExampleReader() {
	stream := ": heartbeat\n\nevent: add\ndata: 1\n\ndata: a\ndata: b\n\ndata: never ended\n"
	r := sse.NewReader(strings.NewReader(stream), sse.Limits{})
	for {
		ev, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			panic(err)
		}
		fmt.Printf("%s %q\n", ev.Type, ev.Data)
	}
	// Output:
	// add "1"
	// message "a\nb"
}
