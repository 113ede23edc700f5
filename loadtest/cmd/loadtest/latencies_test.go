package main

import "testing"

func TestSummarize(t *testing.T) {
	tests := []struct {
		name string
		us   []int32
		want latencies
	}{
		{"none", nil, latencies{}},
		{"one", []int32{1500}, latencies{Samples: 1, P50ms: 1.5, P90ms: 1.5, P99ms: 1.5, MaxMs: 1.5}},
		// 1..100 ms, shuffled: the q-quantile is the value at index q·n.
		{"hundred", shuffled(100), latencies{Samples: 100, P50ms: 51, P90ms: 91, P99ms: 100, MaxMs: 100}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := summarize(tt.us); got != tt.want {
				t.Errorf("summarize = %+v, want %+v", got, tt.want)
			}
		})
	}
}

// shuffled returns 1..n milliseconds in microseconds, out of order.
func shuffled(n int) []int32 {
	v := make([]int32, n)
	for i := range v {
		v[(i*37)%n] = int32(i+1) * 1000 // 37 is prime to 100
	}
	return v
}
