/*
 * test_sim.c - the simulated TEE: platform creation, the sim and sim-gpu
 * formats, and a composite bundle that verifies end to end.
 *
 * Every test makes its own platform in a temporary directory, so the keys
 * are fresh and nothing depends on files outside the test. The negative
 * cases are the ones a relying party meets: another platform's root, no
 * trusted root at all, a changed measurement, bytes cut or added, the wrong
 * time, the wrong nonce, and the binding between CPU and GPU broken.
 */
#include <errno.h>
#include <ftw.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "veil/bundle.h"
#include "veil/codec.h"
#include "veil/crypto.h"
#include "veil/evidence.h"
#include "veil/json.h"
#include "veil/sim.h"

#define NOW 1790000000 /* 2026-09-21 */

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* A fresh platform directory (static buffer) under a fresh parent. */
static char *sim_dir(unsigned gpus)
{
	static char dir[64];
	char parent[] = "/tmp/veil-sim-XXXXXX";

	if (mkdtemp(parent) == NULL)
		return NULL;
	snprintf(dir, sizeof dir, "%s/p", parent);
	if (veil_sim_init(dir, gpus, NOW) != VEIL_OK)
		return NULL;
	return dir;
}

static void sim_dir_remove(const char *dir)
{
	char parent[64];

	snprintf(parent, sizeof parent, "%s", dir);
	*strrchr(parent, '/') = '\0';
	(void)nftw(parent, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

typedef struct sim_fixture {
	char dir[64];
	veil_sim *sim;
	uint8_t root[32];
	uint8_t measurement[48], rd[64];
	uint8_t *report;
	size_t len;
} sim_fixture;

static bool fixture_open(sim_fixture *f, unsigned gpus)
{
	char *dir = sim_dir(gpus);

	memset(f, 0, sizeof *f);
	if (dir == NULL)
		return false;
	snprintf(f->dir, sizeof f->dir, "%s", dir);
	if (veil_sim_open(f->dir, &f->sim) != VEIL_OK)
		return false;
	veil_sim_root_sha256(f->sim, f->root);
	memset(f->measurement, 0xA5, sizeof f->measurement);
	for (size_t i = 0; i < sizeof f->rd; i++)
		f->rd[i] = (uint8_t)i;
	return veil_sim_attest(f->sim, f->measurement, f->rd, NOW, &f->report, &f->len) == VEIL_OK;
}

static void fixture_close(sim_fixture *f)
{
	free(f->report);
	veil_sim_free(f->sim);
	if (f->dir[0] != '\0')
		sim_dir_remove(f->dir);
}

/* Verifies buf as `fmt` trusting `roots` at `at`; the checks go to c. */
static veil_err verify_as(const char *fmt, const uint8_t *buf, size_t len,
			  const uint8_t (*roots)[32], size_t nroots, int64_t at,
			  const veil_collateral *coll, const uint8_t *expected, size_t exp_len,
			  veil_checks *c)
{
	const veil_evidence_format *f = veil_evidence_format_find(fmt);
	veil_verify_ctx ctx = {
	    .at = at, .collateral = coll, .sim_roots = roots, .sim_root_count = nroots};
	void *ev = NULL;
	veil_err err;

	veil_checks_init(c);
	err = veil_evidence_verify(f, buf, len, &ctx, expected, exp_len, c, &ev);
	if (ev != NULL)
		f->free(ev);
	return err;
}

static bool check_failed(const veil_checks *c, const char *name)
{
	const veil_check *k = veil_checks_find(c, name);
	return k != NULL && !k->ok;
}

TEST(sim_report_verifies_and_says_insecure)
{
	sim_fixture f;
	veil_checks c;
	const veil_evidence_format *fmt = veil_evidence_format_find("sim");
	void *ev = NULL;
	json_t *claims = json_object();

	REQUIRE(fixture_open(&f, 0));
	EXPECT(veil_evidence_detect(f.report, f.len) == fmt);
	EXPECT_OK(verify_as("sim", f.report, f.len, (const uint8_t(*)[32])f.root, 1, NOW + 60, NULL,
			    f.rd, sizeof f.rd, &c));
	EXPECT(veil_checks_passed(&c));
	EXPECT(veil_checks_find(&c, "report.signature") != NULL);
	EXPECT(veil_checks_find(&c, "report_data") != NULL);

	REQUIRE(fmt->parse(f.report, f.len, &ev) == VEIL_OK);
	REQUIRE(fmt->claims(ev, claims) == VEIL_OK);
	EXPECT(json_is_true(json_object_get(claims, "insecure")));
	EXPECT(json_is_false(json_object_get(claims, "debug")));
	EXPECT(json_integer_value(json_object_get(claims, "generated_at")) == NOW);
	EXPECT(json_integer_value(
		   json_object_get(json_object_get(claims, "tcb_decoded"), "microcode")) == 115);
	EXPECT(strncmp(json_string_value(json_object_get(claims, "measurement")), "a5a5a5", 6) ==
	       0);
	char hex[65];
	veil_hex_encode(f.root, 32, hex);
	EXPECT(strcmp(json_string_value(json_object_get(claims, "sim_root")), hex) == 0);
	fmt->free(ev);
	json_decref(claims);
	fixture_close(&f);
}

TEST(sim_report_needs_a_trusted_root)
{
	sim_fixture f, other;
	veil_checks c;

	REQUIRE(fixture_open(&f, 0));
	REQUIRE(fixture_open(&other, 0));
	/* No sim root trusted at all. */
	EXPECT_ERR(verify_as("sim", f.report, f.len, NULL, 0, NOW, NULL, NULL, 0, &c),
		   VEIL_E_VERIFY);
	EXPECT(check_failed(&c, "sim.root"));
	/* The reason names both places a root comes from, not only --certs
	 * (which veil appraise does not trust). */
	EXPECT(veil_checks_find(&c, "sim.root") != NULL &&
	       strstr(veil_checks_find(&c, "sim.root")->detail, "policy's sim \"roots\"") != NULL);
	/* Another platform's root: fingerprints differ. */
	EXPECT_ERR(verify_as("sim", f.report, f.len, (const uint8_t(*)[32])other.root, 1, NOW, NULL,
			     NULL, 0, &c),
		   VEIL_E_VERIFY);
	EXPECT(check_failed(&c, "sim.root"));
	/* Both trusted: this one's root is among them. */
	uint8_t both[2][32];
	memcpy(both[0], other.root, 32);
	memcpy(both[1], f.root, 32);
	EXPECT_OK(verify_as("sim", f.report, f.len, (const uint8_t(*)[32])both, 2, NOW, NULL, NULL,
			    0, &c));
	fixture_close(&f);
	fixture_close(&other);
}

TEST(sim_report_negative_cases)
{
	sim_fixture f;
	veil_checks c;
	const uint8_t(*root)[32];
	uint8_t *buf;

	REQUIRE(fixture_open(&f, 0));
	root = (const uint8_t(*)[32])f.root;
	buf = malloc(f.len + 1);
	REQUIRE(buf != NULL);

	/* A changed measurement no longer matches the signature. */
	memcpy(buf, f.report, f.len);
	buf[0x20] ^= 1;
	EXPECT_ERR(verify_as("sim", buf, f.len, root, 1, NOW, NULL, NULL, 0, &c), VEIL_E_VERIFY);
	EXPECT(check_failed(&c, "report.signature"));
	/* A flipped signature bit. */
	memcpy(buf, f.report, f.len);
	buf[f.len - 1] ^= 0x80;
	EXPECT_ERR(verify_as("sim", buf, f.len, root, 1, NOW, NULL, NULL, 0, &c), VEIL_E_VERIFY);
	EXPECT(check_failed(&c, "report.signature"));
	/* The platform id must name the platform key. */
	memcpy(buf, f.report, f.len);
	buf[0xB0] ^= 1;
	EXPECT_ERR(verify_as("sim", buf, f.len, root, 1, NOW, NULL, NULL, 0, &c), VEIL_E_VERIFY);
	EXPECT(check_failed(&c, "sim.platform_id"));
	/* Wrong REPORT_DATA expected. */
	uint8_t other_rd[64] = {0};
	EXPECT_ERR(verify_as("sim", f.report, f.len, root, 1, NOW, NULL, other_rd, 64, &c),
		   VEIL_E_MISMATCH);
	EXPECT(check_failed(&c, "report_data"));
	/* Before the certificates were valid, and long after. */
	EXPECT_ERR(verify_as("sim", f.report, f.len, root, 1, NOW - 7200, NULL, NULL, 0, &c),
		   VEIL_E_VERIFY);
	EXPECT(check_failed(&c, "sim.chain"));
	EXPECT_ERR(
	    verify_as("sim", f.report, f.len, root, 1, NOW + 11LL * 366 * 86400, NULL, NULL, 0, &c),
	    VEIL_E_VERIFY);
	EXPECT(check_failed(&c, "sim.chain"));
	/* Truncated, one byte longer, trailing garbage, reserved flags, bad
	 * magic, another version: parse errors. */
	EXPECT_ERR(verify_as("sim", f.report, f.len - 1, root, 1, NOW, NULL, NULL, 0, &c),
		   VEIL_E_TRUNCATED);
	EXPECT_ERR(verify_as("sim", f.report, 0x40, root, 1, NOW, NULL, NULL, 0, &c),
		   VEIL_E_TRUNCATED);
	memcpy(buf, f.report, f.len);
	buf[f.len] = 0;
	EXPECT_ERR(verify_as("sim", buf, f.len + 1, root, 1, NOW, NULL, NULL, 0, &c),
		   VEIL_E_TRAILING);
	buf[0x0C] = 0x02;
	EXPECT_ERR(verify_as("sim", buf, f.len, root, 1, NOW, NULL, NULL, 0, &c), VEIL_E_MALFORMED);
	memcpy(buf, f.report, f.len);
	buf[0] = 'X';
	EXPECT_ERR(verify_as("sim", buf, f.len, root, 1, NOW, NULL, NULL, 0, &c), VEIL_E_MALFORMED);
	memcpy(buf, f.report, f.len);
	buf[0x08] = 2;
	EXPECT_ERR(verify_as("sim", buf, f.len, root, 1, NOW, NULL, NULL, 0, &c),
		   VEIL_E_UNSUPPORTED);
	/* A certificate length pointing past the end. */
	memcpy(buf, f.report, f.len);
	buf[0xD0] = 0xFF;
	buf[0xD1] = 0x0F;
	EXPECT(verify_as("sim", buf, f.len, root, 1, NOW, NULL, NULL, 0, &c) != VEIL_OK);
	free(buf);
	fixture_close(&f);
}

/* A verifier remembers a sim chain that verified, and a cached chain is
 * still held to everything else: the caller's trusted roots of this call,
 * the time, the platform id and the report's own signature. */
TEST(sim_cached_chain_is_checked_again)
{
	sim_fixture f, other;
	const veil_evidence_format *fmt = veil_evidence_format_find("sim");
	veil_verifier *v = NULL;
	veil_checks c;
	uint8_t *forged;

	REQUIRE(fixture_open(&f, 0));
	REQUIRE(fixture_open(&other, 0));
	REQUIRE(veil_verifier_new(&v) == VEIL_OK);
	for (int round = 0; round < 2; round++) {
		const uint8_t(*roots)[32] = (const uint8_t(*)[32])f.root;
		veil_verify_ctx ctx = {
		    .at = NOW, .verifier = v, .sim_roots = roots, .sim_root_count = 1};
		veil_verify_ctx untrusted = {.at = NOW, .verifier = v};
		veil_verify_ctx foreign = {.at = NOW,
					   .verifier = v,
					   .sim_roots = (const uint8_t(*)[32])other.root,
					   .sim_root_count = 1};
		veil_verify_ctx late = ctx;
		void *ev = NULL;

		late.at = NOW + 100LL * 366 * 24 * 3600;
		veil_checks_init(&c);
		EXPECT_OK(veil_evidence_verify(fmt, f.report, f.len, &ctx, NULL, 0, &c, &ev));
		fmt->free(ev), ev = NULL;
		veil_checks_init(&c);
		EXPECT_ERR(veil_evidence_verify(fmt, f.report, f.len, &untrusted, NULL, 0, &c, &ev),
			   VEIL_E_VERIFY);
		fmt->free(ev), ev = NULL;
		veil_checks_init(&c);
		EXPECT_ERR(veil_evidence_verify(fmt, f.report, f.len, &foreign, NULL, 0, &c, &ev),
			   VEIL_E_VERIFY);
		fmt->free(ev), ev = NULL;
		veil_checks_init(&c);
		EXPECT_ERR(veil_evidence_verify(fmt, f.report, f.len, &late, NULL, 0, &c, &ev),
			   VEIL_E_VERIFY);
		fmt->free(ev), ev = NULL;
		/* The same chain, a changed measurement: the signature fails. */
		forged = malloc(f.len);
		REQUIRE(forged != NULL);
		memcpy(forged, f.report, f.len);
		forged[0x20] ^= 1;
		veil_checks_init(&c);
		EXPECT_ERR(veil_evidence_verify(fmt, forged, f.len, &ctx, NULL, 0, &c, &ev),
			   VEIL_E_VERIFY);
		fmt->free(ev), ev = NULL;
		free(forged);
	}
	veil_verifier_free(v);
	fixture_close(&f);
	fixture_close(&other);
}

TEST(sim_platform_files)
{
	sim_fixture f;
	char path[128];
	struct stat st;
	veil_sim *s = NULL;

	REQUIRE(fixture_open(&f, 2));
	EXPECT(veil_sim_gpu_count(f.sim) == 2);
	snprintf(path, sizeof path, "%s/platform.key", f.dir);
	REQUIRE(stat(path, &st) == 0);
	EXPECT((st.st_mode & 0777) == 0600);
	snprintf(path, sizeof path, "%s/gpu1.key", f.dir);
	REQUIRE(stat(path, &st) == 0);
	EXPECT((st.st_mode & 0777) == 0600);
	/* A directory that is not empty is never overwritten. */
	EXPECT_ERR(veil_sim_init(f.dir, 1, NOW), VEIL_E_USAGE);
	/* A key others can read is refused. */
	snprintf(path, sizeof path, "%s/platform.key", f.dir);
	REQUIRE(chmod(path, 0644) == 0);
	EXPECT_ERR(veil_sim_open(f.dir, &s), VEIL_E_USAGE);
	EXPECT(strstr(veil_err_detail(), "too open") != NULL);
	REQUIRE(chmod(path, 0600) == 0);
	EXPECT_OK(veil_sim_open(f.dir, &s));
	veil_sim_free(s);
	s = NULL;
	/* platform.json is read strictly. */
	snprintf(path, sizeof path, "%s/platform.json", f.dir);
	FILE *cfg = fopen(path, "w");
	REQUIRE(cfg != NULL);
	fputs("{\"version\":1,\"tcb\":{\"bootloader\":3,\"tee\":0,\"snp\":8,\"microcode\":115},"
	      "\"debug\":true,\"host_data\":\"00\",\"gpus\":0,\"gpu\":{}}",
	      cfg);
	fclose(cfg);
	EXPECT_ERR(veil_sim_open(f.dir, &s), VEIL_E_MALFORMED);
	EXPECT(strstr(veil_err_detail(), "host_data") != NULL);
	fixture_close(&f);
}

/* "DIR/" names DIR: the temporary directory goes beside it, not inside. */
TEST(sim_init_accepts_a_trailing_slash)
{
	char parent[] = "/tmp/veil-sim-XXXXXX", dir[96];
	veil_sim *s = NULL;
	struct stat st;

	REQUIRE(mkdtemp(parent) != NULL);
	snprintf(dir, sizeof dir, "%s/new/", parent);
	EXPECT_OK(veil_sim_init(dir, 0, NOW));
	EXPECT_OK(veil_sim_open(dir, &s));
	veil_sim_free(s);
	s = NULL;
	snprintf(dir, sizeof dir, "%s/empty", parent);
	REQUIRE(mkdir(dir, 0700) == 0);
	snprintf(dir, sizeof dir, "%s/empty//", parent);
	EXPECT_OK(veil_sim_init(dir, 1, NOW));
	EXPECT_OK(veil_sim_open(dir, &s));
	veil_sim_free(s);
	snprintf(dir, sizeof dir, "%s/empty/root.pem", parent);
	EXPECT(stat(dir, &st) == 0 && S_ISREG(st.st_mode));
	(void)nftw(parent, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

TEST(sim_measure_is_length_prefixed)
{
	char a[] = "/tmp/veil-measure-XXXXXX", b[] = "/tmp/veil-measure-XXXXXX";
	int fa = mkstemp(a), fb = mkstemp(b);
	uint8_t m1[48], m2[48];
	const char *ab[] = {a, b}, *ba[] = {b, a};

	REQUIRE(fa >= 0 && fb >= 0);
	REQUIRE(write(fa, "ab", 2) == 2 && write(fb, "c", 1) == 1);
	close(fa);
	close(fb);
	EXPECT_OK(veil_sim_measure(ab, 2, m1));
	EXPECT_OK(veil_sim_measure(ba, 2, m2));
	EXPECT(memcmp(m1, m2, 48) != 0);
	/* Independently: SHA-384(u64le(2) "ab" u64le(1) "c"). */
	uint8_t in[] = {2, 0, 0, 0, 0, 0, 0, 0, 'a', 'b', 1, 0, 0, 0, 0, 0, 0, 0, 'c'};
	EXPECT_OK(veil_sha384(in, sizeof in, m2));
	EXPECT(memcmp(m1, m2, 48) == 0);
	EXPECT_ERR(veil_sim_measure(ab, 0, m1), VEIL_E_USAGE);
	const char *missing[] = {"/nonexistent/veil"};
	EXPECT_ERR(veil_sim_measure(missing, 1, m1), VEIL_E_IO);
	unlink(a);
	unlink(b);
}

TEST(sim_gpu_report_verifies_with_its_chain)
{
	sim_fixture f, other;
	uint8_t nonce[32], *rep = NULL, *rep2 = NULL;
	size_t len = 0, len2 = 0;
	char *chain = NULL, *chain2 = NULL;
	veil_sim_gpu_state st;
	veil_collateral coll;
	veil_checks c;

	REQUIRE(fixture_open(&f, 1));
	REQUIRE(fixture_open(&other, 1));
	memset(nonce, 0x42, sizeof nonce);
	REQUIRE(veil_sim_gpu_attest(f.sim, 0, nonce, &rep, &len, &chain, &st) == VEIL_OK);
	EXPECT(st.cc_on && !st.devtools && st.ready);
	EXPECT_ERR(veil_sim_gpu_attest(f.sim, 1, nonce, &rep2, &len2, &chain2, &st),
		   VEIL_E_NOT_FOUND);
	/* Never guessed from the bytes: they look like NVIDIA's. */
	EXPECT(veil_evidence_detect(rep, len) == veil_evidence_format_find("nvidia"));
	veil_collateral_init(&coll);
	REQUIRE(veil_collateral_add(&coll, (const uint8_t *)chain, strlen(chain), "chain") ==
		VEIL_OK);
	EXPECT_OK(verify_as("sim-gpu", rep, len, (const uint8_t(*)[32])f.root, 1, NOW, &coll, nonce,
			    32, &c));
	/* Wrong nonce. */
	uint8_t wrong[32] = {0};
	EXPECT_ERR(verify_as("sim-gpu", rep, len, (const uint8_t(*)[32])f.root, 1, NOW, &coll,
			     wrong, 32, &c),
		   VEIL_E_MISMATCH);
	EXPECT(check_failed(&c, "report_data"));
	/* No trusted root, or another platform's. */
	EXPECT_ERR(verify_as("sim-gpu", rep, len, NULL, 0, NOW, &coll, NULL, 0, &c), VEIL_E_VERIFY);
	EXPECT(check_failed(&c, "sim.root"));
	EXPECT_ERR(verify_as("sim-gpu", rep, len, (const uint8_t(*)[32])other.root, 1, NOW, &coll,
			     NULL, 0, &c),
		   VEIL_E_VERIFY);
	/* The other platform's chain is trusted, but its GPU did not sign. */
	REQUIRE(veil_sim_gpu_attest(other.sim, 0, nonce, &rep2, &len2, &chain2, &st) == VEIL_OK);
	veil_collateral_clear(&coll);
	veil_collateral_init(&coll);
	REQUIRE(veil_collateral_add(&coll, (const uint8_t *)chain2, strlen(chain2), "chain") ==
		VEIL_OK);
	EXPECT_ERR(verify_as("sim-gpu", rep, len, (const uint8_t(*)[32])other.root, 1, NOW, &coll,
			     NULL, 0, &c),
		   VEIL_E_VERIFY);
	EXPECT(check_failed(&c, "report.signature"));
	/* A flipped measurement byte. */
	rep2 = realloc(rep2, len);
	REQUIRE(rep2 != NULL);
	memcpy(rep2, rep, len);
	rep2[37 + 20] ^= 1;
	veil_collateral_clear(&coll);
	veil_collateral_init(&coll);
	REQUIRE(veil_collateral_add(&coll, (const uint8_t *)chain, strlen(chain), "chain") ==
		VEIL_OK);
	EXPECT_ERR(verify_as("sim-gpu", rep2, len, (const uint8_t(*)[32])f.root, 1, NOW, &coll,
			     NULL, 0, &c),
		   VEIL_E_VERIFY);
	/* A real NVIDIA report is not a sim GPU report. */
	size_t nl;
	uint8_t *hex = td_read("nvidia/hopper/h100_drv580.159.03_vb96.00.74.00.20_report.hex", &nl);
	uint8_t *raw = malloc(nl / 2);
	size_t rl = 0;
	REQUIRE(raw != NULL);
	while (nl > 0 && (hex[nl - 1] == '\n' || hex[nl - 1] == '\r'))
		nl--;
	REQUIRE(veil_hex_decode((const char *)hex, nl, raw, nl / 2, &rl) == VEIL_OK);
	EXPECT_ERR(
	    verify_as("sim-gpu", raw, rl, (const uint8_t(*)[32])f.root, 1, NOW, &coll, NULL, 0, &c),
	    VEIL_E_MALFORMED);
	free(hex);
	free(raw);
	veil_collateral_clear(&coll);
	free(rep);
	free(rep2);
	free(chain);
	free(chain2);
	fixture_close(&f);
	fixture_close(&other);
}

static char *b64(const uint8_t *p, size_t n)
{
	char *s = malloc(veil_base64_encoded_len(n) + 1);
	if (s != NULL)
		veil_base64_encode(p, n, s);
	return s;
}

/* A sim bundle: CPU report bound to runtime_data, one GPU bound to the
 * device nonce (or to gpu_nonce when not NULL). Returns JSON text. */
static char *sim_bundle(sim_fixture *f, const uint8_t *gpu_nonce, const char *state)
{
	json_t *rt = json_pack("{s:s, s:{s:s, s:s, s:s, s:s}}", "nonce", "challenge-1",
			       "tee-pubkey", "kty", "EC", "crv", "P-256", "x", "eA", "y", "eQ");
	uint8_t nonce[32], rd[64], *gpu = NULL, *cpu = NULL;
	size_t gl = 0, cl = 0;
	char *chain = NULL, *text = NULL;
	veil_sim_gpu_state st;
	json_t *state_json = NULL;

	if (rt == NULL || veil_device_nonce(rt, nonce) != VEIL_OK ||
	    veil_sim_gpu_attest(f->sim, 0, gpu_nonce != NULL ? gpu_nonce : nonce, &gpu, &gl, &chain,
				&st) != VEIL_OK)
		goto out;
	char *g64 = b64(gpu, gl), *c64 = b64((const uint8_t *)chain, strlen(chain));
	json_error_t jerr;
	state_json = json_loads(state, 0, &jerr);
	json_object_set_new(rt, "additional-evidence",
			    json_pack("[{s:s, s:s, s:s, s:O}]", "type", "sim-gpu", "evidence", g64,
				      "certificate", c64, "state", state_json));
	free(g64);
	free(c64);
	if (veil_runtime_data_digest(rt, rd) != VEIL_OK ||
	    veil_sim_attest(f->sim, f->measurement, rd, NOW, &cpu, &cl) != VEIL_OK)
		goto out;
	char *p64 = b64(cpu, cl);
	json_t *doc = json_pack("{s:i, s:s, s:s, s:O}", "version", 1, "tee", "sim",
				"primary_evidence", p64, "runtime_data", rt);
	free(p64);
	text = json_dumps(doc, JSON_COMPACT);
	json_decref(doc);
out:
	json_decref(state_json);
	json_decref(rt);
	free(gpu);
	free(cpu);
	free(chain);
	return text;
}

static json_t *bundle_verify(const char *text, const uint8_t (*roots)[32], size_t n)
{
	veil_verify_ctx ctx = {.at = NOW, .sim_roots = roots, .sim_root_count = n};
	json_t *res = NULL;

	if (veil_bundle_verify((const uint8_t *)text, strlen(text), &ctx, &res) != VEIL_OK)
		return NULL;
	return res;
}

static const char state_on[] =
    "{\"cc_mode\":\"on\",\"cc_environment\":\"sim\",\"devtools\":false,\"ready\":true}";

TEST(sim_bundle_verifies_end_to_end)
{
	sim_fixture f;
	char *text;
	json_t *res, *gpu;

	REQUIRE(fixture_open(&f, 1));
	text = sim_bundle(&f, NULL, state_on);
	REQUIRE(text != NULL);
	res = bundle_verify(text, (const uint8_t(*)[32])f.root, 1);
	REQUIRE(res != NULL);
	EXPECT(json_is_true(json_object_get(res, "verified")));
	gpu = json_object_get(json_object_get(res, "submods"), "gpu0");
	EXPECT(json_is_true(json_object_get(gpu, "verified")));
	EXPECT(strcmp(json_string_value(json_object_get(gpu, "tee")), "sim-gpu") == 0);
	EXPECT(strcmp(json_string_value(json_object_get(json_object_get(gpu, "claims"), "cc_mode")),
		      "on") == 0);
	EXPECT(json_is_true(json_object_get(json_object_get(gpu, "claims"), "insecure")));
	json_decref(res);

	/* Untrusted: nothing verifies. */
	res = bundle_verify(text, NULL, 0);
	REQUIRE(res != NULL);
	EXPECT(json_is_false(json_object_get(res, "verified")));
	json_decref(res);

	/* The runtime data changed after attesting: both bindings break. */
	char *edited = strdup(text);
	REQUIRE(edited != NULL);
	char *at = strstr(edited, "challenge-1");
	REQUIRE(at != NULL);
	at[10] = '2';
	res = bundle_verify(edited, (const uint8_t(*)[32])f.root, 1);
	REQUIRE(res != NULL);
	EXPECT(json_is_false(json_object_get(res, "verified")));
	json_t *cpu = json_object_get(json_object_get(res, "submods"), "cpu");
	EXPECT(json_is_false(json_object_get(cpu, "verified")));
	EXPECT(json_is_false(json_object_get(
	    gpu = json_object_get(json_object_get(res, "submods"), "gpu0"), "verified")));
	json_decref(res);
	free(edited);
	free(text);

	/* A GPU report made for another nonce. */
	uint8_t stale[32] = {1};
	text = sim_bundle(&f, stale, state_on);
	REQUIRE(text != NULL);
	res = bundle_verify(text, (const uint8_t(*)[32])f.root, 1);
	REQUIRE(res != NULL);
	EXPECT(json_is_false(json_object_get(res, "verified")));
	gpu = json_object_get(json_object_get(res, "submods"), "gpu0");
	EXPECT(json_is_false(json_object_get(gpu, "verified")));
	EXPECT(json_is_true(
	    json_object_get(json_object_get(json_object_get(res, "submods"), "cpu"), "verified")));
	json_decref(res);
	free(text);

	/* A malformed device state is refused outright. */
	text = sim_bundle(&f, NULL, "{\"cc_mode\":\"maybe\",\"devtools\":false,\"ready\":true}");
	REQUIRE(text != NULL);
	EXPECT(bundle_verify(text, (const uint8_t(*)[32])f.root, 1) == NULL);
	free(text);
	text =
	    sim_bundle(&f, NULL, "{\"cc_mode\":\"on\",\"devtools\":false,\"ready\":true,\"x\":1}");
	REQUIRE(text != NULL);
	EXPECT(bundle_verify(text, (const uint8_t(*)[32])f.root, 1) == NULL);
	free(text);
	fixture_close(&f);
}

int main(void)
{
	RUN(sim_report_verifies_and_says_insecure);
	RUN(sim_report_needs_a_trusted_root);
	RUN(sim_report_negative_cases);
	RUN(sim_cached_chain_is_checked_again);
	RUN(sim_platform_files);
	RUN(sim_init_accepts_a_trailing_slash);
	RUN(sim_measure_is_length_prefixed);
	RUN(sim_gpu_report_verifies_with_its_chain);
	RUN(sim_bundle_verifies_end_to_end);
	return harness_finish("test_sim");
}
