"""`python -m devtools.synthetic_photos --out DIR [--set eval|demo|bench|all] [--force]`"""

from __future__ import annotations

import argparse
import time
from collections import Counter
from pathlib import Path

from devtools.synthetic_photos.catalog import SETS
from devtools.synthetic_photos.manifest import generate_set, load_manifest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m devtools.synthetic_photos",
        description="Write synthetic book photos with ground-truth masks and a manifest.",
    )
    parser.add_argument("--out", type=Path, required=True, help="folder to write <set>/ into")
    parser.add_argument("--set", dest="names", choices=[*SETS, "all"], default="eval")
    parser.add_argument("--force", action="store_true", help="regenerate even if up to date")
    parser.add_argument("--jobs", type=int, default=None, help="processes (default: up to 2)")
    parser.add_argument("--only", nargs="+", metavar="ID", help="just these cases of the set")
    args = parser.parse_args(argv)
    names = list(SETS) if args.names == "all" else [args.names]
    for name in names:
        started = time.perf_counter()
        manifest = generate_set(name, args.out, force=args.force, only=args.only, jobs=args.jobs)
        cases = load_manifest(manifest)
        kinds = ", ".join(
            f"{count} {kind}"
            for kind, count in sorted(Counter(case.kind for case in cases).items())
        )
        seconds = time.perf_counter() - started
        print(f"{name}: {len(cases)} photos ({kinds}) in {manifest} [{seconds:.1f} s]")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
