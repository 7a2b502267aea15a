/*
 * bench_verify.c - how fast does Veil verify evidence, next to the raw
 * signature operations it cannot avoid?
 *
 * For SEV-SNP, TDX and NVIDIA GPU reports, on one core (one thread), it
 * measures:
 *   - the baseline: the signature verification the format requires, done
 *     directly with OpenSSL EVP on the same key, message and signature
 *     (ECDSA P-384/SHA-384 for SNP and NVIDIA, ECDSA P-256/SHA-256 for TDX);
 *   - warm verification: a long-lived veil_verifier whose caches already
 *     hold the verified certificate chains and collateral (for NVIDIA: the
 *     GPU chain and the signed RIMs), as the key broker and gateway run;
 *   - cold verification: a fresh verifier each time (parse certificates,
 *     verify chains and collateral, then the evidence).
 * Each figure is the best of several rounds, so a noisy neighbour lowers
 * numbers rather than inflating them, and ratios are taken within the run.
 *
 * Usage: bench_verify [seconds-per-measurement]   (default 0.5)
 * Reads evidence from $VEIL_TESTDATA (default ../shared/testdata).
 */
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "veil/codec.h"
#include "veil/collateral.h"
#include "veil/crypto.h"
#include "veil/evidence.h"
#include "veil/timeutil.h"
#include "veil/x509.h"

#define ROUNDS 3

typedef struct bench_case {
	const char *name;
	const veil_evidence_format *fmt;
	uint8_t *evidence;
	size_t evidence_len;
	veil_collateral collateral;
	int64_t at;
	veil_revocation_policy revocation;
	veil_verifier *warm;
} bench_case;

static double now_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint8_t *read_td(const char *rel, size_t *len)
{
	char path[4096];
	const char *root = getenv("VEIL_TESTDATA");
	uint8_t *buf;
	snprintf(path, sizeof path, "%s/%s", root && *root ? root : "../shared/testdata", rel);
	if (veil_file_read(path, 4 << 20, &buf, len) != VEIL_OK) {
		fprintf(stderr, "bench: %s\n", veil_err_detail());
		exit(2);
	}
	return buf;
}

/* Runs fn until `seconds` pass; returns operations per second. */
typedef int (*bench_fn)(void *arg);
static double measure(bench_fn fn, void *arg, double seconds)
{
	double best = 0;
	for (int round = 0; round < ROUNDS; round++) {
		long n = 0;
		double start = now_seconds(), elapsed;
		do {
			for (int i = 0; i < 8; i++) {
				if (fn(arg) != 0) {
					fprintf(stderr, "bench: operation failed: %s\n",
						veil_err_detail());
					exit(1);
				}
			}
			n += 8;
			elapsed = now_seconds() - start;
		} while (elapsed < seconds);
		if (n / elapsed > best)
			best = n / elapsed;
	}
	return best;
}

static int verify_with(bench_case *c, veil_verifier *v)
{
	veil_checks checks;
	veil_verify_ctx ctx = {
	    .at = c->at, .collateral = &c->collateral, .verifier = v, .revocation = c->revocation};
	veil_checks_init(&checks);
	return veil_evidence_verify(c->fmt, c->evidence, c->evidence_len, &ctx, NULL, 0, &checks,
				    NULL) != VEIL_OK;
}

static int verify_warm(void *arg)
{
	bench_case *c = arg;
	return verify_with(c, c->warm);
}

static int verify_cold(void *arg)
{
	bench_case *c = arg;
	veil_verifier *v;
	if (veil_verifier_new(&v) != VEIL_OK)
		return 1;
	int rc = verify_with(c, v);
	veil_verifier_free(v);
	return rc;
}

/* The baseline: EVP_DigestVerify of a DER ECDSA signature over msg. */
typedef struct raw_sig {
	EVP_PKEY *key;
	const EVP_MD *md;
	const uint8_t *msg;
	size_t msg_len;
	uint8_t der[160];
	size_t der_len;
} raw_sig;

static int raw_verify(void *arg)
{
	raw_sig *r = arg;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int ok = ctx != NULL && EVP_DigestVerifyInit(ctx, NULL, r->md, NULL, r->key) == 1 &&
		 EVP_DigestVerify(ctx, r->der, r->der_len, r->msg, r->msg_len) == 1;
	EVP_MD_CTX_free(ctx);
	return ok ? 0 : 1;
}

/* DER-encodes big-endian r and s (width bytes each) into r->der. */
static void raw_sig_set(raw_sig *r, const uint8_t *rb, const uint8_t *sb, size_t width)
{
	ECDSA_SIG *sig = ECDSA_SIG_new();
	unsigned char *p = r->der;
	ECDSA_SIG_set0(sig, BN_bin2bn(rb, (int)width, NULL), BN_bin2bn(sb, (int)width, NULL));
	r->der_len = (size_t)i2d_ECDSA_SIG(sig, &p);
	ECDSA_SIG_free(sig);
}

static void case_init(bench_case *c, const char *name, const char *fmt, const char *evidence,
		      const char *const *collateral, const char *at,
		      veil_revocation_policy revocation)
{
	memset(c, 0, sizeof *c);
	c->revocation = revocation;
	c->name = name;
	c->fmt = veil_evidence_format_find(fmt);
	c->evidence = read_td(evidence, &c->evidence_len);
	if (strstr(evidence, ".hex") != NULL) { /* one line of hex */
		size_t n = 0;
		while (c->evidence_len > 0 && (c->evidence[c->evidence_len - 1] == '\n' ||
					       c->evidence[c->evidence_len - 1] == '\r'))
			c->evidence_len--;
		if (veil_hex_decode((const char *)c->evidence, c->evidence_len, c->evidence,
				    c->evidence_len, &n) != VEIL_OK)
			exit(2);
		c->evidence_len = n;
	}
	veil_collateral_init(&c->collateral);
	for (size_t i = 0; collateral[i] != NULL; i++) {
		size_t n;
		uint8_t *b = read_td(collateral[i], &n);
		if (veil_collateral_add(&c->collateral, b, n, collateral[i]) != VEIL_OK)
			exit(2);
		free(b);
	}
	if (c->fmt == NULL || veil_time_parse(at, &c->at) != VEIL_OK ||
	    veil_verifier_new(&c->warm) != VEIL_OK) {
		fprintf(stderr, "bench: cannot set up %s\n", name);
		exit(2);
	}
	if (verify_warm(c) != 0) { /* fills the caches, and must pass */
		fprintf(stderr, "bench: %s does not verify: %s\n", name, veil_err_detail());
		exit(1);
	}
}

static void case_clear(bench_case *c)
{
	veil_verifier_free(c->warm);
	veil_collateral_clear(&c->collateral);
	free(c->evidence);
}

static void row(const char *what, double rate, double base)
{
	printf("| %-44s | %12.0f | %12.1f | %8.3f |\n", what, rate, 1e6 / rate, rate / base);
}

int main(int argc, char **argv)
{
	double secs = argc > 1 ? strtod(argv[1], NULL) : 0.5; /* checked: clamped below */
	if (!(secs > 0.01 && secs < 60))
		secs = 0.5;

	/* SEV-SNP: a Milan report and its VCEK (signature over [0, 0x2A0)). */
	static const char *const snp_coll[] = {"snp/trustee/test-vcek.der", NULL};
	bench_case snp;
	case_init(&snp, "snp", "snp", "snp/trustee/test-report.bin", snp_coll,
		  "2024-01-01T00:00:00Z", VEIL_REVOCATION_REQUIRE);
	raw_sig snp_raw = {.md = EVP_sha384(), .msg = snp.evidence, .msg_len = 0x2a0};
	{
		X509 *vcek;
		uint8_t r[72], s[72];
		if (veil_cert_parse_der(snp.collateral.blob[0].data, snp.collateral.blob[0].len,
					&vcek) != VEIL_OK)
			return 2;
		snp_raw.key = X509_get_pubkey(vcek);
		X509_free(vcek);
		/* AMD stores r and s little-endian in 72-byte slots; P-384
		 * uses the low 48 bytes. */
		for (int i = 0; i < 72; i++) {
			r[i] = snp.evidence[0x2a0 + 71 - i];
			s[i] = snp.evidence[0x2e8 + 71 - i];
		}
		raw_sig_set(&snp_raw, r + 24, s + 24, 48);
	}

	/* TDX: a v4 quote with its Intel collateral (TCB Info, QE Identity,
	 * CRLs), quote signature over [0, 632) by the attestation key. */
	static const char *const tdx_coll[] = {"tdx/phala-dcap-qvl/tdx_quote_collateral.json",
					       NULL};
	bench_case tdx;
	case_init(&tdx, "tdx", "tdx", "tdx/phala-dcap-qvl/tdx_quote", tdx_coll,
		  "2025-07-19T10:00:34Z", VEIL_REVOCATION_REQUIRE);
	raw_sig tdx_raw = {.md = EVP_sha256(), .msg = tdx.evidence, .msg_len = 632};
	{
		/* Quote v4: u32 signature length at 632, then r||s, then the
		 * attestation key x||y. */
		if (veil_p256_pubkey_from_xy(tdx.evidence + 636 + 64, &tdx_raw.key) != VEIL_OK)
			return 2;
		raw_sig_set(&tdx_raw, tdx.evidence + 636, tdx.evidence + 636 + 32, 32);
	}
	/* NVIDIA: the H100 545.00 report with its chain and both RIMs, at a
	 * time the RIM signers were valid; no OCSP responses offline, so the
	 * policy accepts unknown revocation status. Signature: P-384 over
	 * everything but the last 96 bytes, by the leaf of the chain. */
	static const char *const nv_coll[] = {
	    "nvidia/hopper/h100_drv545.00_certchain.pem",
	    "nvidia/rims/driver/NV_GPU_DRIVER_GH100_545.00_test_no_gpu.swidtag",
	    "nvidia/rims/vbios/NV_GPU_VBIOS_1010_0200_882_96005E0001_test_no_gpu.swidtag", NULL};
	bench_case nv;
	case_init(&nv, "nvidia", "nvidia",
		  "nvidia/hopper/h100_drv545.00_vb96.00.5E.00.01_report.hex", nv_coll,
		  "2025-03-01T00:00:00Z", VEIL_REVOCATION_ALLOW_UNKNOWN);
	raw_sig nv_raw = {.md = EVP_sha384(), .msg = nv.evidence, .msg_len = nv.evidence_len - 96};
	{
		STACK_OF(X509) *chain = NULL;
		if (veil_certs_parse(nv.collateral.blob[0].data, nv.collateral.blob[0].len,
				     &chain) != VEIL_OK)
			return 2;
		nv_raw.key = X509_get_pubkey(sk_X509_value(chain, 0));
		sk_X509_pop_free(chain, X509_free);
		raw_sig_set(&nv_raw, nv.evidence + nv.evidence_len - 96,
			    nv.evidence + nv.evidence_len - 48, 48);
	}
	if (raw_verify(&snp_raw) != 0 || raw_verify(&tdx_raw) != 0 || raw_verify(&nv_raw) != 0) {
		fprintf(stderr, "bench: baseline signature does not verify\n");
		return 1;
	}

	printf("Veil verification benchmark: one core, best of %d rounds of %.2f s each\n\n",
	       ROUNDS, secs);
	printf("| %-44s | %12s | %12s | %8s |\n", "operation", "per second", "us each", "ratio");
	printf("|%.46s|%.14s|%.14s|%.10s|\n", "----------------------------------------------",
	       "--------------", "--------------", "----------");
	double snp_base = measure(raw_verify, &snp_raw, secs);
	row("ECDSA P-384 verify, raw EVP (SNP baseline)", snp_base, snp_base);
	row("SNP report verify, warm (target >= 0.90)", measure(verify_warm, &snp, secs), snp_base);
	row("SNP report verify, cold", measure(verify_cold, &snp, secs), snp_base);
	double tdx_base = measure(raw_verify, &tdx_raw, secs);
	row("ECDSA P-256 verify, raw EVP (TDX baseline)", tdx_base, tdx_base);
	row("TDX quote verify, warm (target >= 0.45)", measure(verify_warm, &tdx, secs), tdx_base);
	row("TDX quote verify, cold", measure(verify_cold, &tdx, secs), tdx_base);
	double nv_base = measure(raw_verify, &nv_raw, secs);
	row("ECDSA P-384 verify, raw EVP (GPU baseline)", nv_base, nv_base);
	row("GPU report verify, warm (target >= 0.85)", measure(verify_warm, &nv, secs), nv_base);
	row("GPU report verify, cold", measure(verify_cold, &nv, secs), nv_base);

	EVP_PKEY_free(snp_raw.key);
	EVP_PKEY_free(tdx_raw.key);
	EVP_PKEY_free(nv_raw.key);
	case_clear(&nv);
	case_clear(&snp);
	case_clear(&tdx);
	return 0;
}
