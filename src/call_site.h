/*
 * call_site.h — where a function was called from, for audit events that
 * stand for many calls (layer 1): the table column a reveal's argument came
 * from, or what else it was. The executor hooks tell it which statement's
 * range table is running (tg_call_site_push / tg_call_site_pop).
 */
#ifndef TG_CALL_SITE_H
#define TG_CALL_SITE_H

#include "postgres.h"
#include "fmgr.h"
#include "nodes/pg_list.h"

#define TG_SITE_OBJECT_MAX 256
#define TG_SITE_DETAILS_MAX 640

typedef struct TgCallSite
{
	uint64		id;				/* unique per resolved site in this backend */
	char		object[TG_SITE_OBJECT_MAX];	/* an event's object; "" = none */
	/* JSON object members without braces, e.g. "site": "column", ...; never a value */
	char		details[TG_SITE_DETAILS_MAX];
} TgCallSite;

/*
 * Enter a running statement (its PlannedStmt's range table); returns the
 * previous one, which tg_call_site_pop restores (also on error).
 */
extern List *tg_call_site_push(List *rtable);
extern void tg_call_site_pop(List *previous);

/*
 * The site of argument argno of the function being called: for a Var of a
 * table column, the relation and column; else the kind of expression.
 * Resolved once per call site (cached in fn_extra).
 */
extern const TgCallSite *tg_call_site_of(FunctionCallInfo fcinfo, int argno);

/* A site named by a caller (e.g. the vault): object and JSON members. */
extern void tg_call_site_named(TgCallSite *site, const char *object, const char *details);

#endif
