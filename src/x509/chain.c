/*
 * chain.c - verifying a certificate chain to one pinned root at a given time.
 *
 * The root passed in is the only trust anchor: the store holds nothing else,
 * X509_V_FLAG_PARTIAL_CHAIN is not set, so every chain must end at that exact
 * self-signed certificate. The time comes from the caller
 * (X509_V_FLAG_USE_CHECK_TIME), never the wall clock, so old evidence can be
 * checked at the time it was valid and tests are reproducible.
 */
#include <openssl/err.h>
#include <openssl/x509_vfy.h>

#include "veil/limits.h"
#include "veil/x509.h"

/*
 * Checks each certificate of a verified chain against a CRL from its issuer,
 * where one was supplied (RFC 5280 section 6.3, for the CRLs at hand). A CRL
 * counts only if its issuer name matches, its signature verifies with the
 * issuer's key, and `at` lies in [thisUpdate, nextUpdate]; a CRL that names
 * the issuer but fails those checks is an error, not something to skip.
 */
static veil_err chain_check_available_crls(STACK_OF(X509) * chain, STACK_OF(X509_CRL) * crls,
					   int64_t at)
{
	char cn[128];

	for (int i = 0; i + 1 < sk_X509_num(chain); i++) {
		X509 *cert = sk_X509_value(chain, i);
		X509 *issuer = sk_X509_value(chain, i + 1);
		for (int j = 0; j < sk_X509_CRL_num(crls); j++) {
			X509_CRL *crl = sk_X509_CRL_value(crls, j);
			X509_REVOKED *rev = NULL;
			int64_t this_update, next_update;

			if (X509_NAME_cmp(X509_CRL_get_issuer(crl),
					  X509_get_subject_name(issuer)) != 0)
				continue;
			EVP_PKEY *key = X509_get0_pubkey(issuer);
			ENSURE(key != NULL && X509_CRL_verify(crl, key) == 1, VEIL_E_VERIFY,
			       "CRL of \"%s\" is not signed by it",
			       veil_cert_cn(issuer, cn, sizeof cn));
			ERR_clear_error();
			TRY(veil_crl_validity(crl, &this_update, &next_update));
			/* As OpenSSL: current while thisUpdate <= at < nextUpdate. */
			ENSURE(at >= this_update && at < next_update, VEIL_E_EXPIRED,
			       "CRL of \"%s\" is not current at the verification time",
			       veil_cert_cn(issuer, cn, sizeof cn));
			ENSURE(X509_CRL_get0_by_cert(crl, &rev, cert) != 1, VEIL_E_REVOKED,
			       "certificate \"%s\" is revoked by its issuer's CRL",
			       veil_cert_cn(cert, cn, sizeof cn));
		}
	}
	return VEIL_OK;
}

veil_err veil_chain_verify(X509 *leaf, STACK_OF(X509) * intermediates, X509 *root,
			   STACK_OF(X509_CRL) * crls, bool require_crls, int64_t at)
{
	X509_STORE *store = X509_STORE_new();
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	X509_VERIFY_PARAM *param;
	veil_err err = VEIL_OK;
	char cn[128];

	CHECK_THAT(store != NULL && ctx != NULL, VEIL_E_NOMEM, "out of memory");
	CHECK_THAT(leaf != NULL && root != NULL, VEIL_E_USAGE, "chain needs a leaf and a root");
	CHECK_THAT(X509_STORE_add_cert(store, root) == 1, VEIL_E_CRYPTO, "cannot add root");
	CHECK_THAT(X509_STORE_CTX_init(ctx, store, leaf, intermediates) == 1, VEIL_E_CRYPTO,
		   "cannot start chain verification");
	param = X509_STORE_CTX_get0_param(ctx);
	X509_VERIFY_PARAM_set_time(param, (time_t)at);
	if (require_crls) {
		CHECK_THAT(crls != NULL && sk_X509_CRL_num(crls) > 0, VEIL_E_NOT_FOUND,
			   "revocation lists required but none supplied");
		X509_STORE_CTX_set0_crls(ctx, crls);
		X509_VERIFY_PARAM_set_flags(param,
					    X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL);
	}
	if (X509_verify_cert(ctx) != 1) {
		int code = X509_STORE_CTX_get_error(ctx);
		int depth = X509_STORE_CTX_get_error_depth(ctx);
		X509 *bad = X509_STORE_CTX_get_current_cert(ctx);
		veil_err kind = VEIL_E_VERIFY;
		if (code == X509_V_ERR_CERT_HAS_EXPIRED || code == X509_V_ERR_CERT_NOT_YET_VALID ||
		    code == X509_V_ERR_CRL_HAS_EXPIRED || code == X509_V_ERR_CRL_NOT_YET_VALID)
			kind = VEIL_E_EXPIRED;
		else if (code == X509_V_ERR_CERT_REVOKED)
			kind = VEIL_E_REVOKED;
		else if (code == X509_V_ERR_UNABLE_TO_GET_CRL)
			kind = VEIL_E_NOT_FOUND;
		ERR_clear_error();
		err = veil_fail(kind, "certificate \"%s\" (chain depth %d): %s",
				bad != NULL ? veil_cert_cn(bad, cn, sizeof cn) : "?", depth,
				X509_verify_cert_error_string(code));
		goto out;
	}
	/* The chain OpenSSL built must end at our root, not at some other
	 * self-signed certificate that slipped into the intermediates. */
	STACK_OF(X509) *built = X509_STORE_CTX_get0_chain(ctx);
	CHECK_THAT(built != NULL && sk_X509_num(built) >= 1 &&
		       X509_cmp(sk_X509_value(built, sk_X509_num(built) - 1), root) == 0,
		   VEIL_E_VERIFY, "chain does not end at the pinned root");
	CHECK_THAT(sk_X509_num(built) <= VEIL_CERT_CHAIN_MAX_DEPTH, VEIL_E_LIMIT,
		   "chain longer than %d certificates", VEIL_CERT_CHAIN_MAX_DEPTH);
	if (!require_crls && crls != NULL)
		CHECK(chain_check_available_crls(built, crls, at));
out:
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	return err;
}
