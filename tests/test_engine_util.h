/*
 * test_engine_util.h - helpers shared by the engine tests (header-only,
 * static inline).
 *
 * The test models are made at test time by tests/models/gen_gguf.py and
 * the expected logits by tests/models/ref_forward.py, both run with the
 * distribution's python3 ($VEIL_PYTHON, default /usr/bin/python3) and
 * numpy. A missing numpy fails the test with a message saying how to get
 * it: the engine must not pass untested. Specs are written one model per
 * line ("NAME generator options") so one Python run makes them all.
 */
#ifndef VEIL_TEST_ENGINE_UTIL_H
#define VEIL_TEST_ENGINE_UTIL_H

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "veil/engine.h"
#include "veil/gguf.h"

static inline const char *eng_python(void)
{
	const char *p = getenv("VEIL_PYTHON");

	return p != NULL && *p != '\0' ? p : "/usr/bin/python3";
}

/* Runs the Python interpreter with args (NULL-terminated, script first);
 * true when it exits 0. */
static inline bool eng_run_python(const char *const *args)
{
	const char *argv[24];
	size_t n = 0;
	pid_t pid;
	int status;

	argv[n++] = eng_python();
	while (*args != NULL && n + 1 < sizeof argv / sizeof argv[0])
		argv[n++] = *args++;
	argv[n] = NULL;
	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return false;
	if (pid == 0) {
		execv(argv[0], (char *const *)argv);
		fprintf(stderr, "cannot run %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	if (waitpid(pid, &status, 0) != pid)
		return false;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

/* True when python3 with numpy is there; otherwise says what to install. */
static inline bool eng_have_numpy(void)
{
	static const char *const args[] = {"-c", "import numpy", NULL};

	if (eng_run_python(args))
		return true;
	fprintf(stderr,
		"engine tests: %s cannot import numpy; install python3 and python3-numpy "
		"(scripts/setup.sh does) or point VEIL_PYTHON at a python3 that has numpy\n",
		eng_python());
	return false;
}

static inline int eng_rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static inline void eng_rmdir(const char *dir)
{
	(void)nftw(dir, eng_rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

/* A fresh temporary folder (dir must hold 64 bytes). */
static inline bool eng_tmpdir(char *dir)
{
	snprintf(dir, 64, "/tmp/veil-engine-XXXXXX");
	return mkdtemp(dir) != NULL;
}

/* Writes specs to DIR/NAME.specs, generates every model in it, and, when
 * tokens is not NULL, the reference logits for each: exact (DIR/<model>.ref)
 * and with activations rounded to 8 bits as the kernels do (.refq). */
static inline bool eng_generate(const char *dir, const char *name, const char *specs,
				const char *tokens)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof path, "%s/%s.specs", dir, name);
	f = fopen(path, "w");
	if (f == NULL || fputs(specs, f) < 0 || fclose(f) != 0)
		return false;
	const char *gen[] = {"tests/models/gen_gguf.py", "--batch", path, "--dir", dir, NULL};
	if (!eng_run_python(gen))
		return false;
	if (tokens == NULL)
		return true;
	const char *ref[] = {
	    "tests/models/ref_forward.py", "--batch", path, "--dir", dir, "--tokens", tokens, NULL};
	const char *refq[] = {"tests/models/ref_forward.py",
			      "--batch",
			      path,
			      "--dir",
			      dir,
			      "--tokens",
			      tokens,
			      "--act-quant",
			      "--suffix",
			      ".refq",
			      NULL};
	return eng_run_python(ref) && eng_run_python(refq);
}

static inline uint8_t *eng_read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	long n;

	if (f == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
		buf = malloc((size_t)n + 1);
		if (buf != NULL && fread(buf, 1, (size_t)n, f) != (size_t)n) {
			free(buf);
			buf = NULL;
		}
		*len = (size_t)n;
	}
	fclose(f);
	return buf;
}

/* An opened model file: the bytes, the GGUF view and the model. */
typedef struct eng_fx {
	uint8_t *buf;
	size_t len;
	veil_gguf *g;
	veil_model *m;
} eng_fx;

/* Opens DIR/NAME.gguf and loads the model; the load's result is returned
 * (the GGUF open must succeed). */
static inline veil_err eng_open(eng_fx *fx, const char *dir, const char *name)
{
	char path[128];

	memset(fx, 0, sizeof *fx);
	snprintf(path, sizeof path, "%s/%s.gguf", dir, name);
	fx->buf = eng_read_file(path, &fx->len);
	if (fx->buf == NULL) {
		fprintf(stderr, "cannot read %s\n", path);
		return VEIL_E_IO;
	}
	veil_err err = veil_gguf_open(fx->buf, fx->len, &fx->g);
	if (err != VEIL_OK) {
		fprintf(stderr, "%s: GGUF open failed: %s\n", name, veil_err_detail());
		return VEIL_E_IO;
	}
	return veil_model_load(fx->g, &fx->m);
}

static inline void eng_close(eng_fx *fx)
{
	veil_model_free(fx->m);
	veil_gguf_free(fx->g);
	free(fx->buf);
	memset(fx, 0, sizeof *fx);
}

/* Reads DIR/NAME.SUFFIX ("ROWS COLS" and ROWS lines of COLS numbers). */
static inline double *eng_read_ref(const char *dir, const char *name, const char *suffix,
				   size_t *rows, size_t *cols)
{
	char path[128], *p, *end;
	size_t len, n;
	double *v;
	uint8_t *text;

	snprintf(path, sizeof path, "%s/%s%s", dir, name, suffix);
	text = eng_read_file(path, &len);
	if (text == NULL)
		return NULL;
	text[len] = '\0';
	p = (char *)text;
	errno = 0;
	*rows = (size_t)strtoull(p, &end, 10); /* checked: errno and end below */
	p = end;
	*cols = (size_t)strtoull(p, &end, 10); /* checked: errno and end below */
	if (errno != 0 || end == p || *rows == 0 || *cols == 0 || *rows > 4096 || *cols > 1 << 20) {
		free(text);
		return NULL;
	}
	p = end;
	n = *rows * *cols;
	v = malloc(n * sizeof *v);
	for (size_t i = 0; v != NULL && i < n; i++) {
		v[i] = strtod(p, &end);
		if (end == p) {
			free(v);
			v = NULL;
			break;
		}
		p = end;
	}
	free(text);
	return v;
}

/* max |a - ref| / max |ref| over n values. */
static inline double eng_rel_err(const float *a, const double *ref, size_t n)
{
	double diff = 0, scale = 0;

	for (size_t i = 0; i < n; i++) {
		double d = (double)a[i] - ref[i];

		if (d < 0)
			d = -d;
		if (d > diff || d != d)
			diff = d != d ? 1e300 : d;
		if (ref[i] > scale || -ref[i] > scale)
			scale = ref[i] < 0 ? -ref[i] : ref[i];
	}
	return scale > 0 ? diff / scale : diff;
}

#endif
