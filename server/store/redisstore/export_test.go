package redisstore

import (
	"context"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/polysse/polysse/server/store"
)

// BulkLoad appends n updates, made by mk, to the stream of the log with
// prefix in the Redis at addr, pipelined, with entry ids spread ten per
// millisecond over the last n/10 ms (what a busy hub's would look like):
// how a benchmark fills a log with a million updates in seconds.
func BulkLoad(ctx context.Context, addr, prefix string, n int, mk func(i int) store.Update) error {
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	defer rdb.Close()
	tag := "{" + prefix + "}:"
	base := time.Now().UnixMilli() - int64(n/10) - 1
	const perPipe = 10_000
	for start := 0; start < n; start += perPipe {
		p := rdb.Pipeline()
		for i := start; i < min(n, start+perPipe); i++ {
			u := mk(i)
			ms := base + int64(i/10)
			entry := strconv.FormatInt(ms, 10) + "-" + strconv.Itoa(i%10)
			p.XAdd(ctx, &redis.XAddArgs{Stream: tag + "stream", ID: entry, Values: []any{"u", encodePayload(&u), "i", u.Event.ID}})
			p.ZAdd(ctx, tag+"ids", redis.Z{Score: float64(ms), Member: u.Event.ID})
		}
		if _, err := p.Exec(ctx); err != nil {
			return err
		}
	}
	return nil
}
