/*
 * sim_keys.c - keys and certificates of a simulated platform, and the
 * files that hold them.
 *
 * A sim platform is a small PKI: a self-signed root, a platform key and one
 * key per simulated GPU issued by it, all ECDSA P-384 like the AMD and
 * NVIDIA keys they stand in for. Private keys are written with mode 0600
 * (O_EXCL, so nothing is overwritten) and read back only when neither group
 * nor others can read them, the rule OpenSSH applies to its own keys.
 */
#include <errno.h>
#include <fcntl.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sim/sim_internal.h"
#include "veil/crypto.h"
#include "veil/secret.h"

EVP_PKEY *sim_key_generate(void)
{
	return EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
}

static bool add_ext(X509 *cert, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX v3;
	X509_EXTENSION *ext;
	bool ok;

	X509V3_set_ctx(&v3, issuer != NULL ? issuer : cert, cert, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &v3, nid, value);
	ok = ext != NULL && X509_add_ext(cert, ext, -1) == 1;
	X509_EXTENSION_free(ext);
	return ok;
}

/* A certificate for `key` named cn, issued by issuer/issuer_key (NULL: self-
 * signed), valid [not_before, not_after]. */
X509 *sim_cert_issue(const char *cn, EVP_PKEY *key, X509 *issuer, EVP_PKEY *issuer_key, bool ca,
		     int64_t not_before, int64_t not_after)
{
	X509 *cert = X509_new();
	X509_NAME *name = X509_NAME_new();
	uint8_t serial[16];
	BIGNUM *sn = NULL;
	bool ok = cert != NULL && name != NULL;

	ok = ok && RAND_bytes(serial, sizeof serial) == 1;
	serial[0] &= 0x7f; /* RFC 5280 section 4.1.2.2: a positive integer */
	ok = ok && (sn = BN_bin2bn(serial, sizeof serial, NULL)) != NULL &&
	     BN_to_ASN1_INTEGER(sn, X509_get_serialNumber(cert)) != NULL;
	ok = ok && X509_set_version(cert, 2) == 1 &&
	     X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
					(const unsigned char *)"Veil simulated TEE (INSECURE)", -1,
					-1, 0) == 1 &&
	     X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1,
					0) == 1 &&
	     X509_set_subject_name(cert, name) == 1 &&
	     X509_set_issuer_name(cert, issuer != NULL ? X509_get_subject_name(issuer) : name) ==
		 1 &&
	     ASN1_TIME_set(X509_getm_notBefore(cert), (time_t)not_before) != NULL &&
	     ASN1_TIME_set(X509_getm_notAfter(cert), (time_t)not_after) != NULL &&
	     X509_set_pubkey(cert, key) == 1;
	ok = ok && add_ext(cert, issuer, NID_basic_constraints,
			   ca ? "critical,CA:TRUE" : "critical,CA:FALSE");
	ok = ok && add_ext(cert, issuer, NID_key_usage,
			   ca ? "critical,keyCertSign,cRLSign" : "critical,digitalSignature");
	ok = ok && add_ext(cert, issuer, NID_subject_key_identifier, "hash");
	if (issuer != NULL)
		ok = ok && add_ext(cert, issuer, NID_authority_key_identifier, "keyid:always");
	ok = ok && X509_sign(cert, issuer_key != NULL ? issuer_key : key, EVP_sha384()) > 0;
	BN_free(sn);
	X509_NAME_free(name);
	if (!ok) {
		X509_free(cert);
		(void)veil_openssl_fail(VEIL_E_CRYPTO, "issuing a sim certificate");
		return NULL;
	}
	return cert;
}

/* Writes a new file (never replaces one) and syncs it. */
veil_err sim_file_write(const char *dir, const char *name, const void *data, size_t len,
			mode_t mode)
{
	char path[4096];
	veil_err err = VEIL_OK;
	int fd;

	ENSURE((size_t)snprintf(path, sizeof path, "%s/%s", dir, name) < sizeof path, VEIL_E_USAGE,
	       "path too long: %s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	ENSURE(fd >= 0, VEIL_E_IO, "cannot create %s: %s", path, strerror(errno));
	/* The umask may have taken bits away, never added any; be exact. */
	CHECK_THAT(fchmod(fd, mode) == 0, VEIL_E_IO, "cannot set the mode of %s: %s", path,
		   strerror(errno));
	for (size_t done = 0; done < len;) {
		ssize_t n = write(fd, (const uint8_t *)data + done, len - done);
		if (n < 0 && errno == EINTR)
			continue;
		CHECK_THAT(n > 0, VEIL_E_IO, "cannot write %s: %s", path, strerror(errno));
		done += (size_t)n;
	}
	CHECK_THAT(fsync(fd) == 0, VEIL_E_IO, "cannot sync %s: %s", path, strerror(errno));
out:
	close(fd);
	return err;
}

/* PEM of a key or certificate through a memory BIO (wiped for keys). */
static veil_err write_pem(const char *dir, const char *name, EVP_PKEY *key, X509 *cert)
{
	/* Secure heap for keys, so the buffer's earlier copies are wiped too. */
	BIO *bio = BIO_new(key != NULL ? BIO_s_secmem() : BIO_s_mem());
	char *data;
	long n;
	veil_err err;

	ENSURE(bio != NULL, VEIL_E_NOMEM, "out of memory");
	if ((key != NULL && PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL) != 1) ||
	    (cert != NULL && PEM_write_bio_X509(bio, cert) != 1)) {
		BIO_free(bio);
		return veil_openssl_fail(VEIL_E_CRYPTO, "encoding PEM");
	}
	n = BIO_get_mem_data(bio, &data);
	err = sim_file_write(dir, name, data, (size_t)n, key != NULL ? 0600 : 0644);
	if (key != NULL)
		veil_wipe(data, (size_t)n);
	BIO_free(bio);
	return err;
}

veil_err sim_key_write(const char *dir, const char *name, EVP_PKEY *key)
{
	return write_pem(dir, name, key, NULL);
}

veil_err sim_cert_write(const char *dir, const char *name, X509 *cert)
{
	return write_pem(dir, name, NULL, cert);
}

/* Reads a key file through one descriptor: the mode checked is the mode of
 * the file read (no window between a stat and an open). */
static veil_err key_file_read(const char *path, uint8_t **out, size_t *len)
{
	struct stat st;
	uint8_t *buf = NULL;
	size_t got = 0;
	veil_err err = VEIL_OK;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

	ENSURE(fd >= 0, VEIL_E_NOT_FOUND, "cannot read the sim key %s: %s", path, strerror(errno));
	CHECK_THAT(fstat(fd, &st) == 0 && S_ISREG(st.st_mode), VEIL_E_IO,
		   "%s is not a regular file", path);
	CHECK_THAT((st.st_mode & 077) == 0, VEIL_E_USAGE,
		   "permissions %04o for %s are too open: a private key must not be readable by "
		   "others (chmod 600 %s)",
		   (unsigned)(st.st_mode & 07777), path, path);
	CHECK_THAT(st.st_size > 0 && st.st_size <= 16 * 1024, VEIL_E_LIMIT,
		   "%s is not a sim key (size %lld)", path, (long long)st.st_size);
	buf = malloc((size_t)st.st_size);
	CHECK_THAT(buf != NULL, VEIL_E_NOMEM, "out of memory");
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);
		if (n < 0 && errno == EINTR)
			continue;
		CHECK_THAT(n > 0, VEIL_E_IO, "cannot read %s", path);
		got += (size_t)n;
	}
	*out = buf;
	*len = got;
	buf = NULL;
out:
	veil_free_secret(buf, buf != NULL ? (size_t)st.st_size : 0);
	close(fd);
	return err;
}

veil_err sim_key_read(const char *dir, const char *name, EVP_PKEY **out)
{
	char path[4096];
	uint8_t *buf = NULL;
	size_t len = 0;
	BIO *bio = NULL;
	veil_err err = VEIL_OK;

	*out = NULL;
	ENSURE((size_t)snprintf(path, sizeof path, "%s/%s", dir, name) < sizeof path, VEIL_E_USAGE,
	       "path too long: %s/%s", dir, name);
	TRY(key_file_read(path, &buf, &len));
	bio = BIO_new_mem_buf(buf, (int)len);
	CHECK_THAT(bio != NULL, VEIL_E_NOMEM, "out of memory");
	*out = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
	CHECK_THAT(*out != NULL, VEIL_E_MALFORMED, "%s holds no PEM private key", path);
	CHECK_THAT(EVP_PKEY_is_a(*out, "EC") && EVP_PKEY_get_bits(*out) == 384, VEIL_E_UNSUPPORTED,
		   "%s is not an ECDSA P-384 key", path);
out:
	if (err != VEIL_OK) {
		EVP_PKEY_free(*out);
		*out = NULL;
	}
	BIO_free(bio);
	veil_free_secret(buf, len);
	return err;
}

veil_err sim_cert_read(const char *dir, const char *name, X509 **out, uint8_t **der,
		       size_t *der_len)
{
	char path[4096];
	uint8_t *buf = NULL;
	size_t len = 0;
	STACK_OF(X509) *certs = NULL;
	unsigned char *enc = NULL;
	int n;
	veil_err err = VEIL_OK;

	*out = NULL;
	ENSURE((size_t)snprintf(path, sizeof path, "%s/%s", dir, name) < sizeof path, VEIL_E_USAGE,
	       "path too long: %s/%s", dir, name);
	TRY(veil_file_read(path, 64 * 1024, &buf, &len));
	CHECK(veil_certs_parse(buf, len, &certs));
	CHECK_THAT(sk_X509_num(certs) == 1, VEIL_E_MALFORMED, "%s must hold one certificate", path);
	n = i2d_X509(sk_X509_value(certs, 0), &enc);
	CHECK_THAT(n > 0, VEIL_E_CRYPTO, "cannot encode %s", path);
	*der = malloc((size_t)n);
	CHECK_THAT(*der != NULL, VEIL_E_NOMEM, "out of memory");
	memcpy(*der, enc, (size_t)n);
	*der_len = (size_t)n;
	*out = sk_X509_shift(certs);
out:
	OPENSSL_free(enc);
	sk_X509_pop_free(certs, X509_free);
	free(buf);
	return err;
}
