# usage: contention_stages.sh N -> N processes run the stage probe together once all are warm
n=$1; gate=/tmp/sgate.$n; rm -f $gate /tmp/sready.$n.* /tmp/stages.$n.*
for i in $(seq $n); do python3 docs/results/dask/contention_stages.py $gate /tmp/sready.$n.$i > /tmp/stages.$n.$i & done
while [ $(ls /tmp/sready.$n.* 2>/dev/null | wc -l) -lt $n ]; do sleep 0.5; done
touch $gate; wait
echo "$n processes at once (median s, max s):"
cat /tmp/stages.$n.* | python3 -c '
import sys, json, statistics as s
runs = [json.loads(l) for l in sys.stdin]
for k in runs[0]:
    v = [r[k] for r in runs]
    print(f"  {k}: {s.median(v):.2f}, {max(v):.2f}")'
