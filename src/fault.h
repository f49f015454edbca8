/*
 * fault.h
 *		Test-only fault injection points.
 *
 * smpc itself never injects a fault.  A separate test module
 * (test/modules/smpc_fault, installed only into the private tree that
 * `make test` builds, never by `make install`) fills this table through the
 * rendezvous variable SMPC_FAULT_RENDEZVOUS when it is loaded; without it
 * every hook is absent and these points cost one pointer test.
 */
#ifndef SMPC_FAULT_H
#define SMPC_FAULT_H

#include "c.h"

#define SMPC_FAULT_RENDEZVOUS "smpc_fault_hooks"

typedef struct SmpcFaultHooks
{
	/* member: a verified request of this message type is about to be handled */
	void		(*member_round) (uint8 type);
	/*
	 * member: true to answer this round dishonestly -- COMBINE commits to a
	 * wrong share-sum, REVEAL opens share-sums other than those committed
	 */
	bool		(*member_lie) (uint8 type);
	/* querying node: the dataset SQL to send members instead, or NULL */
	const char *(*dataset_sql) (void);
	/* querying node: a signed request for member "member" was built */
	void		(*request_built) (const char *member, uint8 type,
								  const uint8 *msg, size_t len);
} SmpcFaultHooks;

/* the hooks a test module installed, or NULL (normal use) */
extern SmpcFaultHooks *smpc_fault_hooks(void);

#endif							/* SMPC_FAULT_H */
