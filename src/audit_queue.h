/*
 * audit_queue.h — the shared-memory queue of audit events that the ledger
 * worker writes in its own transaction (layer 2): refusals, which must
 * survive the caller's rollback, events of read-only transactions and
 * summaries of rolled-back reveals. Shared fairly per role, database and
 * kind of event; what does not fit is counted.
 */
#ifndef TG_AUDIT_QUEUE_H
#define TG_AUDIT_QUEUE_H

#include "postgres.h"
#include "nodes/pg_list.h"

#include "audit_event.h"

/* A queued event as the worker writes it (count: identical ones coalesced). */
typedef struct TgQueuedEvent
{
	uint64		seq;			/* identifies this event while it is queued */
	int64		count;			/* occurrences: 1 + identical ones coalesced into it */
	int64		taken;			/* occurrences a ledger worker is writing now */
	TimestampTz occurred_at;	/* the first occurrence */
	TimestampTz last_at;		/* the last occurrence */
	TimestampTz next_first_at;	/* the first occurrence after a worker took it */
	bool		has_tenant;
	pg_uuid_t	tenant;
	char		category[16];
	char		action[64];
	char		decision[8];
	char		principal[256];
	char		db_user[NAMEDATALEN];
	char		object[256];
	char		reason[256];
	char		details[1024];
	char		client_addr[64];
	char		application_name[NAMEDATALEN];
} TgQueuedEvent;

/* Events of one actor (or of a database) that found no room in the queue. */
typedef struct TgDropEntry
{
	bool		used;
	Oid			dboid;
	Oid			roleid;			/* InvalidOid: roles that found no entry of their own */
	uint64		gen;			/* identifies this entry while it is used */
	int64		dropped;
	int64		refusals;		/* how many of them were refusals */
	int64		taken_dropped;	/* the part a ledger worker is writing now */
	int64		taken_refusals;
	TimestampTz first_at;
	TimestampTz last_at;
	TimestampTz next_first_at;	/* the first drop after a worker took it */
	char		db_user[NAMEDATALEN];	/* the (first) role's name, if known */
} TgDropEntry;

#define TG_DROP_ENTRIES 128

/* What a ledger worker took from the queue, to free once it is committed. */
typedef struct TgTaken
{
	int			n;
	int		   *slot;
	uint64	   *seq;
	TgQueuedEvent *events;		/* copies of the taken events */
	int			ndrops;
	int			drop[TG_DROP_ENTRIES];
	uint64		gen[TG_DROP_ENTRIES];
	TgDropEntry drops[TG_DROP_ENTRIES]; /* copies of the taken drop entries */
} TgTaken;

extern void tg_audit_queue_init(void);
extern void tg_audit_queue_shmem_request(void);
extern void tg_audit_queue_shmem_startup(void);
extern int	tg_audit_queue_role_limit(void);

/* Queue an event (any decision); never raises an error; false when not queued. */
extern bool tg_audit_enqueue(const TgAuditEvent *ev);
/* The same, but when there is no room: false, nothing counted, no warning. */
extern bool tg_audit_enqueue_if_room(const TgAuditEvent *ev);

/* For the ledger workers. */
extern void tg_queue_set_launcher(void);
extern void tg_queue_take(TgTaken *taken);
extern void tg_queue_release(const TgTaken *taken);
extern bool tg_queue_has(Oid dboid);
extern void tg_queue_discard(Oid dboid);
extern void tg_queue_forget_gone(List *(*list_databases) (void));
extern uint64 tg_queue_take_unattributed(void);

#endif
