"""JobLedger's benchmarks: `python -m bench --help`. See bench/README.md."""
