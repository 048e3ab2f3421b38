#!/usr/bin/env bash
# Runs the benchmarks whose results bench/README.md records. The numbers
# that matter are ratios within one run (the machine is shared and noisy).
set -euo pipefail
cd "$(dirname "$0")/.."
count=${COUNT:-5}
go test -run '^$' -bench 'BenchmarkTranslate10k' -benchmem -count "$count" ./ingress/
go test -run '^$' -bench 'BenchmarkDispatch|BenchmarkPathDispatch' -benchmem -count "$count" .
go test -run '^$' -bench 'BenchmarkApplyOneChange/one-of' -benchmem -benchtime 100x -count "$count" .
go test -run '^$' -bench 'BenchmarkProxy' -count "$count" .
go test -run '^$' -bench 'BenchmarkManyEndpoints' -benchmem -benchtime 5000x -count "$count" .
go test -run '^$' -bench 'BenchmarkApplyOneChange/initial' -benchmem -benchtime 1x -count 1 .
go test -run '^$' -bench 'BenchmarkFirstApplyOneService' -benchmem -benchtime 1x -count "$count" .
go test -run '^$' -bench 'BenchmarkTrafficAnnotations|BenchmarkLimit' -benchmem -count "$count" .
