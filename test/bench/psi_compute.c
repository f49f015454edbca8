/*
 * psi_compute.c
 *		The compute-bound baseline of `make bench`'s private set intersection
 *		cases: the bare ristretto255 arithmetic the protocol needs, on all
 *		online CPUs of this machine, with no database, messages or sorting.
 *
 *	usage: psi_compute MULTS HASHES
 *
 * Phase 1 performs MULTS calls of crypto_scalarmult_ristretto255 (a
 * party raising a point to its secret scalar: every key of every party is
 * raised once by every party's scalar, so MULTS = n * sum of the set sizes).
 * Phase 2 performs HASHES hash-to-group operations (one per key of every
 * party): BLAKE2b-512 over an input shaped like the protocol's key hash,
 * then crypto_core_ristretto255_from_hash.
 *
 * Each phase splits its count evenly over one thread per online CPU
 * (sysconf(_SC_NPROCESSORS_ONLN)) and is timed from a common start barrier
 * to the last thread's end (CLOCK_MONOTONIC wall time).  The inputs are
 * prepared before the start: valid group elements, from_hash of random
 * bytes, and random non-zero scalars, so no phase multiplies a degenerate
 * point.  Every result is checked (scalarmult refuses an identity result),
 * and folded into a checksum that is printed so the work cannot be dropped.
 *
 * Each thread also reads its own CPU time (CLOCK_THREAD_CPUTIME_ID); their
 * sum over the thread count is what the phase would take on an otherwise
 * idle machine, which the wall time on a shared one can exceed.
 *
 * Output (for test/bench.sh):
 *	workers <threads>
 *	scalarmult <count> <wall seconds> <CPU seconds, all threads>
 *	hash <count> <wall seconds> <CPU seconds, all threads>
 *	checksum <hex>
 *
 * Exit status 0 on success, 1 on a usage or libsodium failure.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

/* distinct input points per thread: enough not to be a toy, cache-resident */
#define POOL 4096

typedef struct worker
{
	pthread_t	thread;
	uint64_t	count;			/* operations this thread performs */
	uint64_t	first;			/* global index of its first operation */
	int			phase;			/* 1 scalarmult, 2 hash-to-group */
	unsigned char (*points)[crypto_core_ristretto255_BYTES];	/* POOL inputs */
	unsigned char scalar[crypto_core_ristretto255_SCALARBYTES];
	unsigned char session[16];
	unsigned char fold[crypto_core_ristretto255_BYTES];		/* XOR of outputs */
	double		cpu;			/* CPU seconds of this thread in the phase */
	int			failed;
} worker;

static pthread_barrier_t start_barrier;

static double
clock_seconds(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

static void
fold_in(unsigned char *fold, const unsigned char *p)
{
	for (int i = 0; i < crypto_core_ristretto255_BYTES; i++)
		fold[i] ^= p[i];
}

static void
run_scalarmult(worker *w)
{
	unsigned char out[crypto_core_ristretto255_BYTES];

	for (uint64_t i = 0; i < w->count; i++)
	{
		if (crypto_scalarmult_ristretto255(out, w->scalar, w->points[i % POOL]) != 0)
		{
			w->failed = 1;
			return;
		}
		fold_in(w->fold, out);
	}
}

/*
 * The protocol's key hash (see src/core/psi.h): BLAKE2b-512 over
 * u8 len || domain || session id || u8 key class || u64 key length || key,
 * here with 8-byte integer keys, then the map to the group.
 */
static void
run_hash(worker *w)
{
	static const char domain[] = "smpc-psi-v1";
	unsigned char in[1 + sizeof(domain) - 1 + 16 + 1 + 8 + 8];
	unsigned char h[crypto_core_ristretto255_HASHBYTES];
	unsigned char out[crypto_core_ristretto255_BYTES];
	size_t		off = 0;

	in[off++] = (unsigned char) (sizeof(domain) - 1);
	memcpy(in + off, domain, sizeof(domain) - 1);
	off += sizeof(domain) - 1;
	memcpy(in + off, w->session, 16);
	off += 16;
	in[off++] = 1;				/* integer key class */
	memset(in + off, 0, 8);
	in[off] = 8;				/* u64 length 8, little-endian */
	off += 8;
	for (uint64_t i = 0; i < w->count; i++)
	{
		uint64_t	key = w->first + i;

		for (int b = 0; b < 8; b++)
			in[off + b] = (unsigned char) (key >> (8 * b));
		crypto_generichash(h, sizeof(h), in, sizeof(in), NULL, 0);
		crypto_core_ristretto255_from_hash(out, h);
		fold_in(w->fold, out);
	}
}

static void *
worker_main(void *arg)
{
	worker	   *w = arg;
	double		c0;

	pthread_barrier_wait(&start_barrier);
	c0 = clock_seconds(CLOCK_THREAD_CPUTIME_ID);
	if (w->phase == 1)
		run_scalarmult(w);
	else
		run_hash(w);
	w->cpu = clock_seconds(CLOCK_THREAD_CPUTIME_ID) - c0;
	return NULL;
}

static int
parse_count(const char *s, uint64_t *out)
{
	char	   *end;

	errno = 0;
	if (*s < '0' || *s > '9')
		return -1;
	*out = strtoull(s, &end, 10);
	return (errno != 0 || *end != '\0') ? -1 : 0;
}

/*
 * Runs one phase on every worker; returns its wall time in seconds, < 0 on
 * failure, and the CPU seconds of all workers in *cpu.
 */
static double
run_phase(worker *ws, int nworkers, int phase, uint64_t total, double *cpu)
{
	uint64_t	first = 0;
	double		t0,
				t1;

	for (int i = 0; i < nworkers; i++)
	{
		ws[i].phase = phase;
		ws[i].count = total / nworkers + ((uint64_t) i < total % nworkers ? 1 : 0);
		ws[i].first = first;
		first += ws[i].count;
	}
	if (pthread_barrier_init(&start_barrier, NULL, nworkers + 1) != 0)
		return -1;
	for (int i = 0; i < nworkers; i++)
		if (pthread_create(&ws[i].thread, NULL, worker_main, &ws[i]) != 0)
		{
			fprintf(stderr, "psi_compute: pthread_create failed\n");
			exit(1);
		}
	pthread_barrier_wait(&start_barrier);
	t0 = clock_seconds(CLOCK_MONOTONIC);
	for (int i = 0; i < nworkers; i++)
		pthread_join(ws[i].thread, NULL);
	t1 = clock_seconds(CLOCK_MONOTONIC);
	pthread_barrier_destroy(&start_barrier);
	*cpu = 0;
	for (int i = 0; i < nworkers; i++)
	{
		if (ws[i].failed)
			return -1;
		*cpu += ws[i].cpu;
	}
	return t1 - t0;
}

int
main(int argc, char **argv)
{
	uint64_t	mults,
				hashes;
	long		ncpu;
	int			nworkers;
	worker	   *ws;
	double		t_mult,
				t_hash,
				c_mult,
				c_hash;
	unsigned char fold[crypto_core_ristretto255_BYTES] = {0};

	if (argc != 3 || parse_count(argv[1], &mults) != 0 || parse_count(argv[2], &hashes) != 0)
	{
		fprintf(stderr, "usage: psi_compute MULTS HASHES\n");
		return 1;
	}
	if (sodium_init() < 0)
	{
		fprintf(stderr, "psi_compute: sodium_init failed\n");
		return 1;
	}
	ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	nworkers = ncpu < 1 ? 1 : (int) ncpu;

	/* inputs, outside the timed part */
	ws = calloc(nworkers, sizeof(worker));
	if (ws == NULL)
		return 1;
	for (int i = 0; i < nworkers; i++)
	{
		unsigned char r[crypto_core_ristretto255_HASHBYTES];

		ws[i].points = malloc((size_t) POOL * crypto_core_ristretto255_BYTES);
		if (ws[i].points == NULL)
			return 1;
		for (int j = 0; j < POOL; j++)
		{
			randombytes_buf(r, sizeof(r));
			crypto_core_ristretto255_from_hash(ws[i].points[j], r);
			if (crypto_core_ristretto255_is_valid_point(ws[i].points[j]) != 1)
			{
				fprintf(stderr, "psi_compute: from_hash gave an invalid point\n");
				return 1;
			}
		}
		/* a zero scalar would make every product the identity */
		do
			crypto_core_ristretto255_scalar_random(ws[i].scalar);
		while (sodium_is_zero(ws[i].scalar, sizeof(ws[i].scalar)));
		randombytes_buf(ws[i].session, sizeof(ws[i].session));
	}

	t_mult = run_phase(ws, nworkers, 1, mults, &c_mult);
	if (t_mult < 0)
	{
		fprintf(stderr, "psi_compute: crypto_scalarmult_ristretto255 failed\n");
		return 1;
	}
	t_hash = run_phase(ws, nworkers, 2, hashes, &c_hash);
	if (t_hash < 0)
	{
		fprintf(stderr, "psi_compute: hash-to-group failed\n");
		return 1;
	}

	for (int i = 0; i < nworkers; i++)
		fold_in(fold, ws[i].fold);
	printf("workers %d\n", nworkers);
	printf("scalarmult %" PRIu64 " %.3f %.3f\n", mults, t_mult, c_mult);
	printf("hash %" PRIu64 " %.3f %.3f\n", hashes, t_hash, c_hash);
	printf("checksum ");
	for (int i = 0; i < 8; i++)
		printf("%02x", fold[i]);
	printf("\n");
	for (int i = 0; i < nworkers; i++)
		free(ws[i].points);
	free(ws);
	return 0;
}
