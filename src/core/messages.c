/*
 * messages.c
 *		Encoding and strict decoding of the smpc protocol payloads.
 *
 * See messages.h for the layouts.  The framing, signatures and primitive
 * reads are codec.c's; this file only arranges fields.
 */
#include <string.h>

#include "messages.h"

/* Read a non-empty name of at most max bytes. */
static int
get_name(smpc_reader *r, size_t max, smpc_str *s)
{
	int			rc = smpc_reader_get_str(r, max, &s->ptr, &s->len);

	if (rc != SMPC_OK)
		return rc;
	if (s->len == 0)
		return SMPC_ERR_MALFORMED;
	return SMPC_OK;
}

int
smpc_request_header_put(smpc_writer *w, const smpc_request_header *h)
{
	smpc_writer_put_str(w, h->federation.ptr, h->federation.len);
	return smpc_writer_put_str(w, h->initiator_role.ptr, h->initiator_role.len);
}

int
smpc_request_header_get(smpc_reader *r, smpc_request_header *h)
{
	int			rc = get_name(r, SMPC_MAX_NAME_LEN, &h->federation);

	if (rc != SMPC_OK)
		return rc;
	return get_name(r, SMPC_MAX_ROLE_LEN, &h->initiator_role);
}

int
smpc_ping_reply_encode(const smpc_ping_reply *p, uint8_t **out, size_t *outlen)
{
	smpc_writer w;

	smpc_writer_init(&w, SMPC_MAX_MESSAGE_DEFAULT);
	smpc_writer_put_str(&w, p->node_name.ptr, p->node_name.len);
	smpc_writer_put_str(&w, p->extension_version.ptr, p->extension_version.len);
	return smpc_writer_finish(&w, out, outlen);
}

int
smpc_ping_reply_decode(const uint8_t *in, size_t len, smpc_ping_reply *p)
{
	smpc_reader r;
	int			rc;

	smpc_reader_init(&r, in, len);
	if ((rc = get_name(&r, SMPC_MAX_NAME_LEN, &p->node_name)) != SMPC_OK)
		return rc;
	if ((rc = get_name(&r, SMPC_MAX_VERSION_LEN, &p->extension_version)) != SMPC_OK)
		return rc;
	return smpc_reader_finish(&r);
}

int
smpc_describe_reply_encode(const smpc_dataset_desc *datasets, size_t count,
						   uint8_t **out, size_t *outlen)
{
	smpc_writer w;

	if (count > SMPC_MAX_DATASETS)
		return SMPC_ERR_TOO_LARGE;
	smpc_writer_init(&w, SMPC_MAX_MESSAGE_DEFAULT);
	smpc_writer_put_u16(&w, (uint16_t) count);
	for (size_t i = 0; i < count; i++)
	{
		const smpc_dataset_desc *d = &datasets[i];

		if (d->ncolumns > SMPC_MAX_COLUMNS)
		{
			smpc_writer_discard(&w);
			return SMPC_ERR_TOO_LARGE;
		}
		smpc_writer_put_str(&w, d->name.ptr, d->name.len);
		smpc_writer_put_u16(&w, d->ncolumns);
		for (size_t c = 0; c < d->ncolumns; c++)
		{
			smpc_writer_put_str(&w, d->columns[c].name.ptr, d->columns[c].name.len);
			smpc_writer_put_str(&w, d->columns[c].type_name.ptr,
								d->columns[c].type_name.len);
			smpc_writer_put_u8(&w, d->columns[c].group_policy);
		}
	}
	return smpc_writer_finish(&w, out, outlen);
}

void
smpc_describe_reply_free(smpc_dataset_desc *datasets, size_t count)
{
	if (datasets == NULL)
		return;
	for (size_t i = 0; i < count; i++)
		if (datasets[i].columns)
			smpc_free(datasets[i].columns);
	smpc_free(datasets);
}

int
smpc_describe_reply_decode(const uint8_t *in, size_t len,
						   smpc_dataset_desc **datasets_out, size_t *count_out)
{
	smpc_reader r;
	uint16_t	count;
	smpc_dataset_desc *ds;
	int			rc;

	*datasets_out = NULL;
	*count_out = 0;
	smpc_reader_init(&r, in, len);
	if ((rc = smpc_reader_get_u16(&r, &count)) != SMPC_OK)
		return rc;
	if (count > SMPC_MAX_DATASETS)
		return SMPC_ERR_TOO_LARGE;
	/* each dataset needs at least 4 + 1 + 2 bytes: refuse impossible counts */
	if ((size_t) count * 7 > smpc_reader_remaining(&r))
		return SMPC_ERR_TRUNCATED;
	ds = smpc_malloc(sizeof(smpc_dataset_desc) * (count ? count : 1));
	if (ds == NULL)
		return SMPC_ERR_NOMEM;
	memset(ds, 0, sizeof(smpc_dataset_desc) * (count ? count : 1));

	for (size_t i = 0; i < count; i++)
	{
		uint16_t	ncol;

		if ((rc = get_name(&r, SMPC_MAX_NAME_LEN, &ds[i].name)) != SMPC_OK)
			goto fail;
		if ((rc = smpc_reader_get_u16(&r, &ncol)) != SMPC_OK)
			goto fail;
		if (ncol == 0 || ncol > SMPC_MAX_COLUMNS)
		{
			rc = ncol == 0 ? SMPC_ERR_MALFORMED : SMPC_ERR_TOO_LARGE;
			goto fail;
		}
		/* each column needs at least 4 + 1 + 4 + 1 + 1 bytes */
		if ((size_t) ncol * 11 > smpc_reader_remaining(&r))
		{
			rc = SMPC_ERR_TRUNCATED;
			goto fail;
		}
		ds[i].columns = smpc_malloc(sizeof(smpc_column_desc) * ncol);
		if (ds[i].columns == NULL)
		{
			rc = SMPC_ERR_NOMEM;
			goto fail;
		}
		ds[i].ncolumns = ncol;
		for (size_t c = 0; c < ncol; c++)
		{
			smpc_column_desc *col = &ds[i].columns[c];

			if ((rc = get_name(&r, SMPC_MAX_NAME_LEN, &col->name)) != SMPC_OK ||
				(rc = get_name(&r, SMPC_MAX_TYPE_LEN, &col->type_name)) != SMPC_OK ||
				(rc = smpc_reader_get_u8(&r, &col->group_policy)) != SMPC_OK)
				goto fail;
			if (col->group_policy != 'n' && col->group_policy != 'p' &&
				col->group_policy != 'r')
			{
				rc = SMPC_ERR_MALFORMED;
				goto fail;
			}
		}
	}
	if ((rc = smpc_reader_finish(&r)) != SMPC_OK)
		goto fail;
	*datasets_out = ds;
	*count_out = count;
	return SMPC_OK;

fail:
	smpc_describe_reply_free(ds, count);
	return rc;
}
