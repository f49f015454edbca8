/*
 * status.c
 *		smpc.federation_status(): is every member reachable, speaking TLS,
 *		running a compatible smpc, and holding the key we pinned?
 *
 * Every member of the chosen federations is pinged concurrently with a
 * signed PING; the member's signed answer proves it holds the pinned key.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "fmgr.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/tuplestore.h"

#include "codec.h"
#include "messages.h"
#include "smpc.h"

PG_FUNCTION_INFO_V1(smpc_federation_status);

#define STATUS_COLS 8

/*
 * smpc.federation_status(federation text DEFAULT NULL)
 *	RETURNS TABLE(federation, member, reachable, tls, version, key_matches,
 *				  rtt_ms, error)
 *		One row per member of the federation (of every federation when
 *		NULL).  Never raises for a member's failure; that goes into "error".
 */
Datum
smpc_federation_status(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	List	   *federations = NIL;
	ListCell   *lc;

	InitMaterializedSRF(fcinfo, 0);
	(void) smpc_node_identity(false, NULL);

	if (!PG_ARGISNULL(0))
		federations = list_make1(smpc_get_federation(text_to_cstring(PG_GETARG_TEXT_PP(0))));
	else
	{
		foreach(lc, smpc_list_member_servers())
		{
			ForeignServer *fs = GetForeignServerByName(lfirst(lc), false);

			if (smpc_is_federation_server(fs))
				federations = lappend(federations, smpc_get_federation(fs->servername));
		}
	}

	foreach(lc, federations)
	{
		SmpcFederation *fed = lfirst(lc);
		int			n = list_length(fed->members);
		SmpcMemberCall *calls = palloc0(sizeof(SmpcMemberCall) * (n + 1));
		uint8		session_id[SMPC_SESSION_ID_BYTES];
		uint8		body[2] = {0, 0};
		int			i = 0;
		ListCell   *lc2;

		smpc_new_session_id(session_id);
		foreach(lc2, fed->members)
		{
			calls[i].member = lfirst(lc2);
			calls[i].request = smpc_build_request(SMPC_MSG_PING, session_id, 0,
												  calls[i].member, fed->name,
												  body, 0, &calls[i].request_len);
			i++;
		}
		smpc_call_members(calls, n, fed->member_timeout_ms);

		for (i = 0; i < n; i++)
		{
			SmpcMemberCall *mc = &calls[i];
			Datum		values[STATUS_COLS];
			bool		nulls[STATUS_COLS];
			const uint8 *payload;
			size_t		plen;
			char	   *why = NULL;
			bool		mismatch = false;

			memset(nulls, 0, sizeof(nulls));
			values[0] = CStringGetTextDatum(fed->name);
			values[1] = CStringGetTextDatum(mc->member->name);
			/* reachable: a connection was made and the member answered */
			values[2] = BoolGetDatum(mc->response != NULL || mc->remote_error);
			values[3] = BoolGetDatum(mc->tls);
			nulls[3] = !(mc->response != NULL || mc->remote_error);
			nulls[4] = true;
			nulls[5] = true;
			values[6] = Float8GetDatum(mc->elapsed_ms);
			nulls[6] = mc->response == NULL;
			nulls[7] = true;

			if (mc->response == NULL)
			{
				if (mc->remote_error && mc->sqlstate &&
					strcmp(mc->sqlstate, "28S01") == 0)
				{
					values[5] = BoolGetDatum(false);
					nulls[5] = false;
				}
				values[7] = CStringGetTextDatum(mc->detail
												? psprintf("%s (%s)", mc->error, mc->detail)
												: mc->error);
				nulls[7] = false;
			}
			else if (!smpc_open_response(mc, session_id, 0, &payload, &plen, &why, &mismatch))
			{
				values[5] = BoolGetDatum(false);
				nulls[5] = false;
				values[7] = CStringGetTextDatum(why);
				nulls[7] = false;
			}
			else
			{
				smpc_ping_reply p;
				int			rc = smpc_ping_reply_decode(payload, plen, &p);

				values[5] = BoolGetDatum(true);
				nulls[5] = false;
				if (rc == SMPC_OK)
				{
					values[4] = CStringGetTextDatum(psprintf("smpc %.*s (protocol %d), node \"%.*s\"",
															 (int) p.extension_version.len,
															 p.extension_version.ptr,
															 SMPC_PROTOCOL_VERSION,
															 (int) p.node_name.len,
															 p.node_name.ptr));
					nulls[4] = false;
				}
				else
				{
					values[7] = CStringGetTextDatum(psprintf("malformed ping reply: %s",
															 smpc_status_message(rc)));
					nulls[7] = false;
				}
			}
			tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		}
	}
	return (Datum) 0;
}
