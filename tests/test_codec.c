/*
 * test_codec.c - hex and base64 / base64url, including RFC 4648 section 10
 * test vectors and strictness negatives.
 */
#include <string.h>

#include "harness.h"
#include "veil/codec.h"
#include "veil/secret.h"

static const char *const rfc4648_in[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
static const char *const rfc4648_b64[] = {"",         "Zg==",     "Zm8=",    "Zm9v",
					  "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};

TEST(base64_rfc4648_vectors)
{
	for (size_t i = 0; i < 7; i++) {
		char enc[16];
		uint8_t dec[16];
		size_t n = strlen(rfc4648_in[i]), got;
		EXPECT(veil_base64_encoded_len(n) == strlen(rfc4648_b64[i]));
		veil_base64_encode((const uint8_t *)rfc4648_in[i], n, enc);
		EXPECT(strcmp(enc, rfc4648_b64[i]) == 0);
		EXPECT_OK(veil_base64_decode(enc, strlen(enc), dec, sizeof dec, &got));
		EXPECT(got == n && memcmp(dec, rfc4648_in[i], n) == 0);
	}
}

TEST(base64url_is_unpadded_and_url_safe)
{
	const uint8_t in[] = {0xfb, 0xff, 0xfe};
	char enc[8];
	uint8_t dec[8];
	size_t got;

	veil_base64url_encode(in, 3, enc);
	EXPECT(strcmp(enc, "-__-") == 0);
	veil_base64url_encode(in, 2, enc);
	EXPECT(strcmp(enc, "-_8") == 0 && veil_base64url_encoded_len(2) == 3);
	EXPECT_OK(veil_base64url_decode("-_8", 3, dec, sizeof dec, &got));
	EXPECT(got == 2 && dec[0] == 0xfb && dec[1] == 0xff);
	EXPECT_ERR(veil_base64url_decode("-_8=", 4, dec, sizeof dec, &got), VEIL_E_MALFORMED);
	EXPECT_ERR(veil_base64url_decode("+/8", 3, dec, sizeof dec, &got), VEIL_E_MALFORMED);
}

TEST(base64_rejects_what_is_not_canonical)
{
	uint8_t dec[16];
	size_t got;
	EXPECT_ERR(veil_base64_decode("Zg=", 3, dec, sizeof dec, &got), VEIL_E_MALFORMED);
	EXPECT_ERR(veil_base64_decode("Zh==", 4, dec, sizeof dec, &got), VEIL_E_MALFORMED);
	EXPECT_ERR(veil_base64_decode("Z===", 4, dec, sizeof dec, &got), VEIL_E_MALFORMED);
	EXPECT_ERR(veil_base64_decode("Zm9v\n", 5, dec, sizeof dec, &got), VEIL_E_MALFORMED);
	EXPECT_ERR(veil_base64_decode("Zg==Zg==", 8, dec, sizeof dec, &got), VEIL_E_MALFORMED);
	EXPECT_ERR(veil_base64_decode("Zm9vYmFy", 8, dec, 5, &got), VEIL_E_LIMIT);
}

TEST(hex_round_trip_and_negatives)
{
	const uint8_t in[] = {0x00, 0x3a, 0xc3, 0xff};
	char enc[9];
	uint8_t dec[4];
	size_t got;

	veil_hex_encode(in, 4, enc);
	EXPECT(strcmp(enc, "003ac3ff") == 0);
	EXPECT_OK(veil_hex_decode("003AC3ff", 8, dec, sizeof dec, &got));
	EXPECT(got == 4 && memcmp(dec, in, 4) == 0);
	EXPECT_ERR(veil_hex_decode("003", 3, dec, sizeof dec, &got), VEIL_E_MALFORMED);
	EXPECT_ERR(veil_hex_decode("0g", 2, dec, sizeof dec, &got), VEIL_E_MALFORMED);
	EXPECT_ERR(veil_hex_decode("0011223344", 10, dec, sizeof dec, &got), VEIL_E_LIMIT);
}

TEST(constant_time_compare_and_wipe)
{
	uint8_t a[32], b[32];
	memset(a, 7, sizeof a);
	memset(b, 7, sizeof b);
	EXPECT(veil_ct_equal(a, b, sizeof a));
	b[31] ^= 1;
	EXPECT(!veil_ct_equal(a, b, sizeof a));
	veil_wipe(a, sizeof a);
	for (size_t i = 0; i < sizeof a; i++)
		EXPECT(a[i] == 0);
}

int main(void)
{
	RUN(base64_rfc4648_vectors);
	RUN(base64url_is_unpadded_and_url_safe);
	RUN(base64_rejects_what_is_not_canonical);
	RUN(hex_round_trip_and_negatives);
	RUN(constant_time_compare_and_wipe);
	return harness_finish("test_codec");
}
