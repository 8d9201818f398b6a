"""The engine: workers that claim runs, execute them through job types and record them."""
