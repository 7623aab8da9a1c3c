"""Runs a command and prints its wall time, its peak resident memory and the largest GPU memory in
use seen while it ran (sampled with nvidia-smi every 0.2 s; -1 where there is no nvidia-smi).

    python python/benchmarks/peak.py tomors fbp stack512.npy -o rec.npy --size 512 --backend gpu
"""

import resource
import subprocess
import sys
import threading
import time


def gpu_used_mib():
    try:
        out = subprocess.check_output(
            ["nvidia-smi", "--query-gpu=memory.used", "--format=csv,noheader,nounits"]
        )
        return int(out.split()[0])
    except (OSError, subprocess.CalledProcessError, ValueError, IndexError):
        return -1


def main():
    before = gpu_used_mib()
    peak = [before]
    done = threading.Event()

    def sample():
        while not done.is_set():
            peak[0] = max(peak[0], gpu_used_mib())
            time.sleep(0.2)

    sampler = threading.Thread(target=sample)
    sampler.start()
    start = time.time()
    rc = subprocess.call(sys.argv[1:])
    wall = time.time() - start
    done.set()
    sampler.join()
    rss_mib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(
        f"PEAK rc={rc} wall={wall:.2f}s peak_rss={rss_mib:.1f}MiB "
        f"gpu_used_before={before}MiB gpu_used_peak={peak[0]}MiB delta={peak[0] - before}MiB"
    )
    sys.exit(rc)


if __name__ == "__main__":
    main()
