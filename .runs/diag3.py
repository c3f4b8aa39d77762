import sys
sys.path.insert(0, '.')
from bench import fit_dedup as fd
from bench.dedup_quality import bcubed
from bot.dedup import story as st
recs = fd.uci_records(fd.DEFAULT_UCI, "shuffled", 11, 6.0)
docs = fd.docs_of(recs, lambda a, b: {})
gold = {str(r['id']): r['story'] for r in recs}
feat = sys.argv[1]
for c in map(float, sys.argv[2:]):
    w = tuple(10.0 if n == feat else 0.0 for n in st.FEATURES)
    model = st.Model(-10 * c, w, 0.5)
    pred = fd.cluster_online(recs, docs, model, 36*3600)
    p, r, f = bcubed(pred, gold)
    print(feat, c, f"P {p:.3f} R {r:.3f} F1 {f:.3f}", flush=True)
