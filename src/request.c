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
bool
smpc_open_response(const SmpcMemberCall *mc, const uint8 *session_id, uint8 round,
				   const uint8 **payload, size_t *payload_len, char **why,
				   bool *key_mismatch)
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
	if (m.type != SMPC_MSG_RESPONSE ||
		memcmp(m.recipient_pk, self->sign_pk, SMPC_SIGN_PK_BYTES) != 0 ||
		memcmp(m.session_id, session_id, SMPC_SESSION_ID_BYTES) != 0 ||
		m.round != round)
	{
		*why = pstrdup("the response does not belong to this request");
		return false;
	}
	*payload = m.payload;
	*payload_len = m.payload_len;
	return true;
}
