package redisstore_test

import (
	"log/slog"
	"os"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/polysse/polysse/server/store/redisstore"
)

func TestMain(m *testing.M) {
	// go-redis logs every failed dial to stderr, process-wide; the fault
	// tests make many on purpose.
	redis.SetLogger(redisstore.DriverLogger(slog.New(slog.DiscardHandler), slog.LevelDebug))
	os.Exit(m.Run())
}
