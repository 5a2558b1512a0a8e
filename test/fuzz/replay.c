/*
 * replay.c — runs a fuzz harness over every file of a corpus directory, so
 * `make test` exercises each harness under the sanitizers without libFuzzer.
 * Prints "unit: N passed, 0 failed" (a failing input aborts the process).
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
main(int argc, char **argv)
{
	DIR		   *d;
	struct dirent *e;
	int			n = 0;

	if (argc != 2 || (d = opendir(argv[1])) == NULL)
	{
		fprintf(stderr, "usage: replay CORPUS_DIR\n");
		return 2;
	}
	while ((e = readdir(d)) != NULL)
	{
		char		path[4096];
		FILE	   *f;
		uint8_t    *buf;
		long		len;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", argv[1], e->d_name);
		if ((f = fopen(path, "rb")) == NULL)
			continue;
		fseek(f, 0, SEEK_END);
		len = ftell(f);
		fseek(f, 0, SEEK_SET);
		buf = malloc(len > 0 ? (size_t) len : 1);
		if (buf == NULL || fread(buf, 1, (size_t) len, f) != (size_t) len)
		{
			fclose(f);
			free(buf);
			continue;
		}
		fclose(f);
		LLVMFuzzerTestOneInput(buf, (size_t) len);
		free(buf);
		n++;
	}
	closedir(d);
	printf("unit: %d passed, 0 failed\n", n);
	return 0;
}
