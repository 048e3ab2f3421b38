#!/usr/bin/env bash
# Reproduces the TLS termination table of issue 14 in one run, side by side:
#
#   nginx          nginx, TLS session cache off
#   caddy-static   Caddy with the certificate from files (`tls cert key`)
#   caddy-ingress  caddy-ingress with the same certificate from a
#                  kubernetes.io/tls Secret (manifests source)
#
# All three terminate TLS 1.3 with the same ECDSA P-256 certificate and
# proxy to the same backend (an nginx answering "ok") over keep-alive
# connections. Each server gets core 0 (taskset); wrk and the backend
# share core 1. wrk runs with 32 connections in three modes:
#
#   new-conn  a new connection per request (-H 'Connection: close'). wrk
#             resumes the TLS session of its previous connection when the
#             server gave it a ticket, as all three do by default (nginx's
#             session cache is off, its tickets on), so this measures
#             reconnects: PSK with X25519, no certificate, no signature.
#   full      the same against a second instance of each server with
#             session tickets off (nginx ssl_session_tickets off, Caddy's
#             tls app session_tickets disabled): every connection is a full
#             handshake, and the certificate is looked up for each one.
#   keepalive one connection per client for the whole run.
#
# The machine is shared and noisy, so each run interleaves the servers in
# short slices (nginx, static, ingress, ingress, static, nginx, ...; SLICES
# slices of SLICE seconds each per server and mode), RUNS times: compare
# the ratios within one run. For each run it prints requests/s and the
# server's CPU time per request (utime+stime from /proc/PID/stat around
# each wrk slice), then the ratios of caddy-ingress to caddy-static and
# whether they meet the issue's bar (new connections/s >= 0.95x, CPU per
# handshake within 10%), for new-conn and for full. Each connection
# carries one request, proxied (caddy-ingress through its ingress
# handler, which costs more per request than a bare reverse_proxy: see
# keepalive), so the CPU per handshake is taken as the CPU per connection
# minus the CPU per keep-alive request.
#
# Usage: bench/tls.sh            RUNS=3 SLICES=4 SLICE=3 PORT_BASE=28400
#        KEEP_DIR=1 bench/tls.sh  keeps the configs and logs for inspection
#
# Needs nginx, wrk, taskset, ss, openssl, jq, curl and go (apt-get install
# nginx-light wrk jq). Listens on 127.0.0.1 only; starts every process
# itself and stops each by its PID on exit.
set -euo pipefail
cd "$(dirname "$0")/.."

runs=${RUNS:-3}
slices=${SLICES:-4}
slice=${SLICE:-3}
base=${PORT_BASE:-28400}
backend_port=$base
nginx_port=$((base + 1))
static_port=$((base + 2))
ingress_port=$((base + 3))
nginx_full_port=$((base + 4))
static_full_port=$((base + 5))
ingress_full_port=$((base + 6))
static_http=$((base + 7))
ingress_http=$((base + 8))
static_full_http=$((base + 9))
ingress_full_http=$((base + 10))
mapfile -t ports < <(seq "$base" $((base + 10)))

script=tls.sh
# shellcheck source=bench/lib.sh
. bench/lib.sh
need_tools nginx wrk taskset ss openssl jq go curl
ports_free "${ports[@]}"
work_dir caddy-ingress-tls-bench

echo "# $(date -u +%FT%TZ) $(git rev-parse --short HEAD 2>/dev/null || echo "${REV:-unknown}") $(nginx -v 2>&1) $(wrk -v 2>&1 | head -1 | cut -d' ' -f1-2) $(openssl version | cut -d' ' -f1-2)"
echo "# runs=$runs, per run and mode $slices slices of ${slice}s per server, 32 connections, server on core 0, wrk and backend on core 1"

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
metadata: {name: bench, namespace: default}
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

# caddy_configs suffix static-http static-https ingress-http ingress-https:
# the configs of both Caddys, adapted to JSON; with suffix "-full" with
# session tickets off (the Caddyfile has no option for it).
caddy_configs() {
	local sfx=$1 static_http=$2 static_https=$3 ingress_http=$4 ingress_https=$5 name
	cat >"$dir/Caddyfile.static$sfx" <<EOF
{
$(caddy_globals "$static_http" "$static_https")
}
https://localhost:$static_https {
	tls $dir/cert.pem $dir/key.pem
	reverse_proxy 127.0.0.1:$backend_port
}
EOF
	cat >"$dir/Caddyfile.ingress$sfx" <<EOF
{
$(caddy_globals "$ingress_http" "$ingress_https")
	ingress {
		manifests $dir/manifests
	}
}
:$ingress_https {
	ingress
}
EOF
	for name in static ingress; do
		"$dir/caddy" adapt --adapter caddyfile --config "$dir/Caddyfile.$name$sfx" 2>/dev/null |
			if [ "$sfx" = -full ]; then jq '.apps.tls.session_tickets.disabled = true'; else jq .; fi >"$dir/caddy-$name$sfx.json"
	done
}
caddy_configs "" "$static_http" "$static_port" "$ingress_http" "$ingress_port"
caddy_configs -full "$static_full_http" "$static_full_port" "$ingress_full_http" "$ingress_full_port"

nginx_conf backend "server { listen 127.0.0.1:$backend_port; location / { return 200 \"ok\n\"; } }" >"$dir/backend.conf"
# nginx_server port tickets
nginx_server() {
	cat <<EOF
	upstream backend { server 127.0.0.1:$backend_port; keepalive 64; }
	server {
		listen 127.0.0.1:$1 ssl;
		server_name localhost;
		ssl_certificate $dir/cert.pem;
		ssl_certificate_key $dir/key.pem;
		ssl_protocols TLSv1.3;
		ssl_session_cache off;
		ssl_session_tickets $2;
		location / {
			proxy_pass http://backend;
			proxy_http_version 1.1;
			proxy_set_header Connection "";
		}
	}
EOF
}
nginx_conf nginx "$(nginx_server "$nginx_port" on)" >"$dir/nginx.conf"
nginx_conf nginx-full "$(nginx_server "$nginx_full_port" off)" >"$dir/nginx-full.conf"

start backend 1 nginx -p "$dir" -c "$dir/backend.conf"
start nginx 0 nginx -p "$dir" -c "$dir/nginx.conf"
start nginx-full 0 nginx -p "$dir" -c "$dir/nginx-full.conf"
for name in caddy-static caddy-ingress caddy-static-full caddy-ingress-full; do
	start "$name" 0 "$dir/caddy" run --config "$dir/$name.json"
done

declare -A port_of=([nginx]=$nginx_port [caddy-static]=$static_port [caddy-ingress]=$ingress_port
	[nginx-full]=$nginx_full_port [caddy-static-full]=$static_full_port [caddy-ingress-full]=$ingress_full_port)
servers=(nginx caddy-static caddy-ingress)

# Wait (bounded) until each server answers "ok" through the backend.
for name in "${!port_of[@]}"; do
	await_ok "$name" "https://localhost:${port_of[$name]}/"
done

# measure name mode: one wrk slice of $slice seconds; prints "requests
# seconds cpu-ticks" (the server's CPU time in clock ticks).
measure() {
	local name=$1 mode=$2 hdr=() out c0 c1
	[ "$mode" = keepalive ] || hdr=(-H 'Connection: close')
	c0=$(cpu_ticks "${pid_of[$name]}")
	out=$(taskset -c 1 wrk -t1 -c32 -d"${slice}s" "${hdr[@]}" "https://localhost:${port_of[$name]}/")
	c1=$(cpu_ticks "${pid_of[$name]}")
	if grep -q "Non-2xx\|Socket errors" <<<"$out"; then
		echo "tls.sh: $name $mode had errors:" >&2
		echo "$out" >&2
	fi
	awk -v c=$((c1 - c0)) '/requests in/ {sub(/s,$/, "", $4); print $1, $4, c}' <<<"$out"
}

# Each run measures each mode in slices: slice k goes nginx, static,
# ingress when k is odd and the other way round when k is even, so that a
# drift of the machine's load favours no server; a server's rate is its
# requests over its time in all slices of the run.
declare -A result
modes=(new-conn full keepalive)
printf '\n%-4s %-14s %11s %10s %11s %10s %11s %10s\n' run server "new-conn/s" "cpu-µs/req" "full/s" "cpu-µs/req" "keepalive/s" "cpu-µs/req"
for run in $(seq "$runs"); do
	declare -A n=() secs=() ticks=()
	for mode in "${modes[@]}"; do
		for k in $(seq "$slices"); do
			order=("${servers[@]}")
			((k % 2 == 0)) && order=("${servers[2]}" "${servers[1]}" "${servers[0]}")
			for name in "${order[@]}"; do
				target=$name
				[ "$mode" = full ] && target=$name-full
				read -r rn rs rt < <(measure "$target" "$mode")
				n[$mode,$name]=$((${n[$mode,$name]:-0} + rn))
				secs[$mode,$name]=$(awk -v a="${secs[$mode,$name]:-0}" -v b="$rs" 'BEGIN {print a + b}')
				ticks[$mode,$name]=$((${ticks[$mode,$name]:-0} + rt))
			done
		done
	done
	for name in "${servers[@]}"; do
		line=""
		for mode in "${modes[@]}"; do
			line+=$(awk -v n="${n[$mode,$name]}" -v s="${secs[$mode,$name]}" -v t="${ticks[$mode,$name]}" -v us="$tick_us" \
				'BEGIN {printf " %.1f %.0f", n / s, t * us / n}')
		done
		result[$run,$name]=$line
		# shellcheck disable=SC2086
		printf '%-4s %-14s %11s %10s %11s %10s %11s %10s\n' "$run" "$name" $line
	done
	unset n secs ticks
done

echo
# A connection carries one request; what it costs beyond the request is
# the handshake: CPU per request of new-conn (or full) minus that of
# keepalive.
echo "caddy-ingress / caddy-static, per run. conn: CPU per connection; hs: per handshake, i.e. per connection"
echo "minus per keep-alive request. Bar, for new-conn and full: connections/s >= 0.95, hs <= 1.10."
fail=0
for run in $(seq "$runs"); do
	verdict=$(awk -v s="${result[$run,caddy-static]}" -v i="${result[$run,caddy-ingress]}" 'BEGIN {
		split(s, a, " "); split(i, b, " ")
		ok = 1
		out = ""
		for (k = 1; k <= 3; k += 2) {
			r = b[k] / a[k]; c = b[k + 1] / a[k + 1]; h = (b[k + 1] - b[6]) / (a[k + 1] - a[6])
			if (r < 0.95 || h > 1.10) ok = 0
			out = out sprintf("%s/s %.2f conn %.2f hs %.2f | ", k == 1 ? "new-conn" : "full", r, c, h)
		}
		printf "%skeepalive/s %.2f cpu %.2f | %s", out, b[5] / a[5], b[6] / a[6], ok ? "ok" : "BELOW BAR"
	}')
	echo "run $run: $verdict"
	grep -q "BELOW BAR" <<<"$verdict" && fail=1
done
exit $fail
