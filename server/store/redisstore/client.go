package redisstore

import "github.com/redis/go-redis/v9"

// NewClient returns a Redis client for a URL of the forms Open takes, with
// the same defaults, for other parts of a node that share the log's Redis
// (the active-subscriptions registry of server/cluster). The caller
// closes it.
func NewClient(rawURL string) (redis.UniversalClient, error) {
	o, err := parseURL(rawURL)
	if err != nil {
		return nil, err
	}
	return o.client(), nil
}
