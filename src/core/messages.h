/*
 * messages.h
 *		Payloads of the smpc protocol messages: what travels inside a signed
 *		message (codec.h) for each message type.
 *
 * Every request payload starts with a request header (federation name and
 * the role the initiator claims to act for); the body after it depends on
 * the message type.  Decoders are strict: counts and lengths are bounded by
 * the SMPC_MAX_* limits below, strings are NUL-free, and trailing bytes are
 * an error.  Decoded strings point into the input buffer.
 */
#ifndef SMPC_MESSAGES_H
#define SMPC_MESSAGES_H

#include <stdint.h>
#include <stddef.h>

#include "codec.h"

#define SMPC_MAX_NAME_LEN 63		/* node, federation, dataset, column names */
#define SMPC_MAX_ROLE_LEN 63
#define SMPC_MAX_TYPE_LEN 255		/* format_type() output */
#define SMPC_MAX_VERSION_LEN 63
#define SMPC_MAX_DATASETS 1024		/* per DESCRIBE */
#define SMPC_MAX_COLUMNS 1600		/* PostgreSQL's MaxHeapAttributeNumber */

/* The header every request payload begins with. */
typedef struct smpc_request_header
{
	smpc_str	federation;
	smpc_str	initiator_role;
} smpc_request_header;

/*
 * smpc_request_header_put / _get: write or read the request header.
 * get fails with SMPC_ERR_MALFORMED on an empty federation name and with
 * SMPC_ERR_TOO_LARGE on names longer than the limits.
 */
extern int	smpc_request_header_put(smpc_writer *w, const smpc_request_header *h);
extern int	smpc_request_header_get(smpc_reader *r, smpc_request_header *h);

/* PING response: who answers, and which software it runs. */
typedef struct smpc_ping_reply
{
	smpc_str	node_name;
	smpc_str	extension_version;
} smpc_ping_reply;

extern int	smpc_ping_reply_encode(const smpc_ping_reply *p,
								   uint8_t **out, size_t *outlen);
extern int	smpc_ping_reply_decode(const uint8_t *in, size_t len,
								   smpc_ping_reply *p);

/*
 * DESCRIBE request body: the dataset names asked for (count 0 = all the
 * member publishes to this federation), as a string list.
 */

/* One published column as a member describes it. */
typedef struct smpc_column_desc
{
	smpc_str	name;
	smpc_str	type_name;		/* format_type_with_typemod() text */
	uint8_t		group_policy;	/* 'n', 'p' or 'r' */
} smpc_column_desc;

typedef struct smpc_dataset_desc
{
	smpc_str	name;
	uint16_t	ncolumns;
	smpc_column_desc *columns;	/* allocated with smpc_malloc by decode */
} smpc_dataset_desc;

/*
 * DESCRIBE response: u16 dataset count, then per dataset its name, u16
 * column count and per column name, type name and policy byte.
 * smpc_describe_reply_decode allocates *datasets (and each columns array)
 * with smpc_malloc; free them with smpc_describe_reply_free.
 */
extern int	smpc_describe_reply_encode(const smpc_dataset_desc *datasets,
									   size_t count,
									   uint8_t **out, size_t *outlen);
extern int	smpc_describe_reply_decode(const uint8_t *in, size_t len,
									   smpc_dataset_desc **datasets,
									   size_t *count);
extern void smpc_describe_reply_free(smpc_dataset_desc *datasets, size_t count);

#endif
