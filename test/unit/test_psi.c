/*
 * test_psi.c
 *		Unit tests of the private set intersection core (src/core/psi.c):
 *		the key hash, ristretto255 exponentiation, sorting and counting of
 *		point lists, the point-list / HOP / INTERSECT codecs, and a small
 *		three-party run of the whole ring using only the psi.h API.
 *
 * Decoders run on exact-size heap copies, so AddressSanitizer sees any
 * over-read; every accepted input is re-encoded and must give the same
 * bytes; every failed decode must leave its outputs zeroed.
 */
#include <stdlib.h>
#include <sodium.h>

#include "psi.h"
#include "protocol.h"
#include "messages.h"
#include "unit.h"

#define PB SMPC_PSI_POINT_BYTES

/* ---------------------------------------------------------------- helpers */

static int
hex_to_bytes(const char *hex, uint8_t *out, size_t n)
{
	return sodium_hex2bin(out, n, hex, strlen(hex), NULL, NULL, NULL) == 0;
}

static int
cmp_point(const void *a, const void *b)
{
	return memcmp(a, b, PB);
}

/* Reference: qsort then drop duplicates; returns the new count. */
static size_t
ref_sort_unique(uint8_t *p, size_t n)
{
	size_t		m = 0;

	if (n == 0)
		return 0;
	qsort(p, n, PB, cmp_point);
	for (size_t i = 0; i < n; i++)
		if (m == 0 || memcmp(p + (m - 1) * PB, p + i * PB, PB) != 0)
			memmove(p + (m++) * PB, p + i * PB, PB);
	return m;
}

/* A deterministic pseudo-random stream (tests must be reproducible). */
static uint64_t rng_state = 0x9E3779B97F4A7C15ULL;

static uint64_t
rng(void)
{
	uint64_t	x = rng_state;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	rng_state = x;
	return x;
}

static void
rng_bytes(uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t) (rng() >> 24);
}

/* ------------------------------------------------------ allocation hooks */

static void *(*saved_malloc) (size_t);
static size_t fail_after = SIZE_MAX;	/* allocations allowed before failing */

static void *
failing_malloc(size_t n)
{
	if (fail_after == 0)
		return NULL;
	fail_after--;
	return saved_malloc(n);
}

static void
fail_allocations_after(size_t n)
{
	saved_malloc = smpc_malloc;
	fail_after = n;
	smpc_malloc = failing_malloc;
}

static void
restore_allocations(void)
{
	smpc_malloc = saved_malloc;
	fail_after = SIZE_MAX;
}

/* ---------------------------------------------------------- key hashing */

static const uint8_t sid_a[SMPC_SESSION_ID_BYTES] = {
	0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15
};

/* The hash psi.h documents, computed in one call over an assembled buffer. */
static void
ref_key_hash(const uint8_t *sid, uint8_t cls, const uint8_t *key, size_t len,
			 uint8_t out[SMPC_PSI_HASH_BYTES])
{
	uint8_t    *buf = xmalloc(1 + 11 + 16 + 1 + 8 + len);
	size_t		o = 0;

	buf[o++] = 11;
	memcpy(buf + o, "smpc-psi-v1", 11);
	o += 11;
	memcpy(buf + o, sid, 16);
	o += 16;
	buf[o++] = cls;
	for (int i = 0; i < 8; i++)
		buf[o++] = (uint8_t) ((uint64_t) len >> (8 * i));
	if (len > 0)
		memcpy(buf + o, key, len);
	o += len;
	crypto_generichash(out, SMPC_PSI_HASH_BYTES, buf, o, NULL, 0);
	free(buf);
}

static void
test_key_hash_known_answer(void)
{
	/* digests computed outside libsodium (Python hashlib.blake2b) */
	static const struct
	{
		uint8_t		cls;
		const char *key_hex;
		const char *digest_hex;
	}			kat[] = {
		{SMPC_PSI_KEY_INTEGER, "d6ffffffffffffff",	/* -42 */
		"1a5569cbbb0f6e3baadfc764c7d66dc7eeeca8fc8b2290e346834164db165b0e"
		"a53de73e6f84a3f27ab7aa8f5b53cfcd03ab758f9d9961942f731542aceedf8d"},
		{SMPC_PSI_KEY_TEXT, "636166c3a9",	/* "café" */
		"56de890a85cc7fd472d5bc03dabb9d1a123f21964a996e03ca22b8f453d5b3b9"
		"8444c0ffb67681226a930af269701f7988619686e892ab6a3b7ce6cee88c557c"},
		{SMPC_PSI_KEY_TEXT, "",
		"ed3f37837a1c65c1d9c2d6a888b9baede8ce5f0d7848f67df5c57c2a59db97ba"
		"99ade5421edfed3824ba867156c6523607ff5cf91377bd23a0b68490e1fef808"},
		{SMPC_PSI_KEY_UUID, "0123456789abcdef0123456789abcdef",
		"badc9db512cb9ac200e370f978231e8b224c3e3c6172bc27cbef4d943aded0d1"
		"c9ac04fb862e098c8c0e2a24a3f8b2978d527a17fc330e3fba9f66c499a77011"},
	};

	CHECK(strcmp(SMPC_PSI_DOMAIN, "smpc-psi-v1") == 0);
	for (size_t i = 0; i < sizeof(kat) / sizeof(kat[0]); i++)
	{
		uint8_t		key[32];
		uint8_t		want[SMPC_PSI_HASH_BYTES];
		uint8_t		ref[SMPC_PSI_HASH_BYTES];
		uint8_t		got[SMPC_PSI_HASH_BYTES];
		size_t		klen = strlen(kat[i].key_hex) / 2;

		REQUIRE(hex_to_bytes(kat[i].key_hex, key, klen));
		REQUIRE(hex_to_bytes(kat[i].digest_hex, want, sizeof(want)));
		ref_key_hash(sid_a, kat[i].cls, key, klen, ref);
		CHECK(memcmp(ref, want, sizeof(want)) == 0);
		memset(got, 0xEE, sizeof(got));
		CHECK(smpc_psi_key_hash(sid_a, kat[i].cls, klen ? key : NULL, klen, got) == SMPC_OK);
		CHECK(memcmp(got, want, sizeof(want)) == 0);
	}

	/* long text keys too, against the one-shot computation */
	{
		uint8_t		big[3000];
		uint8_t		ref[SMPC_PSI_HASH_BYTES];
		uint8_t		got[SMPC_PSI_HASH_BYTES];

		rng_bytes(big, sizeof(big));
		for (size_t len = 0; len <= sizeof(big); len += 149)
		{
			ref_key_hash(sid_a, SMPC_PSI_KEY_TEXT, big, len, ref);
			CHECK(smpc_psi_key_hash(sid_a, SMPC_PSI_KEY_TEXT, big, len, got) == SMPC_OK);
			CHECK(memcmp(ref, got, sizeof(got)) == 0);
		}
	}
}

static void
test_key_hash_domain(void)
{
	uint8_t		sid[SMPC_SESSION_ID_BYTES];
	uint8_t		key[16];
	uint8_t		base[SMPC_PSI_HASH_BYTES];
	uint8_t		h[SMPC_PSI_HASH_BYTES];
	uint8_t		h2[SMPC_PSI_HASH_BYTES];

	memcpy(sid, sid_a, sizeof(sid));
	memset(key, 0x42, sizeof(key));
	REQUIRE(smpc_psi_key_hash(sid, SMPC_PSI_KEY_INTEGER, key, 8, base) == SMPC_OK);

	/* deterministic */
	CHECK(smpc_psi_key_hash(sid, SMPC_PSI_KEY_INTEGER, key, 8, h) == SMPC_OK);
	CHECK(memcmp(h, base, sizeof(h)) == 0);

	/* every bit of the session id matters */
	for (size_t bit = 0; bit < 8 * SMPC_SESSION_ID_BYTES; bit++)
	{
		sid[bit / 8] ^= (uint8_t) (1 << (bit % 8));
		CHECK(smpc_psi_key_hash(sid, SMPC_PSI_KEY_INTEGER, key, 8, h) == SMPC_OK);
		CHECK(memcmp(h, base, sizeof(h)) != 0);
		sid[bit / 8] ^= (uint8_t) (1 << (bit % 8));
	}
	/* every bit of the key matters */
	for (size_t bit = 0; bit < 64; bit++)
	{
		key[bit / 8] ^= (uint8_t) (1 << (bit % 8));
		CHECK(smpc_psi_key_hash(sid, SMPC_PSI_KEY_INTEGER, key, 8, h) == SMPC_OK);
		CHECK(memcmp(h, base, sizeof(h)) != 0);
		key[bit / 8] ^= (uint8_t) (1 << (bit % 8));
	}
	/* the same 8 bytes as text are another key */
	CHECK(smpc_psi_key_hash(sid, SMPC_PSI_KEY_TEXT, key, 8, h) == SMPC_OK);
	CHECK(memcmp(h, base, sizeof(h)) != 0);
	/* the same 16 bytes as uuid and as text differ */
	CHECK(smpc_psi_key_hash(sid, SMPC_PSI_KEY_UUID, key, 16, h) == SMPC_OK);
	CHECK(smpc_psi_key_hash(sid, SMPC_PSI_KEY_TEXT, key, 16, h2) == SMPC_OK);
	CHECK(memcmp(h, h2, sizeof(h)) != 0);
	/* the length is bound: a key and its extension differ */
	CHECK(smpc_psi_key_hash(sid, SMPC_PSI_KEY_TEXT, key, 7, h) == SMPC_OK);
	CHECK(smpc_psi_key_hash(sid, SMPC_PSI_KEY_TEXT, key, 8, h2) == SMPC_OK);
	CHECK(memcmp(h, h2, sizeof(h)) != 0);

	/* argument errors */
	memset(h, 0, sizeof(h));
	CHECK(smpc_psi_key_hash(sid, 0, key, 8, h) == SMPC_ERR_ARG);
	CHECK(smpc_psi_key_hash(sid, 4, key, 8, h) == SMPC_ERR_ARG);
	CHECK(smpc_psi_key_hash(sid, 255, key, 8, h) == SMPC_ERR_ARG);
	CHECK(smpc_psi_key_hash(sid, SMPC_PSI_KEY_INTEGER, key, 7, h) == SMPC_ERR_ARG);
	CHECK(smpc_psi_key_hash(sid, SMPC_PSI_KEY_INTEGER, key, 9, h) == SMPC_ERR_ARG);
	CHECK(smpc_psi_key_hash(sid, SMPC_PSI_KEY_INTEGER, key, 0, h) == SMPC_ERR_ARG);
	CHECK(smpc_psi_key_hash(sid, SMPC_PSI_KEY_UUID, key, 15, h) == SMPC_ERR_ARG);
	CHECK(smpc_psi_key_hash(sid, SMPC_PSI_KEY_UUID, key, 17, h) == SMPC_ERR_ARG);
	CHECK(smpc_psi_key_hash(sid, SMPC_PSI_KEY_TEXT, NULL, 1, h) == SMPC_ERR_ARG);
	CHECK(smpc_psi_key_hash(NULL, SMPC_PSI_KEY_TEXT, key, 1, h) == SMPC_ERR_ARG);
	CHECK(smpc_psi_key_hash(sid, SMPC_PSI_KEY_TEXT, key, 1, NULL) == SMPC_ERR_ARG);
	CHECK(all_zero(h, sizeof(h)));
	/* the empty text key is a key */
	CHECK(smpc_psi_key_hash(sid, SMPC_PSI_KEY_TEXT, NULL, 0, h) == SMPC_OK);
	CHECK(!all_zero(h, sizeof(h)));
}

/* ---------------------------------------------------- group arithmetic */

static void
test_scalar_new(void)
{
	uint8_t		k[8][SMPC_PSI_SCALAR_BYTES];

	for (int i = 0; i < 8; i++)
	{
		uint8_t		wide[64] = {0};
		uint8_t		red[SMPC_PSI_SCALAR_BYTES];

		REQUIRE(smpc_psi_scalar_new(k[i]) == SMPC_OK);
		CHECK(!all_zero(k[i], SMPC_PSI_SCALAR_BYTES));
		/* reduced mod L: reducing it again changes nothing */
		memcpy(wide, k[i], SMPC_PSI_SCALAR_BYTES);
		crypto_core_ristretto255_scalar_reduce(red, wide);
		CHECK(memcmp(red, k[i], sizeof(red)) == 0);
		for (int j = 0; j < i; j++)
			CHECK(memcmp(k[i], k[j], SMPC_PSI_SCALAR_BYTES) != 0);
	}
	CHECK(smpc_psi_scalar_new(NULL) == SMPC_ERR_ARG);
}

/* P(key)^k for an integer key */
static int
int_point(const uint8_t *sid, int64_t v, const uint8_t *k, uint8_t out[PB])
{
	uint8_t		key[8];
	uint8_t		h[SMPC_PSI_HASH_BYTES];

	for (int i = 0; i < 8; i++)
		key[i] = (uint8_t) ((uint64_t) v >> (8 * i));
	if (smpc_psi_key_hash(sid, SMPC_PSI_KEY_INTEGER, key, 8, h) != SMPC_OK)
		return SMPC_ERR_ARG;
	return smpc_psi_hash_mult(k, h, out);
}

static void
test_hash_mult(void)
{
	uint8_t		k[SMPC_PSI_SCALAR_BYTES];
	uint8_t		h[SMPC_PSI_HASH_BYTES];
	uint8_t		p[PB],
				p2[PB],
				want[PB],
				base[PB];

	REQUIRE(smpc_psi_scalar_new(k) == SMPC_OK);
	REQUIRE(smpc_psi_key_hash(sid_a, SMPC_PSI_KEY_TEXT, (const uint8_t *) "x", 1, h) == SMPC_OK);
	REQUIRE(smpc_psi_hash_mult(k, h, p) == SMPC_OK);
	CHECK(crypto_core_ristretto255_is_valid_point(p) == 1);
	/* from_hash then scalarmult, as libsodium computes them */
	REQUIRE(crypto_core_ristretto255_from_hash(base, h) == 0);
	REQUIRE(crypto_scalarmult_ristretto255(want, k, base) == 0);
	CHECK(memcmp(p, want, PB) == 0);
	/* deterministic; another scalar gives another point */
	CHECK(smpc_psi_hash_mult(k, h, p2) == SMPC_OK);
	CHECK(memcmp(p, p2, PB) == 0);
	{
		uint8_t		k2[SMPC_PSI_SCALAR_BYTES];

		REQUIRE(smpc_psi_scalar_new(k2) == SMPC_OK);
		CHECK(smpc_psi_hash_mult(k2, h, p2) == SMPC_OK);
		CHECK(memcmp(p, p2, PB) != 0);
	}
	/* the zero scalar gives the identity: refused, output zeroed */
	{
		uint8_t		zero[SMPC_PSI_SCALAR_BYTES] = {0};

		memset(p2, 0xEE, PB);
		CHECK(smpc_psi_hash_mult(zero, h, p2) == SMPC_ERR_CRYPTO);
		CHECK(all_zero(p2, PB));
	}
	CHECK(smpc_psi_hash_mult(NULL, h, p2) == SMPC_ERR_ARG);
	CHECK(smpc_psi_hash_mult(k, NULL, p2) == SMPC_ERR_ARG);
	CHECK(smpc_psi_hash_mult(k, h, NULL) == SMPC_ERR_ARG);
}

static void
test_commutativity(void)
{
	uint8_t		ka[SMPC_PSI_SCALAR_BYTES],
				kb[SMPC_PSI_SCALAR_BYTES],
				kc[SMPC_PSI_SCALAR_BYTES];

	REQUIRE(smpc_psi_scalar_new(ka) == SMPC_OK);
	REQUIRE(smpc_psi_scalar_new(kb) == SMPC_OK);
	REQUIRE(smpc_psi_scalar_new(kc) == SMPC_OK);
	for (int64_t v = -3; v < 20; v++)
	{
		uint8_t		pa[PB],
					pb[PB],
					pc[PB],
					ab[PB],
					ba[PB],
					abc[PB],
					cba[PB],
					bca[PB],
					other[PB];

		REQUIRE(int_point(sid_a, v, ka, pa) == SMPC_OK);
		REQUIRE(int_point(sid_a, v, kb, pb) == SMPC_OK);
		REQUIRE(int_point(sid_a, v, kc, pc) == SMPC_OK);
		CHECK(memcmp(pa, pb, PB) != 0);
		/* (P^a)^b == (P^b)^a */
		CHECK(smpc_psi_point_mult(kb, pa, ab) == SMPC_OK);
		CHECK(smpc_psi_point_mult(ka, pb, ba) == SMPC_OK);
		CHECK(memcmp(ab, ba, PB) == 0);
		/* all three in any order */
		CHECK(smpc_psi_point_mult(kc, ab, abc) == SMPC_OK);
		CHECK(smpc_psi_point_mult(kb, pc, cba) == SMPC_OK);
		CHECK(smpc_psi_point_mult(ka, cba, cba) == SMPC_OK);	/* in place */
		CHECK(smpc_psi_point_mult(kc, pb, bca) == SMPC_OK);
		CHECK(smpc_psi_point_mult(ka, bca, bca) == SMPC_OK);
		CHECK(memcmp(abc, cba, PB) == 0 && memcmp(abc, bca, PB) == 0);
		/* a different key gives a different final point */
		REQUIRE(int_point(sid_a, v + 1000, ka, other) == SMPC_OK);
		CHECK(smpc_psi_point_mult(kb, other, other) == SMPC_OK);
		CHECK(smpc_psi_point_mult(kc, other, other) == SMPC_OK);
		CHECK(memcmp(abc, other, PB) != 0);
		/* and a different session another point for the same key */
		{
			uint8_t		sid_b[SMPC_SESSION_ID_BYTES];

			memcpy(sid_b, sid_a, sizeof(sid_b));
			sid_b[15] ^= 1;
			REQUIRE(int_point(sid_b, v, ka, other) == SMPC_OK);
			CHECK(smpc_psi_point_mult(kb, other, other) == SMPC_OK);
			CHECK(smpc_psi_point_mult(kc, other, other) == SMPC_OK);
			CHECK(memcmp(abc, other, PB) != 0);
		}
	}
}

static void
test_point_mult_rejects(void)
{
	uint8_t		k[SMPC_PSI_SCALAR_BYTES];
	uint8_t		h[SMPC_PSI_HASH_BYTES];
	uint8_t		good[PB],
				bad[PB],
				out[PB];
	int			valid_seen = 0,
				invalid_seen = 0;

	REQUIRE(smpc_psi_scalar_new(k) == SMPC_OK);
	REQUIRE(smpc_psi_key_hash(sid_a, SMPC_PSI_KEY_TEXT, (const uint8_t *) "y", 1, h) == SMPC_OK);
	REQUIRE(smpc_psi_hash_mult(k, h, good) == SMPC_OK);
	CHECK(smpc_psi_point_mult(k, good, out) == SMPC_OK);

	/* the identity (the encoding of zero): an element, but refused */
	memset(bad, 0, PB);
	memset(out, 0xEE, PB);
	CHECK(smpc_psi_point_mult(k, bad, out) == SMPC_ERR_MALFORMED);
	CHECK(all_zero(out, PB));

	/*
	 * Bit 255 set: not canonical, though libsodium 1.0.18 masks the bit
	 * off and would take it for the same element.  Also the identity so.
	 */
	memcpy(bad, good, PB);
	bad[31] |= 0x80;
	memset(out, 0xEE, PB);
	CHECK(smpc_psi_point_mult(k, bad, out) == SMPC_ERR_MALFORMED);
	CHECK(all_zero(out, PB));
	memset(bad, 0, PB);
	bad[31] = 0x80;
	CHECK(smpc_psi_point_mult(k, bad, out) == SMPC_ERR_MALFORMED);
	/* a field element >= p: 2^255 - 19 + 1 is not canonical */
	memset(bad, 0xFF, PB);
	bad[0] = 0xEE;
	bad[31] = 0x7F;
	CHECK(smpc_psi_point_mult(k, bad, out) == SMPC_ERR_MALFORMED);
	/* p itself encodes 0 non-canonically */
	bad[0] = 0xED;
	CHECK(smpc_psi_point_mult(k, bad, out) == SMPC_ERR_MALFORMED);
	/* a "negative" (odd) s is never a canonical ristretto encoding */
	memcpy(bad, good, PB);
	CHECK((good[0] & 1) == 0);
	bad[0] |= 1;
	CHECK(smpc_psi_point_mult(k, bad, out) == SMPC_ERR_MALFORMED);

	/* the zero scalar sends everything to the identity */
	{
		uint8_t		zero[SMPC_PSI_SCALAR_BYTES] = {0};

		CHECK(smpc_psi_point_mult(zero, good, out) == SMPC_ERR_MALFORMED);
	}

	/* random strings: accepted exactly when libsodium calls them valid */
	for (int i = 0; i < 2000; i++)
	{
		int			rc;

		rng_bytes(bad, PB);
		if (i % 2)
			bad[0] &= 0xFE;		/* make half of them even */
		bad[31] &= 0x7F;
		memset(out, 0xEE, PB);
		if (i % 3 == 0)
			bad[31] |= 0x80;	/* never canonical */
		rc = smpc_psi_point_mult(k, bad, out);
		if (crypto_core_ristretto255_is_valid_point(bad) && !(bad[31] & 0x80))
		{
			valid_seen++;
			CHECK(rc == SMPC_OK && crypto_core_ristretto255_is_valid_point(out));
		}
		else
		{
			invalid_seen++;
			CHECK(rc == SMPC_ERR_MALFORMED && all_zero(out, PB));
		}
	}
	CHECK(valid_seen > 0 && invalid_seen > 0);
	CHECK(smpc_psi_point_mult(NULL, good, out) == SMPC_ERR_ARG);
	CHECK(smpc_psi_point_mult(k, NULL, out) == SMPC_ERR_ARG);
	CHECK(smpc_psi_point_mult(k, good, NULL) == SMPC_ERR_ARG);
}

/* ------------------------------------------------------------- sorting */

/* Sort p[0..n) with smpc_psi_sort_unique and compare with the reference. */
static int
sort_matches_reference(const uint8_t *p, size_t n)
{
	uint8_t    *a = exact_copy(p, n * PB);
	uint8_t    *b = exact_copy(p, n * PB);
	size_t		na = n;
	size_t		nb;
	int			ok;

	nb = ref_sort_unique(b, n);
	ok = smpc_psi_sort_unique(n > 0 ? a : NULL, &na) == SMPC_OK &&
		na == nb && (nb == 0 || memcmp(a, b, nb * PB) == 0) &&
		smpc_psi_check_sorted(a, na) == SMPC_OK;
	if (!ok)
		fprintf(stderr, "    sort of %zu points: got %zu, want %zu\n", n, na, nb);
	free(a);
	free(b);
	return ok;
}

static void
test_sort_unique(void)
{
	static const size_t sizes[] = {
		0, 1, 2, 3, 24, 25, 63, 64, 65, 100, 1000, 4097, 70000, 300000
	};
	uint8_t    *p = xmalloc(300000 * PB);

	/* uniformly random */
	for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++)
	{
		rng_bytes(p, sizes[s] * PB);
		CHECK(sort_matches_reference(p, sizes[s]));
	}
	/* duplicate-heavy: drawn from a pool of 37 points */
	{
		uint8_t		pool[37 * PB];

		rng_bytes(pool, sizeof(pool));
		for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++)
		{
			for (size_t i = 0; i < sizes[s]; i++)
				memcpy(p + i * PB, pool + (rng() % 37) * PB, PB);
			CHECK(sort_matches_reference(p, sizes[s]));
		}
	}
	/* every point equal */
	memset(p, 0x5A, 300000 * PB);
	CHECK(sort_matches_reference(p, 300000));
	CHECK(sort_matches_reference(p, 50));
	{
		size_t		n = 300000;

		CHECK(smpc_psi_sort_unique(p, &n) == SMPC_OK && n == 1);
	}
	/* all sharing a 16-bit prefix; sharing 30 bytes; differing in the last only */
	for (size_t pre = 2; pre <= 31; pre += 14)
	{
		rng_bytes(p, 300000 * PB);
		for (size_t i = 0; i < 300000; i++)
			memset(p + i * PB, 0xC3, pre);
		CHECK(sort_matches_reference(p, 300000));
		CHECK(sort_matches_reference(p, 1000));
	}
	/* prefixes of varying length (each radix level splits off a few) */
	rng_bytes(p, 100000 * PB);
	for (size_t i = 0; i < 100000; i++)
		memset(p + i * PB, 0, rng() % 33);
	CHECK(sort_matches_reference(p, 100000));
	/* already sorted, and reversed */
	rng_bytes(p, 100000 * PB);
	qsort(p, 100000, PB, cmp_point);
	CHECK(sort_matches_reference(p, 100000));
	for (size_t i = 0; i < 50000; i++)
	{
		uint8_t		t[PB];

		memcpy(t, p + i * PB, PB);
		memcpy(p + i * PB, p + (99999 - i) * PB, PB);
		memcpy(p + (99999 - i) * PB, t, PB);
	}
	CHECK(sort_matches_reference(p, 100000));
	/* bytes 0x00 and 0xFF at the radix boundaries */
	for (size_t i = 0; i < 100000; i++)
		memset(p + i * PB, (rng() & 1) ? 0xFF : 0x00, PB - (rng() % 3));
	CHECK(sort_matches_reference(p, 100000));

	/* out of memory: status, and the points unchanged */
	{
		uint8_t    *q;
		size_t		n = 5000;

		rng_bytes(p, n * PB);
		q = exact_copy(p, n * PB);
		for (size_t allow = 0; allow < 2; allow++)
		{
			fail_allocations_after(allow);
			CHECK(smpc_psi_sort_unique(p, &n) == SMPC_ERR_NOMEM);
			restore_allocations();
			CHECK(n == 5000 && memcmp(p, q, n * PB) == 0);
		}
		/* small inputs need no scratch */
		fail_allocations_after(0);
		n = 64;
		CHECK(smpc_psi_sort_unique(p, &n) == SMPC_OK && n == 64);
		restore_allocations();
		free(q);
	}
	/* arguments */
	{
		size_t		n = 0;

		CHECK(smpc_psi_sort_unique(NULL, &n) == SMPC_OK && n == 0);
		n = 1;
		CHECK(smpc_psi_sort_unique(NULL, &n) == SMPC_ERR_ARG);
		CHECK(smpc_psi_sort_unique(p, NULL) == SMPC_ERR_ARG);
	}
	free(p);
}

static void
test_check_sorted(void)
{
	uint8_t		p[4 * PB];

	memset(p, 0, sizeof(p));
	for (int i = 0; i < 4; i++)
		p[i * PB + PB - 1] = (uint8_t) (i + 1);
	CHECK(smpc_psi_check_sorted(p, 4) == SMPC_OK);
	CHECK(smpc_psi_check_sorted(p, 1) == SMPC_OK);
	CHECK(smpc_psi_check_sorted(p, 0) == SMPC_OK);
	CHECK(smpc_psi_check_sorted(NULL, 0) == SMPC_OK);
	p[2 * PB + PB - 1] = 2;		/* equal neighbours */
	CHECK(smpc_psi_check_sorted(p, 4) == SMPC_ERR_MALFORMED);
	CHECK(smpc_psi_check_sorted(p, 2) == SMPC_OK);
	p[2 * PB + PB - 1] = 1;		/* descending */
	CHECK(smpc_psi_check_sorted(p, 3) == SMPC_ERR_MALFORMED);
	/* the first byte decides over the last */
	memset(p, 0, sizeof(p));
	p[0] = 1;
	p[PB + PB - 1] = 0xFF;
	CHECK(smpc_psi_check_sorted(p, 2) == SMPC_ERR_MALFORMED);
}

/* ------------------------------------------------------------ counting */

/* Brute force: points of lists[0] that occur in every other list. */
static size_t
brute_common(uint8_t *const *lists, const size_t *counts, size_t nlists)
{
	size_t		found = 0;

	for (size_t j = 0; j < nlists; j++)
		if (counts[j] == 0)
			return 0;
	for (size_t i = 0; i < counts[0]; i++)
	{
		int			everywhere = 1;

		for (size_t j = 1; j < nlists && everywhere; j++)
		{
			int			here = 0;

			for (size_t k = 0; k < counts[j] && !here; k++)
				here = memcmp(lists[0] + i * PB, lists[j] + k * PB, PB) == 0;
			everywhere = here;
		}
		found += everywhere;
	}
	return found;
}

static void
test_count_common(void)
{
	enum
	{
		MAXN = 400
	};
	uint8_t    *lists[5];
	size_t		counts[5];
	uint8_t		universe[600 * PB];

	for (int j = 0; j < 5; j++)
		lists[j] = xmalloc(MAXN * PB);

	for (int round = 0; round < 300; round++)
	{
		size_t		nlists = 2 + (size_t) (round % 4);
		size_t		usize = 1 + rng() % 600;
		size_t		core = rng() % 50;
		const uint8_t *cl[5];
		size_t		want,
					got;

		rng_bytes(universe, usize * PB);
		/* small universes share long prefixes, to reach the memcmp tails */
		if (round % 3 == 0)
			for (size_t u = 0; u < usize; u++)
				memset(universe + u * PB, 0x11, 28);
		for (size_t j = 0; j < nlists; j++)
		{
			size_t		n = (round % 7 == 0 && j == nlists - 1) ? 0 : rng() % MAXN;

			/* a common core (the known overlap) then random draws */
			for (size_t i = 0; i < n; i++)
			{
				size_t		u = i < core ? i % usize : rng() % usize;

				memcpy(lists[j] + i * PB, universe + u * PB, PB);
			}
			counts[j] = n;
			REQUIRE(smpc_psi_sort_unique(lists[j], &counts[j]) == SMPC_OK);
			cl[j] = lists[j];
		}
		want = brute_common(lists, counts, nlists);
		got = smpc_psi_count_common(cl, counts, nlists);
		if (!CHECK(got == want))
		{
			fprintf(stderr, "    round %d: %zu lists, got %zu want %zu\n",
					round, nlists, got, want);
			break;
		}
		/* the order of the lists does not matter */
		{
			const uint8_t *rl[5];
			size_t		rc[5];

			for (size_t j = 0; j < nlists; j++)
			{
				rl[j] = cl[nlists - 1 - j];
				rc[j] = counts[nlists - 1 - j];
			}
			CHECK(smpc_psi_count_common(rl, rc, nlists) == want);
		}
	}

	/* known figures: lists sharing exactly k points */
	{
		uint8_t    *big[3];
		size_t		bc[3] = {3000, 1000, 2000};
		const uint8_t *cb[3];

		for (int j = 0; j < 3; j++)
		{
			big[j] = xmalloc(bc[j] * PB);
			rng_bytes(big[j], bc[j] * PB);
		}
		for (size_t i = 0; i < 123; i++)
		{
			memcpy(big[1] + (i * 7) * PB, big[0] + (i * 11) * PB, PB);
			memcpy(big[2] + (i * 13) * PB, big[0] + (i * 11) * PB, PB);
		}
		/* and points common to two lists only */
		for (size_t i = 900; i < 960; i++)
			memcpy(big[1] + i * PB, big[2] + (i + 800) * PB, PB);
		for (int j = 0; j < 3; j++)
		{
			REQUIRE(smpc_psi_sort_unique(big[j], &bc[j]) == SMPC_OK);
			cb[j] = big[j];
		}
		CHECK(bc[0] == 3000 && bc[1] == 1000 && bc[2] == 2000);
		CHECK(smpc_psi_count_common(cb, bc, 3) == 123);
		CHECK(smpc_psi_count_common(cb + 1, bc + 1, 2) == 183);
		CHECK(smpc_psi_count_common(cb, bc, 2) == 123);
		CHECK(smpc_psi_count_common(cb, bc, 1) == 3000);
		/* a list against itself */
		{
			const uint8_t *self[2] = {cb[0], cb[0]};
			size_t		sc[2] = {bc[0], bc[0]};

			CHECK(smpc_psi_count_common(self, sc, 2) == 3000);
		}
		for (int j = 0; j < 3; j++)
			free(big[j]);
	}

	/* empty lists, no lists */
	{
		const uint8_t *cl[2] = {lists[0], lists[1]};
		size_t		c[2] = {0, 0};

		CHECK(smpc_psi_count_common(cl, c, 2) == 0);
		c[0] = 3;
		CHECK(smpc_psi_count_common(cl, c, 2) == 0);
		CHECK(smpc_psi_count_common(cl, c, 1) == 3);
		c[0] = 0;
		CHECK(smpc_psi_count_common(cl, c, 1) == 0);
		CHECK(smpc_psi_count_common(cl, c, 0) == 0);
		CHECK(smpc_psi_count_common(NULL, c, 2) == 0);
	}
	for (int j = 0; j < 5; j++)
		free(lists[j]);
}

/* ------------------------------------------------------- codec helpers */

/* Exact-size copy decode of a point list message, with the promises. */
static int
dec_points(const uint8_t *in, size_t len, size_t max_count)
{
	uint8_t    *copy = exact_copy(in, len);
	const uint8_t *pts = (const uint8_t *) 1;
	size_t		n = 999;
	int			rc;

	rc = smpc_points_decode(copy, len, max_count, &pts, &n);
	if (rc != SMPC_OK)
		CHECK(pts == NULL && n == 0);
	else
	{
		uint8_t    *enc;
		size_t		enc_len;

		CHECK(n <= max_count && pts != NULL && pts >= copy &&
			  pts + n * PB <= copy + len);
		CHECK(smpc_psi_check_sorted(pts, n) == SMPC_OK);
		CHECK(smpc_points_encode(pts, n, &enc, &enc_len) == SMPC_OK);
		CHECK(same(enc, enc_len, copy, len));
		smpc_free(enc);
	}
	free(copy);
	return rc;
}

static int
dec_hop(const uint8_t *in, size_t len, size_t max_count)
{
	uint8_t    *copy = exact_copy(in, len);
	smpc_reader r;
	uint16_t	hop = 0xEEEE;
	const uint8_t *pts = (const uint8_t *) 1;
	size_t		n = 999;
	int			rc;

	smpc_reader_init(&r, copy, len);
	rc = smpc_reader_get_hop(&r, max_count, &hop, &pts, &n);
	CHECK(rc == smpc_reader_finish(&r));	/* reads to the end; sticky */
	if (rc != SMPC_OK)
		CHECK(hop == 0 && pts == NULL && n == 0);
	else
	{
		smpc_writer w;
		uint8_t    *enc;
		size_t		enc_len;

		CHECK(hop >= 1 && hop < SMPC_MAX_PARTIES && n <= max_count);
		CHECK(pts != NULL && pts >= copy && pts + n * PB <= copy + len);
		smpc_writer_init(&w, SMPC_MAX_MESSAGE_DEFAULT);
		smpc_writer_put_hop(&w, hop, pts, n);
		CHECK(smpc_writer_finish(&w, &enc, &enc_len) == SMPC_OK);
		CHECK(same(enc, enc_len, copy, len));
		smpc_free(enc);
	}
	free(copy);
	return rc;
}

static int
dec_intersect(const uint8_t *in, size_t len)
{
	uint8_t    *copy = exact_copy(in, len);
	smpc_reader r;
	smpc_intersect x;
	int			rc;

	memset(&x, 0xEE, sizeof(x));
	smpc_reader_init(&r, copy, len);
	rc = smpc_reader_get_intersect(&r, &x);
	CHECK(rc == smpc_reader_finish(&r));
	if (rc != SMPC_OK)
		CHECK(all_zero(&x, sizeof(x)));
	else
	{
		smpc_writer w;
		uint8_t    *enc;
		size_t		enc_len;

		CHECK(x.nparties >= 2 && x.nparties <= SMPC_MAX_PARTIES);
		CHECK(x.parties >= copy && x.parties + (size_t) x.nparties * 32 <= copy + len);
		CHECK(x.dataset.len >= 1 && x.dataset.len <= SMPC_MAX_NAME_LEN);
		CHECK(x.sql.len >= 1 && x.sql.len <= SMPC_MAX_SQL_LEN);
		CHECK(x.key_class >= 1 && x.key_class <= 3);
		smpc_writer_init(&w, SMPC_MAX_MESSAGE_DEFAULT);
		smpc_writer_put_intersect(&w, &x);
		CHECK(smpc_writer_finish(&w, &enc, &enc_len) == SMPC_OK);
		CHECK(same(enc, enc_len, copy, len));
		smpc_free(enc);
	}
	free(copy);
	return rc;
}

typedef int (*dec_fn) (const uint8_t *in, size_t len);

static size_t lim_points = 1000;

static int
dec_points_lim(const uint8_t *in, size_t len)
{
	return dec_points(in, len, lim_points);
}

static int
dec_hop_lim(const uint8_t *in, size_t len)
{
	return dec_hop(in, len, lim_points);
}

/*
 * A valid encoding: accepted; every proper prefix is SMPC_ERR_TRUNCATED;
 * with one more byte it is SMPC_ERR_TRAILING.
 */
static void
check_encoding(const uint8_t *buf, size_t len, dec_fn dec)
{
	uint8_t    *longer;

	CHECK(dec(buf, len) == SMPC_OK);
	for (size_t cut = 0; cut < len; cut++)
	{
		int			rc = dec(buf, cut);

		if (!CHECK(rc == SMPC_ERR_TRUNCATED))
		{
			fprintf(stderr, "    prefix of %zu of %zu bytes: status %d\n", cut, len, rc);
			break;
		}
	}
	longer = xmalloc(len + 1);
	memcpy(longer, buf, len);
	longer[len] = 0;
	CHECK(dec(longer, len + 1) == SMPC_ERR_TRAILING);
	free(longer);
}

/* n sorted distinct random points */
static uint8_t *
sorted_points(size_t n)
{
	uint8_t    *p = xmalloc(n * PB);
	size_t		m = n;

	rng_bytes(p, n * PB);
	if (smpc_psi_sort_unique(p, &m) != SMPC_OK || m != n)
	{
		fprintf(stderr, "sorted_points failed\n");
		exit(2);
	}
	return p;
}

/* A point list written without the writer's checks. */
static void
raw_points(uint32_t count, const uint8_t *pts, size_t n, uint8_t **out, size_t *len)
{
	smpc_writer w;

	smpc_writer_init(&w, SMPC_MAX_MESSAGE_DEFAULT);
	smpc_writer_put_u32(&w, count);
	smpc_writer_put_bytes(&w, pts, n * PB);
	if (smpc_writer_finish(&w, out, len) != SMPC_OK)
		exit(2);
}

/* ------------------------------------------------------- point lists */

static void
test_points_codec(void)
{
	uint8_t    *p = sorted_points(40);
	uint8_t    *enc,
			   *raw;
	size_t		enc_len,
				raw_len;

	/* round trips at 0, 1, 3, 40 points, with layout u32 count || points */
	for (size_t n = 0; n <= 40; n += (n < 3 ? 1 : 37))
	{
		const uint8_t *got;
		size_t		gn;

		REQUIRE(smpc_points_encode(n ? p : NULL, n, &enc, &enc_len) == SMPC_OK);
		CHECK(enc_len == 4 + n * PB);
		CHECK(enc[0] == n && enc[1] == 0 && enc[2] == 0 && enc[3] == 0);
		CHECK(n == 0 || memcmp(enc + 4, p, n * PB) == 0);
		CHECK(smpc_points_decode(enc, enc_len, n, &got, &gn) == SMPC_OK && gn == n);
		CHECK(got == enc + 4);
		check_encoding(enc, enc_len, dec_points_lim);
		/* max_count: n is allowed, n - 1 is not */
		if (n > 0)
			CHECK(dec_points(enc, enc_len, n - 1) == SMPC_ERR_TOO_LARGE);
		CHECK(dec_points(enc, enc_len, n) == SMPC_OK);
		smpc_free(enc);
	}

	/* unsorted, duplicate: the writer refuses, the decoder rejects */
	{
		uint8_t		two[2 * PB];

		memcpy(two, p + PB, PB);
		memcpy(two + PB, p, PB);
		CHECK(smpc_points_encode(two, 2, &enc, &enc_len) == SMPC_ERR_ARG);
		CHECK(enc == NULL && enc_len == 0);
		raw_points(2, two, 2, &raw, &raw_len);
		CHECK(dec_points(raw, raw_len, 10) == SMPC_ERR_MALFORMED);
		smpc_free(raw);
		memcpy(two + PB, two, PB);
		CHECK(smpc_points_encode(two, 2, &enc, &enc_len) == SMPC_ERR_ARG);
		raw_points(2, two, 2, &raw, &raw_len);
		CHECK(dec_points(raw, raw_len, 10) == SMPC_ERR_MALFORMED);
		smpc_free(raw);
		/* one unsorted pair deep in a long list */
		{
			uint8_t    *q = exact_copy(p, 40 * PB);

			memcpy(q + 30 * PB, q + 31 * PB, PB);
			raw_points(40, q, 40, &raw, &raw_len);
			CHECK(dec_points(raw, raw_len, 100) == SMPC_ERR_MALFORMED);
			smpc_free(raw);
			free(q);
		}
	}

	/* counts the input cannot hold: over the limit first, then truncated */
	raw_points(0xFFFFFFFFu, p, 2, &raw, &raw_len);
	CHECK(dec_points(raw, raw_len, 1000) == SMPC_ERR_TOO_LARGE);
	CHECK(dec_points(raw, raw_len, SIZE_MAX) == SMPC_ERR_TRUNCATED);
	smpc_free(raw);
	raw_points(3, p, 2, &raw, &raw_len);
	CHECK(dec_points(raw, raw_len, 1000) == SMPC_ERR_TRUNCATED);
	smpc_free(raw);
	/* trailing bytes shorter than a point */
	raw_points(2, p, 2, &raw, &raw_len);
	CHECK(dec_points(raw, raw_len - 1, 1000) == SMPC_ERR_TRUNCATED);
	smpc_free(raw);

	/* the reader form stops after the list */
	{
		smpc_writer w;
		smpc_reader r;
		const uint8_t *got;
		size_t		gn;
		uint8_t		tail;

		smpc_writer_init(&w, 1000);
		smpc_writer_put_points(&w, p, 3);
		smpc_writer_put_u8(&w, 0x77);
		REQUIRE(smpc_writer_finish(&w, &enc, &enc_len) == SMPC_OK);
		smpc_reader_init(&r, enc, enc_len);
		CHECK(smpc_reader_get_points(&r, 3, &got, &gn) == SMPC_OK && gn == 3);
		CHECK(smpc_reader_get_u8(&r, &tail) == SMPC_OK && tail == 0x77);
		CHECK(smpc_reader_finish(&r) == SMPC_OK);
		/* limit: sticky, outputs zeroed */
		smpc_reader_init(&r, enc, enc_len);
		CHECK(smpc_reader_get_points(&r, 2, &got, &gn) == SMPC_ERR_TOO_LARGE);
		CHECK(got == NULL && gn == 0);
		CHECK(smpc_reader_get_u8(&r, &tail) == SMPC_ERR_TOO_LARGE);
		smpc_free(enc);
	}

	/* writer: sticky status, NULL points */
	{
		smpc_writer w;

		smpc_writer_init(&w, 10);
		CHECK(smpc_writer_put_points(&w, p, 1) == SMPC_ERR_TOO_LARGE);
		CHECK(smpc_writer_put_points(&w, p, 0) == SMPC_ERR_TOO_LARGE);
		smpc_writer_discard(&w);
		smpc_writer_init(&w, 1000);
		CHECK(smpc_writer_put_points(&w, NULL, 1) == SMPC_ERR_ARG);
		smpc_writer_discard(&w);
		smpc_writer_init(&w, 1000);
		CHECK(smpc_writer_put_points(&w, NULL, 0) == SMPC_OK && w.len == 4);
		smpc_writer_discard(&w);
	}
	free(p);
}

/* ----------------------------------------------------------------- HOP */

/* HOP written without the writer's checks. */
static void
raw_hop(uint16_t hop, uint32_t count, const uint8_t *pts, size_t n,
		uint8_t **out, size_t *len)
{
	smpc_writer w;

	smpc_writer_init(&w, SMPC_MAX_MESSAGE_DEFAULT);
	smpc_writer_put_u16(&w, hop);
	smpc_writer_put_u32(&w, count);
	smpc_writer_put_bytes(&w, pts, n * PB);
	if (smpc_writer_finish(&w, out, len) != SMPC_OK)
		exit(2);
}

static int
encode_hop(uint16_t hop, const uint8_t *pts, size_t n, uint8_t **out, size_t *len)
{
	smpc_writer w;

	smpc_writer_init(&w, SMPC_MAX_MESSAGE_DEFAULT);
	smpc_writer_put_hop(&w, hop, pts, n);
	return smpc_writer_finish(&w, out, len);
}

static void
test_hop_codec(void)
{
	static const uint16_t good[] = {1, 2, SMPC_MAX_PARTIES - 1};
	static const uint16_t badhop[] = {0, SMPC_MAX_PARTIES, SMPC_MAX_PARTIES + 1, 0xFFFF};
	uint8_t    *p = sorted_points(5);
	uint8_t    *enc,
			   *raw;
	size_t		enc_len,
				raw_len;

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		for (size_t n = 0; n <= 5; n += 5)
		{
			REQUIRE(encode_hop(good[i], n ? p : NULL, n, &enc, &enc_len) == SMPC_OK);
			raw_hop(good[i], (uint32_t) n, p, n, &raw, &raw_len);
			CHECK(same(enc, enc_len, raw, raw_len));
			CHECK(enc_len == 2 + 4 + n * PB);
			check_encoding(enc, enc_len, dec_hop_lim);
			if (n > 0)
				CHECK(dec_hop(enc, enc_len, n - 1) == SMPC_ERR_TOO_LARGE);
			smpc_free(enc);
			smpc_free(raw);
		}
	for (size_t i = 0; i < sizeof(badhop) / sizeof(badhop[0]); i++)
	{
		CHECK(encode_hop(badhop[i], p, 5, &enc, &enc_len) == SMPC_ERR_ARG);
		CHECK(enc == NULL);
		raw_hop(badhop[i], 5, p, 5, &raw, &raw_len);
		CHECK(dec_hop(raw, raw_len, 10) == SMPC_ERR_MALFORMED);
		smpc_free(raw);
	}
	/* an unsorted list or a duplicate inside a HOP */
	{
		uint8_t    *q = exact_copy(p, 5 * PB);

		memcpy(q + 4 * PB, q + 3 * PB, PB);
		CHECK(encode_hop(1, q, 5, &enc, &enc_len) == SMPC_ERR_ARG);
		raw_hop(1, 5, q, 5, &raw, &raw_len);
		CHECK(dec_hop(raw, raw_len, 10) == SMPC_ERR_MALFORMED);
		smpc_free(raw);
		memcpy(q, p + 4 * PB, PB);
		raw_hop(2, 5, q, 5, &raw, &raw_len);
		CHECK(dec_hop(raw, raw_len, 10) == SMPC_ERR_MALFORMED);
		smpc_free(raw);
		free(q);
	}
	/* count over the limit, count over the input */
	raw_hop(1, 0x80000000u, p, 5, &raw, &raw_len);
	CHECK(dec_hop(raw, raw_len, 10) == SMPC_ERR_TOO_LARGE);
	CHECK(dec_hop(raw, raw_len, SIZE_MAX) == SMPC_ERR_TRUNCATED);
	smpc_free(raw);
	free(p);
}

/* ----------------------------------------------------------- INTERSECT */

static uint8_t party_keys[(SMPC_MAX_PARTIES + 1) * SMPC_SIGN_PK_BYTES];

static void
base_intersect(smpc_intersect *x)
{
	for (size_t i = 0; i < sizeof(party_keys); i++)
		party_keys[i] = (uint8_t) (i * 7 + i / 32);
	memset(x, 0, sizeof(*x));
	x->nparties = 3;
	x->parties = party_keys;
	x->dataset.ptr = "patients";
	x->dataset.len = 8;
	x->sql.ptr = "SELECT nhs_number FROM patients WHERE age > 60 GROUP BY 1";
	x->sql.len = strlen(x->sql.ptr);
	x->key_class = SMPC_PSI_KEY_TEXT;
}

/* INTERSECT as given, without the writer's checks (raw string bytes too). */
static void
raw_intersect(const smpc_intersect *x, uint8_t **out, size_t *len)
{
	smpc_writer w;

	smpc_writer_init(&w, SMPC_MAX_MESSAGE_DEFAULT);
	smpc_writer_put_u16(&w, x->nparties);
	smpc_writer_put_bytes(&w, x->parties, (size_t) x->nparties * SMPC_SIGN_PK_BYTES);
	smpc_writer_put_u32(&w, (uint32_t) x->dataset.len);
	smpc_writer_put_bytes(&w, x->dataset.ptr, x->dataset.len);
	smpc_writer_put_u32(&w, (uint32_t) x->sql.len);
	smpc_writer_put_bytes(&w, x->sql.ptr, x->sql.len);
	smpc_writer_put_u8(&w, x->key_class);
	if (smpc_writer_finish(&w, out, len) != SMPC_OK)
		exit(2);
}

static void
expect_intersect(const smpc_intersect *x, int want_writer, int want_decode, int line)
{
	smpc_writer w;
	uint8_t    *enc,
			   *raw;
	size_t		enc_len,
				raw_len;
	int			rc;

	smpc_writer_init(&w, SMPC_MAX_MESSAGE_DEFAULT);
	smpc_writer_put_intersect(&w, x);
	rc = smpc_writer_finish(&w, &enc, &enc_len);
	if (!CHECK(rc == want_writer))
		fprintf(stderr, "    line %d: writer status %d\n", line, rc);
	raw_intersect(x, &raw, &raw_len);
	if (rc == SMPC_OK)
		CHECK(same(enc, enc_len, raw, raw_len));
	rc = dec_intersect(raw, raw_len);
	if (!CHECK(rc == want_decode))
		fprintf(stderr, "    line %d: decode status %d\n", line, rc);
	smpc_free(enc);
	smpc_free(raw);
}

#define EXPECT_INTERSECT(x, w, d) expect_intersect((x), (w), (d), __LINE__)

static void
test_intersect_codec(void)
{
	static char name[SMPC_MAX_NAME_LEN + 1];
	char	   *sql = xmalloc(SMPC_MAX_SQL_LEN + 1);
	smpc_intersect x;
	uint8_t    *raw;
	size_t		raw_len;

	base_intersect(&x);
	EXPECT_INTERSECT(&x, SMPC_OK, SMPC_OK);
	raw_intersect(&x, &raw, &raw_len);
	check_encoding(raw, raw_len, dec_intersect);
	{
		smpc_reader r;
		smpc_intersect got;

		smpc_reader_init(&r, raw, raw_len);
		REQUIRE(smpc_reader_get_intersect(&r, &got) == SMPC_OK);
		CHECK(got.nparties == 3 && memcmp(got.parties, party_keys, 96) == 0);
		CHECK(got.dataset.len == 8 && memcmp(got.dataset.ptr, "patients", 8) == 0);
		CHECK(got.sql.len == x.sql.len && memcmp(got.sql.ptr, x.sql.ptr, x.sql.len) == 0);
		CHECK(got.key_class == SMPC_PSI_KEY_TEXT);
		CHECK(raw_len == 2 + 96 + 4 + 8 + 4 + x.sql.len + 1);
	}
	smpc_free(raw);

	/* nparties: 2 .. SMPC_MAX_PARTIES */
	x.nparties = 2;
	EXPECT_INTERSECT(&x, SMPC_OK, SMPC_OK);
	x.nparties = SMPC_MAX_PARTIES;
	EXPECT_INTERSECT(&x, SMPC_OK, SMPC_OK);
	raw_intersect(&x, &raw, &raw_len);
	check_encoding(raw, raw_len, dec_intersect);
	smpc_free(raw);
	x.nparties = SMPC_MAX_PARTIES + 1;
	EXPECT_INTERSECT(&x, SMPC_ERR_ARG, SMPC_ERR_TOO_LARGE);
	x.nparties = 1;
	EXPECT_INTERSECT(&x, SMPC_ERR_ARG, SMPC_ERR_MALFORMED);
	x.nparties = 0;
	EXPECT_INTERSECT(&x, SMPC_ERR_ARG, SMPC_ERR_MALFORMED);

	/* duplicate parties: first and last of many, and adjacent */
	base_intersect(&x);
	x.nparties = 10;
	memcpy(party_keys + 9 * 32, party_keys, 32);
	EXPECT_INTERSECT(&x, SMPC_ERR_ARG, SMPC_ERR_MALFORMED);
	base_intersect(&x);
	memcpy(party_keys + 2 * 32, party_keys + 32, 32);
	EXPECT_INTERSECT(&x, SMPC_ERR_ARG, SMPC_ERR_MALFORMED);
	/* keys differing in one byte are distinct */
	party_keys[2 * 32 + 31] ^= 1;
	EXPECT_INTERSECT(&x, SMPC_OK, SMPC_OK);

	/* dataset: 1 .. SMPC_MAX_NAME_LEN */
	base_intersect(&x);
	memset(name, 'd', sizeof(name));
	x.dataset.ptr = name;
	x.dataset.len = SMPC_MAX_NAME_LEN;
	EXPECT_INTERSECT(&x, SMPC_OK, SMPC_OK);
	x.dataset.len = SMPC_MAX_NAME_LEN + 1;
	EXPECT_INTERSECT(&x, SMPC_ERR_ARG, SMPC_ERR_TOO_LARGE);
	x.dataset.len = 0;
	EXPECT_INTERSECT(&x, SMPC_ERR_ARG, SMPC_ERR_MALFORMED);
	x.dataset.ptr = "a\xff";	/* ill-formed UTF-8 */
	x.dataset.len = 2;
	EXPECT_INTERSECT(&x, SMPC_ERR_ARG, SMPC_ERR_MALFORMED);
	x.dataset.ptr = "a\0b";		/* embedded NUL */
	x.dataset.len = 3;
	EXPECT_INTERSECT(&x, SMPC_ERR_ARG, SMPC_ERR_MALFORMED);

	/* sql: 1 .. SMPC_MAX_SQL_LEN */
	base_intersect(&x);
	memset(sql, 's', SMPC_MAX_SQL_LEN + 1);
	x.sql.ptr = sql;
	x.sql.len = SMPC_MAX_SQL_LEN;
	EXPECT_INTERSECT(&x, SMPC_OK, SMPC_OK);
	x.sql.len = SMPC_MAX_SQL_LEN + 1;
	EXPECT_INTERSECT(&x, SMPC_ERR_ARG, SMPC_ERR_TOO_LARGE);
	x.sql.len = 0;
	EXPECT_INTERSECT(&x, SMPC_ERR_ARG, SMPC_ERR_MALFORMED);

	/* key_class */
	base_intersect(&x);
	for (int c = 0; c < 256; c++)
	{
		int			ok = c == SMPC_PSI_KEY_INTEGER || c == SMPC_PSI_KEY_TEXT ||
			c == SMPC_PSI_KEY_UUID;

		x.key_class = (uint8_t) c;
		EXPECT_INTERSECT(&x, ok ? SMPC_OK : SMPC_ERR_ARG,
						 ok ? SMPC_OK : SMPC_ERR_MALFORMED);
	}

	/* writer: NULLs */
	{
		smpc_writer w;

		base_intersect(&x);
		x.parties = NULL;
		smpc_writer_init(&w, 100000);
		CHECK(smpc_writer_put_intersect(&w, &x) == SMPC_ERR_ARG);
		smpc_writer_discard(&w);
		smpc_writer_init(&w, 100000);
		CHECK(smpc_writer_put_intersect(&w, NULL) == SMPC_ERR_ARG);
		smpc_writer_discard(&w);
		base_intersect(&x);
		x.sql.ptr = NULL;
		smpc_writer_init(&w, 100000);
		CHECK(smpc_writer_put_intersect(&w, &x) == SMPC_ERR_ARG);
		smpc_writer_discard(&w);
	}
	free(sql);
}

/* ------------------------------------------------------- end to end */

typedef struct sim_party
{
	uint8_t		k[SMPC_PSI_SCALAR_BYTES];
	uint8_t	   *list;			/* the list this party holds right now */
	size_t		n;
	int			raised;			/* how many scalars it carries */
} sim_party;

/* One party's INTERSECT work: hash, raise, sort; the reply goes through the codec. */
static int
sim_own_set(sim_party *pt, const uint8_t *sid, uint8_t cls,
			const uint8_t *const *keys, const size_t *lens, size_t nkeys)
{
	uint8_t    *pts = xmalloc(nkeys * PB);
	size_t		n = nkeys;
	uint8_t    *enc;
	size_t		enc_len;
	const uint8_t *got;
	size_t		gn;

	for (size_t i = 0; i < nkeys; i++)
	{
		uint8_t		h[SMPC_PSI_HASH_BYTES];

		if (smpc_psi_key_hash(sid, cls, keys[i], lens[i], h) != SMPC_OK ||
			smpc_psi_hash_mult(pt->k, h, pts + i * PB) != SMPC_OK)
			return 0;
	}
	if (smpc_psi_sort_unique(pts, &n) != SMPC_OK ||
		smpc_points_encode(pts, n, &enc, &enc_len) != SMPC_OK)
		return 0;
	free(pts);
	if (smpc_points_decode(enc, enc_len, 1000000, &got, &gn) != SMPC_OK)
		return 0;
	pt->list = exact_copy(got, gn * PB);
	pt->n = gn;
	pt->raised = 1;
	smpc_free(enc);
	return 1;
}

/* HOP: the querying node sends list to party by; by raises, sorts, replies. */
static int
sim_hop(const sim_party *by, uint16_t hop, uint8_t **list, size_t *n)
{
	uint8_t    *req,
			   *rep;
	size_t		req_len,
				rep_len,
				m,
				cnt;
	smpc_reader r;
	uint16_t	gh;
	const uint8_t *pts;
	uint8_t    *out;

	if (encode_hop(hop, *list, *n, &req, &req_len) != SMPC_OK)
		return 0;
	smpc_reader_init(&r, req, req_len);
	if (smpc_reader_get_hop(&r, 1000000, &gh, &pts, &cnt) != SMPC_OK || gh != hop)
		return 0;
	/* the member refuses a list that is not of group elements */
	out = xmalloc(cnt * PB);
	for (size_t i = 0; i < cnt; i++)
		if (smpc_psi_point_mult(by->k, pts + i * PB, out + i * PB) != SMPC_OK)
			return 0;
	m = cnt;
	if (smpc_psi_sort_unique(out, &m) != SMPC_OK || m != cnt ||
		smpc_points_encode(out, m, &rep, &rep_len) != SMPC_OK)
		return 0;
	smpc_free(req);
	free(out);
	if (smpc_points_decode(rep, rep_len, 1000000, &pts, &cnt) != SMPC_OK)
		return 0;
	free(*list);
	*list = exact_copy(pts, cnt * PB);
	*n = cnt;
	smpc_free(rep);
	return 1;
}

static void
int_keys(const int64_t *v, size_t n, uint8_t (*buf)[8], const uint8_t **keys, size_t *lens)
{
	for (size_t i = 0; i < n; i++)
	{
		for (int b = 0; b < 8; b++)
			buf[i][b] = (uint8_t) ((uint64_t) v[i] >> (8 * b));
		keys[i] = buf[i];
		lens[i] = 8;
	}
}

static void
test_end_to_end(void)
{
	enum
	{
		NP = 3, MAXK = 400
	};
	static int64_t vals[NP][MAXK];
	static uint8_t buf[NP][MAXK][8];
	const uint8_t *keys[NP][MAXK];
	size_t		lens[NP][MAXK];
	size_t		nk[NP];
	sim_party	pt[NP];
	uint8_t		sid[SMPC_SESSION_ID_BYTES];
	size_t		truth = 0;

	/* party 0: 1..300; party 1: 100..399 and duplicates; party 2: evens 50..450 */
	nk[0] = 0;
	for (int64_t v = 1; v <= 300; v++)
		vals[0][nk[0]++] = v;
	nk[1] = 0;
	for (int64_t v = 100; v <= 399; v++)
		vals[1][nk[1]++] = v;
	for (int64_t v = 100; v < 150; v++)
		vals[1][nk[1]++] = v;	/* keys repeated: counted once */
	nk[2] = 0;
	for (int64_t v = 50; v <= 450; v += 2)
		vals[2][nk[2]++] = v;
	vals[2][nk[2]++] = -7;
	for (int64_t v = -1000; v <= 1000; v++)
	{
		int			in[NP] = {0, 0, 0};

		for (int p = 0; p < NP; p++)
			for (size_t i = 0; i < nk[p]; i++)
				in[p] |= vals[p][i] == v;
		truth += in[0] && in[1] && in[2];
	}
	CHECK(truth == 101);		/* evens 100..300 */

	randombytes_buf(sid, sizeof(sid));
	for (int p = 0; p < NP; p++)
	{
		REQUIRE(smpc_psi_scalar_new(pt[p].k) == SMPC_OK);
		int_keys(vals[p], nk[p], buf[p], keys[p], lens[p]);
		REQUIRE(sim_own_set(&pt[p], sid, SMPC_PSI_KEY_INTEGER, keys[p], lens[p], nk[p]));
	}
	CHECK(pt[1].n == 300);
	/* lists under different single scalars have nothing in common */
	{
		const uint8_t *l[NP] = {pt[0].list, pt[1].list, pt[2].list};
		size_t		c[NP] = {pt[0].n, pt[1].n, pt[2].n};

		CHECK(smpc_psi_count_common(l, c, 2) == 0);
		CHECK(smpc_psi_count_common(l, c, NP) == 0);
	}
	/* hop h: the list of party i goes to party (i + h) mod NP */
	for (uint16_t hop = 1; hop < NP; hop++)
	{
		for (int i = 0; i < NP; i++)
		{
			REQUIRE(sim_hop(&pt[(i + hop) % NP], hop, &pt[i].list, &pt[i].n));
			pt[i].raised++;
		}
		if (hop == 1)
		{
			/* two of three scalars: still nothing in common */
			const uint8_t *l[NP] = {pt[0].list, pt[1].list, pt[2].list};
			size_t		c[NP] = {pt[0].n, pt[1].n, pt[2].n};

			CHECK(smpc_psi_count_common(l, c, NP) == 0);
		}
	}
	{
		const uint8_t *l[NP] = {pt[0].list, pt[1].list, pt[2].list};
		size_t		c[NP] = {pt[0].n, pt[1].n, pt[2].n};

		for (int i = 0; i < NP; i++)
			CHECK(pt[i].raised == NP);
		CHECK(c[0] == 300 && c[1] == 300 && c[2] == 202);
		CHECK(smpc_psi_count_common(l, c, NP) == truth);
		/* and pairwise: parties 0 and 1 share 100..300 */
		CHECK(smpc_psi_count_common(l, c, 2) == 201);
	}

	/*
	 * The same values hashed as another key class match nothing: party 2
	 * again, its keys as text of the same 8 bytes, fully raised.
	 */
	{
		sim_party	t;
		const uint8_t *l[2];
		size_t		c[2];

		memcpy(t.k, pt[2].k, sizeof(t.k));
		REQUIRE(sim_own_set(&t, sid, SMPC_PSI_KEY_TEXT, keys[2], lens[2], nk[2]));
		REQUIRE(sim_hop(&pt[0], 1, &t.list, &t.n));
		REQUIRE(sim_hop(&pt[1], 2, &t.list, &t.n));
		l[0] = pt[0].list;
		c[0] = pt[0].n;
		l[1] = t.list;
		c[1] = t.n;
		CHECK(t.n == 202 && smpc_psi_count_common(l, c, 2) == 0);
		/* the list as integers, raised the same way, matches party 2's */
		free(t.list);
		REQUIRE(sim_own_set(&t, sid, SMPC_PSI_KEY_INTEGER, keys[2], lens[2], nk[2]));
		REQUIRE(sim_hop(&pt[1], 1, &t.list, &t.n));
		REQUIRE(sim_hop(&pt[0], 2, &t.list, &t.n));
		l[1] = t.list;
		CHECK(smpc_psi_count_common(l, c, 2) == 126);	/* evens 50..300 */
		CHECK(t.n == pt[2].n && memcmp(t.list, pt[2].list, t.n * PB) == 0);
		free(t.list);
	}
	for (int p = 0; p < NP; p++)
		free(pt[p].list);
}

const unit_case psi_cases[] = {
	{"key_hash_known_answer", test_key_hash_known_answer},
	{"key_hash_domain", test_key_hash_domain},
	{"scalar_new", test_scalar_new},
	{"hash_mult", test_hash_mult},
	{"commutativity", test_commutativity},
	{"point_mult_rejects", test_point_mult_rejects},
	{"sort_unique", test_sort_unique},
	{"check_sorted", test_check_sorted},
	{"count_common", test_count_common},
	{"points_codec", test_points_codec},
	{"hop_codec", test_hop_codec},
	{"intersect_codec", test_intersect_codec},
	{"end_to_end", test_end_to_end},
	{NULL, NULL}
};
