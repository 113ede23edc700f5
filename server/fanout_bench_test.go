package server

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/polysse/polysse/server/internal/queue"
	"github.com/polysse/polysse/server/store"
	"github.com/polysse/polysse/sse"
)

// BenchmarkFanout times one publish's fan-out to 200 subscribers of 64
// selectors each, none of which matches the update, so that the figure is
// the cost of deciding: exact topics; templates from a pool of 64 distinct
// ones (matched once per publish, however many subscribers share them);
// and every subscriber at the template budget with costly templates of its
// own, plain and exploded (issue 15, item 1: before selectors were compiled per subscription,
// that case recompiled templates on every publish and took seconds).
func BenchmarkFanout(b *testing.B) {
	const subscribers = 200
	cases := []struct {
		name      string
		selectors func(sub int) []string
	}{
		{"exact", func(sub int) []string {
			out := make([]string, 64)
			for k := range out {
				out[k] = fmt.Sprintf("https://example.com/shelves/%d/books/%d", sub, k)
			}
			return out
		}},
		{"templates64", func(int) []string {
			out := make([]string, 64)
			for k := range out {
				out[k] = fmt.Sprintf("https://example.com/shelves/%d/books/{id}", k)
			}
			return out
		}},
		{"costly-plain", func(sub int) []string { return costlyTemplates(sub, false) }},
		{"costly", func(sub int) []string { return costlyTemplates(sub, true) }},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			h, err := New(context.Background(), Config{})
			if err != nil {
				b.Fatal(err)
			}
			defer h.Close()
			for sub := range subscribers {
				texts := c.selectors(sub)
				if err := h.checkBudget(texts); err != nil {
					b.Fatal(err)
				}
				sels, err := h.sels.acquire(texts, true)
				if err != nil {
					b.Fatal(err)
				}
				s := &subscriber{selectors: sels, queue: queue.New(DefaultMaxQueueBytes, h.cutOff)}
				s.queue.Attach(newHandlerWay(httptest.NewRecorder()))
				if _, err := h.register(s); err != nil {
					b.Fatal(err)
				}
			}
			u := &store.Update{
				Topics: []string{"https://example.com/books/1234;x=1"},
				Event:  sse.Event{ID: "x", Data: `{"id":1234}`},
			}
			b.ReportAllocs()
			for b.Loop() {
				u.Pos.Lo++
				h.fanout(u)
			}
		})
	}
}

// costlyTemplates returns subscriber sub's templates of 16 variables each
// in one ";" expression, as many as the default budget holds: 16 variables
// count 2 each (32 a template), exploded ones 4 each (64).
func costlyTemplates(sub int, exploded bool) []string {
	cost, mod := 32, ""
	if exploded {
		cost, mod = 64, "*"
	}
	out := make([]string, DefaultMaxTemplateVars/cost)
	for k := range out {
		var v []string
		for i := range 16 {
			v = append(v, fmt.Sprintf("s%dk%dv%d%s", sub, k, i, mod))
		}
		out[k] = "https://example.com/{;" + strings.Join(v, ",") + "}"
	}
	return out
}
