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
// POLYSSE_CORS_ORIGINS); a flag on the command line wins.
package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strings"
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
		if !errors.Is(err, errUsage) {
			fmt.Fprintln(os.Stderr, "polysse:", err)
		}
		os.Exit(2)
	}
}

// errUsage marks an error the flag package has already reported, with the
// usage, so main does not print it twice.
var errUsage = errors.New("usage")

const overview = `polysse — Server-Sent Events for every browser, Mercure-compatible.

Usage:
  polysse [serve] [flags]   run the hub (the default command)
  polysse publish [flags]   publish one update to a hub
  polysse token [flags]     mint a publisher or subscriber JWT for development
  polysse healthcheck       exit 0 when a hub answers /healthz (for images without a shell)
  polysse version           print the version and the commit it was built from (also -version)

Run 'polysse COMMAND -h' for a command's flags. Every flag can also be set
from the environment: POLYSSE_ and the flag name in capitals, dashes as
underscores (POLYSSE_PUBLISHER_JWT_KEY).
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
	case "version":
		fmt.Fprintln(stdout, buildVersion())
		return nil
	case "help":
		fmt.Fprint(stdout, overview)
		return nil
	}
	fmt.Fprintf(stderr, "polysse: unknown command %q\n\n%s", cmd, overview)
	return errUsage
}

// newFlagSet returns a flag set that reports its own errors with a usage
// line for the command.
func newFlagSet(name, synopsis string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("polysse "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: polysse %s [flags]\n\n%s\n\nFlags:\n", name, synopsis)
		fs.PrintDefaults()
	}
	return fs
}

// parseFlags parses args, then fills the flags not given from POLYSSE_*
// environment variables.
func parseFlags(fs *flag.FlagSet, args []string, getenv func(string) string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(fs.Output(), "unexpected argument %q\n", fs.Arg(0))
		fs.Usage()
		return errUsage
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	var envErr error
	fs.VisitAll(func(f *flag.Flag) {
		env := "POLYSSE_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		if v := getenv(env); v != "" && !set[f.Name] && envErr == nil {
			if err := f.Value.Set(v); err != nil {
				envErr = fmt.Errorf("%s: %w", env, err)
			}
		}
	})
	return envErr
}

// options are the binary's settings, from flags and the environment.
type options struct {
	addr            string
	store           string
	publisherKey    string
	subscriberKey   string
	allowAnonymous  bool
	corsOrigins     string
	heartbeat       time.Duration
	retry           time.Duration
	maxSubscribers  int
	demo            bool
	demoPages       bool
	metricsAddr     string
	shutdownTimeout time.Duration
	maxCount        int
	maxAge          time.Duration
	logLevel        string
	tlsCert, tlsKey string
	headerTimeout   time.Duration
	maxHeaderBytes  int
	maxPublishBytes int64
	maxEventBytes   int
	maxTopics       int
	maxQueueBytes   int
	writeTimeout    time.Duration
}

func parseOptions(args []string, getenv func(string) string, stderr io.Writer) (*options, error) {
	o := &options{}
	fs := newFlagSet("serve", "Runs the hub: subscriptions and publishes at /.well-known/mercure, the polyfill at\n/polyfill/, /healthz and /readyz; the demo pages at / with -demo or -demo-pages; /metrics\non -metrics-addr.", stderr)
	fs.StringVar(&o.addr, "addr", ":8080", "address to listen on")
	fs.StringVar(&o.store, "store", "bolt:polysse.db", "replay log: bolt:PATH (a file that survives restarts), memory, or redis://host:port/db\n(also rediss://, redis-sentinel://h1,h2/master, redis-cluster://h1,h2) to share one history across nodes")
	fs.StringVar(&o.publisherKey, "publisher-jwt-key", "", "HS256 secret, or a PEM file for RS256, that verifies publishers' tokens (no key: HTTP publishing refused)")
	fs.StringVar(&o.subscriberKey, "subscriber-jwt-key", "", "HS256 secret, or a PEM file for RS256, that verifies subscribers' tokens")
	fs.BoolVar(&o.allowAnonymous, "allow-anonymous", false, "let subscribers without a token receive public updates")
	fs.StringVar(&o.corsOrigins, "cors-origins", "", "comma-separated origins granted CORS with credentials; * grants all, without credentials")
	fs.DurationVar(&o.heartbeat, "heartbeat", server.DefaultHeartbeat, "idle time before a heartbeat comment keeps a stream open")
	fs.DurationVar(&o.retry, "retry", server.DefaultRetry, "reconnection time sent to clients at the start of every stream")
	fs.IntVar(&o.maxSubscribers, "max-subscribers", server.DefaultMaxSubscribers, "subscriptions open at once; beyond, 503 with Retry-After")
	fs.BoolVar(&o.demo, "demo", false, "run a demo publisher that posts to demo/* topics every second, enable the demo publish form\n(demo/* topics, no token) and serve the demo pages: for a person's own machine")
	fs.BoolVar(&o.demoPages, "demo-pages", false, "serve the demo pages, /status.html and its event stream of the hub's counters (implied by -demo)")
	fs.StringVar(&o.metricsAddr, "metrics-addr", "", "address of a listener of its own for /metrics (Prometheus), such as 127.0.0.1:9090; none when empty.\nKeep it off the public network: the counters tell when updates are published")
	fs.DurationVar(&o.shutdownTimeout, "shutdown-timeout", 10*time.Second, "bound on draining streams and closing the log at SIGTERM")
	fs.IntVar(&o.maxCount, "log-max-count", store.DefaultMaxCount, "updates the replay log keeps at most")
	fs.DurationVar(&o.maxAge, "log-max-age", store.DefaultMaxAge, "age after which the replay log drops an update")
	fs.StringVar(&o.logLevel, "log-level", "info", "debug, info, warn or error")
	fs.StringVar(&o.tlsCert, "tls-cert", "", "PEM certificate file: serve HTTPS, with HTTP/2 so a page's streams share one connection")
	fs.StringVar(&o.tlsKey, "tls-key", "", "PEM private key file for -tls-cert")
	fs.DurationVar(&o.headerTimeout, "read-header-timeout", 10*time.Second, "time a client has to send its request headers (slow-header clients are cut off)")
	fs.IntVar(&o.maxHeaderBytes, "max-header-bytes", 64<<10, "largest request header block accepted (431 beyond)")
	fs.Int64Var(&o.maxPublishBytes, "max-publish-bytes", server.DefaultMaxPublishBytes, "largest publish request body (413 beyond)")
	fs.IntVar(&o.maxEventBytes, "max-event-bytes", server.DefaultMaxEventBytes, "largest event, its data, id and type together (413 beyond)")
	fs.IntVar(&o.maxTopics, "max-topics", server.DefaultMaxTopics, "topic parameters one subscription may name (400 beyond)")
	fs.IntVar(&o.maxQueueBytes, "max-queue-bytes", server.DefaultMaxQueueBytes, "bytes that may wait for one subscriber; beyond, it is cut off and resumes from the log")
	fs.DurationVar(&o.writeTimeout, "write-timeout", server.DefaultWriteTimeout, "bound on one write to a subscriber; one that stops reading is cut off after it")
	if err := parseFlags(fs, args, getenv); err != nil {
		return nil, err
	}
	if (o.tlsCert == "") != (o.tlsKey == "") {
		return nil, errors.New("-tls-cert and -tls-key go together")
	}
	return o, nil
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
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	if err := checkAssets(web.Dist()); err != nil {
		return fmt.Errorf("refusing to start: %w", err)
	}

	cfg := server.Config{
		AllowAnonymous:  o.allowAnonymous,
		Heartbeat:       o.heartbeat,
		Retry:           o.retry,
		MaxSubscribers:  o.maxSubscribers,
		MaxPublishBytes: o.maxPublishBytes,
		MaxEventBytes:   o.maxEventBytes,
		MaxTopics:       o.maxTopics,
		MaxQueueBytes:   o.maxQueueBytes,
		WriteTimeout:    o.writeTimeout,
		Logger:          logger,
	}
	if o.corsOrigins != "" {
		for _, origin := range strings.Split(o.corsOrigins, ",") {
			cfg.CORSOrigins = append(cfg.CORSOrigins, strings.TrimSpace(origin))
		}
	}
	if o.publisherKey != "" {
		if cfg.PublisherKey, err = auth.NewVerifier(o.publisherKey); err != nil {
			return fmt.Errorf("-publisher-jwt-key: %w", err)
		}
	}
	if o.subscriberKey != "" {
		if cfg.SubscriberKey, err = auth.NewVerifier(o.subscriberKey); err != nil {
			return fmt.Errorf("-subscriber-jwt-key: %w", err)
		}
	}
	// go-redis logs every failed dial to stderr process-wide; routed through
	// slog at debug, an outage is logged once, by the store.
	redis.SetLogger(redisstore.DriverLogger(logger, slog.LevelDebug))
	log, err := openStore(ctx, o.store, store.Bounds{MaxCount: o.maxCount, MaxAge: o.maxAge}, logger)
	if err != nil {
		return err
	}
	defer func() {
		if err := log.Close(); err != nil {
			logger.Error("closing the replay log", "err", err)
		}
	}()
	cfg.Log = log
	hub, err := server.New(ctx, cfg)
	if err != nil {
		return err
	}
	defer hub.Close()

	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	if o.metricsAddr != "" {
		mln, err := net.Listen("tcp", o.metricsAddr)
		if err != nil {
			_ = ln.Close()
			return fmt.Errorf("listen on -metrics-addr: %w", err)
		}
		msrv := &http.Server{Handler: metricsHandler(hub, logger), ReadHeaderTimeout: o.headerTimeout, ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelDebug)}
		go func() {
			if err := msrv.Serve(mln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				logger.Error("metrics listener", "err", err)
			}
		}()
		defer msrv.Close()
		logger.Info("metrics listening", "addr", mln.Addr().String(), "url", "http://"+displayAddr(mln.Addr())+"/metrics")
	}
	srv := &http.Server{
		Handler:           routes(hub, o.demo, o.demo || o.demoPages, logger),
		ReadHeaderTimeout: o.headerTimeout,
		MaxHeaderBytes:    o.maxHeaderBytes,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelDebug),
	}
	scheme := "http"
	if o.tlsCert != "" {
		scheme = "https"
		// ServeTLS negotiates HTTP/2 by ALPN: a page's streams then share
		// one connection instead of HTTP/1.1's six per host.
		srv.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	serveErr := make(chan error, 1)
	go func() {
		if o.tlsCert != "" {
			serveErr <- srv.ServeTLS(ln, o.tlsCert, o.tlsKey)
			return
		}
		serveErr <- srv.Serve(ln)
	}()
	logger.Info("polysse listening", "addr", ln.Addr().String(), "url", scheme+"://"+displayAddr(ln.Addr()), "store", redactStore(o.store), "demo", o.demo)

	if o.demo {
		go demoPublisher(ctx, hub, logger)
	}
	select {
	case err := <-serveErr:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	logger.Info("draining")
	sctx, cancel := context.WithTimeout(context.Background(), o.shutdownTimeout)
	defer cancel()
	// Streams first: http.Server.Shutdown waits for handlers, and a stream's
	// handler returns only when the hub ends it.
	if err := hub.Shutdown(sctx); err != nil {
		logger.Warn("streams still open at the shutdown bound", "err", err)
	}
	if err := srv.Shutdown(sctx); err != nil {
		logger.Warn("server shutdown", "err", err)
		_ = srv.Close()
	}
	logger.Info("stopped")
	return nil
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
