/*
 * sim_trust.c - trust decisions shared by the sim CPU and GPU formats
 * (see sim_trust.h for the rule).
 */
#include <string.h>

#include "evidence/sim/sim_trust.h"
#include "veil/codec.h"
#include "veil/crypto.h"
#include "veil/x509.h"

bool sim_root_trusted(const veil_verify_ctx *ctx, const uint8_t sha256[32])
{
	for (size_t i = 0; ctx->sim_roots != NULL && i < ctx->sim_root_count; i++)
		if (memcmp(ctx->sim_roots[i], sha256, 32) == 0)
			return true;
	return false;
}

bool sim_root_check(const veil_verify_ctx *ctx, const uint8_t fp[32], veil_checks *checks)
{
	char hex[65];

	veil_hex_encode(fp, 32, hex);
	if (ctx->sim_root_count == 0)
		return veil_checks_add(
		    checks, "sim.root", false,
		    "no sim root is trusted (root %.16s...): veil verify takes "
		    "it from --certs ROOT.pem, veil appraise and relying parties "
		    "only from the policy's sim \"roots\"",
		    hex);
	return veil_checks_add(checks, "sim.root", sim_root_trusted(ctx, fp), "root sha256 %s %s",
			       hex,
			       sim_root_trusted(ctx, fp) ? "is trusted by the caller"
							 : "is not one the caller trusts");
}

bool sim_chain_check(const veil_verify_ctx *ctx, X509 *leaf, X509 *root, const char *what,
		     veil_checks *checks)
{
	veil_err err = veil_chain_verify(leaf, NULL, root, NULL, false, ctx->at);

	if (err != VEIL_OK)
		return veil_checks_add(checks, "sim.chain", false, "%s certificate: %s", what,
				       veil_err_detail());
	return veil_checks_add(checks, "sim.chain", true, "%s certificate -> sim root", what);
}

veil_err sim_platform_id(X509 *cert, uint8_t out[32])
{
	unsigned char *der = NULL;
	int n = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(cert), &der);
	veil_err err;

	if (n <= 0)
		return veil_openssl_fail(VEIL_E_CRYPTO, "encoding a public key");
	err = veil_sha256(der, (size_t)n, out);
	OPENSSL_free(der);
	return err;
}
