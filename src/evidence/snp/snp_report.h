/*
 * snp_report.h - the SEV-SNP module's private types and functions.
 *
 * The AMD SEV-SNP attestation report (SEV-SNP Firmware ABI, "ATTESTATION_REPORT
 * structure", Table 22 in revision 1.55, Table 23 in 1.57) is parsed into
 * struct snp_report by snp_report.c; the Azure vTPM "HCLA" envelope that
 * carries a report plus runtime data is unwrapped there too. snp_tcb.c knows
 * the two TCB_VERSION layouts and which processor is which; snp_roots.c holds
 * AMD's built-in ARK/ASK/ASVK certificates; snp_vcek.c reads the VCEK/VLEK
 * extensions and picks the right certificate out of the collateral;
 * snp_verify.c runs the checks (with its cache); snp_claims.c turns a report
 * into claims; snp_format.c exports the veil_evidence_format table entry.
 *
 * Tests include this header to exercise the internal steps (the chain of a
 * given product, the extension parser) directly.
 */
#ifndef VEIL_SNP_REPORT_H
#define VEIL_SNP_REPORT_H

#include <jansson.h>
#include <openssl/x509.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "veil/collateral.h"
#include "veil/error.h"

/* SEV-SNP ABI: the report is 0x4A0 bytes; the signature covers [0, 0x2A0). */
#define SNP_REPORT_SIZE   0x4A0
#define SNP_SIGNED_SIZE   0x2A0
#define SNP_SIG_COMPONENT 72 /* R and S, little-endian, zero-extended */

/* Azure vTPM HCL report: 0x20-byte "HCLA" header, then the SNP report, then
 * the IGVM request data header (20 bytes) and the runtime JSON. */
#define SNP_HCL_HEADER_SIZE         0x20
#define SNP_HCL_RUNTIME_HEADER_SIZE 20

enum snp_product {
	SNP_PRODUCT_UNKNOWN = 0,
	SNP_PRODUCT_MILAN,
	SNP_PRODUCT_GENOA,
	SNP_PRODUCT_TURIN,
	SNP_PRODUCT_COUNT_
};

/* SEV-SNP ABI, ATTESTATION_REPORT offset 0x48 bits 4:2 SIGNING_KEY. */
enum snp_signer {
	SNP_SIGNER_VCEK = 0,
	SNP_SIGNER_VLEK = 1,
	SNP_SIGNER_NONE = 7,
};

/* A TCB_VERSION decoded for one layout. */
struct snp_tcb {
	uint8_t bootloader;
	uint8_t tee;
	uint8_t snp;
	uint8_t microcode;
	uint8_t fmc;  /* Turin only */
	bool has_fmc; /* true for the Turin layout */
};

struct snp_report {
	uint32_t version;        /* 0x000 */
	uint32_t guest_svn;      /* 0x004 */
	uint64_t policy;         /* 0x008 */
	uint8_t family_id[16];   /* 0x010 */
	uint8_t image_id[16];    /* 0x020 */
	uint32_t vmpl;           /* 0x030 */
	uint32_t signature_algo; /* 0x034 */
	uint64_t current_tcb;    /* 0x038 */
	uint64_t platform_info;  /* 0x040 */
	uint32_t key_info;       /* 0x048: AUTHOR_KEY_EN, MASK_CHIP_KEY, SIGNING_KEY */
	bool author_key_en;
	bool mask_chip_key;
	uint8_t signing_key;
	uint8_t report_data[64];          /* 0x050 */
	uint8_t measurement[48];          /* 0x090 */
	uint8_t host_data[32];            /* 0x0C0 */
	uint8_t id_key_digest[48];        /* 0x0E0 */
	uint8_t author_key_digest[48];    /* 0x110 */
	uint8_t report_id[32];            /* 0x140 */
	uint8_t report_id_ma[32];         /* 0x160 */
	uint64_t reported_tcb;            /* 0x180 */
	bool has_cpuid;                   /* version >= 3 */
	uint8_t cpuid_fam;                /* 0x188 */
	uint8_t cpuid_mod;                /* 0x189 */
	uint8_t cpuid_step;               /* 0x18A */
	uint8_t chip_id[64];              /* 0x1A0 */
	uint64_t committed_tcb;           /* 0x1E0 */
	uint8_t current_build;            /* 0x1E8 */
	uint8_t current_minor;            /* 0x1E9 */
	uint8_t current_major;            /* 0x1EA */
	uint8_t committed_build;          /* 0x1EC */
	uint8_t committed_minor;          /* 0x1ED */
	uint8_t committed_major;          /* 0x1EE */
	uint64_t launch_tcb;              /* 0x1F0 */
	bool has_mit_vector;              /* version >= 5 */
	uint64_t launch_mit_vector;       /* 0x1F8 */
	uint64_t current_mit_vector;      /* 0x200 */
	uint8_t sig_r[SNP_SIG_COMPONENT]; /* 0x2A0 */
	uint8_t sig_s[SNP_SIG_COMPONENT]; /* 0x2E8 */
	uint8_t signed_bytes[SNP_SIGNED_SIZE];
	/* Product told by CPUID_FAM_ID/CPUID_MOD_ID (v3+), else UNKNOWN. */
	enum snp_product cpuid_product;
};

/* What verification learned that the report alone does not say (the product
 * of a v2 report comes from its VEK). Owned by the evidence; written by
 * verify through the pointer, read by claims. */
struct snp_learned {
	enum snp_product product;
};

struct snp_evidence {
	struct snp_report report;
	bool is_hcl;
	uint32_t hcl_hash_type; /* 1 SHA-256, 2 SHA-384, 3 SHA-512 */
	uint8_t *hcl_runtime;   /* the runtime JSON bytes (owned) */
	size_t hcl_runtime_len;
	struct snp_learned *learned; /* owned */
};

/* snp_report.c */
VEIL_MUST_CHECK veil_err snp_report_parse(const uint8_t *buf, size_t len, struct snp_report *out);
VEIL_MUST_CHECK veil_err snp_evidence_parse(const uint8_t *buf, size_t len,
					    struct snp_evidence **out);
void snp_evidence_free(struct snp_evidence *ev);
bool snp_detect(const uint8_t *buf, size_t len);

/* snp_tcb.c */
void snp_tcb_decode(uint64_t raw, enum snp_product product, struct snp_tcb *out);
enum snp_product snp_product_from_cpuid(uint8_t family, uint8_t model);
/* "Milan-B0" -> MILAN; "Genoa" -> GENOA; "Turin" -> TURIN; else UNKNOWN. */
enum snp_product snp_product_from_name(const char *name);
const char *snp_product_name(enum snp_product product);
/* The product whose TCB layout applies: CPUID for v3+, then `learned`. */
enum snp_product snp_report_layout_product(const struct snp_report *r, enum snp_product learned);

/* snp_roots.c: built-in AMD certificates, checked against pinned SHA-256
 * fingerprints when first loaded. Borrowed; never freed. */
VEIL_MUST_CHECK veil_err snp_roots_get(enum snp_product product, X509 **ark, X509 **ask,
				       X509 **asvk);

/* snp_vcek.c */
struct snp_vek_ext {
	bool is_vlek; /* subject CN "SEV-VLEK" */
	uint64_t struct_version;
	char product_name[32]; /* "" when absent */
	bool has_bl, has_tee, has_snp, has_ucode, has_fmc;
	uint8_t bl, tee, snp, ucode, fmc;
	uint8_t hwid[64];
	size_t hwid_len; /* 0 when absent, else 8 or 64 */
};

/* Reads the AMD extensions (1.3.6.1.4.1.3704.1.x) of a VCEK or VLEK.
 * VEIL_E_NOT_FOUND if the certificate is not a VEK (another CN). */
VEIL_MUST_CHECK veil_err snp_vek_ext_parse(X509 *cert, struct snp_vek_ext *out);
/* Compares the VEK's SPL extensions with a decoded REPORTED_TCB. */
VEIL_MUST_CHECK veil_err snp_vek_tcb_match(const struct snp_vek_ext *ext,
					   const struct snp_tcb *tcb);
/* Compares hwID with CHIP_ID (8 bytes on Turin, then zeros; else 64). */
VEIL_MUST_CHECK veil_err snp_vek_chip_match(const struct snp_vek_ext *ext,
					    const uint8_t chip_id[64]);

/* A VEK picked from the collateral. */
struct snp_vek {
	X509 *cert; /* owned (one reference) */
	struct snp_vek_ext ext;
	bool tcb_matches;   /* its SPLs equal REPORTED_TCB */
	const char *origin; /* borrowed from the collateral */
};

#define SNP_VEK_CANDIDATES_MAX 8

struct snp_vek_list {
	struct snp_vek item[SNP_VEK_CANDIDATES_MAX];
	size_t count;
};

/* Collects the VEKs in the collateral that could have signed report r, best
 * first: for a VCEK report the VCEKs whose hwID equals CHIP_ID (any hwID when
 * MASK_CHIP_KEY hides it), for a VLEK report the VLEKs; those whose SPLs equal
 * REPORTED_TCB (decoded for `layout`, or for each VEK's own product when
 * UNKNOWN) come first. VEIL_E_NOT_FOUND, with a message naming the chip and
 * TCB and what to do, when there is none. The caller clears the list. */
VEIL_MUST_CHECK veil_err snp_vek_find(const struct snp_report *r, const veil_collateral *coll,
				      enum snp_product layout, struct snp_vek_list *out);
void snp_vek_list_clear(struct snp_vek_list *list);
/* "bl 2 tee 0 snp 5 ucode 68" (with "fmc N " first on Turin). */
void snp_tcb_text(const struct snp_tcb *tcb, char *buf, size_t cap);

/* snp_cache.c: verified VEKs, so that a warm verification is one SHA-384 and
 * one ECDSA P-384 verification. The key says which report a VEK was chosen
 * for: the collateral (by its process-unique id), the signer, CHIP_ID and
 * REPORTED_TCB. The entry keeps what the cold path learned. */
struct snp_cache_key {
	uint64_t collateral_id;
	uint8_t signer;
	uint8_t chip_id[64];
	uint64_t reported_tcb;
	enum snp_product layout;
};

struct snp_cache_entry {
	struct snp_cache_key key;
	uint8_t vek_sha256[32];
	EVP_PKEY *pkey; /* owned */
	struct snp_vek_ext ext;
	enum snp_product product; /* the chain it verified through */
	int64_t not_before;       /* the chain's validity window */
	int64_t not_after;
	uint64_t last_used;
};

/* Borrows the entry for k, or NULL. *cache may be NULL (empty). */
const struct snp_cache_entry *snp_cache_lookup(void *cache, const struct snp_cache_key *k);
/* Remembers a verified VEK, creating the cache in *cache when NULL and
 * dropping the least recently used entry beyond VEIL_VERIFIER_CACHE_MAX. */
VEIL_MUST_CHECK veil_err snp_cache_insert(void **cache, const struct snp_cache_key *k, X509 *vek,
					  const struct snp_vek_ext *ext, enum snp_product product,
					  int64_t not_before, int64_t not_after);
size_t snp_cache_count(const void *cache);

/* snp_verify.c: VEK -> ASK (VCEK) or ASVK (VLEK) -> ARK of `product`, at
 * `at`, with the AMD CRLs found in c (may be NULL) for that chain;
 * *crls_applied (may be NULL) gets how many. */
VEIL_MUST_CHECK veil_err snp_chain_verify(X509 *vek, bool is_vlek, enum snp_product product,
					  const veil_collateral *c, int64_t at,
					  size_t *crls_applied);
/* The same with explicit intermediate, root and CRLs (crls may be NULL). */
VEIL_MUST_CHECK veil_err snp_chain_verify_with(X509 *vek, X509 *intermediate, X509 *root,
					       STACK_OF(X509_CRL) * crls, int64_t at);
VEIL_MUST_CHECK veil_err snp_report_signature_verify(const struct snp_report *r, EVP_PKEY *pub);
void snp_cache_free(void *cache);
struct veil_verify_ctx;
struct veil_checks;
veil_err snp_verify(const void *ev, const struct veil_verify_ctx *ctx, void **cache,
		    struct veil_checks *checks);

/* snp_claims.c */
veil_err snp_claims(const void *ev, json_t *claims);

#endif
