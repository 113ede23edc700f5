package store

import "context"

// Feed is the tail of a Log's Replay: it passes fn each of us in order,
// and stops at fn's first error or once ctx is done, which it checks
// before each update so that a replay of many cached updates ends soon
// after its client has gone.
func Feed(ctx context.Context, us []*Update, fn func(*Update) error) error {
	done := ctx.Done()
	for _, u := range us {
		select {
		case <-done:
			return ctx.Err()
		default:
		}
		if err := fn(u); err != nil {
			return err
		}
	}
	return nil
}
