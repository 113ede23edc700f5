#!/usr/bin/env bash
# The container image's smoke test (make image-test, part of make test).
# Containers cannot run on every machine that builds images (no cgroups
# here), so this builds the image with `make image`, exports the filesystem
# of a container created from it, and runs the image's own binary under
# chroot as the image's user, with the image's environment, on a free
# loopback port. It checks the image's metadata, /healthz, the healthcheck
# command, the bolt file on the volume, a subscribe and a publish.
# Without podman or docker it fails when CI is set, and skips otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."
: "${CONTAINER:=$(command -v podman || command -v docker || true)}"
: "${MAKE:=make}"
if [ -z "$CONTAINER" ]; then
  if [ -n "${CI:-}" ]; then echo "image-test: podman (or docker) is missing; make deps installs podman" >&2; exit 1; fi
  echo "image-test: SKIP: no podman or docker (make deps installs podman)"; exit 0
fi
if ! command -v chroot >/dev/null || [ "$(id -u)" != 0 ]; then
  if [ -n "${CI:-}" ]; then echo "image-test: needs chroot and root" >&2; exit 1; fi
  echo "image-test: SKIP: chroot needs root"; exit 0
fi
image=polysse:test
c() { "$CONTAINER" ${CONTAINER_FLAGS:-} "$@"; }

tmp=$(mktemp -d)
cid=
pid=
cleanup() {
  local rc=$?
  if [ -n "$pid" ]; then kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null || true; fi
  if [ -n "$cid" ]; then c rm -f "$cid" >/dev/null 2>&1 || true; fi
  rm -rf "$tmp"
  exit "$rc"
}
trap cleanup EXIT
fail() { echo "image-test: FAIL: $*" >&2; [ -f "$tmp/hub.log" ] && sed 's/^/  hub: /' "$tmp/hub.log" >&2; exit 1; }

"$MAKE" --no-print-directory image IMAGE_TAG=test

# The image's metadata: a non-root user, the volume, the health check, and
# nothing but what the Containerfile puts there.
user=$(c image inspect --format '{{.Config.User}}' "$image")
[ "$user" = 65532:65532 ] || fail "image user is '$user', want 65532:65532"
c image inspect --format '{{json .Config.Volumes}}' "$image" | grep -q '"/data"' || fail "no /data volume"
health=$(c image inspect --format '{{json .Config.Healthcheck}}' "$image")
echo "$health" | grep -q '"/usr/local/bin/polysse","healthcheck"' || fail "healthcheck is $health"
env=$(c image inspect --format '{{range .Config.Env}}{{println .}}{{end}}' "$image")

# --no-healthcheck: the check runs below, by hand; podman would schedule it with systemd.
cid=$(c create --no-healthcheck "$image")
mkdir "$tmp/root"
c export "$cid" | tar -x -C "$tmp/root"
root=$tmp/root
files=$(cd "$root" && find . -type f | sort | tr '\n' ' ')
[ "$files" = "./etc/group ./etc/passwd ./etc/ssl/certs/ca-certificates.crt ./usr/local/bin/polysse " ] ||
  fail "the image holds $files"
[ -s "$root/etc/ssl/certs/ca-certificates.crt" ] || fail "no CA certificates"
# Static: no program interpreter (a dynamic binary would not run on scratch).
if LC_ALL=C grep -qa '/lib64/ld-linux\|/lib/ld-musl' "$root/usr/local/bin/polysse"; then fail "the binary is dynamically linked"; fi
[ "$(stat -c %u "$root/data")" = 65532 ] || fail "/data is not owned by the image's user"

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
addr=127.0.0.1:$port
key=image-test-key
# The image's environment, then the test's own settings on top.
mapfile -t envs <<<"$env"
in_image() { env -i "${envs[@]}" POLYSSE_ADDR="$addr" "$@"; }
# Not through in_image: $! must be the binary's pid, not a subshell's.
env -i "${envs[@]}" POLYSSE_ADDR="$addr" POLYSSE_PUBLISHER_JWT_KEY=$key POLYSSE_ALLOW_ANONYMOUS=true \
  chroot --userspec=65532:65532 "$root" /usr/local/bin/polysse serve >"$tmp/hub.log" 2>&1 &
pid=$!
for _ in $(seq 100); do
  curl -fsS "http://$addr/healthz" >/dev/null 2>&1 && break
  kill -0 "$pid" 2>/dev/null || fail "the binary exited"
  sleep 0.1
done
curl -fsS "http://$addr/healthz" >/dev/null || fail "/healthz"
# The HEALTHCHECK command itself, from the image, with the image's env.
in_image chroot --userspec=65532:65532 "$root" /usr/local/bin/polysse healthcheck >/dev/null || fail "polysse healthcheck"
[ -f "$root/data/polysse.db" ] || fail "no bolt file in the /data volume"
curl -fsS "http://$addr/polyfill/eventsource.js" | grep -q EventSourcePolyfill || fail "the polyfill is not served"

curl -sN --max-time 20 "http://$addr/.well-known/mercure?topic=image/test" >"$tmp/stream" &
sub=$!
for _ in $(seq 100); do grep -q '^retry:' "$tmp/stream" 2>/dev/null && break; sleep 0.1; done
token=$(in_image chroot --userspec=65532:65532 "$root" /usr/local/bin/polysse token -publish 'image/{name}' -publisher-jwt-key $key)
id=$(curl -fsS -d topic=image/test -d data=hello-from-the-image -H "Authorization: Bearer $token" "http://$addr/.well-known/mercure") ||
  fail "publish"
for _ in $(seq 100); do grep -q 'data: hello-from-the-image' "$tmp/stream" && break; sleep 0.1; done
kill "$sub" 2>/dev/null || true
grep -q 'data: hello-from-the-image' "$tmp/stream" || fail "the subscriber did not get the update; it got: $(cat "$tmp/stream")"
grep -qF "id: $id" "$tmp/stream" || fail "the event id $id is not in the stream"
kill "$pid"; wait "$pid" 2>/dev/null || true; pid=
grep -q 'msg=stopped' "$tmp/hub.log" || fail "no clean stop at SIGTERM"
echo "image-test: ok ($(c image inspect --format '{{.Size}}' "$image") bytes; healthz, healthcheck, bolt on /data, subscribe, publish $id)"
