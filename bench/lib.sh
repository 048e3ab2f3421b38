# Shared by the benchmark scripts that run servers as processes
# (tls.sh, proxy-processes.sh): source it after setting $script to the
# script's name. Every process is started with start and stopped by its
# PID when the script exits.

# need_tools tool...: exits unless each tool is installed, and unless
# the machine has the 2 cores the scripts pin servers and load to.
need_tools() {
	local tool
	for tool in "$@"; do
		command -v "$tool" >/dev/null || { echo "$script: $tool not found (apt-get install nginx-light wrk jq)" >&2; exit 1; }
	done
	if [ "$(nproc)" -lt 2 ]; then
		echo "$script: needs 2 cores (one for the servers, one for wrk and the backend)" >&2
		exit 1
	fi
}

# ports_free port...: exits if something listens on one of the ports: a
# leftover of an earlier run, or a Caddy sharing one with SO_REUSEPORT,
# would take part of the load.
ports_free() {
	local listening p
	listening=$(ss -ltnp)
	for p in "$@"; do
		if grep -qE "[:.]$p\b" <<<"$listening"; then
			echo "$script: port $p is in use; leftover process?" >&2
			grep -E "[:.]$p\b" <<<"$listening" >&2
			exit 1
		fi
	done
}

# work_dir prefix: makes $dir, and on exit stops every process start
# started and removes $dir (KEEP_DIR=1 keeps it).
work_dir() {
	dir=$(mktemp -d "/tmp/$1.XXXXXX")
	mkdir -p "$dir/home" "$dir/tmp"
	pids=()
	trap cleanup EXIT
}
cleanup() {
	local pid
	for pid in "${pids[@]}"; do
		kill "$pid" 2>/dev/null || true
	done
	for pid in "${pids[@]}"; do
		wait "$pid" 2>/dev/null || true
	done
	if [ -n "${KEEP_DIR:-}" ]; then
		echo "$script: configs and logs kept in $dir" >&2
	else
		rm -rf "$dir"
	fi
}

# make_cert: one ECDSA P-256 certificate for "localhost" in
# $dir/cert.pem and $dir/key.pem (wrk sends the URL's host as SNI, and
# localhost resolves to 127.0.0.1 without touching /etc/hosts).
make_cert() {
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
		-keyout "$dir/key.pem" -out "$dir/cert.pem" -days 7 -subj /CN=localhost \
		-addext subjectAltName=DNS:localhost 2>/dev/null
}

# backend_manifests port: the Service "backend" and its EndpointSlice
# (127.0.0.1:port) in YAML, for the manifests source.
backend_manifests() {
	cat <<EOF
apiVersion: v1
kind: Service
metadata: {name: backend, namespace: default}
spec:
  ports:
  - port: 80
    targetPort: $1
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: backend-1
  namespace: default
  labels: {kubernetes.io/service-name: backend}
addressType: IPv4
ports:
- port: $1
  protocol: TCP
endpoints:
- addresses: ["127.0.0.1"]
  conditions: {ready: true}
EOF
}

# caddy_globals http-port https-port: the global options of the Caddys:
# no admin endpoint, no HTTP/3 (wrk speaks TCP only), loopback only,
# warnings only; https-port makes a site on that port HTTPS.
caddy_globals() {
	cat <<EOF
	admin off
	http_port $1
	https_port $2
	default_bind 127.0.0.1
	servers {
		protocols h1 h2
	}
	log {
		level WARN
	}
EOF
}

# nginx_conf name http-block: an nginx config that runs in the
# foreground with one process (master_process off), so that the PID we
# start is the one that works.
nginx_conf() {
	cat <<EOF
daemon off;
master_process off;
worker_processes 1;
pid $dir/$1.pid;
error_log $dir/$1.error.log warn;
events { worker_connections 4096; }
http {
	access_log off;
	client_body_temp_path $dir/tmp;
	proxy_temp_path $dir/tmp;
	fastcgi_temp_path $dir/tmp;
	uwsgi_temp_path $dir/tmp;
	scgi_temp_path $dir/tmp;
	keepalive_requests 1000000;
	$2
}
EOF
}

# start name core command...: runs the command on the core, with its
# output in $dir/name.log; pid_of[name] is its PID.
declare -A pid_of
start() {
	local name=$1 core=$2
	shift 2
	HOME=$dir/home XDG_DATA_HOME=$dir/home XDG_CONFIG_HOME=$dir/home \
		taskset -c "$core" "$@" >"$dir/$name.log" 2>&1 &
	pids+=("$!")
	pid_of[$name]=$!
}

# await_ok name url: waits (bounded) until the url answers "ok"; exits
# if the process name exits first or it never does.
await_ok() {
	local name=$1 url=$2
	for _ in $(seq 100); do
		if ! kill -0 "${pid_of[$name]}" 2>/dev/null; then
			echo "$script: $name exited:" >&2
			cat "$dir/$name.log" >&2
			exit 1
		fi
		if [ "$(curl -sk --max-time 2 "$url")" = "ok" ]; then
			return
		fi
		sleep 0.1
	done
	echo "$script: $name does not answer at $url" >&2
	cat "$dir/$name.log" >&2
	exit 1
}

# cpu_ticks pid: the user and system CPU time of the process, in clock
# ticks of tick_us microseconds.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
tick_us=$((1000000 / $(getconf CLK_TCK)))
