/*
 * open.c - opening a sealed model: decrypt with several threads into
 * anonymous memory, verify every chunk and the digest, fail closed.
 *
 * The order of checks: the header's form, then its MAC under the key (a
 * wrong key stops here, before any decryption), then the file's length
 * against the header (truncation and appended bytes stop here, before any
 * large allocation), then every chunk's tag, then the SHA-256 of the whole
 * plaintext against the header's digest. That digest is the model digest
 * the rest of Veil publishes, so it is recomputed from what was decrypted
 * rather than taken from the header.
 *
 * Work split: SHA-256 is serial (each block depends on the last), AES-GCM
 * is not. The calling thread hashes chunks in file order as they become
 * ready; the other threads claim chunks in order, read each one's
 * ciphertext straight into its final place in the plaintext mapping (one
 * preadv for the body and its tag) and decrypt it in place, so the data
 * is copied once, by the kernel. Workers run at most `window` chunks ahead
 * of the hash, which keeps what the hasher reads warm in the cache (and,
 * for --verify-only, bounds memory to window chunks reused in a ring).
 * When the next chunk to hash is not ready, the hasher decrypts one itself
 * rather than wait, so one thread works as well as many.
 */
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "seal/seal_internal.h"
#include "veil/codec.h"
#include "veil/secret.h"

typedef struct open_job {
	int fd;
	const veil_seal_info *info;
	const seal_keys *keys;
	uint8_t *dest;  /* the plaintext, or NULL for verify-only */
	uint8_t *slots; /* verify-only: window chunk buffers */
	uint64_t window;
	uint64_t *ready; /* ring of window entries: chunk i done => ready[i % window] == i + 1 */

	pthread_mutex_t lock;
	pthread_cond_t cond;
	uint64_t next;   /* next chunk to claim */
	uint64_t hashed; /* chunks hashed so far */
	bool failed;
	veil_err err;
	char detail[VEIL_ERR_DETAIL_MAX];
} open_job;

static uint8_t *chunk_buf(const open_job *j, uint64_t i)
{
	if (j->dest != NULL)
		return j->dest + i * j->info->chunk_size;
	return j->slots + (i % j->window) * j->info->chunk_size;
}

/* Reads chunk i's ciphertext into place and decrypts it there. */
static veil_err chunk_open(open_job *j, EVP_CIPHER_CTX *ctx, uint64_t i)
{
	uint8_t tag[SEAL_TAG_LEN], *buf = chunk_buf(j, i);
	size_t len = seal_chunk_len(j->info, i), want = len + SEAL_TAG_LEN;
	uint64_t off = seal_chunk_offset(j->info, i);
	struct iovec iov[2] = {{buf, len}, {tag, SEAL_TAG_LEN}};
	ssize_t n;

	do
		n = preadv(j->fd, iov, 2, (off_t)off);
	while (n < 0 && errno == EINTR);
	ENSURE(n >= 0, VEIL_E_IO, "cannot read chunk %llu: %s", (unsigned long long)i + 1,
	       strerror(errno));
	if ((size_t)n < want) {
		/* A short read of a regular file: finish piecewise. */
		size_t got = (size_t)n;
		if (got < len)
			TRY(seal_pread_full(j->fd, buf + got, len - got, off + got));
		got = got > len ? got - len : 0;
		TRY(seal_pread_full(j->fd, tag + got, SEAL_TAG_LEN - got, off + len + got));
	}
	return seal_chunk_decrypt(ctx, j->keys, i, j->info->chunk_count, buf, len, tag);
}

/* Records the first failure, with its detail from this thread. */
static void job_fail(open_job *j, veil_err err)
{
	if (!j->failed) {
		j->failed = true;
		j->err = err;
		snprintf(j->detail, sizeof j->detail, "%s", veil_err_detail());
	}
	pthread_cond_broadcast(&j->cond);
}

/* With the lock held: claims the next chunk if one is claimable. */
static bool job_claim(open_job *j, uint64_t *i)
{
	if (j->failed || j->next >= j->info->chunk_count || j->next >= j->hashed + j->window)
		return false;
	*i = j->next++;
	return true;
}

/* Decrypts claimed chunk i with the lock dropped, then publishes it. */
static void job_decrypt(open_job *j, EVP_CIPHER_CTX *ctx, uint64_t i)
{
	veil_err err;

	pthread_mutex_unlock(&j->lock);
	err = chunk_open(j, ctx, i);
	pthread_mutex_lock(&j->lock);
	if (err != VEIL_OK) {
		job_fail(j, err);
		return;
	}
	j->ready[i % j->window] = i + 1;
	pthread_cond_broadcast(&j->cond);
}

typedef struct worker {
	open_job *job;
	EVP_CIPHER_CTX *ctx;
	pthread_t thread;
} worker;

static void *worker_main(void *arg)
{
	worker *w = arg;
	open_job *j = w->job;
	uint64_t i;

	pthread_mutex_lock(&j->lock);
	for (;;) {
		if (job_claim(j, &i)) {
			job_decrypt(j, w->ctx, i);
			continue;
		}
		if (j->failed || j->next >= j->info->chunk_count)
			break;
		pthread_cond_wait(&j->cond, &j->lock);
	}
	pthread_mutex_unlock(&j->lock);
	return NULL;
}

/* The calling thread: hash in order, decrypting when nothing is ready. */
static veil_err hash_all(open_job *j, EVP_CIPHER_CTX *ctx, veil_seal_progress_fn progress,
			 void *user)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	uint8_t digest[VEIL_SEAL_DIGEST_LEN];
	char want[2 * VEIL_SEAL_DIGEST_LEN + 1], got[2 * VEIL_SEAL_DIGEST_LEN + 1];
	uint64_t done = 0, i;
	veil_err err = VEIL_OK;

	if (md == NULL || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1) {
		EVP_MD_CTX_free(md);
		return veil_fail(VEIL_E_CRYPTO, "cannot start SHA-256");
	}
	pthread_mutex_lock(&j->lock);
	while (j->hashed < j->info->chunk_count) {
		uint64_t h = j->hashed;
		if (j->failed)
			break;
		if (j->ready[h % j->window] != h + 1) {
			if (job_claim(j, &i))
				job_decrypt(j, ctx, i);
			else
				pthread_cond_wait(&j->cond, &j->lock);
			continue;
		}
		pthread_mutex_unlock(&j->lock);
		size_t len = seal_chunk_len(j->info, h);
		int ok = EVP_DigestUpdate(md, chunk_buf(j, h), len);
		done += len;
		if (progress != NULL)
			progress(done, j->info->plaintext_len, user);
		pthread_mutex_lock(&j->lock);
		if (ok != 1) {
			veil_fail(VEIL_E_CRYPTO, "SHA-256 failed");
			job_fail(j, VEIL_E_CRYPTO);
			break;
		}
		j->hashed++;
		pthread_cond_broadcast(&j->cond);
	}
	if (j->failed)
		err = j->err;
	pthread_mutex_unlock(&j->lock);
	if (err == VEIL_OK && EVP_DigestFinal_ex(md, digest, NULL) != 1)
		err = veil_fail(VEIL_E_CRYPTO, "SHA-256 failed");
	if (err == VEIL_OK && !veil_ct_equal(digest, j->info->digest, sizeof digest)) {
		veil_hex_encode(digest, sizeof digest, got);
		veil_hex_encode(j->info->digest, sizeof digest, want);
		err = veil_fail(
		    VEIL_E_MISMATCH,
		    "every chunk authenticates, but the plaintext's SHA-256 is %s and the "
		    "header says %s: the file was sealed wrongly",
		    got, want);
	}
	EVP_MD_CTX_free(md);
	return err;
}

static unsigned thread_count(unsigned threads, uint64_t chunks)
{
	if (threads == 0) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);
		threads = n > 0 ? (unsigned)n : 1;
	}
	if (threads > VEIL_SEAL_THREADS_MAX)
		threads = VEIL_SEAL_THREADS_MAX;
	if (threads > chunks)
		threads = (unsigned)chunks;
	return threads;
}

/* Runs the decryption and hash with `threads` threads in all. */
static veil_err job_run(open_job *j, unsigned threads, veil_seal_progress_fn progress, void *user)
{
	worker w[VEIL_SEAL_THREADS_MAX];
	unsigned started = 0;
	veil_err err = VEIL_OK;

	memset(w, 0, sizeof w);
	for (unsigned t = 0; t < threads && err == VEIL_OK; t++) {
		w[t].job = j;
		err = seal_cipher_new(j->keys, false, &w[t].ctx);
	}
	/* Worker 0 is this thread. A thread that cannot start leaves its
	 * share to the others. */
	for (unsigned t = 1; t < threads && err == VEIL_OK; t++)
		if (pthread_create(&w[t].thread, NULL, worker_main, &w[t]) == 0)
			started = t;
		else
			break;
	if (err == VEIL_OK)
		err = hash_all(j, w[0].ctx, progress, user);
	else {
		pthread_mutex_lock(&j->lock);
		job_fail(j, err);
		pthread_mutex_unlock(&j->lock);
	}
	for (unsigned t = 1; t <= started; t++)
		pthread_join(w[t].thread, NULL);
	for (unsigned t = 0; t < threads; t++)
		EVP_CIPHER_CTX_free(w[t].ctx);
	/* A worker's detail was recorded on its own thread. */
	if (err != VEIL_OK && j->failed && err == j->err && j->detail[0] != '\0')
		err = veil_fail(err, "%s", j->detail);
	return err;
}

/* Reads the header, checks its MAC and the file's length. */
static veil_err open_header(int fd, const uint8_t key[VEIL_SEAL_KEY_LEN], veil_seal_info *info,
			    seal_keys *keys)
{
	uint8_t buf[VEIL_SEAL_HEADER_MAX];
	seal_header h;
	struct stat st;
	ssize_t n;

	ENSURE(fstat(fd, &st) == 0, VEIL_E_IO, "cannot stat the sealed file: %s", strerror(errno));
	ENSURE(S_ISREG(st.st_mode), VEIL_E_USAGE, "a sealed model must be a regular file");
	do
		n = pread(fd, buf, sizeof buf, 0);
	while (n < 0 && errno == EINTR);
	ENSURE(n >= 0, VEIL_E_IO, "cannot read the sealed file: %s", strerror(errno));
	TRY(seal_header_read(buf, (size_t)n, info, &h));
	TRY(seal_keys_derive(key, &h, keys));
	TRY(seal_header_check(buf, info, &h, keys));
	/* Authenticated now; the file must be exactly what it describes. */
	ENSURE((uint64_t)st.st_size >= info->file_len, VEIL_E_TRUNCATED,
	       "the sealed file is %lld bytes; its header describes %llu: it was truncated",
	       (long long)st.st_size, (unsigned long long)info->file_len);
	ENSURE((uint64_t)st.st_size == info->file_len, VEIL_E_TRAILING,
	       "the sealed file is %lld bytes; its header describes %llu: bytes were appended",
	       (long long)st.st_size, (unsigned long long)info->file_len);
	return VEIL_OK;
}

veil_err veil_seal_open_fd(int fd, const uint8_t key[VEIL_SEAL_KEY_LEN], unsigned threads,
			   unsigned flags, veil_seal_progress_fn progress, void *progress_user,
			   veil_sealed_model *out)
{
	open_job j;
	seal_keys keys;
	void *map = NULL, *slots = NULL;
	size_t map_len = 0, slots_len = 0;
	bool verify_only = (flags & VEIL_SEAL_VERIFY_ONLY) != 0;
	bool lock = (flags & VEIL_SEAL_LOCK) != 0 && !verify_only;
	veil_err err;

	memset(out, 0, sizeof *out);
	memset(&j, 0, sizeof j);
	memset(&keys, 0, sizeof keys);
	ENSURE((flags & ~(unsigned)(VEIL_SEAL_LOCK | VEIL_SEAL_VERIFY_ONLY)) == 0, VEIL_E_USAGE,
	       "unknown flags 0x%x", flags);
	CHECK(open_header(fd, key, &out->info, &keys));
	(void)posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	threads = thread_count(threads, out->info.chunk_count);
	j.fd = fd;
	j.info = &out->info;
	j.keys = &keys;
	/* Lookahead: enough for every thread to have a chunk in hand and one
	 * queued; in verify-only mode each slot is a chunk of memory. */
	j.window = verify_only ? 2 * (uint64_t)threads + 2 : 4 * (uint64_t)threads + 4;
	if (j.window > out->info.chunk_count)
		j.window = out->info.chunk_count;
	j.ready = calloc(j.window, sizeof *j.ready);
	CHECK_THAT(j.ready != NULL, VEIL_E_NOMEM, "out of memory");
	if (verify_only) {
		CHECK(seal_mem_map(j.window * out->info.chunk_size, false, &slots, &slots_len));
		j.slots = slots;
	} else {
		CHECK_THAT(out->info.plaintext_len <= SIZE_MAX, VEIL_E_LIMIT,
			   "the model does not fit in this address space");
		CHECK(seal_mem_map((size_t)out->info.plaintext_len, lock, &map, &map_len));
		j.dest = map;
	}
	pthread_mutex_init(&j.lock, NULL);
	pthread_cond_init(&j.cond, NULL);
	err = job_run(&j, threads, progress, progress_user);
	pthread_cond_destroy(&j.cond);
	pthread_mutex_destroy(&j.lock);
	if (err == VEIL_OK && map != NULL)
		err = seal_mem_seal(map, map_len);
out:
	seal_keys_clear(&keys);
	free(j.ready);
	seal_mem_unmap(slots, slots_len, slots_len, false);
	if (err != VEIL_OK) {
		/* Chunks past the last one claimed were never written. */
		uint64_t used = j.next * (uint64_t)out->info.chunk_size;
		seal_mem_unmap(map, map_len, used > map_len ? map_len : (size_t)used, lock);
		memset(out, 0, sizeof *out);
		return err;
	}
	out->map = map;
	out->map_len = map_len;
	out->locked = lock;
	out->data = map;
	out->len = verify_only ? 0 : (size_t)out->info.plaintext_len;
	if (verify_only)
		out->data = NULL;
	return VEIL_OK;
}

veil_err veil_seal_open(const char *path, const uint8_t key[VEIL_SEAL_KEY_LEN], unsigned threads,
			unsigned flags, veil_seal_progress_fn progress, void *progress_user,
			veil_sealed_model *out)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	veil_err err;

	memset(out, 0, sizeof *out);
	ENSURE(fd >= 0, VEIL_E_IO, "cannot open %s: %s", path, strerror(errno));
	err = veil_seal_open_fd(fd, key, threads, flags, progress, progress_user, out);
	close(fd);
	if (err != VEIL_OK)
		return veil_fail_context(err, "%s", path);
	return VEIL_OK;
}

void veil_sealed_model_clear(veil_sealed_model *m)
{
	if (m == NULL)
		return;
	seal_mem_unmap(m->map, m->map_len, m->map_len, m->locked);
	memset(m, 0, sizeof *m);
}
