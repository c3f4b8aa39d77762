cd /work/wt/i11
P=.venv/bin/python
timeout 1800 $P -u bench/dedup_quality.py --no-baseline > .runs/new_q6366.txt 2>&1 &
timeout 1200 $P -u bench/dedup_quality.py --uci ../shared/eval/uci-news-aggregator-sample.csv --no-baseline --corpus /nonexistent > .runs/new_q999.txt 2>&1
wait
timeout 600 $P bench/ingest.py > .runs/new_ingest.txt 2>&1
timeout 1500 $P bench/dedup_cost.py --sizes 10000 100000 --reps 3 > .runs/new_cost.txt 2>&1
echo done > .runs/new_done
