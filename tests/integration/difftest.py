#!/usr/bin/python3
"""Differential tester: tenantfs against the local ext4 disk.

Runs long random sequences of filesystem operations in a folder inside a
mounted tenant and in a plain folder of an ext4 disk side by side, and
compares every result (return value or errno, bytes read) and, after each op
that changes something, the state of the paths it touched (contents, sizes,
modes, owners, link counts, symlink targets, xattrs, sorted listings).  The
whole tree is compared every FULL_EVERY ops and at the end.

K worker processes run at once against the one mount, each in its own
subfolder of both trees, so each worker's expected results are deterministic
while the daemon sees interleaved requests.  Worker i's ops come from
random.Random(seed + i) and do not depend on the results, so any op list
(or any subset of it) can be replayed: on a mismatch the failing worker's
list is shrunk by delta debugging (replays in fresh subfolders, one process)
and printed as a list of ops and as a small stand-alone Python script.

As a command (run as root; MOUNT-DIR inside a mounted tenant, REF-DIR on
ext4):

    python3 tests/integration/difftest.py --mount-dir MOUNT-DIR \\
        --ref-dir REF-DIR --seed S --ops N --procs K

Ops run with cwd at the worker's folder (relative paths), so that the op
functions below, copied by inspect.getsource(), make up the reproducer.
"""

import argparse
import collections
import ctypes
import errno
import hashlib
import inspect
import mmap
import multiprocessing
import os
import random
import shutil
import stat
import sys
import time
import traceback

FULL_EVERY = 100         # compare the whole worker tree every this many ops
SLOTS = 4                # open descriptors a worker keeps (per tree)
SHRINK_SECONDS = 300     # time budget of one shrink
EXT4_MAX_FILE = (2 ** 32 - 1) * 4096   # ext4 s_maxbytes with 4 KiB blocks

# ---------------------------------------------------------------------------
# Helpers the ops use (also copied into reproducers)
# ---------------------------------------------------------------------------

libc = ctypes.CDLL(None, use_errno=True)
libc.renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int,
                           ctypes.c_char_p, ctypes.c_uint]
libc.fallocate.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int64,
                           ctypes.c_int64]
AT_FDCWD = -100
NOFD = 99999             # never open: what an empty slot gives (EBADF)
FLAG_NAMES = {"RENAME_NOREPLACE": 1, "RENAME_EXCHANGE": 2}


def _flags(names):
    """'O_RDWR|O_CREAT' -> the int (os.* constants, RENAME_* above)."""
    value = 0
    for n in filter(None, names.split("|")):
        value |= FLAG_NAMES[n] if n in FLAG_NAMES else getattr(os, n)
    return value


def _check(r):
    """Raises OSError(errno) for a failed libc call."""
    if r < 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))
    return r


def _renameat2(src, dst, flags):
    return _check(libc.renameat2(AT_FDCWD, os.fsencode(src), AT_FDCWD,
                                 os.fsencode(dst), _flags(flags)))


def _fallocate(fd, off, length):
    return _check(libc.fallocate(fd, 0, off, length))


def pat(tag, n):
    """n bytes of a pattern naming the op (tag) that wrote them."""
    unit = b"<%d>" % tag
    return (unit * (n // len(unit) + 1))[:n]


def _pread_all(fd):
    """The whole content of fd, read with pread until EOF."""
    chunks, off = [], 0
    while True:
        b = os.pread(fd, 1 << 20, off)
        if not b:
            return b"".join(chunks)
        chunks.append(b)
        off += len(b)


def _mmap_write(fd, off, data):
    """Maps the whole file shared, returns what the map shows, writes data
    at off (modulo the size, cut at the end) through it, msyncs, unmaps and
    returns also the file read back through read()."""
    st = os.fstat(fd)
    if stat.S_ISDIR(st.st_mode):
        raise OSError(errno.EISDIR, "folder")
    if st.st_size == 0:
        return "empty file"
    m = mmap.mmap(fd, st.st_size)
    try:
        before = m[:]
        off %= st.st_size
        data = data[:st.st_size - off]
        m[off:off + len(data)] = data
        m.flush()
    finally:
        m.close()
    return before, _pread_all(fd)


HELPERS = [_flags, _check, _renameat2, _fallocate, pat, _pread_all, _mmap_write]

# ---------------------------------------------------------------------------
# Arguments: how they are generated and printed
# ---------------------------------------------------------------------------


class Mode(int):
    """A mode, printed in octal."""
    def __repr__(self):
        return "0o%o" % self


class Pat(tuple):
    """Data to write, printed as pat(tag, n); materialised before a call."""
    def __new__(cls, tag, n):
        return tuple.__new__(cls, (tag, n))

    def __repr__(self):
        return "pat(%d, %d)" % self


FILES, DIRS = ["a", "b", "c"], ["d", "e"]    # usual last names of each kind
LONG = ["n" * 255, "n" * 256]      # longest name, and one too long


class Gen:
    """Draws op arguments from one seeded random.Random.  Paths come from a
    small pool, so that ops meet each other's entries often: 1 to 3 levels,
    folders named d or e, last names a, b, c for file ops and d, e for
    folder ops (each 80% of the time).  Half the time a path is taken from
    what the ops drawn so far should have created (a guess made without
    running anything: see note()), so the op list stays a pure function of
    the seed."""

    def __init__(self, seed, folder_fds=True):
        self.rng = random.Random(seed)
        self.known = {"file": set(), "dir": set()}
        self.folder_fds = folder_fds
        self.tag = 0

    def path(self, kind="any", fresh=False):
        r = self.rng
        pool = sorted(self.known["file"] | self.known["dir"]) if kind == "any" \
            else sorted(self.known[kind])
        if pool and not fresh and r.random() < 0.5:
            return r.choice(pool)
        depth = r.choices([1, 2, 3], [10, 7, 3])[0]
        parts = [r.choice(DIRS) for _ in range(depth - 1)]
        last = {"file": FILES, "dir": DIRS, "any": FILES + DIRS}[kind]
        parts.append(r.choice(last if r.random() < 0.8 else FILES + DIRS))
        if r.random() < 0.01:
            parts[-1] = r.choice(LONG)
        return "/".join(parts)

    def note(self, name, args):
        """Updates the guess of what exists, as if op name(args) worked."""
        files, dirs = self.known["file"], self.known["dir"]
        if name in ("create", "symlink", "link") or (
                name == "fd_open" and "O_CREAT" in args[2]):
            files.add(args[0] if name == "create" else args[1])
        elif name == "mkdir":
            dirs.add(args[0])
        elif name in ("unlink", "rmdir"):
            (files if name == "unlink" else dirs).discard(args[0])
        elif name in ("rename", "renameat2") and args[0] != args[1]:
            for group in (files, dirs):
                had_src, had_dst = args[0] in group, args[1] in group
                group.discard(args[0])
                if had_src:
                    group.add(args[1])
                if had_dst and name == "renameat2" and args[2] == "RENAME_EXCHANGE":
                    group.add(args[0])

    def file(self):
        return self.path("file")

    def dir(self):
        return self.path("dir")

    def two_paths(self):
        """Two paths, sometimes the same one (rename to itself)."""
        src = self.path()
        return src, (src if self.rng.random() < 0.05 else self.path())

    def size(self):
        """An offset or length: small, near a 64 KiB boundary, or large."""
        r = self.rng
        kind = r.choices(["small", "edge", "big"], [6, 3, 1])[0]
        if kind == "small":
            return r.randrange(0, 5000)
        if kind == "edge":
            return max(0, r.choice([65536, 131072, 196608]) + r.randrange(-64, 64))
        return r.randrange(0, 1 << 20)

    def data(self):
        self.tag += 1
        n = self.rng.choices([self.rng.randrange(1, 100), self.rng.randrange(100, 9000),
                              self.rng.randrange(60000, 70000)], [6, 3, 1])[0]
        return Pat(self.tag, n)

    def file_mode(self):
        return Mode(self.rng.choice([0o644, 0o600, 0o755, 0o444, 0o000, 0o4755,
                                     0o2755, 0o6777, 0o1644]))

    def dir_mode(self):
        return Mode(self.rng.choice([0o755, 0o700, 0o2775, 0o1777, 0o555]))

    def open_flags(self):
        r = self.rng
        # Only O_RDONLY opens folders: without it no slot holds a folder.
        acc = r.choices(["O_RDONLY", "O_WRONLY", "O_RDWR"],
                        [1 if self.folder_fds else 0, 1, 4])[0]
        extra = [f for f, p in (("O_CREAT", 0.7), ("O_EXCL", 0.05),
                                ("O_TRUNC", 0.15), ("O_APPEND", 0.15))
                 if r.random() < p]
        return "|".join([acc] + extra)

    def slot(self):
        return self.rng.randrange(SLOTS)

    def time_ns(self):
        """A timestamp ext4 can store (1901 to 2446), with nanoseconds."""
        r = self.rng
        sec = r.choice([r.randrange(0, 2 ** 31), r.randrange(-2 ** 31 + 1, 0),
                        r.randrange(2 ** 31, 15 * 10 ** 9)])
        return sec * 10 ** 9 + r.randrange(10 ** 9)

    def owner(self):
        return self.rng.choice([0, 1000, 4242, -1])

    def xname(self):
        return self.rng.choice(["user.a", "user.b", "user." + "c" * 100])

    def xvalue(self):
        self.tag += 1
        return Pat(self.tag, self.rng.choice([0, 1, 17, 200]))

    def big_size(self):
        return self.rng.choice([2 ** 44, 2 ** 47 + 12345, 2 ** 50, 2 ** 50 + 1])


# ---------------------------------------------------------------------------
# The operations.  Each op_NAME(fds, *args) runs with cwd at the worker's
# folder, fds mapping slot -> descriptor; it returns a comparable value or
# raises OSError.  An empty slot is fd NOFD, which every call refuses (EBADF).
# The decorator records: weight, argument generator, which arguments are
# paths and whether there is a slot (to compare afterwards), and whether the
# op can change state.  Keep each decorator on one line (see snippet()).
# ---------------------------------------------------------------------------

OPS = {}


class Spec:
    def __init__(self, func, weight, gen, paths, slot, mutates):
        self.func, self.weight, self.gen = func, weight, gen
        self.paths, self.slot, self.mutates = paths, slot, mutates


def op(weight, gen, paths=(0,), slot=False, mutates=True):
    def register(func):
        OPS[func.__name__[3:]] = Spec(func, weight, gen, paths, slot, mutates)
        return func
    return register


CREATE_FLAGS = ["O_WRONLY|O_CREAT", "O_WRONLY|O_CREAT|O_EXCL", "O_RDWR|O_CREAT|O_TRUNC"]
RENAME_FLAGS = ["RENAME_NOREPLACE", "RENAME_EXCHANGE", "",
                "RENAME_NOREPLACE|RENAME_EXCHANGE"]     # the last one: EINVAL


@op(5, lambda g: (g.file(), g.rng.choice(CREATE_FLAGS), g.file_mode()))
def op_create(fds, path, flags, mode):
    os.close(os.open(path, _flags(flags), mode))


@op(9, lambda g: (g.file(), g.size(), g.data()))
def op_write(fds, path, off, data):
    fd = os.open(path, os.O_WRONLY)
    try:
        return os.pwrite(fd, data, off)
    finally:
        os.close(fd)


@op(2, lambda g: (g.file(), g.data()))
def op_append(fds, path, data):
    fd = os.open(path, os.O_WRONLY | os.O_APPEND)
    try:
        return os.write(fd, data)
    finally:
        os.close(fd)


@op(3, lambda g: (g.file(), g.size(), g.size()), mutates=False)
def op_read(fds, path, off, n):
    fd = os.open(path, os.O_RDONLY)
    try:
        return os.pread(fd, n, off)
    finally:
        os.close(fd)


@op(4, lambda g: (g.file(), g.size()))
def op_truncate(fds, path, size):
    os.truncate(path, size)


@op(1, lambda g: (g.file(), g.big_size()))
def op_truncate_big(fds, path, size):
    """Truncates to a huge size, stats, and truncates back (if it worked)."""
    old = os.stat(path).st_size
    os.truncate(path, size)
    got = os.stat(path).st_size
    os.truncate(path, old)
    return got


@op(7, lambda g: g.two_paths(), paths=(0, 1))
def op_rename(fds, src, dst):
    os.rename(src, dst)


@op(5, lambda g: g.two_paths() + (g.rng.choice(RENAME_FLAGS),), paths=(0, 1))
def op_renameat2(fds, src, dst, flags):
    _renameat2(src, dst, flags)


@op(4, lambda g: (g.file(), g.path("file", fresh=True)), paths=(0, 1))
def op_link(fds, src, dst):
    os.link(src, dst, follow_symlinks=False)


@op(6, lambda g: (g.file(),))
def op_unlink(fds, path):
    os.unlink(path)


@op(6, lambda g: (g.dir(), g.dir_mode()))
def op_mkdir(fds, path, mode):
    os.mkdir(path, mode)


@op(4, lambda g: (g.dir(),))
def op_rmdir(fds, path):
    os.rmdir(path)


# Targets stay inside the worker's folder (resolved from any depth): a
# target such as "../a" could reach the run folder, shared by all workers.
@op(3, lambda g: (g.rng.choice(FILES + DIRS + ["d/a", "e/d", "zz", "d/../a"]), g.file()), paths=(1,))
def op_symlink(fds, target, path):
    os.symlink(target, path)


@op(2, lambda g: (g.file(),), mutates=False)
def op_readlink(fds, path):
    return os.readlink(path)


@op(3, lambda g: (g.path(), g.rng.choice([g.file_mode(), g.dir_mode()])))
def op_chmod(fds, path, mode):
    os.chmod(path, mode)


@op(2, lambda g: (g.path(), g.owner(), g.owner()))
def op_chown(fds, path, uid, gid):
    os.chown(path, uid, gid)


@op(3, lambda g: (g.path(), g.time_ns(), g.time_ns()))
def op_utime(fds, path, atime_ns, mtime_ns):
    """Sets both times explicitly and returns them as stat then shows them."""
    os.utime(path, ns=(atime_ns, mtime_ns))
    st = os.stat(path)
    return st.st_atime_ns, st.st_mtime_ns


@op(4, lambda g: (g.path(), g.xname(), g.xvalue(), g.rng.choice(["", "XATTR_CREATE", "XATTR_REPLACE"])))
def op_setxattr(fds, path, name, value, flags):
    os.setxattr(path, name, value, _flags(flags))


@op(2, lambda g: (g.path(), g.xname()), mutates=False)
def op_getxattr(fds, path, name):
    return os.getxattr(path, name)


@op(2, lambda g: (g.path(),), mutates=False)
def op_listxattr(fds, path):
    return sorted(os.listxattr(path))


@op(2, lambda g: (g.path(), g.xname()))
def op_removexattr(fds, path, name):
    os.removexattr(path, name)


@op(2, lambda g: (g.file(), g.size(), g.data()))
def op_mmap_write(fds, path, off, data):
    fd = os.open(path, os.O_RDWR)
    try:
        return _mmap_write(fd, off, data)
    finally:
        os.close(fd)


@op(10, lambda g: (g.slot(), g.file(), g.open_flags(), g.file_mode()), paths=(1,), slot=True)
def op_fd_open(fds, slot, path, flags, mode):
    """Opens path into slot (closing what the slot held)."""
    if slot in fds:
        os.close(fds.pop(slot))
    fds[slot] = os.open(path, _flags(flags), mode)


@op(1, lambda g: (g.slot(),), paths=(), slot=True)
def op_fd_close(fds, slot):
    os.close(fds.pop(slot, NOFD))


@op(8, lambda g: (g.slot(), g.size(), g.data()), paths=(), slot=True)
def op_fd_pwrite(fds, slot, off, data):
    return os.pwrite(fds.get(slot, NOFD), data, off)


@op(4, lambda g: (g.slot(), g.data()), paths=(), slot=True)
def op_fd_write(fds, slot, data):
    return os.write(fds.get(slot, NOFD), data)


@op(4, lambda g: (g.slot(), g.size(), g.size()), paths=(), slot=True, mutates=False)
def op_fd_pread(fds, slot, off, n):
    return os.pread(fds.get(slot, NOFD), n, off)


@op(2, lambda g: (g.slot(), g.size()), paths=(), slot=True, mutates=False)
def op_fd_read(fds, slot, n):
    return os.read(fds.get(slot, NOFD), n)


@op(2, lambda g: (g.slot(), g.size() - 2000, g.rng.choice([0, 1, 2])), paths=(), slot=True, mutates=False)
def op_fd_lseek(fds, slot, off, whence):
    """Regular files only: a folder's offsets are the filesystem's cookies."""
    fd = fds.get(slot, NOFD)
    if stat.S_ISDIR(os.fstat(fd).st_mode):
        return "folder"
    return os.lseek(fd, off, whence)


@op(3, lambda g: (g.slot(), g.size()), paths=(), slot=True)
def op_fd_ftruncate(fds, slot, size):
    os.ftruncate(fds.get(slot, NOFD), size)


@op(3, lambda g: (g.slot(),), paths=(), slot=True, mutates=False)
def op_fd_fstat(fds, slot):
    st = os.fstat(fds.get(slot, NOFD))
    size = None if stat.S_ISDIR(st.st_mode) else st.st_size
    return oct(st.st_mode), st.st_uid, st.st_gid, st.st_nlink, size


@op(1, lambda g: (g.slot(),), paths=(), slot=True)
def op_fd_fsync(fds, slot):
    os.fsync(fds.get(slot, NOFD))


@op(3, lambda g: (g.slot(), g.size(), g.size() + 1), paths=(), slot=True)
def op_fd_fallocate(fds, slot, off, length):
    _fallocate(fds.get(slot, NOFD), off, length)


@op(2, lambda g: (g.slot(), g.size(), g.data()), paths=(), slot=True)
def op_fd_mmap_write(fds, slot, off, data):
    return _mmap_write(fds.get(slot, NOFD), off, data)


@op(1, lambda g: (g.slot(), g.time_ns(), g.time_ns()), paths=(), slot=True)
def op_fd_futimens(fds, slot, atime_ns, mtime_ns):
    fd = fds.get(slot, NOFD)
    os.utime(fd, ns=(atime_ns, mtime_ns))
    st = os.fstat(fd)
    return st.st_atime_ns, st.st_mtime_ns


@op(1, lambda g: (g.slot(), g.file_mode()), paths=(), slot=True)
def op_fd_fchmod(fds, slot, mode):
    os.fchmod(fds.get(slot, NOFD), mode)


def gen_ops(seed, n, folder_fds=True):
    """The op list of one worker: [(name, args), ...]."""
    g = Gen(seed, folder_fds)
    names = sorted(OPS)
    weights = [OPS[k].weight for k in names]
    ops = []
    for name in g.rng.choices(names, weights, k=n):
        ops.append((name, OPS[name].gen(g)))
        g.note(*ops[-1])
    return ops


def op_text(op):
    return "%s(%s)" % (op[0], ", ".join(map(repr, op[1])))


# ---------------------------------------------------------------------------
# Differences docs/semantics.md documents as intended: (op name, test, doc).
# ---------------------------------------------------------------------------

ALLOWLIST = [
    # docs/semantics.md line 32: "Files may be up to 2^50 bytes (1 PiB);
    # beyond, EFBIG."  ext4 with 4 KiB blocks stops at 16 TiB - 4 KiB.
    ("truncate_big",
     lambda args, m, r: (m[0] == "ok" and r == ("err", "EFBIG")
                         and EXT4_MAX_FILE < args[1] <= 2 ** 50),
     "docs/semantics.md:32 (files up to 2^50 bytes)"),
]


def allowed(op, m, r):
    """The doc pointer when op's results m (tenantfs) and r (ext4) differ
    as documented, else None."""
    for name, test, doc in ALLOWLIST:
        if name == op[0] and test(op[1], m, r):
            return doc
    return None


# ---------------------------------------------------------------------------
# Running ops and describing state
# ---------------------------------------------------------------------------


def errname(e):
    return errno.errorcode.get(e.errno, str(e.errno))


def attempt(fn, *args):
    """("ok", value) or ("err", ERRNO-NAME)."""
    try:
        return ("ok", fn(*args))
    except OSError as e:
        return ("err", errname(e))


def materialise(args):
    return tuple(pat(*a) if isinstance(a, Pat) else a for a in args)


class Side:
    """One tree (tenantfs or ext4): its worker folder and open slots."""

    def __init__(self, root):
        self.root = root
        self.fds = {}

    def apply(self, op):
        os.chdir(self.root)
        return attempt(OPS[op[0]].func, self.fds, *materialise(op[1]))

    def close_all(self):
        """Closes every slot; returns {slot: result}."""
        return {s: attempt(os.close, self.fds.pop(s)) for s in sorted(self.fds)}


def xattrs(path=None, fd=None):
    """{name: value} of a path (not following symlinks) or a descriptor."""
    if fd is not None:
        return {n: os.getxattr(fd, n) for n in sorted(os.listxattr(fd))}
    return {n: os.getxattr(path, n, follow_symlinks=False)
            for n in sorted(os.listxattr(path, follow_symlinks=False))}


def read_file(path):
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    try:
        return _pread_all(fd)
    finally:
        os.close(fd)


def stat_fields(st):
    """What is compared of a stat: no ino, dev, times, blocks, folder size."""
    d = {"type": stat.S_IFMT(st.st_mode), "mode": oct(stat.S_IMODE(st.st_mode)),
         "uid": st.st_uid, "gid": st.st_gid, "nlink": st.st_nlink}
    if not stat.S_ISDIR(st.st_mode):
        d["size"] = st.st_size
    return d


def describe(path):
    """The comparable state of one path (not following a final symlink)."""
    r = attempt(os.lstat, path)
    if r[0] == "err":
        return {"lstat": r}
    st = r[1]
    d = stat_fields(st)
    if stat.S_ISDIR(st.st_mode):
        d["entries"] = attempt(lambda: sorted(os.listdir(path)))
    elif stat.S_ISREG(st.st_mode):
        d["data"] = attempt(read_file, path)
    if stat.S_ISLNK(st.st_mode):
        d["target"] = attempt(os.readlink, path)
    else:
        d["xattrs"] = attempt(xattrs, path)
    return d


def describe_fd(fd, content=True):
    """The comparable state of an open descriptor (its file may be gone):
    fstat, and unless not content, data and xattrs."""
    r = attempt(os.fstat, fd)
    if r[0] == "err":
        return {"fstat": r}
    d = stat_fields(r[1])
    if not content:
        return d
    if stat.S_ISREG(r[1].st_mode):
        d["data"] = attempt(_pread_all, fd)
    d["xattrs"] = attempt(xattrs, None, fd)
    return d


def walk(root, rel=""):
    """{relative path: description} of every entry under root."""
    out = {}
    full = os.path.join(root, rel) if rel else root
    for name in sorted(os.listdir(full)):
        sub = os.path.join(rel, name) if rel else name
        out[sub] = describe(os.path.join(root, sub))
        if out[sub].get("type") == stat.S_IFDIR:
            out.update(walk(root, sub))
    return out


def short(v, limit=120):
    """A readable, bounded rendering of a value."""
    if isinstance(v, tuple) and len(v) == 2 and v[0] == "ok" and isinstance(v[1], bytes):
        v = v[1]
    if isinstance(v, bytes) and len(v) > 48:
        return "<%d bytes sha1 %s>" % (len(v), hashlib.sha1(v).hexdigest()[:10])
    s = repr(v)
    return s if len(s) <= limit else s[:limit] + "..."


def first_diff(a, b):
    """Where two results ("ok", bytes or tuple of bytes) first differ."""
    if not (isinstance(a, tuple) and isinstance(b, tuple) and a[0] == b[0] == "ok"):
        return ""
    xs, ys = a[1], b[1]
    if isinstance(xs, bytes) and isinstance(ys, bytes):
        xs, ys = (xs,), (ys,)
    for part, (x, y) in enumerate(zip(xs, ys)):
        if isinstance(x, bytes) and isinstance(y, bytes) and x != y:
            i = next((k for k in range(min(len(x), len(y))) if x[k] != y[k]),
                     min(len(x), len(y)))
            return (" (part %d: %d vs %d bytes, first difference at byte %d: %r vs %r)"
                    % (part, len(x), len(y), i, x[i:i + 16], y[i:i + 16]))
    return ""


def diff_desc(where, m, r):
    """[(field, text)] for each field where descriptions m, r differ."""
    out = []
    for k in sorted(set(m) | set(r), key=str):
        if m.get(k) != r.get(k):
            extra = first_diff(m.get(k), r.get(k)) if k == "data" else ""
            out.append((k, "%s: %s: tenantfs %s, ext4 %s%s"
                        % (where, k, short(m.get(k)), short(r.get(k)), extra)))
    return out


class Mismatch(Exception):
    """A difference: index and text of the op after which it was seen, kind
    ("result" or "state"), field names (for shrinking) and readable lines."""

    def __init__(self, index, op, kind, fields, lines):
        super().__init__(lines[0] if lines else kind)
        self.info = {"index": index, "op": op_text(op), "kind": kind,
                     "fields": sorted(set(fields)), "lines": lines,
                     "opname": op[0]}


def signature(info):
    """What a shrunk list must still show: the same op with the same
    outcomes (ok or errno) on each side for a result mismatch, the same
    differing fields for a state one."""
    if info["kind"] == "result":
        return ("result", info["opname"], tuple(info["fields"]))
    return ("state", tuple(info["fields"]))


def parent(p):
    return os.path.dirname(p)


# ---------------------------------------------------------------------------
# One op list on both trees
# ---------------------------------------------------------------------------


class Runner:
    """Applies an op list to a tenantfs folder and an ext4 folder, raising
    Mismatch at the first difference."""

    def __init__(self, mroot, rroot):
        self.m, self.r = Side(mroot), Side(rroot)
        self.slot_path = {}
        self.stats = collections.Counter()   # (op name, "ok" or errno)

    def run(self, ops):
        cwd = os.getcwd()
        try:
            for i, op in enumerate(ops):
                self.step(i, op)
                if (i + 1) % FULL_EVERY == 0:
                    self.compare_tree(i, op)
            self.finish(len(ops) - 1, ops[-1] if ops else ("end", ()))
        finally:
            for side in (self.m, self.r):
                side.close_all()
            os.chdir(cwd)

    def step(self, i, op):
        rm, rr = self.m.apply(op), self.r.apply(op)
        self.stats[op[0], rr[0] == "ok" and "ok" or rr[1]] += 1
        if rm != rr and allowed(op, rm, rr) is None:
            outcome = ["tenantfs " + (rm[1] if rm[0] == "err" else "ok"),
                       "ext4 " + (rr[1] if rr[0] == "err" else "ok")]
            raise Mismatch(i, op, "result", outcome,
                           ["result: tenantfs %s, ext4 %s%s"
                            % (short(rm), short(rr), first_diff(rm, rr))])
        spec = OPS[op[0]]
        if spec.slot and op[0] == "fd_open" and op[1][0] in self.m.fds:
            self.slot_path[op[1][0]] = op[1][1]
        if spec.mutates:
            self.compare_paths(i, op, self.affected(op))
            for slot in self.open_slots():      # e.g. its file was unlinked
                self.compare_slot(i, op, slot, content=False)
        if spec.slot:
            self.compare_slot(i, op, op[1][0])

    def affected(self, op):
        """The paths op names, their parent folders, and the path a slot
        it uses was opened at."""
        spec = OPS[op[0]]
        paths = [op[1][k] for k in spec.paths]
        if spec.slot and op[1][0] in self.slot_path:
            paths.append(self.slot_path[op[1][0]])
        return sorted(set(paths) | {parent(p) for p in paths})

    def compare_paths(self, i, op, paths):
        fields, lines = [], []
        for p in paths:
            dm = describe(os.path.join(self.m.root, p))
            dr = describe(os.path.join(self.r.root, p))
            for f, text in diff_desc(p or ".", dm, dr):
                fields.append(f)
                lines.append(text)
        if lines:
            raise Mismatch(i, op, "state", fields, lines)

    def open_slots(self):
        return sorted(set(self.m.fds) | set(self.r.fds))

    def compare_slot(self, i, op, slot, content=True):
        dm = describe_fd(self.m.fds.get(slot, NOFD), content)
        dr = describe_fd(self.r.fds.get(slot, NOFD), content)
        d = diff_desc("slot %d" % slot, dm, dr)
        if d:
            raise Mismatch(i, op, "state", [f for f, _ in d], [t for _, t in d])

    def compare_tree(self, i, op):
        tm, tr = walk(self.m.root), walk(self.r.root)
        fields, lines = [], []
        for p in sorted(set(tm) | set(tr)):
            for f, text in diff_desc(p, tm.get(p, {"exists": False}),
                                     tr.get(p, {"exists": False})):
                fields.append(f)
                lines.append(text)
        for slot in self.open_slots():
            self.compare_slot(i, op, slot)
        if lines:
            raise Mismatch(i, op, "state", fields, ["(whole tree) " + x for x in lines])

    def finish(self, i, op):
        """Compares the tree with descriptors open, closes them all (the
        last close of an unlinked file deletes it), compares again."""
        self.compare_tree(i, op)
        cm, cr = self.m.close_all(), self.r.close_all()
        if cm != cr:
            raise Mismatch(i, op, "result", ["close"],
                           ["closing slots: tenantfs %s, ext4 %s" % (cm, cr)])
        self.compare_tree(i, op)


def run_ops(ops, mroot, rroot, stats=None):
    """None, or the info dict of the first mismatch; adds the outcome of
    each op to the Counter stats."""
    runner = Runner(mroot, rroot)
    try:
        runner.run(ops)
    except Mismatch as m:
        return m.info
    finally:
        if stats is not None:
            stats.update(runner.stats)
    return None


def compare_trees(mroot, rroot):
    """Lines describing differences between two whole trees (e.g. after a
    remount), empty when equal."""
    tm, tr = walk(mroot), walk(rroot)
    return [t for p in sorted(set(tm) | set(tr))
            for _, t in diff_desc(p, tm.get(p, {"exists": False}),
                                  tr.get(p, {"exists": False}))]


# ---------------------------------------------------------------------------
# Workers, shrinking, reports
# ---------------------------------------------------------------------------


def worker_main(conn, mroot, rroot, seed, nops, folder_fds):
    """Body of one worker process: sends back its result dict."""
    try:
        os.umask(0o022)
        t0 = time.monotonic()
        stats = collections.Counter()
        info = run_ops(gen_ops(seed, nops, folder_fds), mroot, rroot, stats)
        conn.send({"mismatch": info, "seconds": time.monotonic() - t0,
                   "stats": stats})
    except BaseException:
        conn.send({"crash": traceback.format_exc()})
    finally:
        conn.close()


def fresh_dir(base, stem):
    """Creates and returns base/stem-N for the first N not taken."""
    n = 0
    while True:
        p = os.path.join(base, "%s-%d" % (stem, n))
        try:
            os.mkdir(p, 0o755)
            return p
        except FileExistsError:
            n += 1


def run_workers(mroots, rroots, seeds, nops, folder_fds):
    """Runs one process per (mroot, rroot, seed) at once; their results."""
    ctx = multiprocessing.get_context("fork")
    procs = []
    for m, r, s in zip(mroots, rroots, seeds):
        here, there = ctx.Pipe(duplex=False)
        p = ctx.Process(target=worker_main, args=(there, m, r, s, nops, folder_fds))
        p.start()
        there.close()
        procs.append((p, here))
    results = []
    for p, conn in procs:
        try:
            results.append(conn.recv())
        except EOFError:
            results.append({"crash": "worker died without a report"})
        p.join()
    return results


def ddmin(items, fails, deadline):
    """Delta debugging (complements): a shorter list that still fails, from
    which no chunk at the finest granularity tried can be removed."""
    n = 2
    while len(items) >= 2 and time.monotonic() < deadline:
        size = -(-len(items) // n)
        chunks = [items[k:k + size] for k in range(0, len(items), size)]
        for k in range(len(chunks)):
            rest = [x for j, c in enumerate(chunks) if j != k for x in c]
            if time.monotonic() >= deadline:
                return items
            if fails(rest):
                items, n = rest, max(n - 1, 2)
                break
        else:
            if n >= len(items):
                break
            n = min(2 * n, len(items))
    return items


def shrink(run_m, run_r, worker, ops, info, log):
    """Shrinks a failing worker's ops (replayed alone, in fresh folders);
    returns the shortest failing list, or None if the prefix alone does not
    fail (the mismatch needed the other workers' interleaving)."""
    want = signature(info)
    tries = [0]

    def fails(sub):
        tries[0] += 1
        stem = "shrink-w%d" % worker
        m, r = fresh_dir(run_m, stem), fresh_dir(run_r, stem)
        got = run_ops(sub, m, r)
        for d in (m, r):
            shutil.rmtree(d, ignore_errors=True)
        return got is not None and signature(got) == want

    os.umask(0o022)
    prefix = ops[:info["index"] + 1]
    if not fails(prefix):
        log("  the %d ops do not fail when replayed alone" % len(prefix))
        return None
    small = ddmin(prefix, fails, time.monotonic() + SHRINK_SECONDS)
    log("  shrunk %d ops to %d in %d replays" % (len(prefix), len(small), tries[0]))
    return small


def _source(f):
    """f's source without its decorator."""
    lines = inspect.getsource(f).splitlines()
    start = next(k for k, x in enumerate(lines) if x.startswith("def "))
    return "\n".join(lines[start:])


def snippet(ops):
    """A stand-alone Python script replaying ops in the folder argv[1]:
    the op functions used, and the helpers they need."""
    bodies = [_source(OPS[n].func) for n in sorted({o[0] for o in ops})]
    bodies.append("pat(" if any(isinstance(a, Pat) for o in ops for a in o[1]) else "")
    needed = []
    while True:         # helpers named by the code kept so far, transitively
        more = [h for h in HELPERS if h not in needed and
                any(h.__name__ + "(" in b for b in bodies + [_source(x) for x in needed])]
        if not more:
            break
        needed += more
    text = "\n".join(_source(h) for h in HELPERS if h in needed)
    parts = ["# python3 THIS.py FOLDER: run in an empty folder on tenantfs and",
             "# in one on ext4; compare the outputs.",
             "import ctypes, errno, mmap, os, stat, sys"]
    if "libc." in text:
        parts += ["libc = ctypes.CDLL(None, use_errno=True)",
                  "libc.renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, "
                  "ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]",
                  "libc.fallocate.argtypes = [ctypes.c_int, ctypes.c_int, "
                  "ctypes.c_int64, ctypes.c_int64]"]
    parts += ["AT_FDCWD, NOFD = %d, %d" % (AT_FDCWD, NOFD),
              "FLAG_NAMES = %r" % FLAG_NAMES, text] + bodies[:-1]
    parts += ["def run(f, *a):",
              "    try:",
              "        r = ('ok', f(fds, *a))",
              "    except OSError as e:",
              "        r = ('err', errno.errorcode[e.errno])",
              "    print(f.__name__[3:], '->', repr(r)[:200])",
              "os.chdir(sys.argv[1])", "os.umask(0o022)", "fds = {}"]
    parts += ["run(op_%s%s)" % (o[0], "".join(", " + repr(a) for a in o[1]))
              for o in ops]
    return "\n".join(p for p in parts if p) + "\n"


def report(worker, seed, info, log):
    log("MISMATCH in worker %d (worker seed %d), op #%d: %s"
        % (worker, seed, info["index"], info["op"]))
    for line in info["lines"][:20]:
        log("  " + line)


def run(mount_dir, ref_dir, seed, nops, procs, do_shrink=True, log=print,
        workers=None, folder_fds=True):
    """One run: K workers at once, then a shrink of each failing one
    (folder_fds False: no slot ever holds a folder, see --no-folder-fds).
    Returns a summary dict: seconds, mismatches [(worker, info, shrunk)],
    crashes [(worker, text)]."""
    workers = list(range(procs)) if workers is None else workers
    old_umask = os.umask(0o022)
    t0 = time.monotonic()
    run_m = fresh_dir(mount_dir, "diff-%d" % seed)
    run_r = fresh_dir(ref_dir, "diff-%d" % seed)
    mroots = [fresh_dir(run_m, "w%d" % w) for w in workers]
    rroots = [fresh_dir(run_r, "w%d" % w) for w in workers]
    results = run_workers(mroots, rroots, [seed + w for w in workers], nops,
                          folder_fds)
    seconds = time.monotonic() - t0
    log("difftest: seed %d, %d ops x %d workers in %.1f s (tenantfs %s, ext4 %s)"
        % (seed, nops, len(workers), seconds, run_m, run_r))
    out = {"seconds": seconds, "mismatches": [], "crashes": [],
           "mroots": mroots, "rroots": rroots, "stats": collections.Counter()}
    for res in results:
        out["stats"].update(res.get("stats", {}))
    done = sum(out["stats"].values())
    ok = sum(n for (_, r), n in out["stats"].items() if r == "ok")
    log("difftest: %d ops ran, %d succeeded" % (done, ok))
    for w, res in zip(workers, results):
        if "crash" in res:
            log("TESTER ERROR in worker %d:\n%s" % (w, res["crash"]))
            out["crashes"].append((w, res["crash"]))
        elif res["mismatch"]:
            out["mismatches"].append(
                (w, res["mismatch"],
                 handle_mismatch(run_m, run_r, w, seed, nops, res["mismatch"],
                                 do_shrink, log, folder_fds)))
    if out["mismatches"]:
        log("replay: python3 tests/integration/difftest.py --mount-dir %s "
            "--ref-dir %s --seed %d --ops %d --procs %d%s"
            % (mount_dir, ref_dir, seed, nops, procs,
               "" if folder_fds else " --no-folder-fds"))
    os.umask(old_umask)
    return out


def handle_mismatch(run_m, run_r, w, seed, nops, info, do_shrink, log,
                    folder_fds):
    ops = gen_ops(seed + w, nops, folder_fds)
    report(w, seed + w, info, log)
    if not do_shrink:
        return None
    small = shrink(run_m, run_r, w, ops, info, log)
    if small is None:
        return None
    log("  reproducer (%d ops):" % len(small))
    for k, o in enumerate(small):
        log("    %d. %s" % (k + 1, op_text(o)))
    detail = run_ops(small, fresh_dir(run_m, "repro-w%d" % w), fresh_dir(run_r, "repro-w%d" % w))
    for line in (detail or {"lines": []})["lines"][:10]:
        log("    -> " + line)
    log("  as a script:\n" + "\n".join("    " + x for x in snippet(small).splitlines()))
    return small


def stats_table(stats):
    """Lines 'op: ok N, ENOENT N, ...' per op name."""
    lines = []
    for name in sorted(OPS):
        got = sorted(((r, n) for (o, r), n in stats.items() if o == name),
                     key=lambda x: (x[0] != "ok", -x[1]))
        lines.append("  %-14s %s" % (name, ", ".join("%s %d" % x for x in got)))
    return lines


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--mount-dir", required=True, help="folder inside a mounted tenant")
    ap.add_argument("--ref-dir", required=True, help="folder on a local ext4 disk")
    ap.add_argument("--seed", type=int, default=None, help="default: random")
    ap.add_argument("--ops", type=int, default=1000, help="ops per worker")
    ap.add_argument("--procs", type=int, default=4, help="worker processes")
    ap.add_argument("--worker", type=int, action="append",
                    help="run only this worker (repeatable)")
    ap.add_argument("--no-shrink", action="store_true")
    ap.add_argument("--no-folder-fds", action="store_true",
                    help="never open O_RDONLY, so no slot holds a folder: "
                    "to look past a known bug with removed open folders "
                    "(other op lists than without it)")
    ap.add_argument("--stats", action="store_true",
                    help="print how each op ended (ok / errno), summed")
    ap.add_argument("--list-ops", type=int, metavar="W",
                    help="print worker W's op list and exit")
    a = ap.parse_args(argv)
    seed = a.seed if a.seed is not None else random.randrange(2 ** 31)
    if a.list_ops is not None:
        for k, o in enumerate(gen_ops(seed + a.list_ops, a.ops, not a.no_folder_fds)):
            print("%d. %s" % (k, op_text(o)))
        return 0
    res = run(a.mount_dir, a.ref_dir, seed, a.ops, a.procs,
              do_shrink=not a.no_shrink, workers=a.worker,
              folder_fds=not a.no_folder_fds)
    if a.stats:
        print("\n".join(stats_table(res["stats"])))
    sys.stdout.flush()
    return 1 if res["mismatches"] or res["crashes"] else 0


if __name__ == "__main__":
    sys.exit(main())
