package topic

import (
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"
)

func TestMatch(t *testing.T) {
	tests := []struct {
		selector, topic string
		want            bool
	}{
		// Wildcard and exact selectors.
		{"*", "https://example.com/books/1", true},
		{"*", "", true},
		{"https://example.com/books/1", "https://example.com/books/1", true},
		{"https://example.com/books/1", "https://example.com/books/12", false},
		{"https://example.com/books/1", "https://example.com/Books/1", false},
		{"https://example.com/*", "https://example.com/books/1", false},

		// Mercure's examples.
		{"https://example.com/books/{id}", "https://example.com/books/1", true},
		{"https://example.com/books/{id}", "https://example.com/books/1/reviews", false},
		{"https://example.com/books/{id}", "https://example.com/books/1?x=2", false},
		{"https://example.com/books/{id}", "https://example.com/books/1#top", false},
		{"https://example.com/books/{id}", "https://example.com/books/a,b", false},
		{"https://example.com/books/{id}", "https://example.com/books/", true},
		{"https://example.com/books/{id}", "https://example.com/books/caf%C3%A9", true},
		{"https://example.com/books/{id}", "https://example.com/books/café", true},
		{"https://example.com/books/{id}", "https://example.org/books/1", false},
		{"https://example.com/books/{id}/reviews/{rid}", "https://example.com/books/1/reviews/22", true},
		{"https://example.com/{+path}", "https://example.com/books/1/reviews?page=2", true},
		{"https://example.com/{+path}", "https://example.org/books/1", false},

		// Literals are literal, regular-expression metacharacters too.
		{"https://example.com/a.b+c?{x}", "https://example.com/a.b+c?1", true},
		{"https://example.com/a.b+c?{x}", "https://exampleXcom/a.b+c?1", false},
		{"https://example.com/a.b+c?{x}", "https://example.com/a.bbc?1", false},
		{"https://example.com/a.b+c?{x}", "https://example.com/a.b+1", false},
		{"(a|b)^$[x]{id}", "(a|b)^$[x]7", true},
		{"(a|b)^$[x]{id}", "a7", false},
		{"a.c", "abc", false},

		// One example per operator.
		{"/page{#frag}", "/page#sec/1?x", true},
		{"/page{#frag}", "/page", true},
		{"/page{#frag}", "/pagesec", false},
		{"/doc{.fmt}", "/doc.json", true},
		{"/doc{.fmt}", "/doc", true},
		{"/doc{.fmt}", "/docjson", false},
		{"/doc{.fmt}", "/doc.a/b", false},
		{"/users{/id,tab}", "/users/1/posts", true},
		{"/users{/id,tab}", "/users/1", true},
		{"/users{/id,tab}", "/users", true},
		{"/users{/id,tab}", "/users/1/posts/x", false},
		{"/files{/path*}", "/files/a/b/c", true},
		{"/map{;x,y}", "/map;x=1;y=2", true},
		{"/map{;x,y}", "/map;x", true},
		{"/map{;x,y}", "/map;y=2", true},
		{"/map{;x,y}", "/map;z=1", false},
		{"/map{;x,y}", "/map;y=2;x=1", false},
		{"/search{?q,page}", "/search?q=go&page=2", true},
		{"/search{?q,page}", "/search?page=2", true},
		{"/search{?q,page}", "/search?q=", true},
		{"/search{?q,page}", "/search", true},
		{"/search{?q,page}", "/search?q", false},
		{"/search{?q,page}", "/search?q=go&lang=en", false},
		{"/search{?q,page}", "/search?q=a/b", false},
		{"/search?fixed=1{&lang}", "/search?fixed=1&lang=en", true},
		{"/search?fixed=1{&lang}", "/search?fixed=1&x=en", false},
		{"/s{?params*}", "/s?a=1&b=2", true},
		{"/s{?params*}", "/s?a", true},
		{"/s{?params*}", "/s?=1", false},

		// Modifiers and variable lists.
		{"/x/{id:3}", "/x/abc", true},
		{"/x/{id:3}", "/x/abcd", false},
		{"/x/{id:3}", "/x/%41bc", true},
		{"/x/{id:3}", "/x/%C3%A9%C3%A9%C3%A9", true},
		{"/l/{list*}", "/l/a,b,c", true},
		{"/l/{list}", "/l/a,b", false},
		{"/p/{x,y}", "/p/1,2", true},
		{"/p/{x,y}", "/p/1,2,3", false},

		// Invalid templates match only themselves.
		{"/books/{id", "/books/1", false},
		{"/books/{id", "/books/{id", true},
		{"/books/{=id}", "/books/1", false},
		{"/books/id}", "/books/id}", true},
	}
	cached := NewMatcher(1 << 20)
	var uncached Matcher
	for _, tt := range tests {
		for i := range 2 { // the second round answers from the cache
			if got := cached.Match(tt.topic, tt.selector); got != tt.want {
				t.Errorf("round %d: Match(%q, %q) = %v, want %v", i, tt.topic, tt.selector, got, tt.want)
			}
		}
		if got := uncached.Match(tt.topic, tt.selector); got != tt.want {
			t.Errorf("uncached: Match(%q, %q) = %v, want %v", tt.topic, tt.selector, got, tt.want)
		}
	}
}

// TestMatchRFC6570Expansions checks that the expansions listed in RFC 6570
// section 3.2 for its example variables match their templates, and that a
// few near misses do not.
func TestMatchRFC6570Expansions(t *testing.T) {
	tests := []struct {
		template, expansion string
		want                bool
	}{
		{"{var}", "value", true},
		{"{hello}", "Hello%20World%21", true},
		{"{half}", "50%25", true},
		{"O{empty}X", "OX", true},
		{"O{undef}X", "OX", true},
		{"{x,y}", "1024,768", true},
		{"{x,hello,y}", "1024,Hello%20World%21,768", true},
		{"?{x,empty}", "?1024,", true},
		{"?{x,undef}", "?1024", true},
		{"{var:3}", "val", true},
		{"{var:30}", "value", true},
		{"{list*}", "red,green,blue", true},
		{"{keys*}", "semi=%3B,dot=.,comma=%2C", true},
		{"{+var}", "value", true},
		{"{+hello}", "Hello%20World!", true},
		{"{+path}/here", "/foo/bar/here", true},
		{"here?ref={+path}", "here?ref=/foo/bar", true},
		{"{+x,hello,y}", "1024,Hello%20World!,768", true},
		{"{+path:6}/here", "/foo/b/here", true},
		{"{+list*}", "red,green,blue", true},
		{"{+keys*}", "semi=;,dot=.,comma=,", true},
		{"X{#var}", "X#value", true},
		{"{#x,hello,y}", "#1024,Hello%20World!,768", true},
		{"{#path:6}/here", "#/foo/b/here", true},
		{"{#keys*}", "#semi=;,dot=.,comma=,", true},
		{"X{.var}", "X.value", true},
		{"X{.x,y}", "X.1024.768", true},
		{"X{.empty}", "X.", true},
		{"X{.undef}", "X", true},
		{"X{.var:3}", "X.val", true},
		{"X{.list*}", "X.red.green.blue", true},
		{"X{.keys*}", "X.semi=%3B.dot=..comma=%2C", true},
		{"{/var}", "/value", true},
		{"{/var,empty}", "/value/", true},
		{"{/var,undef}", "/value", true},
		{"{/var,x}/here", "/value/1024/here", true},
		{"{/var:1,var}", "/v/value", true},
		{"{/list*}", "/red/green/blue", true},
		{"{/list*,path:4}", "/red/green/blue/%2Ffoo", true},
		{"{/keys*}", "/semi=%3B/dot=./comma=%2C", true},
		{"{;x,y}", ";x=1024;y=768", true},
		{"{;x,y,empty}", ";x=1024;y=768;empty", true},
		{"{;x,y,undef}", ";x=1024;y=768", true},
		{"{;hello:5}", ";hello=Hello", true},
		{"{;list*}", ";list=red;list=green;list=blue", true},
		{"{;keys*}", ";semi=%3B;dot=.;comma=%2C", true},
		{"{?x,y}", "?x=1024&y=768", true},
		{"{?x,y,empty}", "?x=1024&y=768&empty=", true},
		{"{?x,y,undef}", "?x=1024&y=768", true},
		{"{?var:3}", "?var=val", true},
		{"{?list*}", "?list=red&list=green&list=blue", true},
		{"{?keys*}", "?semi=%3B&dot=.&comma=%2C", true},
		{"{&x,y,empty}", "&x=1024&y=768&empty=", true},
		{"?fixed=yes{&x}", "?fixed=yes&x=1024", true},
		{"{&var:3}", "&var=val", true},
		{"{&list*}", "&list=red&list=green&list=blue", true},
		{"{&keys*}", "&semi=%3B&dot=.&comma=%2C", true},

		{"{var:3}", "value", false},
		{"{x,y}", "1024;768", false},
		{"{hello}", "Hello World!", false},
		{"{+path:6}/here", "/foo/bar/here", false},
		{"{?x,y}", "?y=768&x=1024", false},
		{"{;x,y}", ";x=1024&y=768", false},
		{"X{.var}", "X/value", false},
		{"{/var}", "value", false},
		{"{half}", "50%", false},
	}
	var m Matcher
	for _, tt := range tests {
		if err := Validate(tt.template); err != nil {
			t.Errorf("Validate(%q) = %v", tt.template, err)
		}
		if got := m.Match(tt.expansion, tt.template); got != tt.want {
			t.Errorf("Match(%q, %q) = %v, want %v", tt.expansion, tt.template, got, tt.want)
		}
	}
}

func TestMatchAny(t *testing.T) {
	tests := []struct {
		topics, selectors []string
		want              bool
	}{
		{nil, nil, false},
		{[]string{"/a"}, nil, false},
		{nil, []string{"*"}, false},
		{[]string{"/a", "/b/1"}, []string{"/c", "/b/{id}"}, true},
		{[]string{"/a", "/b/1"}, []string{"/c", "/d/{id}"}, false},
		{[]string{"/a"}, []string{"/c", "*"}, true},
	}
	m := NewMatcher(64 << 10)
	for _, tt := range tests {
		if got := m.MatchAny(tt.topics, tt.selectors); got != tt.want {
			t.Errorf("MatchAny(%q, %q) = %v, want %v", tt.topics, tt.selectors, got, tt.want)
		}
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		selector string
		offset   int    // of the SyntaxError, or -1 for another error
		msg      string // in the error, "" when valid
	}{
		{"*", 0, ""},
		{"https://example.com/books/1", 0, ""},
		{"https://example.com/books/{id}", 0, ""},
		{"{x.y,_1,%41b}", 0, ""},
		{"{a:128}", 0, ""},
		{"{a:64}{b:64}", 0, ""},
		{"{a,b,c,d,e,f,g,h}{+i,j,k,l,m,n,o,p}", 0, ""},
		{"{+a}{#a}{.a}{/a}{;a}{?a}{&a*}", 0, ""},
		{"", -1, "empty"},
		{strings.Repeat("a", MaxLength+1), -1, "more than 2048"},
		{"/a/{", 3, `"{" without "}"`},
		{"/a/{x", 3, `"{" without "}"`},
		{"/a/{x{y}", 3, `"{" without "}"`},
		{"/a/x}", 4, `"}" without "{"`},
		{"/a/{x}}", 6, `"}" without "{"`},
		{"{}", 1, "empty expression"},
		{"{=x}", 1, "reserved"},
		{"{,x}", 1, "reserved"},
		{"{!x}", 1, "reserved"},
		{"{@x}", 1, "reserved"},
		{"{|x}", 1, "reserved"},
		{"{+}", 2, "missing variable name"},
		{"{x,}", 3, "missing variable name"},
		{"{x y}", 1, "not allowed"},
		{"{x-y}", 1, "not allowed"},
		{"{a,x/y}", 3, "not allowed"},
		{"{.}", 2, "missing variable name"},
		{"{x.}", 1, "not allowed"},
		{"{.x}", 2, ""},
		{"{x..y}", 1, "not allowed"},
		{"{%zz}", 1, "percent-encoding"},
		{"{%4}", 1, "percent-encoding"},
		{"{x:0}", 3, "prefix length"},
		{"{x:10000}", 3, "prefix length"},
		{"{x:a}", 3, "prefix length"},
		{"{x:}", 3, "prefix length"},
		{"{x*:3}", 1, "not allowed"},
		{"{x:3*}", 1, "not allowed"},
		{"{a:100}{b:100}", 7, "prefix lengths add up to more than 128"},
		{"{a:129}", 0, "prefix lengths add up"},
		{"{a,b,c,d,e,f,g,h}{+i,j,k,l,m,n,o,p}{q}", 35, "more than 16 variables"},
		{"{" + strings.Repeat("a,", 1020) + "a}", 0, "more than 16 variables"},
	}
	for _, tt := range tests {
		err := Validate(tt.selector)
		if tt.msg == "" {
			if err != nil {
				t.Errorf("Validate(%q) = %v, want nil", tt.selector, err)
			}
			continue
		}
		if err == nil {
			t.Errorf("Validate(%q) = nil, want an error with %q", tt.selector, tt.msg)
			continue
		}
		if !errors.Is(err, ErrInvalidSelector) {
			t.Errorf("Validate(%q) = %v, not ErrInvalidSelector", tt.selector, err)
		}
		if !strings.Contains(err.Error(), tt.msg) {
			t.Errorf("Validate(%q) = %v, want %q in it", tt.selector, err, tt.msg)
		}
		var se *SyntaxError
		if errors.As(err, &se) != (tt.offset >= 0) {
			t.Errorf("Validate(%q) = %#v: SyntaxError expected: %v", tt.selector, err, tt.offset >= 0)
		} else if se != nil && se.Offset != tt.offset {
			t.Errorf("Validate(%q): offset %d, want %d", tt.selector, se.Offset, tt.offset)
		}
	}
}

func TestMatcherCacheBounded(t *testing.T) {
	const budget = 64 << 10
	m := NewMatcher(budget)
	for i := range 100 {
		sel := fmt.Sprintf("/t%d/{id}", i)
		if !m.Match(fmt.Sprintf("/t%d/x", i), sel) {
			t.Fatalf("Match(/t%d/x, %s) = false", i, sel)
		}
		if m.Match("/other", sel) {
			t.Fatalf("Match(/other, %s) = true", sel)
		}
	}
	if n := m.templates.bytes(); n > budget {
		t.Errorf("templates cache holds %d bytes, want at most %d", n, budget)
	}
	if n := m.results.bytes(); n > budget {
		t.Errorf("results cache holds %d bytes, want at most %d", n, budget)
	}
	// An answer in steady use survives churn.
	hot := "/hot/{id}"
	m.Match("/hot/1", hot)
	for i := range 100 {
		m.Match("/hot/1", hot)
		m.Match("/x", fmt.Sprintf("/churn%d/{id}", i))
	}
	if _, ok := m.results.get(pair{"/hot/1", hot}); !ok {
		t.Error("answer in steady use was evicted")
	}
}

// TestMatcherCacheBoundedInBytes: costly templates, each holding tens of
// kilobytes compiled, keep the heap within the cache's byte budget however
// many there are (issue 15, item 1: a cache bounded in entries grew to
// 250 MiB).
func TestMatcherCacheBoundedInBytes(t *testing.T) {
	const budget = 1 << 20
	m := NewMatcher(budget)
	costly := func(i int) string {
		var v []string
		for k := range 16 {
			v = append(v, fmt.Sprintf("s%dv%d*", i, k))
		}
		return "{;" + strings.Join(v, ",") + "}"
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for i := range 400 {
		m.Match(";x", costly(i))
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	if n := m.templates.bytes(); n > budget {
		t.Errorf("templates cache counts %d bytes, want at most %d", n, budget)
	}
	// Both caches at their budget, with the estimate's error: 400 such
	// templates kept would be 35 MB.
	if grew := int64(after.HeapAlloc) - int64(before.HeapAlloc); grew > 4*budget {
		t.Errorf("heap grew by %d bytes for a cache budget of %d", grew, budget)
	}
}

func TestMatcherConcurrent(t *testing.T) {
	m := NewMatcher(64 << 10)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 500 {
				id := (i + g) % 40
				topic := fmt.Sprintf("https://example.com/books/%d", id)
				sel := fmt.Sprintf("https://example.com/{+path%d}", id%20)
				if !m.Match(topic, sel) {
					t.Errorf("Match(%q, %q) = false", topic, sel)
					return
				}
				if m.Match(topic, "https://example.com/books/{id}/x") {
					t.Errorf("Match(%q, .../x) = true", topic)
					return
				}
			}
		})
	}
	wg.Wait()
}

func BenchmarkMatch(b *testing.B) {
	const (
		topic    = "https://example.com/books/1234/reviews/56"
		selector = "https://example.com/books/{id}/reviews/{rid}"
	)
	b.Run("cached", func(b *testing.B) {
		m := NewMatcher(1 << 20)
		b.ReportAllocs()
		for b.Loop() {
			if !m.Match(topic, selector) {
				b.Fatal("no match")
			}
		}
	})
	b.Run("template-cached", func(b *testing.B) {
		// Every topic is new: the template is reused, the answer is not.
		m := NewMatcher(1 << 20)
		topics := make([]string, 4096)
		for i := range topics {
			topics[i] = fmt.Sprintf("https://example.com/books/%d/reviews/%d", i, i)
		}
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if !m.Match(topics[i%len(topics)], selector) {
				b.Fatal("no match")
			}
			i++
		}
	})
	b.Run("uncached", func(b *testing.B) {
		m := NewMatcher(0)
		b.ReportAllocs()
		for b.Loop() {
			if !m.Match(topic, selector) {
				b.Fatal("no match")
			}
		}
	})
	b.Run("hostile", func(b *testing.B) {
		// The costliest kind of template Validate lets through, against
		// topics of MaxLength bytes that it does not match.
		hostile := strings.Repeat("{/a*}", 16)
		m := NewMatcher(1 << 20)
		topics := make([]string, 2048)
		for i := range topics {
			topics[i] = fmt.Sprintf("%s!%d", strings.Repeat("/a", MaxLength/2-4), i)
		}
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if m.Match(topics[i%len(topics)], hostile) {
				b.Fatal("match")
			}
			i++
		}
	})
	b.Run("exact", func(b *testing.B) {
		m := NewMatcher(1 << 20)
		b.ReportAllocs()
		for b.Loop() {
			if !m.Match(topic, topic) {
				b.Fatal("no match")
			}
		}
	})
}

// TestVariables: what a subscription's template budget is charged, before
// anything is parsed: a variable alone in its expression 1, one of several
// 2, an exploded one 4.
func TestVariables(t *testing.T) {
	for _, c := range []struct {
		selector string
		want     int
	}{
		{"https://example.com/books/1", 0},
		{"https://example.com/books/{id}", 1},
		{"https://example.com/{a}/{b}", 2},
		{"https://example.com/{a,b}/{c}", 5},
		{"{;a*,b}", 6},
		{"{/list*}", 4},
		{"{/list*,path:4}{?keys*}", 10},
		{"a,b*", 0},
		{"{unclosed,x", 4},
		{"{a{b}", 2},
	} {
		if got := Variables(c.selector); got != c.want {
			t.Errorf("Variables(%q) = %d, want %d", c.selector, got, c.want)
		}
	}
}

// TestCompile: a compiled selector answers as the Matcher does, and
// Compile refuses what Validate refuses.
func TestCompile(t *testing.T) {
	var m Matcher
	for _, c := range []struct{ selector, topic string }{
		{"*", "https://example.com/a"},
		{"https://example.com/a", "https://example.com/a"},
		{"https://example.com/a", "https://example.com/b"},
		{"https://example.com/books/{id}", "https://example.com/books/1"},
		{"https://example.com/books/{id}", "https://example.com/books/1/x"},
		{"{+path}", "/a/b?c=d"},
	} {
		s, err := Compile(c.selector)
		if err != nil {
			t.Fatalf("Compile(%q): %v", c.selector, err)
		}
		if got, want := s.Match(c.topic), m.Match(c.topic, c.selector); got != want {
			t.Errorf("Compile(%q).Match(%q) = %v, Matcher says %v", c.selector, c.topic, got, want)
		}
	}
	for _, bad := range []string{"", "{", "a}", "{=x}", strings.Repeat("a", MaxLength+1)} {
		if _, err := Compile(bad); !errors.Is(err, ErrInvalidSelector) {
			t.Errorf("Compile(%q) = %v, want ErrInvalidSelector", bad, err)
		}
		if Literal(bad).Match(bad) != true {
			t.Errorf("Literal(%q) does not match itself", bad)
		}
	}
}
