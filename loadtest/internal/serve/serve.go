// Package serve is what every server under test shares: its flags, the
// token check of the publish endpoint for peers that lack one, and running
// an http.Handler on loopback until SIGTERM, with optional profiles.
//
// Every server under test answers the same two requests, so that the load
// generator treats them alike:
//
//	GET  <subscribe path>?<topic parameter>=T   an event stream of topic T
//	POST /.well-known/mercure                   form topic=T&data=D with
//	                                            Authorization: Bearer JWT
//	                                            (mercure.publish claim)
package serve

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	_ "net/http/pprof" // on -pprof only: served on its own listener
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Flags are the flags every server under test takes.
type Flags struct {
	Addr       string
	Key        string
	History    bool
	HistoryDir string
	CPUProfile string
	MemProfile string
	PProf      string
}

// Parse parses the common flags (and any the caller defined before).
func Parse() *Flags {
	f := &Flags{}
	flag.StringVar(&f.Addr, "addr", "127.0.0.1:0", "loopback address to listen on")
	flag.StringVar(&f.Key, "key", "loadtest-key", "HS256 secret of publisher tokens")
	flag.BoolVar(&f.History, "history", false, "keep a replay history (the resume scenario)")
	flag.StringVar(&f.HistoryDir, "history-dir", os.TempDir(), "folder for a history file, when the server keeps one in a file")
	flag.StringVar(&f.CPUProfile, "cpuprofile", "", "write a CPU profile of the whole run to this file")
	flag.StringVar(&f.MemProfile, "memprofile", "", "write a heap profile at exit to this file")
	flag.StringVar(&f.PProf, "pprof", "", "serve net/http/pprof on this loopback address")
	flag.Parse()
	return f
}

// Run serves h on f.Addr until SIGTERM or SIGINT, then calls stop. It
// prints "listening ADDR" once the listener is open.
func Run(f *Flags, h http.Handler, stop func(context.Context)) {
	host, _, err := net.SplitHostPort(f.Addr)
	if err != nil || !net.ParseIP(host).IsLoopback() {
		log.Fatalf("-addr %q: loopback addresses only", f.Addr)
	}
	if f.CPUProfile != "" {
		out, err := os.Create(f.CPUProfile)
		if err != nil {
			log.Fatal(err)
		}
		if err := pprof.StartCPUProfile(out); err != nil {
			log.Fatal(err)
		}
		defer func() { pprof.StopCPUProfile(); out.Close() }()
	}
	if f.PProf != "" {
		go func() { log.Println(http.ListenAndServe(f.PProf, nil)) }()
	}
	ln, err := net.Listen("tcp", f.Addr)
	if err != nil {
		log.Fatal(err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Fatal(err)
		}
	}()
	fmt.Printf("listening %s\n", ln.Addr())
	ctx, cancel := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer cancel()
	<-ctx.Done()
	sctx, scancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer scancel()
	if stop != nil {
		stop(sctx)
	}
	_ = srv.Close()
	if f.MemProfile != "" {
		runtime.GC()
		if out, err := os.Create(f.MemProfile); err == nil {
			_ = pprof.WriteHeapProfile(out)
			out.Close()
		}
	}
}

// PublisherCheck verifies a publisher's HS256 token as a Mercure hub
// would: a valid signature and a mercure.publish claim. It is what the
// peers that have no publish endpoint of their own get in front of their
// Publish call. Every request is verified: the peers have no token cache.
type PublisherCheck struct{ key []byte }

// NewPublisherCheck returns a check for tokens signed with key.
func NewPublisherCheck(key string) *PublisherCheck { return &PublisherCheck{key: []byte(key)} }

// Allow reports whether r carries a valid publisher token.
func (c *PublisherCheck) Allow(r *http.Request) bool {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		return false
	}
	claims := jwt.MapClaims{}
	t, err := jwt.ParseWithClaims(tok, claims, func(*jwt.Token) (any, error) { return c.key, nil },
		jwt.WithValidMethods([]string{"HS256"}))
	if err != nil || !t.Valid {
		return false
	}
	m, ok := claims["mercure"].(map[string]any)
	if !ok {
		return false
	}
	_, ok = m["publish"]
	return ok
}
