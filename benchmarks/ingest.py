"""Ingest benchmark; same as `stormwatch bench ingest`. Usage: python benchmarks/ingest.py [N]"""

import sys

from stormwatch.cli import main

if __name__ == "__main__":
    main(["bench", "ingest", "--posts", sys.argv[1] if len(sys.argv) > 1 else "80000"])
