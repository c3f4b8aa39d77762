cd /work/wt/i11/.runs/old
P=/work/wt/i11/.venv/bin/python
timeout 1800 $P bench/dedup_quality.py --no-baseline --uci /work/shared/eval/uci-news-aggregator-6366.csv > ../base_q6366.txt 2>&1
timeout 900 $P bench/dedup_quality.py --uci /work/shared/eval/uci-news-aggregator-sample.csv --no-baseline --corpus /nonexistent > ../base_q999.txt 2>&1
timeout 600 $P bench/ingest.py > ../base_ingest.txt 2>&1
timeout 1500 $P bench/dedup_cost.py --sizes 10000 100000 --reps 3 > ../base_cost.txt 2>&1
echo done > ../base_done
