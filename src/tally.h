/*
 * tally.h — audit events counted per statement (layer 5): many occurrences
 * of one event in one statement (a reveal per row, an authorization
 * decision per row of a policy) become one event that carries the count,
 * and a rollback cannot erase them.
 *
 * A kind of tallied event says how its events look and where they go:
 * written in the caller's transaction, with a summary through the queue of
 * what an aborted (sub)transaction counted (reveals), or always through the
 * queue (decisions: they survive every rollback and never make a read
 * write). Occurrences with the same key -- kind, actor, tenant, object,
 * details and variant -- in one statement are one event.
 */
#ifndef TG_TALLY_H
#define TG_TALLY_H

#include "postgres.h"

#include "call_site.h"

/* A kind of tallied event. */
typedef struct TgTallyKind
{
	const char *category;		/* of its events */
	const char *action;
	const char *count_member;	/* the details member that holds the count */
	/* the details member that holds the variant; NULL: the variant is the decision */
	const char *variant_member;
	/* every event through the queue; else in the transaction (see above) */
	bool		queued;
	/*
	 * In a read-only transaction, the first occurrence of a statement is
	 * recorded at once (tg_audit_record: 53400 when the queue has no room),
	 * so that an occurrence that cannot be audited is refused.
	 */
	bool		announce;
	const char *rolled_back_reason; /* reason of a rolled-back summary */
} TgTallyKind;

#define TG_TALLY_VARIANT_MAX 16
#define TG_TALLY_NOTE_MAX 320
#define TG_TALLY_REASON_MAX 64

/* One occurrence. */
typedef struct TgTallyItem
{
	/*
	 * The caller's call site: the same id (in one kind) always comes with the
	 * same object, details and variant, so the last entry is found again
	 * without comparing them. Ids come from TgCallSite or tg_tally_site_id().
	 */
	uint64		site_id;
	const uint8_t *tenant;		/* the event's tenant; NULL: the context's */
	const char *variant;		/* e.g. "text" / "bytea", "allow" / "deny" */
	const char *object;			/* "" = none */
	const char *details;		/* JSON object members without braces, "" = none */
	/*
	 * Of a statement's first occurrence only, not part of the key: more JSON
	 * object members, written into buf by note(note_arg, ...) when needed
	 * (NULL = none), and the reason (NULL = none).
	 */
	void		(*note) (const void *note_arg, char *buf, size_t size);
	const void *note_arg;
	const char *reason;
} TgTallyItem;

/* Count one occurrence (see TgTallyKind for when it is written). */
extern void tg_tally_count(const TgTallyKind *kind, const TgTallyItem *item);

/* A fresh call site id for tg_tally_count(), unique in this backend. */
extern uint64 tg_tally_site_id(void);

/* From the executor and utility hooks: the outermost statement ended. */
extern void tg_tally_statement_end(void);

#endif
