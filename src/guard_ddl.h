/*
 * guard_ddl.h — the DDL guard (layer 7).
 */
#ifndef TG_GUARD_DDL_H
#define TG_GUARD_DDL_H

#include "postgres.h"
#include "tcop/utility.h"

/* The next ProcessUtility (a previous hook's, or PostgreSQL's). */
typedef void (*TgUtilityNext) (PlannedStmt *pstmt, const char *queryString,
							   bool readOnlyTree, ProcessUtilityContext context,
							   ParamListInfo params, QueryEnvironment *queryEnv,
							   DestReceiver *dest, QueryCompletion *qc);

extern void tg_guard_ddl_init(void);
extern void tg_guard_utility(PlannedStmt *pstmt, const char *queryString,
							 bool readOnlyTree, ProcessUtilityContext context,
							 ParamListInfo params, QueryEnvironment *queryEnv,
							 DestReceiver *dest, QueryCompletion *qc, TgUtilityNext next);

#endif
