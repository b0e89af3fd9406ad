"""Output folders that never lie (docs/model.md, "Every exit path leaves a true folder").

A command first calls `prepare_out_dir` with every file it documents as its output: the
folder is created and checked, and what an earlier run left is removed, so no table from
before survives whatever the run ends with. Then `write_files` writes all of the run's
files or none, atomically, with the permissions of the user's umask.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

from optimizer.errors import InputError, Problem


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def prepare_out_dir(out_dir: str | Path, outputs: Sequence[str]) -> Path:
    """Make `out_dir` ready for a run: created if missing, writable, the files named in
    `outputs` that an earlier run left removed.

    Raises
    ------
    InputError
        Naming the folder (a file, not creatable, not writable) or the output name that
        is taken by a folder; nothing is removed or written then.
    """
    out = Path(out_dir)

    def refuse(path: Path, en: str, zh: str) -> InputError:
        return InputError([Problem(str(path), en, message_zh=zh)])

    if out.exists() and not out.is_dir():
        raise refuse(out, "is a file, not a folder: --out needs a folder for the outputs",
                     "是文件而不是文件夹：--out 需要一个存放输出的文件夹")
    try:
        out.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=out, prefix=".write-test.", suffix=".tmp")
        os.close(fd)
        os.unlink(probe)
    except OSError as e:
        reason = e.strerror or type(e).__name__
        raise refuse(out, f"cannot be used as the output folder ({reason}); choose a folder "
                     "you can write to", f"无法用作输出文件夹（{reason}）；请选择一个可写入的文件夹"
                     ) from None
    taken = [out / n for n in outputs if (out / n).is_dir()]
    for name in outputs:
        if out / name in taken:
            continue
        try:
            (out / name).unlink(missing_ok=True)
        except OSError as e:
            raise refuse(out / name, f"an earlier output cannot be removed ({e.strerror})",
                         f"无法删除之前的输出（{e.strerror}）") from None
    if taken:
        raise InputError([Problem(str(p), "is a folder, but the run writes a file of this name "
                                  "here: rename or remove the folder",
                                  message_zh="是一个文件夹，但运行要在此写入同名文件：请重命名或删除该文件夹")
                          for p in taken])
    return out


def write_files(out_dir: Path, files: Sequence[tuple[str, bytes]]) -> list[Path]:
    """Write every file or none: all to temporary names in `out_dir` first, then renamed.

    Files get the permissions of the user's umask (0644 under umask 022), not mkstemp's
    0600, so that colleagues on a shared drive can open them.
    """
    mode = 0o666 & ~_umask()
    staged: list[tuple[str, Path]] = []
    done: list[Path] = []
    try:
        for name, data in files:
            fd, tmp = tempfile.mkstemp(dir=out_dir, prefix=f".{name}.", suffix=".tmp")
            staged.append((tmp, out_dir / name))
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.chmod(tmp, mode)
        for tmp, path in staged:
            os.replace(tmp, path)
            done.append(path)
    except BaseException:
        for tmp, _ in staged:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        for path in done:  # all or nothing: no half set that looks like a run's output
            with contextlib.suppress(OSError):
                path.unlink()
        raise
    return done
