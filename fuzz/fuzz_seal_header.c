/*
 * fuzz_seal_header.c - the sealed-model header parser, and the opener
 * behind it (docs/sealed-model.md).
 *
 * The header is read before any key is known (a worker looks in it for the
 * KBS path to fetch), so it is parsed as hostile input. For each input:
 *   - parse it; a header that parses must be canonical: written back from
 *     what was parsed, with the same salt and prefix, it gives the same
 *     bytes (one encoding per header, so nothing unparsed rides along);
 *   - its derived fields must agree (chunk count, file length);
 *   - then the input is given a valid MAC under a fixed key, as if its
 *     sealer had made it, and opened from a memory file: past the MAC the
 *     length checks and the chunk decryption see hostile bytes too, and
 *     must fail cleanly (the fuzzer cannot forge a GCM tag).
 */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "seal/seal_internal.h"
#include "veil/seal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t fuzz_key[VEIL_SEAL_KEY_LEN] = {1, 2, 3, 4, 5, 6, 7, 8};

static void open_with_mac(const uint8_t *data, size_t size, const veil_seal_info *info,
			  seal_header *h, unsigned threads)
{
	uint8_t hdr[VEIL_SEAL_HEADER_MAX];
	size_t hlen = 0;
	seal_keys keys;
	veil_sealed_model m;
	int fd;

	if (seal_keys_derive(fuzz_key, h, &keys) != VEIL_OK ||
	    seal_header_write(info, h, &keys, hdr, &hlen) != VEIL_OK)
		abort(); /* what parsed must be writable */
	seal_keys_clear(&keys);
	if (hlen != info->header_len || memcmp(hdr, data, hlen - 32) != 0)
		abort(); /* not canonical */
	fd = memfd_create("sealed", MFD_CLOEXEC);
	if (fd < 0)
		return;
	if (write(fd, hdr, hlen) == (ssize_t)hlen &&
	    (size == hlen || write(fd, data + hlen, size - hlen) == (ssize_t)(size - hlen))) {
		unsigned flags = (size & 2) != 0 ? VEIL_SEAL_VERIFY_ONLY : 0;
		veil_err err = veil_seal_open_fd(fd, fuzz_key, threads, flags, NULL, NULL, &m);
		if (err == VEIL_OK) {
			/* Only possible for an input that is a real sealed file
			 * under this key; it must then hold what it says. */
			if (m.info.plaintext_len != info->plaintext_len)
				abort();
			veil_sealed_model_clear(&m);
		} else if (m.data != NULL || m.map != NULL) {
			abort(); /* a failure leaves nothing */
		}
	}
	close(fd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	veil_seal_info info, pub;
	seal_header h;

	if (seal_header_read(data, size, &info, &h) == VEIL_OK) {
		if (info.header_len < VEIL_SEAL_HEADER_MIN ||
		    info.header_len > VEIL_SEAL_HEADER_MAX || info.header_len > size ||
		    info.chunk_count == 0 ||
		    info.file_len != info.header_len + info.plaintext_len + 16 * info.chunk_count ||
		    (info.chunk_count - 1) * (uint64_t)info.chunk_size >= info.plaintext_len + 1 ||
		    info.chunk_count * (uint64_t)info.chunk_size < info.plaintext_len)
			abort();
		if (veil_seal_header_parse(data, size, &pub) != VEIL_OK ||
		    memcmp(&pub, &info, sizeof pub) != 0)
			abort();
		open_with_mac(data, size, &info, &h, 1 + (unsigned)(size & 1));
	} else if (veil_seal_header_parse(data, size, &pub) == VEIL_OK) {
		abort();
	}
	veil_err_clear();
	return 0;
}
