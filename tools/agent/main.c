/*
 * tenantguard-agent — the agent host's side of tenantguard's agent logins
 * (docs/agents.md): makes an Ed25519 key, prints the arguments of
 * tenantguard.agent_login and the signature of tenantguard.rotate_agent_key.
 * The messages, encodings and Ed25519 are core/agent_msg, the same code the
 * extension verifies with.
 *
 * Key file: one line "tenantguard-agent-key-v1 <standard base64 of the
 * 32-byte Ed25519 seed>\n", mode 0600; any group or other permission bit is
 * refused (as ssh refuses private keys).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "core/agent_msg.h"
#include "core/encoding.h"

#ifndef TG_AGENT_VERSION
#define TG_AGENT_VERSION "unknown"
#endif

#define EXIT_USAGE		1
#define EXIT_KEYFILE	2
#define EXIT_BADARG		3
#define EXIT_INTERNAL	4

#define KEY_MAGIC		"tenantguard-agent-key-v1 "
#define KEY_MAGIC_LEN	(sizeof(KEY_MAGIC) - 1)
/* magic, base64 of the seed, newline */
#define KEY_LINE_LEN	(KEY_MAGIC_LEN + TG_AGENT_PK_TEXT_LEN + 1)
#define NONCE_LEN		32

static const char *progname = "tenantguard-agent";

static void
fail_msg(const char *fmt,...)
{
	va_list		ap;

	fprintf(stderr, "%s: ", progname);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void
usage(FILE *out)
{
	fprintf(out,
			"Usage:\n"
			"  %s keygen KEYFILE\n"
			"      write a new private key to KEYFILE (mode 0600, never overwritten)\n"
			"      and print its public key (standard base64, for tenantguard.enroll)\n"
			"  %s login-args KEYFILE AGENT_ID\n"
			"      print \"<ts> <nonce> <signature>\" for tenantguard.agent_login\n"
			"  %s rotate-args KEYFILE AGENT_ID NEW_PUBLIC_KEY\n"
			"      print the signature, by the key of KEYFILE, for tenantguard.rotate_agent_key\n"
			"  %s --help | --version\n"
			"\n"
			"KEYFILE holds one line \"tenantguard-agent-key-v1 <base64 seed>\"; it must not be\n"
			"readable or writable by group or others. AGENT_ID is the lower-case uuid\n"
			"returned by tenantguard.enroll.\n"
			"\n"
			"Exit status:\n"
			"  0  success\n"
			"  1  usage error (unknown command, wrong number of arguments)\n"
			"  2  key file problem (missing, unreadable, exists already for keygen,\n"
			"     group/other permissions, malformed, wrong size, cannot be written)\n"
			"  3  bad argument (AGENT_ID or NEW_PUBLIC_KEY)\n"
			"  4  internal error (libsodium, clock)\n",
			progname, progname, progname, progname);
}

static int
keygen(const char *path)
{
	uint8_t		seed[TG_AGENT_SEED_LEN],
				pk[TG_AGENT_PK_LEN],
				sk[TG_AGENT_SK_LEN];
	char		line[KEY_LINE_LEN + 1];
	char		pk_text[TG_AGENT_PK_TEXT_LEN + 1];
	int			fd;
	ssize_t		w;
	int			rc = 0;

	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
	{
		if (errno == EEXIST)
			fail_msg("key file \"%s\" already exists; refusing to overwrite it (remove it first if you mean to replace the key)", path);
		else
			fail_msg("cannot create key file \"%s\": %s", path, strerror(errno));
		return EXIT_KEYFILE;
	}
	/* a umask cannot widen 0600, but may narrow it: make it exactly 0600 */
	if (fchmod(fd, 0600) != 0)
	{
		fail_msg("cannot set mode 0600 on \"%s\": %s", path, strerror(errno));
		rc = EXIT_KEYFILE;
	}
	if (rc == 0)
	{
		randombytes_buf(seed, sizeof(seed));
		if (!tg_agent_keypair_from_seed(seed, pk, sk))
		{
			fail_msg("cannot derive the key pair");
			rc = EXIT_INTERNAL;
		}
	}
	if (rc == 0)
	{
		memcpy(line, KEY_MAGIC, KEY_MAGIC_LEN);
		tg_b64_encode(seed, sizeof(seed), line + KEY_MAGIC_LEN);
		line[KEY_LINE_LEN - 1] = '\n';
		line[KEY_LINE_LEN] = '\0';
		w = write(fd, line, KEY_LINE_LEN);
		if (w != (ssize_t) KEY_LINE_LEN || fsync(fd) != 0)
		{
			fail_msg("cannot write key file \"%s\": %s", path,
					 w < 0 ? strerror(errno) : "short write");
			rc = EXIT_KEYFILE;
		}
	}
	if (close(fd) != 0 && rc == 0)
	{
		fail_msg("cannot write key file \"%s\": %s", path, strerror(errno));
		rc = EXIT_KEYFILE;
	}
	sodium_memzero(seed, sizeof(seed));
	sodium_memzero(sk, sizeof(sk));
	sodium_memzero(line, sizeof(line));
	if (rc != 0)
	{
		/* never leave a half-written key behind */
		unlink(path);
		return rc;
	}
	tg_agent_pk_encode(pk, pk_text);
	printf("%s\n", pk_text);
	return 0;
}

/* Reads KEYFILE into sk (and pk); returns 0 or an exit status (message printed). */
static int
load_key(const char *path, uint8_t pk[TG_AGENT_PK_LEN], uint8_t sk[TG_AGENT_SK_LEN])
{
	struct stat st;
	char		buf[512];
	uint8_t		seed[sizeof(buf)];
	ssize_t		n;
	size_t		len = 0;
	int			fd;
	int			rc = 0;
	long		got;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
	{
		if (errno == ENOENT)
			fail_msg("key file \"%s\" does not exist (create one with \"%s keygen\")", path, progname);
		else
			fail_msg("cannot open key file \"%s\": %s", path, strerror(errno));
		return EXIT_KEYFILE;
	}
	if (fstat(fd, &st) != 0)
	{
		fail_msg("cannot stat key file \"%s\": %s", path, strerror(errno));
		close(fd);
		return EXIT_KEYFILE;
	}
	if (!S_ISREG(st.st_mode))
	{
		fail_msg("key file \"%s\" is not a regular file", path);
		close(fd);
		return EXIT_KEYFILE;
	}
	if ((st.st_mode & 077) != 0)
	{
		fail_msg("permissions %04o of key file \"%s\" are too open: it must not be accessible by group or others (chmod 600 \"%s\")",
				 (unsigned) (st.st_mode & 07777), path, path);
		close(fd);
		return EXIT_KEYFILE;
	}
	/* a buffer far larger than a key line, to tell a key of the wrong size */
	while (len < sizeof(buf) && (n = read(fd, buf + len, sizeof(buf) - len)) != 0)
	{
		if (n < 0)
		{
			if (errno == EINTR)
				continue;
			fail_msg("cannot read key file \"%s\": %s", path, strerror(errno));
			rc = EXIT_KEYFILE;
			break;
		}
		len += (size_t) n;
	}
	close(fd);
	if (rc == 0)
	{
		size_t		b64len;

		/* the trailing newline is optional */
		if (len == sizeof(buf))
			len = 0;			/* far too long: reported as malformed */
		else if (len > 0 && buf[len - 1] == '\n')
			len--;
		if (len < KEY_MAGIC_LEN || memcmp(buf, KEY_MAGIC, KEY_MAGIC_LEN) != 0)
		{
			fail_msg("key file \"%s\" is malformed: it does not start with \"%.*s\"",
					 path, (int) (KEY_MAGIC_LEN - 1), KEY_MAGIC);
			rc = EXIT_KEYFILE;
		}
		else
		{
			b64len = len - KEY_MAGIC_LEN;
			got = tg_b64_decode(buf + KEY_MAGIC_LEN, b64len, seed, sizeof(seed));
			if (got < 0)
			{
				fail_msg("key file \"%s\" is malformed: the key is not standard base64 on a single line", path);
				rc = EXIT_KEYFILE;
			}
			else if (got != TG_AGENT_SEED_LEN)
			{
				fail_msg("key file \"%s\" has a key of the wrong size (%ld bytes, expected %d)",
						 path, got, TG_AGENT_SEED_LEN);
				rc = EXIT_KEYFILE;
			}
			else if (!tg_agent_keypair_from_seed(seed, pk, sk))
			{
				fail_msg("cannot derive the key pair");
				rc = EXIT_INTERNAL;
			}
		}
	}
	sodium_memzero(buf, sizeof(buf));
	sodium_memzero(seed, sizeof(seed));
	return rc;
}

static int
check_agent_id(const char *id)
{
	if (tg_agent_id_valid(id, strlen(id)))
		return 0;
	fail_msg("invalid AGENT_ID \"%s\": expected the lower-case uuid returned by tenantguard.enroll (8-4-4-4-12 hex digits)", id);
	return EXIT_BADARG;
}

/* signs msg with KEYFILE's key and prints the signature text into out */
static int
sign_with(const char *path, const char *msg, size_t len, char out[TG_AGENT_SIG_TEXT_LEN + 1])
{
	uint8_t		pk[TG_AGENT_PK_LEN],
				sk[TG_AGENT_SK_LEN],
				sig[TG_AGENT_SIG_LEN];
	int			rc;

	rc = load_key(path, pk, sk);
	if (rc == 0 && !tg_agent_sign(sk, msg, len, sig))
	{
		fail_msg("signing failed");
		rc = EXIT_INTERNAL;
	}
	sodium_memzero(sk, sizeof(sk));
	if (rc == 0)
		tg_agent_sig_encode(sig, out);
	return rc;
}

static int
login_args(const char *path, const char *agent_id)
{
	static const char alphabet[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	uint8_t		r[NONCE_LEN];
	char		nonce[NONCE_LEN + 1];
	char		msg[TG_AGENT_MSG_MAX];
	char		sig[TG_AGENT_SIG_TEXT_LEN + 1];
	time_t		now;
	int			i,
				n,
				rc;

	if ((rc = check_agent_id(agent_id)) != 0)
		return rc;
	/* 64 characters: a byte's low six bits pick one without bias */
	randombytes_buf(r, sizeof(r));
	for (i = 0; i < NONCE_LEN; i++)
		nonce[i] = alphabet[r[i] & 63];
	nonce[NONCE_LEN] = '\0';
	now = time(NULL);
	if (now == (time_t) -1)
	{
		fail_msg("cannot read the clock");
		return EXIT_INTERNAL;
	}
	n = tg_agent_login_msg(agent_id, strlen(agent_id), (int64_t) now,
						   nonce, NONCE_LEN, msg, sizeof(msg));
	if (n < 0)
	{
		fail_msg("cannot build the login message");
		return EXIT_INTERNAL;
	}
	if ((rc = sign_with(path, msg, (size_t) n, sig)) != 0)
		return rc;
	printf("%lld %s %s\n", (long long) now, nonce, sig);
	return 0;
}

static int
rotate_args(const char *path, const char *agent_id, const char *new_pk)
{
	char		msg[TG_AGENT_MSG_MAX];
	char		sig[TG_AGENT_SIG_TEXT_LEN + 1];
	int			n,
				rc;

	if ((rc = check_agent_id(agent_id)) != 0)
		return rc;
	n = tg_agent_rotate_msg(agent_id, strlen(agent_id), new_pk, strlen(new_pk), msg, sizeof(msg));
	if (n < 0)
	{
		fail_msg("invalid NEW_PUBLIC_KEY: expected standard base64 (44 characters) of a 32-byte Ed25519 public key, as printed by \"%s keygen\"", progname);
		return EXIT_BADARG;
	}
	if ((rc = sign_with(path, msg, (size_t) n, sig)) != 0)
		return rc;
	printf("%s\n", sig);
	return 0;
}

int
main(int argc, char **argv)
{
	const char *cmd;
	int			rc;

	if (argc < 2)
	{
		usage(stderr);
		return EXIT_USAGE;
	}
	cmd = argv[1];
	if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0)
	{
		usage(stdout);
		return 0;
	}
	if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "-V") == 0)
	{
		printf("%s %s\n", progname, TG_AGENT_VERSION);
		return 0;
	}
	if (sodium_init() < 0)
	{
		fail_msg("cannot initialise libsodium");
		return EXIT_INTERNAL;
	}
	if (strcmp(cmd, "keygen") == 0 && argc == 3)
		rc = keygen(argv[2]);
	else if (strcmp(cmd, "login-args") == 0 && argc == 4)
		rc = login_args(argv[2], argv[3]);
	else if (strcmp(cmd, "rotate-args") == 0 && argc == 5)
		rc = rotate_args(argv[2], argv[3], argv[4]);
	else
	{
		if (strcmp(cmd, "keygen") == 0 || strcmp(cmd, "login-args") == 0 ||
			strcmp(cmd, "rotate-args") == 0)
			fail_msg("wrong number of arguments for \"%s\"", cmd);
		else
			fail_msg("unknown command \"%s\"", cmd);
		fprintf(stderr, "Try \"%s --help\".\n", progname);
		return EXIT_USAGE;
	}
	if (fflush(stdout) != 0 && rc == 0)
	{
		fail_msg("cannot write the output: %s", strerror(errno));
		rc = EXIT_INTERNAL;
	}
	return rc;
}
