/*
 * input.c - reading evidence files written raw, as hex, or as base64.
 *
 * Reports and quotes travel in all three forms (go-sev-guest writes raw,
 * virtee writes hex, JSON APIs carry base64). Detection is by alphabet over
 * the whole file, whitespace ignored: hex first, because every hex string is
 * also base64 but a binary report is essentially never all hex digits;
 * --encoding overrides the guess.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "veil/codec.h"
#include "veil/collateral.h"
#include "veil/limits.h"

/* Encoded evidence is at most 4/3 (base64) or 2x (hex) the raw size, plus
 * line breaks; a JSON bundle or evidence list may be up to the JSON cap. */
#define CLI_INPUT_MAX VEIL_JSON_MAX_BYTES

const char *cli_encoding_name(cli_encoding enc)
{
	switch (enc) {
	case CLI_ENC_RAW:
		return "raw";
	case CLI_ENC_HEX:
		return "hex";
	case CLI_ENC_BASE64:
		return "base64";
	case CLI_ENC_JSON:
		return "json";
	case CLI_ENC_AUTO:
		break;
	}
	return "auto";
}

static veil_err read_stdin(uint8_t **out, size_t *len)
{
	uint8_t *buf = malloc(CLI_INPUT_MAX + 1);
	size_t got = 0;

	if (buf == NULL)
		return veil_fail(VEIL_E_NOMEM, "out of memory");
	for (;;) {
		ssize_t n = read(STDIN_FILENO, buf + got, CLI_INPUT_MAX + 1 - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			free(buf);
			return veil_fail(VEIL_E_IO, "cannot read standard input: %s",
					 strerror(errno));
		}
		if (n == 0)
			break;
		got += (size_t)n;
		if (got > CLI_INPUT_MAX) {
			free(buf);
			return veil_fail(VEIL_E_LIMIT, "standard input is over %d bytes",
					 CLI_INPUT_MAX);
		}
	}
	*out = buf;
	*len = got;
	return VEIL_OK;
}

static bool is_space(uint8_t c)
{
	return c == ' ' || c == '\n' || c == '\r' || c == '\t';
}

/* Copies buf without whitespace into a new NUL-terminated string. */
static char *strip_space(const uint8_t *buf, size_t len, size_t *out_len)
{
	char *s = malloc(len + 1);
	size_t n = 0;
	if (s == NULL)
		return NULL;
	for (size_t i = 0; i < len; i++)
		if (!is_space(buf[i]))
			s[n++] = (char)buf[i];
	s[n] = '\0';
	*out_len = n;
	return s;
}

static bool all_in(const char *s, size_t n, const char *alphabet)
{
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] == '\0' || strchr(alphabet, s[i]) == NULL)
			return false;
	return true;
}

veil_err cli_read_evidence(const char *path, cli_encoding enc, uint8_t **out, size_t *len,
			   cli_encoding *used)
{
	static const char hex_alpha[] = "0123456789abcdefABCDEF";
	static const char b64_alpha[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=";
	uint8_t *file = NULL, *dec = NULL;
	size_t file_len = 0, text_len = 0, dec_len = 0;
	char *text = NULL;
	veil_err err = VEIL_OK;

	if (strcmp(path, "-") == 0)
		CHECK(read_stdin(&file, &file_len));
	else
		CHECK(veil_file_read(path, CLI_INPUT_MAX, &file, &file_len));
	CHECK_THAT(file_len > 0, VEIL_E_MALFORMED, "%s is empty", path);

	if (enc == CLI_ENC_AUTO) {
		text = strip_space(file, file_len, &text_len);
		CHECK_THAT(text != NULL, VEIL_E_NOMEM, "out of memory");
		/* '{' and '[' are in neither alphabet: JSON is never mistaken
		 * for an encoded report. */
		if (text_len > 0 && (text[0] == '{' || text[0] == '['))
			enc = CLI_ENC_JSON;
		else if (all_in(text, text_len, hex_alpha) && text_len % 2 == 0)
			enc = CLI_ENC_HEX;
		else if (all_in(text, text_len, b64_alpha) && text_len % 4 == 0)
			enc = CLI_ENC_BASE64;
		else
			enc = CLI_ENC_RAW;
	} else if (enc != CLI_ENC_RAW) {
		text = strip_space(file, file_len, &text_len);
		CHECK_THAT(text != NULL, VEIL_E_NOMEM, "out of memory");
	}

	if (enc == CLI_ENC_JSON) {
		*out = file;
		*len = file_len;
		file = NULL;
	} else if (enc == CLI_ENC_RAW) {
		CHECK_THAT(file_len <= VEIL_EVIDENCE_MAX_BYTES, VEIL_E_LIMIT,
			   "%s is %zu bytes, over the %d-byte evidence limit", path, file_len,
			   VEIL_EVIDENCE_MAX_BYTES);
		*out = file;
		*len = file_len;
		file = NULL;
	} else {
		size_t cap =
		    enc == CLI_ENC_HEX ? text_len / 2 + 1 : veil_base64_decoded_max(text_len);
		dec = malloc(cap);
		CHECK_THAT(dec != NULL, VEIL_E_NOMEM, "out of memory");
		if (enc == CLI_ENC_HEX)
			err = veil_hex_decode(text, text_len, dec, cap, &dec_len);
		else
			err = veil_base64_decode(text, text_len, dec, cap, &dec_len);
		if (err != VEIL_OK) {
			err =
			    veil_fail_context(err, "%s (read as %s)", path, cli_encoding_name(enc));
			goto out;
		}
		CHECK_THAT(dec_len <= VEIL_EVIDENCE_MAX_BYTES, VEIL_E_LIMIT,
			   "%s decodes to %zu bytes, over the %d-byte evidence limit", path,
			   dec_len, VEIL_EVIDENCE_MAX_BYTES);
		*out = dec;
		*len = dec_len;
		dec = NULL;
	}
	*used = enc;
out:
	free(file);
	free(text);
	free(dec);
	return err;
}

veil_err cli_write_file(const char *path, const void *p, size_t n)
{
	char tmp[4096];
	FILE *f;
	int fd;

	ENSURE((size_t)snprintf(tmp, sizeof tmp, "%s.tmp-XXXXXX", path) < sizeof tmp, VEIL_E_USAGE,
	       "the path %s is too long", path);
	fd = mkstemp(tmp);
	ENSURE(fd >= 0, VEIL_E_IO, "cannot create a file beside %s: %s", path, strerror(errno));
	f = fdopen(fd, "wb");
	if (f == NULL || fwrite(p, 1, n, f) != n || fflush(f) != 0 || fsync(fd) != 0) {
		int e = errno;
		if (f != NULL)
			fclose(f);
		else
			close(fd);
		unlink(tmp);
		return veil_fail(VEIL_E_IO, "cannot write %s: %s", path, strerror(e));
	}
	fclose(f);
	if (rename(tmp, path) != 0) {
		int e = errno;
		unlink(tmp);
		return veil_fail(VEIL_E_IO, "cannot move the new file to %s: %s", path,
				 strerror(e));
	}
	return VEIL_OK;
}
