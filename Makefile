# polysse — every command a newcomer needs. `make demo` and `make test` work
# on a fresh machine with Go, Node/npm and apt-get: they install the rest.

GO        ?= go
ADDR      ?= 127.0.0.1:8080
DEMO_KEY  ?= polysse-demo-key
FUZZTIME  ?= 30s
BENCHTIME ?= 1s
# Go test packages that need no browser, no Redis.
UNIT_PKGS  = ./sse/... ./server/... ./client/... ./cmd/... ./wasm/...

.PHONY: all deps build web go-build demo test test-go test-web lint bench fuzz clean image image-test

all: build

## deps: install Chromium, redis-server, wabt and nginx from Debian when missing.
deps:
	@bash scripts/deps.sh

## build: the polyfill into web/dist/ (wasm engine, shim), then bin/polysse embedding it.
build: web go-build

web:
	@bash web/build.sh

# -buildvcs=auto overrides a GOFLAGS=-buildvcs=false so that `polysse version`
# names the commit when there is a git checkout.
go-build:
	$(GO) build -trimpath -buildvcs=auto -o bin/polysse ./cmd/polysse

## demo: the hub with its embedded bolt store, the demo publisher and the demo pages, on 127.0.0.1
## (ADDR=:8080 for every interface; the demo key is public and /demo/publish needs no token).
# DEMO_URL is what a person opens: a wildcard host (":8080", "0.0.0.0:8080",
# "[::]:8080") becomes localhost.
DEMO_HOSTPORT = $(if $(filter :%,$(ADDR)),localhost$(ADDR),$(patsubst 0.0.0.0:%,localhost:%,$(patsubst [::]:%,localhost:%,$(ADDR))))
DEMO_URL      = http://$(DEMO_HOSTPORT)/
demo: build
	@echo
	@echo "polysse demo: open $(DEMO_URL)"
	@echo "publish from a shell:"
	@echo "  curl -d topic=demo/chat -d data=hello -H 'Authorization: Bearer $$(cat docs/demo-token.txt)' $(DEMO_URL).well-known/mercure"
	@echo
	./bin/polysse -addr $(ADDR) -store bolt:polysse-demo.db -demo -allow-anonymous \
		-publisher-jwt-key $(DEMO_KEY) -subscriber-jwt-key $(DEMO_KEY)

# demo-url prints the URL `make demo` prints, for cmd/polysse's test of it.
.PHONY: demo-url
demo-url:
	@echo $(DEMO_URL)

## image: the container image polysse:$(IMAGE_TAG) from Containerfile, with podman (or docker when
## there is no podman): a static binary (CGO_ENABLED=0) on scratch; no registry needed.
IMAGE_TAG     ?= latest
IMAGE_STORAGE ?= vfs
CONTAINER     ?= $(shell command -v podman 2>/dev/null || command -v docker 2>/dev/null)
CONTAINER_FLAGS = $(if $(findstring podman,$(CONTAINER)),--storage-driver $(IMAGE_STORAGE))
IMAGE_VERSION = $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
image:
	@test -n "$(CONTAINER)" || { echo "make image needs podman or docker (make deps installs podman)"; exit 1; }
	rm -rf bin/image && mkdir -p bin/image/etc/ssl/certs bin/image/data
	CGO_ENABLED=0 $(GO) build -trimpath -buildvcs=auto -ldflags='-s -w' -o bin/image/polysse ./cmd/polysse
	cp /etc/ssl/certs/ca-certificates.crt bin/image/etc/ssl/certs/
	printf 'root:x:0:0:root:/:/sbin/nologin\npolysse:x:65532:65532:polysse:/data:/sbin/nologin\n' > bin/image/etc/passwd
	printf 'root:x:0:\npolysse:x:65532:\n' > bin/image/etc/group
	$(CONTAINER) $(CONTAINER_FLAGS) build --format docker --build-arg VERSION=$(IMAGE_VERSION) \
		-f Containerfile -t polysse:$(IMAGE_TAG) bin/image

## image-test: builds the image, exports its filesystem and runs its binary under chroot (containers
## cannot run on every CI machine): /healthz, the healthcheck command, a subscribe and a publish.
image-test:
	CONTAINER="$(CONTAINER)" CONTAINER_FLAGS="$(CONTAINER_FLAGS)" MAKE="$(MAKE)" bash scripts/image-test.sh

## test: every test — formatting, vet, Go unit and fuzz seeds, the web build checks, the browser e2e.
test: deps build lint dist-check test-web test-go image-test

lint: tidy-check
	@out=$$(gofmt -l $$(git ls-files '*.go') 2>/dev/null); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	cd e2e && $(GO) vet ./...
	GOOS=js GOARCH=wasm $(GO) vet ./wasm/... ./sse/...

## dist-check: web/dist is committed (so that `go install` alone gives a working binary) and is what
## the sources build: unchanged by `make build`, and reproduced byte for byte by two clean builds.
.PHONY: dist-check
dist-check:
	@if [ -n "$$(git status --porcelain web/dist)" ]; then \
		echo "web/dist differs from what make build made; commit it:"; git status --porcelain web/dist; exit 1; fi
	bash scripts/repro.sh

## tidy-check: `go mod tidy` would change nothing in any module (go.mod and go.sum are what the code needs).
.PHONY: tidy-check
tidy-check:
	@set -e; for m in $$(git ls-files 'go.mod' '*/go.mod'); do \
		d=$$(dirname $$m); (cd $$d && $(GO) mod tidy -diff >/dev/null) || { echo "go mod tidy needed in $$d:"; (cd $$d && $(GO) mod tidy -diff); exit 1; }; \
	done

test-web:
	cd web && npm test

test-go:
	$(GO) test -race -count=1 $(UNIT_PKGS)
	cd loadtest && $(GO) vet ./cmd/loadtest/ && $(GO) test -count=1 ./cmd/loadtest/
	cd e2e && $(GO) test -count=1 -timeout 25m ./...

## bench: the wire format, stores and hub; the cluster (bolt, Redis, two nodes on Redis); the browser,
## and the cold start beside its floor (an empty Go program booted the same way).
bench: build bench-server
	$(GO) test -run '^$$' -bench . -benchmem -benchtime $(BENCHTIME) ./sse/ ./server/...
	cd e2e && $(GO) test -run '^$$' -bench Cluster .
	cd e2e && $(GO) test -run '^$$' -bench 'Browser$$' -benchtime 1x .
	cd e2e && $(GO) test -run '^$$' -bench ColdStartFloor -benchtime 1x .
	cd e2e && $(GO) test -run '^$$' -bench BrowserMatrix -benchtime 1x -timeout 60m .
	cd e2e && $(GO) test -run '^$$' -bench BrowserFirstEvent -benchtime 1x .
	cd e2e && $(GO) test -run '^$$' -bench BrowserFirstEvent -benchtime 1x . -args -browserbench.hashedshim
	cd e2e && $(GO) test -run '^$$' -bench BrowserMemory -benchtime 1x -timeout 60m .

## fuzz: each fuzz target for FUZZTIME (default 30s).
fuzz:
	@set -e; for pkg in $$($(GO) list ./...); do \
		for t in $$($(GO) test -list '^Fuzz' $$pkg 2>/dev/null | grep '^Fuzz' || true); do \
			echo "== $$pkg $$t"; $(GO) test -run '^$$' -fuzz "^$$t$$" -fuzztime $(FUZZTIME) $$pkg; \
		done; \
	done

# web/dist is committed: clean leaves it (make build rewrites it).
clean:
	rm -rf bin

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
