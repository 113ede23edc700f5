package redisstore

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"

	"github.com/redis/go-redis/v9"
)

// clientOptions is what a URL asks for: exactly one of the three go-redis
// option kinds, and where that is, for messages.
type clientOptions struct {
	simple   *redis.Options
	failover *redis.FailoverOptions
	cluster  *redis.ClusterOptions
	where    string
}

// client builds the client that o asks for. Each is a
// redis.UniversalClient, which is all the log uses.
func (o *clientOptions) client() redis.UniversalClient {
	switch {
	case o.failover != nil:
		return redis.NewFailoverClient(o.failover)
	case o.cluster != nil:
		return redis.NewClusterClient(o.cluster)
	default:
		return redis.NewClient(o.simple)
	}
}

// clientName is what the log's connections call themselves (CLIENT LIST)
// unless the URL names them.
const clientName = "polysse"

// parseURL reads a URL of one of the forms in the package doc into go-redis
// options, with the log's defaults (see the package doc) where the URL
// leaves them.
func parseURL(raw string) (*clientOptions, error) {
	// The multi-host forms have a host list that url.Parse refuses ("h1,h2:7000"
	// reads as a bad port): it parses the URL with one placeholder host.
	hostList, parsable := raw, raw
	if scheme, rest, ok := strings.Cut(raw, "://"); ok && (strings.HasSuffix(scheme, "-sentinel") || strings.HasSuffix(scheme, "-cluster")) {
		end := strings.IndexAny(rest, "/?#")
		if end < 0 {
			end = len(rest)
		}
		auth := rest[:end]
		userinfo := ""
		if at := strings.LastIndex(auth, "@"); at >= 0 {
			userinfo, auth = auth[:at+1], auth[at+1:]
		}
		hostList = auth
		parsable = scheme + "://" + userinfo + "placeholder" + rest[end:]
	}
	u, err := url.Parse(parsable)
	if err != nil {
		// url's errors quote the whole URL, password included.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("invalid redis URL: %w", err)
	}
	q := u.Query()
	retries := q.Has("max_retries")
	var o clientOptions
	switch u.Scheme {
	case "redis", "rediss", "unix":
		if q.Has("master_name") {
			f, err := redis.ParseFailoverURL(raw)
			if err != nil {
				return nil, sanitize(err, u)
			}
			o.failover = f
			o.where = "redis sentinels " + strings.Join(f.SentinelAddrs, ",") + " master " + f.MasterName
			break
		}
		s, err := redis.ParseURL(raw)
		if err != nil {
			return nil, sanitize(err, u)
		}
		o.simple = s
		o.where = "redis " + s.Addr
	case "redis-sentinel", "rediss-sentinel":
		f, err := parseSentinel(u, hostList)
		if err != nil {
			return nil, err
		}
		o.failover = f
		o.where = "redis sentinels " + strings.Join(f.SentinelAddrs, ",") + " master " + f.MasterName
	case "redis-cluster", "rediss-cluster":
		c, err := parseCluster(u, hostList)
		if err != nil {
			return nil, err
		}
		o.cluster = c
		o.where = "redis cluster " + strings.Join(c.Addrs, ",")
	case "":
		return nil, errors.New("invalid redis URL: no scheme (redis://, rediss://, unix://, redis-sentinel://, redis-cluster://)")
	default:
		return nil, fmt.Errorf("invalid redis URL: unknown scheme %q (want redis, rediss, unix, redis-sentinel, rediss-sentinel, redis-cluster or rediss-cluster)", u.Scheme)
	}

	switch {
	case o.simple != nil:
		setDefaults(&o.simple.MaxRetries, &o.simple.ContextTimeoutEnabled, &o.simple.ClientName, retries)
	case o.failover != nil:
		setDefaults(&o.failover.MaxRetries, &o.failover.ContextTimeoutEnabled, &o.failover.ClientName, retries)
	case o.cluster != nil:
		setDefaults(&o.cluster.MaxRetries, &o.cluster.ContextTimeoutEnabled, &o.cluster.ClientName, retries)
	}
	return &o, nil
}

func setDefaults(maxRetries *int, ctxTimeout *bool, name *string, retriesGiven bool) {
	if !retriesGiven {
		*maxRetries = -1
	}
	*ctxTimeout = true
	if *name == "" {
		*name = clientName
	}
}

// sanitize keeps a password that go-redis quoted out of an error.
func sanitize(err error, u *url.URL) error {
	msg := err.Error()
	if p, ok := u.User.Password(); ok && p != "" {
		msg = strings.ReplaceAll(msg, p, "xxxxx")
	}
	return fmt.Errorf("invalid redis URL: %s", msg)
}

// hosts splits a comma-separated host list, giving each the default port
// when it has none.
func hosts(list, defaultPort string) ([]string, error) {
	var out []string
	for h := range strings.SplitSeq(list, ",") {
		if h == "" {
			continue
		}
		host, port, err := net.SplitHostPort(h)
		if err != nil {
			// No port: a bare host, or a bracketed IPv6 literal.
			host, port = strings.TrimSuffix(strings.TrimPrefix(h, "["), "]"), defaultPort
		}
		if host == "" || port == "" {
			return nil, fmt.Errorf("invalid redis URL: bad host %q", h)
		}
		out = append(out, net.JoinHostPort(host, port))
	}
	if len(out) == 0 {
		return nil, errors.New("invalid redis URL: no host")
	}
	return out, nil
}

// rebuild turns a multi-host URL into go-redis's form: the first host in
// the URL's host, the others as addr options.
func rebuild(scheme string, addrs []string, path string, q url.Values, user *url.Userinfo) string {
	for _, a := range addrs[1:] {
		q.Add("addr", a)
	}
	r := url.URL{Scheme: scheme, User: user, Host: addrs[0], Path: path, RawQuery: q.Encode()}
	return r.String()
}

// parseSentinel reads redis-sentinel://[user:pass@]h1[:p1],h2[:p2]/master[/db]?...
func parseSentinel(u *url.URL, hostList string) (*redis.FailoverOptions, error) {
	addrs, err := hosts(hostList, "26379")
	if err != nil {
		return nil, err
	}
	parts := strings.FieldsFunc(u.Path, func(r rune) bool { return r == '/' })
	if len(parts) == 0 || len(parts) > 2 {
		return nil, errors.New("invalid redis URL: want redis-sentinel://host1[:port1][,host2[:port2]...]/master[/db]")
	}
	q := u.Query()
	if q.Has("master_name") || q.Has("username") || q.Has("password") {
		return nil, errors.New("invalid redis URL: in the redis-sentinel form the master is the path and the credentials are the URL's user and password")
	}
	q.Set("master_name", parts[0])
	path := ""
	if len(parts) == 2 {
		path = "/" + parts[1]
	}
	// go-redis takes the userinfo for the sentinels and options for the
	// data nodes; this form is the other way round, the common need.
	var sentinelUser *url.Userinfo
	if su, sp := q.Get("sentinel_username"), q.Get("sentinel_password"); su != "" || sp != "" {
		sentinelUser = url.UserPassword(su, sp)
	}
	q.Del("sentinel_username")
	q.Del("sentinel_password")
	if u.User != nil {
		if name := u.User.Username(); name != "" {
			q.Set("username", name)
		}
		if p, ok := u.User.Password(); ok {
			q.Set("password", p)
		}
	}
	scheme := "redis"
	if u.Scheme == "rediss-sentinel" {
		scheme = "rediss"
	}
	f, err := redis.ParseFailoverURL(rebuild(scheme, addrs, path, q, sentinelUser))
	if err != nil {
		return nil, sanitize(err, u)
	}
	return f, nil
}

// parseCluster reads redis-cluster://[user:pass@]h1[:p1],h2[:p2]?...
func parseCluster(u *url.URL, hostList string) (*redis.ClusterOptions, error) {
	addrs, err := hosts(hostList, "6379")
	if err != nil {
		return nil, err
	}
	if strings.Trim(u.Path, "/") != "" {
		return nil, errors.New("invalid redis URL: a cluster has only database 0: want redis-cluster://host1[:port1][,host2[:port2]...]")
	}
	scheme := "redis"
	if u.Scheme == "rediss-cluster" {
		scheme = "rediss"
	}
	c, err := redis.ParseClusterURL(rebuild(scheme, addrs, "", u.Query(), u.User))
	if err != nil {
		return nil, sanitize(err, u)
	}
	return c, nil
}
