#!/usr/bin/env bash
# Runs newsbeam on the DirectRunner over the bundled samples into ./out, then
# prints articles per date and language. Arguments pass through to newsbeam:
#   ./run_local.sh --input 'my/*.txt' --output /data/news
# When no --input is given, samples/ is read; when no --output, ./out is written.
# newsbeam sizes the DirectRunner itself: one process for a small run, one
# worker per core for a large one (logged); Beam's own flags choose instead, e.g.
#   ./run_local.sh --direct_running_mode=multi_processing --direct_num_workers=2
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
"$root/scripts/ensure_venv.sh" ""
args=("$@")
output="$root/out"
has_input=0
has_output=0
for ((i = 0; i < ${#args[@]}; i++)); do
  case "${args[$i]}" in
    --input|--input=*) has_input=1 ;;
    --output) has_output=1; output="${args[$((i + 1))]:-}" ;;
    --output=*) has_output=1; output="${args[$i]#--output=}" ;;
  esac
done
defaults=(--runner=DirectRunner)
[ "$has_input" = 1 ] || defaults+=(--input "$root/samples")
[ "$has_output" = 1 ] || defaults+=(--output "$output")
"$root/.venv/bin/newsbeam" "${defaults[@]}" ${args[@]+"${args[@]}"}
"$root/.venv/bin/python" - "$output" <<'PY'
import glob
import sys
import duckdb
out = sys.argv[1]
if not glob.glob(f"{out}/articles/**/*.parquet", recursive=True):
    print(f"\nNo articles in {out}/articles yet (the summary above says why).")
    sys.exit(0)
print(f"\nArticles in {out}/articles, per date and language:")
duckdb.sql(f"""
    SELECT date, lang, count(*) AS articles, list(title ORDER BY title) AS titles
    FROM read_parquet('{out}/articles/**/*.parquet', hive_partitioning = true)
    GROUP BY date, lang ORDER BY date, lang""").show(max_width=160)
PY
