/*
 * privileged.c — the one way tenantguard's C code runs SQL with more rights
 * than its caller.
 *
 * Code that runs SQL through SPI resolves unqualified functions, operators,
 * aggregates, casts and types through search_path. When that SQL runs as a
 * superuser (a switched user, a background worker, a SECURITY DEFINER
 * function) or as the owner of a caller's table, a caller who puts a schema
 * of its own first on search_path would run its code with those rights. So
 * every SPI section of tenantguard opens with tg_spi_begin(), which pins
 * search_path to "pg_catalog, pg_temp" for the section, and the SQL texts
 * qualify what they name besides.
 *
 * Bottom layer: uses nothing of tenantguard's but core/.
 */
#include "postgres.h"

#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/guc.h"

#include "privileged.h"

#define TG_SAFE_SEARCH_PATH "pg_catalog, pg_temp"

/*
 * Pin search_path for a privileged section; returns the GUC nest level to
 * hand to tg_search_path_restore(). An error in between is undone by the
 * (sub)transaction abort like any other GUC change.
 */
static int
tg_search_path_pin(void)
{
	int			level = NewGUCNestLevel();

	(void) set_config_option("search_path", TG_SAFE_SEARCH_PATH,
							 PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	return level;
}

/* End a section started with tg_search_path_pin(). */
static void
tg_search_path_restore(int level)
{
	AtEOXact_GUC(true, level);
}

/* SPI_connect with search_path pinned; returns the level for tg_spi_end(). */
int
tg_spi_begin(void)
{
	int			level;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	level = tg_search_path_pin();
	return level;
}

/* SPI_finish and restore search_path. */
void
tg_spi_end(int level)
{
	tg_search_path_restore(level);
	SPI_finish();
}

/*
 * Run as role (a table's owner, or the bootstrap superuser for
 * tenantguard's own tables) in a security-restricted operation, as
 * PostgreSQL does for maintenance commands on a user's table. Returns the
 * previous identity through the out parameters for tg_end_as().
 */
void
tg_begin_as(Oid role, Oid *save_user, int *save_sec)
{
	GetUserIdAndSecContext(save_user, save_sec);
	SetUserIdAndSecContext(role, *save_sec | SECURITY_LOCAL_USERID_CHANGE |
						   SECURITY_RESTRICTED_OPERATION);
}

/* Back to the identity saved by tg_begin_as(). */
void
tg_end_as(Oid save_user, int save_sec)
{
	SetUserIdAndSecContext(save_user, save_sec);
}
