/*
 * audit_event.h — what an audit event is (types only, no functions): shared
 * by the queue (layer 2), the event store (layer 3) and everything above.
 */
#ifndef TG_AUDIT_EVENT_H
#define TG_AUDIT_EVENT_H

#include "postgres.h"
#include "utils/timestamp.h"
#include "utils/uuid.h"

#include "core/context_value.h"

/*
 * Who acted, and in which tenant. Built complete by the caller, normally
 * with tg_actor_current() of the context layer; the event store and the
 * queue take it as it is. Empty strings mean "none".
 */
typedef struct TgActor
{
	bool		has_tenant;
	pg_uuid_t	tenant;
	char		principal[TG_CTX_PRINCIPAL_MAX + 1];
	char		db_user[NAMEDATALEN];
	char		client_addr[64];
} TgActor;

/* One audit event; start one with tg_event_init(). */
typedef struct TgAuditEvent
{
	TimestampTz occurred_at;	/* 0 = now */
	TgActor		actor;
	const char *category;
	const char *action;
	const char *object;
	const char *decision;		/* allow | deny */
	const char *reason;
	const char *details_json;	/* a JSON object, or NULL for {} */
	const char *application_name;	/* NULL = this session's */
	Datum		old_row;		/* jsonb or 0 */
	Datum		new_row;		/* jsonb or 0 */
} TgAuditEvent;

#endif
