#!/usr/bin/env bash
# deps.sh installs the system packages that `make test` and `make demo` need
# on a fresh Debian or Ubuntu machine that has only Go, Node/npm and apt-get:
#
#   chromium     headless browser for the e2e suite  (/usr/bin/chromium)
#   redis-server Redis Streams replay-log tests      (redis-server)
#   wabt         wasm-validate for the MVP check     (wasm-validate)
#   nginx-light  reverse-proxy buffering tests       (nginx)
#   firefox-esr  the Firefox conformance tests       (/usr/bin/firefox-esr)
#   podman       make image and its chroot test      (podman)
#   ca-certificates the image's CA bundle            (/etc/ssl/certs/ca-certificates.crt)
#
# It is idempotent and quiet: it installs only what is missing, runs
# `apt-get update` at most once, and prints one line per package installed.
# Services are not left running: the tests start their own redis-server and
# nginx on free ports, and a system instance on the default port only gets in
# the way.
set -euo pipefail

# package:binary pairs. A binary with a slash is checked as a path, because
# other packages (snap's chromium-browser, for example) put a different
# program on PATH under a similar name.
wanted=(
	"chromium:/usr/bin/chromium"
	"redis-server:redis-server"
	"wabt:wasm-validate"
	"nginx-light:nginx"
	"firefox-esr:/usr/bin/firefox-esr"
	"podman:podman"
	"ca-certificates:/etc/ssl/certs/ca-certificates.crt"
)

have() {
	local bin=$1
	if [[ $bin == /* ]]; then
		[[ -x $bin || ( $bin == *.crt && -s $bin ) ]]
		return
	fi
	# /usr/sbin is not on a normal user's PATH, and nginx lives there.
	command -v "$bin" >/dev/null 2>&1 || [[ -x /usr/sbin/$bin || -x /sbin/$bin ]]
}

missing=()
for pair in "${wanted[@]}"; do
	pkg=${pair%%:*}
	bin=${pair#*:}
	have "$bin" || missing+=("$pkg")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

if ! command -v apt-get >/dev/null 2>&1; then
	echo "deps.sh: missing ${missing[*]} and no apt-get here; install them by hand" >&2
	exit 1
fi

sudo=()
if [[ $(id -u) -ne 0 ]]; then
	if command -v sudo >/dev/null 2>&1; then
		sudo=(sudo -n)
	else
		echo "deps.sh: missing ${missing[*]}; run as root or install sudo" >&2
		exit 1
	fi
fi

log=$(mktemp)
policy=/usr/sbin/policy-rc.d
added_policy=
cleanup() {
	if [[ -n $added_policy ]]; then
		"${sudo[@]}" rm -f "$policy" || true
	fi
	rm -f "$log"
}
trap cleanup EXIT

run() {
	# apt-get is chatty even with -qq; keep its output for when it fails.
	if ! "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive "$@" >>"$log" 2>&1; then
		echo "deps.sh: failed: $*" >&2
		cat "$log" >&2
		exit 1
	fi
}

# policy-rc.d exiting 101 tells invoke-rc.d (used by the packages'
# maintainer scripts) not to start services, so installing redis-server and
# nginx does not leave daemons holding their default ports. Only add one when
# the machine has none, and remove it afterwards.
if [[ ! -e $policy ]]; then
	printf '#!/bin/sh\nexit 101\n' | "${sudo[@]}" tee "$policy" >/dev/null
	"${sudo[@]}" chmod 755 "$policy"
	added_policy=1
fi

run apt-get update -qq
for pkg in "${missing[@]}"; do
	run apt-get install -y -qq --no-install-recommends "$pkg"
	echo "deps.sh: installed $pkg"
done

# On a machine booted with systemd the unit may still be enabled for the next
# boot (and, with some policy setups, started): stop and disable it, ignoring
# failures, since a running system instance is harmless to the tests.
if [[ -d /run/systemd/system ]] && command -v systemctl >/dev/null 2>&1; then
	for pkg in "${missing[@]}"; do
		case $pkg in
		redis-server) unit=redis-server ;;
		nginx-light) unit=nginx ;;
		*) continue ;;
		esac
		"${sudo[@]}" systemctl disable --now "$unit" >/dev/null 2>&1 || true
	done
fi
