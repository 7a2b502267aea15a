/*
 * attest_sys.c - the system calls of the attesters, and reading the files
 * the kernel exposes.
 *
 * Every open, ioctl and configfs mkdir/rmdir goes through env->sys when the
 * caller supplied a hook (the tests play the kernel that way) and through
 * libc otherwise. configfs attribute files report a size stat() cannot be
 * trusted with (a binary attribute is generated when first read), so files
 * are read to end of file with a hard cap instead of by their st_size, and
 * a file longer than the cap is an error, never silently cut.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "attester/attester_internal.h"

static const veil_attest_sys *sys_of(const veil_attest_env *env)
{
	return env != NULL ? env->sys : NULL;
}

int attest_sys_open(const veil_attest_env *env, const char *path, int flags)
{
	const veil_attest_sys *s = sys_of(env);

	if (s != NULL && s->open != NULL)
		return s->open(s->user, path, flags);
	return open(path, flags);
}

int attest_sys_ioctl(const veil_attest_env *env, int fd, unsigned long request, void *arg)
{
	const veil_attest_sys *s = sys_of(env);

	if (s != NULL && s->ioctl != NULL)
		return s->ioctl(s->user, fd, request, arg);
	return ioctl(fd, request, arg);
}

int attest_sys_tsm_mkdir(const veil_attest_env *env, const char *path)
{
	const veil_attest_sys *s = sys_of(env);

	if (s != NULL && s->tsm_mkdir != NULL)
		return s->tsm_mkdir(s->user, path);
	return mkdir(path, 0700);
}

int attest_sys_tsm_rmdir(const veil_attest_env *env, const char *path)
{
	const veil_attest_sys *s = sys_of(env);

	if (s != NULL && s->tsm_rmdir != NULL)
		return s->tsm_rmdir(s->user, path);
	return rmdir(path);
}

const char *attest_errno_reason(int err, const char *missing_hint, char *buf, size_t size)
{
	switch (err) {
	case ENOENT:
		snprintf(buf, size, "not found (%s)", missing_hint);
		break;
	case EACCES:
	case EPERM:
		snprintf(buf, size,
			 "permission denied (run as root, or give this user access to it)");
		break;
	case ENODEV:
	case ENXIO:
		snprintf(buf, size, "no driver behind it (%s)", missing_hint);
		break;
	default:
		snprintf(buf, size, "%s", strerror(err));
	}
	return buf;
}

veil_err attest_errno_code(int err)
{
	return err == ENOENT || err == ENODEV || err == ENXIO ? VEIL_E_NOT_FOUND : VEIL_E_IO;
}

veil_err attest_read_file(const veil_attest_env *env, const char *path, size_t max, uint8_t **out,
			  size_t *len)
{
	uint8_t *buf = NULL;
	size_t got = 0;
	veil_err err = VEIL_OK;
	int fd = attest_sys_open(env, path, O_RDONLY | O_CLOEXEC);

	*out = NULL;
	*len = 0;
	if (fd < 0) {
		int e = errno;
		return veil_fail(e == ENOENT ? VEIL_E_NOT_FOUND : VEIL_E_IO, "cannot open %s: %s",
				 path, strerror(e));
	}
	/* One byte more than allowed, so "exactly max" and "more" differ. */
	buf = malloc(max + 2);
	CHECK_THAT(buf != NULL, VEIL_E_NOMEM, "out of memory reading %s", path);
	for (;;) {
		ssize_t n = read(fd, buf + got, max + 1 - got);
		if (n < 0 && errno == EINTR)
			continue;
		CHECK_THAT(n >= 0, VEIL_E_IO, "cannot read %s: %s", path, strerror(errno));
		if (n == 0)
			break;
		got += (size_t)n;
		CHECK_THAT(got <= max, VEIL_E_LIMIT, "%s is larger than the %zu-byte limit", path,
			   max);
	}
	buf[got] = 0;
	*out = buf;
	*len = got;
	buf = NULL;
out:
	free(buf);
	close(fd);
	return err;
}

veil_err attest_write_file(const veil_attest_env *env, const char *path, const void *p, size_t n)
{
	const uint8_t *at = p;
	size_t done = 0;
	veil_err err = VEIL_OK;
	int fd = attest_sys_open(env, path, O_WRONLY | O_CLOEXEC);

	if (fd < 0) {
		int e = errno;
		return veil_fail(e == ENOENT ? VEIL_E_NOT_FOUND : VEIL_E_IO, "cannot open %s: %s",
				 path, strerror(e));
	}
	while (done < n) {
		ssize_t w = write(fd, at + done, n - done);
		if (w < 0 && errno == EINTR)
			continue;
		CHECK_THAT(w > 0, VEIL_E_IO, "cannot write %s: %s", path,
			   w == 0 ? "no progress" : strerror(errno));
		done += (size_t)w;
	}
out:
	/* configfs hands a binary attribute to the driver on close. */
	if (close(fd) != 0 && err == VEIL_OK)
		err = veil_fail(VEIL_E_IO, "cannot write %s: %s", path, strerror(errno));
	return err;
}
