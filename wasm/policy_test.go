package main

import (
	"testing"

	"github.com/polysse/polysse/sse"
)

func limits(n int) sse.Limits { return sse.Limits{MaxLine: n, MaxEvent: n} }

func TestPolicyDelay(t *testing.T) {
	p := policy{max: 30000, factor: 2, jitter: 0.5}
	for _, tc := range []struct {
		base, failures int
		random         float64
		want           int
	}{
		{3000, 0, 0.9, 3000}, // after a success: exactly the reconnection time
		{3000, 1, 0.9, 3000}, // first failure: the same
		{100, 2, 0, 200},     // backoff, no jitter drawn
		{100, 3, 0, 400},     //
		{100, 3, 1, 250},     // jitter takes off up to half of the backoff above base
		{100, 20, 0, 30000},  // capped
		{60000, 5, 0, 60000}, // a retry field above the cap wins
		{-5, 1, 0, 0},        //
		{1 << 40, 1, 0, 1<<31 - 1},
	} {
		if got := p.delay(tc.base, tc.failures, tc.random); got != tc.want {
			t.Errorf("delay(%d, %d, %v) = %d, want %d", tc.base, tc.failures, tc.random, got, tc.want)
		}
	}
	if got := (policy{max: 30000, factor: 1}).delay(100, 9, 0.3); got != 100 {
		t.Errorf("factor 1: %d", got)
	}
}
