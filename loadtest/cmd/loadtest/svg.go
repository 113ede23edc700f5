package main

import (
	"cmp"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// The charts are SVG written by hand: no dependency, and a reader's
// browser or the repository's viewer draws them.

var palette = map[string]string{
	"polysse":          "#d62728",
	"polysse-bolt":     "#ff7f0e",
	"polysse-nohijack": "#e377c2",
	"r3labs":           "#1f77b4",
	"go-sse":           "#2ca02c",
	"mercure":          "#9467bd",
}

type series struct {
	name   string
	points [][2]float64
}

type chart struct {
	title, xLabel, yLabel  string
	logX                   bool
	xMin, xMax, yMin, yMax float64
	xTicks, yTicks         []float64
	xFmt, yFmt             func(float64) string
	lines                  []series
}

const (
	svgW, svgH             = 760, 440
	padL, padR, padT, padB = 70, 170, 40, 55
	plotW, plotH           = svgW - padL - padR, svgH - padT - padB
)

func (c *chart) x(v float64) float64 {
	if c.logX {
		return padL + plotW*(math.Log10(v)-math.Log10(c.xMin))/(math.Log10(c.xMax)-math.Log10(c.xMin))
	}
	return padL + plotW*(v-c.xMin)/(c.xMax-c.xMin)
}

func (c *chart) y(v float64) float64 {
	return padT + plotH*(1-(v-c.yMin)/(c.yMax-c.yMin))
}

func (c *chart) svg() string {
	var b strings.Builder
	p := func(f string, a ...any) { fmt.Fprintf(&b, f, a...) }
	p(`<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="Helvetica, Arial, sans-serif" font-size="12">`+"\n", svgW, svgH, svgW, svgH)
	p(`<rect width="100%%" height="100%%" fill="white"/>` + "\n")
	p(`<text x="%d" y="22" font-size="15" font-weight="bold">%s</text>`+"\n", padL, esc(c.title))
	for _, t := range c.xTicks {
		x := c.x(t)
		p(`<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#e5e5e5"/>`+"\n", x, padT, x, padT+plotH)
		p(`<text x="%.1f" y="%d" text-anchor="middle">%s</text>`+"\n", x, padT+plotH+18, esc(c.xFmt(t)))
	}
	for _, t := range c.yTicks {
		y := c.y(t)
		p(`<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#e5e5e5"/>`+"\n", padL, y, padL+plotW, y)
		p(`<text x="%d" y="%.1f" text-anchor="end">%s</text>`+"\n", padL-6, y+4, esc(c.yFmt(t)))
	}
	p(`<rect x="%d" y="%d" width="%d" height="%d" fill="none" stroke="#333"/>`+"\n", padL, padT, plotW, plotH)
	p(`<text x="%d" y="%d" text-anchor="middle">%s</text>`+"\n", padL+plotW/2, svgH-12, esc(c.xLabel))
	p(`<text transform="translate(16 %d) rotate(-90)" text-anchor="middle">%s</text>`+"\n", padT+plotH/2, esc(c.yLabel))
	for i, s := range c.lines {
		color := palette[s.name]
		if color == "" {
			color = "#555"
		}
		var pts []string
		for _, pt := range s.points {
			if c.logX && pt[0] <= 0 {
				continue
			}
			x, y := c.x(min(max(pt[0], c.xMin), c.xMax)), c.y(min(max(pt[1], c.yMin), c.yMax))
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", x, y))
		}
		p(`<polyline fill="none" stroke="%s" stroke-width="2.2" points="%s"/>`+"\n", color, strings.Join(pts, " "))
		ly := padT + 14 + 20*i
		p(`<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" stroke-width="3"/>`+"\n", padL+plotW+14, ly-4, padL+plotW+38, ly-4, color)
		p(`<text x="%d" y="%d">%s</text>`+"\n", padL+plotW+44, ly, esc(s.name))
	}
	p("</svg>\n")
	return b.String()
}

func esc(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

// charts writes memory.svg (RSS against open streams) and latency.svg (the
// latency distribution) to dir.
func charts(r *results, dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if len(r.Idle) > 0 {
		c := &chart{
			title:  "Server RSS against open SSE streams (lower is better)",
			xLabel: "open streams", yLabel: "RSS (MiB)",
			xFmt: func(v float64) string { return fmt.Sprintf("%gk", v/1000) },
			yFmt: func(v float64) string { return fmt.Sprintf("%.0f", v) },
		}
		var maxX, maxY float64
		for _, name := range r.Servers {
			x, ok := r.Idle[name]
			if !ok {
				continue
			}
			s := series{name: name}
			for _, pt := range x.Curve {
				s.points = append(s.points, [2]float64{float64(pt[0]), float64(pt[1]) / 1024})
				maxX, maxY = max(maxX, float64(pt[0])), max(maxY, float64(pt[1])/1024)
			}
			// Samples taken while opening, then the step's figure once
			// every stream is confirmed: in order of streams.
			slices.SortStableFunc(s.points, func(a, b [2]float64) int { return cmp.Compare(a[0], b[0]) })
			c.lines = append(c.lines, s)
		}
		c.xMax, c.yMax = niceCeil(maxX), niceCeil(maxY*1.05)
		c.xTicks, c.yTicks = ticks(c.xMax, 5), ticks(c.yMax, 5)
		if err := os.WriteFile(filepath.Join(dir, "bench-server-memory.svg"), []byte(c.svg()), 0o644); err != nil {
			return err
		}
	}
	if len(r.Latency) > 0 {
		c := &chart{
			title:  "Publish-to-receive latency distribution (left is better)",
			xLabel: "latency (ms, log scale)", yLabel: "percentile (scale of nines)",
			logX: true, xMin: 0.1, xMax: 1000, yMin: 0, yMax: 3,
			xTicks: []float64{0.1, 1, 10, 100, 1000}, yTicks: []float64{0, nines(0.5), 1, 2, 3},
			xFmt: func(v float64) string { return fmt.Sprintf("%g", v) },
			yFmt: func(v float64) string { return fmt.Sprintf("p%g", 100*(1-math.Pow(10, -v))) },
		}
		var hi float64
		for _, name := range r.Servers {
			x, ok := r.Latency[name]
			if !ok || len(x.CDF) == 0 {
				continue
			}
			s := series{name: name}
			for _, pt := range x.CDF {
				s.points = append(s.points, [2]float64{max(pt[0], 0.1), nines(pt[1])})
				hi = max(hi, pt[0])
			}
			c.lines = append(c.lines, s)
		}
		for c.xMax > 10 && hi < c.xMax/10 {
			c.xMax /= 10
			c.xTicks = c.xTicks[:len(c.xTicks)-1]
		}
		if err := os.WriteFile(filepath.Join(dir, "bench-server-latency.svg"), []byte(c.svg()), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// nines maps a fraction to the scale of nines: 0.9 is 1, 0.99 is 2.
func nines(f float64) float64 { return -math.Log10(max(1-f, 1e-3)) }

func niceCeil(v float64) float64 {
	if v <= 0 {
		return 1
	}
	m := math.Pow(10, math.Floor(math.Log10(v)))
	for _, f := range []float64{1, 2, 2.5, 5, 10} {
		if f*m >= v {
			return f * m
		}
	}
	return 10 * m
}

func ticks(hi float64, n int) []float64 {
	var t []float64
	for i := 0; i <= n; i++ {
		t = append(t, hi*float64(i)/float64(n))
	}
	return t
}
