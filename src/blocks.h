/*
 * blocks.h — sealing audit events into signed, hash-chained blocks and
 * verifying them (layer 4).
 */
#ifndef TG_BLOCKS_H
#define TG_BLOCKS_H

#include "postgres.h"

/* Seal every committed, not yet sealed event; the number of events sealed. */
extern int64 tg_audit_seal(void);
/* After a master key replacement: the old signing key endorses the new one. */
extern void tg_audit_rotate_signing_key(const uint8_t old_master_key[32]);

#endif
