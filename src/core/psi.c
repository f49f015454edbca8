/*
 * psi.c
 *		Private set intersection cardinality: key hashing, ristretto255
 *		exponentiation, sorted point lists, and the INTERSECT and HOP message
 *		bodies.
 *
 * See psi.h for the construction and the layouts.  The codec discipline is
 * codec.c's and protocol.c's: every count is checked against its limit
 * (SMPC_ERR_TOO_LARGE), then against what the remaining input could hold
 * (SMPC_ERR_TRUNCATED); the writers refuse (SMPC_ERR_ARG) exactly what the
 * readers reject, so whatever a reader accepts re-encodes to the same
 * bytes; a failing reader leaves its outputs zeroed.  The readers allocate
 * nothing: point lists and party keys point into the input.
 *
 * Sorting.  A member's set can hold millions of points, and every hop sorts
 * one, so smpc_psi_sort_unique is a most-significant-digit radix sort: the
 * points are scattered by their leading 16 bits into a scratch buffer, each
 * bucket is then sorted in place by a byte-wise MSD radix sort (with the
 * matching part of the input buffer as its scratch) or, when small, by
 * insertion sort, and the duplicates are dropped while copying back.  On
 * uniformly random points (what the hashed and exponentiated keys are) the
 * buckets hold about n / 65536 points each, so the work is linear.  For
 * adversarial input a byte position on which every point of a range
 * agrees costs one counting pass and no data movement, so all-equal
 * points, or points sharing a long prefix, stay cheap: the work is bounded
 * by 32 counting passes and O(n) moves per distinguishing byte.
 */
#include <string.h>
#include <sodium.h>

#include "psi.h"
#include "protocol.h"
#include "messages.h"

#define PB SMPC_PSI_POINT_BYTES

/* ranges of at most this many points are insertion-sorted */
#define INSERTION_MAX 24
/* below this many points the whole input is insertion-sorted */
#define SMALL_SORT_MAX 64
/* the first radix pass looks at the leading TOP_BITS bits */
#define TOP_BITS 16
#define TOP_BUCKETS ((size_t) 1 << TOP_BITS)

/* ----------------------------------------------------------- helpers */

static int
key_class_valid(uint8_t key_class)
{
	return key_class == SMPC_PSI_KEY_INTEGER ||
		key_class == SMPC_PSI_KEY_TEXT ||
		key_class == SMPC_PSI_KEY_UUID;
}

/* ------------------------------------------------------------ hashing */

int
smpc_psi_key_hash(const uint8_t session_id[SMPC_SESSION_ID_BYTES],
				  uint8_t key_class, const uint8_t *key, size_t len,
				  uint8_t out[SMPC_PSI_HASH_BYTES])
{
	crypto_generichash_state st;
	uint8_t		tag_len = (uint8_t) (sizeof(SMPC_PSI_DOMAIN) - 1);
	uint8_t		lenbuf[8];

	if (session_id == NULL || out == NULL || (key == NULL && len > 0))
		return SMPC_ERR_ARG;
	switch (key_class)
	{
		case SMPC_PSI_KEY_INTEGER:
			if (len != 8)
				return SMPC_ERR_ARG;
			break;
		case SMPC_PSI_KEY_UUID:
			if (len != 16)
				return SMPC_ERR_ARG;
			break;
		case SMPC_PSI_KEY_TEXT:
			break;
		default:
			return SMPC_ERR_ARG;
	}
	for (int i = 0; i < 8; i++)
		lenbuf[i] = (uint8_t) ((uint64_t) len >> (8 * i));

	if (crypto_generichash_init(&st, NULL, 0, SMPC_PSI_HASH_BYTES) != 0 ||
		crypto_generichash_update(&st, &tag_len, 1) != 0 ||
		crypto_generichash_update(&st, (const uint8_t *) SMPC_PSI_DOMAIN,
								  tag_len) != 0 ||
		crypto_generichash_update(&st, session_id, SMPC_SESSION_ID_BYTES) != 0 ||
		crypto_generichash_update(&st, &key_class, 1) != 0 ||
		crypto_generichash_update(&st, lenbuf, sizeof(lenbuf)) != 0 ||
		(len > 0 && crypto_generichash_update(&st, key, len) != 0) ||
		crypto_generichash_final(&st, out, SMPC_PSI_HASH_BYTES) != 0)
	{
		sodium_memzero(&st, sizeof(st));
		memset(out, 0, SMPC_PSI_HASH_BYTES);
		return SMPC_ERR_CRYPTO;
	}
	/* the state saw the key, which a member may not have published */
	sodium_memzero(&st, sizeof(st));
	return SMPC_OK;
}

/* -------------------------------------------------------- group arithmetic */

int
smpc_psi_scalar_new(uint8_t k[SMPC_PSI_SCALAR_BYTES])
{
	if (k == NULL)
		return SMPC_ERR_ARG;
	/* libsodium already draws a non-zero reduced scalar; do not rely on it */
	for (int attempt = 0; attempt < 8; attempt++)
	{
		crypto_core_ristretto255_scalar_random(k);
		if (!sodium_is_zero(k, SMPC_PSI_SCALAR_BYTES))
			return SMPC_OK;
	}
	sodium_memzero(k, SMPC_PSI_SCALAR_BYTES);
	return SMPC_ERR_CRYPTO;
}

int
smpc_psi_hash_mult(const uint8_t k[SMPC_PSI_SCALAR_BYTES],
				   const uint8_t hash[SMPC_PSI_HASH_BYTES],
				   uint8_t out[SMPC_PSI_POINT_BYTES])
{
	uint8_t		p[PB];
	uint8_t		q[PB];
	int			rc;

	if (k == NULL || hash == NULL || out == NULL)
		return SMPC_ERR_ARG;
	rc = crypto_core_ristretto255_from_hash(p, hash);
	if (rc == 0)
		rc = crypto_scalarmult_ristretto255(q, k, p);
	if (rc != 0)
	{
		sodium_memzero(q, sizeof(q));
		memset(out, 0, PB);
		return SMPC_ERR_CRYPTO;
	}
	memcpy(out, q, PB);
	sodium_memzero(p, sizeof(p));
	sodium_memzero(q, sizeof(q));
	return SMPC_OK;
}

int
smpc_psi_point_mult(const uint8_t k[SMPC_PSI_SCALAR_BYTES],
					const uint8_t in[SMPC_PSI_POINT_BYTES],
					uint8_t out[SMPC_PSI_POINT_BYTES])
{
	uint8_t		q[PB];

	if (k == NULL || in == NULL || out == NULL)
		return SMPC_ERR_ARG;
	/*
	 * libsodium 1.0.18 decodes ristretto255 with bit 255 masked off, so it
	 * would take in | 0x80 << 248 as a second encoding of the same element;
	 * canonical encodings have that bit clear.  Beyond that, libsodium
	 * returns -1 when in is not a canonical encoding of a group element,
	 * or when the product is the identity (in is the identity, or k is 0
	 * mod L).  The temporary makes out == in safe.
	 */
	if ((in[PB - 1] & 0x80) != 0 ||
		crypto_scalarmult_ristretto255(q, k, in) != 0)
	{
		sodium_memzero(q, sizeof(q));
		memset(out, 0, PB);
		return SMPC_ERR_MALFORMED;
	}
	memcpy(out, q, PB);
	sodium_memzero(q, sizeof(q));
	return SMPC_OK;
}

/* ------------------------------------------------------------- sorting */

/* Big-endian value of the 8 bytes at p, so integer order is memcmp order. */
static inline uint64_t
load_be64(const uint8_t *p)
{
	return ((uint64_t) p[0] << 56) | ((uint64_t) p[1] << 48) |
		((uint64_t) p[2] << 40) | ((uint64_t) p[3] << 32) |
		((uint64_t) p[4] << 24) | ((uint64_t) p[5] << 16) |
		((uint64_t) p[6] << 8) | (uint64_t) p[7];
}

/* memcmp order of two points that agree on their first d bytes */
static inline int
point_cmp_from(const uint8_t *x, const uint8_t *y, size_t d)
{
	if (d + 8 <= PB)
	{
		uint64_t	u = load_be64(x + d);
		uint64_t	v = load_be64(y + d);

		if (u != v)
			return u < v ? -1 : 1;
		d += 8;
	}
	return memcmp(x + d, y + d, PB - d);
}

/* Insertion sort of n points that agree on their first d bytes. */
static void
insertion_sort(uint8_t *a, size_t n, size_t d)
{
	uint8_t		tmp[PB];

	for (size_t i = 1; i < n; i++)
	{
		uint8_t    *cur = a + i * PB;
		size_t		j = i;

		if (point_cmp_from(cur - PB, cur, d) <= 0)
			continue;
		memcpy(tmp, cur, PB);
		while (j > 0 && point_cmp_from(a + (j - 1) * PB, tmp, d) > 0)
			j--;
		memmove(a + (j + 1) * PB, a + j * PB, (i - j) * PB);
		memcpy(a + j * PB, tmp, PB);
	}
}

/*
 * Sort the n points at a, which agree on their first d bytes, using tmp
 * (room for n points) as scratch.  Recursion depth is at most PB - d.
 */
static void
radix_sort(uint8_t *a, uint8_t *tmp, size_t n, size_t d)
{
	/* counts, then where each bucket starts, then where it ends */
	size_t		off[256];
	size_t		from;

	for (;;)
	{
		int			single = 0;

		if (n <= INSERTION_MAX)
		{
			if (d < PB)
				insertion_sort(a, n, d);
			return;
		}
		if (d >= PB)
			return;				/* all n points are equal */
		memset(off, 0, sizeof(off));
		for (size_t i = 0; i < n; i++)
			off[a[i * PB + d]]++;
		for (int b = 0; b < 256; b++)
			if (off[b] == n)
				single = 1;
		if (!single)
			break;
		d++;					/* every point has the same byte d: no move */
	}

	from = 0;
	for (int b = 0; b < 256; b++)
	{
		size_t		c = off[b];

		off[b] = from;
		from += c;
	}
	for (size_t i = 0; i < n; i++)
	{
		const uint8_t *p = a + i * PB;

		memcpy(tmp + (off[p[d]]++) * PB, p, PB);
	}
	memcpy(a, tmp, n * PB);
	from = 0;
	for (int b = 0; b < 256; b++)
	{
		if (off[b] - from > 1)
			radix_sort(a + from * PB, tmp + from * PB, off[b] - from, d + 1);
		from = off[b];
	}
}

/* Drop adjacent duplicates of n sorted points from src into dst (may be
 * equal to src); returns how many remain. */
static size_t
dedup_copy(uint8_t *dst, const uint8_t *src, size_t n)
{
	size_t		m = 0;

	for (size_t i = 0; i < n; i++)
	{
		const uint8_t *p = src + i * PB;

		if (m > 0 && memcmp(dst + (m - 1) * PB, p, PB) == 0)
			continue;
		if (dst + m * PB != p)
			memmove(dst + m * PB, p, PB);
		m++;
	}
	return m;
}

int
smpc_psi_sort_unique(uint8_t *points, size_t *n)
{
	size_t		count = 0;
	size_t	   *bucket;
	uint8_t    *scratch;

	if (n == NULL || (points == NULL && *n > 0))
		return SMPC_ERR_ARG;
	count = *n;
	if (count <= SMALL_SORT_MAX)
	{
		insertion_sort(points, count, 0);
		*n = dedup_copy(points, points, count);
		return SMPC_OK;
	}
	if (count > SIZE_MAX / PB)
		return SMPC_ERR_NOMEM;
	scratch = smpc_malloc(count * PB);
	if (scratch == NULL)
		return SMPC_ERR_NOMEM;
	bucket = smpc_malloc((TOP_BUCKETS + 1) * sizeof(size_t));
	if (bucket == NULL)
	{
		smpc_free(scratch);
		return SMPC_ERR_NOMEM;
	}

	/* scatter by the leading 16 bits into scratch */
	memset(bucket, 0, (TOP_BUCKETS + 1) * sizeof(size_t));
	for (size_t i = 0; i < count; i++)
	{
		const uint8_t *p = points + i * PB;

		bucket[(((size_t) p[0] << 8) | p[1]) + 1]++;
	}
	for (size_t b = 0; b < TOP_BUCKETS; b++)
		bucket[b + 1] += bucket[b];
	/* bucket[b] is now where bucket b starts; it advances while scattering */
	for (size_t i = 0; i < count; i++)
	{
		const uint8_t *p = points + i * PB;

		memcpy(scratch + (bucket[((size_t) p[0] << 8) | p[1]]++) * PB, p, PB);
	}
	/* bucket[b] is now where bucket b + 1 starts: sort each bucket */
	{
		size_t		from = 0;

		for (size_t b = 0; b < TOP_BUCKETS; b++)
		{
			size_t		to = bucket[b];

			if (to - from > 1)
				radix_sort(scratch + from * PB, points + from * PB, to - from, 2);
			from = to;
		}
	}
	*n = dedup_copy(points, scratch, count);

	/* the scratch copy held the set; the glue may run on secret-derived data */
	sodium_memzero(scratch, count * PB);
	smpc_free(scratch);
	smpc_free(bucket);
	return SMPC_OK;
}

int
smpc_psi_check_sorted(const uint8_t *points, size_t n)
{
	if (points == NULL && n > 0)
		return SMPC_ERR_ARG;
	for (size_t i = 1; i < n; i++)
		if (memcmp(points + (i - 1) * PB, points + i * PB, PB) >= 0)
			return SMPC_ERR_MALFORMED;
	return SMPC_OK;
}

/* ------------------------------------------------------------ counting */

/*
 * The first index i in [lo, n) with list[i] >= x, or n: exponential search
 * from lo, then binary search.  Cheap when the answer is near lo, which it
 * is in a merge of similar-sized lists.
 */
static size_t
gallop(const uint8_t *list, size_t lo, size_t n, const uint8_t *x)
{
	size_t		step = 1;
	size_t		hi;

	if (lo >= n || memcmp(list + lo * PB, x, PB) >= 0)
		return lo;
	/* invariant: list[lo] < x */
	for (;;)
	{
		if (step > n - lo - 1)
		{
			hi = n;
			break;
		}
		hi = lo + step;
		if (memcmp(list + hi * PB, x, PB) >= 0)
			break;
		lo = hi;
		step *= 2;
	}
	/* list[lo] < x, and hi == n or list[hi] >= x */
	while (hi - lo > 1)
	{
		size_t		mid = lo + (hi - lo) / 2;

		if (memcmp(list + mid * PB, x, PB) < 0)
			lo = mid;
		else
			hi = mid;
	}
	return hi;
}

size_t
smpc_psi_count_common(const uint8_t *const *lists, const size_t *counts,
					  size_t nlists)
{
	/* where each list stands; lists past the array search from 0 each time */
	size_t		pos[SMPC_MAX_PARTIES];
	size_t		drv = 0;
	size_t		di = 0;
	size_t		found = 0;

	if (lists == NULL || counts == NULL || nlists == 0)
		return 0;
	for (size_t j = 0; j < nlists; j++)
	{
		if (counts[j] == 0 || lists[j] == NULL)
			return 0;
		if (counts[j] < counts[drv])
			drv = j;
	}
	if (nlists == 1)
		return counts[0];
	memset(pos, 0, sizeof(pos));

	/*
	 * Leapfrog over the shortest list: x is its current point; each other
	 * list gallops to its first point >= x.  On a mismatch the shortest
	 * list gallops to that larger point and the round starts again.
	 */
	while (di < counts[drv])
	{
		const uint8_t *x = lists[drv] + di * PB;
		int			all = 1;

		for (size_t j = 0; j < nlists; j++)
		{
			const uint8_t *y;
			size_t		at;

			if (j == drv)
				continue;
			at = gallop(lists[j], j < SMPC_MAX_PARTIES ? pos[j] : 0, counts[j], x);
			if (j < SMPC_MAX_PARTIES)
				pos[j] = at;
			if (at == counts[j])
				return found;
			y = lists[j] + at * PB;
			if (memcmp(y, x, PB) != 0)
			{
				di = gallop(lists[drv], di + 1, counts[drv], y);
				all = 0;
				break;
			}
		}
		if (all)
		{
			found++;
			di++;
		}
	}
	return found;
}

/* --------------------------------------------------------- point lists */

int
smpc_writer_put_points(smpc_writer *w, const uint8_t *points, size_t count)
{
	if (w->status != SMPC_OK)
		return w->status;
	if ((points == NULL && count > 0) || count > UINT32_MAX ||
		count > SIZE_MAX / PB ||
		smpc_psi_check_sorted(points, count) != SMPC_OK)
		return smpc_writer_fail(w, SMPC_ERR_ARG);
	smpc_writer_put_u32(w, (uint32_t) count);
	return smpc_writer_put_bytes(w, points, count * PB);
}

int
smpc_reader_get_points(smpc_reader *r, size_t max_count,
					   const uint8_t **points, size_t *count)
{
	uint32_t	n;
	const uint8_t *p;

	if (points == NULL || count == NULL)
		return smpc_reader_fail(r, SMPC_ERR_ARG);
	*points = NULL;
	*count = 0;
	if (smpc_reader_get_u32(r, &n) != SMPC_OK)
		return r->status;
	if (n > max_count)
		return smpc_reader_fail(r, SMPC_ERR_TOO_LARGE);
	if (n > smpc_reader_remaining(r) / PB)
		return smpc_reader_fail(r, SMPC_ERR_TRUNCATED);
	if (smpc_reader_get_bytes(r, (size_t) n * PB, &p) != SMPC_OK)
		return r->status;
	if (smpc_psi_check_sorted(p, n) != SMPC_OK)
		return smpc_reader_fail(r, SMPC_ERR_MALFORMED);
	*points = p;
	*count = n;
	return SMPC_OK;
}

int
smpc_points_encode(const uint8_t *points, size_t count,
				   uint8_t **out, size_t *outlen)
{
	smpc_writer w;

	smpc_writer_init(&w, SMPC_MAX_MESSAGE_DEFAULT);
	smpc_writer_put_points(&w, points, count);
	return smpc_writer_finish(&w, out, outlen);
}

int
smpc_points_decode(const uint8_t *in, size_t len, size_t max_count,
				   const uint8_t **points, size_t *count)
{
	smpc_reader r;
	int			rc;

	if (points == NULL || count == NULL)
		return SMPC_ERR_ARG;
	smpc_reader_init(&r, in, len);
	smpc_reader_get_points(&r, max_count, points, count);
	rc = smpc_reader_finish(&r);
	if (rc != SMPC_OK)
	{
		*points = NULL;
		*count = 0;
	}
	return rc;
}

/* ------------------------------------------------------------------ HOP */

static int
hop_valid(uint16_t hop)
{
	return hop >= 1 && hop <= SMPC_MAX_PARTIES - 1;
}

int
smpc_writer_put_hop(smpc_writer *w, uint16_t hop,
					const uint8_t *points, size_t count)
{
	if (w->status != SMPC_OK)
		return w->status;
	if (!hop_valid(hop))
		return smpc_writer_fail(w, SMPC_ERR_ARG);
	smpc_writer_put_u16(w, hop);
	return smpc_writer_put_points(w, points, count);
}

int
smpc_reader_get_hop(smpc_reader *r, size_t max_count, uint16_t *hop,
					const uint8_t **points, size_t *count)
{
	uint16_t	h;
	int			rc;

	if (hop == NULL || points == NULL || count == NULL)
		return smpc_reader_fail(r, SMPC_ERR_ARG);
	*hop = 0;
	*points = NULL;
	*count = 0;
	if (smpc_reader_get_u16(r, &h) != SMPC_OK)
		return r->status;
	if (!hop_valid(h))
		return smpc_reader_fail(r, SMPC_ERR_MALFORMED);
	if (smpc_reader_get_points(r, max_count, points, count) != SMPC_OK)
		return r->status;
	if ((rc = smpc_reader_finish(r)) != SMPC_OK)
	{
		*points = NULL;
		*count = 0;
		return smpc_reader_fail(r, rc);
	}
	*hop = h;
	return SMPC_OK;
}

/* ------------------------------------------------------------ INTERSECT */

/* Validate an INTERSECT for the writer: SMPC_OK or SMPC_ERR_ARG. */
static int
check_intersect(const smpc_intersect *p)
{
	if (p == NULL ||
		smpc_session_head_check(p->nparties, p->parties, p->dataset, p->sql) != SMPC_OK)
		return SMPC_ERR_ARG;
	if (!key_class_valid(p->key_class))
		return SMPC_ERR_ARG;
	return SMPC_OK;
}

int
smpc_writer_put_intersect(smpc_writer *w, const smpc_intersect *p)
{
	int			rc;

	if (w->status != SMPC_OK)
		return w->status;
	if ((rc = check_intersect(p)) != SMPC_OK)
		return smpc_writer_fail(w, rc);
	smpc_writer_put_session_head(w, p->nparties, p->parties, p->dataset, p->sql);
	return smpc_writer_put_u8(w, p->key_class);
}

int
smpc_reader_get_intersect(smpc_reader *r, smpc_intersect *out)
{
	smpc_intersect p;
	int			rc;

	if (out == NULL)
		return smpc_reader_fail(r, SMPC_ERR_ARG);
	memset(out, 0, sizeof(*out));
	memset(&p, 0, sizeof(p));

	if (smpc_reader_get_u16(r, &p.nparties) != SMPC_OK)
		return r->status;
	/* as PREPARE: too many parties is over a limit, too few malformed */
	if (p.nparties > SMPC_MAX_PARTIES)
		return smpc_reader_fail(r, SMPC_ERR_TOO_LARGE);
	if (p.nparties < 2)
		return smpc_reader_fail(r, SMPC_ERR_MALFORMED);
	if (smpc_reader_get_bytes(r, (size_t) p.nparties * SMPC_SIGN_PK_BYTES,
							  &p.parties) != SMPC_OK)
		return r->status;
	if (smpc_party_keys_duplicate(p.parties, p.nparties))
		return smpc_reader_fail(r, SMPC_ERR_MALFORMED);
	if (smpc_reader_get_nonempty_str(r, SMPC_MAX_NAME_LEN, &p.dataset) != SMPC_OK ||
		smpc_reader_get_nonempty_str(r, SMPC_MAX_SQL_LEN, &p.sql) != SMPC_OK ||
		smpc_reader_get_u8(r, &p.key_class) != SMPC_OK)
		return r->status;
	if (!key_class_valid(p.key_class))
		return smpc_reader_fail(r, SMPC_ERR_MALFORMED);
	if ((rc = smpc_reader_finish(r)) != SMPC_OK)
		return smpc_reader_fail(r, rc);
	*out = p;
	return SMPC_OK;
}
