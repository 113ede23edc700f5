// Command polysse runs the polysse hub (Mercure-compatible Server-Sent
// Events with a replay log, the EventSource polyfill at /polyfill/ and the
// demo pages at /), publishes to a hub, and mints development tokens.
//
//	polysse [serve] [flags]     run the hub (the default command)
//	polysse publish [flags]     publish one update to a hub
//	polysse token [flags]       mint a publisher or subscriber JWT
//	polysse healthcheck [flags] exit 0 when a hub answers /healthz (for images without a shell)
//	polysse version             print the version and commit (also -version)
//
// Every flag can also be set from the environment as POLYSSE_ followed by
// the flag's name in capitals with dashes as underscores (-cors-origins is
// POLYSSE_CORS_ORIGINS), by the reference Mercure hub's variables
// (MERCURE_PUBLISHER_JWT_KEY, ...), or in a TOML file named by -config. A
// flag wins over the environment, which wins over the file (config.go).
package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gorilla/mux"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/redis/go-redis/v9"

	"github.com/polysse/polysse/server"
	"github.com/polysse/polysse/server/auth"
	"github.com/polysse/polysse/server/store"
	"github.com/polysse/polysse/server/store/boltstore"
	"github.com/polysse/polysse/server/store/memstore"
	"github.com/polysse/polysse/server/store/redisstore"
	"github.com/polysse/polysse/web"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := dispatch(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		if errors.Is(err, errUnhealthy) {
			os.Exit(1) // what HEALTHCHECK and probes read as unhealthy
		}
		if !errors.Is(err, errUsage) {
			fmt.Fprintln(os.Stderr, "polysse:", err)
		}
		os.Exit(2)
	}
}

// errUsage marks an error already reported on stderr (a wrong flag or
// command), so main does not print it twice.
var errUsage = errors.New("usage")

// errUnhealthy is a failed health check, already reported: exit status 1.
var errUnhealthy = errors.New("unhealthy")

const overview = `polysse — Server-Sent Events for every browser, Mercure-compatible.

Usage:
  polysse [serve] [flags]   run the hub (the default command)
  polysse publish [flags]   publish one update to a hub
  polysse token [flags]     mint a publisher or subscriber JWT for development
  polysse healthcheck       exit 0 when a hub answers /healthz (for images without a shell)
  polysse version           print the version and the commit it was built from (also -version)

Run 'polysse COMMAND -h' for a command's flags. Every flag can also be set
from the environment: POLYSSE_ and the flag name in capitals, dashes as
underscores (POLYSSE_PUBLISHER_JWT_KEY); the reference Mercure hub's
MERCURE_PUBLISHER_JWT_KEY, MERCURE_SUBSCRIBER_JWT_KEY, their _ALG and
MERCURE_EXTRA_DIRECTIVES (anonymous, cors_origins) are read too; or in a
TOML file given with -config. Flags win over the environment, the
environment over the file.
`

// dispatch runs the command that args name.
func dispatch(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cmd := "serve"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, args = args[0], args[1:]
	} else if len(args) > 0 && (args[0] == "-h" || args[0] == "-help" || args[0] == "--help") {
		fmt.Fprint(stdout, overview)
		return nil
	} else if len(args) > 0 && (args[0] == "-version" || args[0] == "--version") {
		cmd = "version"
	}
	switch cmd {
	case "serve":
		return run(ctx, args, getenv, stderr)
	case "publish":
		return publishCmd(ctx, args, getenv, stdout, stderr)
	case "token":
		return tokenCmd(args, getenv, stdout, stderr)
	case "healthcheck":
		if err := healthcheckCmd(ctx, args, getenv, stdout, stderr); err != nil {
			if errors.As(err, new(settingsError)) {
				return err
			}
			fmt.Fprintln(stderr, "polysse healthcheck:", err)
			return errUnhealthy
		}
		return nil
	case "version":
		fmt.Fprintln(stdout, buildVersion())
		return nil
	case "help":
		fmt.Fprint(stdout, overview)
		return nil
	}
	msg := fmt.Sprintf("polysse: unknown command %q", cmd)
	if s := suggest(cmd, []string{"serve", "publish", "token", "healthcheck", "version", "help"}); len(s) > 0 {
		msg += fmt.Sprintf(" (did you mean %s?)", strings.Join(s, " or "))
	}
	fmt.Fprintf(stderr, "%s; 'polysse -h' lists the commands\n", msg)
	return errUsage
}

// newFlagSet returns a flag set that reports its own errors with a usage
// line for the command.
func newFlagSet(name, synopsis string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("polysse "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.String(configFlag, "", "a TOML file of settings, keys named as flags (addr = \"127.0.0.1:8080\");\nflags and the environment win over it")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: polysse %s [flags]\n\n%s\n\nFlags:\n", name, synopsis)
		fs.PrintDefaults()
	}
	return fs
}

// options are the binary's settings, from flags and the environment.
type options struct {
	addr            string
	store           string
	publisherKey    string
	publisherAlg    string
	subscriberKey   string
	subscriberAlg   string
	issuer          string
	issuerKey       string
	audience        string
	hubURL          string
	subscriptions   bool
	allowAnonymous  bool
	corsOrigins     string
	publishOrigins  string
	heartbeat       time.Duration
	retry           time.Duration
	maxSubscribers  int
	maxPerClient    int
	demo            bool
	demoPages       bool
	metricsAddr     string
	shutdownTimeout time.Duration
	maxCount        int
	maxAge          time.Duration
	maxBytes        int64
	logLevel        string
	logFormat       string
	tlsCert, tlsKey string
	headerTimeout   time.Duration
	maxHeaderBytes  int
	maxPublishBytes int64
	maxEventBytes   int
	maxTopics       int
	maxTemplateVars int
	maxQueueBytes   int
	writeTimeout    time.Duration
}

func parseOptions(args []string, getenv func(string) string, stderr io.Writer) (*options, error) {
	o := &options{}
	fs := serveFlags(o, stderr)
	if err := parseFlags(fs, args, getenv); err != nil {
		return nil, err
	}
	if (o.tlsCert == "") != (o.tlsKey == "") {
		return nil, errors.New("-tls-cert and -tls-key go together")
	}
	if (o.issuer == "") != (o.issuerKey == "") {
		return nil, errors.New("-jwt-issuer and -jwt-issuer-key go together")
	}
	if err := checkOrigins(o.corsOrigins); err != nil {
		return nil, fmt.Errorf("-cors-origins: %w", err)
	}
	if err := checkOrigins(o.publishOrigins); err != nil {
		return nil, fmt.Errorf("-publish-origins: %w", err)
	}
	for _, alg := range []struct{ name, value string }{{"-publisher-jwt-alg", o.publisherAlg}, {"-subscriber-jwt-alg", o.subscriberAlg}} {
		if alg.value != "" && alg.value != auth.HS256 && alg.value != auth.RS256 {
			return nil, fmt.Errorf("%s %q: polysse verifies HS256 (a secret) and RS256 (a PEM key)", alg.name, alg.value)
		}
	}
	if o.logFormat != "text" && o.logFormat != "json" {
		return nil, fmt.Errorf("-log-format %q: want text or json", o.logFormat)
	}
	return o, nil
}

// serveFlags defines serve's flags on a new flag set, writing into o. The
// README's flag table is checked against it (readme_test.go).
func serveFlags(o *options, stderr io.Writer) *flag.FlagSet {
	fs := newFlagSet("serve", "Runs the hub: subscriptions and publishes at /.well-known/mercure, the polyfill at\n/polyfill/, /healthz and /readyz; the demo pages at / with -demo or -demo-pages; /metrics\non -metrics-addr.", stderr)
	fs.StringVar(&o.addr, "addr", ":8080", "address to listen on")
	fs.StringVar(&o.store, "store", "bolt:polysse.db", "replay log: bolt:PATH (a file that survives restarts), memory, or redis://host:port/db\n(also rediss://, redis-sentinel://h1,h2/master, redis-cluster://h1,h2) to share one history across nodes")
	fs.StringVar(&o.publisherKey, "publisher-jwt-key", "", "HS256 secret, or a PEM file for RS256, that verifies publishers' tokens (no key: HTTP publishing refused)")
	fs.StringVar(&o.publisherAlg, "publisher-jwt-alg", "", "HS256 or RS256: the algorithm publishers' tokens must use (default: the key's, HS256 for a secret,\nRS256 for a PEM key; a mismatch with the key is an error at start)")
	fs.StringVar(&o.subscriberKey, "subscriber-jwt-key", "", "HS256 secret, or a PEM file for RS256, that verifies subscribers' tokens")
	fs.StringVar(&o.subscriberAlg, "subscriber-jwt-alg", "", "HS256 or RS256: the algorithm subscribers' tokens must use (default: the key's)")
	fs.StringVar(&o.issuer, "jwt-issuer", "", "issuer (iss) of the Mercure draft-08 access tokens the hub trusts, e.g. https://example.com")
	fs.StringVar(&o.issuerKey, "jwt-issuer-key", "", "the -jwt-issuer's keys: an HS256 secret (32+ bytes), a PEM public key file (RS256, ES256, EdDSA),\na JWK Set file, or a JWK Set URL (https://..., cached and refreshed)")
	fs.StringVar(&o.audience, "jwt-audience", "", "the hub's resource identifier, required in access tokens' aud (default: -hub-url)")
	fs.StringVar(&o.hubURL, "hub-url", "", "the hub's public URL, e.g. https://hub.example.com/.well-known/mercure (default: -jwt-audience when a URL, else the URL each request used)")
	fs.BoolVar(&o.subscriptions, "subscriptions", false, "active subscriptions: events when subscriptions start and end, and the API at /.well-known/mercure/subscriptions")
	fs.BoolVar(&o.allowAnonymous, "allow-anonymous", false, "let subscribers without a token receive public updates")
	fs.StringVar(&o.publishOrigins, "publish-origins", "", "comma-separated origins whose pages may publish with the mercureAuthorization cookie; * for any (default none)")
	fs.StringVar(&o.corsOrigins, "cors-origins", "", "comma-separated origins granted CORS with credentials; * grants all, without credentials")
	fs.DurationVar(&o.heartbeat, "heartbeat", server.DefaultHeartbeat, "idle time before a heartbeat comment keeps a stream open")
	fs.DurationVar(&o.retry, "retry", server.DefaultRetry, "reconnection time sent to clients at the start of every stream")
	fs.IntVar(&o.maxSubscribers, "max-subscribers", 0, "subscriptions open at once, status-page streams included; beyond, 503 with Retry-After\n(default: the open-file limit less a tenth of it, at most 100000)")
	fs.IntVar(&o.maxPerClient, "max-subscribers-per-client", 0, "subscriptions one client (a remote address, a token subject) may hold; beyond, 429 with Retry-After\n(default: a tenth of -max-subscribers, at least 16; -1: no limit; behind a reverse proxy every client has its address)")
	fs.BoolVar(&o.demo, "demo", false, "run a demo publisher that posts to demo/* topics every second, enable the demo publish form\n(demo/* topics, no token) and serve the demo pages: for a person's own machine")
	fs.BoolVar(&o.demoPages, "demo-pages", false, "serve the demo pages, /status.html and its event stream of the hub's counters (implied by -demo)")
	fs.StringVar(&o.metricsAddr, "metrics-addr", "", "address of a listener of its own for /metrics (Prometheus), such as 127.0.0.1:9090; none when empty.\nKeep it off the public network: the counters tell when updates are published")
	fs.DurationVar(&o.shutdownTimeout, "shutdown-timeout", 10*time.Second, "bound on draining streams and closing the log at SIGTERM")
	fs.IntVar(&o.maxCount, "log-max-count", store.DefaultMaxCount, "updates the replay log keeps at most")
	fs.DurationVar(&o.maxAge, "log-max-age", store.DefaultMaxAge, "age after which the replay log drops an update")
	fs.Int64Var(&o.maxBytes, "log-max-bytes", store.DefaultMaxBytes, "bytes the replay log keeps at most (data, id, type and topics of its updates); the oldest go first")
	fs.StringVar(&o.logLevel, "log-level", "info", "debug, info, warn or error")
	fs.StringVar(&o.logFormat, "log-format", "text", "text (key=value lines) or json (one object a line, for log collectors)")
	fs.StringVar(&o.tlsCert, "tls-cert", "", "PEM certificate file: serve HTTPS, with HTTP/2 so a page's streams share one connection")
	fs.StringVar(&o.tlsKey, "tls-key", "", "PEM private key file for -tls-cert")
	fs.DurationVar(&o.headerTimeout, "read-header-timeout", 10*time.Second, "time a client has to send its request headers (slow-header clients are cut off)")
	fs.IntVar(&o.maxHeaderBytes, "max-header-bytes", 64<<10, "largest request header block accepted (431 beyond)")
	fs.Int64Var(&o.maxPublishBytes, "max-publish-bytes", server.DefaultMaxPublishBytes, "largest publish request body (413 beyond)")
	fs.IntVar(&o.maxEventBytes, "max-event-bytes", server.DefaultMaxEventBytes, "largest event, its data, id and type together (413 beyond)")
	fs.IntVar(&o.maxTopics, "max-topics", server.DefaultMaxTopics, "topic parameters one subscription may name (400 beyond)")
	fs.IntVar(&o.maxTemplateVars, "max-template-vars", server.DefaultMaxTemplateVars, "URI template variables one subscription's topic parameters may name together (400 beyond)")
	fs.IntVar(&o.maxQueueBytes, "max-queue-bytes", server.DefaultMaxQueueBytes, "bytes that may wait for one subscriber; beyond, it is cut off and resumes from the log")
	fs.DurationVar(&o.writeTimeout, "write-timeout", server.DefaultWriteTimeout, "bound on one write to a subscriber; one that stops reading is cut off after it")
	return fs
}

// checkOrigins checks a -cors-origins list: each entry an origin as a
// browser sends it (scheme://host[:port], nothing after), or * alone. An
// entry without a scheme would be accepted and never match.
func checkOrigins(list string) error {
	if list == "" {
		return nil
	}
	for _, o := range strings.Split(list, ",") {
		o = strings.TrimSpace(o)
		if o == "*" {
			continue
		}
		u, err := url.Parse(o)
		if err != nil || u.Scheme == "" || u.Host == "" || u.Opaque != "" || u.User != nil ||
			(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || strings.HasSuffix(o, "/") {
			hint := ""
			if err == nil && u.Scheme == "" && u.Host == "" {
				hint = fmt.Sprintf(" (https://%s?)", o)
			}
			return fmt.Errorf("%q is not an origin%s: want scheme://host[:port] such as https://app.example.com, or *", o, hint)
		}
		if u.Scheme != strings.ToLower(u.Scheme) || u.Host != strings.ToLower(u.Host) {
			return fmt.Errorf("%q: browsers send origins in lower case (%s://%s)", o, strings.ToLower(u.Scheme), strings.ToLower(u.Host))
		}
	}
	return nil
}

// verifier builds the verifier of role's tokens from key, and checks that
// its algorithm is alg when one is configured (MERCURE_*_JWT_ALG).
func verifier(role, key, alg string) (*auth.Verifier, error) {
	v, err := auth.NewVerifier(key)
	if err != nil {
		return nil, fmt.Errorf("-%s-jwt-key: %w", role, err)
	}
	if alg != "" && v.Algorithm() != alg {
		return nil, fmt.Errorf("-%s-jwt-alg is %s, but -%s-jwt-key is an %s key (HS256: a secret; RS256: a PEM public key or its file)", role, alg, role, v.Algorithm())
	}
	return v, nil
}

// loadCertificate loads and checks the TLS certificate and key: they must
// parse and match, and the certificate must be valid at now.
func loadCertificate(certFile, keyFile string, now time.Time) (tls.Certificate, error) {
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return cert, fmt.Errorf("-tls-cert %s, -tls-key %s: %w", certFile, keyFile, err)
	}
	leaf := cert.Leaf
	if leaf == nil {
		if leaf, err = x509.ParseCertificate(cert.Certificate[0]); err != nil {
			return cert, fmt.Errorf("-tls-cert %s: %w", certFile, err)
		}
	}
	if now.After(leaf.NotAfter) {
		return cert, fmt.Errorf("-tls-cert %s expired on %s", certFile, leaf.NotAfter.UTC().Format(time.RFC3339))
	}
	if now.Before(leaf.NotBefore) {
		return cert, fmt.Errorf("-tls-cert %s is valid only from %s", certFile, leaf.NotBefore.UTC().Format(time.RFC3339))
	}
	return cert, nil
}

func openStore(ctx context.Context, spec string, b store.Bounds, logger *slog.Logger) (store.Log, error) {
	switch {
	case spec == "memory":
		return memstore.New(b), nil
	case isRedisURL(spec):
		return redisstore.Open(ctx, spec, b, redisstore.WithLogger(logger))
	case strings.HasPrefix(spec, "bolt:"):
		path := strings.TrimPrefix(spec, "bolt:")
		if path == "" {
			return nil, errors.New("-store bolt: needs a path, as in bolt:polysse.db")
		}
		return boltstore.Open(path, b)
	}
	return nil, fmt.Errorf("unknown -store %q: want bolt:PATH, memory, or a redis:// URL", spec)
}

// redactStore hides a password in a store URL, so that logging the
// configuration does not leak it.
func redactStore(spec string) string {
	if !isRedisURL(spec) {
		return spec
	}
	u, err := url.Parse(spec)
	if err != nil {
		return "redis URL (unparsable, not shown)"
	}
	q := u.Query()
	for _, k := range []string{"password", "sentinel_password"} {
		if q.Has(k) {
			q.Set(k, "xxxxx")
		}
	}
	u.RawQuery = q.Encode()
	return u.Redacted()
}

func isRedisURL(spec string) bool {
	for _, scheme := range []string{"redis://", "rediss://", "redis-sentinel://", "rediss-sentinel://", "redis-cluster://", "rediss-cluster://", "unix://"} {
		if strings.HasPrefix(spec, scheme) {
			return true
		}
	}
	return false
}

func run(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) error {
	o, err := parseOptions(args, getenv, stderr)
	if err != nil {
		return err
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(o.logLevel)); err != nil {
		return fmt.Errorf("-log-level: %w", err)
	}
	var logHandler slog.Handler = slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level})
	if o.logFormat == "json" {
		logHandler = slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: level})
	}
	logger := slog.New(logHandler)
	if err := checkAssets(web.Dist()); err != nil {
		return fmt.Errorf("refusing to start: %w", err)
	}

	cfg := server.Config{
		AllowAnonymous:          o.allowAnonymous,
		Heartbeat:               o.heartbeat,
		Retry:                   o.retry,
		MaxSubscribers:          o.maxSubscribers,
		MaxSubscribersPerClient: o.maxPerClient,
		MaxPublishBytes:         o.maxPublishBytes,
		MaxEventBytes:           o.maxEventBytes,
		MaxTopics:               o.maxTopics,
		MaxTemplateVariables:    o.maxTemplateVars,
		MaxQueueBytes:           o.maxQueueBytes,
		WriteTimeout:            o.writeTimeout,
		Logger:                  logger,
		HubURL:                  o.hubURL,
		Subscriptions:           o.subscriptions,
	}
	if cfg.AccessTokens, err = accessVerifier(o); err != nil {
		return err
	}
	if o.corsOrigins != "" {
		for _, origin := range strings.Split(o.corsOrigins, ",") {
			cfg.CORSOrigins = append(cfg.CORSOrigins, strings.TrimSpace(origin))
		}
	}
	if o.publishOrigins != "" {
		for _, origin := range strings.Split(o.publishOrigins, ",") {
			cfg.PublishOrigins = append(cfg.PublishOrigins, strings.TrimSpace(origin))
		}
	}
	if o.publisherKey != "" {
		if cfg.PublisherKey, err = verifier("publisher", o.publisherKey, o.publisherAlg); err != nil {
			return err
		}
		logger.Info("publisher key", "kind", cfg.PublisherKey.Kind())
	}
	if o.subscriberKey != "" {
		if cfg.SubscriberKey, err = verifier("subscriber", o.subscriberKey, o.subscriberAlg); err != nil {
			return err
		}
		logger.Info("subscriber key", "kind", cfg.SubscriberKey.Kind())
	}
	// The certificate is loaded before anything listens: a bad one is an
	// error at start, not a "listening" line followed by an exit.
	var certs []tls.Certificate
	if o.tlsCert != "" {
		cert, err := loadCertificate(o.tlsCert, o.tlsKey, time.Now())
		if err != nil {
			return err
		}
		certs = append(certs, cert)
	}
	// go-redis logs every failed dial to stderr process-wide; routed through
	// slog at debug, an outage is logged once, by the store.
	redis.SetLogger(redisstore.DriverLogger(logger, slog.LevelDebug))
	bounds := store.Bounds{MaxCount: o.maxCount, MaxAge: o.maxAge, MaxBytes: o.maxBytes}
	startRegistry, err := clusterRegistry(o, &cfg, logger)
	if err != nil {
		return err
	}
	log, openErr := openStore(ctx, o.store, bounds, logger)
	if openErr != nil {
		if !retryable(o.store) {
			return openErr
		}
		log = nil // not a typed nil *redisstore.Log, which stop would close
	}

	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		if log != nil {
			_ = log.Close()
		}
		return fmt.Errorf("listen: %w", err)
	}
	// The handler is swapped once the hub exists: until then (a Redis not
	// up yet) /healthz answers, /readyz and everything else say 503.
	var handler atomic.Pointer[http.Handler]
	srv := &http.Server{
		Handler:           http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { (*handler.Load()).ServeHTTP(w, r) }),
		ReadHeaderTimeout: o.headerTimeout,
		MaxHeaderBytes:    o.maxHeaderBytes,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelDebug),
	}
	var (
		hub          *server.Hub
		msrv         *http.Server
		stopRegistry = func() {}
	)
	// start builds the hub on an open log and serves it.
	start := func(l store.Log) error {
		log = l
		cfg.Log = l
		h, err := server.New(ctx, cfg)
		if err != nil {
			return err
		}
		hub = h
		if o.metricsAddr != "" {
			mln, err := net.Listen("tcp", o.metricsAddr)
			if err != nil {
				return fmt.Errorf("listen on -metrics-addr: %w", err)
			}
			msrv = &http.Server{Handler: metricsHandler(hub, logger), ReadHeaderTimeout: o.headerTimeout, ErrorLog: srv.ErrorLog}
			go func() {
				if err := msrv.Serve(mln); err != nil && !errors.Is(err, http.ErrServerClosed) {
					logger.Error("metrics listener", "err", err)
				}
			}()
			logger.Info("metrics listening", "addr", mln.Addr().String(), "url", "http://"+displayAddr(mln.Addr())+"/metrics")
		}
		stopRegistry = startRegistry(ctx, hub)
		r := withSubscriptionsAPI(hub, routes(hub, o.demo, o.demo || o.demoPages, logger))
		handler.Store(&r)
		if o.demo {
			go demoPublisher(ctx, hub, logger)
		}
		return nil
	}
	// stop ends what start began, the log last.
	stop := func() {
		sctx, cancel := context.WithTimeout(context.Background(), o.shutdownTimeout)
		defer cancel()
		// Streams first: http.Server.Shutdown waits for handlers, and a
		// stream's handler returns only when the hub ends it.
		if hub != nil {
			if err := hub.Shutdown(sctx); err != nil {
				logger.Warn("streams still open at the shutdown bound", "err", err)
			}
		}
		if err := srv.Shutdown(sctx); err != nil {
			logger.Warn("server shutdown", "err", err)
			_ = srv.Close()
		}
		if msrv != nil {
			_ = msrv.Close()
		}
		stopRegistry()
		if hub != nil {
			hub.Close()
		}
		if log != nil {
			if err := log.Close(); err != nil {
				logger.Error("closing the replay log", "err", err)
			}
		}
	}
	opened := make(chan store.Log, 1)
	if openErr == nil {
		if err := start(log); err != nil {
			_ = ln.Close()
			stop()
			return err
		}
	} else {
		w := waitingHandler()
		handler.Store(&w)
		go func() {
			if l := retryOpen(ctx, o.store, bounds, openErr, logger); l != nil {
				opened <- l
			}
		}()
	}

	scheme := "http"
	if o.tlsCert != "" {
		scheme = "https"
		// ServeTLS negotiates HTTP/2 by ALPN: a page's streams then share
		// one connection instead of HTTP/1.1's six per host.
		srv.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12, Certificates: certs}
	}
	serveErr := make(chan error, 1)
	go func() {
		if o.tlsCert != "" {
			serveErr <- srv.ServeTLS(ln, "", "")
			return
		}
		serveErr <- srv.Serve(ln)
	}()
	logger.Info("polysse listening", "addr", ln.Addr().String(), "url", scheme+"://"+displayAddr(ln.Addr()), "store", redactStore(o.store), "demo", o.demo)

	for {
		select {
		case err := <-serveErr:
			stop()
			return fmt.Errorf("serve: %w", err)
		case l := <-opened:
			if err := start(l); err != nil {
				stop()
				return err
			}
			logger.Info("the replay log is reachable: ready", "store", redactStore(o.store))
			continue
		case <-ctx.Done():
		}
		break
	}
	logger.Info("draining")
	stop()
	select {
	case l := <-opened: // Redis came up as the hub was told to stop
		_ = l.Close()
	default:
	}
	logger.Info("stopped")
	return nil
}

// retryable reports whether a store that fails to open at start is worth
// retrying: a Redis one (it may not be up yet, as under an orchestrator
// that starts both at once), not a file or a malformed URL.
func retryable(spec string) bool {
	if !isRedisURL(spec) {
		return false
	}
	_, err := url.Parse(spec)
	return err == nil
}

// Bounds of the backoff between attempts to reach the store at start.
const (
	openRetryMin = 250 * time.Millisecond
	openRetryMax = 30 * time.Second
)

// retryOpen opens the store until it succeeds, waiting between attempts a
// time that doubles up to openRetryMax, with jitter so that many nodes
// restarted at once do not knock together. It returns nil when ctx ends.
func retryOpen(ctx context.Context, spec string, b store.Bounds, first error, logger *slog.Logger) store.Log {
	wait, err := openRetryMin, first
	for attempt := 1; ; attempt++ {
		d := wait/2 + rand.N(wait/2+1)
		logger.Warn("the replay log is not reachable; retrying, /readyz fails meanwhile",
			"store", redactStore(spec), "attempt", attempt, "retry_in", d.Round(time.Millisecond).String(), "err", err)
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
		var l store.Log
		if l, err = openStore(ctx, spec, b, logger); err == nil {
			return l
		}
		if ctx.Err() != nil {
			return nil
		}
		wait = min(2*wait, openRetryMax)
	}
}

// waitingHandler serves while the store is not reachable yet: the process
// is alive (/healthz), not ready (/readyz), and serves nothing else.
func waitingHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		switch r.URL.Path {
		case "/healthz":
			_, _ = io.WriteString(w, "ok (waiting for the replay log)\n")
		default:
			w.Header().Set("Retry-After", "5")
			http.Error(w, "not ready: the replay log is not reachable yet", http.StatusServiceUnavailable)
		}
	})
}

// displayAddr turns a wildcard listen address into one a person can open.
func displayAddr(a net.Addr) string {
	tcp, ok := a.(*net.TCPAddr)
	if !ok || !tcp.IP.IsUnspecified() {
		return a.String()
	}
	return net.JoinHostPort("localhost", fmt.Sprint(tcp.Port))
}

// metricsHandler serves the hub's and the process's figures for
// Prometheus, on -metrics-addr only: publish counters tell an observer when
// private updates happen, so they stay off the public listener.
func metricsHandler(hub *server.Hub, logger *slog.Logger) http.Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(hub, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	r := http.NewServeMux()
	r.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelWarn)}))
	return r
}

// hubIndex is what / says when the demo pages are off.
const hubIndex = `polysse hub

Subscribe and publish: /.well-known/mercure
The EventSource polyfill: /polyfill/eventsource.js
Health: /healthz, /readyz
`

// routes is the public listener. demo adds the publish form's endpoint;
// pages adds the demo pages and the status stream (-demo or -demo-pages).
func routes(hub *server.Hub, demo, pages bool, logger *slog.Logger) http.Handler {
	r := mux.NewRouter()
	r.Handle("/.well-known/mercure", hub)
	r.HandleFunc(server.MetadataPathFor("/.well-known/mercure"), hub.ServeMetadata)
	r.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = io.WriteString(w, "ok\n")
	})
	r.HandleFunc("/readyz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if err := hub.Ready(r.Context()); err != nil {
			http.Error(w, "not ready: "+err.Error(), http.StatusServiceUnavailable)
			return
		}
		_, _ = io.WriteString(w, "ready\n")
	})
	r.PathPrefix("/polyfill/").Handler(http.StripPrefix("/polyfill", assetHandler(web.Dist())))
	if demo {
		r.Handle("/demo/publish", demoPublishHandler(hub, logger)).Methods(http.MethodPost)
	}
	// Pages are read-only: a publisher pointed at / by mistake must see a
	// failure, not the demo page's 200.
	readOnly := func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method != http.MethodGet && r.Method != http.MethodHead {
				w.Header().Set("Allow", "GET, HEAD")
				http.Error(w, "method not allowed: publish with POST /.well-known/mercure", http.StatusMethodNotAllowed)
				return
			}
			h.ServeHTTP(w, r)
		})
	}
	favicon := http.FileServerFS(web.Icons())
	r.Handle("/favicon.ico", readOnly(favicon))
	r.Handle("/favicon.svg", readOnly(favicon))
	if pages {
		r.Handle("/status/events", readOnly(statusHandler(hub, time.Second)))
		r.PathPrefix("/").Handler(readOnly(http.FileServerFS(web.Demo())))
		return r
	}
	r.PathPrefix("/").Handler(readOnly(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = io.WriteString(w, hubIndex)
	})))
	return r
}
