/*
 * uuid_text.h — parse and format RFC 4122 textual UUIDs (pure C).
 */
#ifndef TG_CORE_UUID_TEXT_H
#define TG_CORE_UUID_TEXT_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#define TG_UUID_LEN 16
#define TG_UUID_TEXT_LEN 36

/* Parse the canonical 8-4-4-4-12 form (either case) of exactly len bytes. */
bool		tg_uuid_parse(const char *text, size_t len, uint8_t out[TG_UUID_LEN]);

/* Write the lower-case canonical form plus a NUL into out (37 bytes). */
void		tg_uuid_format(const uint8_t uuid[TG_UUID_LEN], char out[TG_UUID_TEXT_LEN + 1]);

#endif
