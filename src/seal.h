/*
 * seal.h — sealing and opening envelopes (layer 7).
 */
#ifndef TG_SEAL_H
#define TG_SEAL_H

#include "postgres.h"

#include "core/envelope.h"

/* Seal bytes for a tenant under data key version; a new secret datum. */
extern bytea *tg_seal_bytes(const uint8_t tenant[16], int32 version, uint8_t flags,
							const uint8_t *pt, size_t ptlen);
/* Open a secret datum into a palloc'ed buffer; no tenant check (callers decide). */
extern uint8_t *tg_open_bytes(bytea *s, tg_env_header *h, size_t *ptlen);

#endif
