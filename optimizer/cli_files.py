"""Command line: files to start from (`optimizer template`)."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

from optimizer.cli_common import EXIT_OK
from optimizer.errors import InputError, Problem


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
    from optimizer.template import template_files

    out: Path = args.out
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise InputError([Problem(str(out), f"cannot use this folder ({e.strerror or e})",
                                  message_zh=f"无法使用该文件夹（{e.strerror or e}）")]) from None
    for name, data in template_files(args.lang).items():
        path = out / name
        try:
            _write_atomic(path, data)
        except OSError as e:
            raise InputError([Problem(str(path), f"cannot write the file ({e.strerror or e})",
                                      message_zh=f"无法写入文件（{e.strerror or e}）")]) from None
        print(path, file=sys.stdout)
    return EXIT_OK


def _write_atomic(path: Path, data: bytes) -> None:
    """Temporary file in the folder, then rename; permissions from the umask, not 0600."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
