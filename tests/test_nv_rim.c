/*
 * test_nv_rim.c - NVIDIA RIM parsing and XML-DSig verification.
 *
 * Runs every genuine RIM in the shared test data (driver and VBIOS, signed
 * by NVIDIA's L4 signers under the CoRIM root) through rim_parse and
 * rim_verify at 2025-03-01, when their chains were valid, and checks the
 * values NVIDIA's own tools read from them. Then the negatives: the tampered
 * and wrongly signed RIMs NVIDIA's SDK tests with, and documents derived in
 * memory from a genuine RIM, one change each, for every rule the parser and
 * the verifier enforce (one hex digit of a measurement, a second Signature,
 * signature wrapping, a Reference to an ID, DTDs and entities, bad indices,
 * alternatives and hashes, trailing garbage, truncation, ...).
 */
#include <dirent.h>
#include <openssl/x509v3.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "evidence/nvidia/rim.h"
#include "harness.h"
#include "veil/x509.h"

#define RIMS       "nvidia/rims/"
#define DRV545     RIMS "driver/NV_GPU_DRIVER_GH100_545.00_test_no_gpu.swidtag"
#define DRV550     RIMS "driver/NV_GPU_DRIVER_GH100_550.144.03.xml"
#define BADSIG     RIMS "negative/NV_GPU_DRIVER_GH100_550.144.03_BADSIG.xml"
#define DEBUGCHAIN RIMS "negative/GB100_VBIOS_97.00.83.00.09_DEBUG_CHAIN.xml"
#define TAMPERED   RIMS "negative/NV_GPU_DRIVER_GH100_535.86.09_MISMATCH_TAMPERED.xml"
#define EXPIRED    RIMS "negative/NV_GPU_DRIVER_GH100_570.124.03_EXPIRED.xml"
#define WRONGROOT  RIMS "negative/incorrect_rim_root.crt"
#define HASH7                                                                                      \
	"0e0ee161b59bf124ce6b6dca6efa7616d28077862c0e57dca7d5efd63d00eeed4851922941e846a38c464cbe" \
	"dbc168d9"

static int64_t t_valid(void)
{
	return td_time("2025-03-01T00:00:00Z");
}

static X509 *pinned_root(void)
{
	X509 *root = NULL;
	if (rim_root(&root) != VEIL_OK || root == NULL) {
		fprintf(stderr, "built-in CoRIM root missing: %s\n", veil_err_detail());
		abort();
	}
	return root;
}

/* Parses and verifies; *out (may be NULL) keeps the rim on parse success. */
static veil_err check_rim(const uint8_t *buf, size_t len, X509 *root, int64_t at, veil_checks *c,
			  rim **out)
{
	rim *r = NULL;
	veil_err err = rim_parse(buf, len, &r);

	veil_checks_init(c);
	if (err == VEIL_OK)
		err = rim_verify(r, root, at, "rim.signature", "rim.chain", c);
	if (out != NULL)
		*out = r;
	else
		rim_free(r);
	return err;
}

static bool check_ok(const veil_checks *c, const char *name)
{
	const veil_check *k = veil_checks_find(c, name);
	return k != NULL && k->ok;
}

static bool check_failed_with(const veil_checks *c, const char *name, const char *needle)
{
	const veil_check *k = veil_checks_find(c, name);
	if (k == NULL || k->ok)
		return false;
	if (strstr(k->detail, needle) == NULL) {
		fprintf(stderr, "    %s detail: %s (want \"%s\")\n", name, k->detail, needle);
		return false;
	}
	return true;
}

static bool detail_has(const char *needle)
{
	if (strstr(veil_err_detail(), needle) != NULL)
		return true;
	fprintf(stderr, "    detail: %s (want \"%s\")\n", veil_err_detail(), needle);
	return false;
}

/* A new NUL-terminated copy of doc with the first `old` replaced. */
static char *edit(const char *doc, const char *old, const char *repl)
{
	const char *at = strstr(doc, old);
	if (at == NULL) {
		fprintf(stderr, "test edit: \"%s\" not found\n", old);
		abort();
	}
	size_t pre = (size_t)(at - doc), ol = strlen(old), rl = strlen(repl), n = strlen(doc);
	char *out = malloc(n - ol + rl + 1);
	memcpy(out, doc, pre);
	memcpy(out + pre, repl, rl);
	memcpy(out + pre + rl, at + ol, n - pre - ol + 1);
	return out;
}

/* The text from the first `from` up to and including the first `to` after
 * it, as a new string. */
static char *slice(const char *doc, const char *from, const char *to)
{
	const char *a = strstr(doc, from), *b = a != NULL ? strstr(a, to) : NULL;
	if (b == NULL)
		abort();
	size_t n = (size_t)(b + strlen(to) - a);
	char *out = malloc(n + 1);
	memcpy(out, a, n);
	out[n] = '\0';
	return out;
}

static char *read_text(const char *rel)
{
	size_t n;
	uint8_t *b = td_read(rel, &n);
	char *s = malloc(n + 1);
	memcpy(s, b, n);
	s[n] = '\0';
	free(b);
	return s;
}

static veil_err parse_text(const char *s)
{
	rim *r = NULL;
	veil_err err = rim_parse((const uint8_t *)s, strlen(s), &r);
	if ((err == VEIL_OK) != (r != NULL))
		return VEIL_E_COUNT_; /* contract broken: output iff success */
	rim_free(r);
	return err;
}

/* Parses (must succeed) and verifies a text at the valid time. */
static veil_err verify_text(const char *s, veil_checks *c)
{
	return check_rim((const uint8_t *)s, strlen(s), pinned_root(), t_valid(), c, NULL);
}

/* Calls fn(path relative to testdata) for each file in RIMS<sub>. */
static size_t for_each_rim(const char *sub, void (*fn)(const char *rel))
{
	char dir[512], rel[512];
	struct dirent *e;
	size_t n = 0;

	snprintf(dir, sizeof dir, "%s", td_path(sub));
	DIR *d = opendir(dir);
	if (d == NULL) {
		fprintf(stderr, "cannot open %s (set VEIL_TESTDATA)\n", dir);
		abort();
	}
	while ((e = readdir(d)) != NULL) {
		size_t l = strlen(e->d_name);
		if (l < 5 || (strcmp(e->d_name + l - 4, ".xml") != 0 &&
			      (l < 9 || strcmp(e->d_name + l - 8, ".swidtag") != 0)))
			continue;
		snprintf(rel, sizeof rel, "%s/%s", sub, e->d_name);
		fn(rel);
		n++;
	}
	closedir(d);
	return n;
}

static void genuine_one(const char *rel)
{
	size_t n;
	uint8_t *b = td_read(rel, &n);
	veil_checks c;
	rim *r = NULL;
	int before = harness_failures_in_test;

	EXPECT_OK(check_rim(b, n, pinned_root(), t_valid(), &c, &r));
	EXPECT(veil_checks_passed(&c) && c.count == 2);
	EXPECT(check_ok(&c, "rim.signature") && check_ok(&c, "rim.chain"));
	if (r != NULL) {
		EXPECT(strcmp(r->product, "GH100") == 0);
		EXPECT(r->count == 64 && sk_X509_num(r->certs) == 4);
		EXPECT(rim_signer(r) != NULL && X509_check_ca(rim_signer(r)) == 0);
		for (size_t i = 0; i < r->count; i++)
			EXPECT(r->m[i].index == i);
	}
	if (harness_failures_in_test != before)
		fprintf(stderr, "    in %s\n", rel);
	rim_free(r);
	free(b);
}

TEST(genuine_rims_verify)
{
	EXPECT(for_each_rim(RIMS "driver", genuine_one) == 2);
	EXPECT(for_each_rim(RIMS "vbios", genuine_one) == 26);
}

TEST(driver_545_values)
{
	size_t n;
	uint8_t *b = td_read(DRV545, &n);
	veil_checks c;
	rim *r = NULL;
	uint8_t h7[RIM_DIGEST_LEN];
	size_t active = 0;

	EXPECT_OK(check_rim(b, n, pinned_root(), t_valid(), &c, &r));
	REQUIRE(r != NULL);
	EXPECT(strcmp(r->product, "GH100") == 0 && strcmp(r->version, "545.00") == 0);
	EXPECT(strncmp(r->tag_id, "f0d3a263ab9ef4b9", 16) == 0 && strlen(r->tag_id) == 96);
	for (size_t i = 0; i < r->count; i++) {
		uint32_t k = r->m[i].index;
		bool want_active = k == 7 || (k >= 21 && k <= 40);
		bool want_two = k == 23 || k == 24 || k == 35;
		EXPECT(r->m[i].active == want_active);
		EXPECT(r->m[i].alternatives == (want_two ? 2 : 1));
		active += r->m[i].active;
	}
	EXPECT(active == 21);
	uint8_t *h = td_hex(HASH7, &n);
	memcpy(h7, h, sizeof h7);
	free(h);
	EXPECT(memcmp(r->m[7].value[0], h7, RIM_DIGEST_LEN) == 0);
	char cn[128];
	EXPECT(strcmp(veil_cert_cn(rim_signer(r), cn, sizeof cn), "HCC RIM L4 Signer") == 0);
	rim_free(r);
	free(b);
}

static void vbios_one(const char *rel)
{
	size_t n, active = 0;
	uint8_t *b = td_read(rel, &n);
	rim *r = NULL;

	EXPECT_OK(rim_parse(b, n, &r));
	if (r != NULL) {
		EXPECT(strncmp(r->version, "96.00.", 6) == 0);
		for (size_t i = 0; i < r->count; i++) {
			uint32_t k = r->m[i].index;
			EXPECT(r->m[i].active == (k <= 12 && k != 7));
			EXPECT(r->m[i].alternatives == (k == 12 ? 4 : 1));
			active += r->m[i].active;
		}
		EXPECT(active == 12);
	}
	rim_free(r);
	free(b);
}

TEST(vbios_values)
{
	EXPECT(for_each_rim(RIMS "vbios", vbios_one) == 26);
}

TEST(driver_550_values)
{
	size_t n;
	uint8_t *b = td_read(DRV550, &n);
	rim *r = NULL;

	EXPECT_OK(rim_parse(b, n, &r));
	REQUIRE(r != NULL);
	EXPECT(strcmp(r->version, "550.144.03") == 0);
	EXPECT(r->m[35].alternatives == 4 && r->m[36].alternatives == 3);
	EXPECT(r->m[23].alternatives == 2 && r->m[22].alternatives == 1);
	rim_free(r);
	free(b);
}

TEST(chain_expired_and_not_yet_valid)
{
	size_t n;
	uint8_t *b = td_read(DRV545, &n);
	veil_checks c;
	rim *r = NULL;

	EXPECT_ERR(check_rim(b, n, pinned_root(), td_time("2026-11-21T00:00:00Z"), &c, &r),
		   VEIL_E_EXPIRED);
	EXPECT(detail_has("expired"));
	EXPECT(check_ok(&c, "rim.signature"));
	EXPECT(check_failed_with(&c, "rim.chain", "expired"));
	EXPECT(!veil_checks_passed(&c));
	EXPECT(rim_signer(r) == NULL);
	/* The same rim verifies at the right time, and a later failing
	 * verification clears the signer again. */
	veil_checks_init(&c);
	EXPECT_OK(rim_verify(r, pinned_root(), t_valid(), "s", "c", &c));
	EXPECT(rim_signer(r) != NULL);
	veil_checks_init(&c);
	EXPECT_ERR(rim_verify(r, pinned_root(), td_time("2020-01-01T00:00:00Z"), "s", "c", &c),
		   VEIL_E_EXPIRED);
	EXPECT(check_failed_with(&c, "c", "not yet valid"));
	EXPECT(rim_signer(r) == NULL);
	rim_free(r);
	free(b);
}

TEST(negative_files)
{
	veil_checks c;
	size_t n;
	uint8_t *b;

	b = td_read(BADSIG, &n);
	EXPECT_ERR(check_rim(b, n, pinned_root(), t_valid(), &c, NULL), VEIL_E_VERIFY);
	EXPECT(check_failed_with(&c, "rim.signature", "SignatureValue does not verify"));
	EXPECT(check_ok(&c, "rim.chain")); /* both checks are made */
	free(b);

	b = td_read(DEBUGCHAIN, &n);
	EXPECT_ERR(check_rim(b, n, pinned_root(), t_valid(), &c, NULL), VEIL_E_VERIFY);
	EXPECT(check_ok(&c, "rim.signature"));
	EXPECT(check_failed_with(&c, "rim.chain", "HCC RIM L4 Signer"));
	free(b);

	b = td_read(TAMPERED, &n);
	EXPECT_ERR(check_rim(b, n, pinned_root(), t_valid(), &c, NULL), VEIL_E_VERIFY);
	EXPECT(check_failed_with(&c, "rim.signature", "DigestValue does not match"));
	free(b);

	b = td_read(EXPIRED, &n);
	EXPECT_ERR(check_rim(b, n, pinned_root(), t_valid(), &c, NULL), VEIL_E_VERIFY);
	EXPECT(check_failed_with(&c, "rim.signature", "DigestValue does not match"));
	EXPECT(check_failed_with(&c, "rim.chain", "expired"));
	free(b);
}

TEST(wrong_root)
{
	STACK_OF(X509) *certs = NULL;
	veil_checks c;
	size_t n;
	uint8_t *rb = td_read(WRONGROOT, &n);
	uint8_t *b;

	REQUIRE(veil_certs_parse(rb, n, &certs) == VEIL_OK);
	b = td_read(DRV545, &n);
	EXPECT_ERR(check_rim(b, n, sk_X509_value(certs, 0), t_valid(), &c, NULL), VEIL_E_VERIFY);
	EXPECT(check_ok(&c, "rim.signature"));
	EXPECT(check_failed_with(&c, "rim.chain", "RIM signing chain"));
	sk_X509_pop_free(certs, X509_free);
	free(rb);
	free(b);
}

TEST(root_is_pinned)
{
	X509 *root = pinned_root();
	STACK_OF(X509) *certs = NULL;
	size_t n;
	uint8_t *pem = td_read("nvidia/roots/nvidia_corim_signing_root_ca.pem", &n);
	char cn[128];

	REQUIRE(veil_certs_parse(pem, n, &certs) == VEIL_OK);
	EXPECT(X509_cmp(root, sk_X509_value(certs, 0)) == 0);
	EXPECT(strcmp(veil_cert_cn(root, cn, sizeof cn), "NVIDIA CoRIM signing Root CA") == 0);
	EXPECT_ERR(rim_root(NULL), VEIL_E_USAGE);
	sk_X509_pop_free(certs, X509_free);
	free(pem);
}

/* One hex digit of an active measurement, the version, a swapped KeyInfo:
 * the signature covers the values read, and only the signer's key counts. */
TEST(derived_content_changes)
{
	char *g = read_text(DRV545), *d, *ki;
	veil_checks c;
	rim *r = NULL;

	d = edit(g, "ns2:Hash0=\"0e0ee161", "ns2:Hash0=\"1e0ee161");
	REQUIRE(rim_parse((const uint8_t *)d, strlen(d), &r) == VEIL_OK);
	EXPECT(r->m[7].value[0][0] == 0x1e); /* parsed as changed */
	rim_free(r);
	EXPECT_ERR(verify_text(d, &c), VEIL_E_VERIFY);
	EXPECT(check_failed_with(&c, "rim.signature", "DigestValue does not match"));
	EXPECT(check_ok(&c, "rim.chain"));
	free(d);

	d = edit(g, "colloquialVersion=\"545.00\"", "colloquialVersion=\"545.01\"");
	EXPECT_ERR(verify_text(d, &c), VEIL_E_VERIFY);
	EXPECT(check_failed_with(&c, "rim.signature", "DigestValue does not match"));
	free(d);

	/* Wrong key: the KeyInfo of the debug-chain RIM (another L4). */
	char *other = read_text(DEBUGCHAIN);
	ki = slice(other, "<ds:KeyInfo>", "</ds:KeyInfo>");
	char *mine = slice(g, "<ds:KeyInfo>", "</ds:KeyInfo>");
	d = edit(g, mine, ki);
	EXPECT_ERR(verify_text(d, &c), VEIL_E_VERIFY);
	EXPECT(check_failed_with(&c, "rim.signature", "does not verify with the key"));
	EXPECT(!check_ok(&c, "rim.chain"));
	free(d);
	free(mine);
	free(ki);
	free(other);
	free(g);
}

TEST(derived_signature_shape)
{
	char *g = read_text(DRV545), *d, *sig, *two;
	veil_checks c;

	/* A second Signature, anywhere. */
	sig = slice(g, "<ds:Signature", "</ds:Signature>");
	two = malloc(2 * strlen(sig) + 1);
	memcpy(two, sig, strlen(sig));
	memcpy(two + strlen(sig), sig, strlen(sig) + 1);
	d = edit(g, sig, two);
	EXPECT_ERR(parse_text(d), VEIL_E_MALFORMED);
	EXPECT(detail_has("2 ds:Signature"));
	free(d);
	free(two);

	struct {
		const char *old, *repl, *needle;
	} cases[] = {
	    {"<ds:Reference URI=\"\">", "<ds:Reference URI=\"#x\">", "URI"},
	    {"<ds:Reference URI=\"\">", "<ds:Reference>", "URI"},
	    {"<ds:Reference URI=\"\">", "<ds:Reference URI=\"file:///etc/passwd\">", "URI"},
	    {"xmldsig#enveloped-signature", "xmldsig#enveloped-signaturex", "not allowed"},
	    {"http://www.w3.org/2000/09/xmldsig#enveloped-signature",
	     "http://www.w3.org/TR/1999/REC-xslt-19991116", "not allowed"},
	    {"xmldsig-more#ecdsa-sha384", "xmldsig-more#rsa-sha256", "not allowed"},
	    {"<ds:Transform Algorithm=\"http://www.w3.org/2000/09/xmldsig#enveloped-signature\"/>"
	     "<ds:Transform Algorithm=\"http://www.w3.org/2006/12/xml-c14n11\"/>",
	     "<ds:Transform Algorithm=\"http://www.w3.org/2006/12/xml-c14n11\"/>"
	     "<ds:Transform Algorithm=\"http://www.w3.org/2000/09/xmldsig#enveloped-signature\"/>",
	     "first Transform must be enveloped-signature"},
	    {"<ds:Transform Algorithm=\"http://www.w3.org/2006/12/xml-c14n11\"/>",
	     "<ds:Transform Algorithm=\"http://www.w3.org/2006/12/xml-c14n11\"/>"
	     "<ds:Transform Algorithm=\"http://www.w3.org/2006/12/xml-c14n11\"/>",
	     "more than enveloped-signature and one C14N"},
	    {"<ds:Transforms>",
	     "<ds:Transforms><ds:Transform "
	     "Algorithm=\"http://www.w3.org/TR/1999/REC-xpath-19991116\"><ds:XPath>1</ds:XPath></"
	     "ds:Transform>",
	     "first Transform"},
	    {"xmldsig-more#sha384\"/>", "xmlenc#sha256\"/>", "not allowed"},
	    {"</ds:KeyInfo>", "</ds:KeyInfo><ds:Object><ds:Manifest/></ds:Object>", "Object"},
	    {"</ds:Reference>", "</ds:Reference><ds:Reference URI=\"\"/>", "more than one"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		d = edit(g, cases[i].old, cases[i].repl);
		EXPECT_ERR(verify_text(d, &c), VEIL_E_UNSUPPORTED);
		EXPECT(check_failed_with(&c, "rim.signature", cases[i].needle));
		free(d);
	}
	free(sig);
	free(g);
}

/* Signature wrapping: a forged SoftwareIdentity as the root, the genuine
 * one moved under it. */
TEST(derived_signature_wrapping)
{
	const char *fake_open =
	    "<SoftwareIdentity xmlns=\"http://standards.iso.org/iso/19770/-2/2015/schema.xsd\" "
	    "xmlns:ns2=\"http://www.w3.org/2001/04/xmlenc#sha384\" tagId=\"forged\">"
	    "<Meta product=\"GH100\" colloquialVersion=\"999.99\"/><Payload>"
	    "<Resource type=\"Measurement\" index=\"7\" active=\"True\" alternatives=\"1\" "
	    "ns2:Hash0=\"" HASH7 "\"/></Payload><Wrapper>";
	char *g = read_text(DRV545), *sig = slice(g, "<ds:Signature", "</ds:Signature>");
	veil_checks c;
	size_t cap = strlen(g) * 2 + 4096;
	char *d = malloc(cap);

	/* Whole genuine document under the forged root: its Signature is no
	 * longer a child of the root. */
	snprintf(d, cap, "%s%s</Wrapper></SoftwareIdentity>", fake_open, g);
	EXPECT_ERR(parse_text(d), VEIL_E_MALFORMED);
	EXPECT(detail_has("not a child of the root"));

	/* Genuine content (with an Id) under the wrapper, the Signature moved
	 * to the forged root and pointed at the Id. */
	char *body = edit(g, sig, "");
	char *with_id = edit(body, "<SoftwareIdentity ", "<SoftwareIdentity Id=\"real\" ");
	char *sig_id = edit(sig, "URI=\"\"", "URI=\"#real\"");
	snprintf(d, cap, "%s%s</Wrapper>%s</SoftwareIdentity>", fake_open, with_id, sig_id);
	rim *r = NULL;
	EXPECT_OK(rim_parse((const uint8_t *)d, strlen(d), &r));
	if (r != NULL)
		EXPECT(strcmp(r->version, "999.99") == 0); /* what an attacker wants read */
	rim_free(r);
	EXPECT_ERR(verify_text(d, &c), VEIL_E_UNSUPPORTED);
	EXPECT(check_failed_with(&c, "rim.signature", "URI"));
	free(sig_id);
	free(with_id);
	free(body);
	free(d);
	free(sig);
	free(g);
}

TEST(derived_dtd_and_entities)
{
	char *g = read_text(DRV545);
	const char *prefixes[] = {
	    "<!DOCTYPE SoftwareIdentity [<!ENTITY e \"x\">]>\n",
	    "<!DOCTYPE SoftwareIdentity SYSTEM \"file:///etc/passwd\">\n",
	    "<!DOCTYPE SoftwareIdentity [<!ENTITY % p SYSTEM \"http://127.0.0.1:1/x\"> %p;]>\n",
	    "<?xml version=\"1.0\"?>\n<!DOCTYPE SoftwareIdentity [<!ATTLIST Meta product CDATA "
	    "\"GH100\">]>\n",
	    "<!DOCTYPE SoftwareIdentity [<!ENTITY a \"aaaaaaaaaa\"><!ENTITY b "
	    "\"&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;\"><!ENTITY c \"&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;\">]>\n",
	};
	for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++) {
		size_t n = strlen(prefixes[i]) + strlen(g) + 1;
		char *d = malloc(n);
		snprintf(d, n, "%s%s", prefixes[i], g);
		EXPECT_ERR(parse_text(d), VEIL_E_MALFORMED);
		EXPECT(detail_has("DTD"));
		free(d);
	}
	/* An entity reference without a declaration is not well-formed. */
	char *d = edit(g, "name=\"Measurement_7\"", "name=\"&e;\"");
	EXPECT_ERR(parse_text(d), VEIL_E_MALFORMED);
	EXPECT(detail_has("not well-formed"));
	free(d);
	free(g);
}

TEST(derived_field_errors)
{
	char *g = read_text(DRV545);
	const char *h7 = "index=\"7\" active=\"True\" alternatives=\"1\" ns2:Hash0=\"0e0ee161";
	struct {
		const char *old, *repl, *needle;
		veil_err want;
	} cases[] = {
	    {"index=\"8\"", "index=\"7\"", "index 7 appears twice", VEIL_E_MALFORMED},
	    {"index=\"8\"", "index=\"254\"", "above 253", VEIL_E_MALFORMED},
	    {"index=\"8\"", "index=\"99999999999999999999\"", "index has 20 characters",
	     VEIL_E_LIMIT},
	    {"index=\"8\"", "index=\"4294967296\"", "not a decimal", VEIL_E_MALFORMED},
	    {"index=\"8\"", "index=\"999999999\"", "above 253", VEIL_E_MALFORMED},
	    {"index=\"8\"", "index=\"-1\"", "not a decimal", VEIL_E_MALFORMED},
	    {"index=\"8\"", "index=\"+8\"", "not a decimal", VEIL_E_MALFORMED},
	    {"index=\"8\"", "index=\" 8\"", "not a decimal", VEIL_E_MALFORMED},
	    {"index=\"8\"", "index=\"08\"", "leading zero", VEIL_E_MALFORMED},
	    {"index=\"8\"", "index=\"\"", "not a decimal", VEIL_E_MALFORMED},
	    {"index=\"8\" ", "", "index is missing", VEIL_E_MALFORMED},
	    {"alternatives=\"1\"", "alternatives=\"0\"", "alternatives is 0", VEIL_E_MALFORMED},
	    {"alternatives=\"1\"", "alternatives=\"9\"", "above 8", VEIL_E_MALFORMED},
	    {"alternatives=\"1\"", "alternatives=\"2\"", "Hash1", VEIL_E_MALFORMED},
	    {"alternatives=\"1\"", "alternatives=\"x\"", "not a decimal", VEIL_E_MALFORMED},
	    {"active=\"True\"", "active=\"true\"", "want \"True\" or \"False\"", VEIL_E_MALFORMED},
	    {"size=\"48\"", "size=\"32\"", "want \"48\"", VEIL_E_MALFORMED},
	    {"ns2:Hash0=\"0e0ee161", "ns2:Hash0=\"0e0ee16", "95 characters", VEIL_E_MALFORMED},
	    {"ns2:Hash0=\"0e0ee161", "ns2:Hash0=\"0e0ee16g", "non-hex", VEIL_E_MALFORMED},
	    {"ns2:Hash0=\"0e0ee161", "Hash0=\"0e0ee161", "not in the namespace", VEIL_E_MALFORMED},
	    {"ns2:Hash0=\"0e0ee161", "ns2:Hash00=\"0e0ee161", "leading zero", VEIL_E_MALFORMED},
	    {"ns2:Hash0=\"0e0ee161", "ns2:Digest=\"0e0ee161", "unknown attribute",
	     VEIL_E_MALFORMED},
	    /* The same attribute through two prefixes of one namespace. */
	    {"ns2:Hash0=\"0e0ee161", "SHA384:Hash0=\"" HASH7 "\" ns2:Hash0=\"0e0ee161",
	     "not well-formed", VEIL_E_MALFORMED},
	    {"ns2:Hash0=\"0e0ee161", "ns9:Hash0=\"0e0ee161", "not well-formed", VEIL_E_MALFORMED},
	    {h7,
	     "index=\"7\" active=\"True\" alternatives=\"1\" ns2:Hash1=\"" HASH7
	     "\" ns2:Hash0=\"0e0ee161",
	     "Hash1 but alternatives is 1", VEIL_E_MALFORMED},
	    {"<ns0:Meta ", "<ns0:Metx ", "no Meta", VEIL_E_MALFORMED},
	    {"<ns0:Meta ", "<ns0:Meta product=\"A\" colloquialVersion=\"1\"/><ns0:Meta ",
	     "more than one Meta", VEIL_E_MALFORMED},
	    {"product=\"GH100\"", "product=\"GH100GH100GH100GH100GH100GH100GH100\"",
	     "Meta product has", VEIL_E_LIMIT},
	    {"colloquialVersion=\"545.00\"", "colloquialVersion=\"\"", "empty", VEIL_E_MALFORMED},
	    {"colloquialVersion=\"545.00\"", "colloquialVersion=\"545&#9;00\"", "non-printable",
	     VEIL_E_MALFORMED},
	    {"colloquialVersion=\"545.00\" ", "", "colloquialVersion is missing", VEIL_E_MALFORMED},
	    {"xmlns=\"http://standards.iso.org/iso/19770/-2/2015/schema.xsd\"", "xmlns=\"urn:x\"",
	     "root element is not SoftwareIdentity", VEIL_E_UNSUPPORTED},
	    {"tagId=\"f0d3", "tagIdx=\"f0d3", "tagId is missing", VEIL_E_MALFORMED},
	    {"<ds:X509Certificate>MII", "<ds:X509Certificate>!II", "KeyInfo certificate #1",
	     VEIL_E_MALFORMED},
	    {"<ds:X509Certificate>MII", "<ds:X509Certificate>MIIA", "KeyInfo certificate #1",
	     VEIL_E_MALFORMED},
	    {"</SoftwareIdentity>", "</SoftwareIdentity><x/>", "not well-formed", VEIL_E_MALFORMED},
	    {"</SoftwareIdentity>", "</SoftwareIdentity>garbage", "not well-formed",
	     VEIL_E_MALFORMED},
	    {"</SoftwareIdentity>", "", "not well-formed", VEIL_E_MALFORMED},
	    {"<ns0:Payload", "<ns0:Payload><!-- --></ns0:Payload><ns0:Payload",
	     "more than one Payload", VEIL_E_MALFORMED},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		int before = harness_failures_in_test;
		char *d = edit(g, cases[i].old, cases[i].repl);
		EXPECT_ERR(parse_text(d), cases[i].want);
		EXPECT(detail_has(cases[i].needle));
		if (harness_failures_in_test != before)
			fprintf(stderr, "    case %zu\n", i);
		free(d);
	}

	/* No KeyInfo certificates, no Measurement resources. */
	char *ki = slice(g, "<ds:KeyInfo>", "</ds:KeyInfo>");
	char *d = edit(g, ki, "<ds:KeyInfo><ds:X509Data/></ds:KeyInfo>");
	EXPECT_ERR(parse_text(d), VEIL_E_MALFORMED);
	EXPECT(detail_has("no X509Certificate"));
	free(d);
	d = edit(g, ki, "");
	EXPECT_ERR(parse_text(d), VEIL_E_MALFORMED);
	EXPECT(detail_has("no KeyInfo"));
	free(d);
	free(ki);
	char *payload = slice(g, "<ns0:Payload", "</ns0:Payload>");
	d = edit(g, payload, "<ns0:Payload/>");
	EXPECT_ERR(parse_text(d), VEIL_E_MALFORMED);
	EXPECT(detail_has("no Resource of type Measurement"));
	free(d);
	d = edit(g, payload, "");
	EXPECT_ERR(parse_text(d), VEIL_E_MALFORMED);
	EXPECT(detail_has("no Payload"));
	free(d);
	free(payload);

	/* Other Resource types are skipped, not refused. */
	rim *r = NULL;
	d = edit(g, "type=\"Measurement\" index=\"0\"", "type=\"File\" index=\"0\"");
	EXPECT_OK(rim_parse((const uint8_t *)d, strlen(d), &r));
	EXPECT(r != NULL && r->count == 63 && r->m[0].index == 1);
	rim_free(r);
	free(d);
	free(g);
}

TEST(sizes_and_truncation)
{
	size_t n;
	uint8_t *b = td_read(DRV545, &n);
	rim *r = (rim *)1;

	EXPECT_ERR(rim_parse(b, 0, &r), VEIL_E_TRUNCATED);
	EXPECT(r == NULL);
	EXPECT_ERR(rim_parse(NULL, 5, &r), VEIL_E_USAGE);
	EXPECT_ERR(rim_parse(b, n, NULL), VEIL_E_USAGE);
	EXPECT_ERR(parse_text("hello"), VEIL_E_MALFORMED);
	EXPECT_ERR(parse_text("<a/>"), VEIL_E_UNSUPPORTED);

	uint8_t *big = calloc(1, RIM_MAX_BYTES + 1);
	memcpy(big, b, n);
	memset(big + n, ' ', RIM_MAX_BYTES + 1 - n);
	EXPECT_ERR(rim_parse(big, RIM_MAX_BYTES + 1, &r), VEIL_E_LIMIT);
	EXPECT_OK(rim_parse(big, RIM_MAX_BYTES, &r)); /* trailing blanks are XML */
	rim_free(r);
	free(big);

	/* Every cut before the end of the root element fails to parse. */
	size_t end = n;
	while (end > 0 && b[end - 1] != '>')
		end--;
	size_t failures = 0, tries = 0;
	for (size_t cut = 1; cut < end; cut += 97) {
		tries++;
		failures += rim_parse(b, cut, &r) != VEIL_OK && r == NULL;
	}
	for (size_t cut = end - 20; cut < end; cut++) {
		tries++;
		failures += rim_parse(b, cut, &r) != VEIL_OK && r == NULL;
	}
	EXPECT(failures == tries);
	EXPECT_OK(rim_parse(b, end, &r));
	rim_free(r);
	free(b);
}

TEST(usage_errors)
{
	size_t n;
	uint8_t *b = td_read(DRV545, &n);
	veil_checks c;
	rim *r = NULL;

	veil_checks_init(&c);
	REQUIRE(rim_parse(b, n, &r) == VEIL_OK);
	EXPECT(rim_signer(r) == NULL);
	EXPECT(rim_signer(NULL) == NULL);
	EXPECT_ERR(rim_verify(r, NULL, t_valid(), "s", "c", &c), VEIL_E_USAGE);
	EXPECT_ERR(rim_verify(NULL, pinned_root(), t_valid(), "s", "c", &c), VEIL_E_USAGE);
	EXPECT_ERR(rim_verify(r, pinned_root(), t_valid(), "s", "c", NULL), VEIL_E_USAGE);
	EXPECT(c.count == 0);
	rim_free(r);
	rim_free(NULL);
	free(b);
}

static void deterministic_one(const char *rel)
{
	size_t n;
	uint8_t *b = td_read(rel, &n);
	rim *a = NULL, *z = NULL;

	EXPECT_OK(rim_parse(b, n, &a));
	EXPECT_OK(rim_parse(b, n, &z));
	if (a != NULL && z != NULL) {
		EXPECT(strcmp(a->product, z->product) == 0 && strcmp(a->version, z->version) == 0);
		EXPECT(strcmp(a->tag_id, z->tag_id) == 0 && a->count == z->count);
		EXPECT(memcmp(a->m, z->m, sizeof a->m) == 0);
		EXPECT(sk_X509_num(a->certs) == sk_X509_num(z->certs));
		for (int i = 0; i < sk_X509_num(a->certs) && i < sk_X509_num(z->certs); i++)
			EXPECT(X509_cmp(sk_X509_value(a->certs, i), sk_X509_value(z->certs, i)) ==
			       0);
	}
	rim_free(a);
	rim_free(z);
	free(b);
}

TEST(parse_is_deterministic)
{
	EXPECT(for_each_rim(RIMS "driver", deterministic_one) == 2);
	EXPECT(for_each_rim(RIMS "vbios", deterministic_one) == 26);
	EXPECT(for_each_rim(RIMS "negative", deterministic_one) == 4);
}

/* libxml2 and xmlsec must not print: run failing cases with stderr on a
 * temporary file and check it stayed empty. */
TEST(nothing_on_stderr)
{
	char *g = read_text(DRV545);
	FILE *tmp = tmpfile();
	int saved = dup(2);
	veil_checks c, c3;
	size_t n;
	uint8_t *b;

	REQUIRE(tmp != NULL && saved >= 0);
	fflush(stderr);
	dup2(fileno(tmp), 2);
	char *d = edit(g, "</SoftwareIdentity>", "</SoftwareIdentity>junk");
	veil_err e1 = parse_text(d);
	free(d);
	/* A SignatureValue that is not base64: xmlsec itself fails. */
	d = edit(g, "<ds:SignatureValue>/Bgn", "<ds:SignatureValue>!Bgn");
	veil_err e2 = parse_text(d) == VEIL_OK ? verify_text(d, &c) : VEIL_E_COUNT_;
	free(d);
	b = td_read(BADSIG, &n);
	veil_err e3 = check_rim(b, n, pinned_root(), t_valid(), &c3, NULL);
	free(b);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	EXPECT_ERR(e1, VEIL_E_MALFORMED);
	EXPECT_ERR(e2, VEIL_E_VERIFY);
	EXPECT(check_failed_with(&c, "rim.signature", "xmlsec"));
	EXPECT_ERR(e3, VEIL_E_VERIFY);
	EXPECT(fseek(tmp, 0, SEEK_END) == 0 && ftell(tmp) == 0);
	fclose(tmp);
	free(g);
}

static void *thread_main(void *arg)
{
	const char *text = arg;
	veil_checks c;
	intptr_t bad = 0;

	for (int i = 0; i < 4; i++)
		bad += verify_text(text, &c) != VEIL_OK || !veil_checks_passed(&c);
	return (void *)bad;
}

/* Parse and verify from several threads at once (one-time library setup,
 * per-thread error capture). Not timed. */
TEST(threads)
{
	char *g = read_text(DRV545);
	pthread_t t[4];
	void *res;
	intptr_t bad = 0;

	for (int i = 0; i < 4; i++)
		REQUIRE(pthread_create(&t[i], NULL, thread_main, g) == 0);
	for (int i = 0; i < 4; i++) {
		pthread_join(t[i], &res);
		bad += (intptr_t)res;
	}
	EXPECT(bad == 0);
	free(g);
}

int main(void)
{
	RUN(genuine_rims_verify);
	RUN(driver_545_values);
	RUN(vbios_values);
	RUN(driver_550_values);
	RUN(chain_expired_and_not_yet_valid);
	RUN(negative_files);
	RUN(wrong_root);
	RUN(root_is_pinned);
	RUN(derived_content_changes);
	RUN(derived_signature_shape);
	RUN(derived_signature_wrapping);
	RUN(derived_dtd_and_entities);
	RUN(derived_field_errors);
	RUN(sizes_and_truncation);
	RUN(usage_errors);
	RUN(parse_is_deterministic);
	RUN(nothing_on_stderr);
	RUN(threads);
	return harness_finish("test_nv_rim");
}
