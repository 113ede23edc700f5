# polysse — every command a newcomer needs. `make demo` and `make test` work
# on a fresh machine with Go, Node/npm and apt-get: they install the rest.

GO        ?= go
ADDR      ?= :8080
DEMO_KEY  ?= polysse-demo-key
FUZZTIME  ?= 30s
BENCHTIME ?= 1s
# Go test packages that need no browser, no Redis.
UNIT_PKGS  = ./sse/... ./server/... ./client/... ./cmd/... ./wasm/...

.PHONY: all deps build web go-build demo test test-go test-web lint bench fuzz clean

all: build

## deps: install Chromium, redis-server, wabt and nginx from Debian when missing.
deps:
	@bash scripts/deps.sh

## build: the polyfill into web/dist/ (wasm engine, shim), then bin/polysse embedding it.
build: web go-build

web:
	@bash web/build.sh

go-build:
	$(GO) build -trimpath -o bin/polysse ./cmd/polysse

## demo: the hub with its embedded bolt store, the demo publisher and the demo pages.
demo: build
	@echo
	@echo "polysse demo: open http://localhost$(ADDR)/"
	@echo "publish from a shell:"
	@echo "  curl -d topic=demo/chat -d data=hello -H 'Authorization: Bearer $$(cat docs/demo-token.txt)' http://localhost$(ADDR)/.well-known/mercure"
	@echo
	./bin/polysse -addr $(ADDR) -store bolt:polysse-demo.db -demo -allow-anonymous \
		-publisher-jwt-key $(DEMO_KEY) -subscriber-jwt-key $(DEMO_KEY)

## test: every test — formatting, vet, Go unit and fuzz seeds, the web build checks, the browser e2e.
test: deps build lint test-web test-go

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go') 2>/dev/null); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	GOOS=js GOARCH=wasm $(GO) vet ./wasm/... ./sse/...

test-web:
	cd web && npm test

test-go:
	$(GO) test -race -count=1 $(UNIT_PKGS)
	cd loadtest && $(GO) vet ./cmd/loadtest/ && $(GO) test -count=1 ./cmd/loadtest/
	$(GO) test -count=1 -timeout 15m ./e2e/...

## bench: the wire format, stores and hub; the cluster (bolt, Redis, two nodes on Redis); the browser,
## and the cold start beside its floor (an empty Go program booted the same way).
bench: build bench-server
	$(GO) test -run '^$$' -bench . -benchmem -benchtime $(BENCHTIME) ./sse/ ./server/...
	$(GO) test -run '^$$' -bench Cluster ./e2e/
	$(GO) test -run '^$$' -bench 'Browser$$' -benchtime 1x ./e2e/
	$(GO) test -run '^$$' -bench ColdStartFloor -benchtime 1x ./e2e/
	$(GO) test -run '^$$' -bench BrowserMatrix -benchtime 1x -timeout 60m ./e2e/
	$(GO) test -run '^$$' -bench BrowserFirstEvent -benchtime 1x ./e2e/
	$(GO) test -run '^$$' -bench BrowserMemory -benchtime 1x -timeout 60m ./e2e/

## fuzz: each fuzz target for FUZZTIME (default 30s).
fuzz:
	@set -e; for pkg in $$($(GO) list ./...); do \
		for t in $$($(GO) test -list '^Fuzz' $$pkg 2>/dev/null | grep '^Fuzz' || true); do \
			echo "== $$pkg $$t"; $(GO) test -run '^$$' -fuzz "^$$t$$" -fuzztime $(FUZZTIME) $$pkg; \
		done; \
	done

clean:
	rm -rf bin web/dist/eventsource* web/dist/wasm_exec* web/dist/manifest.json

## bench-server: the hub against r3labs/sse, go-sse and Mercure under load, each server in its own
## process, on loopback (about 12 minutes; QUICK=1 for a 3-minute run whose pictures stay in loadtest/bin).
.PHONY: bench-server
bench-server:
	cd loadtest && for s in polysse r3labs gosse mercure loadtest; do \
		dir=servers/$$s; [ $$s = loadtest ] && dir=cmd/loadtest; \
		$(GO) build -trimpath -o bin/$$s ./$$dir || exit 1; \
	done
	cd loadtest && ./bin/loadtest -bin bin -logs bin/logs -json bin/results.json -md bin/results.md \
		-img $(if $(QUICK),bin/img,../docs/img) $(if $(QUICK),-quick)

## soak: 10,000 streams on bin/polysse (bolt store in a temp dir) at 20 events/s for SOAK_DURATION
## (default 10m, e.g. SOAK_DURATION=2m make soak); fails unless RSS, goroutines and open files stay
## within 10% and every subscriber gets every event once. Loopback only; not part of make test.
.PHONY: soak
soak: go-build
	cd loadtest && $(GO) build -trimpath -o bin/loadtest ./cmd/loadtest
	cd loadtest && ./bin/loadtest soak -polysse ../bin/polysse -duration $(or $(SOAK_DURATION),10m) \
		-logs bin/logs -json bin/soak.json

## slowpeer: 1,000 reading subscribers' publish-to-receive p99 alone and beside one subscriber that
## never reads, on bin/polysse, three alternating pairs of 100 s phases (about 12 minutes; QUICK=1
## for one pair with 200 readers). Loopback only; not part of make test.
.PHONY: slowpeer
slowpeer: go-build
	cd loadtest && $(GO) build -trimpath -o bin/loadtest ./cmd/loadtest
	cd loadtest && ./bin/loadtest -scenarios slowpeer -polysse ../bin/polysse -logs bin/logs \
		-json bin/slowpeer.json -md bin/slowpeer.md $(if $(QUICK),-quick)
