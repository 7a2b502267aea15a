/*
 * master_key.c - the file that holds the store's master key.
 *
 * The master key decrypts every secret the key broker keeps, so it lives
 * outside the database: by default a file beside it, or any path the
 * operator names (a tmpfs file written by a secret manager, a systemd
 * credential). Two rules, the ones OpenSSH applies to its private keys:
 * the file is read only when neither group nor others can read it (a key
 * that other users could have read is a key that may have leaked, and
 * refusing it loudly is better than running on it), and a new key never
 * replaces an existing file (that would orphan every secret sealed under
 * the old one).
 *
 * Format: exactly 32 raw bytes, or 64 hex digits with an optional final
 * newline (what `openssl rand -hex 32` prints). Nothing else is accepted:
 * a key file cut short or padded is an error, not a different key.
 *
 * A new key is written to a temporary file in the same directory, synced,
 * then published with link(2), which fails instead of replacing an
 * existing file, and the directory is synced: after a crash the path holds
 * either no key or the whole key, never a part of one.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/store_internal.h"
#include "veil/codec.h"
#include "veil/secret.h"

#define KEY_HEX_LEN (2 * VEIL_STORE_MASTER_KEY_LEN)
#define PATH_CAP    4096

veil_err veil_store_master_key_load(const char *path, uint8_t key[VEIL_STORE_MASTER_KEY_LEN])
{
	/* One byte more than the longest valid file, to see an overlong one. */
	uint8_t buf[KEY_HEX_LEN + 2];
	struct stat st;
	size_t got = 0, n = 0;
	veil_err err = VEIL_OK;
	int fd;

	ENSURE(path != NULL && key != NULL, VEIL_E_USAGE, "master key: no path given");
	/* Symbolic links are followed (a Kubernetes secret volume is made of
	 * them); the mode checked is that of the file actually read, through
	 * the same descriptor, so nothing can swap it in between. */
	fd = open(path, O_RDONLY | O_CLOEXEC);
	ENSURE(fd >= 0, errno == ENOENT ? VEIL_E_NOT_FOUND : VEIL_E_IO,
	       "cannot read the master key %s: %s (create one with veil_store_master_key_create, "
	       "or point --master-key at it)",
	       path, strerror(errno));
	CHECK_THAT(fstat(fd, &st) == 0 && S_ISREG(st.st_mode), VEIL_E_IO,
		   "the master key %s is not a regular file", path);
	CHECK_THAT((st.st_mode & 077) == 0, VEIL_E_USAGE,
		   "permissions %04o for the master key %s are too open: it decrypts every "
		   "secret in the store, so no other user may read it (chmod 600 %s)",
		   (unsigned)(st.st_mode & 07777), path, path);
	while (got < sizeof buf) {
		ssize_t r = read(fd, buf + got, sizeof buf - got);
		if (r < 0 && errno == EINTR)
			continue;
		CHECK_THAT(r >= 0, VEIL_E_IO, "cannot read the master key %s: %s", path,
			   strerror(errno));
		if (r == 0)
			break;
		got += (size_t)r;
	}
	if (got == VEIL_STORE_MASTER_KEY_LEN) {
		memcpy(key, buf, VEIL_STORE_MASTER_KEY_LEN);
		goto out;
	}
	if (got == KEY_HEX_LEN + 1 && buf[KEY_HEX_LEN] == '\n')
		got--;
	CHECK_THAT(got == KEY_HEX_LEN, VEIL_E_MALFORMED,
		   "the master key %s holds %s%zu bytes: it must hold exactly %d raw bytes or %d "
		   "hex digits and an optional newline",
		   path, got == sizeof buf ? "more than " : "", got == sizeof buf ? got - 1 : got,
		   VEIL_STORE_MASTER_KEY_LEN, KEY_HEX_LEN);
	err = veil_hex_decode((const char *)buf, KEY_HEX_LEN, key, VEIL_STORE_MASTER_KEY_LEN, &n);
	if (err != VEIL_OK || n != VEIL_STORE_MASTER_KEY_LEN) {
		veil_wipe(key, VEIL_STORE_MASTER_KEY_LEN);
		err = veil_fail(VEIL_E_MALFORMED,
				"the master key %s is 64 bytes but not hex: it must hold exactly "
				"%d raw bytes or %d hex digits",
				path, VEIL_STORE_MASTER_KEY_LEN, KEY_HEX_LEN);
	}
out:
	veil_wipe(buf, sizeof buf);
	close(fd);
	return err;
}

/* fsync of the folder that holds path, so a new name in it survives a
 * power loss too. */
static veil_err dir_sync(const char *path)
{
	char copy[PATH_CAP];
	const char *dir;
	int fd, rc;

	ENSURE((size_t)snprintf(copy, sizeof copy, "%s", path) < sizeof copy, VEIL_E_USAGE,
	       "master key path too long");
	dir = dirname(copy);
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	ENSURE(fd >= 0, VEIL_E_IO, "cannot open the folder %s: %s", dir, strerror(errno));
	rc = fsync(fd);
	close(fd);
	ENSURE(rc == 0, VEIL_E_IO, "cannot sync the folder %s: %s", dir, strerror(errno));
	return VEIL_OK;
}

static veil_err write_all(int fd, const char *path, const void *p, size_t len)
{
	for (size_t done = 0; done < len;) {
		ssize_t n = write(fd, (const uint8_t *)p + done, len - done);
		if (n < 0 && errno == EINTR)
			continue;
		ENSURE(n > 0, VEIL_E_IO, "cannot write %s: %s", path, strerror(errno));
		done += (size_t)n;
	}
	return VEIL_OK;
}

veil_err veil_store_master_key_create(const char *path)
{
	uint8_t key[VEIL_STORE_MASTER_KEY_LEN];
	char hex[KEY_HEX_LEN + 2], tmp[PATH_CAP];
	veil_err err = VEIL_OK;
	bool linked = false;
	int fd = -1;

	ENSURE(path != NULL && *path != 0, VEIL_E_USAGE, "master key: no path given");
	ENSURE((size_t)snprintf(tmp, sizeof tmp, "%s.XXXXXX", path) < sizeof tmp, VEIL_E_USAGE,
	       "master key path too long");
	/* A friendly early refusal; link(2) below is what guarantees it. */
	ENSURE(access(path, F_OK) != 0, VEIL_E_USAGE,
	       "the master key %s exists already: it is never replaced (every secret sealed "
	       "under it would be lost); remove it by hand if that is what you want",
	       path);
	ENSURE(RAND_bytes(key, sizeof key) == 1, VEIL_E_CRYPTO, "no random bytes for a master key");
	veil_hex_encode(key, sizeof key, hex);
	hex[KEY_HEX_LEN] = '\n';
	/* mkostemp creates the file with mode 0600 and O_EXCL. */
	fd = mkostemp(tmp, O_CLOEXEC);
	CHECK_THAT(fd >= 0, VEIL_E_IO, "cannot create a file beside %s: %s", path, strerror(errno));
	CHECK_THAT(fchmod(fd, 0600) == 0, VEIL_E_IO, "cannot set the mode of %s: %s", tmp,
		   strerror(errno));
	CHECK(write_all(fd, tmp, hex, KEY_HEX_LEN + 1));
	CHECK_THAT(fsync(fd) == 0, VEIL_E_IO, "cannot sync %s: %s", tmp, strerror(errno));
	/* link(2) publishes the whole file under its name, or fails with
	 * EEXIST if another process got there first: never a replacement. */
	CHECK_THAT(link(tmp, path) == 0, errno == EEXIST ? VEIL_E_USAGE : VEIL_E_IO,
		   "cannot create the master key %s: %s", path, strerror(errno));
	linked = true;
	CHECK(dir_sync(path));
out:
	if (fd >= 0) {
		close(fd);
		(void)unlink(tmp);
	}
	if (err != VEIL_OK && linked)
		(void)unlink(path);
	veil_wipe(key, sizeof key);
	veil_wipe(hex, sizeof hex);
	return err;
}
