/*
 * test_store_map.c - unit tests of a tenant's growing LMDB map
 * (store_map.c): a tenant written past the map it was opened with grows
 * it, a reopened env starts with headroom over its data, growing waits
 * for a read transaction open in another thread, and readers keep reading
 * correct bytes while the map is grown again and again.  Built with a
 * 1 MiB checkpoint (tests/meson.build), so the headroom is 4 MiB and the
 * first map 8 MiB.
 */
#include "store_env.h"

#include <sched.h>
#include <time.h>
#include <stdatomic.h>

#define MIB ((uint64_t)1 << 20)

static uint64_t mapsize_of(store_tenant *t)
{
    MDB_envinfo info;

    return mdb_env_info(t->env, &info) == 0 ? info.me_mapsize : 0;
}

static void fill(uint8_t *buf, size_t len, unsigned seed)
{
    for (size_t i = 0; i < len; i++)
        buf[i] = (uint8_t)(i * 31u + seed + i / 4099u);
}

TAP_TEST(a_tenant_written_past_its_first_map_grows_it)
{
    struct env e;
    struct store_attr a;
    /* 2 x STORE_MAP_HEADROOM: more than the first map */
    const size_t chunk = (size_t)1 << 20, n = 2 * STORE_MAP_HEADROOM / chunk;
    size_t got = 0;
    uint8_t *buf = malloc(chunk), *back = malloc(chunk);
    bool same = true;

    REQUIRE(buf && back);
    REQUIRE(env_setup(&e));
    uint64_t first = mapsize_of(e.t);
    CHECK(first == 2 * STORE_MAP_HEADROOM);
    REQUIRE(mk(e.t, ROOT, "big", S_IFREG | 0644, &a) == STORE_OK);
    for (size_t i = 0; i < n; i++) {
        fill(buf, chunk, (unsigned)i);
        CHECK(store_write(e.t, a.ino, i * chunk, buf, chunk, NULL) == STORE_OK);
    }
    CHECK(mapsize_of(e.t) > first);

    /* Reopened: headroom over the data it holds, from the start. */
    store_tenant_env_close(e.t);
    REQUIRE(env_open(&e, false));
    CHECK(mapsize_of(e.t) >= n * chunk + 2 * STORE_MAP_HEADROOM);
    for (size_t i = 0; i < n; i++) {
        fill(buf, chunk, (unsigned)i);
        if (store_read(e.t, a.ino, i * chunk, chunk, back, &got) != STORE_OK ||
            got != chunk || memcmp(buf, back, chunk) != 0)
            same = false;
    }
    CHECK(same);
    env_teardown(&e);
    free(buf);
    free(back);
}

struct reader {
    store_tenant *t;
    uint64_t ino;
    const uint8_t *want;
    size_t len;
    _Atomic bool stop;
    _Atomic unsigned reads;
    unsigned bad;
};

static void *reader_main(void *arg)
{
    struct reader *r = arg;
    uint8_t *buf = malloc(r->len);
    size_t got;

    while (buf && !atomic_load(&r->stop)) {
        if (store_read(r->t, r->ino, 0, r->len, buf, &got) != STORE_OK ||
            got != r->len || memcmp(buf, r->want, r->len) != 0)
            r->bad++;
        r->reads++;
    }
    free(buf);
    return NULL;
}

TAP_TEST(readers_read_correct_bytes_while_the_map_grows)
{
    struct env e;
    struct store_attr a;
    struct reader r[3];
    pthread_t th[3];
    size_t len = 256 * 1024;
    uint8_t *want = malloc(len);
    uint64_t before;

    REQUIRE(want);
    REQUIRE(env_setup(&e));
    REQUIRE(mk(e.t, ROOT, "f", S_IFREG | 0644, &a) == STORE_OK);
    fill(want, len, 7);
    REQUIRE(store_write(e.t, a.ino, 0, want, len, NULL) == STORE_OK);
    for (int i = 0; i < 3; i++) {
        r[i] = (struct reader){ .t = e.t, .ino = a.ino, .want = want,
                                .len = len };
        REQUIRE(pthread_create(&th[i], NULL, reader_main, &r[i]) == 0);
    }
    /* Each reservation doubles the map at least: it is mapped anew, each
     * time after every reader has read again. */
    before = mapsize_of(e.t);
    for (int i = 1; i <= 6; i++) {
        for (int k = 0; k < 3; k++) {
            unsigned seen = atomic_load(&r[k].reads);
            while (atomic_load(&r[k].reads) < seen + 2)
                sched_yield();
        }
        CHECK(store_map_reserve(e.t, before << i) == STORE_OK);
    }
    CHECK(mapsize_of(e.t) >= (before << 6));
    for (int i = 0; i < 3; i++) {
        atomic_store(&r[i].stop, true);
        pthread_join(th[i], NULL);
        CHECK(r[i].reads > 0);
        CHECK(r[i].bad == 0);
    }
    env_teardown(&e);
    free(want);
}

struct grower {
    store_tenant *t;
    uint64_t extra;
    _Atomic bool done;
    store_err err;
};

static void *grower_main(void *arg)
{
    struct grower *g = arg;

    g->err = store_map_reserve(g->t, g->extra);
    atomic_store(&g->done, true);
    return NULL;
}

TAP_TEST(growing_waits_for_an_open_read_transaction)
{
    struct env e;
    struct grower g;
    pthread_t th;
    MDB_txn *txn;
    uint64_t before;
    struct timespec pause = { 0, 200 * 1000 * 1000 };

    REQUIRE(env_setup(&e));
    before = mapsize_of(e.t);
    REQUIRE(store_map_read_begin(e.t, &txn) == STORE_OK);
    g = (struct grower){ .t = e.t, .extra = before };
    REQUIRE(pthread_create(&th, NULL, grower_main, &g) == 0);
    /* Something that must not happen: given 200 ms, it does not. */
    nanosleep(&pause, NULL);
    CHECK(!atomic_load(&g.done));
    CHECK(mapsize_of(e.t) == before);
    store_map_read_end(e.t, txn);
    pthread_join(th, NULL);
    CHECK(g.err == STORE_OK);
    CHECK(mapsize_of(e.t) > before);
    env_teardown(&e);
}

int main(void)
{
    store_set_log(test_log);
    return tap_main();
}
