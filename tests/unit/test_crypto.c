/*
 * test_crypto.c - unit tests of crypto/ (seal.h): sealing round trips and
 * the sealed layout, tamper and wrong-AD/wrong-key rejection with zeroed
 * output, subkey derivation, keyed name hashes, passphrase KDF bounds, key
 * wrapping, helpers, and concurrent use of one key.
 *
 * Keys are opaque, so two keys are compared by what they do: the keyed
 * 128-bit hash of a fixed string is their fingerprint.  Cross-checks against
 * libsodium itself pin the on-disk formats (sealed layout, hash outputs).
 */
#include "tap.h"
#include "seal.h"

#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sodium.h>

/* Fast Argon2id cost for tests: libsodium's minimums. */
#define TEST_OPS 1
#define TEST_MEM 8192

static const char AD[] = "B\x00\x01tenant-7/inode-42/block-3";

/* The fingerprint of a key: its keyed hash of a fixed string. */
static void key_fp(const seal_key *k, uint8_t fp[16])
{
    seal_name_hash128(k, "fingerprint", 11, fp);
}

static int keys_equal(const seal_key *a, const seal_key *b)
{
    uint8_t fa[16], fb[16];

    key_fp(a, fa);
    key_fp(b, fb);
    return memcmp(fa, fb, 16) == 0;
}

static int all_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != 0)
            return 0;
    return 1;
}

static struct seal_kdf_params fast_params(void)
{
    struct seal_kdf_params p;

    seal_kdf_params_default(&p);
    p.opslimit = TEST_OPS;
    p.memlimit = TEST_MEM;
    return p;
}

/* ===================================================================== */

TAP_TEST(init_is_idempotent)
{
    CHECK(seal_init() == 0);
    CHECK(seal_init() == 0);
}

TAP_TEST(roundtrip_sizes)
{
    static const size_t sizes[] = {0, 1, 15, 16, 17, 4096, 65536, 1u << 20};
    seal_key *k = seal_key_new_random();

    REQUIRE(k != NULL);
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        size_t n = sizes[s];
        uint8_t *plain = malloc(n + 1), *back = malloc(n + 1);
        uint8_t *sealed = malloc(n + SEAL_OVERHEAD);

        REQUIRE(plain && back && sealed);
        seal_random(plain, n);
        CHECK(seal_value(k, AD, sizeof AD, plain, n, sealed) == 0);
        /* The plaintext does not show through (n >= 16: chance ~0). */
        if (n >= 16)
            CHECK(memcmp(sealed + SEAL_NONCEBYTES, plain, n) != 0);
        memset(back, 0xAA, n + 1);
        CHECK(seal_open(k, AD, sizeof AD, sealed, n + SEAL_OVERHEAD,
                        back) == 0);
        CHECK(memcmp(back, plain, n) == 0);
        CHECK(back[n] == 0xAA);          /* wrote exactly n bytes */
        free(plain);
        free(back);
        free(sealed);
    }
    seal_key_free(k);
}

TAP_TEST(layout_is_nonce_ciphertext_tag)
{
    uint8_t raw[SEAL_KEYBYTES], plain[100], sealed[100 + SEAL_OVERHEAD];
    uint8_t back[100];
    unsigned long long mlen = 0;
    seal_key *k;

    seal_random(raw, sizeof raw);
    seal_random(plain, sizeof plain);
    k = seal_key_from_bytes(raw);
    REQUIRE(k != NULL);
    REQUIRE(seal_value(k, AD, sizeof AD, plain, sizeof plain, sealed) == 0);
    /* Plain libsodium opens it with the first 24 bytes as the nonce. */
    CHECK(crypto_aead_xchacha20poly1305_ietf_decrypt(
              back, &mlen, NULL, sealed + 24, sizeof sealed - 24,
              (const uint8_t *)AD, sizeof AD, sealed, raw) == 0);
    CHECK(mlen == sizeof plain);
    CHECK(memcmp(back, plain, sizeof plain) == 0);
    seal_wipe(raw, sizeof raw);
    CHECK(all_zero(raw, sizeof raw));
    seal_key_free(k);
}

TAP_TEST(two_seals_differ)
{
    uint8_t a[8 + SEAL_OVERHEAD], b[8 + SEAL_OVERHEAD];
    seal_key *k = seal_key_new_random();

    REQUIRE(k != NULL);
    REQUIRE(seal_value(k, AD, sizeof AD, "samesame", 8, a) == 0);
    REQUIRE(seal_value(k, AD, sizeof AD, "samesame", 8, b) == 0);
    CHECK(memcmp(a, b, SEAL_NONCEBYTES) != 0);
    CHECK(memcmp(a + SEAL_NONCEBYTES, b + SEAL_NONCEBYTES, 8) != 0);
    seal_key_free(k);
}

/* Flip one bit at `pos` and expect rejection with the output zeroed. */
static int tamper_rejected(const seal_key *k, const uint8_t *sealed,
                           size_t clen, size_t pos)
{
    uint8_t bad[64 + SEAL_OVERHEAD], out[64];
    int rc;

    memcpy(bad, sealed, clen);
    bad[pos] ^= 0x01;
    memset(out, 0xAA, sizeof out);
    rc = seal_open(k, AD, sizeof AD, bad, clen, out);
    return rc == -1 && all_zero(out, clen - SEAL_OVERHEAD);
}

TAP_TEST(tamper_each_region_fails_and_zeroes)
{
    uint8_t plain[64], sealed[64 + SEAL_OVERHEAD];
    const size_t clen = sizeof sealed;
    const size_t ct = SEAL_NONCEBYTES, tag = SEAL_NONCEBYTES + 64;
    seal_key *k = seal_key_new_random();

    REQUIRE(k != NULL);
    memset(plain, 'p', sizeof plain);
    REQUIRE(seal_value(k, AD, sizeof AD, plain, sizeof plain, sealed) == 0);
    CHECK(tamper_rejected(k, sealed, clen, 0));               /* nonce */
    CHECK(tamper_rejected(k, sealed, clen, SEAL_NONCEBYTES - 1));
    CHECK(tamper_rejected(k, sealed, clen, ct));              /* ciphertext */
    CHECK(tamper_rejected(k, sealed, clen, ct + 31));
    CHECK(tamper_rejected(k, sealed, clen, tag - 1));
    CHECK(tamper_rejected(k, sealed, clen, tag));             /* tag */
    CHECK(tamper_rejected(k, sealed, clen, clen - 1));
    /* Truncated (tag cut short) and too-short values. */
    {
        uint8_t out[64];

        memset(out, 0xAA, sizeof out);
        CHECK(seal_open(k, AD, sizeof AD, sealed, clen - 1, out) == -1);
        CHECK(all_zero(out, clen - 1 - SEAL_OVERHEAD));
        CHECK(seal_open(k, AD, sizeof AD, sealed, SEAL_OVERHEAD - 1,
                        out) == -1);
        CHECK(seal_open(k, AD, sizeof AD, sealed, 0, out) == -1);
    }
    /* The untouched value still opens. */
    {
        uint8_t out[64];

        CHECK(seal_open(k, AD, sizeof AD, sealed, clen, out) == 0);
        CHECK(memcmp(out, plain, sizeof out) == 0);
    }
    seal_key_free(k);
}

TAP_TEST(wrong_ad_fails)
{
    uint8_t sealed[32 + SEAL_OVERHEAD], out[32], ad[sizeof AD + 1];
    seal_key *k = seal_key_new_random();

    REQUIRE(k != NULL);
    REQUIRE(seal_value(k, AD, sizeof AD, "thirty-two bytes of secret data!",
                       32, sealed) == 0);
    memcpy(ad, AD, sizeof AD);
    ad[5] ^= 0x80;                                    /* one byte changed */
    memset(out, 0xAA, sizeof out);
    CHECK(seal_open(k, ad, sizeof AD, sealed, sizeof sealed, out) == -1);
    CHECK(all_zero(out, sizeof out));
    memcpy(ad, AD, sizeof AD);
    memset(out, 0xAA, sizeof out);                    /* shorter */
    CHECK(seal_open(k, ad, sizeof AD - 1, sealed, sizeof sealed, out) == -1);
    CHECK(all_zero(out, sizeof out));
    ad[sizeof AD] = 0;                                /* longer */
    memset(out, 0xAA, sizeof out);
    CHECK(seal_open(k, ad, sizeof AD + 1, sealed, sizeof sealed, out) == -1);
    CHECK(all_zero(out, sizeof out));
    CHECK(seal_open(k, NULL, 0, sealed, sizeof sealed, out) == -1);
    CHECK(seal_open(k, AD, sizeof AD, sealed, sizeof sealed, out) == 0);
    CHECK(memcmp(out, "thirty-two bytes of secret data!", 32) == 0);
    seal_key_free(k);
}

TAP_TEST(wrong_key_fails)
{
    uint8_t sealed[5 + SEAL_OVERHEAD], out[5];
    seal_key *k = seal_key_new_random(), *other = seal_key_new_random();

    REQUIRE(k != NULL && other != NULL);
    REQUIRE(seal_value(k, NULL, 0, "hello", 5, sealed) == 0);
    memset(out, 0xAA, sizeof out);
    CHECK(seal_open(other, NULL, 0, sealed, sizeof sealed, out) == -1);
    CHECK(all_zero(out, sizeof out));
    CHECK(seal_open(k, NULL, 0, sealed, sizeof sealed, out) == 0);
    CHECK(memcmp(out, "hello", 5) == 0);
    CHECK(seal_open(NULL, NULL, 0, sealed, sizeof sealed, out) == -1);
    CHECK(all_zero(out, sizeof out));           /* no key: still zeroed */
    seal_key_free(k);
    seal_key_free(other);
}

TAP_TEST(absurd_sizes_rejected)
{
    uint8_t buf[SEAL_OVERHEAD + 1];
    seal_key *k = seal_key_new_random();

    REQUIRE(k != NULL);
    /* Rejected before either buffer is touched. */
    CHECK(seal_value(k, NULL, 0, buf, ((size_t)1 << 30) + 1, buf) == -1);
    CHECK(seal_value(NULL, NULL, 0, "x", 1, buf) == -1);
    CHECK(seal_value(k, NULL, 0, NULL, 0, buf) == 0);  /* empty is fine */
    CHECK(seal_open(k, NULL, 0, buf, SEAL_OVERHEAD, NULL) == 0);
    seal_key_free(k);
}

/* ===================================================================== */

TAP_TEST(derive_is_deterministic_and_separates)
{
    seal_key *m = seal_key_new_random();
    seal_key *a1 = seal_key_derive(m, 1, "tfs-tent");
    seal_key *a2 = seal_key_derive(m, 1, "tfs-tent");
    seal_key *b = seal_key_derive(m, 2, "tfs-tent");
    seal_key *c = seal_key_derive(m, 1, "tfs-seal");

    REQUIRE(m && a1 && a2 && b && c);
    CHECK(keys_equal(a1, a2));
    CHECK(!keys_equal(a1, b));
    CHECK(!keys_equal(a1, c));
    CHECK(!keys_equal(a1, m));
    /* Matches crypto_kdf itself: a sealed value opens under either. */
    {
        uint8_t raw[SEAL_KEYBYTES], sub[SEAL_KEYBYTES];
        seal_key *r, *rs;

        seal_random(raw, sizeof raw);
        r = seal_key_from_bytes(raw);
        REQUIRE(r != NULL);
        REQUIRE(crypto_kdf_derive_from_key(sub, sizeof sub, 7, "tfs-name",
                                           raw) == 0);
        rs = seal_key_derive(r, 7, "tfs-name");
        REQUIRE(rs != NULL);
        {
            seal_key *direct = seal_key_from_bytes(sub);

            REQUIRE(direct != NULL);
            CHECK(keys_equal(rs, direct));
            seal_key_free(direct);
        }
        seal_wipe(raw, sizeof raw);
        seal_wipe(sub, sizeof sub);
        seal_key_free(rs);
        seal_key_free(r);
    }
    /* A context shorter than 8 characters, or no parent, is refused. */
    {
        static const char shortctx[8] = "tfs\0tent";

        CHECK(seal_key_derive(m, 1, shortctx) == NULL);
    }
    CHECK(seal_key_derive(NULL, 1, "tfs-tent") == NULL);
    seal_key_free(m);
    seal_key_free(a1);
    seal_key_free(a2);
    seal_key_free(b);
    seal_key_free(c);
}

TAP_TEST(from_bytes_copies)
{
    uint8_t raw[SEAL_KEYBYTES];
    seal_key *a, *b;

    memset(raw, 0x42, sizeof raw);
    a = seal_key_from_bytes(raw);
    b = seal_key_from_bytes(raw);
    REQUIRE(a && b);
    CHECK(keys_equal(a, b));
    seal_wipe(raw, sizeof raw);              /* the key kept its own copy */
    CHECK(keys_equal(a, b));
    CHECK(seal_key_from_bytes(NULL) == NULL);
    seal_key_free(a);
    seal_key_free(b);
    seal_key_free(NULL);
}

TAP_TEST(name_hashes)
{
    seal_key *k = seal_key_new_random(), *k2 = seal_key_new_random();
    uint8_t h1[16], h2[16];
    uint64_t v;

    REQUIRE(k && k2);
    CHECK(seal_name_hash(k, "42.json", 7) == seal_name_hash(k, "42.json", 7));
    CHECK(seal_name_hash(k, "42.json", 7) != seal_name_hash(k, "43.json", 7));
    CHECK(seal_name_hash(k, "42.json", 7) != seal_name_hash(k, "42.json", 6));
    CHECK(seal_name_hash(k, "42.json", 7) != seal_name_hash(k2, "42.json", 7));
    CHECK(seal_name_hash(k, "", 0) == seal_name_hash(k, NULL, 0));
    seal_name_hash128(k, "acme", 4, h1);
    seal_name_hash128(k, "acme", 4, h2);
    CHECK(memcmp(h1, h2, 16) == 0);
    seal_name_hash128(k2, "acme", 4, h2);
    CHECK(memcmp(h1, h2, 16) != 0);
    seal_name_hash128(k, "acmf", 4, h2);
    CHECK(memcmp(h1, h2, 16) != 0);
    /* The 64-bit hash is the first 8 bytes of the 128-bit one, LE. */
    v = seal_name_hash(k, "acme", 4);
    for (int i = 0; i < 8; i++)
        CHECK(h1[i] == (uint8_t)(v >> (8 * i)));
    seal_key_free(k);
    seal_key_free(k2);
}

TAP_TEST(name_hash_is_keyed_blake2b)
{
    uint8_t raw[SEAL_KEYBYTES], want[16], got[16];
    seal_key *k;

    seal_random(raw, sizeof raw);
    k = seal_key_from_bytes(raw);
    REQUIRE(k != NULL);
    REQUIRE(crypto_generichash(want, 16, (const uint8_t *)"products", 8,
                               raw, sizeof raw) == 0);
    seal_name_hash128(k, "products", 8, got);
    CHECK(memcmp(want, got, 16) == 0);
    seal_wipe(raw, sizeof raw);
    seal_key_free(k);
}

/* ===================================================================== */

TAP_TEST(kdf_defaults_and_bounds)
{
    struct seal_kdf_params a, b, p;
    seal_key *kek = (seal_key *)&a;          /* must be reset to NULL */

    seal_kdf_params_default(&a);
    seal_kdf_params_default(&b);
    CHECK(a.opslimit == crypto_pwhash_OPSLIMIT_INTERACTIVE);
    CHECK(a.memlimit == crypto_pwhash_MEMLIMIT_INTERACTIVE);
    CHECK(memcmp(a.salt, b.salt, sizeof a.salt) != 0);

    p = fast_params();
    p.opslimit = 0;
    CHECK(seal_kek_derive("pw", 2, &p, &kek) == -1);
    CHECK(kek == NULL);
    p = fast_params();
    p.opslimit = UINT64_MAX;
    CHECK(seal_kek_derive("pw", 2, &p, &kek) == -1);
    p = fast_params();
    p.memlimit = TEST_MEM - 1;
    CHECK(seal_kek_derive("pw", 2, &p, &kek) == -1);
    p = fast_params();
    p.memlimit = UINT64_MAX;
    CHECK(seal_kek_derive("pw", 2, &p, &kek) == -1);
    CHECK(kek == NULL);
    CHECK(seal_kek_derive("pw", 2, NULL, &kek) == -1);
}

TAP_TEST(kek_is_deterministic_per_pass_and_salt)
{
    struct seal_kdf_params p = fast_params(), q;
    seal_key *a = NULL, *b = NULL, *c = NULL, *d = NULL;

    q = p;
    q.salt[0] ^= 1;
    REQUIRE(seal_kek_derive("correct horse", 13, &p, &a) == 0);
    REQUIRE(seal_kek_derive("correct horse", 13, &p, &b) == 0);
    REQUIRE(seal_kek_derive("correct horsf", 13, &p, &c) == 0);
    REQUIRE(seal_kek_derive("correct horse", 13, &q, &d) == 0);
    CHECK(keys_equal(a, b));
    CHECK(!keys_equal(a, c));
    CHECK(!keys_equal(a, d));
    seal_key_free(a);
    seal_key_free(b);
    seal_key_free(c);
    seal_key_free(d);
}

TAP_TEST(wrap_unwrap)
{
    static const char hdr_ad[] = "TFSHDR01-store-id-0123456789";
    struct seal_kdf_params p = fast_params();
    uint8_t w[SEAL_WRAPPED_BYTES], bad[SEAL_WRAPPED_BYTES];
    seal_key *master = seal_key_new_random(), *kek = NULL, *wrong = NULL;
    seal_key *out = NULL;

    REQUIRE(master != NULL);
    REQUIRE(seal_kek_derive("passphrase", 10, &p, &kek) == 0);
    REQUIRE(seal_kek_derive("passphrasE", 10, &p, &wrong) == 0);
    REQUIRE(seal_key_wrap(kek, master, hdr_ad, sizeof hdr_ad, w) == 0);

    CHECK(seal_key_unwrap(kek, hdr_ad, sizeof hdr_ad, w, &out) == 0);
    REQUIRE(out != NULL);
    CHECK(keys_equal(out, master));
    seal_key_free(out);

    out = master;                            /* must be reset to NULL */
    CHECK(seal_key_unwrap(wrong, hdr_ad, sizeof hdr_ad, w, &out) == -1);
    CHECK(out == NULL);
    CHECK(seal_key_unwrap(kek, hdr_ad, sizeof hdr_ad - 1, w, &out) == -1);
    CHECK(out == NULL);
    memcpy(bad, w, sizeof bad);
    bad[SEAL_NONCEBYTES + 3] ^= 0x10;
    CHECK(seal_key_unwrap(kek, hdr_ad, sizeof hdr_ad, bad, &out) == -1);
    CHECK(out == NULL);
    /* The wrapped bytes do not contain the key in the clear. */
    {
        seal_key *again = NULL;
        uint8_t w2[SEAL_WRAPPED_BYTES];

        REQUIRE(seal_key_wrap(kek, master, hdr_ad, sizeof hdr_ad, w2) == 0);
        CHECK(memcmp(w, w2, sizeof w) != 0);     /* fresh nonce each wrap */
        CHECK(seal_key_unwrap(kek, hdr_ad, sizeof hdr_ad, w2, &again) == 0);
        CHECK(again != NULL && keys_equal(again, master));
        seal_key_free(again);
    }
    seal_key_free(master);
    seal_key_free(kek);
    seal_key_free(wrong);
}

/* ===================================================================== */

TAP_TEST(helpers)
{
    /* BLAKE2b-256 of the empty string (RFC 7693 / reference vectors). */
    static const uint8_t empty_sum[32] = {
        0x0e, 0x57, 0x51, 0xc0, 0x26, 0xe5, 0x43, 0xb2, 0xe8, 0xab, 0x2e,
        0xb0, 0x60, 0x99, 0xda, 0xa1, 0xd1, 0xe5, 0xdf, 0x47, 0x77, 0x8f,
        0x77, 0x87, 0xfa, 0xab, 0x45, 0xcd, 0xf1, 0x2f, 0xe3, 0xa8};
    uint8_t sum[32], sum2[32];
    char *secret;

    seal_checksum("", 0, sum);
    CHECK(memcmp(sum, empty_sum, 32) == 0);
    seal_checksum("a", 1, sum2);
    CHECK(memcmp(sum, sum2, 32) != 0);

    CHECK(seal_memcmp("abcd", "abcd", 4) == 0);
    CHECK(seal_memcmp("abcd", "abce", 4) != 0);
    CHECK(seal_random_u64() != seal_random_u64());

    secret = seal_secure_alloc(64);
    REQUIRE(secret != NULL);
    CHECK(all_zero((const uint8_t *)secret, 64));
    memcpy(secret, "hunter2", 8);
    seal_wipe(secret, 64);
    CHECK(all_zero((const uint8_t *)secret, 64));
    seal_secure_free(secret);
    seal_secure_free(NULL);
}

/* ===================================================================== */

struct worker { const seal_key *key; int failures; };

static void *worker_run(void *arg)
{
    struct worker *w = arg;
    uint8_t plain[256], sealed[256 + SEAL_OVERHEAD], back[256];

    for (int i = 0; i < 200; i++) {
        seal_random(plain, sizeof plain);
        if (seal_value(w->key, AD, sizeof AD, plain, sizeof plain, sealed) != 0
            || seal_open(w->key, AD, sizeof AD, sealed, sizeof sealed,
                         back) != 0
            || memcmp(plain, back, sizeof plain) != 0)
            w->failures++;
    }
    return NULL;
}

TAP_TEST(one_key_many_threads)
{
    enum { N = 4 };
    pthread_t t[N];
    struct worker w[N];
    seal_key *k = seal_key_new_random();
    int started = 0;

    REQUIRE(k != NULL);
    for (int i = 0; i < N; i++) {
        w[i] = (struct worker){k, 0};
        if (pthread_create(&t[i], NULL, worker_run, &w[i]) == 0)
            started++;
    }
    CHECK(started == N);
    for (int i = 0; i < started; i++) {
        pthread_join(t[i], NULL);
        CHECK(w[i].failures == 0);
    }
    seal_key_free(k);
}

/* Nonces are unique per key: across seals of one thread, across threads,
 * and between a process and its forked child (which inherits the thread's
 * nonce state and must not continue the same sequence). */
static void *nonce_thread(void *arg)
{
    uint8_t *out = arg;
    seal_key *k = seal_key_from_bytes((const uint8_t *)"0123456789abcdef0123456789abcdef");

    if (k == NULL || seal_value(k, NULL, 0, "x", 1, out) != 0)
        memset(out, 0, SEAL_OVERHEAD + 1);
    seal_key_free(k);
    return NULL;
}

TAP_TEST(nonces_unique_across_threads_and_fork)
{
    seal_key *k = seal_key_from_bytes((const uint8_t *)"0123456789abcdef0123456789abcdef");
    uint8_t a[SEAL_OVERHEAD + 1], b[SEAL_OVERHEAD + 1], c[SEAL_OVERHEAD + 1];
    int fds[2], status = 0;
    pthread_t th;

    REQUIRE(k != NULL);
    REQUIRE(seal_value(k, NULL, 0, "x", 1, a) == 0);
    REQUIRE(seal_value(k, NULL, 0, "x", 1, b) == 0);
    CHECK(memcmp(a, b, SEAL_NONCEBYTES) != 0);
    REQUIRE(pthread_create(&th, NULL, nonce_thread, c) == 0);
    pthread_join(th, NULL);
    CHECK(memcmp(c, b, SEAL_NONCEBYTES) != 0 && memcmp(c, a, SEAL_NONCEBYTES) != 0);

    REQUIRE(pipe(fds) == 0);
    pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        uint8_t x[SEAL_OVERHEAD + 1];
        int ok = seal_value(k, NULL, 0, "x", 1, x) == 0 &&
                 write(fds[1], x, SEAL_NONCEBYTES) == SEAL_NONCEBYTES;
        _exit(ok ? 0 : 1);
    }
    close(fds[1]);
    uint8_t child[SEAL_NONCEBYTES] = { 0 };
    CHECK(read(fds[0], child, sizeof child) == (ssize_t)sizeof child);
    close(fds[0]);
    CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
          WEXITSTATUS(status) == 0);
    REQUIRE(seal_value(k, NULL, 0, "x", 1, c) == 0);
    CHECK(memcmp(child, c, SEAL_NONCEBYTES) != 0);
    CHECK(memcmp(child, b, SEAL_NONCEBYTES) != 0);
    seal_key_free(k);
}

int main(void)
{
    if (seal_init() != 0) {
        printf("Bail out! seal_init failed\n");
        return 1;
    }
    return tap_main();
}
