"""``hub bench``: throughput, latency and memory of the real pipeline against baselines."""
