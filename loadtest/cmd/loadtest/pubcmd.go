package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// The measured publishers run in a process of their own ("loadtest
// publish"), so that they are not starved by the generator's thousand
// reader goroutines: the Go scheduler would run every runnable reader
// before a publisher again, and the figures would measure the generator.

// pubSpec is what a publish process does.
type pubSpec struct {
	Addr, Topic, Token string
	First, Count       int           // seqs First..First+Count-1
	Publishers         int           // concurrent publishers
	Rate               int           // events per second in total; 0: back to back
	Duration           time.Duration // stop after this long (0: when Count are done)
}

type pubResult struct {
	Start, End int64 // unix ns
	Published  int64
	Errors     int64
	FirstError string
}

// publishCmd is the publish process's main.
func publishCmd(args []string) {
	fs := flag.NewFlagSet("publish", flag.ExitOnError)
	var s pubSpec
	fs.StringVar(&s.Addr, "addr", "", "")
	fs.StringVar(&s.Topic, "topic", "", "")
	fs.StringVar(&s.Token, "token", "", "")
	fs.IntVar(&s.First, "first", 0, "")
	fs.IntVar(&s.Count, "count", 0, "")
	fs.IntVar(&s.Publishers, "publishers", 1, "")
	fs.IntVar(&s.Rate, "rate", 0, "")
	fs.DurationVar(&s.Duration, "duration", 0, "")
	_ = fs.Parse(args)
	r := publishAll(s)
	_ = json.NewEncoder(os.Stdout).Encode(r)
}

func publishAll(s pubSpec) pubResult {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	pub := newPublisher(s.Addr, s.Token, s.Publishers)
	defer pub.close()
	var next, done, errs atomic.Int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	start := time.Now()
	var stop time.Time
	if s.Duration > 0 {
		stop = start.Add(s.Duration)
	}
	var interval time.Duration
	if s.Rate > 0 {
		interval = time.Second / time.Duration(s.Rate)
	}
	for range s.Publishers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= int64(s.Count) || (!stop.IsZero() && time.Now().After(stop)) {
					return
				}
				if interval > 0 {
					time.Sleep(time.Until(start.Add(time.Duration(i) * interval)))
				}
				if _, err := pub.post(ctx, s.Topic, payload(s.First+int(i), time.Now())); err != nil {
					errs.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
				} else {
					done.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	r := pubResult{Start: start.UnixNano(), End: time.Now().UnixNano(), Published: done.Load(), Errors: errs.Load()}
	if e, ok := firstErr.Load().(string); ok {
		r.FirstError = e
	}
	return r
}

// publish runs s in a publish process and returns what it did.
func (e *runEnv) publish(s pubSpec) (pubResult, error) {
	self, err := os.Executable()
	if err != nil {
		return pubResult{}, err
	}
	cmd := exec.Command(self, "publish", "-addr", s.Addr, "-topic", s.Topic, "-token", s.Token,
		"-first", strconv.Itoa(s.First), "-count", strconv.Itoa(s.Count), "-publishers", strconv.Itoa(s.Publishers),
		"-rate", strconv.Itoa(s.Rate), "-duration", s.Duration.String())
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return pubResult{}, fmt.Errorf("publish process: %w", err)
	}
	var r pubResult
	if err := json.Unmarshal(out, &r); err != nil {
		return r, fmt.Errorf("publish process output %q: %w", out, err)
	}
	if r.FirstError != "" {
		e.logf("  publish errors: %d, first: %s", r.Errors, r.FirstError)
	}
	return r, nil
}
