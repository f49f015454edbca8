/*
 * request.c
 *		The querying node's side of one protocol exchange: build a signed
 *		request for a member, and check the member's signed response.
 *
 * A request names its recipient by the key pinned on the member's server,
 * so a member whose key is not the pinned one refuses it; a response must
 * be signed by exactly the pinned key and echo the session id and round.
 */
#include "postgres.h"

#include <sodium.h>

#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "utils/guc.h"

#include "codec.h"
#include "messages.h"
#include "smpc.h"

/* smpc.max_message_size, in bytes */
int			smpc_max_message_size = 64 * 1024 * 1024;

/* smpc_new_session_id: 16 fresh random bytes. */
void
smpc_new_session_id(uint8 *session_id)
{
	randombytes_buf(session_id, SMPC_SESSION_ID_BYTES);
}

/*
 * smpc_build_request
 *		A signed request of the given type for member "to": the payload is
 *		the request header (federation, the current role) followed by body.
 *		Returns a palloc'd message and its length.
 */
uint8 *
smpc_build_request(uint8 type, const uint8 *session_id, uint8 round,
				   const SmpcMember *to, const char *federation,
				   const uint8 *body, size_t body_len, size_t *len_out)
{
	const smpc_identity *self = smpc_node_identity(false, NULL);
	const char *role = GetUserNameFromId(GetUserId(), false);
	smpc_request_header h;
	smpc_writer w;
	uint8	   *payload;
	size_t		payload_len;
	smpc_signed_msg m;
	uint8	   *out;
	size_t		outlen;

	h.federation.ptr = federation;
	h.federation.len = strlen(federation);
	h.initiator_role.ptr = role;
	h.initiator_role.len = strlen(role);
	smpc_writer_init(&w, (size_t) smpc_max_message_size);
	smpc_request_header_put(&w, &h);
	if (body_len > 0)
		smpc_writer_put_bytes(&w, body, body_len);
	smpc_check_core_status(smpc_writer_finish(&w, &payload, &payload_len),
						   "encode a request");

	memset(&m, 0, sizeof(m));
	m.version = SMPC_PROTOCOL_VERSION;
	m.type = type;
	memcpy(m.session_id, session_id, SMPC_SESSION_ID_BYTES);
	m.round = round;
	m.timestamp_ms = smpc_now_ms();
	memcpy(m.sender_pk, self->sign_pk, SMPC_SIGN_PK_BYTES);
	memcpy(m.recipient_pk, to->key.sign_pk, SMPC_SIGN_PK_BYTES);
	m.payload = payload;
	m.payload_len = payload_len;
	smpc_check_core_status(smpc_msg_encode_signed(&m, self, &out, &outlen),
						   "sign a request");
	if (outlen > (size_t) smpc_max_message_size)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("smpc request of %zu bytes exceeds smpc.max_message_size", outlen),
				 errhint("Raise smpc.max_message_size on every member, or ask for fewer groups.")));
	*len_out = outlen;
	return out;
}

/*
 * smpc_open_response
 *		Check a member's answer to a request: a signed RESPONSE from the key
 *		pinned for the member, to this node, for the same session and round.
 *		On success sets *payload (pointing into mc->response) and returns
 *		true.  Otherwise returns false with *why set to a message, and
 *		*key_mismatch true when the member answered with another key.
 */
/* Check a signed answer; *type gets its message type (RESPONSE or ERROR). */
static bool
OpenSigned(const SmpcMemberCall *mc, const uint8 *session_id, uint8 round,
		   const uint8 **payload, size_t *payload_len, char **why,
		   bool *key_mismatch, uint8 *type)
{
	const smpc_identity *self = smpc_node_identity(false, NULL);
	smpc_signed_msg m;
	int			rc;

	*key_mismatch = false;
	rc = smpc_msg_decode_signed(mc->response, mc->response_len,
								(size_t) smpc_max_message_size, &m);
	if (rc != SMPC_OK)
	{
		*why = psprintf("malformed response: %s", smpc_status_message(rc));
		return false;
	}
	if (memcmp(m.sender_pk, mc->member->key.sign_pk, SMPC_SIGN_PK_BYTES) != 0)
	{
		*key_mismatch = true;
		*why = pstrdup("the member answered with a key other than the pinned node_key");
		return false;
	}
	if ((rc = smpc_msg_verify(&m, mc->member->key.sign_pk)) != SMPC_OK)
	{
		*why = psprintf("invalid signature on the response: %s", smpc_status_message(rc));
		return false;
	}
	if ((m.type != SMPC_MSG_RESPONSE && m.type != SMPC_MSG_ERROR) ||
		memcmp(m.recipient_pk, self->sign_pk, SMPC_SIGN_PK_BYTES) != 0 ||
		memcmp(m.session_id, session_id, SMPC_SESSION_ID_BYTES) != 0 ||
		m.round != round)
	{
		*why = pstrdup("the response does not belong to this request");
		return false;
	}
	*payload = m.payload;
	*payload_len = m.payload_len;
	*type = m.type;
	return true;
}

/*
 * smpc_open_response
 *		Check a member's answer to a request: a signed RESPONSE from the key
 *		pinned for the member, to this node, for the same session and round.
 *		On success sets *payload (pointing into mc->response) and returns
 *		true.  Otherwise returns false with *why set to a message, and
 *		*key_mismatch true when the member answered with another key.
 */
bool
smpc_open_response(const SmpcMemberCall *mc, const uint8 *session_id, uint8 round,
				   const uint8 **payload, size_t *payload_len, char **why,
				   bool *key_mismatch)
{
	uint8		type;

	if (!OpenSigned(mc, session_id, round, payload, payload_len, why,
					key_mismatch, &type))
		return false;
	if (type != SMPC_MSG_RESPONSE)
	{
		*why = pstrdup("the member answered with an error");
		return false;
	}
	return true;
}

/*
 * smpc_open_answer
 *		The payload of a member's answer to a protocol request.  ERROR naming
 *		the member if the call failed, the answer does not verify, or the
 *		member answered with a signed ERROR message (re-raised with its
 *		SQLSTATE, message, detail and hint).
 */
const uint8 *
smpc_open_answer(const SmpcMemberCall *mc, const uint8 *session_id, uint8 round,
				 size_t *len)
{
	const uint8 *payload;
	size_t		plen;
	char	   *why;
	bool		mismatch;
	uint8		type;
	smpc_reader r;
	smpc_str	f[4];

	if (mc->response == NULL)
		smpc_raise_member_error(mc);
	if (!OpenSigned(mc, session_id, round, &payload, &plen, &why, &mismatch, &type))
		ereport(ERROR,
				(errcode(mismatch ? ERRCODE_SMPC_KEY_MISMATCH : ERRCODE_PROTOCOL_VIOLATION),
				 errmsg("member \"%s\": %s", mc->member->name, why)));
	if (type == SMPC_MSG_RESPONSE)
	{
		*len = plen;
		return payload;
	}

	smpc_reader_init(&r, payload, plen);
	for (int i = 0; i < 4; i++)
		(void) smpc_reader_get_str(&r, 4096, &f[i].ptr, &f[i].len);
	if (smpc_reader_finish(&r) != SMPC_OK || !smpc_valid_sqlstate(f[0].ptr, f[0].len))
		ereport(ERROR,
				(errcode(ERRCODE_PROTOCOL_VIOLATION),
				 errmsg("member \"%s\": malformed error answer", mc->member->name)));
	{
		char	   *msg = pg_any_to_server(pnstrdup(f[1].ptr, f[1].len), f[1].len, PG_UTF8);
		char	   *detail = f[2].len ? pg_any_to_server(pnstrdup(f[2].ptr, f[2].len), f[2].len, PG_UTF8) : NULL;
		char	   *hint = f[3].len ? pg_any_to_server(pnstrdup(f[3].ptr, f[3].len), f[3].len, PG_UTF8) : NULL;

		ereport(ERROR,
				(errcode(MAKE_SQLSTATE(f[0].ptr[0], f[0].ptr[1], f[0].ptr[2],
									   f[0].ptr[3], f[0].ptr[4])),
				 errmsg("member \"%s\": %s", mc->member->name, msg),
				 detail ? errdetail("%s", detail) : 0,
				 hint ? errhint("%s", hint) : 0));
	}
	return NULL;				/* not reached */
}
