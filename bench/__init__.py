"""fastmeta's throughput benchmark suite (pytest-benchmark); `python -m bench` runs it."""
