import cProfile, pstats, time, io
from ase_arise import classify
from ase_arise.benchmarks.classify_speed import clusters

if __name__ == "__main__":
    s = clusters(10000)
    classify(s[:200], device="cuda"); classify(s[:50])
    for where, count in (("cuda", 10000), ("cuda", 10000), ("cpu", 1000)):
        t = time.perf_counter(); classify(s[:count], device=where); dt = time.perf_counter() - t
        print(f"| {where} | {count} | {dt:.2f} s | {count / dt:,.0f} structures/s |", flush=True)
    pr = cProfile.Profile(); pr.enable(); classify(s[:5000], device="cuda"); pr.disable()
    out = io.StringIO(); pstats.Stats(pr, stream=out).sort_stats("tottime").print_stats(20)
    print(out.getvalue())
