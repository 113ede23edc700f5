// Package web embeds what the polysse binary serves to browsers: the built
// polyfill (dist/, produced by `make build` and committed), the demo pages (demo/)
// and the favicon (icons/).
package web

import (
	"embed"
	"io/fs"
)

//go:embed all:dist
var dist embed.FS

//go:embed demo
var demo embed.FS

//go:embed icons
var icons embed.FS

// Dist returns the built polyfill: eventsource.js, the content-hashed
// engine, its Go glue, and a .br and .gz beside each.
func Dist() fs.FS {
	sub, err := fs.Sub(dist, "dist")
	if err != nil {
		panic(err) // the embed directive guarantees the folder
	}
	return sub
}

// Icons returns favicon.ico and favicon.svg, served on every page of the
// hub so that browsers' automatic /favicon.ico request is not a 404.
func Icons() fs.FS {
	sub, err := fs.Sub(icons, "icons")
	if err != nil {
		panic(err)
	}
	return sub
}

// Demo returns the demo pages.
func Demo() fs.FS {
	sub, err := fs.Sub(demo, "demo")
	if err != nil {
		panic(err)
	}
	return sub
}
