/* unit.h — a minimal assertion harness for the core unit tests. */
#ifndef TG_UNIT_H
#define TG_UNIT_H

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

void		test_uuid_text(void);
void		test_context_value(void);
void		test_encoding(void);
void		test_envelope(void);
void		test_keys(void);
void		test_secret_ref(void);
void		test_ledger(void);

#endif
