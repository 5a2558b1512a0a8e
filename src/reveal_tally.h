/*
 * reveal_tally.h — reveals counted and written as one event per statement
 * and (tenant, actor, call site), so that neither a bulk reveal writes an
 * event per value nor a rollback hides them (layer 5).
 */
#ifndef TG_REVEAL_TALLY_H
#define TG_REVEAL_TALLY_H

#include "postgres.h"

#include "call_site.h"

/*
 * Count one reveal of a secret of tenant by the current actor at site
 * (bytes: revealed as bytea). Call it before the plaintext is handed out:
 * in a read-only transaction the first reveal of a statement at a site is
 * queued at once, and refused (53400) when it cannot be.
 */
extern void tg_reveal_count(const uint8_t tenant[16], const TgCallSite *site, bool bytes);

/* From the executor and utility hooks: the outermost statement ended. */
extern void tg_tally_statement_end(void);

#endif
