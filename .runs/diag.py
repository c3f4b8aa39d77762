import sys, random
sys.path.insert(0, '.')
from bench import fit_dedup as fd
from bot.dedup import story as st
from collections import defaultdict, Counter
st.RECENT = 10
W = dict(title_centroid=4.9, title_mean=5.97, title_top2=-0.52, text_centroid=5.02, has_text=-0.67, rare_missing=0.67, story_rare_missing=-1.3, names_shared=3.58, names_conflict=-0.95, numbers_shared=-0.16, numbers_conflict=-1.69, countries_conflict=-1.01, tags=1.24, same_source=-1.98, gap=-0.94, related=0)
model = st.Model(-0.88, tuple(W[n] for n in st.FEATURES), 0.4)
recs = fd.uci_records(fd.DEFAULT_UCI, "shuffled", 11, 6.0)
docs = fd.docs_of(recs, lambda a, b: {})
stream, groups, pred = fd.Stream(36*3600), {}, {}
maj = defaultdict(Counter)
rng = random.Random(1)
shown = 0
for rec, doc in zip(recs, docs):
    idf = stream.idf()
    c = stream.copy_of(doc, rec["dup_group"], groups)
    if c is None:
        stories = stream.stories(doc, idf)
        d = st.decide(doc, stories, idf, doc.published_at, model)
        good = [s for s in stories if maj[s.cluster_id] and maj[s.cluster_id].most_common(1)[0][0] == rec["story"]]
        if d.cluster_id is None and good and stream.docs > 1500 and rng.random() < 0.08 and shown < 25:
            shown += 1
            s = good[0]
            x = st.features(doc, s, idf, doc.published_at)
            print(f"MISS p={model.probability(x):.2f} best={d.score:.2f} size={sum(maj[s.cluster_id].values())} {doc.title!r}")
            print("   ", {n: round(v, 2) for n, v in zip(st.FEATURES, x)})
            for m in s.members[:4]:
                print("      -", m.title)
        c = d.cluster_id or (len(pred) + 10**6)
        groups[rec["dup_group"]] = c
        stream.add(doc, idf, c)
    stream.add_key(doc, c)
    maj[c][rec["story"]] += 1
    pred[rec["id"]] = c
