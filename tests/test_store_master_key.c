/*
 * test_store_master_key.c - the file that holds the key broker's master
 * key: created 0600 and never replaced, read back in both formats (32 raw
 * bytes, 64 hex digits with an optional newline), and refused when other
 * users could read it or when it holds anything but exactly one key.
 */
#include "test_store_util.h"

TEST(master_key_create_and_load)
{
	store_fx f;
	uint8_t k1[32], k2[32];
	struct stat st;

	REQUIRE(fx_init(&f));
	REQUIRE(stat(f.key_path, &st) == 0);
	EXPECT((st.st_mode & 0777) == 0600);
	EXPECT(st.st_size == 65); /* 64 hex digits and a newline */
	EXPECT_OK(veil_store_master_key_load(f.key_path, k1));
	EXPECT(veil_ct_equal(k1, f.key, 32));
	/* Never replaced: the secrets sealed under it would be lost. */
	EXPECT_ERR(veil_store_master_key_create(f.key_path), VEIL_E_USAGE);
	EXPECT_OK(veil_store_master_key_load(f.key_path, k2));
	EXPECT(veil_ct_equal(k1, k2, 32));
	/* No temporary file left beside it. */
	EXPECT(fx_count_files(f.dir) == 1);
	/* Two keys made apart differ. */
	EXPECT_OK(veil_store_master_key_create(fx_path(&f, "other.key")));
	EXPECT_OK(veil_store_master_key_load(fx_path(&f, "other.key"), k2));
	EXPECT(!veil_ct_equal(k1, k2, 32));
	EXPECT_ERR(veil_store_master_key_create(fx_path(&f, "no/such/dir/key")), VEIL_E_IO);
	fx_done(&f);
}

TEST(master_key_formats)
{
	store_fx f;
	uint8_t raw[32], got[32];
	char hex[80];

	REQUIRE(fx_init(&f));
	for (int i = 0; i < 32; i++)
		raw[i] = (uint8_t)(0xA0 + i);
	const char *p = fx_path(&f, "k");
	/* Raw, 32 bytes. */
	REQUIRE(fx_write(p, raw, 32, 0600));
	EXPECT_OK(veil_store_master_key_load(p, got));
	EXPECT(memcmp(got, raw, 32) == 0);
	/* Hex with and without the newline, either case. */
	for (int i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02X", raw[i]);
	REQUIRE(fx_write(p, hex, 64, 0600));
	memset(got, 0, 32);
	EXPECT_OK(veil_store_master_key_load(p, got));
	EXPECT(memcmp(got, raw, 32) == 0);
	hex[64] = '\n';
	REQUIRE(fx_write(p, hex, 65, 0400));
	memset(got, 0, 32);
	EXPECT_OK(veil_store_master_key_load(p, got));
	EXPECT(memcmp(got, raw, 32) == 0);
	fx_done(&f);
}

TEST(master_key_too_open_refused)
{
	store_fx f;
	uint8_t got[32];
	static const mode_t modes[] = {0644, 0640, 0604, 0660, 0602, 0610};

	REQUIRE(fx_init(&f));
	for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) {
		REQUIRE(chmod(f.key_path, modes[i]) == 0);
		EXPECT_ERR(veil_store_master_key_load(f.key_path, got), VEIL_E_USAGE);
		EXPECT(strstr(veil_err_detail(), "too open") != NULL);
		EXPECT(strstr(veil_err_detail(), "chmod 600") != NULL);
	}
	REQUIRE(chmod(f.key_path, 0400) == 0);
	EXPECT_OK(veil_store_master_key_load(f.key_path, got));
	/* A symbolic link is followed, and the target's mode is the one checked. */
	REQUIRE(symlink(f.key_path, fx_path(&f, "link.key")) == 0);
	EXPECT_OK(veil_store_master_key_load(fx_path(&f, "link.key"), got));
	REQUIRE(chmod(f.key_path, 0644) == 0);
	EXPECT_ERR(veil_store_master_key_load(fx_path(&f, "link.key"), got), VEIL_E_USAGE);
	fx_done(&f);
}

TEST(master_key_wrong_length_refused)
{
	store_fx f;
	uint8_t buf[80], got[32];
	const char *p;
	static const size_t raw_lengths[] = {0, 1, 31, 33, 63, 66, 80};

	REQUIRE(fx_init(&f));
	p = fx_path(&f, "k");
	memset(buf, 0x41, sizeof buf);
	for (size_t i = 0; i < sizeof raw_lengths / sizeof raw_lengths[0]; i++) {
		REQUIRE(fx_write(p, buf, raw_lengths[i], 0600));
		EXPECT_ERR(veil_store_master_key_load(p, got), VEIL_E_MALFORMED);
	}
	/* 64 hex digits and something other than one newline. */
	memset(buf, 'a', 64);
	buf[64] = 'b';
	REQUIRE(fx_write(p, buf, 65, 0600));
	EXPECT_ERR(veil_store_master_key_load(p, got), VEIL_E_MALFORMED);
	buf[64] = '\n';
	buf[65] = '\n';
	REQUIRE(fx_write(p, buf, 66, 0600));
	EXPECT_ERR(veil_store_master_key_load(p, got), VEIL_E_MALFORMED);
	buf[64] = '\r';
	REQUIRE(fx_write(p, buf, 65, 0600));
	EXPECT_ERR(veil_store_master_key_load(p, got), VEIL_E_MALFORMED);
	/* 64 bytes that are not hex. */
	memset(buf, 'a', 64);
	buf[17] = 'g';
	REQUIRE(fx_write(p, buf, 64, 0600));
	EXPECT_ERR(veil_store_master_key_load(p, got), VEIL_E_MALFORMED);
	buf[17] = 'a';
	REQUIRE(fx_write(p, buf, 64, 0600));
	EXPECT_OK(veil_store_master_key_load(p, got));
	EXPECT_ERR(veil_store_master_key_load(fx_path(&f, "missing"), got), VEIL_E_NOT_FOUND);
	EXPECT_ERR(veil_store_master_key_load(f.dir, got), VEIL_E_IO);
	fx_done(&f);
}

int main(void)
{
	RUN(master_key_create_and_load);
	RUN(master_key_formats);
	RUN(master_key_too_open_refused);
	RUN(master_key_wrong_length_refused);
	return harness_finish("test_store_master_key");
}
