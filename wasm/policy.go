package main

// Retry policy defaults. The reconnection time starts where Chromium's does;
// the cap keeps a page behind a long outage retrying at a human scale.
const (
	defaultRetryMS  = 3000
	defaultMaxMS    = 30000
	defaultFactor   = 2.0
	defaultJitter   = 0.25
	maxTimerMS      = 1<<31 - 1 // setTimeout's limit; longer delays fire at once in browsers
	watchdogSlackMS = 2         // timers may fire this early against performance.now
)

// policy decides how long to wait before the next connection attempt.
//
// The first reconnection after a success, or after a single failure, waits
// exactly the reconnection time (the retry field's value when the stream sent
// one), as the standard says. Only consecutive failures back off: the n-th in
// a row waits reconnection time × factor^(n−1), capped at max, minus up to
// jitter of the backoff so that many pages dropped at once do not return at
// once. The wait never falls below the reconnection time, so a server's
// retry field is always honoured as a minimum.
type policy struct {
	max    int     // cap on backed-off waits, ms; never below the reconnection time
	factor float64 // growth per consecutive failure; 1 disables backoff
	jitter float64 // 0..1: fraction of the backoff that may be taken off at random
}

func defaultPolicy() policy {
	return policy{max: defaultMaxMS, factor: defaultFactor, jitter: defaultJitter}
}

// delay returns the wait in milliseconds before the next attempt, given the
// reconnection time base, the number of consecutive failed attempts so far
// (0 when the last connection succeeded) and a random number in [0, 1).
func (p policy) delay(base, failures int, random float64) int {
	if base < 0 {
		base = 0
	}
	if failures <= 1 || p.factor <= 1 {
		return clampTimer(base)
	}
	limit := float64(p.max)
	if limit < float64(base) {
		limit = float64(base)
	}
	d := float64(base)
	for i := 1; i < failures && d < limit; i++ {
		d *= p.factor
	}
	if d > limit {
		d = limit
	}
	if j := p.jitter; j > 0 {
		if j > 1 {
			j = 1
		}
		d -= (d - float64(base)) * j * random
	}
	return clampTimer(int(d))
}

func clampTimer(ms int) int {
	if ms > maxTimerMS {
		return maxTimerMS
	}
	if ms < 0 {
		return 0
	}
	return ms
}
