/* main.c — runs every core unit test and prints "unit: N passed, M failed". */
#include "unit.h"

int			unit_passed = 0;
int			unit_failed = 0;

int
main(void)
{
	test_uuid_text();
	test_context_value();
	test_encoding();
	test_envelope();
	test_keys();
	test_secret_ref();
	test_ledger();
	test_names();
	test_json();
	test_jwt();
	test_authz_rules();
	test_scrypt();
	test_otp();
	test_token_format();
	test_agent_msg();
	printf("unit: %d passed, %d failed\n", unit_passed, unit_failed);
	return unit_failed == 0 ? 0 : 1;
}
