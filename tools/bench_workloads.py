"""Workloads of tools/bench (stdlib only, imported by tools/bench).

A workload is a `Workload(name, unit, run, doc)`; `run(dir, params, ctx)` runs
inside the mounted folder `dir` and returns `(amount, seconds)`; the driver
divides.  `params` holds the sizes (full or --quick), `ctx` is a dict shared by
the workloads of one repetition of one system (it records which data sets
exist, so a workload whose input is missing prepares it first, untimed).  The
driver puts three things in it:

  ctx["run"]      state made once per run by the workloads' `prepare(state,
                  params)` hooks, before any system is set up (the tar
                  workloads' source archive); holds "tmp", the run's folder,
                  and "scratch", a folder of the run on a tmpfs when there
                  is one (else "tmp"), for files outside the mount
  ctx["system"]   the system under test (the scale workload asks it for
                  system-specific measurements, e.g. tenantfs's tenants)
  ctx["metrics"]  {label: (value, unit)}: extra named figures a workload
                  measures besides its rate; the driver prints them in a
                  table of their own

Every workload checks what it reads (contents, counts, attributes), so a
filesystem that returns wrong data fails instead of looking fast.

The hot loops use os.open/os.write/os.read only: the same harness for every
system, so the per-operation Python overhead is the same for all of them.
Run as a program (`bench_workloads.py --stat-child DIR N`) it is the fresh
process of the stat workload.
"""

import hashlib
import json
import os
import random
import stat
import subprocess
import sys
import tarfile
import tempfile
import time

RECORD_SIZE = 1024
SEQ_BLOCK = 1 << 20


def drop_caches():
    """Write back, then drop page cache, dentries and inodes (needs root)."""
    os.sync()
    with open("/proc/sys/vm/drop_caches", "w") as f:
        f.write("3\n")


def record_payload(i):
    """Deterministic 1 KiB content of record i (differs for every record)."""
    head = ("record %08d " % i).encode()
    return (head * (RECORD_SIZE // len(head) + 1))[:RECORD_SIZE]


def record_names(n):
    return ["r%06d.rec" % i for i in range(n)]


def renamed_names(n):
    """The records' names after the rename workload (same folder)."""
    return ["m%06d.rec" % i for i in range(n)]


class Workload:
    """`doc` may name the sizes as {records}, {seq_mib}... (params keys).
    Optional: `prepare(state, params)` runs once per run before any system
    (untimed; state is ctx["run"]); `timeout` is how long the workload may
    take before the daemon counts as hung, when that is more than --timeout;
    `image(params)` gives the (GiB, inodes) the loop ext4 needs, when more
    than the default."""

    def __init__(self, name, unit, run, doc, prepare=None, timeout=None, image=None):
        self.name, self.unit, self.run, self.doc = name, unit, run, doc
        self.prepare, self.timeout, self.image = prepare, timeout, image


def run_cmd(cmd, what):
    """Run an external command (fio, tar); IOError with its output on failure."""
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       stdin=subprocess.DEVNULL)
    if p.returncode != 0:
        said = " / ".join(p.stdout.decode(errors="replace").split("\n")).strip(" /")
        raise IOError("%s: `%s` exited %d: %s" % (what, " ".join(cmd), p.returncode,
                                                  said[-1500:]))
    return p.stdout


# --- small records -------------------------------------------------------

def _create_records(base, n):
    """The create loop: open(O_CREAT|O_EXCL), one write, close.  Timed."""
    d = os.path.join(base, "records")
    os.mkdir(d)
    names = [os.path.join(d, x) for x in record_names(n)]
    payloads = [record_payload(i) for i in range(n)]
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL
    t0 = time.perf_counter()
    for path, data in zip(names, payloads):
        fd = os.open(path, flags, 0o644)
        try:
            if os.write(fd, data) != RECORD_SIZE:
                raise IOError("short write on %s" % path)
        finally:
            os.close(fd)
    t = time.perf_counter() - t0
    return t


def _ensure_records(base, params, ctx):
    """Make sure the N records exist under their own names, untimed.
    ctx["records"] is None (none), "created" or "renamed" (the rename
    workload gave them new names; they are deleted and made again)."""
    if ctx.get("records") == "created":
        return
    if ctx.get("records") == "renamed":
        d = os.path.join(base, "records")
        for x in renamed_names(params["records"]):
            os.unlink(os.path.join(d, x))
        os.rmdir(d)
    _create_records(base, params["records"])
    ctx["records"] = "created"


def _read_records(base, n, names=None):
    """Read and check every record (under `names`, default their own).
    Returns the time it took."""
    d = os.path.join(base, "records")
    names = [os.path.join(d, x) for x in (names or record_names(n))]
    payloads = [record_payload(i) for i in range(n)]
    t0 = time.perf_counter()
    for path, want in zip(names, payloads):
        fd = os.open(path, os.O_RDONLY)
        try:
            got = os.read(fd, RECORD_SIZE + 1)
        finally:
            os.close(fd)
        if got != want:
            raise IOError("wrong content in %s (%d bytes read)" % (path, len(got)))
    return time.perf_counter() - t0


def wl_create(base, params, ctx):
    n = params["records"]
    t = _create_records(base, n)
    ctx["records"] = "created"
    return n, t


def wl_read_warm(base, params, ctx):
    _ensure_records(base, params, ctx)
    n = params["records"]
    _read_records(base, n)          # warm-up pass, untimed
    return n, _read_records(base, n)


def wl_read_cold(base, params, ctx):
    _ensure_records(base, params, ctx)
    n = params["records"]
    drop_caches()
    return n, _read_records(base, n)


def _check_stats(paths, sts):
    """Every record a regular file of RECORD_SIZE bytes."""
    for path, st in zip(paths, sts):
        if not stat.S_ISREG(st.st_mode) or st.st_size != RECORD_SIZE:
            raise IOError("%s: mode %o, size %d (want a regular file of %d bytes)"
                          % (path, st.st_mode, st.st_size, RECORD_SIZE))


def stat_child(d, n):
    """The stat workload's fresh process: lstat every record, timing the
    loop only (not the interpreter's start), check type and size, print
    "count seconds"."""
    paths = [os.path.join(d, x) for x in record_names(n)]
    t0 = time.perf_counter()
    sts = [os.lstat(p) for p in paths]
    t = time.perf_counter() - t0
    _check_stats(paths, sts)
    print("%d %.9f" % (len(sts), t))


def wl_stat(base, params, ctx):
    _ensure_records(base, params, ctx)
    n = params["records"]
    d = os.path.join(base, "records")
    # Untimed: the kernel forgets the records (cold, whatever ran before),
    # so every lstat is a lookup the system answers itself.
    drop_caches()
    out = run_cmd([sys.executable, "-B", os.path.abspath(__file__), "--stat-child", d, str(n)],
                  "stat child").decode().split()
    if len(out) != 2 or int(out[0]) != n:
        raise IOError("stat child printed %r" % " ".join(out))
    return n, float(out[1])


def _check_listing(d, got, want):
    """A listing of d must be exactly the set `want` (no name twice)."""
    if len(got) != len(want) or set(got) != want:
        extra = sorted(set(got) - want)[:3]
        missing = sorted(want - set(got))[:3]
        raise IOError("listing of %s: %d entries, want %d (extra %s, missing %s)"
                      % (d, len(got), len(want), extra, missing))


def wl_readdir(base, params, ctx):
    _ensure_records(base, params, ctx)
    n, passes = params["records"], params["listings"]
    d = os.path.join(base, "records")
    want = set(record_names(n))
    _check_listing(d, os.listdir(d), want)     # untimed, warms as stat does
    got = []
    t0 = time.perf_counter()
    for _ in range(passes):
        got.append(os.listdir(d))
    t = time.perf_counter() - t0
    for names in got:                          # checked after the clock
        _check_listing(d, names, want)
    return passes * n, t


def wl_rename(base, params, ctx):
    _ensure_records(base, params, ctx)
    n = params["records"]
    d = os.path.join(base, "records")
    new = renamed_names(n)
    pairs = [(os.path.join(d, a), os.path.join(d, b)) for a, b in zip(record_names(n), new)]
    t0 = time.perf_counter()
    for old, path in pairs:
        os.rename(old, path)
    t = time.perf_counter() - t0
    ctx["records"] = "renamed"
    # untimed: exactly the new names, each with its record's content
    _check_listing(d, os.listdir(d), set(new))
    _read_records(base, n, new)
    return n, t


def wl_unlink(base, params, ctx):
    if not ctx.get("records"):
        _ensure_records(base, params, ctx)
    n = params["records"]
    d = os.path.join(base, "records")
    names = renamed_names(n) if ctx["records"] == "renamed" else record_names(n)
    paths = [os.path.join(d, x) for x in names]
    t0 = time.perf_counter()
    for path in paths:
        os.unlink(path)
    t = time.perf_counter() - t0
    ctx["records"] = None
    left = os.listdir(d)
    if left:
        raise IOError("%d entries left in %s after unlinking all, e.g. %s"
                      % (len(left), d, sorted(left)[:3]))
    os.rmdir(d)
    return n, t


# --- fsync'd records, 1 and 8 writer processes ---------------------------------

def _fsync_writer(d, k, go_r, out_w, secs):
    """Child: wait for go, then fsync'd 1 KiB records until `secs` passed;
    write "count elapsed" to out_w."""
    os.read(go_r, 1)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL
    data = record_payload(k)
    n = 0
    t0 = time.perf_counter()
    deadline = t0 + secs
    while True:
        fd = os.open(os.path.join(d, "w%02d_%07d.rec" % (k, n)), flags, 0o644)
        try:
            if os.write(fd, data) != RECORD_SIZE:
                raise IOError("short write")
            os.fsync(fd)
        finally:
            os.close(fd)
        n += 1
        now = time.perf_counter()
        if now >= deadline:
            break
    os.write(out_w, ("%d %.6f\n" % (n, now - t0)).encode())


def _fsync_run(base, params, nproc):
    """nproc processes, each in a loop of open(O_CREAT|O_EXCL), write 1 KiB,
    fsync, close, distinct names, for params["fsync_secs"]; all start at
    once, after `sync; echo 3 > drop_caches` (untimed).  Returns (records, wall seconds from go to the last one done)."""
    d = os.path.join(base, "fsync%d" % nproc)
    os.mkdir(d)
    # Untimed: write back what earlier workloads left dirty (so it does not
    # land in our fsyncs) and let the kernel forget their inodes
    # (passthrough_ll holds a descriptor per inode the kernel knows).
    drop_caches()
    go_r, go_w = os.pipe()
    out_r, out_w = os.pipe()
    pids = []
    for k in range(nproc):
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                os.close(go_w)
                os.close(out_r)
                _fsync_writer(d, k, go_r, out_w, params["fsync_secs"])
                code = 0
            except BaseException as e:
                os.write(2, ("fsync writer %d: %s: %s\n"
                             % (k, type(e).__name__, e)).encode())
            finally:
                os._exit(code)
        pids.append(pid)
    os.close(go_r)
    os.close(out_w)
    t0 = time.perf_counter()
    os.write(go_w, b"g" * nproc)
    os.close(go_w)
    buf = b""
    while True:
        chunk = os.read(out_r, 4096)
        if not chunk:
            break
        buf += chunk
    t = time.perf_counter() - t0
    os.close(out_r)
    failed = 0
    for pid in pids:
        _, status = os.waitpid(pid, 0)
        failed += status != 0
    lines = buf.decode().split()
    if failed or len(lines) != 2 * nproc:
        raise IOError("%d of %d fsync writers failed" % (failed or nproc - len(lines) // 2,
                                                       nproc))
    total = sum(int(x) for x in lines[0::2])
    return total, t


def wl_fsync1(base, params, ctx):
    return _fsync_run(base, params, 1)


def wl_fsync8(base, params, ctx):
    return _fsync_run(base, params, 8)


# --- one big file ------------------------------------------------------------

def _seq_block(buf, i):
    """Block i of the big file: a random 1 MiB buffer stamped with i."""
    buf[0:16] = ("block %010d" % i).encode()
    return buf


def _write_blocks(path, buf, nblocks, flags):
    """Write nblocks blocks of 1 MiB (block i: _seq_block(buf, i)), fsync."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | flags, 0o644)
    try:
        for i in range(nblocks):
            if os.write(fd, _seq_block(buf, i)) != SEQ_BLOCK:
                raise IOError("short write on %s" % path)
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_big(base, params, ctx):
    path = os.path.join(base, "big.bin")
    nblocks = params["seq_mib"]
    buf = bytearray(ctx.setdefault("seq_buf", os.urandom(SEQ_BLOCK)))
    t0 = time.perf_counter()
    _write_blocks(path, buf, nblocks, os.O_TRUNC)
    t = time.perf_counter() - t0
    ctx["big"] = True
    return nblocks * SEQ_BLOCK, t


def wl_seq_write(base, params, ctx):
    nbytes, t = _write_big(base, params, ctx)
    return nbytes / 1e6, t


def wl_seq_read(base, params, ctx):
    if not ctx.get("big"):
        _write_big(base, params, ctx)
    path = os.path.join(base, "big.bin")
    nblocks = params["seq_mib"]
    want = bytearray(ctx["seq_buf"])
    got = bytearray(SEQ_BLOCK)
    drop_caches()
    t0 = time.perf_counter()
    fd = os.open(path, os.O_RDONLY)
    try:
        _read_big(fd, path, nblocks, want, got)
    finally:
        os.close(fd)
    t = time.perf_counter() - t0
    return nblocks * SEQ_BLOCK / 1e6, t


def _read_big(fd, path, nblocks, want, got):
    for i in range(nblocks):
        # readv fills the preallocated buffer; FUSE may return short reads
        done = 0
        view = memoryview(got)
        while done < SEQ_BLOCK:
            k = os.readv(fd, [view[done:]])
            if k == 0:
                raise IOError("%s ends early, at block %d" % (path, i))
            done += k
        if got != _seq_block(want, i):
            raise IOError("wrong content in %s block %d" % (path, i))
    if os.read(fd, 1) != b"":
        raise IOError("%s is longer than written" % path)


# --- random 4 KiB overwrites in one file, with fio ----------------------------

RAND_BLOCK = 4096


def _fio_block(offset):
    """What fio's `--verify=pattern --verify_pattern=%o` writes in the 4 KiB
    block at `offset`: the offset, 8 bytes little-endian, over and over."""
    return offset.to_bytes(8, "little") * (RAND_BLOCK // 8)


def _check_rand_file(path, mib, buf, ios):
    """Every 4 KiB block of the file is either as laid out or fio's block
    for its offset, and as many blocks changed as fio wrote (fio's random
    map writes each block once before any twice)."""
    nblocks = mib * SEQ_BLOCK // RAND_BLOCK
    per = SEQ_BLOCK // RAND_BLOCK
    changed = 0
    fd = os.open(path, os.O_RDONLY)
    try:
        if os.fstat(fd).st_size != mib * SEQ_BLOCK:
            raise IOError("%s is %d bytes after fio, want %d"
                          % (path, os.fstat(fd).st_size, mib * SEQ_BLOCK))
        got = bytearray(SEQ_BLOCK)
        for i in range(mib):
            if os.preadv(fd, [got], i * SEQ_BLOCK) != SEQ_BLOCK:
                raise IOError("short read in %s at MiB %d" % (path, i))
            laid = _seq_block(buf, i)
            for k in range(per):
                lo, hi = k * RAND_BLOCK, (k + 1) * RAND_BLOCK
                block = got[lo:hi]
                if block == laid[lo:hi]:
                    continue
                if block != _fio_block(i * SEQ_BLOCK + lo):
                    raise IOError("%s: block at offset %d is neither as laid out nor as "
                                  "fio wrote it" % (path, i * SEQ_BLOCK + lo))
                changed += 1
    finally:
        os.close(fd)
    if changed != min(ios, nblocks):
        raise IOError("%s: %d blocks changed, fio wrote %d of %d blocks"
                      % (path, changed, ios, nblocks))


def wl_rand_write(base, params, ctx):
    path = os.path.join(base, "rand.bin")
    mib, secs = params["rand_mib"], params["rand_secs"]
    buf = bytearray(ctx.setdefault("seq_buf", os.urandom(SEQ_BLOCK)))
    # Untimed: lay the file out (1 MiB writes, fsync); its pages stay cached
    # as far as the system keeps them.
    _write_blocks(path, buf, mib, os.O_EXCL)
    fd, out = tempfile.mkstemp(prefix="fio-", suffix=".json", dir=ctx["run"]["scratch"])
    os.close(fd)
    try:
        # fio reads ':' in a file name as a separator; --fallocate=none: the
        # file exists already, do not ask every system for fallocate; the
        # verify options only choose what fio writes (no verify phase, no
        # verify state file left in the current folder)
        run_cmd(["fio", "--name=rand_write", "--filename=" + path.replace(":", "\\:"),
                 "--size=%dm" % mib, "--bs=4k", "--rw=randwrite", "--ioengine=psync",
                 "--time_based", "--runtime=%d" % secs, "--fallocate=none",
                 "--verify=pattern", "--verify_pattern=%o", "--do_verify=0",
                 "--verify_state_save=0", "--output-format=json", "--output=" + out], "fio")
        with open(out) as f:
            job = json.load(f)["jobs"][0]
    finally:
        os.unlink(out)
    ios, ms = job["write"]["total_ios"], job["write"]["runtime"]
    if job["error"] or ios <= 0 or ms <= 0:
        raise IOError("fio: error %s, %d writes in %d ms" % (job["error"], ios, ms))
    drop_caches()                   # untimed: the check reads what was stored
    _check_rand_file(path, mib, buf, ios)
    return ios, ms / 1000.0


# --- tar of a real tree into the mount and back out ---------------------------

TAR_FIELDS = ("type", "mode", "uid", "gid", "size", "mtime", "link target", "sha256")


def tar_summary(path):
    """{name: (type, mode, uid, gid, size, mtime, link target, sha256 of the
    content)} of every member of an archive."""
    out = {}
    with tarfile.open(path, "r:") as tf:
        for m in tf:
            digest = ""
            if m.isreg():
                h = hashlib.sha256()
                f = tf.extractfile(m)
                for chunk in iter(lambda: f.read(1 << 20), b""):
                    h.update(chunk)
                digest = h.hexdigest()
            if m.name in out:
                raise IOError("%s holds %s twice" % (path, m.name))
            out[m.name] = (m.type.decode(), "%04o" % m.mode, m.uid, m.gid, m.size,
                           int(m.mtime), m.linkname, digest)
    return out


def _tar_compare(want, got):
    """Raise, naming how many entries differ in what, with examples."""
    diffs, counts, n = [], {}, 0
    for name in sorted(set(want) | set(got)):
        a, b = want.get(name), got.get(name)
        if a == b:
            continue
        n += 1
        if a is None or b is None:
            what = ["not in the source" if a is None else "missing"]
        else:
            what = [f for f, x, y in zip(TAR_FIELDS, a, b) if x != y]
        for f in what:
            counts[f] = counts.get(f, 0) + 1
        if len(diffs) < 3:
            diffs.append("%s: %s" % (name, ", ".join(
                w if a is None or b is None else
                "%s %s, not %s" % (w, b[TAR_FIELDS.index(w)], a[TAR_FIELDS.index(w)])
                for w in what)))
    if n:
        raise IOError("tar round trip: %d of %d entries differ (%s), e.g. %s"
                      % (n, len(want), ", ".join("%s: %d" % fk for fk in counts.items()),
                         "; ".join(diffs)))


def prepare_tar(state, params):
    """Once per run, untimed: the source archive of params["tar_src"], made
    with GNU tar in the run's folder, and its summary."""
    if "tar_src" in state:
        return
    if b"GNU tar" not in run_cmd(["tar", "--version"], "tar").split(b"\n")[0]:
        raise IOError("tar is not GNU tar")
    parent, top = os.path.split(os.path.realpath(params["tar_src"]))
    path = os.path.join(state["scratch"], "tar-src.tar")
    run_cmd(["tar", "-C", parent, "-cf", path, top], "tar (source archive)")
    state["tar_src"], state["tar_top"] = path, top
    state["tar_summary"] = tar_summary(path)
    os.sync()           # if not on a tmpfs: written back now, not in a run


def _count_tree(top):
    """Entries under top, top included (symlinks counted, not followed)."""
    def fail(e):
        raise e
    n = 1
    for _, dirs, files in os.walk(top, onerror=fail):
        n += len(dirs) + len(files)
    return n


def _tar_extract(base, state):
    """tar -x of the source archive into base; returns the time it took."""
    t0 = time.perf_counter()
    run_cmd(["tar", "-C", base, "-xf", state["tar_src"]], "tar -x")
    t = time.perf_counter() - t0
    n, got = len(state["tar_summary"]), _count_tree(os.path.join(base, state["tar_top"]))
    if got != n:
        raise IOError("tar -x made %d entries, the archive has %d" % (got, n))
    return t


def wl_tar_in(base, params, ctx):
    os.sync()       # untimed: earlier workloads' dirty pages go first
    t = _tar_extract(base, ctx["run"])
    ctx["tar"] = True
    return len(ctx["run"]["tar_summary"]), t


def wl_tar_out(base, params, ctx):
    state = ctx["run"]
    if not ctx.get("tar"):
        _tar_extract(base, state)
        ctx["tar"] = True
    drop_caches()   # untimed: tar_in's data written back; read from the store
    fd, out = tempfile.mkstemp(prefix="tar-out-", suffix=".tar", dir=state["scratch"])
    os.close(fd)
    try:
        t0 = time.perf_counter()
        run_cmd(["tar", "-C", base, "-cf", out, state["tar_top"]], "tar -c")
        t = time.perf_counter() - t0
        _tar_compare(state["tar_summary"], tar_summary(out))
    finally:
        os.unlink(out)
    return len(state["tar_summary"]), t


# --- scale: a million records in one folder; many tenants -----------------------

def scale_image(params):
    """The loop ext4 the scale workload needs: (GiB, inodes).  The peers
    keep a file (4 KiB block) per record; 12 KiB a record leaves room."""
    n = params["scale_records"]
    return 4 + -(-n * 12 // (1 << 20)), n + 300000


def wl_scale(base, params, ctx):
    m = ctx["metrics"]
    # tenantfs: the tenants part first, on a quiet machine (a store of its
    # own, see Tenantfs.scale_tenants in tools/bench); its figures are listed
    # after the records'
    tenant_figures = {}
    tenants = getattr(ctx["system"], "scale_tenants", None)
    if tenants is not None:
        tenants(params["scale_tenants"], tenant_figures)
    try:
        return _scale_records(base, params, m)
    finally:
        m.update(tenant_figures)


def _scale_records(base, params, m):
    n = params["scale_records"]
    d = os.path.join(base, "scale")
    os.mkdir(d)
    # n records in ten tenths; each tenth timed in chunks of
    # params["scale_chunk"], each chunk after an untimed `sync; drop
    # caches`: every chunk starts with nothing dirty and the kernel's caches
    # empty, so the first and the last tenth differ only in how full the
    # folder is; and passthrough_ll, which holds a descriptor per inode the
    # kernel knows, stays under the open-file limit (20,000 on some hosts)
    tenth, chunk = n // 10, params["scale_chunk"]
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL
    times = []
    for k in range(10):
        lo, hi = k * tenth, n if k == 9 else (k + 1) * tenth
        t = 0.0
        for c in range(lo, hi, chunk):
            idx = range(c, min(c + chunk, hi))
            paths = [os.path.join(d, "s%07d.rec" % i) for i in idx]
            payloads = [record_payload(i) for i in idx]
            drop_caches()
            t0 = time.perf_counter()
            try:
                for path, data in zip(paths, payloads):
                    fd = os.open(path, flags, 0o644)
                    try:
                        if os.write(fd, data) != RECORD_SIZE:
                            raise IOError("short write on %s" % path)
                    finally:
                        os.close(fd)
            except OSError as e:
                raise IOError("creating %s: %s" % (path, e))
            t += time.perf_counter() - t0
        times.append(t)
    first, last = tenth / times[0], (n - 9 * tenth) / times[9]
    m["records: create, first 10%"] = (first, "files/s")
    m["records: create, last 10%"] = (last, "files/s")
    m["records: create, last 10% / first 10%"] = (last / first, "ratio")
    # lookup + lstat of random records, cold, checked
    k = params["scale_lookups"]
    paths = [os.path.join(d, "s%07d.rec" % i) for i in random.Random(7).sample(range(n), k)]
    drop_caches()
    t0 = time.perf_counter()
    sts = [os.lstat(p) for p in paths]
    t = time.perf_counter() - t0
    _check_stats(paths, sts)
    m["records: lstat of {:,} random, cold".format(k)] = (k / t, "files/s")
    # one full listing, cold, checked
    drop_caches()
    t0 = time.perf_counter()
    names = os.listdir(d)
    t = time.perf_counter() - t0
    _check_listing(d, names, set("s%07d.rec" % i for i in range(n)))
    m["records: one listing of all, cold"] = (t, "s")
    return n, sum(times)


# --- the list -------------------------------------------------------------------

WORKLOADS = [
    Workload("create", "files/s", wl_create,
             "{records:,} records of 1 KiB in one folder: open(O_CREAT|O_EXCL), write, close; "
             "one process"),
    Workload("read_warm", "files/s", wl_read_warm,
             "open, read and check all {records:,} records; second pass after an untimed "
             "warm-up pass"),
    Workload("read_cold", "files/s", wl_read_cold,
             "the same after `sync; echo 3 > /proc/sys/vm/drop_caches`"),
    Workload("stat", "files/s", wl_stat,
             "after `sync; drop_caches` (untimed), a fresh python process lstat()s all "
             "{records:,} records, checking type and size; timed inside it, around the lstat "
             "loop only (not the interpreter's start)"),
    Workload("readdir", "entries/s", wl_readdir,
             "os.listdir of the {records:,} records' folder {listings} times, each listing "
             "checked (after the clock); after one untimed listing"),
    Workload("rename", "files/s", wl_rename,
             "os.rename of every record to a new name in the same folder; then (untimed) the "
             "listing and every record's content checked"),
    Workload("unlink", "files/s", wl_unlink,
             "os.unlink of every record; then (untimed) the folder must list empty and rmdir"),
    Workload("fsync1", "records/s", wl_fsync1,
             "1 process: open(O_CREAT|O_EXCL), write 1 KiB, fsync, close, distinct names, "
             "for {fsync_secs:g} s"),
    Workload("fsync8", "records/s", wl_fsync8,
             "8 processes at once, each the fsync1 loop; total records / wall time"),
    Workload("seq_write", "MB/s", wl_seq_write,
             "one {seq_mib} MiB file in 1 MiB writes, fsync before close (MB = 10^6 bytes)"),
    Workload("seq_read", "MB/s", wl_seq_read,
             "read it back and check it in 1 MiB reads after drop_caches"),
    Workload("rand_write", "IOPS", wl_rand_write,
             "fio, 4 KiB random overwrites (psync, no fsync) in a {rand_mib} MiB file laid out "
             "before (untimed) for {rand_secs} s; fio's own count and time; then every block "
             "checked after drop_caches"),
    Workload("tar_in", "entries/s", wl_tar_in,
             "GNU tar -x of {tar_src} (an archive made once per run, outside the mount) into "
             "the folder; entries / time of tar; the entries counted after", prepare_tar),
    Workload("tar_out", "entries/s", wl_tar_out,
             "after drop_caches, tar -c of the extracted tree to a file outside the mount "
             "(on /dev/shm, a tmpfs, when there is one); then both "
             "archives compared: names, types, modes, owners, sizes, mtimes (seconds), link "
             "targets, contents (SHA-256)", prepare_tar),
    Workload("scale", "files/s", wl_scale,
             "opt-in: {scale_records:,} records of 1 KiB in one folder, in ten tenths, timed "
             "in chunks of at most {scale_chunk:,}, each after sync + drop_caches (overall rate here, "
             "first and last tenth below); "
             "lstat of {scale_lookups:,} random records and one full listing, both cold and "
             "checked; tenantfs also {scale_tenants:,} tenants (mount time, daemon memory)",
             timeout=4 * 3600, image=scale_image),
]

# the default list: everything but scale (long; run it with --workloads scale)
DEFAULT_WORKLOADS = [w.name for w in WORKLOADS if w.name != "scale"]

FULL_PARAMS = {"records": 10000, "seq_mib": 256, "fsync_secs": 4.0, "listings": 10,
               "rand_mib": 64, "rand_secs": 10, "tar_src": "/usr/include",
               "scale_records": 1000000, "scale_chunk": 5000, "scale_lookups": 10000,
               "scale_tenants": 1000}
QUICK_PARAMS = {"records": 2000, "seq_mib": 64, "fsync_secs": 2.0, "listings": 10,
                "rand_mib": 64, "rand_secs": 3, "tar_src": "/usr/include",
                "scale_records": 20000, "scale_chunk": 5000, "scale_lookups": 2000,
                "scale_tenants": 50}


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--stat-child":
        stat_child(sys.argv[2], int(sys.argv[3]))
    else:
        sys.exit("usage: bench_workloads.py --stat-child DIR N (the stat workload's process)")
