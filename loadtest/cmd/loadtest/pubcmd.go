package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
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
	Size               int           // bytes of each event's data, padded past payloadSize (0: payloadSize)
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
	fs.IntVar(&s.Size, "size", 0, "")
	_ = fs.Parse(args)
	r := publishAll(s)
	_ = json.NewEncoder(os.Stdout).Encode(r)
}

func publishAll(s pubSpec) pubResult {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
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
	pad := strings.Repeat("x", max(0, s.Size-payloadSize))
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
				// The time is taken before the padding is added, as close
				// to the POST as payload's own.
				if _, err := pub.post(ctx, s.Topic, payload(s.First+int(i), time.Now())+pad); err != nil {
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

// publish runs s in a publish process and returns what it did, logging its
// errors.
func (e *runEnv) publish(ctx context.Context, s pubSpec) (pubResult, error) {
	r, err := runPublish(ctx, s, nil)
	if err == nil && r.FirstError != "" {
		e.logf("  publish errors: %d, first: %s", r.Errors, r.FirstError)
	}
	return r, err
}

// runPublish runs s in a publish process and returns what it did. started,
// if not nil, is given the process's pid once it runs. The process is
// killed if ctx ends first. Its stdout is its result, not a log: it runs
// with exec rather than internal/launch, which merges the two streams.
func runPublish(ctx context.Context, s pubSpec, started func(pid int)) (pubResult, error) {
	self, err := os.Executable()
	if err != nil {
		return pubResult{}, err
	}
	cmd := exec.CommandContext(ctx, self, "publish", "-addr", s.Addr, "-topic", s.Topic, "-token", s.Token,
		"-first", strconv.Itoa(s.First), "-count", strconv.Itoa(s.Count), "-publishers", strconv.Itoa(s.Publishers),
		"-rate", strconv.Itoa(s.Rate), "-duration", s.Duration.String(), "-size", strconv.Itoa(s.Size))
	cmd.Stderr = os.Stderr
	var out bytes.Buffer
	cmd.Stdout = &out
	if err := cmd.Start(); err != nil {
		return pubResult{}, fmt.Errorf("publish process: %w", err)
	}
	if started != nil {
		started(cmd.Process.Pid)
	}
	if err := cmd.Wait(); err != nil {
		return pubResult{}, fmt.Errorf("publish process: %w", err)
	}
	var r pubResult
	if err := json.Unmarshal(out.Bytes(), &r); err != nil {
		return r, fmt.Errorf("publish process output %q: %w", out.String(), err)
	}
	return r, nil
}
