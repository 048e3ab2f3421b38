#!/usr/bin/env bash
# Proxying through real processes, side by side in one run (issue 12):
#
#   caddy-static   Caddy with one site: `reverse_proxy` to the backend
#   caddy-ingress  caddy-ingress with one Ingress to a Service whose
#                  EndpointSlice is the same backend (manifests source)
#
# Both Caddys run on core 0 (taskset). Each round measures them at the
# same time, two wrk at once, so that both see the same machine and the
# same load of its other tenants; and each alone, in turn. wrk and
# the backend (an nginx answering "ok") share core 1. Each Caddy serves
# plain HTTP and HTTPS (TLS 1.3, ECDSA P-256, a certificate from files for
# Caddy and from a kubernetes.io/tls Secret for caddy-ingress), over
# keep-alive connections, with wrk sending no header but Host
# (client=none) or a browser's eight (client=browser).
#
# Each round measures each case paired (both at once) and alone (each
# with core 0 to itself, in turn): see the comment above the loop. For
# each it prints the CPU time per request of each Caddy (utime+stime from
# /proc/PID/stat around the slice) and caddy-ingress's ratios to
# caddy-static; then, per case, the medians over the rounds. The backend
# runs in its own process, so what it costs to parse the extra headers
# ingress-nginx sends is not counted as the proxy's.
#
# Usage: bench/proxy-processes.sh     ROUNDS=5 SLICE=5 PORT_BASE=28600
#
# Needs nginx, wrk, taskset, ss, openssl, curl and go (apt-get install
# nginx-light wrk). Listens on 127.0.0.1 only; starts every process itself
# and stops each by its PID on exit.
set -euo pipefail
cd "$(dirname "$0")/.."

rounds=${ROUNDS:-5}
slice=${SLICE:-5}
base=${PORT_BASE:-28600}
backend_port=$base
static_http=$((base + 1))
static_https=$((base + 2))
ingress_http=$((base + 3))
ingress_https=$((base + 4))
static_other=$((base + 5))
ingress_other=$((base + 6))
mapfile -t ports < <(seq "$base" $((base + 6)))

script=proxy-processes.sh
# shellcheck source=bench/lib.sh
. bench/lib.sh
need_tools nginx wrk taskset ss openssl go curl
ports_free "${ports[@]}"
work_dir caddy-ingress-proxy-bench

echo "# $(date -u +%FT%TZ) $(git rev-parse --short HEAD 2>/dev/null || echo unknown) $(nginx -v 2>&1) $(wrk -v 2>&1 | head -1 | cut -d' ' -f1-2)"
echo "# rounds=$rounds, ${slice}s slices, Caddys on core 0, wrk (1 thread, 16 connections each) and the backend on core 1; $(uptime | sed 's/.*load/load/')"

go build -o "$dir/caddy" ./cmd/caddy

make_cert

mkdir -p "$dir/manifests"
cat >"$dir/manifests/bench.yaml" <<EOF
apiVersion: v1
kind: Secret
metadata: {name: bench-tls, namespace: default}
type: kubernetes.io/tls
data:
  tls.crt: $(base64 -w0 "$dir/cert.pem")
  tls.key: $(base64 -w0 "$dir/key.pem")
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: bench
  namespace: default
  # Plain HTTP is served as such, not redirected: both Caddys serve the
  # same requests on both ports.
  annotations: {nginx.ingress.kubernetes.io/ssl-redirect: "false"}
spec:
  ingressClassName: caddy
  tls:
  - hosts: [localhost]
    secretName: bench-tls
  rules:
  - host: localhost
    http:
      paths:
      - path: /
        pathType: Prefix
        backend:
          service: {name: backend, port: {number: 80}}
---
$(backend_manifests "$backend_port")
EOF

cat >"$dir/Caddyfile.static" <<EOF
{
$(caddy_globals "$static_other" "$static_https")
}
http://localhost:$static_http {
	reverse_proxy 127.0.0.1:$backend_port
}
https://localhost:$static_https {
	tls $dir/cert.pem $dir/key.pem
	reverse_proxy 127.0.0.1:$backend_port
}
EOF
cat >"$dir/Caddyfile.ingress" <<EOF
{
$(caddy_globals "$ingress_other" "$ingress_https")
	ingress {
		manifests $dir/manifests
	}
}
http://:$ingress_http {
	ingress
}
:$ingress_https {
	ingress
}
EOF

nginx_conf backend "server { listen 127.0.0.1:$backend_port; location / { return 200 \"ok\n\"; } }" >"$dir/backend.conf"

start backend 1 nginx -p "$dir" -c "$dir/backend.conf"
start caddy-static 0 "$dir/caddy" run --adapter caddyfile --config "$dir/Caddyfile.static"
start caddy-ingress 0 "$dir/caddy" run --adapter caddyfile --config "$dir/Caddyfile.ingress"

# Wait (bounded) until each Caddy answers "ok" through the backend.
await_ok caddy-static "http://localhost:$static_http/"
await_ok caddy-static "https://localhost:$static_https/"
await_ok caddy-ingress "http://localhost:$ingress_http/"
await_ok caddy-ingress "https://localhost:$ingress_https/"

browser=(-H 'User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36'
	-H 'Accept: text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8'
	-H 'Accept-Language: en-US,en;q=0.9' -H 'Accept-Encoding: gzip, deflate, br, zstd'
	-H 'Sec-Fetch-Dest: document' -H 'Sec-Fetch-Mode: navigate' -H 'Sec-Fetch-Site: none'
	-H 'Upgrade-Insecure-Requests: 1')


# load name scheme client out: wrk against one Caddy for $slice seconds;
# writes "requests ticks" (the Caddy's CPU time in clock ticks) to out.
load() {
	local name=$1 scheme=$2 client=$3 out=$4 hdr=() port c0 c1
	[ "$client" = browser ] && hdr=("${browser[@]}")
	port=${port_of[$name/$scheme]}
	c0=$(cpu_ticks "${pid_of[$name]}")
	taskset -c 1 wrk -t1 -c16 -d"${slice}s" "${hdr[@]}" "$scheme://localhost:$port/" >"$out.wrk"
	c1=$(cpu_ticks "${pid_of[$name]}")
	if grep -q "Non-2xx\|Socket errors" "$out.wrk"; then
		echo "proxy-processes.sh: $name $scheme $client had errors:" >&2
		cat "$out.wrk" >&2
		exit 1
	fi
	echo "$(awk '/requests in/ {print $1}' "$out.wrk") $((c1 - c0))" >"$out"
}
declare -A port_of=([caddy-static/http]=$static_http [caddy-static/https]=$static_https
	[caddy-ingress/http]=$ingress_http [caddy-ingress/https]=$ingress_https)

# ratios sn st gn gt: "x-cpu x-req" of caddy-ingress (gn requests, gt
# ticks) to caddy-static (sn, st).
ratios() { awk -v sn="$1" -v st="$2" -v gn="$3" -v gt="$4" 'BEGIN {printf "%.3f %.3f", (gt / gn) / (st / sn), gn / sn}'; }

# Each round measures each case twice:
#   paired  both Caddys at once (two wrk), sharing core 0: the same
#           moment of the machine for both. Their CPU per request is the
#           measure; how they split the core is the scheduler's, so their
#           request counts say less.
#   alone   each Caddy in turn with core 0 to itself (the order alternates
#           by round): requests per second when the proxy's core is the
#           limit.
cases=(http/none http/browser https/none https/browser)
printf '\n%-5s %-14s %9s %9s %9s %9s %9s %9s\n' round case "static µs" "ingr. µs" "x cpu" "x req" "alone x/s" "alone cpu"
results=()
for round in $(seq "$rounds"); do
	for c in $(shuf -e "${cases[@]}"); do
		scheme=${c%/*} client=${c#*/}
		load caddy-static "$scheme" "$client" "$dir/ps" &
		a=$!
		load caddy-ingress "$scheme" "$client" "$dir/pi" &
		b=$!
		wait "$a" "$b"
		read -r sn st <"$dir/ps"
		read -r gn gt <"$dir/pi"
		if ((round % 2)); then order=(caddy-static caddy-ingress); else order=(caddy-ingress caddy-static); fi
		for name in "${order[@]}"; do load "$name" "$scheme" "$client" "$dir/solo-$name"; done
		read -r an at <"$dir/solo-caddy-static"
		read -r bn bt <"$dir/solo-caddy-ingress"
		line=$(awk -v sn="$sn" -v st="$st" -v gn="$gn" -v gt="$gt" -v us="$tick_us" \
			'BEGIN {printf "%9.1f %9.1f", st * us / sn, gt * us / gn}')
		line+=" $(ratios "$sn" "$st" "$gn" "$gt") $(ratios "$an" "$at" "$bn" "$bt" | awk '{print $2, $1}')"
		# shellcheck disable=SC2086
		printf '%-5s %-14s %9s %9s %9s %9s %9s %9s\n' "$round" "$c" $line
		results+=("$c $line")
	done
done

echo
echo "caddy-ingress / caddy-static, median (range) over $rounds rounds. Paired: CPU per request (below 1"
echo "is cheaper). Alone: requests per second (above 1 is faster) and CPU per request."
printf '%s\n' "${results[@]}" | python3 -c '
import collections, statistics, sys
r = collections.defaultdict(list)
for line in sys.stdin:
    f = line.split()
    r[f[0]].append([float(x) for x in f[3:7]])
def m(v):
    return f"{statistics.median(v):.3f} ({min(v):.3f}-{max(v):.3f})"
for c in ("http/none", "http/browser", "https/none", "https/browser"):
    col = list(zip(*r[c]))
    print(f"{c:14} paired cpu {m(col[0])}   alone req/s {m(col[2])}, cpu {m(col[3])}")
'
