import sys, re
sys.path.insert(0, '.')
from bench import fit_dedup as fd
from bot.dedup import story as st
from collections import defaultdict, Counter
st.RECENT = 10
line = [l for l in open('.runs/fit4_k10.txt') if 'weights:' in l][0]
W = dict(re.findall(r"(\w+) ([+-][\d.]+)", line))
b0 = float(W.pop('intercept'))
model = st.Model(b0, tuple(float(W[n]) for n in st.FEATURES), float(sys.argv[1]))
recs = fd.uci_records(fd.DEFAULT_UCI, "shuffled", 11, 6.0)
docs = fd.docs_of(recs, lambda a, b: {})
pred = fd.cluster_online(recs, docs, model, 36*3600)
by = defaultdict(list)
for r in recs: by[pred[str(r['id'])]].append(r)
imp = sorted(by.values(), key=lambda m: -(len(m) - Counter(x['story'] for x in m).most_common(1)[0][1]))
for m in imp[:6]:
    c = Counter(x['story'][:6] for x in m)
    print(len(m), c.most_common(5))
    seen=set()
    for x in m:
        if x['story'][:6] not in seen:
            seen.add(x['story'][:6]); print('   ', x['story'][:6], x['title'][:90])
