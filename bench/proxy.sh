#!/usr/bin/env bash
# Runs BenchmarkProxy in rounds, each sub-benchmark in a fresh process,
# and prints the median time and CPU per request of each sub-benchmark
# with its ratio to the bare Caddy reverse_proxy sending the same client
# headers; then BenchmarkProxyPaired as many times, and the median of
# its ratios. ROUNDS (default 8) and BENCHTIME (default 20000x) tune it;
# OUT names a file for the raw output (default: a temporary one).
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${ROUNDS:-8}
benchtime=${BENCHTIME:-20000x}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
out=${OUT:-$work/raw.txt}
: >"$out"

# A process left listening with SO_REUSEPORT would share the load.
if ss -ltnp | awk 'NR > 1 && $4 !~ /:2024$/' | grep -q .; then
	echo "warning: other listeners are up (ss -ltnp):" >&2
	ss -ltnp >&2
fi

go test -c -o "$work/bench.test" .
subs=$(cd "$work" && ./bench.test -test.run '^$' -test.bench '^BenchmarkProxy$' -test.benchtime 1x 2>/dev/null |
	sed -n 's/^BenchmarkProxy\/\(\S*\)-[0-9]*\s.*/\1/p')
uptime | tee -a "$out"
# Each sub-benchmark in a process of its own, in a shuffled order each
# round: no sub-benchmark runs on the heap or in the machine state that
# the ones before it left.
for r in $(seq "$rounds"); do
	for sub in $(shuf -e $subs); do
		quoted=$(printf '%s' "$sub" | sed 's/[+.]/\\&/g; s#/#$/^#g')
		pattern="^BenchmarkProxy\$/^$quoted\$"
		(cd "$work" && ./bench.test -test.run '^$' -test.bench "$pattern" -test.benchtime "$benchtime") 2>/dev/null |
			grep '^BenchmarkProxy/' | sed "s/^/round=$r /" | tee -a "$out"
	done
done

python3 - "$out" <<'PY'
import collections, re, statistics, sys
runs = collections.defaultdict(list)
for line in open(sys.argv[1]):
    m = re.match(r'round=\d+ BenchmarkProxy/(\S+?)-\d+\s+\d+\s+([\d.]+) ns/op\s+([\d.]+) cpu-ns/op', line)
    if m:
        runs[m.group(1)].append((float(m.group(2)), float(m.group(3))))
med = {k: (statistics.median(t for t, _ in v), statistics.median(c for _, c in v)) for k, v in runs.items()}
print(f"{'sub-benchmark':58} {'median':>9} {'cpu':>9} {'x bare':>7} {'x bare cpu':>10}")
for k in sorted(med):
    client = k.rsplit('/', 1)[1]
    base = med.get('caddy-reverse_proxy/' + client)
    t, c = med[k]
    ratio = f"{t / base[0]:7.2f} {c / base[1]:10.2f}" if base else ""
    print(f"{k:58} {t / 1000:8.1f}µ {c / 1000:8.1f}µ {ratio}")
PY

# The same ratios measured within one process, blocks of requests
# alternating between the two sides (BenchmarkProxyPaired).
(cd "$work" && ./bench.test -test.run '^$' -test.bench '^BenchmarkProxyPaired$' -test.benchtime "$benchtime" -test.count "$rounds") 2>/dev/null |
	grep '^BenchmarkProxyPaired/' | tee -a "$out" | tee "$work/paired.txt"
python3 - "$work/paired.txt" <<'PY'
import collections, re, statistics, sys
runs = collections.defaultdict(list)
for line in open(sys.argv[1]):
    m = re.match(r'BenchmarkProxyPaired/(\S+?)-\d+\s.*?([\d.]+) x-bare\s+([\d.]+) x-bare-cpu', line)
    if m:
        runs[m.group(1)].append((float(m.group(2)), float(m.group(3))))
print(f"{'paired':48} {'x bare (median, range)':>26} {'x bare cpu (median, range)':>30}")
for k in sorted(runs):
    t = [x for x, _ in runs[k]]; c = [y for _, y in runs[k]]
    print(f"{k:48} {statistics.median(t):8.3f} ({min(t):.3f}-{max(t):.3f}) {statistics.median(c):12.3f} ({min(c):.3f}-{max(c):.3f})")
PY
uptime | tee -a "$out"
