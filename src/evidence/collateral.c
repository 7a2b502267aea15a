/*
 * collateral.c - reading collateral files and directories into blobs.
 *
 * Files are read whole, each capped at VEIL_COLLATERAL_FILE_MAX_BYTES, at
 * most VEIL_COLLATERAL_MAX_FILES of them. Directory entries are sorted so
 * that which certificate wins a tie never depends on the file system.
 */
#include "veil/collateral.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static atomic_uint_fast64_t collateral_next_id = 1;

static void collateral_touch(veil_collateral *c)
{
	c->id = atomic_fetch_add(&collateral_next_id, 1);
}

void veil_collateral_init(veil_collateral *c)
{
	memset(c, 0, sizeof *c);
	collateral_touch(c);
}

veil_err veil_collateral_add(veil_collateral *c, const uint8_t *p, size_t n, const char *origin)
{
	ENSURE(c->count < VEIL_COLLATERAL_MAX_FILES, VEIL_E_LIMIT, "more than %d collateral files",
	       VEIL_COLLATERAL_MAX_FILES);
	ENSURE(n <= VEIL_COLLATERAL_FILE_MAX_BYTES, VEIL_E_LIMIT,
	       "collateral %s is %zu bytes, over the %d-byte limit", origin, n,
	       VEIL_COLLATERAL_FILE_MAX_BYTES);
	veil_blob *b = &c->blob[c->count];
	b->data = malloc(n ? n : 1);
	b->origin = strdup(origin);
	if (b->data == NULL || b->origin == NULL) {
		free(b->data);
		free(b->origin);
		return veil_fail(VEIL_E_NOMEM, "out of memory");
	}
	if (n > 0)
		memcpy(b->data, p, n);
	b->len = n;
	c->count++;
	collateral_touch(c);
	return VEIL_OK;
}

veil_err veil_file_read(const char *path, size_t max, uint8_t **out, size_t *len)
{
	struct stat st;
	uint8_t *buf = NULL;
	size_t got = 0;
	veil_err err = VEIL_OK;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return veil_fail(VEIL_E_IO, "cannot open %s: %s", path, strerror(errno));
	CHECK_THAT(fstat(fd, &st) == 0, VEIL_E_IO, "cannot stat %s: %s", path, strerror(errno));
	CHECK_THAT(S_ISREG(st.st_mode), VEIL_E_IO, "%s is not a regular file", path);
	CHECK_THAT((uint64_t)st.st_size <= max, VEIL_E_LIMIT,
		   "%s is %lld bytes, over the %zu-byte limit", path, (long long)st.st_size, max);
	buf = malloc((size_t)st.st_size + 1);
	CHECK_THAT(buf != NULL, VEIL_E_NOMEM, "out of memory reading %s", path);
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);
		if (n < 0 && errno == EINTR)
			continue;
		CHECK_THAT(n > 0, VEIL_E_IO, "cannot read %s: %s", path,
			   n == 0 ? "file shrank while reading" : strerror(errno));
		got += (size_t)n;
	}
	buf[got] = 0; /* convenience for text formats; not counted in len */
	*out = buf;
	*len = got;
	buf = NULL;
out:
	free(buf);
	close(fd);
	return err;
}

veil_err veil_collateral_add_file(veil_collateral *c, const char *path)
{
	uint8_t *buf;
	size_t len;
	TRY(veil_file_read(path, VEIL_COLLATERAL_FILE_MAX_BYTES, &buf, &len));
	veil_err err = veil_collateral_add(c, buf, len, path);
	free(buf);
	return err;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static veil_err collateral_walk(veil_collateral *c, const char *dir, int depth)
{
	DIR *d = opendir(dir);
	char **names = NULL;
	size_t count = 0, cap = 0;
	struct dirent *e;
	veil_err err = VEIL_OK;

	if (d == NULL)
		return veil_fail(VEIL_E_IO, "cannot open collateral directory %s: %s", dir,
				 strerror(errno));
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		if (count == cap) {
			CHECK_THAT(cap < 4 * VEIL_COLLATERAL_MAX_FILES, VEIL_E_LIMIT,
				   "too many entries in %s", dir);
			size_t ncap = cap ? cap * 2 : 32;
			char **n = realloc(names, ncap * sizeof *n);
			CHECK_THAT(n != NULL, VEIL_E_NOMEM, "out of memory");
			names = n;
			cap = ncap;
		}
		names[count] = strdup(e->d_name);
		CHECK_THAT(names[count] != NULL, VEIL_E_NOMEM, "out of memory");
		count++;
	}
	qsort(names, count, sizeof *names, name_cmp);
	for (size_t i = 0; i < count; i++) {
		char path[4096];
		struct stat st;
		int n = snprintf(path, sizeof path, "%s/%s", dir, names[i]);
		CHECK_THAT(n > 0 && (size_t)n < sizeof path, VEIL_E_LIMIT, "path too long in %s",
			   dir);
		CHECK_THAT(stat(path, &st) == 0, VEIL_E_IO, "cannot stat %s: %s", path,
			   strerror(errno));
		/* Nothing in the directory is skipped without a word: every
		 * file is read (the formats decide what is theirs), and a tree
		 * deeper than the limit is an error, not a partial read. */
		if (S_ISDIR(st.st_mode)) {
			CHECK_THAT(depth < VEIL_COLLATERAL_MAX_DEPTH, VEIL_E_LIMIT,
				   "collateral directory %s is nested deeper than %d levels", path,
				   VEIL_COLLATERAL_MAX_DEPTH);
			CHECK(collateral_walk(c, path, depth + 1));
		} else if (S_ISREG(st.st_mode)) {
			CHECK(veil_collateral_add_file(c, path));
		} else {
			CHECK_THAT(false, VEIL_E_IO,
				   "%s in the collateral directory is not a regular file", path);
		}
	}
out:
	for (size_t i = 0; i < count; i++)
		free(names[i]);
	free(names);
	closedir(d);
	return err;
}

veil_err veil_collateral_add_dir(veil_collateral *c, const char *dir)
{
	return collateral_walk(c, dir, 0);
}

void veil_collateral_clear(veil_collateral *c)
{
	for (size_t i = 0; i < c->count; i++) {
		free(c->blob[i].data);
		free(c->blob[i].origin);
	}
	c->count = 0;
	collateral_touch(c);
}
