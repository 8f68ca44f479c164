"""Is our second core free right now? The speedup that a second BLAS thread gives one small product.

This machine is a 2-vCPU guest on a shared host. At times the host runs other work on the hardware
behind our second vCPU: single-threaded code runs as fast as ever, but work split over both cores
waits for the slower one, and data written by one core costs more to read on the other. Then
OpenBLAS's two threads speed W2's 128x256x256 float32 product up by about 1.2x instead of 1.8x,
and numpy-backed steps (a BLAS product on two cores, then numpy's one-core passes over its
output) slow down more than PyTorch's (more of whose step is fixed per-operation cost): W2's
replay against torch moves from about 0.62x to 0.66x. run.py records this probe before each run,
so that ratios between runs made in different host states can be told apart.

    python benchmarks/host_probe.py     # {"second_core_speedup": 1.8, "one_thread_us": 90.1, ...}
"""
import json
import time

CONTENDED_BELOW = 1.5  # a second-core speedup under this: the host is using our second core


def second_core_speedup(reps=200):
    """(1-thread time / 2-thread time, 1-thread µs, 2-thread µs) of (128, 256) @ (256, 256).T in
    float32, each the best of 3 rounds of ``reps`` products (about 0.1 s in all)."""
    import numpy as np  # (imported here: run.py imports this module for CONTENDED_BELOW alone)
    from threadpoolctl import threadpool_limits

    a = np.ones((128, 256), np.float32)
    w = np.ones((256, 256), np.float32)

    def best():
        fastest = float("inf")
        for _ in range(3):
            for _ in range(20):
                a @ w.T
            t0 = time.perf_counter()
            for _ in range(reps):
                a @ w.T
            fastest = min(fastest, (time.perf_counter() - t0) / reps)
        return fastest

    with threadpool_limits(limits=1, user_api="blas"):
        one = best()
    two = best()
    return one / two, one * 1e6, two * 1e6


if __name__ == "__main__":
    speedup, one, two = second_core_speedup()
    print(json.dumps({"second_core_speedup": round(speedup, 3), "one_thread_us": round(one, 1),
                      "two_threads_us": round(two, 1)}))
