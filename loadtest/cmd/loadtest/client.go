package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/polysse/polysse/sse"
)

// sourceAddrs is how many 127.0.0.x source addresses subscribers are spread
// over (127.0.0.2 on), so that ephemeral ports never run out.
const sourceAddrs = 8

// payloadSize is the size of a measured event's data.
const payloadSize = 64

// payload makes the data of event seq: its sequence number and the time
// it was published, padded to payloadSize bytes.
func payload(seq int, sent time.Time) string {
	s := fmt.Sprintf("s=%08d t=%019d ", seq, sent.UnixNano())
	return s + strings.Repeat("x", payloadSize-len(s))
}

// parsePayload reads what payload wrote; ok is false for other events.
func parsePayload(data string) (seq int, sent int64, ok bool) {
	if len(data) < 32 || !strings.HasPrefix(data, "s=") {
		return 0, 0, false
	}
	n, err1 := strconv.Atoi(data[2:10])
	t, err2 := strconv.ParseInt(data[13:32], 10, 64)
	return n, t, err1 == nil && err2 == nil
}

// group is a set of subscribers of one scenario, all on one topic, and
// what they received.
type group struct {
	addr   string // the server's host:port
	path   string // subscribe path and query
	events int    // sequence numbers tracked: 0..events-1

	mu   sync.Mutex
	subs []*sub

	heads     atomic.Int64 // subscribers whose response head arrived (200)
	failed    atomic.Int64 // subscribers refused or failed before the head
	ended     atomic.Int64 // streams ended by the server after their head
	delivered atomic.Int64 // distinct (subscriber, seq) receptions
	repeated  atomic.Int64 // receptions of a seq the subscriber had already
	complete  atomic.Int64 // subscribers that have every tracked seq
	total     atomic.Int64 // subscribers opened
	doneAt    atomic.Int64 // unix ns when the last subscriber completed
	firstAt   atomic.Int64 // unix ns of the first tracked reception
	confirmed [8]atomic.Int64

	latency bool // record publish-to-receive times
	// reconnect and resumeID make subscribers resume as EventSource does
	// (see sub.reconnect), starting from resumeID.
	reconnect bool
	resumeID  string
	floor     int // seqs below it were received before: they count as repeated
	want      int // distinct seqs a subscriber needs to be complete
}

// sub is one subscriber connection, read by a goroutine of its own with a
// small buffer and the sse.Decoder.
type sub struct {
	g     *group
	conn  net.Conn
	phase int32 // the latest confirm phase seen
	seen  []uint64
	count int
	lat   []int32 // microseconds, when recording latency
	ids   []string
	keep  bool // keep the ids of seq events (the resume scenario)
	done  chan struct{}
	// reconnect makes the subscriber behave as EventSource does when its
	// stream ends before it has every event: connect again at once with
	// the last event id it received.
	reconnect  bool
	lastID     string
	reconnects int
	dialer     *net.Dialer
}

func newGroup(addr, path string, events int) *group {
	return &group{addr: addr, path: path, events: events, want: events}
}

var dialer sync.Map // source index -> *net.Dialer

func dialerFor(i int) *net.Dialer {
	k := i % sourceAddrs
	if d, ok := dialer.Load(k); ok {
		return d.(*net.Dialer)
	}
	d := &net.Dialer{
		Timeout:   10 * time.Second,
		LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, byte(2+k))},
	}
	dialer.Store(k, d)
	return d
}

// open opens n more subscribers, at most par connecting at a time; onEach
// is called after each one's request is sent.
func (g *group) open(n, par int, header string, onEach func(total int)) error {
	sem := make(chan struct{}, par)
	var firstErr atomic.Value
	var wg sync.WaitGroup
	for range n {
		sem <- struct{}{}
		g.mu.Lock()
		i := len(g.subs)
		s := &sub{g: g, done: make(chan struct{}), reconnect: g.reconnect, lastID: g.resumeID}
		if g.events > 0 {
			s.seen = make([]uint64, (g.events+63)/64)
		}
		g.subs = append(g.subs, s)
		g.mu.Unlock()
		g.total.Add(1)
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := s.connect(dialerFor(i), header)
			<-sem
			if err != nil {
				g.failed.Add(1)
				firstErr.CompareAndSwap(nil, err)
				close(s.done)
				return
			}
			go s.read()
		}()
		if onEach != nil {
			onEach(i + 1)
		}
	}
	wg.Wait()
	if err, ok := firstErr.Load().(error); ok {
		return fmt.Errorf("%d of %d subscribers failed to connect; first: %w", g.failed.Load(), n, err)
	}
	return nil
}

func (s *sub) connect(d *net.Dialer, header string) error {
	s.dialer = d
	conn, err := d.Dial("tcp", s.g.addr)
	if err != nil {
		return err
	}
	s.conn = conn
	req := "GET " + s.g.path + " HTTP/1.1\r\nHost: " + s.g.addr + "\r\nAccept: text/event-stream\r\nCache-Control: no-cache\r\n" + header + "\r\n"
	if _, err := io.WriteString(conn, req); err != nil {
		conn.Close()
		return err
	}
	return nil
}

func (s *sub) read() {
	defer close(s.done)
	g := s.g
	buf := make([]byte, 4096)
	for {
		br := bufio.NewReaderSize(s.conn, 4096)
		res, err := http.ReadResponse(br, nil)
		if err != nil || res.StatusCode != http.StatusOK {
			g.failed.Add(1)
			return
		}
		g.heads.Add(1)
		dec := sse.NewDecoder(sse.Limits{}, s.event, nil)
		for {
			n, err := res.Body.Read(buf)
			if n > 0 {
				if _, derr := dec.Write(buf[:n]); derr != nil {
					break
				}
			}
			if err != nil {
				break
			}
		}
		g.ended.Add(1)
		s.conn.Close()
		if !s.reconnect || s.count >= g.want || s.reconnects >= 1000 {
			return
		}
		s.reconnects++
		if err := s.connect(s.dialer, "Last-Event-ID: "+s.lastID+"\r\n"); err != nil {
			return
		}
	}
}

func (s *sub) event(ev sse.Event) {
	g := s.g
	if c, ok := strings.CutPrefix(ev.Data, "c="); ok {
		p, _ := strconv.Atoi(c)
		for ph := int(s.phase) + 1; ph <= p && ph < len(g.confirmed); ph++ {
			g.confirmed[ph].Add(1)
		}
		if int32(p) > s.phase {
			s.phase = int32(p)
		}
		return
	}
	seq, sent, ok := parsePayload(ev.Data)
	if !ok || seq >= g.events {
		return
	}
	if seq < g.floor {
		g.repeated.Add(1)
		return
	}
	w, bit := seq/64, uint64(1)<<(seq%64)
	if s.seen[w]&bit != 0 {
		g.repeated.Add(1)
		return
	}
	s.seen[w] |= bit
	s.lastID = ev.ID
	g.firstAt.CompareAndSwap(0, time.Now().UnixNano())
	if s.keep {
		s.ids = append(s.ids, ev.ID)
	}
	if g.latency {
		s.lat = append(s.lat, int32(max(0, time.Now().UnixNano()-sent)/1000))
	}
	g.delivered.Add(1)
	s.count++
	if s.count == g.want {
		if g.complete.Add(1) == g.total.Load() {
			g.doneAt.Store(time.Now().UnixNano())
		}
	}
}

// missing counts, per subscriber, the tracked seqs in [from, to) it lacks.
func (g *group) missing(from, to int) (total, worst, subsMissing int) {
	for _, s := range g.subs {
		m := 0
		if s.seen != nil {
			for q := from; q < to; q++ {
				if s.seen[q/64]&(1<<(q%64)) == 0 {
					m++
				}
			}
		} else {
			m = to - from
		}
		total += m
		worst = max(worst, m)
		if m > 0 {
			subsMissing++
		}
	}
	return
}

func (g *group) close() {
	g.mu.Lock()
	subs := g.subs
	g.mu.Unlock()
	for _, s := range subs {
		if s.conn != nil {
			s.conn.Close()
		}
	}
	for _, s := range subs {
		select {
		case <-s.done:
		case <-time.After(5 * time.Second):
		}
	}
}

// publisher posts updates with a token over keep-alive connections.
type publisher struct {
	url    string
	token  string
	client *http.Client
}

func newPublisher(addr, token string, conns int) *publisher {
	return &publisher{
		url:   "http://" + addr + "/.well-known/mercure",
		token: token,
		client: &http.Client{
			Timeout: 30 * time.Second,
			Transport: &http.Transport{
				MaxIdleConnsPerHost: conns,
				MaxConnsPerHost:     conns,
				DisableCompression:  true,
				DialContext: (&net.Dialer{
					LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)},
				}).DialContext,
			},
		},
	}
}

// post publishes data to topic and returns the id the server answered.
func (p *publisher) post(ctx context.Context, topic, data string) (string, error) {
	form := url.Values{"topic": {topic}, "data": {data}}.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.url, strings.NewReader(form))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", "Bearer "+p.token)
	res, err := p.client.Do(req)
	if err != nil {
		return "", err
	}
	body, _ := io.ReadAll(io.LimitReader(res.Body, 4096))
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return "", fmt.Errorf("publish: %s: %s", res.Status, strings.TrimSpace(string(body)))
	}
	return string(body), nil
}

func (p *publisher) close() { p.client.CloseIdleConnections() }

// confirm publishes "c=phase" every second until every subscriber of g
// has received one (or timeout), and returns how many did. It is how a
// subscriber is known to be registered: by an event it received.
func (g *group) confirm(ctx context.Context, p *publisher, topic string, phase int, timeout time.Duration) int {
	n := g.total.Load() - g.failed.Load()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		_, _ = p.post(ctx, topic, "c="+strconv.Itoa(phase))
		for range 100 {
			if g.confirmed[phase].Load() >= n {
				return int(g.confirmed[phase].Load())
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	return int(g.confirmed[phase].Load())
}

// waitProgress waits until done() or until counter has not moved for
// stall, or for at most limit.
func waitProgress(done func() bool, counter func() int64, stall, limit time.Duration) {
	end := time.Now().Add(limit)
	last, lastMove := counter(), time.Now()
	for !done() && time.Now().Before(end) {
		time.Sleep(5 * time.Millisecond)
		if c := counter(); c != last {
			last, lastMove = c, time.Now()
		} else if time.Since(lastMove) > stall {
			return
		}
	}
}
