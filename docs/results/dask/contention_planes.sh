# usage: contend.sh N -> N processes run the probe together once all are warm
n=$1; gate=/tmp/gate.$n; rm -f $gate /tmp/ready.$n.* /tmp/contend.$n.*
for i in $(seq $n); do python3 docs/results/dask/contention_planes.py $gate /tmp/ready.$n.$i > /tmp/contend.$n.$i & done
while [ $(ls /tmp/ready.$n.* 2>/dev/null | wc -l) -lt $n ]; do sleep 0.5; done
touch $gate; wait
echo "$n processes at once: $(cat /tmp/contend.$n.* | python3 -c 'import sys,json,statistics as s; v=[json.loads(l)["seconds"] for l in sys.stdin]; print(f"planes task median {s.median(v):.2f} s, max {max(v):.2f} s")')"
