/*
 * test_hostcheck_util.h - helpers shared by the host-check tests
 * (header-only, static inline).
 *
 * The fixture trees are tests/fixtures/hosts/<tree>/{proc,sys,dev},
 * relative to the repository root where the tests run (docs/host-check.md
 * "Fixture trees"). Variants of them are made in a scratch folder under
 * /tmp, file by file, and a run may take each root from a different
 * place: the fixture's /proc with a scratch /dev, say. Reports are on the
 * heap (a veil_hc_report is about 90 KiB).
 */
#ifndef VEIL_TEST_HOSTCHECK_UTIL_H
#define VEIL_TEST_HOSTCHECK_UTIL_H

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "veil/hostcheck.h"
#include "veil/limits.h"

#define HOSTS   "tests/fixtures/hosts/"
#define NO_NVML HOSTS "no-such-libnvidia-ml.so.1"
#define HC_NOW  1790000000 /* 2026-09-21 */

static inline veil_hc_report *hc_new_report(void)
{
	veil_hc_report *r = calloc(1, sizeof *r);

	if (r == NULL) {
		fprintf(stderr, "out of memory\n");
		exit(2);
	}
	return r;
}

/* Options reading tree's three roots, no NVML, no GPU required. */
static inline veil_hc_options hc_opts(const char *tree, char bufs[3][512], veil_hc_tee tee)
{
	veil_hc_options o;

	memset(&o, 0, sizeof o);
	snprintf(bufs[0], 512, HOSTS "%s/sys", tree);
	snprintf(bufs[1], 512, HOSTS "%s/proc", tree);
	snprintf(bufs[2], 512, HOSTS "%s/dev", tree);
	o.roots.sysfs = bufs[0];
	o.roots.procfs = bufs[1];
	o.roots.dev = bufs[2];
	o.roots.nvml_lib = NO_NVML;
	o.tee = tee;
	o.now = HC_NOW;
	return o;
}

static inline const veil_hc_check *hc_find(const veil_hc_report *r, const char *id)
{
	for (size_t i = 0; i < r->count; i++)
		if (strcmp(r->checks[i].id, id) == 0)
			return &r->checks[i];
	return NULL;
}

/* id has this status, and its evidence (remedy) holds each of the
 * NULL-ended strings after ev (and rem); a failure has a remedy and
 * nothing else has one. Prints what differs. */
static inline bool hc_is(const veil_hc_report *r, const char *id, veil_hc_status st, const char *ev,
			 const char *rem)
{
	const veil_hc_check *c = hc_find(r, id);

	if (c == NULL) {
		fprintf(stderr, "    no check %s\n", id);
		return false;
	}
	if (c->status != st || (ev != NULL && strstr(c->evidence, ev) == NULL) ||
	    (rem != NULL && strstr(c->remedy, rem) == NULL) ||
	    ((c->status == VEIL_HC_FAIL) != (c->remedy[0] != '\0'))) {
		fprintf(stderr, "    %s: %s \"%s\" / remedy \"%s\"\n", id,
			veil_hc_status_name(c->status), c->evidence, c->remedy);
		return false;
	}
	return true;
}

/* ---- Scratch trees ---- */

static inline int hc_rm_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)flag;
	(void)f;
	return remove(p);
}

static inline void hc_rm_tree(const char *dir)
{
	nftw(dir, hc_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* Removes dir/rel, a file or a whole folder. */
static inline void hc_rm(const char *dir, const char *rel)
{
	char path[1024];

	snprintf(path, sizeof path, "%s/%s", dir, rel);
	hc_rm_tree(path);
}

/* mkdir -p of path's parent folders. */
static inline void hc_mkdirs(char *path)
{
	for (char *p = path + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(path, 0755) != 0 && errno != EEXIST) {
			perror(path);
			exit(2);
		}
		*p = '/';
	}
}

/* Writes dir/rel (making its folders); text NULL makes a folder. */
static inline void hc_put(const char *dir, const char *rel, const char *text)
{
	char path[1024];
	FILE *f;

	snprintf(path, sizeof path, "%s/%s%s", dir, rel, text == NULL ? "/" : "");
	hc_mkdirs(path);
	if (text == NULL)
		return;
	f = fopen(path, "w");
	if (f == NULL || fputs(text, f) < 0 || fclose(f) != 0) {
		perror(path);
		exit(2);
	}
}

/* A fresh scratch folder (dir holds at least 32 bytes). */
static inline void hc_scratch(char *dir, size_t cap)
{
	snprintf(dir, cap, "/tmp/veil-hc-XXXXXX");
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		exit(2);
	}
}

#endif
