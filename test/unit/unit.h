/* unit.h — a minimal assertion harness for the core unit tests. */
#ifndef TG_UNIT_H
#define TG_UNIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

extern int	unit_passed;
extern int	unit_failed;

#define CHECK(cond) \
	do { \
		if (cond) \
			unit_passed++; \
		else \
		{ \
			unit_failed++; \
			fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond); \
		} \
	} while (0)

/* util.c: decode a hex constant (aborts on a bad one); are all n bytes v? */
void		unit_unhex(const char *hex, uint8_t *out, size_t n);
bool		unit_all_bytes(const uint8_t *p, size_t n, uint8_t v);

void		test_uuid_text(void);
void		test_context_value(void);
void		test_encoding(void);
void		test_envelope(void);
void		test_keys(void);
void		test_secret_ref(void);
void		test_ledger(void);
void		test_names(void);
void		test_json(void);
void		test_jwt(void);
void		test_authz_rules(void);
void		test_scrypt(void);
void		test_otp(void);
void		test_token_format(void);
void		test_agent_msg(void);

#endif
