package store

import (
	crand "crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"math/rand/v2"
	"strings"
	"sync"
	"time"
)

// IDPrefix starts every id that an IDGen makes.
const IDPrefix = "urn:uuid:"

// The counter takes the 12 rand_a bits of a UUIDv7 and the top 30 of its 62
// rand_b bits (RFC 9562, section 6.2, method 1); the low 32 bits stay random
// so that ids are not guessable from one another.
const (
	ctrBits = 42
	ctrMax  = 1<<ctrBits - 1
	// A fresh millisecond seeds the counter below half its range, so that at
	// least 2^41 ids fit in one millisecond before it has to borrow the next.
	seedMask = 1<<(ctrBits-1) - 1
)

// IDGen makes event ids for updates published without one: "urn:uuid:"
// followed by a UUIDv7. The ids of one IDGen sort, as strings, in the order
// they were made, even within one millisecond and when the clock steps back;
// ids made after a restart sort after the earlier ones as long as the clock
// did not step back across the restart (or Observe was told the last one).
//
// The zero value is ready to use. An IDGen is safe for concurrent use.
type IDGen struct {
	// Now returns the current time; nil means time.Now. Set it before the
	// first call to New.
	Now func() time.Time

	mu  sync.Mutex
	rng *rand.ChaCha8
	ms  uint64 // unix milliseconds of the last id
	ctr uint64 // counter of the last id
}

// New returns a new id.
func (g *IDGen) New() string {
	now := time.Now
	if g.Now != nil {
		now = g.Now
	}
	ms := uint64(max(now().UnixMilli(), 0))

	g.mu.Lock()
	if g.rng == nil {
		var seed [32]byte
		crand.Read(seed[:]) // never fails on supported platforms (Go 1.24+)
		g.rng = rand.NewChaCha8(seed)
	}
	r := g.rng.Uint64()
	switch {
	case ms > g.ms:
		g.ms, g.ctr = ms, r&seedMask
	case g.ctr < ctrMax:
		// Same millisecond, or the clock went back: stay on the last
		// millisecond and count, so that the order still holds.
		g.ctr++
	default:
		g.ms, g.ctr = g.ms+1, r&seedMask
	}
	ms, ctr := g.ms, g.ctr
	g.mu.Unlock()

	return format(ms, ctr, uint32(r>>32))
}

// Observe makes every later id of g sort after id, which g or another IDGen
// made earlier (before a restart, for example). Ids that are not of the
// form that New makes are ignored.
func (g *IDGen) Observe(id string) {
	ms, ctr, ok := parse(id)
	if !ok {
		return
	}
	g.mu.Lock()
	if ms > g.ms || (ms == g.ms && ctr > g.ctr) {
		g.ms, g.ctr = ms, ctr
	}
	g.mu.Unlock()
}

func format(ms, ctr uint64, tail uint32) string {
	var u [16]byte
	binary.BigEndian.PutUint64(u[0:8], ms<<16) // 48-bit unix_ts_ms
	u[6] = 0x70 | byte(ctr>>38)&0x0f           // version 7, rand_a high
	u[7] = byte(ctr >> 30)                     // rand_a low
	u[8] = 0x80 | byte(ctr>>24)&0x3f           // variant 10, rand_b
	u[9], u[10], u[11] = byte(ctr>>16), byte(ctr>>8), byte(ctr)
	binary.BigEndian.PutUint32(u[12:16], tail)

	var b [len(IDPrefix) + 36]byte
	copy(b[:], IDPrefix)
	d := b[len(IDPrefix):]
	hex.Encode(d[0:8], u[0:4])
	d[8] = '-'
	hex.Encode(d[9:13], u[4:6])
	d[13] = '-'
	hex.Encode(d[14:18], u[6:8])
	d[18] = '-'
	hex.Encode(d[19:23], u[8:10])
	d[23] = '-'
	hex.Encode(d[24:36], u[10:16])
	return string(b[:])
}

func parse(id string) (ms, ctr uint64, ok bool) {
	s, found := strings.CutPrefix(id, IDPrefix)
	if !found || len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return 0, 0, false
	}
	var u [16]byte
	for _, p := range [...]struct{ from, to, at int }{{0, 8, 0}, {9, 13, 4}, {14, 18, 6}, {19, 23, 8}, {24, 36, 10}} {
		// hex.Decode accepts upper case too; New never makes it, and an
		// upper-case id would not sort with ours, so refuse it.
		if strings.ToLower(s[p.from:p.to]) != s[p.from:p.to] {
			return 0, 0, false
		}
		if _, err := hex.Decode(u[p.at:], []byte(s[p.from:p.to])); err != nil {
			return 0, 0, false
		}
	}
	if u[6]>>4 != 7 || u[8]>>6 != 2 {
		return 0, 0, false
	}
	ms = binary.BigEndian.Uint64(u[0:8]) >> 16
	ctr = uint64(u[6]&0x0f)<<38 | uint64(u[7])<<30 | uint64(u[8]&0x3f)<<24 |
		uint64(u[9])<<16 | uint64(u[10])<<8 | uint64(u[11])
	return ms, ctr, true
}
