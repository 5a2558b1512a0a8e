/*
 * event_store.h — writing audit events (layer 3): build them with
 * tg_event_init() from an actor (tg_actor_current() of the context layer),
 * record them with tg_audit_record() (in this transaction) or
 * tg_audit_enqueue() / tg_audit_deny() (through the queue: they survive
 * rollback).
 */
#ifndef TG_EVENT_STORE_H
#define TG_EVENT_STORE_H

#include "postgres.h"
#include "access/htup.h"
#include "access/tupdesc.h"
#include "utils/relcache.h"

#include "core/ledger.h"
#include "audit_event.h"

#define TG_AUDIT_SCHEMA "tenantguard_audit"

/* Columns of tenantguard_audit.events, in table order. */
typedef enum TgEventColumn
{
	EV_ID,
	EV_OCCURRED_AT,
	EV_TENANT_ID,
	EV_CATEGORY,
	EV_ACTION,
	EV_PRINCIPAL,
	EV_DB_USER,
	EV_OBJECT,
	EV_DECISION,
	EV_REASON,
	EV_DETAILS,
	EV_OLD_ROW,
	EV_NEW_ROW,
	EV_TXID,
	EV_CLIENT_ADDR,
	EV_APPLICATION_NAME,
	EV_EVENT_HASH,
	EV_NCOLS
} TgEventColumn;


/* The events table's columns, in table order, for a SELECT list. */
extern const char *const tg_events_columns;

extern void tg_actor_session(TgActor *actor);
extern void tg_event_init(TgAuditEvent *ev, const TgActor *actor, const char *category, const char *action);
extern bool tg_audit_record(const TgAuditEvent *ev);
/* A row event of an audited table: written with its statement's batch. */
extern bool tg_audit_record_row(const TgAuditEvent *ev);
/* From the executor and utility hooks: write the statement's pending row events. */
extern void tg_events_flush(void);
/* From the utility hook: close the events table kept open by this transaction. */
extern void tg_events_release(void);
extern void tg_audit_deny(const TgActor *actor, const char *category, const char *action,
						  const char *object, const char *reason);

/* ERROR unless rel has exactly the events table's columns, in table order. */
extern void tg_events_check_shape(Relation rel);
/* Recompute a stored event's hash (columns in table order); true when it matches. */
extern bool tg_event_row_ok(HeapTuple tup, TupleDesc desc, uint8_t hash[TG_HASH_LEN], int64 *id);

#endif
