/*
 * guard_access.h — the fail-closed access check (layer 7).
 */
#ifndef TG_GUARD_ACCESS_H
#define TG_GUARD_ACCESS_H

#include "postgres.h"
#include "nodes/pg_list.h"

extern void tg_guard_access_init(void);
extern bool tg_guard_check_perms(List *rangeTable, bool ereport_on_violation);

#endif
