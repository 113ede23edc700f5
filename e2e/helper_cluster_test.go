package e2e

// The rig of the scale-out tests (cluster_test.go) and of BenchmarkCluster
// (bench_cluster_test.go): polysse nodes on one redis-server behind a
// round-robin proxy, streaming subscribers, pacing publishers, and the check
// that every client holds exactly the acknowledged updates for its topics.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/polysse/polysse/client"
	"github.com/polysse/polysse/internal/launch"
	"github.com/polysse/polysse/server/store/redisstore/redistest"
	"github.com/polysse/polysse/sse"
)

// Bounds of the cluster tests.
const (
	// clusterWait bounds every wait for the cluster to recover from a fault:
	// the hub tells clients to wait 3 s before reconnecting, a node's Redis
	// reader backs off up to 5 s, and the rest is room for a loaded machine.
	clusterWait = 20 * time.Second
	// nodeDownFor is how long the proxy skips a node whose dial was refused
	// before trying it again.
	nodeDownFor = 2 * time.Second
	// endTopic carries the update every subscriber gets last: once it is
	// in, the subscriber's stream holds everything published before it.
	endTopic = "cluster/end"
	endData  = "end"
)

// A clusterNode is one polysse process of a cluster: a hub that takes its
// store and key from the caller, so that several nodes share both, and
// that a test may Kill mid-run.
type clusterNode struct {
	Name string
	*Hub
}

// startNode starts bin/polysse (built once by HubBinary) on a free loopback
// port with the given store and publisher key, anonymous subscribers
// allowed and extra flags appended, and returns once /healthz answers. The
// node gets SIGTERM when the test ends; its output goes to the log of a
// failed test.
func startNode(tb testing.TB, name, storeSpec, key string, extra ...string) *clusterNode {
	tb.Helper()
	return &clusterNode{Name: name, Hub: startOnFreePort(tb, storeSpec, key, extra...)}
}

// rrProxy is the load balancer of the tests: each new request goes to the
// next node in turn, skipping nodes whose dial was refused, and streams are
// passed through unbuffered. A stream whose node dies is aborted, as a real
// balancer does, so the client reconnects, and lands on another node.
type rrProxy struct {
	URL      string
	backends []*backend
	next     atomic.Uint64
	srv      *http.Server
	errs     *launch.Buffer // the reverse proxies' own log
}

type backend struct {
	node *clusterNode
	rp   *httputil.ReverseProxy
	// open counts the subscriptions streaming through this backend now,
	// opened those it ever answered: a test finds a node's clients with
	// them. Both count from the node's answer, so a refused attempt does
	// not count.
	open, opened atomic.Int64
	downUntil    atomic.Int64 // unix nanoseconds
}

// attemptKey carries an *attempt in a proxied request's context, so that the
// error handler can tell the proxy to try the next node.
type attemptKey struct{}

type attempt struct {
	refused bool // the node refused the connection: nothing was sent
	stream  bool // the node answered a subscription with 200
}

func startProxy(tb testing.TB, nodes []*clusterNode) *rrProxy {
	tb.Helper()
	p := &rrProxy{errs: &launch.Buffer{}}
	// No keep-alive towards the nodes: a pooled connection to a killed node
	// would fail a request after it was sent, where a fresh dial is refused
	// before, so that the request can go to the next node.
	tr := &http.Transport{
		Proxy:             nil,
		DialContext:       (&net.Dialer{Timeout: time.Second}).DialContext,
		DisableKeepAlives: true,
	}
	for i, n := range nodes {
		target, _ := url.Parse(n.URL)
		p.backends = append(p.backends, &backend{node: n, rp: &httputil.ReverseProxy{
			Rewrite: func(pr *httputil.ProxyRequest) {
				pr.SetURL(target)
				pr.SetXForwarded()
			},
			Transport:     tr,
			FlushInterval: -1, // every write of a stream goes out at once
			ErrorLog:      log.New(p.errs, "proxy "+n.Name+": ", 0),
			ModifyResponse: func(resp *http.Response) error {
				a, ok := resp.Request.Context().Value(attemptKey{}).(*attempt)
				if ok && resp.Request.Method == http.MethodGet && resp.Request.URL.Path == "/.well-known/mercure" && resp.StatusCode == http.StatusOK {
					a.stream = true
					b := p.backends[i]
					b.open.Add(1)
					b.opened.Add(1)
				}
				return nil
			},
			ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
				var op *net.OpError
				if a, ok := r.Context().Value(attemptKey{}).(*attempt); ok && errors.As(err, &op) && op.Op == "dial" {
					a.refused = true // nothing was sent or written: try another node
					return
				}
				fmt.Fprintf(p.errs, "proxy %s: %s %s: %v\n", n.Name, r.Method, r.URL.Path, err)
				w.WriteHeader(http.StatusBadGateway)
			},
		}})
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("cluster: proxy listen: %v", err)
	}
	p.URL = "http://" + ln.Addr().String()
	p.srv = &http.Server{Handler: p, ReadHeaderTimeout: 5 * time.Second, ErrorLog: log.New(p.errs, "proxy server: ", 0)}
	go p.srv.Serve(ln)
	tb.Cleanup(func() {
		// Close, not Shutdown: open streams would hold Shutdown.
		p.srv.Close()
		if tb.Failed() {
			tb.Logf("cluster: proxy log:\n%s", p.errs)
		}
	})
	return p
}

// maxProxiedBody bounds a request body the proxy buffers (to send it again
// to another node): publish forms are small.
const maxProxiedBody = 1 << 20

func (p *rrProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxProxiedBody))
	if err != nil {
		http.Error(w, "proxy: reading the body: "+err.Error(), http.StatusBadRequest)
		return
	}
	for range p.backends {
		b := p.pick()
		if b == nil {
			break
		}
		if !p.try(b, w, r, body) {
			return
		}
		b.downUntil.Store(time.Now().Add(nodeDownFor).UnixNano())
	}
	http.Error(w, "proxy: no live node", http.StatusBadGateway)
}

// try proxies r to b and reports whether b refused the connection, in which
// case nothing was written to w.
func (p *rrProxy) try(b *backend, w http.ResponseWriter, r *http.Request, body []byte) (refused bool) {
	a := &attempt{}
	req := r.Clone(context.WithValue(r.Context(), attemptKey{}, a))
	req.Body, req.ContentLength = http.NoBody, 0
	if len(body) > 0 {
		req.Body, req.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
	}
	// Deferred: ReverseProxy aborts a broken stream by panicking with
	// http.ErrAbortHandler.
	defer func() {
		if a.stream {
			b.open.Add(-1)
		}
	}()
	b.rp.ServeHTTP(w, req)
	return a.refused
}

// pick returns the next node in turn that is not known to be down, or nil.
func (p *rrProxy) pick() *backend {
	now := time.Now().UnixNano()
	for range p.backends {
		b := p.backends[(p.next.Add(1)-1)%uint64(len(p.backends))]
		if b.downUntil.Load() <= now {
			return b
		}
	}
	return nil
}

// busiest returns the backend with the most open streams.
func (p *rrProxy) busiest() *backend {
	best := p.backends[0]
	for _, b := range p.backends[1:] {
		if b.open.Load() > best.open.Load() {
			best = b
		}
	}
	return best
}

// opened returns the subscriptions the proxy has passed on so far.
func (p *rrProxy) opened() int64 {
	var n int64
	for _, b := range p.backends {
		n += b.opened.Load()
	}
	return n
}

// A cluster is a redis-server, nodes sharing it, and the proxy in front.
type cluster struct {
	Redis *redistest.Server
	Nodes []*clusterNode
	Proxy *rrProxy
	Key   string
}

// startCluster starts Redis (redistest skips the test without it, or fails
// it under CI), n nodes with nodeFlags, and the proxy.
func startCluster(t *testing.T, n int, nodeFlags ...string) *cluster {
	t.Helper()
	c := &cluster{Redis: redistest.Start(t), Key: "cluster-" + strconv.FormatInt(time.Now().UnixNano(), 36)}
	for i := range n {
		c.Nodes = append(c.Nodes, startNode(t, strconv.Itoa(i), c.Redis.URL(), c.Key, nodeFlags...))
	}
	c.Proxy = startProxy(t, c.Nodes)
	return c
}

// HubURL is the Mercure endpoint behind the proxy.
func (c *cluster) HubURL() string { return c.Proxy.URL + "/.well-known/mercure" }

// publisherClient keeps connections to the proxy alive between publishes.
var publisherClient = &http.Client{Transport: &http.Transport{
	Proxy:               nil,
	MaxIdleConnsPerHost: 16,
	DialContext:         (&net.Dialer{Timeout: time.Second}).DialContext,
}}

// publish publishes one update through the proxy and fails the test if it
// is not acknowledged.
func (c *cluster) publish(t *testing.T, data string, topics ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), PublishTimeout)
	defer cancel()
	id, err := client.Publish(ctx, publisherClient, c.HubURL(), PublisherJWT(c.Key), client.Update{Topics: topics, Data: data})
	if err != nil {
		t.Fatalf("cluster: publishing %q: %v", data, err)
	}
	return id
}

// A subscriberSpec is one Go client of a scenario: what it subscribes to,
// and which topics of an update make it one the client must receive.
type subscriberSpec struct {
	name      string
	selectors []string
	gets      []string
}

func (s subscriberSpec) wants(topics []string) bool {
	for _, t := range topics {
		if t == endTopic || slices.Contains(s.gets, t) {
			return true
		}
	}
	return false
}

// clusterSubscribers subscribe to different mixes of the topics that
// clusterTopics deals out, by exact topic, URI template and wildcard.
var clusterSubscribers = []subscriberSpec{
	{"a", []string{"cluster/a"}, []string{"cluster/a"}},
	{"b", []string{"cluster/b"}, []string{"cluster/b"}},
	{"c", []string{"cluster/c"}, []string{"cluster/c"}},
	{"a+b", []string{"cluster/a", "cluster/b"}, []string{"cluster/a", "cluster/b"}},
	{"b+c", []string{"cluster/b", "cluster/c"}, []string{"cluster/b", "cluster/c"}},
	{"template", []string{"cluster/{x}"}, []string{"cluster/a", "cluster/b", "cluster/c"}},
	{"wildcard", []string{"*"}, []string{"cluster/a", "cluster/b", "cluster/c"}},
}

// clusterTopics are the topics of the published updates, in turn; an update
// with two topics must reach a client subscribed to both once.
var clusterTopics = [][]string{{"cluster/a"}, {"cluster/b"}, {"cluster/c"}, {"cluster/c", "cluster/a"}}

// A subscriber is a running Go client from package client, recording what
// it receives.
type subscriber struct {
	subscriberSpec

	mu     sync.Mutex
	events []sse.Event
	opens  int
	beats  []time.Time // heartbeat comments, when they were read
	err    error       // what ended the stream, if it ended
}

func (s *subscriber) received() []sse.Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.events)
}

func (s *subscriber) openCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.opens
}

func (s *subscriber) gotEnd() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.events) > 0 && s.events[len(s.events)-1].Data == endData
}

// beatsBetween counts the heartbeats read after from and before to.
func (s *subscriber) beatsBetween(from, to time.Time) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, at := range s.beats {
		if at.After(from) && at.Before(to) {
			n++
		}
	}
	return n
}

// subscriberTransport is shared by the subscribers of every test; streams
// are long, so the response-header bound is the only timeout.
var subscriberTransport = &http.Transport{
	Proxy:                 nil,
	DialContext:           (&net.Dialer{Timeout: time.Second}).DialContext,
	ResponseHeaderTimeout: 5 * time.Second,
}

// subscribe starts one client per spec on hubURL, resuming after lastID
// when it is not empty, and returns once every stream is open (the hub
// registers a subscriber before it answers, so anything published from then
// on is the client's).
func subscribe(t *testing.T, hubURL, lastID string, specs []subscriberSpec) []*subscriber {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	t.Cleanup(func() {
		cancel()
		done := make(chan struct{})
		go func() { wg.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Errorf("cluster: subscribers still running 5s after cancel")
		}
	})
	var subs []*subscriber
	for _, spec := range specs {
		s := &subscriber{subscriberSpec: spec}
		subs = append(subs, s)
		u, _ := url.Parse(hubURL)
		q := u.Query()
		for _, sel := range append(slices.Clone(spec.selectors), endTopic) {
			q.Add("topic", sel)
		}
		u.RawQuery = q.Encode()
		c := &client.Client{
			HTTPClient: &http.Client{Transport: beatCounter{s}},
			OnOpen: func(*http.Response) {
				s.mu.Lock()
				s.opens++
				s.mu.Unlock()
			},
		}
		stream := c.Open(ctx, u.String(), lastID)
		wg.Go(func() {
			defer stream.Close()
			for {
				ev, err := stream.Next()
				s.mu.Lock()
				if err != nil {
					s.err = err
					s.mu.Unlock()
					return
				}
				s.events = append(s.events, ev)
				s.mu.Unlock()
			}
		})
	}
	waitUntil(t, 10*time.Second, "every subscriber's stream to open", func() bool {
		for _, s := range subs {
			if s.openCount() == 0 {
				return false
			}
		}
		return true
	})
	return subs
}

// beatCounter is the subscribers' RoundTripper: it counts the heartbeat
// comments (a line that is ":" alone) in the response, which the client's
// decoder drops, so that a test can see a stream stay alive while nothing
// is published.
type beatCounter struct{ s *subscriber }

func (bc beatCounter) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := subscriberTransport.RoundTrip(r)
	if err == nil {
		resp.Body = &beatBody{ReadCloser: resp.Body, s: bc.s, lineStart: true}
	}
	return resp, err
}

type beatBody struct {
	io.ReadCloser
	s         *subscriber
	lineStart bool // the next byte starts a line
	colonOnly bool // the line so far is ":"
}

func (b *beatBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	beats := 0
	for _, c := range p[:n] {
		if c == '\n' {
			if b.colonOnly {
				beats++
			}
			b.lineStart, b.colonOnly = true, false
			continue
		}
		b.colonOnly = b.lineStart && c == ':'
		b.lineStart = false
	}
	if beats > 0 {
		now := time.Now()
		b.s.mu.Lock()
		for range beats {
			b.s.beats = append(b.s.beats, now)
		}
		b.s.mu.Unlock()
	}
	return n, err
}

// A publication is one publish request and what came of it.
type publication struct {
	data   string
	topics []string
	id     string // the event id the hub answered; empty when not acknowledged
	status int    // the HTTP status; 0 when no answer came
}

// publishers publish numbered updates through the proxy until stopped, each
// waiting for its answer before the next (as a real publisher does), so the
// log's order is the acknowledgement order.
type publishers struct {
	stop  context.CancelFunc
	wg    sync.WaitGroup
	acked atomic.Int64

	mu  sync.Mutex
	log []publication
}

func startPublishers(t *testing.T, c *cluster, n int, pace time.Duration) *publishers {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	p := &publishers{stop: cancel}
	// Before the nodes stop (cleanups run last first): each publish in
	// flight ends within PublishTimeout.
	t.Cleanup(func() { cancel(); p.wg.Wait() })
	tok := PublisherJWT(c.Key)
	for i := range n {
		p.wg.Go(func() {
			for seq := 0; ctx.Err() == nil; seq++ {
				pub := publication{data: fmt.Sprintf("p%d-%d", i, seq), topics: clusterTopics[(i+seq)%len(clusterTopics)]}
				// Not ctx: stopping must not turn a publish in flight into
				// one whose fate is unknown.
				pctx, pcancel := context.WithTimeout(context.Background(), PublishTimeout)
				id, err := client.Publish(pctx, publisherClient, c.HubURL(), tok, client.Update{Topics: pub.topics, Data: pub.data})
				pcancel()
				var se *client.StatusError
				switch {
				case err == nil:
					pub.id, pub.status = id, http.StatusOK
					p.acked.Add(1)
				case errors.As(err, &se):
					pub.status = se.StatusCode
				}
				p.mu.Lock()
				p.log = append(p.log, pub)
				p.mu.Unlock()
				select {
				case <-ctx.Done():
				case <-time.After(pace):
				}
			}
		})
	}
	return p
}

// finish stops the publishers and returns every publication.
func (p *publishers) finish(t *testing.T) []publication {
	t.Helper()
	p.stop()
	done := make(chan struct{})
	go func() { p.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(2 * PublishTimeout):
		t.Fatalf("cluster: publishers still running %v after stop", 2*PublishTimeout)
	}
	return p.publications()
}

func (p *publishers) publications() []publication {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.log)
}

// failures counts the publications not acknowledged, by status.
func (p *publishers) failures() map[int]int {
	m := map[int]int{}
	for _, pub := range p.publications() {
		if pub.id == "" {
			m[pub.status]++
		}
	}
	return m
}

func (p *publishers) waitAcked(t *testing.T, n int64, d time.Duration) {
	t.Helper()
	waitUntil(t, d, fmt.Sprintf("%d acknowledged publishes (failures by status: %v)", n, p.failures()),
		func() bool { return p.acked.Load() >= n })
}

// waitUntil polls cond until it holds, failing the test after d.
func waitUntil(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("cluster: waited %v for %s", d, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// finishScenario stops the publishers, publishes the end update, waits for
// every subscriber to receive it and checks what each received.
func finishScenario(t *testing.T, c *cluster, pubs *publishers, subs []*subscriber) []publication {
	t.Helper()
	log := pubs.finish(t)
	log = append(log, publication{data: endData, topics: []string{endTopic}, id: c.publish(t, endData, endTopic), status: http.StatusOK})
	waitUntil(t, clusterWait, "every subscriber to receive the end update", func() bool {
		for _, s := range subs {
			if !s.gotEnd() {
				return false
			}
		}
		return true
	})
	// The auditor replays the whole log, through the proxy too: what it
	// gets is what Redis stored, acknowledged or not, and every other
	// subscriber must agree with it.
	auditor := subscribe(t, c.HubURL(), "earliest", []subscriberSpec{{name: "auditor (replay from earliest)", selectors: []string{"*"},
		gets: []string{"cluster/a", "cluster/b", "cluster/c"}}})
	waitUntil(t, clusterWait, "the auditor to replay the log", auditor[0].gotEnd)
	checkDelivery(t, append(subs, auditor...), log)
	return log
}

// redisID is a Redis stream entry id, "ms-seq": the event ids of a hub on
// Redis, and their order.
type redisID struct{ ms, seq uint64 }

func parseRedisID(s string) (redisID, bool) {
	ms, seq, ok := strings.Cut(s, "-")
	if !ok {
		return redisID{}, false
	}
	a, err1 := strconv.ParseUint(ms, 10, 64)
	b, err2 := strconv.ParseUint(seq, 10, 64)
	return redisID{a, b}, err1 == nil && err2 == nil
}

func (a redisID) less(b redisID) bool { return a.ms < b.ms || a.ms == b.ms && a.seq < b.seq }

// checkDelivery checks that each subscriber received exactly the
// acknowledged publications for its topics, in the log's order, once each.
// An update whose publish was not acknowledged (a 503, or an answer lost
// with a killed node) may have been stored anyway: it may arrive, once and
// in order, and then at every subscriber that wants it (with an auditor
// among the subscribers, exactly when it was stored).
func checkDelivery(t *testing.T, subs []*subscriber, log []publication) {
	t.Helper()
	byData := map[string]publication{}
	for _, pub := range log {
		byData[pub.data] = pub
	}
	unacked := map[string][]string{} // data -> subscribers that got it
	for _, s := range subs {
		var want, got []string
		for _, pub := range log {
			if pub.id != "" && s.wants(pub.topics) {
				want = append(want, pub.data)
			}
		}
		slices.SortFunc(want, func(a, b string) int {
			x, _ := parseRedisID(byData[a].id)
			y, _ := parseRedisID(byData[b].id)
			switch {
			case x.less(y):
				return -1
			case y.less(x):
				return 1
			}
			return 0
		})
		var prev redisID
		seen := map[string]bool{}
		var problems []string
		for i, ev := range s.received() {
			pub, known := byData[ev.Data]
			id, isRedis := parseRedisID(ev.ID)
			switch {
			case ev.Type != "message":
				problems = append(problems, fmt.Sprintf("#%d: an event of type %q (%s)", i, ev.Type, ev.Data))
				continue
			case !known:
				problems = append(problems, fmt.Sprintf("#%d: never published: %q", i, ev.Data))
				continue
			case seen[ev.Data]:
				problems = append(problems, fmt.Sprintf("#%d: repeated: %s", i, ev.Data))
				continue
			case !isRedis:
				problems = append(problems, fmt.Sprintf("#%d: id %q is no Redis stream id", i, ev.ID))
			case i > 0 && !prev.less(id):
				problems = append(problems, fmt.Sprintf("#%d: out of order: %s (%s) after %d-%d", i, ev.Data, ev.ID, prev.ms, prev.seq))
			case !s.wants(pub.topics):
				problems = append(problems, fmt.Sprintf("#%d: %s has topics %v, not subscribed", i, ev.Data, pub.topics))
			case pub.id != "" && pub.id != ev.ID:
				problems = append(problems, fmt.Sprintf("#%d: %s has id %s, its publish answered %s", i, ev.Data, ev.ID, pub.id))
			}
			seen[ev.Data], prev = true, id
			if pub.id == "" {
				unacked[ev.Data] = append(unacked[ev.Data], s.name)
			} else {
				got = append(got, ev.Data)
			}
		}
		if !slices.Equal(got, want) {
			var missing []string
			for _, d := range want {
				if !seen[d] {
					missing = append(missing, d)
				}
			}
			problems = append(problems, fmt.Sprintf("acknowledged updates received (%d) differ from those published (%d); missing: %v",
				len(got), len(want), firstN(missing, 10)))
		}
		if len(problems) > 0 {
			t.Errorf("subscriber %s (%v): %d problem(s):\n  %s", s.name, s.selectors, len(problems), strings.Join(firstN(problems, 10), "\n  "))
		}
	}
	for data, got := range unacked {
		for _, s := range subs {
			if s.wants(byData[data].topics) && !slices.Contains(got, s.name) {
				t.Errorf("unacknowledged update %s reached %v but not subscriber %s, which wants it", data, got, s.name)
			}
		}
	}
	if len(unacked) > 0 {
		t.Logf("%d unacknowledged update(s) were stored anyway and delivered everywhere: %v", len(unacked), firstN(sortedKeys(unacked), 10))
	}
}

func firstN[T any](s []T, n int) []T { return s[:min(n, len(s))] }

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
