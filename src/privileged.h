/*
 * privileged.h — running SQL with more rights than the caller (layer 1):
 * search_path pinned to pg_catalog, pg_temp; running as another role in a
 * security-restricted operation.
 */
#ifndef TG_PRIVILEGED_H
#define TG_PRIVILEGED_H

#include "postgres.h"

extern int	tg_spi_begin(void);
extern void tg_spi_end(int level);
extern void tg_begin_as(Oid role, Oid *save_user, int *save_sec);
extern void tg_end_as(Oid save_user, int save_sec);

#endif
