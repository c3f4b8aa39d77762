import sys, re, json
sys.path.insert(0, '.')
from bench import fit_dedup as fd
from bench.dedup_quality import _tagger, bcubed
from bot.dedup import story as st
from collections import defaultdict, Counter
st.RECENT = int(sys.argv[3])
line = [l for l in open(sys.argv[1]) if 'weights:' in l][-1]
W = dict(re.findall(r"(\w+) ([+-][\d.]+)", line))
b0 = float(W.pop('intercept'))
model = st.Model(b0, tuple(float(W[n]) for n in st.FEATURES), float(sys.argv[2]))
recs = fd.datasets(fd.DEFAULT_UCI, fd.DEFAULT_CORPUS)["corpus"]
docs = fd.docs_of(recs, _tagger())
pred = fd.cluster_online(recs, docs, model, 72*3600)
by = defaultdict(list)
for r in recs: by[pred[str(r['id'])]].append(r)
for m in by.values():
    c = Counter(x['story'] for x in m)
    if len(c) > 1: print(len(m), c.most_common())
print(bcubed(pred, {str(r['id']): r['story'] for r in recs}))
