/*
 * secret_type.h — the tenantguard.secret type (layer 5).
 */
#ifndef TG_SECRET_TYPE_H
#define TG_SECRET_TYPE_H

#include "postgres.h"

#include "core/envelope.h"

#define TG_SECRET_PREFIX "tgs1:"

/* Validate an envelope held in a secret datum (h may be NULL); 22P02 when malformed. */
extern void tg_secret_check(const uint8_t *buf, size_t len, tg_env_header *h);

#endif
