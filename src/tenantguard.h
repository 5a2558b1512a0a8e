/*
 * tenantguard.h — declarations shared by the PostgreSQL glue files.
 */
#ifndef TENANTGUARD_H
#define TENANTGUARD_H

#include "postgres.h"
#include "nodes/pg_list.h"
#include "utils/uuid.h"
#include "utils/timestamp.h"

#include "core/context_value.h"

#define TG_SCHEMA "tenantguard"
#define TG_POLICY_NAME "tenantguard_isolation"

/* settings (tenantguard.c) */
extern bool tg_require_context;
extern bool tg_ddl_guard;
extern bool tg_preloaded;
extern int	tg_audit_decisions;

#define TG_AUDIT_DECISIONS_NONE 0
#define TG_AUDIT_DECISIONS_DENY 1
#define TG_AUDIT_DECISIONS_ALL 2

/* The context in force for the current statement (context.c). */
typedef struct TgEffectiveContext
{
	bool		has;
	pg_uuid_t	tenant;
	char		scope;			/* 'L' transaction, 'S' session, 'B' bound role */
	TimestampTz expires;		/* 0 = none */
	char		role[TG_CTX_ROLE_MAX + 1];
	char		principal[TG_CTX_PRINCIPAL_MAX + 1];
} TgEffectiveContext;

/* privileged.c: privileged SQL runs with search_path pinned */
extern int	tg_search_path_pin(void);
extern void tg_search_path_restore(int level);
extern int	tg_spi_begin(void);
extern void tg_spi_end(int level);
extern void tg_begin_as(Oid role, Oid *save_user, int *save_sec);
extern void tg_end_as(Oid save_user, int save_sec);

/* context.c */
extern void tg_context_define_settings(void);
extern const TgEffectiveContext *tg_effective_context(void);
extern void tg_context_invalidate(void);
extern void tg_context_enter(const tg_context_value *value, bool is_local);
extern void tg_context_check_entry(const pg_uuid_t *tenant);
extern void tg_context_enter_nested(const pg_uuid_t *tenant);

/* cache.c */
typedef struct TgBinding
{
	Oid			role;
	pg_uuid_t	tenant;
	char		tenant_role[TG_CTX_ROLE_MAX + 1];
} TgBinding;

typedef enum TgTenantStatus
{
	TG_TENANT_UNKNOWN = 0,
	TG_TENANT_ACTIVE,
	TG_TENANT_SUSPENDED
} TgTenantStatus;

extern void tg_cache_init(void);
extern bool tg_extension_present(void);
extern bool tg_is_protected(Oid relid, char *tenant_column);
extern bool tg_lookup_binding(Oid role, TgBinding *out);
extern TgTenantStatus tg_lookup_tenant(const pg_uuid_t *tenant, char **slug);
extern List *tg_tenant_ids(void);

/* secrets.c */
extern void tg_secrets_init(void);
extern const uint8_t *tg_master_key_bytes(void);

/* One audit event; NULL fields are filled from the context and session. */
typedef struct TgAuditEvent
{
	TimestampTz occurred_at;	/* 0 = now */
	bool		has_tenant;		/* else the context's tenant, if any */
	bool		no_tenant;		/* concerns no single tenant: leave tenant_id NULL */
	pg_uuid_t	tenant;
	const char *category;
	const char *action;
	const char *object;
	const char *decision;		/* allow | deny */
	const char *reason;
	const char *details_json;	/* a JSON object, or NULL for {} */
	const char *principal;		/* NULL = the context's principal */
	const char *db_user;		/* NULL = session user */
	const char *client_addr;	/* NULL = this connection's */
	const char *application_name;	/* NULL = this session's */
	Datum		old_row;		/* jsonb or 0 */
	Datum		new_row;		/* jsonb or 0 */
} TgAuditEvent;

/* audit.c */
extern bool tg_audit_record(const TgAuditEvent *ev);
extern int64 tg_audit_seal(void);
extern Datum tg_client_addr(bool *isnull);
extern void tg_audit_rotate_signing_key(const uint8_t old_master_key[32]);

/* audit_worker.c */
extern int	tg_audit_seal_interval;
extern void tg_audit_worker_init(void);
extern bool tg_audit_refusal(const TgAuditEvent *ev);

/* guard.c */
extern void tg_guard_init(void);
extern bool tg_guard_bypassed(void);

#endif
