"""Command line: files to start from (`optimizer template`)."""

from __future__ import annotations

import argparse
from pathlib import Path

from optimizer.cli.common import EXIT_OK


def register(sub: argparse._SubParsersAction) -> None:
    """Add the `template` sub-command."""
    sp = sub.add_parser("template", help="write an empty regions table to fill in (CSV and XLSX)",
                        formatter_class=argparse.RawDescriptionHelpFormatter,
                        description="Write DIR/regions_template.csv (UTF-8 with BOM) and "
                                    "DIR/regions_template.xlsx: the regions table's headers in "
                                    "the chosen language, one example row, and (XLSX) a sheet "
                                    "explaining each column.",
                        epilog="example:\n  optimizer template --lang zh --out templates\n")
    sp.add_argument("--lang", choices=("en", "zh"), default="en",
                    help="language of the headers and explanations (default: en)")
    sp.add_argument("--out", required=True, metavar="DIR", type=Path,
                    help="output folder (created if missing)")
    sp.set_defaults(func=_cmd_template)


def _cmd_template(args: argparse.Namespace) -> int:
    from optimizer.inputs.template import template_files
    from optimizer.report.outdir import prepare_out_dir, write_files

    files = template_files(args.lang)
    out = prepare_out_dir(args.out, list(files))
    for path in write_files(out, list(files.items())):
        print(path)
    return EXIT_OK
