/*
 * commit.h
 *		Hash commitments: bind a party to a value now, reveal it later.
 *
 * commitment = BLAKE2b-256( "smpc-commit-v1" || opening || le64(len) || value )
 * with a fresh uniformly random 32-byte opening.  The random opening hides
 * the value; the length prefix and fixed-size opening make the encoding of
 * (opening, value) unambiguous, so the commitment binds.
 */
#ifndef SMPC_COMMIT_H
#define SMPC_COMMIT_H

#include <stdint.h>
#include <stddef.h>

#include "status.h"

#define SMPC_COMMIT_BYTES 32
#define SMPC_COMMIT_OPENING_BYTES 32

/*
 * smpc_commit: commit to value[0..len).  Draws a fresh random opening into
 * opening and writes the commitment.  Keep the opening secret until reveal.
 * Caller guarantees: value may be NULL only when len == 0.
 * Returns SMPC_OK, SMPC_ERR_ARG for NULL, SMPC_ERR_CRYPTO on hash failure
 * (both outputs are then zeroed).
 */
extern int	smpc_commit(const uint8_t *value, size_t len,
						uint8_t opening[SMPC_COMMIT_OPENING_BYTES],
						uint8_t commitment[SMPC_COMMIT_BYTES]);

/*
 * smpc_commit_verify: check that (opening, value) opens commitment.
 * Returns SMPC_OK if it does, SMPC_ERR_AUTH if not (constant-time compare),
 * SMPC_ERR_ARG for NULL, SMPC_ERR_CRYPTO on hash failure.
 */
extern int	smpc_commit_verify(const uint8_t commitment[SMPC_COMMIT_BYTES],
							   const uint8_t opening[SMPC_COMMIT_OPENING_BYTES],
							   const uint8_t *value, size_t len);

#endif
