/*
 * test_kbs_initdata.c - CoCo init-data in the key broker (src/kbs/initdata.c):
 * the strict reader of an initdata TOML's top-level keys, the digest of its
 * bytes, the {"format", "body"} wrapper of the attest request, fitting the
 * digest to a TEE register, and the comparison with a verified result,
 * real sim reports signed with the HOST_DATA a host would set included.
 *
 * The digests of the good documents are known answers computed outside
 * Veil; documents with other bytes are checked against OpenSSL's one-shot
 * digest. Every way the reader refuses a document is exercised, and the
 * error detail is checked to name what was wrong and on which line.
 */
#include <ftw.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "harness.h"
#include "kbs/kbs_internal.h"
#include "veil/codec.h"
#include "veil/limits.h"
#include "veil/sim.h"

/* Digests by sha256sum, sha384sum and sha512sum of the texts below. */
static const char doc256[] = "version = \"0.1.0\"\n"
			     "algorithm = \"sha256\"\n"
			     "\n"
			     "[data]\n"
			     "\"aa.toml\" = '''\n"
			     "[token_configs.kbs]\n"
			     "url = \"http://127.0.0.1:8080\"\n"
			     "'''\n";
static const char kat256[] = "e2cee302008783a302f9481be6a48af956a408b5fbd3db05696f9f6652b405ea";
static const char doc384[] = "algorithm = \"sha384\"\n"
			     "version = \"0.1.0\"\n"
			     "\n"
			     "[data]\n"
			     "\"policy.rego\" = '''\n"
			     "package agent_policy\n"
			     "default ReadStreamRequest := false\n"
			     "'''\n";
static const char kat384[] = "47a88726bc79cccee4dc2a1d54de64b95452a229935f20dc5e8b899b910bfa38"
			     "3ff38ccc8300c5cf6a5328f4276a354c";
static const char doc512[] = "version = \"0.1.0\"\nalgorithm = \"sha512\"\n[data]\n";
static const char kat512[] = "2fdf9419e43c548a07ee7234ab0b5e72f1d05a0a7d8c267d6f98dbdd490561be"
			     "b130c07e2f28e8d7a7e7c627bca9ac685a1ad040b7566a019c16344f5ae17cfb";

static veil_err read_toml(const char *toml, const char **alg)
{
	return kbs_initdata_toml_read(toml, strlen(toml), alg);
}

static bool detail_has(const char *what)
{
	bool ok = strstr(veil_err_detail(), what) != NULL;
	if (!ok)
		fprintf(stderr, "  detail \"%s\" lacks \"%s\"\n", veil_err_detail(), what);
	return ok;
}

static bool digest_is(const uint8_t *d, size_t len, const char *hex)
{
	char got[129];

	if (len * 2 != strlen(hex) || len > 64)
		return false;
	veil_hex_encode(d, len, got);
	return strcmp(got, hex) == 0;
}

/* {"format": format, "body": body}, NULL members left out. */
static json_t *wrapper(const char *format, const char *body)
{
	json_t *o = json_object();

	if (format != NULL)
		json_object_set_new(o, "format", json_string(format));
	if (body != NULL)
		json_object_set_new(o, "body", json_string(body));
	return o;
}

static veil_err parse_wrapped(const char *format, const char *body, kbs_initdata *d)
{
	json_t *o = wrapper(format, body);
	veil_err err = kbs_initdata_parse(o, d);

	json_decref(o);
	return err;
}

TEST(known_answers_per_algorithm)
{
	static const struct {
		const char *doc, *alg, *kat;
		size_t len;
	} cases[] = {{doc256, "sha256", kat256, 32},
		     {doc384, "sha384", kat384, 48},
		     {doc512, "sha512", kat512, 64}};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		kbs_initdata d;
		uint8_t pub[64];
		size_t pub_len = 0;
		const char *alg = NULL;

		EXPECT_OK(read_toml(cases[i].doc, &alg));
		EXPECT(alg != NULL && strcmp(alg, cases[i].alg) == 0);
		EXPECT_OK(parse_wrapped("toml", cases[i].doc, &d));
		EXPECT(d.present && strcmp(d.algorithm, cases[i].alg) == 0);
		EXPECT(digest_is(d.digest, d.digest_len, cases[i].kat));
		EXPECT_OK(
		    veil_kbs_initdata_digest(cases[i].doc, strlen(cases[i].doc), pub, &pub_len));
		EXPECT(digest_is(pub, pub_len, cases[i].kat));
	}
}

/* What TOML allows before [data]: comments, blank lines, CRLF, indented
 * and quoted keys, literal strings, escapes, spaces in the header. */
TEST(comments_literals_escapes_crlf)
{
	static const char *const good[] = {
	    ("# initdata for the worker\r\n\r\n  algorithm = 'sha384'   # literal\r\n"
	     "\t\"version\"=\"0.1.0\"\r\n[ data ] # the table\r\n"),
	    "'version' = '0.1.0'\nalgorithm = \"sha\\u0033\\U00000038\\u0034\"\n[\"data\"]\n",
	    "version = \"0.1.0\" #\nalgorithm = \"sha384\"#x\n\n\n[data]",
	    "version\t=\t\"0.1.0\"\nalgorithm = \"sha384\"\n#[data] is a comment\n[data]\n",
	};

	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
		const char *alg = NULL;
		EXPECT_OK(read_toml(good[i], &alg));
		EXPECT(alg != NULL && strcmp(alg, "sha384") == 0);
	}
}

/* Nothing after [data] is read, but every byte is hashed. */
TEST(data_table_not_interpreted_but_hashed)
{
	static const char doc[] =
	    "version = \"0.1.0\"\nalgorithm = \"sha384\"\n[data]\n"
	    "version = 5\nalgorithm = \"md5\"\n[[whatever]]\n"
	    "\"cdh.toml\" = \"\"\"\nmulti\nline\"\"\"\n\x01 not even TOML {\n";
	uint8_t want[64];
	unsigned int want_len = 0;
	kbs_initdata d;

	EXPECT_OK(parse_wrapped("toml", doc, &d));
	REQUIRE(EVP_Digest(doc, strlen(doc), want, &want_len, EVP_sha384(), NULL) == 1);
	EXPECT(d.digest_len == want_len && memcmp(d.digest, want, want_len) == 0);
	/* One byte more in [data] is another digest. */
	{
		char more[sizeof doc + 1];
		kbs_initdata d2;
		memcpy(more, doc, sizeof doc - 1);
		more[sizeof doc - 1] = '#';
		more[sizeof doc] = '\0';
		EXPECT_OK(parse_wrapped("toml", more, &d2));
		EXPECT(memcmp(d.digest, d2.digest, d.digest_len) != 0);
	}
}

TEST(missing_or_unknown_values)
{
	const char *alg;

	EXPECT_ERR(read_toml("version = \"0.1.0\"\n[data]\n", &alg), VEIL_E_MALFORMED);
	EXPECT(detail_has("no algorithm"));
	EXPECT_ERR(read_toml("algorithm = \"sha256\"\n[data]\n", &alg), VEIL_E_MALFORMED);
	EXPECT(detail_has("no version"));
	EXPECT_ERR(read_toml("", &alg), VEIL_E_MALFORMED);
	EXPECT_ERR(read_toml("version = \"0.1.0\"\nalgorithm = \"md5\"\n[data]\n", &alg),
		   VEIL_E_UNSUPPORTED);
	EXPECT(detail_has("line 2: unknown algorithm \"md5\""));
	EXPECT_ERR(read_toml("version = \"0.1.0\"\nalgorithm = \"SHA256\"\n[data]\n", &alg),
		   VEIL_E_UNSUPPORTED);
	EXPECT_ERR(read_toml("version = \"0.1.0\"\nalgorithm = \"sha-256\"\n[data]\n", &alg),
		   VEIL_E_UNSUPPORTED);
	EXPECT_ERR(read_toml("version = \"0.1.0\"\nalgorithm = \"\"\n[data]\n", &alg),
		   VEIL_E_UNSUPPORTED);
	EXPECT_ERR(read_toml("version = \"0.2.0\"\nalgorithm = \"sha256\"\n[data]\n", &alg),
		   VEIL_E_UNSUPPORTED);
	EXPECT(detail_has("line 1: version \"0.2.0\""));
	/* One byte longer, one shorter. */
	EXPECT_ERR(read_toml("version = \"0.1.00\"\nalgorithm = \"sha256\"\n[data]\n", &alg),
		   VEIL_E_UNSUPPORTED);
	EXPECT_ERR(read_toml("version = \"0.1.\"\nalgorithm = \"sha256\"\n[data]\n", &alg),
		   VEIL_E_UNSUPPORTED);
	EXPECT_ERR(read_toml("version = \"0.1.0\"\nalgorithm = \"sha2566\"\n[data]\n", &alg),
		   VEIL_E_UNSUPPORTED);
	/* A value far longer than any known one is refused, not truncated. */
	EXPECT_ERR(read_toml("version = \"0.1.0\"\nalgorithm = \"sha256sha256sha256sha256sha256"
			     "sha256sha256\"\n[data]\n",
			     &alg),
		   VEIL_E_UNSUPPORTED);
	EXPECT_ERR(read_toml("version = 1\nalgorithm = \"sha256\"\n[data]\n", &alg),
		   VEIL_E_MALFORMED);
	EXPECT(detail_has("line 1") && detail_has("must be a string"));
	EXPECT_ERR(read_toml("version = \"0.1.0\"\nalgorithm = \"sha256\"\n", &alg),
		   VEIL_E_MALFORMED);
	EXPECT(detail_has("no [data] table"));
}

TEST(duplicate_and_unknown_keys)
{
	const char *alg;

	EXPECT_ERR(read_toml("version = \"0.1.0\"\nalgorithm = \"sha256\"\nversion = \"0.1.0\"\n"
			     "[data]\n",
			     &alg),
		   VEIL_E_MALFORMED);
	EXPECT(detail_has("line 3") && detail_has("twice"));
	/* A quoted key is the same key as the bare one. */
	EXPECT_ERR(read_toml("algorithm = \"sha256\"\n'algorithm' = \"sha384\"\n"
			     "version = \"0.1.0\"\n[data]\n",
			     &alg),
		   VEIL_E_MALFORMED);
	EXPECT(detail_has("line 2") && detail_has("twice"));
	EXPECT_ERR(read_toml("version = \"0.1.0\"\nalgorithm = \"sha256\"\ndigest = \"00\"\n"
			     "[data]\n",
			     &alg),
		   VEIL_E_MALFORMED);
	EXPECT(detail_has("line 3") && detail_has("unknown key \"digest\""));
	EXPECT_ERR(read_toml("version = \"0.1.0\"\nalgorithm = \"sha256\"\ndata = {}\n", &alg),
		   VEIL_E_MALFORMED);
	EXPECT(detail_has("unknown key \"data\""));
	EXPECT_ERR(read_toml("version = \"0.1.0\"\nalgorithm = \"sha256\"\ndata.x = \"y\"\n"
			     "[data]\n",
			     &alg),
		   VEIL_E_MALFORMED);
	EXPECT(detail_has("dotted key"));
	EXPECT_ERR(
	    read_toml("version = \"0.1.0\"\nalgorithm = \"sha256\"\n = \"y\"\n[data]\n", &alg),
	    VEIL_E_MALFORMED);
	EXPECT(detail_has("line 3") && detail_has("expected a key"));
	/* A UTF-8 byte order mark is not read as the start of a key. */
	EXPECT_ERR(
	    read_toml("\xef\xbb\xbfversion = \"0.1.0\"\nalgorithm = \"sha256\"\n[data]\n", &alg),
	    VEIL_E_MALFORMED);
}

TEST(strings_refused)
{
	static const char *const bad[] = {
	    "version = \"0.1.0\"\nalgorithm = \"sha256\n[data]\n", /* unterminated */
	    "version = \"0.1.0\"\nalgorithm = \"sha256",           /* at the end */
	    "version = \"0.1.0\"\nalgorithm = 'sha256\n[data]\n",
	    "version = \"0.1.0\"\nalgorithm = \"sha256\\",
	    "version = \"0.1.0\"\nalgorithm = \"\"\"sha256\"\"\"\n[data]\n", /* multi-line */
	    "version = \"0.1.0\"\nalgorithm = '''sha256'''\n[data]\n",
	    "version = \"0.1.0\"\nalgorithm = \"sha\x01"
	    "256\"\n[data]\n", /* control */
	    "version = \"0.1.0\"\nalgorithm = 'sha\x7f"
	    "256'\n[data]\n",
	    "version = \"0.1.0\"\nalgorithm = \"sha\\x32"
	    "56\"\n[data]\n", /* TOML 1.1 */
	    "version = \"0.1.0\"\nalgorithm = \"sha\\e256\"\n[data]\n",
	    "version = \"0.1.0\"\nalgorithm = \"sha\\uD800\"\n[data]\n", /* surrogate */
	    "version = \"0.1.0\"\nalgorithm = \"sha\\U00110000\"\n[data]\n",
	    "version = \"0.1.0\"\nalgorithm = \"sha\\u32\"\n[data]\n", /* short */
	    "version = \"0.1.0\"\nalgorithm = sha256\n[data]\n",       /* bare */
	};

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		const char *alg = NULL;
		veil_err err = read_toml(bad[i], &alg);
		EXPECT(err == VEIL_E_MALFORMED);
		if (err != VEIL_E_MALFORMED)
			fprintf(stderr, "  case %zu: %s\n", i, veil_err_str(err));
		EXPECT(detail_has("line 2"));
	}
	EXPECT_ERR(read_toml(bad[0], &(const char *){NULL}), VEIL_E_MALFORMED);
	EXPECT(detail_has("unterminated"));
}

TEST(lines_and_headers_refused)
{
	static const char *const bad[] = {
	    "version = \"0.1.0\" x\nalgorithm = \"sha256\"\n[data]\n", /* trailing garbage */
	    "version = \"0.1.0\"\ralgorithm = \"sha256\"\n[data]\n",   /* lone CR */
	    "version = \"0.1.0\" # \x01\nalgorithm = \"sha256\"\n[data]\n",
	    "version = \"0.1.0\" # \x7f\nalgorithm = \"sha256\"\n[data]\n",
	    "version = \"0.1.0\"\nalgorithm = \"sha256\"\n[other]\n",
	    "version = \"0.1.0\"\nalgorithm = \"sha256\"\n[[data]]\n",
	    "version = \"0.1.0\"\nalgorithm = \"sha256\"\n[data.sub]\n",
	    "version = \"0.1.0\"\nalgorithm = \"sha256\"\n[data\n",
	    "version = \"0.1.0\"\nalgorithm = \"sha256\"\n[]\n",
	    "version = \"0.1.0\"\nalgorithm = \"sha256\"\n[data] x\n",
	    "version = \"0.1.0\"\nalgorithm = \"sha256\"\n[dat]\n",
	    "version = \"0.1.0\"\nalgorithm = \"sha256\"\n[datas]\n",
	};

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		const char *alg = NULL;
		veil_err err = read_toml(bad[i], &alg);
		EXPECT(err == VEIL_E_MALFORMED);
		if (err != VEIL_E_MALFORMED)
			fprintf(stderr, "  case %zu: %s\n", i, veil_err_str(err));
	}
	EXPECT_ERR(read_toml(bad[4], &(const char *){NULL}), VEIL_E_MALFORMED);
	EXPECT(detail_has("line 3") && detail_has("[data], not [other]"));
	EXPECT_ERR(read_toml(bad[1], &(const char *){NULL}), VEIL_E_MALFORMED);
	EXPECT(detail_has("carriage return"));
}

/* Every prefix that stops before the end of the [data] header is refused. */
TEST(truncated)
{
	const char *end = strstr(doc256, "[data]") + strlen("[data]");
	size_t full = (size_t)(end - doc256), refused = 0;

	for (size_t n = 0; n < full; n++) {
		const char *alg;
		refused += kbs_initdata_toml_read(doc256, n, &alg) != VEIL_OK;
	}
	EXPECT(refused == full);
	{
		const char *alg = NULL;
		EXPECT_OK(kbs_initdata_toml_read(doc256, full, &alg));
	}
}

/* Flipping any bit before [data] either gets the document refused or
 * leaves it readable with one of the three algorithms (a comment byte),
 * never anything in between; most flips are refused. */
TEST(bit_flipped)
{
	char buf[sizeof doc384];
	size_t top = (size_t)(strstr(doc384, "[data]") - doc384) + strlen("[data]");
	size_t refused = 0, total = 0;

	for (size_t i = 0; i < top; i++)
		for (int bit = 0; bit < 8; bit++) {
			const char *alg = NULL;
			memcpy(buf, doc384, sizeof buf);
			buf[i] = (char)(buf[i] ^ (1 << bit));
			total++;
			if (kbs_initdata_toml_read(buf, sizeof buf - 1, &alg) != VEIL_OK)
				refused++;
			else
				EXPECT(alg != NULL &&
				       (strcmp(alg, "sha256") == 0 || strcmp(alg, "sha384") == 0 ||
					strcmp(alg, "sha512") == 0));
		}
	EXPECT(refused > total * 9 / 10);
}

TEST(wrapper_refused)
{
	kbs_initdata d;
	json_t *o;

	EXPECT_ERR(parse_wrapped("json", doc256, &d), VEIL_E_UNSUPPORTED);
	EXPECT(detail_has("format \"json\""));
	EXPECT_ERR(parse_wrapped("TOML", doc256, &d), VEIL_E_UNSUPPORTED);
	EXPECT_ERR(parse_wrapped(NULL, doc256, &d), VEIL_E_MALFORMED);
	EXPECT_ERR(parse_wrapped("toml", NULL, &d), VEIL_E_MALFORMED);
	EXPECT(detail_has("body must be a string"));
	EXPECT(!d.present);
	o = wrapper("toml", doc256);
	json_object_set_new(o, "extra", json_true());
	EXPECT(kbs_initdata_parse(o, &d) != VEIL_OK);
	EXPECT(detail_has("extra"));
	json_object_set_new(o, "body", json_integer(5));
	json_object_del(o, "extra");
	EXPECT_ERR(kbs_initdata_parse(o, &d), VEIL_E_MALFORMED);
	json_object_set_new(o, "body", json_pack("{s:s}", "a", "b"));
	EXPECT_ERR(kbs_initdata_parse(o, &d), VEIL_E_MALFORMED);
	json_decref(o);
	o = json_string(doc256);
	EXPECT_ERR(kbs_initdata_parse(o, &d), VEIL_E_MALFORMED);
	json_decref(o);
	o = json_array();
	EXPECT_ERR(kbs_initdata_parse(o, &d), VEIL_E_MALFORMED);
	json_decref(o);
	/* null and absent: no init-data, nothing to bind. */
	EXPECT_OK(kbs_initdata_parse(NULL, &d));
	EXPECT(!d.present);
	o = json_null();
	EXPECT_OK(kbs_initdata_parse(o, &d));
	EXPECT(!d.present);
	json_decref(o);
}

TEST(over_cap_and_nul)
{
	size_t cap = VEIL_KBS_INITDATA_MAX_BYTES, head = strlen(doc512);
	char *big = malloc(cap + 2);
	uint8_t dg[64];
	size_t dl = 0;
	kbs_initdata d;

	REQUIRE(big != NULL);
	memcpy(big, doc512, head);
	memset(big + head, '#', cap + 1 - head);
	big[cap + 1] = '\0';
	/* At the cap: fine (the filler is inside [data]); one byte over: not. */
	EXPECT_OK(veil_kbs_initdata_digest(big, cap, dg, &dl));
	EXPECT(dl == 64);
	EXPECT_ERR(veil_kbs_initdata_digest(big, cap + 1, dg, &dl), VEIL_E_LIMIT);
	EXPECT_ERR(parse_wrapped("toml", big, &d), VEIL_E_LIMIT);
	big[cap] = '\0';
	EXPECT_OK(parse_wrapped("toml", big, &d));
	free(big);
	EXPECT_ERR(veil_kbs_initdata_digest(doc512, sizeof doc512, dg, &dl), VEIL_E_MALFORMED);
	EXPECT(detail_has("NUL"));
}

TEST(regularize)
{
	uint8_t d48[48], out[64];

	for (size_t i = 0; i < sizeof d48; i++)
		d48[i] = (uint8_t)(i + 1);
	memset(out, 0xee, sizeof out);
	kbs_initdata_regularize(d48, 48, out, 32);
	EXPECT(memcmp(out, d48, 32) == 0 && out[32] == 0xee);
	memset(out, 0xee, sizeof out);
	kbs_initdata_regularize(d48, 32, out, 48);
	EXPECT(memcmp(out, d48, 32) == 0 && out[32] == 0 && out[47] == 0 && out[48] == 0xee);
	kbs_initdata_regularize(d48, 48, out, 48);
	EXPECT(memcmp(out, d48, 48) == 0);
}

/* A verified bundle result as the bundle verifier lays it out, with the
 * register claim given as hex. */
static json_t *result_with(const char *claim, const uint8_t *v, size_t n)
{
	char hex[129];

	veil_hex_encode(v, n, hex);
	return json_pack("{s:b, s:{s:{s:{s:s}}}}", "verified", 1, "submods", "cpu", "claims", claim,
			 hex);
}

TEST(bind_to_registers)
{
	kbs_initdata d256, d384, d512;
	uint8_t reg[64];
	json_t *res;

	REQUIRE(parse_wrapped("toml", doc256, &d256) == VEIL_OK);
	REQUIRE(parse_wrapped("toml", doc384, &d384) == VEIL_OK);
	REQUIRE(parse_wrapped("toml", doc512, &d512) == VEIL_OK);
	/* SNP and sim HOST_DATA: 32 bytes; a sha384 digest truncated. */
	kbs_initdata_regularize(d384.digest, 48, reg, 32);
	res = result_with("host_data", reg, 32);
	EXPECT_OK(kbs_initdata_bind(&d384, "snp", res));
	EXPECT_OK(kbs_initdata_bind(&d384, "sim", res));
	EXPECT_ERR(kbs_initdata_bind(&d256, "sim", res), VEIL_E_MISMATCH);
	EXPECT(detail_has("init-data does not match HOST_DATA"));
	/* The TDX claim is another one: absent here. */
	EXPECT_ERR(kbs_initdata_bind(&d384, "tdx", res), VEIL_E_VERIFY);
	EXPECT(detail_has("mr_config_id"));
	json_decref(res);
	/* A flipped bit in the register. */
	kbs_initdata_regularize(d256.digest, 32, reg, 32);
	reg[31] ^= 1;
	res = result_with("host_data", reg, 32);
	EXPECT_ERR(kbs_initdata_bind(&d256, "snp", res), VEIL_E_MISMATCH);
	json_decref(res);
	/* A claim of the wrong length. */
	res = result_with("host_data", reg, 31);
	EXPECT_ERR(kbs_initdata_bind(&d256, "snp", res), VEIL_E_VERIFY);
	json_decref(res);
	/* TDX MRCONFIGID: 48 bytes; sha256 zero-padded, sha512 truncated. */
	kbs_initdata_regularize(d256.digest, 32, reg, 48);
	res = result_with("mr_config_id", reg, 48);
	EXPECT_OK(kbs_initdata_bind(&d256, "tdx", res));
	EXPECT_ERR(kbs_initdata_bind(&d384, "tdx", res), VEIL_E_MISMATCH);
	EXPECT(detail_has("init-data does not match MRCONFIGID"));
	json_decref(res);
	kbs_initdata_regularize(d512.digest, 64, reg, 48);
	res = result_with("mr_config_id", reg, 48);
	EXPECT_OK(kbs_initdata_bind(&d512, "tdx", res));
	json_decref(res);
	/* The sample TEE has no register: refused, not skipped. */
	EXPECT_ERR(kbs_initdata_tee_ok("sample"), VEIL_E_UNSUPPORTED);
	EXPECT(detail_has("sample"));
	EXPECT_ERR(kbs_initdata_bind(&d256, "sample", NULL), VEIL_E_UNSUPPORTED);
	EXPECT_OK(kbs_initdata_tee_ok("snp"));
	EXPECT_OK(kbs_initdata_tee_ok("tdx"));
	EXPECT_OK(kbs_initdata_tee_ok("sim"));
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* A sim report signed with the given HOST_DATA (or platform.json's when
 * host_data is NULL), verified, its claims as a bundle result lays them out. */
static json_t *sim_result(const veil_sim *sim, const uint8_t root[32], const uint8_t *host_data)
{
	const veil_evidence_format *f = veil_evidence_format_find("sim");
	veil_verify_ctx ctx = {
	    .at = 1790000060, .sim_roots = (const uint8_t(*)[32])root, .sim_root_count = 1};
	uint8_t m[48] = {0}, rd[64] = {0}, *report = NULL;
	size_t len = 0;
	void *ev = NULL;
	json_t *claims = json_object(), *res = NULL;
	veil_checks c;
	veil_err err;

	veil_checks_init(&c);
	err = host_data != NULL
		  ? veil_sim_attest_host_data(sim, m, host_data, rd, 1790000000, &report, &len)
		  : veil_sim_attest(sim, m, rd, 1790000000, &report, &len);
	if (err == VEIL_OK)
		err = veil_evidence_verify(f, report, len, &ctx, rd, sizeof rd, &c, &ev);
	if (err == VEIL_OK && veil_checks_passed(&c) && f->claims(ev, claims) == VEIL_OK)
		res = json_pack("{s:{s:{s:O}}}", "submods", "cpu", "claims", claims);
	if (ev != NULL)
		f->free(ev);
	free(report);
	json_decref(claims);
	return res;
}

/* The sim platform: HOST_DATA set to the fitted digest binds; platform.json's
 * (zero) does not; the claim the bundle verifier reports is the one read. */
TEST(sim_host_data)
{
	char parent[] = "/tmp/veil-initdata-XXXXXX", dir[64];
	veil_sim *sim = NULL;
	uint8_t root[32], host[32];
	kbs_initdata d;
	json_t *res;

	REQUIRE(mkdtemp(parent) != NULL);
	snprintf(dir, sizeof dir, "%s/p", parent);
	REQUIRE(veil_sim_init(dir, 0, 1790000000) == VEIL_OK);
	REQUIRE(veil_sim_open(dir, &sim) == VEIL_OK);
	veil_sim_root_sha256(sim, root);
	REQUIRE(parse_wrapped("toml", doc384, &d) == VEIL_OK);
	kbs_initdata_regularize(d.digest, d.digest_len, host, sizeof host);
	res = sim_result(sim, root, host);
	EXPECT(res != NULL);
	EXPECT_OK(kbs_initdata_bind(&d, "sim", res));
	json_decref(res);
	res = sim_result(sim, root, NULL);
	EXPECT(res != NULL);
	EXPECT_ERR(kbs_initdata_bind(&d, "sim", res), VEIL_E_MISMATCH);
	EXPECT(detail_has("HOST_DATA is 0000"));
	json_decref(res);
	host[0] ^= 0x80;
	res = sim_result(sim, root, host);
	EXPECT(res != NULL);
	EXPECT_ERR(kbs_initdata_bind(&d, "sim", res), VEIL_E_MISMATCH);
	json_decref(res);
	veil_sim_free(sim);
	(void)nftw(parent, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

/* The attest request carries it: null, absent, given, malformed. */
TEST(attest_request)
{
	static const char base[] =
	    "\"runtime-data\":{\"nonce\":\"AAAA\",\"tee-pubkey\":{\"kty\":\"EC\"}},"
	    "\"tee-evidence\":{\"primary_evidence\":\"AA==\",\"additional_evidence\":\"\"}}";
	char body[1024];
	json_t *init = json_string(doc256);
	char *init_text = json_dumps(init, JSON_ENCODE_ANY);
	kbs_attest_req a;

	REQUIRE(init_text != NULL);
	memset(&a, 0, sizeof a);
	snprintf(body, sizeof body, "{\"init-data\":null,%s", base);
	EXPECT_OK(kbs_attest_request_parse((const uint8_t *)body, strlen(body), &a));
	EXPECT(!a.init_data.present);
	json_decref(a.doc);
	memset(&a, 0, sizeof a);
	snprintf(body, sizeof body, "{%s", base);
	EXPECT_OK(kbs_attest_request_parse((const uint8_t *)body, strlen(body), &a));
	EXPECT(!a.init_data.present);
	json_decref(a.doc);
	memset(&a, 0, sizeof a);
	snprintf(body, sizeof body, "{\"init-data\":{\"format\":\"toml\",\"body\":%s},%s",
		 init_text, base);
	EXPECT_OK(kbs_attest_request_parse((const uint8_t *)body, strlen(body), &a));
	EXPECT(a.init_data.present &&
	       digest_is(a.init_data.digest, a.init_data.digest_len, kat256));
	json_decref(a.doc);
	memset(&a, 0, sizeof a);
	snprintf(body, sizeof body, "{\"init-data\":{\"format\":\"toml\",\"body\":\"x\"},%s", base);
	EXPECT(kbs_attest_request_parse((const uint8_t *)body, strlen(body), &a) != VEIL_OK);
	EXPECT(detail_has("init-data TOML line 1"));
	json_decref(a.doc);
	free(init_text);
	json_decref(init);
}

int main(void)
{
	RUN(known_answers_per_algorithm);
	RUN(comments_literals_escapes_crlf);
	RUN(data_table_not_interpreted_but_hashed);
	RUN(missing_or_unknown_values);
	RUN(duplicate_and_unknown_keys);
	RUN(strings_refused);
	RUN(lines_and_headers_refused);
	RUN(truncated);
	RUN(bit_flipped);
	RUN(wrapper_refused);
	RUN(over_cap_and_nul);
	RUN(regularize);
	RUN(bind_to_registers);
	RUN(sim_host_data);
	RUN(attest_request);
	return harness_finish("test_kbs_initdata");
}
