/*
 * keyfile.c - a sealed model's key in a file (docs/sealed-model.md, "Keys").
 *
 * The file form is the KBS resource form: 32 raw bytes, exactly what
 * `veil kbs put-resource` uploads and `veil kbs fetch --out` writes, so a
 * key moves between a file and the broker unchanged. 64 hex digits (and
 * one optional newline) are accepted as well, for keys pasted by hand.
 * A key file is created 0600 and never replaces an existing file: losing
 * the only copy of a model's key to a typo would lose the model.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "veil/codec.h"
#include "veil/seal.h"
#include "veil/secret.h"

/* 64 hex digits, a CR and an LF, and one byte to tell a longer file. */
#define KEY_FILE_READ_MAX (2 * VEIL_SEAL_KEY_LEN + 3)

veil_err veil_seal_key_write(const char *path, const uint8_t key[VEIL_SEAL_KEY_LEN])
{
	/* O_EXCL: never replace, and never follow a planted link. The umask
	 * can only take bits away from 0600. */
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	ssize_t n;

	ENSURE(fd >= 0, VEIL_E_IO, "cannot create the key file %s: %s%s", path, strerror(errno),
	       errno == EEXIST ? " (a key file is never replaced)" : "");
	do
		n = write(fd, key, VEIL_SEAL_KEY_LEN);
	while (n < 0 && errno == EINTR);
	if (n != VEIL_SEAL_KEY_LEN || fsync(fd) != 0) {
		int e = errno;
		close(fd);
		unlink(path);
		return veil_fail(VEIL_E_IO, "cannot write the key file %s: %s", path,
				 n < 0 ? strerror(e) : "short write");
	}
	ENSURE(close(fd) == 0, VEIL_E_IO, "cannot write the key file %s: %s", path,
	       strerror(errno));
	return VEIL_OK;
}

veil_err veil_seal_key_read(const char *path, uint8_t key[VEIL_SEAL_KEY_LEN])
{
	uint8_t buf[KEY_FILE_READ_MAX];
	size_t len = 0, out_len = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	veil_err err = VEIL_OK;

	ENSURE(fd >= 0, VEIL_E_IO, "cannot open the key file %s: %s", path, strerror(errno));
	while (len < sizeof buf) {
		ssize_t n = read(fd, buf + len, sizeof buf - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			err = veil_fail(VEIL_E_IO, "cannot read the key file %s: %s", path,
					strerror(errno));
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	if (err != VEIL_OK)
		goto out;
	if (len == VEIL_SEAL_KEY_LEN) {
		memcpy(key, buf, VEIL_SEAL_KEY_LEN);
		goto out;
	}
	/* Hex, then an optional "\n" or "\r\n". */
	if (len > 2 * VEIL_SEAL_KEY_LEN && buf[len - 1] == '\n')
		len--;
	if (len > 2 * VEIL_SEAL_KEY_LEN && buf[len - 1] == '\r')
		len--;
	if (len != 2 * VEIL_SEAL_KEY_LEN ||
	    veil_hex_decode((const char *)buf, len, key, VEIL_SEAL_KEY_LEN, &out_len) != VEIL_OK ||
	    out_len != VEIL_SEAL_KEY_LEN)
		err =
		    veil_fail(VEIL_E_MALFORMED,
			      "the key file %s holds neither 32 raw bytes nor 64 hex digits", path);
out:
	veil_wipe(buf, sizeof buf);
	if (err != VEIL_OK)
		veil_wipe(key, VEIL_SEAL_KEY_LEN);
	return err;
}
