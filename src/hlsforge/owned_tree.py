"""Write a generated directory tree without ever deleting what hlsforge did not write.

Both the HLS project writer and the CPU backend's ``write`` go through :func:`write_tree`.
The policy (docs/hls_backend.md, "Re-writing a project"):

- Every file hlsforge writes is recorded, with its SHA-256, in a manifest inside the tree
  (``hlsforge_project.json`` / ``hlsforge_cpu.json``). The manifest is how a later write tells
  hlsforge's files from the user's and the vendor tool's.
- The target may be missing, an empty directory, or a tree with such a manifest. Any other
  non-empty directory is refused: hlsforge never mixes its files into a foreign directory.
- On a re-write, hlsforge replaces only its own recorded files. Everything else in the tree
  (``user_notes.txt``, ``solution1/syn/report/*.rpt``, ``build.log``, ...) is kept as it is.
- A recorded file the user changed since (its hash differs), or a file of the user's sitting
  where hlsforge now wants to write, makes the write refuse with a list of those files: hlsforge
  does not guess whose version wins.

Atomicity: the new tree is built in a hidden sibling directory — hlsforge's files written
fresh, the user's files hard-linked (copied where links are impossible) — and then swapped with
the target in one ``renameat2(RENAME_EXCHANGE)`` call, so there is no moment with no tree at the
target. Where the kernel or file system cannot exchange, two renames are used and an
interrupted swap is undone by the next write. Hidden siblings of our naming
(``.<name>.hlsforge-new.<pid>.*`` / ``.<name>.hlsforge-old.<pid>.*``) left by a killed writer
are removed on the next write, once their process is gone.
"""

from __future__ import annotations

import ctypes
import errno
import hashlib
import json
import os
import re
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .errors import HlsforgeError, OutputError

#: Key of the ``{relative path: sha256}`` record inside a manifest.
FILES_KEY = "files"
_NEW, _OLD = "hlsforge-new", "hlsforge-old"
_MAX_LISTED = 8


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _file_digest(path: Path) -> str | None:
    try:
        if path.is_symlink() or not path.is_file():
            return None
        return digest(path.read_bytes())
    except OSError:
        return None


def _pid_alive(pid: int) -> bool:
    """Whether the writer that named a temporary directory may still be running."""
    if pid == os.getpid() or os.name != "posix":
        return True  # (on Windows os.kill(pid, 0) would not probe but signal)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _stale_siblings(out: Path) -> list[tuple[str, Path]]:
    """Our hidden temporary siblings of ``out`` whose writer process is gone."""
    pattern = re.compile(rf"^\.{re.escape(out.name)}\.({_NEW}|{_OLD})\.(\d+)\.[A-Za-z0-9_]+$")
    found = []
    try:
        entries = list(out.parent.iterdir())
    except OSError:
        return []
    for entry in entries:
        m = pattern.match(entry.name)
        if m and entry.is_dir() and not entry.is_symlink() and not _pid_alive(int(m.group(2))):
            found.append((m.group(1), entry))
    return found


def recover(out: Path, manifest: str) -> None:
    """Undo or clean up what an interrupted earlier write left beside ``out``."""
    for kind, path in _stale_siblings(out):
        saved = path / "tree"
        if kind == _OLD and not os.path.lexists(out) and (saved / manifest).is_file():
            os.rename(saved, out)  # killed between the two renames of the fallback swap
        shutil.rmtree(path, ignore_errors=True)


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two paths (Linux ``renameat2``); False where that is unavailable."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    rc = renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange)
    if rc == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP):
        return False
    raise OSError(err, os.strerror(err), str(b))


def _listing(paths: list[str]) -> str:
    shown = ", ".join(paths[:_MAX_LISTED])
    return shown + (f" and {len(paths) - _MAX_LISTED} more" if len(paths) > _MAX_LISTED else "")


def read_record(out: Path, manifest: str, what: str, error: type[HlsforgeError]) -> dict[str, str]:
    """The ``{relative path: sha256}`` record of an existing tree (``{}`` for a new/empty one)."""
    if not os.path.lexists(out):
        return {}
    if out.is_symlink() or not out.is_dir():
        raise error(f"{str(out)!r} exists and is not a directory")
    try:
        empty = not any(out.iterdir())
    except OSError as e:
        raise error(f"cannot read {str(out)!r}: {e.strerror or e}") from None
    if empty:
        return {}
    path = out / manifest
    if not path.is_file():
        raise error(
            f"{str(out)!r} is not empty and is not an {what} written by hlsforge (no {manifest}); "
            "choose a new or empty output directory — hlsforge never mixes its files with yours"
        )
    try:
        doc = json.loads(path.read_text())
        record = doc[FILES_KEY]
        if not isinstance(record, dict) or not all(isinstance(v, str) for v in record.values()):
            raise TypeError
    except (OSError, ValueError, KeyError, TypeError):
        raise error(
            f"{str(path)!r} has no valid record of the files hlsforge wrote (damaged, or written by "
            "an older hlsforge), so hlsforge cannot tell its files from yours; choose a new output "
            "directory or move this one away"
        ) from None
    for rel in record:
        if not _safe_rel(rel):
            raise error(f"{str(path)!r} records an invalid path {rel!r}; move this directory away")
    return dict(record)


def _safe_rel(rel: str) -> bool:
    parts = Path(rel).parts
    return bool(parts) and not Path(rel).is_absolute() and ".." not in parts


def _carry_over(src_root: Path, dst_root: Path, skip: set[str], conflicts: list[str]) -> None:
    """Hard-link (or copy) every entry of ``src_root`` not in ``skip`` into ``dst_root``."""
    for dirpath, dirnames, filenames in os.walk(src_root):
        here = Path(dirpath)
        rel_dir = here.relative_to(src_root)
        target_dir = dst_root / rel_dir
        if target_dir.exists() and not target_dir.is_dir():
            conflicts.append(str(rel_dir))
            dirnames[:] = []
            continue
        target_dir.mkdir(parents=True, exist_ok=True)
        shutil.copystat(here, target_dir, follow_symlinks=False)
        for name in list(dirnames):
            if (here / name).is_symlink():  # os.walk does not descend into them: carry the link
                dirnames.remove(name)
                filenames.append(name)
        for name in filenames:
            rel = (rel_dir / name).as_posix()
            if rel in skip:
                continue
            src, dst = here / name, target_dir / name
            if os.path.lexists(dst):
                conflicts.append(rel)
                continue
            if src.is_symlink():
                os.symlink(os.readlink(src), dst)
                continue
            try:
                os.link(src, dst)
            except OSError:
                shutil.copy2(src, dst)


def _prune_emptied_dirs(work: Path, old: Mapping[str, str]) -> None:
    """Remove directories that only held hlsforge files it no longer writes (an empty
    directory the user made, or one that still holds anything, stays)."""
    dirs = {parent.as_posix() for rel in old for parent in Path(rel).parents if parent.as_posix() != "."}
    for rel in sorted(dirs, key=lambda d: d.count("/"), reverse=True):
        p = work / rel
        if p.is_dir() and not p.is_symlink() and not any(p.iterdir()):
            p.rmdir()


def write_tree(
    out: str | os.PathLike[str],
    files: Mapping[str, str | bytes],
    manifest: str,
    manifest_doc: Mapping[str, Any],
    *,
    what: str = "output directory",
    error: type[HlsforgeError] = OutputError,
) -> list[Path]:
    """Write ``files`` (relative path → content) as the tree ``out``; see the module docstring.

    ``manifest_doc`` is written to ``out/manifest`` together with the files' hashes. Returns
    the paths of ``files`` and of the manifest, in that order.
    """
    out = Path(out).expanduser().absolute()
    if out.is_symlink() and out.is_dir():
        out = out.resolve()  # a link to the real directory: write there, keep the link
    data = {rel: c if isinstance(c, bytes) else c.encode() for rel, c in files.items()}
    for rel in data:
        if not _safe_rel(rel) or rel == manifest:
            raise error(f"internal: cannot write {rel!r} into {str(out)!r}")
    record = {rel: digest(b) for rel, b in sorted(data.items())}
    doc = {**manifest_doc, FILES_KEY: record}
    data[manifest] = (json.dumps(doc, indent=2, sort_keys=True) + "\n").encode()

    def fail(message: str, e: OSError) -> HlsforgeError:
        return error(f"{message} {str(out)!r}: {e.strerror or e}")

    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        recover(out, manifest)
    except OSError as e:
        raise fail("cannot write into", e) from None
    old = read_record(out, manifest, what, error)
    if old:
        changed = sorted(rel for rel, h in old.items() if os.path.lexists(out / rel) and _file_digest(out / rel) != h)
        if changed:
            raise error(
                f"{str(out)!r}: {_listing(changed)} changed since hlsforge wrote "
                f"{'them' if len(changed) > 1 else 'it'}; hlsforge does not overwrite your edits. "
                "Move the changed files away (or write to a new directory) and run again"
            )
    in_the_way = sorted(rel for rel in data if rel != manifest and rel not in old and os.path.lexists(out / rel))
    if in_the_way:
        raise error(
            f"{str(out)!r}: {_listing(in_the_way)} {'are' if len(in_the_way) > 1 else 'is'} not "
            "hlsforge's but hlsforge would write there now; move "
            f"{'them' if len(in_the_way) > 1 else 'it'} away or write to a new directory"
        )
    work: Path | None = None
    try:
        work = Path(tempfile.mkdtemp(prefix=f".{out.name}.{_NEW}.{os.getpid()}.", dir=out.parent))
        for rel, content in data.items():
            p = work / rel
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_bytes(content)
        if out.is_dir():
            conflicts: list[str] = []
            _carry_over(out, work, set(old) | {manifest}, conflicts)
            _prune_emptied_dirs(work, old)
            if conflicts:
                raise error(
                    f"{str(out)!r}: {_listing(sorted(conflicts))} of yours sit where hlsforge now "
                    "writes; move them away or write to a new directory"
                )
            shutil.copystat(out, work, follow_symlinks=False)
        else:
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(work, 0o777 & ~umask)
        _swap_into_place(work, out)
    except OSError as e:
        raise fail("cannot write into", e) from None
    finally:
        if work is not None and os.path.lexists(work):
            shutil.rmtree(work, ignore_errors=True)
    return [out / rel for rel in files] + [out / manifest]


def _swap_into_place(work: Path, out: Path) -> None:
    """Make ``work`` the tree at ``out``; afterwards ``work`` holds the old tree (or is gone)."""
    if not out.exists():
        os.rename(work, out)
        return
    if not any(out.iterdir()):
        os.rename(work, out)  # replaces an empty directory in one step
        return
    if _exchange(work, out):
        return
    holder = Path(tempfile.mkdtemp(prefix=f".{out.name}.{_OLD}.{os.getpid()}.", dir=out.parent))
    os.rename(out, holder / "tree")
    try:
        os.rename(work, out)
    except OSError:
        os.rename(holder / "tree", out)
        raise
    shutil.rmtree(holder, ignore_errors=True)


__all__ = ["write_tree", "read_record", "recover", "digest", "FILES_KEY"]
