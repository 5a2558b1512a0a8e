/* test_uuid_text.c — UUID text parsing and formatting (RFC 4122 section 3). */
#include <string.h>

#include "unit.h"
#include "core/uuid_text.h"

void
test_uuid_text(void)
{
	/* RFC 4122 appendix B example name space UUID (DNS). */
	const char *dns = "6ba7b810-9dad-11d1-80b4-00c04fd430c8";
	const uint8_t dns_bytes[16] = {0x6b, 0xa7, 0xb8, 0x10, 0x9d, 0xad, 0x11, 0xd1,
	0x80, 0xb4, 0x00, 0xc0, 0x4f, 0xd4, 0x30, 0xc8};
	uint8_t		u[16];
	char		out[37];

	CHECK(tg_uuid_parse(dns, strlen(dns), u));
	CHECK(memcmp(u, dns_bytes, 16) == 0);
	tg_uuid_format(u, out);
	CHECK(strcmp(out, dns) == 0);

	/* upper case is accepted, output is lower case */
	CHECK(tg_uuid_parse("6BA7B810-9DAD-11D1-80B4-00C04FD430C8", 36, u));
	tg_uuid_format(u, out);
	CHECK(strcmp(out, dns) == 0);

	/* rejected shapes */
	CHECK(!tg_uuid_parse("6ba7b8109dad11d180b400c04fd430c8", 32, u));
	CHECK(!tg_uuid_parse("6ba7b810-9dad-11d1-80b4-00c04fd430c", 35, u));
	CHECK(!tg_uuid_parse("6ba7b810-9dad-11d1-80b4-00c04fd430c8 ", 37, u));
	CHECK(!tg_uuid_parse("6ba7b810-9dad-11d1-80b4_00c04fd430c8", 36, u));
	CHECK(!tg_uuid_parse("6ba7b810-9dad-11d1-80b4-00c04fd430cg", 36, u));
	CHECK(!tg_uuid_parse("{ba7b810-9dad-11d1-80b4-00c04fd430c8", 36, u));
	CHECK(!tg_uuid_parse(NULL, 36, u));
	CHECK(!tg_uuid_parse("", 0, u));

	/* all-zero and all-ones round trip */
	memset(u, 0, 16);
	tg_uuid_format(u, out);
	CHECK(strcmp(out, "00000000-0000-0000-0000-000000000000") == 0);
	memset(u, 0xff, 16);
	tg_uuid_format(u, out);
	CHECK(strcmp(out, "ffffffff-ffff-ffff-ffff-ffffffffffff") == 0);
}
