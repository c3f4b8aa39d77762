import sys, json, tempfile
from pathlib import Path
from collections import defaultdict
sys.path.insert(0, '.')
from bench.dedup_quality import ingest, _tagger, DEFAULT_CORPUS
recs = [json.loads(l) for l in DEFAULT_CORPUS.read_text().splitlines() if l.strip()]
recs.sort(key=lambda r: (float(r["published"]), str(r["id"])))
with tempfile.TemporaryDirectory() as t:
    dec, _ = ingest(recs, Path(t)/"c.db", _tagger())
by = defaultdict(lambda: defaultdict(list))
for r in recs:
    d = dec[str(r['id'])]
    if d['dup_root'] == str(r['id']):
        by[r['story']][d['cluster']].append(r)
for s, cl in by.items():
    if len(cl) > 1:
        print(s)
        for c, m in cl.items():
            print('   ', c, [ (x['language'], x['title'][:70]) for x in m][:3])
