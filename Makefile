# Makefile for smpc, a PostgreSQL extension for federated secure analytics.
#
#   make            build the extension
#   make install    install it into the PostgreSQL named by PG_CONFIG
#   make test       install missing packages, build, install, run every suite
#   make unit       build and run the unit tests of the pure-C core
#   make fuzz       build and run the libFuzzer target (FUZZ_SECONDS=60)
#   make fuzz-corpus  regenerate the committed seed corpus of the fuzz target
#   make demo       three local organisations, joint queries checked against plaintext
#   make bench      smpc against plaintext postgres_fdw on the same three instances
#   make valgrind   pg_regress and TAP suites with every server under valgrind memcheck
#
# Built with PGXS.  PG_CONFIG defaults to Debian's PostgreSQL 15.

EXTENSION = smpc
EXTVERSION = 0.1
MODULE_big = smpc
DATA_built = smpc--$(EXTVERSION).sql
PGFILEDESC = "smpc - federated secure analytics over secret-shared aggregates"

CORE_SRCS = $(sort $(wildcard src/core/*.c))
GLUE_SRCS = $(sort $(wildcard src/*.c))
OBJS = $(GLUE_SRCS:.c=.o) $(CORE_SRCS:.c=.o)

ifndef PG_CONFIG
PG_CONFIG := $(firstword $(wildcard /usr/lib/postgresql/15/bin/pg_config) pg_config)
endif

PG_CPPFLAGS = -I$(libpq_srcdir) -Isrc -Isrc/core
PG_CFLAGS = -Wall -Wextra -Werror -Wno-unused-parameter -Wno-sign-compare \
	-Wno-missing-field-initializers -Wno-cast-function-type
SHLIB_LINK_INTERNAL = $(libpq)
SHLIB_LINK = -lsodium -lcrypto

# pg_regress suites in sql/, run against a throwaway instance by test/run.sh
REGRESS = $(patsubst sql/%.sql,%,$(sort $(wildcard sql/*.sql)))

EXTRA_CLEAN = test/unit/run_unit test/fuzz/fuzz_codec test/fuzz/make_corpus test/bench/psi_compute \
	results regression.diffs regression.out tmp_check

PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# The install script is assembled from src/sql/*.sql, in name order.
smpc--$(EXTVERSION).sql: $(sort $(wildcard src/sql/*.sql))
	cat $^ > $@

# PGXS tracks no header dependencies; every object depends on every header.
$(OBJS): $(wildcard src/*.h src/core/*.h)

# The core is plain C99 with mixed declarations; PostgreSQL's own style rule
# applies to the glue only.
$(CORE_SRCS:.c=.o): CFLAGS += -Wno-declaration-after-statement

# ---------------------------------------------------------------------------
# Unit tests and fuzzing of the pure-C core (no server needed)

UNIT_SRCS = $(sort $(wildcard test/unit/*.c))
# sanitizers catch an out-of-bounds read the assertions would miss
UNIT_CFLAGS = -std=gnu11 -O1 -g -Wall -Wextra -Werror -Isrc/core -Itest/unit \
	-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer

test/unit/run_unit: $(UNIT_SRCS) $(CORE_SRCS) $(wildcard src/core/*.h) test/unit/unit.h
	$(CC) $(UNIT_CFLAGS) -o $@ $(UNIT_SRCS) $(CORE_SRCS) -lsodium -lcrypto

.PHONY: unit fuzz fuzz-corpus test bench demo

unit: test/unit/run_unit
	test/unit/run_unit

FUZZ_CC ?= clang-14
FUZZ_SECONDS ?= 60
test/fuzz/fuzz_codec: test/fuzz/fuzz_codec.c test/fuzz/fuzz_fixtures.h $(CORE_SRCS) $(wildcard src/core/*.h)
	$(FUZZ_CC) -g -O1 -fsanitize=fuzzer,address,undefined -Isrc/core -o $@ \
		test/fuzz/fuzz_codec.c $(CORE_SRCS) -lsodium -lcrypto

# Seed corpus generator; the committed corpus in test/fuzz/corpus came from it.
test/fuzz/make_corpus: test/fuzz/make_corpus.c test/fuzz/fuzz_fixtures.h $(CORE_SRCS)
	$(CC) $(UNIT_CFLAGS) -Itest/fuzz -o $@ test/fuzz/make_corpus.c $(CORE_SRCS) -lsodium -lcrypto

fuzz: test/fuzz/fuzz_codec
	mkdir -p test/fuzz/findings
	test/fuzz/fuzz_codec -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
		-artifact_prefix=test/fuzz/findings/ test/fuzz/findings test/fuzz/corpus

# Envelopes get fresh nonces, so regenerated seeds differ bytewise; commit
# the corpus after running this.
fuzz-corpus: test/fuzz/make_corpus
	rm -rf test/fuzz/corpus
	mkdir -p test/fuzz/corpus
	test/fuzz/make_corpus test/fuzz/corpus

# The one command: see test/run.sh for what it does.
test:
	PG_CONFIG='$(PG_CONFIG)' test/run.sh

# The walk-through as a program: see test/demo.sh.
demo:
	PG_CONFIG='$(PG_CONFIG)' test/demo.sh

# Side-by-side timings: see test/bench.sh.  psi_compute is the bare
# ristretto255 arithmetic the intersection cases are compared with.
test/bench/psi_compute: test/bench/psi_compute.c
	$(CC) -std=gnu11 -O2 -Wall -Wextra -Werror -o $@ $< -lsodium -pthread

bench: test/bench/psi_compute
	PG_CONFIG='$(PG_CONFIG)' test/bench.sh

# The suites with every server process under memcheck: see test/valgrind.sh.
.PHONY: valgrind
valgrind:
	PG_CONFIG='$(PG_CONFIG)' test/valgrind.sh
