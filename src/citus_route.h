/*
 * citus_route.h — one-tenant queries routed to one Citus shard (layer 6).
 */
#ifndef TG_CITUS_ROUTE_H
#define TG_CITUS_ROUTE_H

#include "postgres.h"
#include "nodes/parsenodes.h"
#include "nodes/plannodes.h"

extern void tg_route_init(void);

/*
 * Before planning: under a tenant context, where Citus is loaded, give each
 * relation of parse whose security qual is the isolation policy the same
 * comparison with the context's tenant as a constant. True when it did.
 */
extern bool tg_route_fold(Query *parse);

/* After planning a query tg_route_fold() changed: invalidated with the context. */
extern void tg_route_mark(PlannedStmt *stmt);

#endif
