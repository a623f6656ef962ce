"""fastmeta's throughput benchmark suite (pytest-benchmark), shipped inside the package:
`fastmeta bench` (or `python -m fastmeta.bench`) runs it from any directory and writes the report."""
