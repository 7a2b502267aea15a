/*
 * test_seal_tamper.c - every way a sealed file can be altered, and that
 * each one fails to open (docs/sealed-model.md, "What is detected").
 *
 * The model is 5 chunks of 4 KiB and a ragged sixth, so there are middle
 * chunks to swap, drop and splice. Every case is opened twice, into memory
 * and with VEIL_SEAL_VERIFY_ONLY, and must fail both ways with the same
 * error, leaving the result zeroed and no plaintext mapping behind. The
 * cases behind the header's MAC (a header that lies about the length or
 * the digest, a stream cut where the header says it ends) are made with
 * the key, through fx_forge, since nobody without it can reach them.
 */
#include "test_seal_util.h"
#include "veil/crypto.h"

#define MODEL_LEN (5 * 4096 + 1000)

/* Our plaintext mappings alive now: of up to 1 MiB, excluded from core
 * dumps and from children ("dd" and "dc" in /proc/self/smaps). */
static int model_mappings(void)
{
	char line[512];
	FILE *s = fopen("/proc/self/smaps", "r");
	bool sized = false;
	int n = 0;

	if (s == NULL)
		return -1;
	while (fgets(line, sizeof line, s) != NULL) {
		if (strncmp(line, "Size:", 5) == 0) {
			long kb = strtol(line + 5, NULL, 10); /* checked: the range */
			sized = kb >= 4 && kb <= 1024;
		} else if (strncmp(line, "VmFlags:", 8) == 0 && sized &&
			   strstr(line, " dd") != NULL && strstr(line, " dc") != NULL)
			n++;
	}
	fclose(s);
	return n;
}

/* Opens bytes both ways; each must fail with want (any error if want is
 * VEIL_OK) and leave nothing behind. Returns the first detail. */
static const char *expect_fail(seal_fx *f, const uint8_t *p, size_t len, veil_err want,
			       unsigned threads)
{
	static char detail[VEIL_ERR_DETAIL_MAX];
	veil_sealed_model m;
	int before = model_mappings();
	veil_err err;

	detail[0] = '\0';
	if (!fx_write(f->other, p, len)) {
		EXPECT(!"cannot write the altered file");
		return detail;
	}
	err = veil_seal_open(f->other, f->key, threads, 0, NULL, NULL, &m);
	snprintf(detail, sizeof detail, "%s", veil_err_detail());
	if (want == VEIL_OK)
		EXPECT(err != VEIL_OK);
	else
		EXPECT_ERR(err, want);
	EXPECT(fx_zeroed(&m));
	if (err == VEIL_OK)
		veil_sealed_model_clear(&m);
	err = veil_seal_open(f->other, f->key, threads, VEIL_SEAL_VERIFY_ONLY, NULL, NULL, &m);
	if (want == VEIL_OK)
		EXPECT(err != VEIL_OK);
	else
		EXPECT_ERR(err, want);
	EXPECT(fx_zeroed(&m));
	EXPECT(model_mappings() == before);
	return detail;
}

static uint64_t chunk_off(const seal_fx *f, uint64_t i)
{
	return f->info.header_len + i * (FX_CHUNK + 16);
}

/* A copy of the sealed file's bytes to alter. */
static uint8_t *copy_of(const seal_fx *f)
{
	uint8_t *p = malloc(f->file_len + 2 * (FX_CHUNK + 16));
	if (p != NULL)
		memcpy(p, f->file, f->file_len);
	return p;
}

TEST(untouched_file_opens)
{
	seal_fx f;
	veil_sealed_model m;

	REQUIRE(fx_init(&f, MODEL_LEN, 0, "default/model/tamper"));
	REQUIRE(f.info.chunk_count == 6);
	REQUIRE(fx_write(f.other, f.file, f.file_len));
	EXPECT_OK(veil_seal_open(f.other, f.key, 2, 0, NULL, NULL, &m));
	EXPECT(m.len == MODEL_LEN && memcmp(m.data, f.data, MODEL_LEN) == 0);
	EXPECT(model_mappings() == 1);
	veil_sealed_model_clear(&m);
	EXPECT(model_mappings() == 0);
	fx_free(&f);
}

/* What flipping mask in header byte off must give (VEIL_OK: some error,
 * which one depends on the bytes; see docs/sealed-model.md, "Header"). */
static veil_err flip_result(const seal_fx *f, size_t off, uint8_t mask)
{
	size_t mac = f->info.header_len - 32;

	if (off < 8 || (off >= 13 && off < 16) || off == 95)
		return VEIL_E_MALFORMED; /* magic, reserved */
	if (off < 12)
		return VEIL_E_UNSUPPORTED; /* version, cipher */
	if (off == 12)
		return mask == 0x01 ? VEIL_E_VERIFY : VEIL_E_MALFORMED; /* 2^13 or 2^140 */
	if ((off >= 21 && off < 24) || off == 97)
		return VEIL_E_LIMIT; /* length above 2^40, path above 256 bytes */
	if (off == 96 || (off >= 98 && off < mac))
		return VEIL_OK; /* path length or text: malformed, or the MAC */
	return VEIL_E_VERIFY;   /* length, digest, salt, prefix, MAC */
}

TEST(header_byte_flips)
{
	seal_fx f;
	uint8_t *p;

	REQUIRE(fx_init(&f, MODEL_LEN, 0, "default/model/tamper"));
	p = copy_of(&f);
	REQUIRE(p != NULL);
	for (size_t off = 0; off < f.info.header_len; off++) {
		for (uint8_t mask = 0x01; mask != 0; mask = mask == 0x01 ? 0x80 : 0) {
			veil_err want = flip_result(&f, off, mask);
			const char *d;
			p[off] ^= mask;
			d = expect_fail(&f, p, f.file_len, want, 2);
			if (want == VEIL_E_VERIFY)
				EXPECT(strstr(d, "wrong key, or the header was altered") != NULL);
			p[off] ^= mask;
		}
	}
	/* The chunk size changed to another valid one: the MAC. */
	p[12] = 13;
	expect_fail(&f, p, f.file_len, VEIL_E_VERIFY, 2);
	p[12] = 12;
	/* The plaintext length, one more and one less: the MAC. */
	p[16]++;
	expect_fail(&f, p, f.file_len, VEIL_E_VERIFY, 2);
	p[16] -= 2;
	expect_fail(&f, p, f.file_len, VEIL_E_VERIFY, 2);
	p[16]++;
	/* The resource path changed to another valid one. */
	p[98] = 'D';
	expect_fail(&f, p, f.file_len, VEIL_E_VERIFY, 2);
	p[98] = 'd';
	EXPECT(memcmp(p, f.file, f.file_len) == 0);
	free(p);
	fx_free(&f);
}

TEST(chunk_bit_flips)
{
	seal_fx f;
	uint8_t *p;
	char want[64];

	REQUIRE(fx_init(&f, MODEL_LEN, 0, NULL));
	p = copy_of(&f);
	REQUIRE(p != NULL);
	for (uint64_t i = 0; i < f.info.chunk_count; i++) {
		size_t len = i + 1 < f.info.chunk_count ? FX_CHUNK : 1000;
		size_t where[] = {0, len / 2, len - 1, len, len + 15}; /* body and tag */
		snprintf(want, sizeof want, "chunk %llu of 6 fails", (unsigned long long)i + 1);
		for (size_t k = 0; k < sizeof where / sizeof where[0]; k++) {
			size_t off = chunk_off(&f, i) + where[k];
			p[off] ^= 0x20;
			EXPECT(
			    strstr(expect_fail(&f, p, f.file_len, VEIL_E_VERIFY, 1 + (unsigned)k),
				   want) != NULL);
			p[off] ^= 0x20;
		}
	}
	free(p);
	fx_free(&f);
}

TEST(truncation)
{
	seal_fx f;

	REQUIRE(fx_init(&f, MODEL_LEN, 0, NULL));
	/* Inside the header: not even a header. */
	expect_fail(&f, f.file, 0, VEIL_E_TRUNCATED, 2);
	expect_fail(&f, f.file, 7, VEIL_E_TRUNCATED, 2);
	expect_fail(&f, f.file, 8, VEIL_E_TRUNCATED, 2);
	expect_fail(&f, f.file, f.info.header_len - 1, VEIL_E_TRUNCATED, 2);
	/* At every chunk boundary (the last chunk dropped, and more), and
	 * in the middle of every chunk and of every tag. */
	for (uint64_t i = 0; i < f.info.chunk_count; i++) {
		const char *d = expect_fail(&f, f.file, chunk_off(&f, i), VEIL_E_TRUNCATED, 2);
		EXPECT(strstr(d, "truncated") != NULL);
		expect_fail(&f, f.file, chunk_off(&f, i) + 100, VEIL_E_TRUNCATED, 2);
		expect_fail(&f, f.file,
			    chunk_off(&f, i) + (i + 1 < f.info.chunk_count ? FX_CHUNK : 1000) + 8,
			    VEIL_E_TRUNCATED, 2);
	}
	expect_fail(&f, f.file, f.file_len - 1, VEIL_E_TRUNCATED, 2);
	fx_free(&f);
}

TEST(dropped_reordered_duplicated_chunks)
{
	seal_fx f;
	uint8_t *p, *q;
	size_t cl = FX_CHUNK + 16;
	const char *d;

	REQUIRE(fx_init(&f, MODEL_LEN, 0, NULL));
	p = copy_of(&f);
	q = copy_of(&f);
	REQUIRE(p != NULL && q != NULL);
	/* The last chunk dropped, and its predecessor made last: the length
	 * check; a middle chunk dropped: the same. */
	expect_fail(&f, p, chunk_off(&f, 5), VEIL_E_TRUNCATED, 2);
	memmove(p + chunk_off(&f, 2), p + chunk_off(&f, 3), f.file_len - chunk_off(&f, 3));
	expect_fail(&f, p, f.file_len - cl, VEIL_E_TRUNCATED, 2);
	/* Two middle chunks swapped, with 1, 2 and 4 threads. */
	memcpy(p, f.file, f.file_len);
	memcpy(p + chunk_off(&f, 1), f.file + chunk_off(&f, 2), cl);
	memcpy(p + chunk_off(&f, 2), f.file + chunk_off(&f, 1), cl);
	for (unsigned t = 1; t <= 4; t *= 2) {
		d = expect_fail(&f, p, f.file_len, VEIL_E_VERIFY, t);
		EXPECT(strstr(d, "chunk 2 of 6 fails") != NULL ||
		       strstr(d, "chunk 3 of 6 fails") != NULL);
	}
	/* The first and the last full chunk swapped. */
	memcpy(p, f.file, f.file_len);
	memcpy(p + chunk_off(&f, 0), f.file + chunk_off(&f, 4), cl);
	memcpy(p + chunk_off(&f, 4), f.file + chunk_off(&f, 0), cl);
	expect_fail(&f, p, f.file_len, VEIL_E_VERIFY, 2);
	/* A chunk repeated in place of the next. */
	memcpy(p, f.file, f.file_len);
	memcpy(p + chunk_off(&f, 3), f.file + chunk_off(&f, 2), cl);
	d = expect_fail(&f, p, f.file_len, VEIL_E_VERIFY, 1);
	EXPECT(strstr(d, "chunk 4 of 6 fails") != NULL);
	/* The ragged last chunk moved up to replace a full one cannot keep
	 * the length; a full chunk replacing the last one is the wrong size:
	 * both are length errors before any decryption. */
	memcpy(q + chunk_off(&f, 5), f.file + chunk_off(&f, 4), cl);
	expect_fail(&f, q, chunk_off(&f, 5) + cl, VEIL_E_TRAILING, 2);
	free(p);
	free(q);
	fx_free(&f);
}

TEST(splicing_between_files_with_one_key)
{
	seal_fx f;
	uint8_t *p, *other;
	size_t other_len, cl = FX_CHUNK + 16;
	veil_seal_params params = {.chunk_log2 = FX_CHUNK_LOG2};
	char second[160];
	const char *d;

	REQUIRE(fx_init(&f, MODEL_LEN, 0, NULL));
	/* The same plaintext sealed again under the same key. */
	snprintf(second, sizeof second, "%s/second.sealed", f.dir);
	REQUIRE(veil_seal_file(f.plain, second, f.key, &params, NULL, NULL, NULL) == VEIL_OK);
	other = fx_read(second, &other_len);
	REQUIRE(other != NULL && other_len == f.file_len);
	p = copy_of(&f);
	REQUIRE(p != NULL);
	/* One chunk from the other file, at the same position. */
	memcpy(p + chunk_off(&f, 2), other + chunk_off(&f, 2), cl);
	d = expect_fail(&f, p, f.file_len, VEIL_E_VERIFY, 2);
	EXPECT(strstr(d, "chunk 3 of 6 fails") != NULL);
	/* The last chunk from the other file. */
	memcpy(p, f.file, f.file_len);
	memcpy(p + chunk_off(&f, 5), other + chunk_off(&f, 5), 1000 + 16);
	expect_fail(&f, p, f.file_len, VEIL_E_VERIFY, 2);
	/* The other file's header (its MAC is valid: same key) on these
	 * chunks: the first chunk's AAD no longer matches. */
	memcpy(p, f.file, f.file_len);
	memcpy(p, other, f.info.header_len);
	d = expect_fail(&f, p, f.file_len, VEIL_E_VERIFY, 2);
	EXPECT(strstr(d, "chunk 1 of 6 fails") != NULL);
	/* The other file itself opens: the failures above are the splices. */
	REQUIRE(fx_write(f.other, other, other_len));
	veil_sealed_model m;
	EXPECT_OK(veil_seal_open(f.other, f.key, 2, 0, NULL, NULL, &m));
	EXPECT(m.len == MODEL_LEN && memcmp(m.data, f.data, MODEL_LEN) == 0);
	veil_sealed_model_clear(&m);
	free(other);
	free(p);
	fx_free(&f);
}

TEST(appended_bytes)
{
	seal_fx f;
	uint8_t *p;
	size_t cl = FX_CHUNK + 16;

	REQUIRE(fx_init(&f, MODEL_LEN, 0, NULL));
	p = copy_of(&f);
	REQUIRE(p != NULL);
	memset(p + f.file_len, 0, cl);
	expect_fail(&f, p, f.file_len + 1, VEIL_E_TRAILING, 2);
	expect_fail(&f, p, f.file_len + 16, VEIL_E_TRAILING, 2);
	/* A whole chunk and tag more (a copy of a real one). */
	memcpy(p + f.file_len, f.file + chunk_off(&f, 1), cl);
	EXPECT(strstr(expect_fail(&f, p, f.file_len + cl, VEIL_E_TRAILING, 2), "appended") != NULL);
	free(p);
	fx_free(&f);
}

TEST(header_lies_behind_a_valid_mac)
{
	seal_fx f;
	uint8_t digest[32];
	size_t len;
	uint8_t *p;
	veil_sealed_model m;
	const char *d;

	REQUIRE(fx_init(&f, MODEL_LEN, 0, NULL));
	/* The forge itself is right: with the truth it opens. */
	REQUIRE(fx_forge(&f, f.other, MODEL_LEN, NULL, 0, 0));
	EXPECT_OK(veil_seal_open(f.other, f.key, 2, 0, NULL, NULL, &m));
	EXPECT(m.len == MODEL_LEN && memcmp(m.data, f.data, MODEL_LEN) == 0);
	veil_sealed_model_clear(&m);

	/* A length one more or one less than the chunks hold. */
	REQUIRE(fx_forge(&f, f.other, MODEL_LEN + 1, NULL, 0, 0));
	p = fx_read(f.other, &len);
	expect_fail(&f, p, len, VEIL_E_TRUNCATED, 2);
	free(p);
	REQUIRE(fx_forge(&f, f.other, MODEL_LEN - 1, NULL, 0, 0));
	p = fx_read(f.other, &len);
	expect_fail(&f, p, len, VEIL_E_TRAILING, 2);
	free(p);

	/* A digest that is not the plaintext's: every tag passes, the digest
	 * check does not (the header flips of the digest stop at the MAC). */
	memcpy(digest, f.info.digest, 32);
	digest[5] ^= 0x10;
	REQUIRE(fx_forge(&f, f.other, MODEL_LEN, digest, 0, 0));
	p = fx_read(f.other, &len);
	for (unsigned t = 1; t <= 4; t++) {
		d = expect_fail(&f, p, len, VEIL_E_MISMATCH, t);
		EXPECT(strstr(d, "sealed wrongly") != NULL);
	}
	free(p);

	/* STREAM's last flag: a header for the first two chunks, and those
	 * chunks as they were sealed in the six-chunk stream (the second not
	 * flagged last). The length and digest fit; the flag does not. */
	REQUIRE(veil_sha256(f.data, 2 * FX_CHUNK, digest) == VEIL_OK);
	REQUIRE(fx_forge(&f, f.other, 2 * FX_CHUNK, digest, 2, 6));
	p = fx_read(f.other, &len);
	d = expect_fail(&f, p, len, VEIL_E_VERIFY, 2);
	EXPECT(strstr(d, "chunk 2 of 2 fails") != NULL);
	free(p);
	/* ... and the same two chunks sealed as a stream of two open. */
	REQUIRE(fx_forge(&f, f.other, 2 * FX_CHUNK, digest, 2, 2));
	EXPECT_OK(veil_seal_open(f.other, f.key, 2, 0, NULL, NULL, &m));
	EXPECT(m.len == 2 * FX_CHUNK && memcmp(m.data, f.data, 2 * FX_CHUNK) == 0);
	veil_sealed_model_clear(&m);
	fx_free(&f);
}

TEST(empty_model)
{
	seal_fx f;
	uint8_t *p;

	REQUIRE(fx_init(&f, 0, 0, NULL));
	REQUIRE(f.info.chunk_count == 1 && f.file_len == f.info.header_len + 16);
	p = copy_of(&f);
	REQUIRE(p != NULL);
	p[f.info.header_len + 3] ^= 1;
	EXPECT(strstr(expect_fail(&f, p, f.file_len, VEIL_E_VERIFY, 2), "chunk 1 of 1") != NULL);
	expect_fail(&f, f.file, f.info.header_len, VEIL_E_TRUNCATED, 2); /* no tag */
	expect_fail(&f, f.file, f.file_len - 1, VEIL_E_TRUNCATED, 2);
	free(p);
	fx_free(&f);
}

TEST(failure_deep_in_a_long_stream)
{
	/* 64 chunks and 4 threads: workers are ahead of the hash and waiting
	 * on a full window when chunk 40 fails; all must stop. */
	seal_fx f;
	uint8_t *p;
	const char *d;

	REQUIRE(fx_init(&f, 64 * 4096, 0, NULL));
	p = copy_of(&f);
	REQUIRE(p != NULL);
	p[chunk_off(&f, 39) + 7] ^= 4;
	for (unsigned t = 1; t <= 8; t *= 2) {
		d = expect_fail(&f, p, f.file_len, VEIL_E_VERIFY, t);
		EXPECT(strstr(d, "chunk 40 of 64 fails") != NULL);
	}
	p[chunk_off(&f, 39) + 7] ^= 4;
	p[chunk_off(&f, 63) + 4096 + 15] ^= 4; /* the last tag */
	d = expect_fail(&f, p, f.file_len, VEIL_E_VERIFY, 4);
	EXPECT(strstr(d, "chunk 64 of 64 fails") != NULL);
	free(p);
	fx_free(&f);
}

int main(void)
{
	RUN(untouched_file_opens);
	RUN(header_byte_flips);
	RUN(chunk_bit_flips);
	RUN(truncation);
	RUN(dropped_reordered_duplicated_chunks);
	RUN(splicing_between_files_with_one_key);
	RUN(appended_bytes);
	RUN(header_lies_behind_a_valid_mac);
	RUN(empty_model);
	RUN(failure_deep_in_a_long_stream);
	return harness_finish("test_seal_tamper");
}
