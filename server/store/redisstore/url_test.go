package redisstore

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParseURL(t *testing.T) {
	t.Run("redis", func(t *testing.T) {
		o := mustParse(t, "redis://user:pw@example.com:6380/2?dial_timeout=3s")
		s := o.simple
		if s == nil || s.Addr != "example.com:6380" || s.DB != 2 || s.Username != "user" || s.Password != "pw" ||
			s.DialTimeout != 3*time.Second || s.TLSConfig != nil {
			t.Fatalf("got %+v", s)
		}
		// The log's defaults.
		if s.MaxRetries != -1 || !s.ContextTimeoutEnabled || s.ClientName != "polysse" {
			t.Fatalf("MaxRetries %d, ContextTimeoutEnabled %v, ClientName %q", s.MaxRetries, s.ContextTimeoutEnabled, s.ClientName)
		}
		if o.where != "redis example.com:6380" {
			t.Fatalf("where = %q", o.where)
		}
	})
	t.Run("defaults kept when given", func(t *testing.T) {
		s := mustParse(t, "redis://localhost?max_retries=2&client_name=node1").simple
		if s.Addr != "localhost:6379" || s.MaxRetries != 2 || s.ClientName != "node1" {
			t.Fatalf("got %+v", s)
		}
	})
	t.Run("rediss", func(t *testing.T) {
		s := mustParse(t, "rediss://example.com").simple
		if s.TLSConfig == nil || s.TLSConfig.ServerName != "example.com" || s.Addr != "example.com:6379" {
			t.Fatalf("got %+v", s)
		}
	})
	t.Run("unix", func(t *testing.T) {
		s := mustParse(t, "unix:///run/redis.sock?db=3").simple
		if s.Network != "unix" || s.Addr != "/run/redis.sock" || s.DB != 3 {
			t.Fatalf("got %+v", s)
		}
	})
	t.Run("go-redis sentinel form", func(t *testing.T) {
		f := mustParse(t, "redis://suser:spw@s1:26379/1?master_name=mymaster&addr=s2:26379&password=datapw").failover
		if f == nil || f.MasterName != "mymaster" || !slices.Equal(f.SentinelAddrs, []string{"s1:26379", "s2:26379"}) ||
			f.SentinelUsername != "suser" || f.SentinelPassword != "spw" || f.Password != "datapw" || f.DB != 1 {
			t.Fatalf("got %+v", f)
		}
	})
	t.Run("redis-sentinel", func(t *testing.T) {
		o := mustParse(t, "redis-sentinel://user:pw@s1,s2:26380,[::1]/mymaster/1?dial_timeout=3s&sentinel_password=spw")
		f := o.failover
		if f == nil || f.MasterName != "mymaster" || !slices.Equal(f.SentinelAddrs, []string{"s1:26379", "s2:26380", "[::1]:26379"}) ||
			f.Username != "user" || f.Password != "pw" || f.SentinelPassword != "spw" || f.DB != 1 ||
			f.DialTimeout != 3*time.Second || f.TLSConfig != nil || f.MaxRetries != -1 || !f.ContextTimeoutEnabled {
			t.Fatalf("got %+v", f)
		}
		if o.where != "redis sentinels s1:26379,s2:26380,[::1]:26379 master mymaster" {
			t.Fatalf("where = %q", o.where)
		}
	})
	t.Run("rediss-sentinel", func(t *testing.T) {
		f := mustParse(t, "rediss-sentinel://s1:26379/m").failover
		if f == nil || f.TLSConfig == nil || f.MasterName != "m" || f.DB != 0 {
			t.Fatalf("got %+v", f)
		}
	})
	t.Run("redis-cluster", func(t *testing.T) {
		c := mustParse(t, "redis-cluster://user:pw@h1:7000,h2,[::1]:7002?read_timeout=1s").cluster
		if c == nil || !slices.Equal(c.Addrs, []string{"h1:7000", "h2:6379", "[::1]:7002"}) || c.Username != "user" ||
			c.Password != "pw" || c.ReadTimeout != time.Second || c.TLSConfig != nil || c.MaxRetries != -1 || !c.ContextTimeoutEnabled {
			t.Fatalf("got %+v", c)
		}
	})
	t.Run("rediss-cluster", func(t *testing.T) {
		c := mustParse(t, "rediss-cluster://h1:7000,h2:7001").cluster
		if c == nil || c.TLSConfig == nil || len(c.Addrs) != 2 {
			t.Fatalf("got %+v", c)
		}
	})
	for _, bad := range []struct{ url, want string }{
		{"", "no scheme"},
		{"http://h", "unknown scheme"},
		{"redis://h/a", "database"},
		{"redis://h?nope=1", "nope"},
		{"redis-sentinel://h", "master"},
		{"redis-sentinel://h/m/1/2", "master"},
		{"redis-sentinel://h/m?master_name=x", "path"},
		{"redis-cluster://h/1", "database 0"},
		{"redis-cluster://", "no host"},
		{"redis-cluster://u:secret@h?bogus=1", "bogus"},
		{"redis://u:secret@h?bogus=1", "bogus"},
	} {
		_, err := parseURL(bad.url)
		if err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("parseURL(%q) = %v, want an error about %q", bad.url, err, bad.want)
		}
		if err != nil && strings.Contains(err.Error(), "secret") {
			t.Errorf("parseURL(%q) = %v: the password shows", bad.url, err)
		}
	}
}

func mustParse(t *testing.T, raw string) *clientOptions {
	t.Helper()
	o, err := parseURL(raw)
	if err != nil {
		t.Fatalf("parseURL(%q): %v", raw, err)
	}
	return o
}
