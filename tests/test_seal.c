/*
 * test_seal.c - sealed models: round trips, keys and key files, where the
 * plaintext lives, output that is never half-written, and progress that
 * stays quiet off a terminal (docs/sealed-model.md).
 *
 * The tamper cases (every way a sealed file can be altered) are in
 * test_seal_tamper.c; the header parser and the format itself, checked
 * against the document, in test_seal_format.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <sys/resource.h>

#include "test_seal_util.h"
#include "veil/codec.h"
#include "veil/crypto.h"

/* The sanitizers' runtimes make mlock a no-op. */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define UNDER_SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define UNDER_SANITIZER 1
#endif
#endif
#ifndef UNDER_SANITIZER
#define UNDER_SANITIZER 0
#endif

static uint64_t chunks_for(size_t len, size_t chunk)
{
	return len == 0 ? 1 : (len + chunk - 1) / chunk;
}

/* Opens f's sealed file and checks everything about the result. */
static void check_open(seal_fx *f, unsigned threads, size_t chunk)
{
	veil_sealed_model m;
	uint8_t digest[32];

	EXPECT_OK(veil_seal_open(f->sealed, f->key, threads, 0, NULL, NULL, &m));
	REQUIRE(m.len == f->len);
	EXPECT(m.data != NULL);
	EXPECT(f->len == 0 || memcmp(m.data, f->data, f->len) == 0);
	EXPECT_OK(veil_sha256(f->data, f->len, digest));
	EXPECT(memcmp(m.info.digest, digest, 32) == 0);
	EXPECT(m.info.plaintext_len == f->len);
	EXPECT(m.info.chunk_size == chunk);
	EXPECT(m.info.chunk_count == chunks_for(f->len, chunk));
	EXPECT(m.info.file_len == f->file_len);
	EXPECT(f->file_len == m.info.header_len + f->len + 16 * m.info.chunk_count);
	veil_sealed_model_clear(&m);
	EXPECT(fx_zeroed(&m));
	veil_sealed_model_clear(&m); /* twice is fine */

	EXPECT_OK(
	    veil_seal_open(f->sealed, f->key, threads, VEIL_SEAL_VERIFY_ONLY, NULL, NULL, &m));
	EXPECT(m.data == NULL && m.len == 0);
	EXPECT(memcmp(m.info.digest, digest, 32) == 0);
	veil_sealed_model_clear(&m);
}

TEST(round_trip_sizes)
{
	/* Empty, one byte, a chunk less one, exactly one chunk, a chunk and
	 * one byte, exact and ragged multiples, and a dozen chunks. */
	static const size_t sizes[] = {0,    1,        4095,         4096,
				       4097, 3 * 4096, 3 * 4096 + 5, 12 * 4096 + 77};
	static const unsigned threads[] = {1, 2, 4, 0};

	for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
		seal_fx f;
		REQUIRE(fx_init(&f, sizes[i], 0, "default/model/llama"));
		EXPECT(f.info.chunk_count == chunks_for(sizes[i], FX_CHUNK));
		EXPECT(strcmp(f.info.resource, "default/model/llama") == 0);
		for (size_t t = 0; t < sizeof threads / sizeof threads[0]; t++)
			check_open(&f, threads[t], FX_CHUNK);
		fx_free(&f);
	}
}

TEST(round_trip_default_chunks)
{
	seal_fx f;
	veil_seal_params p = {0};
	int fd;
	veil_sealed_model m;

	/* Two 1 MiB chunks and a ragged third, no resource path. */
	REQUIRE(fx_init(&f, 2 * 1024 * 1024 + 3, 0, NULL));
	REQUIRE(unlink(f.sealed) == 0);
	EXPECT_OK(veil_seal_file(f.plain, f.sealed, f.key, &p, NULL, NULL, &f.info));
	EXPECT(f.info.chunk_size == 1024 * 1024 && f.info.chunk_count == 3);
	EXPECT(f.info.resource[0] == '\0');
	free(f.file);
	f.file = fx_read(f.sealed, &f.file_len);
	check_open(&f, 2, 1024 * 1024);
	/* From a descriptor the caller keeps. */
	fd = open(f.sealed, O_RDONLY);
	REQUIRE(fd >= 0);
	EXPECT_OK(veil_seal_open_fd(fd, f.key, 3, 0, NULL, NULL, &m));
	EXPECT(m.len == f.len && memcmp(m.data, f.data, f.len) == 0);
	veil_sealed_model_clear(&m);
	EXPECT(fcntl(fd, F_GETFD) != -1); /* still open */
	close(fd);
	fx_free(&f);
}

TEST(each_seal_is_fresh)
{
	seal_fx f;
	veil_seal_info again;

	/* The same model and key sealed twice: a new salt and prefix, so
	 * the files differ everywhere but in the plaintext's description. */
	REQUIRE(fx_init(&f, 5000, 0, NULL));
	EXPECT_OK(veil_seal_file(f.plain, f.other, f.key,
				 &(veil_seal_params){.chunk_log2 = FX_CHUNK_LOG2}, NULL, NULL,
				 &again));
	size_t n;
	uint8_t *other = fx_read(f.other, &n);
	REQUIRE(other != NULL && n == f.file_len);
	EXPECT(memcmp(again.digest, f.info.digest, 32) == 0);
	EXPECT(memcmp(other + 56, f.file + 56, 32) != 0); /* salt */
	EXPECT(memcmp(other + 88, f.file + 88, 7) != 0);  /* nonce prefix */
	EXPECT(memcmp(other + f.info.header_len, f.file + f.info.header_len, 64) != 0);
	free(other);
	fx_free(&f);
}

TEST(wrong_key_is_refused_before_decrypting)
{
	seal_fx f;
	veil_sealed_model m;
	uint8_t key[VEIL_SEAL_KEY_LEN];

	REQUIRE(fx_init(&f, 3 * 4096, 0, NULL));
	memcpy(key, f.key, sizeof key);
	key[31] ^= 0x01;
	EXPECT_ERR(veil_seal_open(f.sealed, key, 2, 0, NULL, NULL, &m), VEIL_E_VERIFY);
	EXPECT(strstr(veil_err_detail(), "wrong key") != NULL);
	EXPECT(fx_zeroed(&m));
	EXPECT_ERR(veil_seal_open(f.sealed, key, 1, VEIL_SEAL_VERIFY_ONLY, NULL, NULL, &m),
		   VEIL_E_VERIFY);
	memset(key, 0, sizeof key);
	EXPECT_ERR(veil_seal_open(f.sealed, key, 2, 0, NULL, NULL, &m), VEIL_E_VERIFY);
	EXPECT_ERR(veil_seal_open(f.sealed, f.key, 2, 0x80, NULL, NULL, &m), VEIL_E_USAGE);
	fx_free(&f);
}

/* The permissions and VmFlags of the mapping that starts at addr. */
static bool smaps_of(const void *addr, char perms[5], char *flags, size_t cap)
{
	char line[512], start[32];
	FILE *s = fopen("/proc/self/smaps", "r");
	bool in = false, found = false;

	snprintf(start, sizeof start, "%lx-", (unsigned long)(uintptr_t)addr);
	if (s == NULL)
		return false;
	while (fgets(line, sizeof line, s) != NULL) {
		size_t hex = strspn(line, "0123456789abcdef");
		if (hex > 0 && line[hex] == '-') { /* "start-end perms ..." */
			in = strncmp(line, start, strlen(start)) == 0;
			if (in) {
				const char *sp = strchr(line, ' ');
				snprintf(perms, 5, "%.4s", sp != NULL ? sp + 1 : "????");
			}
		} else if (in && strncmp(line, "VmFlags:", 8) == 0) {
			snprintf(flags, cap, "%.*s", (int)(cap - 1), line + 8);
			found = true;
			break;
		}
	}
	fclose(s);
	return found;
}

TEST(plaintext_memory_is_anonymous_undumpable_and_read_only)
{
	seal_fx f;
	veil_sealed_model m;
	char perms[5], flags[256];
	const void *where;

	REQUIRE(fx_init(&f, 5 * 4096 + 9, 0, NULL));
	EXPECT_OK(veil_seal_open(f.sealed, f.key, 2, 0, NULL, NULL, &m));
	REQUIRE(m.data != NULL);
	REQUIRE(smaps_of(m.data, perms, flags, sizeof flags));
	EXPECT(strcmp(perms, "r--p") == 0);   /* private, read-only once verified */
	EXPECT(strstr(flags, " dd") != NULL); /* MADV_DONTDUMP */
	EXPECT(strstr(flags, " dc") != NULL); /* MADV_DONTFORK */
	where = m.data;
	veil_sealed_model_clear(&m);
	EXPECT(!smaps_of(where, perms, flags, sizeof flags));

	/* Locked on request (root may lock without limit; others have at
	 * least 64 KiB, more than this model). */
	EXPECT_OK(veil_seal_open(f.sealed, f.key, 2, VEIL_SEAL_LOCK, NULL, NULL, &m));
	REQUIRE(m.data != NULL && smaps_of(m.data, perms, flags, sizeof flags));
	EXPECT(strstr(flags, " lo") != NULL || UNDER_SANITIZER);
	veil_sealed_model_clear(&m);
	fx_free(&f);
}

TEST(lock_failure_says_what_to_do)
{
	seal_fx f;
	veil_sealed_model m;
	struct rlimit old, none;
	veil_err err;

	REQUIRE(fx_init(&f, 64 * 4096, 0, NULL));
	REQUIRE(getrlimit(RLIMIT_MEMLOCK, &old) == 0);
	none = old;
	none.rlim_cur = 0;
	REQUIRE(setrlimit(RLIMIT_MEMLOCK, &none) == 0);
	err = veil_seal_open(f.sealed, f.key, 2, VEIL_SEAL_LOCK, NULL, NULL, &m);
	REQUIRE(setrlimit(RLIMIT_MEMLOCK, &old) == 0);
	/* With CAP_IPC_LOCK (root) the limit does not apply and it opens. */
	if (err == VEIL_OK) {
		veil_sealed_model_clear(&m);
	} else {
		EXPECT_ERR(err, VEIL_E_NOMEM);
		EXPECT(strstr(veil_err_detail(), "ulimit -l") != NULL);
		EXPECT(fx_zeroed(&m));
	}
	fx_free(&f);
}

TEST(peek_reads_the_header_without_a_key)
{
	seal_fx f;
	veil_seal_info info;

	REQUIRE(fx_init(&f, 100, 0, "default/model/x"));
	EXPECT_OK(veil_seal_peek(f.sealed, &info));
	EXPECT(strcmp(info.resource, "default/model/x") == 0);
	EXPECT(memcmp(info.digest, f.info.digest, 32) == 0);
	EXPECT_ERR(veil_seal_peek(f.plain, &info), VEIL_E_MALFORMED);
	EXPECT(strstr(veil_err_detail(), "not a sealed model") != NULL);
	REQUIRE(fx_write(f.other, "VEILSEAL", 8));
	EXPECT_ERR(veil_seal_peek(f.other, &info), VEIL_E_TRUNCATED);
	EXPECT_ERR(veil_seal_peek(f.dir, &info), VEIL_E_IO);
	char absent[160];
	snprintf(absent, sizeof absent, "%s.absent", f.other);
	EXPECT_ERR(veil_seal_peek(absent, &info), VEIL_E_IO);
	fx_free(&f);
}

TEST(key_files)
{
	seal_fx f;
	char path[160], hex[65];
	uint8_t key[VEIL_SEAL_KEY_LEN], back[VEIL_SEAL_KEY_LEN], *raw;
	struct stat st;
	size_t n;
	mode_t old = umask(022);

	REQUIRE(fx_init(&f, 0, 0, NULL));
	REQUIRE(RAND_bytes(key, sizeof key) == 1);
	snprintf(path, sizeof path, "%s/model.key", f.dir);
	EXPECT_OK(veil_seal_key_write(path, key));
	REQUIRE(stat(path, &st) == 0);
	EXPECT((st.st_mode & 0777) == 0600);
	EXPECT(st.st_size == VEIL_SEAL_KEY_LEN);
	EXPECT_OK(veil_seal_key_read(path, back));
	EXPECT(memcmp(key, back, sizeof key) == 0);
	/* Never replaced. */
	EXPECT_ERR(veil_seal_key_write(path, f.key), VEIL_E_IO);
	EXPECT(strstr(veil_err_detail(), "never replaced") != NULL);
	raw = fx_read(path, &n);
	EXPECT(raw != NULL && n == 32 && memcmp(raw, key, 32) == 0);
	free(raw);
	/* Hex, with and without a line end, either case. */
	veil_hex_encode(key, sizeof key, hex);
	const char *ends[] = {"", "\n", "\r\n"};
	for (size_t i = 0; i < 3; i++) {
		char text[80];
		snprintf(text, sizeof text, "%s%s", hex, ends[i]);
		if (i == 2)
			for (char *c = text; *c != '\0'; c++)
				if (*c >= 'a' && *c <= 'f')
					*c = (char)(*c - 'a' + 'A');
		REQUIRE(fx_write(f.other, text, strlen(text)));
		memset(back, 0, sizeof back);
		EXPECT_OK(veil_seal_key_read(f.other, back));
		EXPECT(memcmp(key, back, sizeof key) == 0);
	}
	/* Anything else: 31 or 33 raw bytes, 63 or 66 hex digits, a non-hex
	 * digit, two newlines, an empty file. */
	const struct {
		const char *text;
		size_t len;
	} bad[] = {
	    {hex, 31},
	    {hex, 33},
	    {hex, 63},
	    {"", 0},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		REQUIRE(fx_write(f.other, bad[i].text, bad[i].len));
		EXPECT_ERR(veil_seal_key_read(f.other, back), VEIL_E_MALFORMED);
	}
	char text[80];
	snprintf(text, sizeof text, "%s00", hex);
	REQUIRE(fx_write(f.other, text, 66));
	EXPECT_ERR(veil_seal_key_read(f.other, back), VEIL_E_MALFORMED);
	snprintf(text, sizeof text, "%s\n\n", hex);
	REQUIRE(fx_write(f.other, text, 66));
	EXPECT_ERR(veil_seal_key_read(f.other, back), VEIL_E_MALFORMED);
	snprintf(text, sizeof text, "%s", hex);
	text[10] = 'g';
	REQUIRE(fx_write(f.other, text, 64));
	EXPECT_ERR(veil_seal_key_read(f.other, back), VEIL_E_MALFORMED);
	EXPECT_ERR(veil_seal_key_read(f.dir, back), VEIL_E_IO);
	umask(old);
	fx_free(&f);
}

/* A before_publish hook that fails, and one that counts. */
static veil_err hook_fail(void *user)
{
	(*(int *)user)++;
	return veil_fail(VEIL_E_IO, "the key could not be stored");
}

static veil_err hook_count(void *user)
{
	(*(int *)user)++;
	return VEIL_OK;
}

/* A progress callback that rewrites one byte of the model mid-seal. */
static void change_input(uint64_t done, uint64_t total, void *user)
{
	const char *path = user;
	int fd;

	(void)total;
	if (done == 4096 / 2) { /* the first chunk of the first pass, hashed */
		fd = open(path, O_WRONLY);
		if (fd >= 0) {
			if (pwrite(fd, "!", 1, 100) != 1)
				perror("pwrite");
			close(fd);
		}
	}
}

TEST(output_never_half_written)
{
	seal_fx f;
	veil_seal_params p = {.chunk_log2 = FX_CHUNK_LOG2};
	struct rlimit old, small;
	int calls = 0;
	uint8_t *before;
	size_t before_len, n;

	REQUIRE(fx_init(&f, 64 * 4096, 0, NULL));
	/* The disk fills (RLIMIT_FSIZE: writes past 64 KiB fail with EFBIG). */
	signal(SIGXFSZ, SIG_IGN);
	REQUIRE(getrlimit(RLIMIT_FSIZE, &old) == 0);
	small = old;
	small.rlim_cur = 64 * 1024;
	REQUIRE(setrlimit(RLIMIT_FSIZE, &small) == 0);
	veil_err err = veil_seal_file(f.plain, f.other, f.key, &p, NULL, NULL, NULL);
	REQUIRE(setrlimit(RLIMIT_FSIZE, &old) == 0);
	EXPECT_ERR(err, VEIL_E_IO);
	EXPECT(!fx_exists(f.other));
	EXPECT(fx_count_names(&f, "partial") == 0);

	/* Storing the key fails: no sealed file either. */
	p.before_publish = hook_fail;
	p.publish_user = &calls;
	EXPECT_ERR(veil_seal_file(f.plain, f.other, f.key, &p, NULL, NULL, NULL), VEIL_E_IO);
	EXPECT(calls == 1 && !fx_exists(f.other) && fx_count_names(&f, "partial") == 0);

	/* An existing output is kept unless replacing is asked for, and the
	 * hook is not even called. */
	p.before_publish = hook_count;
	calls = 0;
	before = fx_read(f.sealed, &before_len);
	EXPECT_ERR(veil_seal_file(f.plain, f.sealed, f.key, &p, NULL, NULL, NULL), VEIL_E_USAGE);
	EXPECT(calls == 0);
	uint8_t *after = fx_read(f.sealed, &n);
	EXPECT(after != NULL && n == before_len && memcmp(after, before, n) == 0);
	free(after);
	p.replace = true;
	EXPECT_OK(veil_seal_file(f.plain, f.sealed, f.key, &p, NULL, NULL, NULL));
	EXPECT(calls == 1);
	after = fx_read(f.sealed, &n);
	EXPECT(after != NULL && n == before_len && memcmp(after, before, n) != 0);
	free(after);
	free(before);
	p.replace = false;

	/* The model changes while it is sealed. */
	EXPECT_ERR(veil_seal_file(f.plain, f.other, f.key, &p, change_input, f.plain, NULL),
		   VEIL_E_MISMATCH);
	EXPECT(strstr(veil_err_detail(), "changed while") != NULL);
	EXPECT(!fx_exists(f.other) && fx_count_names(&f, "partial") == 0);

	/* Refused before anything is read or written. */
	p.resource = "not/a/valid/path";
	EXPECT_ERR(veil_seal_file(f.plain, f.other, f.key, &p, NULL, NULL, NULL), VEIL_E_USAGE);
	p.resource = "a/b/..";
	EXPECT_ERR(veil_seal_file(f.plain, f.other, f.key, &p, NULL, NULL, NULL), VEIL_E_USAGE);
	p.resource = NULL;
	p.chunk_log2 = 11;
	EXPECT_ERR(veil_seal_file(f.plain, f.other, f.key, &p, NULL, NULL, NULL), VEIL_E_USAGE);
	p.chunk_log2 = 25;
	EXPECT_ERR(veil_seal_file(f.plain, f.other, f.key, &p, NULL, NULL, NULL), VEIL_E_USAGE);
	p.chunk_log2 = 0;
	EXPECT_ERR(veil_seal_file(f.dir, f.other, f.key, &p, NULL, NULL, NULL), VEIL_E_USAGE);
	EXPECT_ERR(veil_seal_file("/nonexistent/model", f.other, f.key, &p, NULL, NULL, NULL),
		   VEIL_E_IO);
	EXPECT_ERR(veil_seal_file(f.plain, "/nonexistent/dir/out", f.key, &p, NULL, NULL, NULL),
		   VEIL_E_IO);
	EXPECT(!fx_exists(f.other) && fx_count_names(&f, "partial") == 0);
	fx_free(&f);
}

typedef struct progress_log {
	int calls;
	uint64_t last, total;
	bool monotonic;
} progress_log;

static void log_progress(uint64_t done, uint64_t total, void *user)
{
	progress_log *l = user;

	if (l->calls > 0 && done < l->last)
		l->monotonic = false;
	l->calls++;
	l->last = done;
	l->total = total;
}

TEST(progress)
{
	seal_fx f;
	veil_seal_progress pr;
	veil_sealed_model m;
	progress_log log = {.monotonic = true};
	int fds[2], master, slave;
	char buf[256];
	ssize_t n;
	size_t n_written = 1;

	REQUIRE(fx_init(&f, 10 * 4096 + 1, 0, NULL));
	/* Callbacks: in order, ending at the total, for sealing and opening. */
	EXPECT_OK(veil_seal_file(f.plain, f.other, f.key,
				 &(veil_seal_params){.chunk_log2 = FX_CHUNK_LOG2}, log_progress,
				 &log, NULL));
	EXPECT(log.calls >= 11 && log.monotonic && log.last == f.len && log.total == f.len);
	log = (progress_log){.monotonic = true};
	EXPECT_OK(veil_seal_open(f.sealed, f.key, 3, 0, log_progress, &log, &m));
	EXPECT(log.calls == 11 && log.monotonic && log.last == f.len && log.total == f.len);
	veil_sealed_model_clear(&m);

	/* Off a terminal: nothing, not even at the end. */
	REQUIRE(pipe(fds) == 0);
	veil_seal_progress_init(&pr, fds[1], "opening");
	EXPECT(!pr.tty);
	EXPECT_OK(veil_seal_open(f.sealed, f.key, 2, 0, veil_seal_progress_print, &pr, &m));
	veil_sealed_model_clear(&m);
	veil_seal_progress_print(1, 2, &pr);
	veil_seal_progress_done(&pr);
	close(fds[1]);
	EXPECT(read(fds[0], buf, sizeof buf) == 0);
	close(fds[0]);
	REQUIRE(fx_write(f.other, "", 0));
	int file = open(f.other, O_WRONLY);
	veil_seal_progress_init(&pr, file, "x");
	veil_seal_progress_print(10, 10, &pr);
	veil_seal_progress_done(&pr);
	close(file);
	uint8_t *written = fx_read(f.other, &n_written);
	EXPECT(written != NULL && n_written == 0);
	free(written);

	/* On a terminal: one line with the bytes, percentage and rate. */
	master = posix_openpt(O_RDWR | O_NOCTTY);
	REQUIRE(master >= 0 && grantpt(master) == 0 && unlockpt(master) == 0);
	slave = open(ptsname(master), O_RDWR | O_NOCTTY);
	REQUIRE(slave >= 0);
	veil_seal_progress_init(&pr, slave, "opening");
	EXPECT(pr.tty);
	veil_seal_progress_print(3 << 20, 4 << 20, &pr);
	veil_seal_progress_print(4 << 20, 4 << 20, &pr);
	veil_seal_progress_done(&pr);
	n = read(master, buf, sizeof buf - 1);
	REQUIRE(n > 0);
	buf[n] = '\0';
	EXPECT(strstr(buf, "opening: 3.0 MiB of 4.0 MiB (75%)") != NULL);
	EXPECT(strstr(buf, "4.0 MiB of 4.0 MiB (100%)") != NULL);
	EXPECT(strstr(buf, "/s") != NULL);
	close(slave);
	close(master);
	fx_free(&f);
}

int main(void)
{
	RUN(round_trip_sizes);
	RUN(round_trip_default_chunks);
	RUN(each_seal_is_fresh);
	RUN(wrong_key_is_refused_before_decrypting);
	RUN(plaintext_memory_is_anonymous_undumpable_and_read_only);
	RUN(lock_failure_says_what_to_do);
	RUN(peek_reads_the_header_without_a_key);
	RUN(key_files);
	RUN(output_never_half_written);
	RUN(progress);
	return harness_finish("test_seal");
}
