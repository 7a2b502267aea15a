/*
 * seal.h - sealed models: a model file encrypted so that only a holder of
 * its key (a worker that got it from veil-kbs) can open it, and opened
 * straight into memory that is never written to disk (docs/sealed-model.md).
 *
 * A sealed file is an authenticated header followed by AES-256-GCM chunks
 * in the STREAM construction of Hoang, Reyhanitabar, Rogaway and Vizar
 * ("Online Authenticated-Encryption and its Nonce-Reuse Misuse-Resistance",
 * CRYPTO 2015, section 7): each chunk's nonce is a per-file prefix, the
 * chunk counter and a last-chunk flag, and each chunk's AAD is the SHA-256
 * of the whole header. Truncation, reordering, dropped or appended chunks,
 * splicing between files and any change to the header all fail.
 *
 * The header says what the file is before it is opened: the plaintext's
 * length and SHA-256 (the model digest Veil publishes), and the KBS
 * resource path of its key, so a worker knows what to ask the broker for.
 * Those fields are trusted only after the header's MAC has been checked
 * with the key; veil_seal_peek() is for choosing what key to fetch.
 */
#ifndef VEIL_SEAL_H
#define VEIL_SEAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "veil/error.h"
#include "veil/limits.h"

#define VEIL_SEAL_KEY_LEN    32 /* AES-256 */
#define VEIL_SEAL_DIGEST_LEN 32 /* SHA-256 of the plaintext */

/* Chunk sizes are powers of two in this range; 1 MiB unless asked. */
#define VEIL_SEAL_CHUNK_LOG2_MIN     12
#define VEIL_SEAL_CHUNK_LOG2_MAX     24
#define VEIL_SEAL_CHUNK_LOG2_DEFAULT 20

/* The header: its fixed part, and its largest size (a resource path of
 * VEIL_STORE_PATH_MAX bytes). */
#define VEIL_SEAL_HEADER_MIN 130
#define VEIL_SEAL_HEADER_MAX (VEIL_SEAL_HEADER_MIN + VEIL_STORE_PATH_MAX)

/* What a sealed file's header says (docs/sealed-model.md, "Header"). */
typedef struct veil_seal_info {
	uint16_t version;       /* 1 */
	uint16_t aead;          /* VEIL_AEAD_AES_256_GCM (RFC 9180 numbering) */
	uint32_t chunk_size;    /* plaintext bytes per chunk, but the last */
	uint64_t plaintext_len; /* bytes */
	uint64_t chunk_count;   /* at least 1: an empty model has one empty chunk */
	uint64_t file_len;      /* what the whole sealed file must measure */
	size_t header_len;
	uint8_t digest[VEIL_SEAL_DIGEST_LEN];   /* SHA-256 of the plaintext */
	char resource[VEIL_STORE_PATH_MAX + 1]; /* "repo/type/tag", or "" for none */
} veil_seal_info;

/* veil_seal_file's choices. Zero values pick the defaults. */
typedef struct veil_seal_params {
	unsigned chunk_log2;  /* 0: VEIL_SEAL_CHUNK_LOG2_DEFAULT */
	const char *resource; /* KBS path recorded in the header, or NULL */
	bool replace;         /* replace out_path if it exists (else refuse) */
	/* Called once the sealed file is complete and synced under its
	 * temporary name, just before it is renamed into place; a failure
	 * here removes it. This is where the caller stores the key (a key
	 * file, the KBS), so that a sealed file never appears without its
	 * key having been kept. NULL: nothing to do. */
	veil_err (*before_publish)(void *user);
	void *publish_user;
} veil_seal_params;

/* Progress of a long run: done of total bytes. Called on the opening or
 * sealing thread only, in order, at least once at the end. */
typedef void (*veil_seal_progress_fn)(uint64_t done, uint64_t total, void *user);

/* A fresh random key (OpenSSL's RAND_priv_bytes). */
VEIL_MUST_CHECK veil_err veil_seal_keygen(uint8_t key[VEIL_SEAL_KEY_LEN]);

/*
 * Seals the regular file in_path to out_path under key. The output is
 * written to a temporary file beside out_path and renamed into place only
 * when complete and synced, so out_path either does not change or holds
 * the whole sealed file. The input is read twice (the header carries its
 * digest, which every chunk authenticates); a file that changes between
 * the reads is refused. info (may be NULL) gets the new header's fields.
 * Use a fresh key per file: the header's salt derives a per-file chunk
 * key, so reuse is not a nonce-reuse disaster, but a key should still
 * unlock exactly one model.
 */
VEIL_MUST_CHECK veil_err veil_seal_file(const char *in_path, const char *out_path,
					const uint8_t key[VEIL_SEAL_KEY_LEN],
					const veil_seal_params *params,
					veil_seal_progress_fn progress, void *progress_user,
					veil_seal_info *info);

/* Flags for veil_seal_open. */
enum {
	/* mlock the plaintext; fails (VEIL_E_NOMEM, naming RLIMIT_MEMLOCK)
	 * when the process may not lock that much. */
	VEIL_SEAL_LOCK = 1u << 0,
	/* Check every tag and the digest, keep no plaintext: out->data is
	 * NULL afterwards. Uses a few chunks of memory, whatever the size. */
	VEIL_SEAL_VERIFY_ONLY = 1u << 1,
};

/* An opened model. data points at len bytes of plaintext in anonymous
 * memory that is excluded from core dumps, not inherited by children, and
 * read-only once verified; veil_sealed_model_clear() wipes and unmaps it. */
typedef struct veil_sealed_model {
	const uint8_t *data;
	size_t len;
	veil_seal_info info;
	/* private */
	void *map;
	size_t map_len;
	bool locked;
} veil_sealed_model;

/*
 * Opens a sealed file with key: checks the header's MAC (VEIL_E_VERIFY,
 * "wrong key or altered header", before anything is decrypted), the file's
 * length, decrypts with `threads` threads (0: one per online CPU) into
 * fresh anonymous memory, verifies every chunk's tag, then the SHA-256 of
 * the whole plaintext against the header. Plaintext is never written to a
 * file. On any failure the memory is wiped and unmapped, *out is zeroed
 * and the detail names the chunk or field at fault. The caller clears a
 * successful *out with veil_sealed_model_clear().
 */
VEIL_MUST_CHECK veil_err veil_seal_open(const char *path, const uint8_t key[VEIL_SEAL_KEY_LEN],
					unsigned threads, unsigned flags,
					veil_seal_progress_fn progress, void *progress_user,
					veil_sealed_model *out);
/* The same from an open file descriptor (borrowed, read with pread). */
VEIL_MUST_CHECK veil_err veil_seal_open_fd(int fd, const uint8_t key[VEIL_SEAL_KEY_LEN],
					   unsigned threads, unsigned flags,
					   veil_seal_progress_fn progress, void *progress_user,
					   veil_sealed_model *out);
/* Wipes and unmaps the plaintext; safe on a zeroed or cleared struct. */
void veil_sealed_model_clear(veil_sealed_model *m);

/* Reads a sealed file's header without a key. Nothing in it is
 * authenticated yet: use it to choose which key to fetch, never to trust. */
VEIL_MUST_CHECK veil_err veil_seal_peek(const char *path, veil_seal_info *info);

/* Parses a header at the start of buf (the rest of buf is the chunks that
 * follow, and is not read). Checks every field's form, not the MAC. */
VEIL_MUST_CHECK veil_err veil_seal_header_parse(const uint8_t *buf, size_t len,
						veil_seal_info *info);

/* Key files (docs/sealed-model.md, "Keys"): 32 raw bytes, the form in which
 * veil-kbs stores and releases the key, or 64 hex digits and an optional
 * newline. Writing creates the file with mode 0600 and never replaces one. */
VEIL_MUST_CHECK veil_err veil_seal_key_write(const char *path,
					     const uint8_t key[VEIL_SEAL_KEY_LEN]);
VEIL_MUST_CHECK veil_err veil_seal_key_read(const char *path, uint8_t key[VEIL_SEAL_KEY_LEN]);

/* Progress on a terminal: bytes, rate and time left, redrawn at most a
 * few times a second on one line of fd, and nothing at all when fd is not
 * a terminal. Pass veil_seal_progress_print and the struct as the
 * progress callback and its user pointer. */
typedef struct veil_seal_progress {
	int fd;
	bool tty;
	bool drawn;
	const char *label;
	double start, last;
} veil_seal_progress;

void veil_seal_progress_init(veil_seal_progress *p, int fd, const char *label);
void veil_seal_progress_print(uint64_t done, uint64_t total, void *user);
/* Ends the line, if anything was drawn. */
void veil_seal_progress_done(veil_seal_progress *p);

#endif
