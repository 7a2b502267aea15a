/*
 * detok.c - token ids back to text: pieces, whole-sequence detokenization
 * and the streaming detokenizer that never emits a broken character.
 *
 * A piece is a token's bytes (built once per vocabulary in vocab.c). A
 * streamed reply is a sequence of pieces whose boundaries need not fall
 * between characters: "é" may arrive as <0xC3> then <0xA9>. The stream
 * keeps at most three bytes of a character that is valid so far and
 * releases it when complete. Bytes that cannot be part of a valid
 * character are replaced by U+FFFD, one replacement per maximal subpart
 * (Unicode 14.0 section 3.9, table 3-8: a truncated sequence that was
 * valid so far is one subpart; every other invalid byte is its own), so
 * what reaches the client is always valid UTF-8.
 */
#include <stdlib.h>
#include <string.h>

#include "tokenizer/tok_internal.h"
#include "veil/secret.h"

static const uint8_t replacement[3] = {0xEF, 0xBF, 0xBD}; /* U+FFFD */

veil_err veil_token_piece(const veil_tokenizer *tok, int32_t id, bool special,
			  const uint8_t **piece, size_t *len)
{
	ENSURE(tok != NULL && piece != NULL && len != NULL, VEIL_E_USAGE,
	       "veil_token_piece: missing argument");
	ENSURE(id >= 0 && (uint32_t)id < tok->n_tokens, VEIL_E_USAGE,
	       "token id %d is not in the vocabulary of %u tokens", (int)id, tok->n_tokens);
	*piece = tok->piece + tok->piece_off[id];
	*len = tok->piece_off[id + 1] - tok->piece_off[id];
	/* llama.cpp's token_to_piece: control and unknown tokens print only
	 * when asked for. */
	uint8_t t = tok->type[id];
	if (!special && (t == VEIL_TOKEN_CONTROL || t == VEIL_TOKEN_UNKNOWN))
		*len = 0;
	return VEIL_OK;
}

/* Bytes a character starting with lead has in all, or 0 for a byte that
 * cannot start one (RFC 3629 section 4). */
static size_t utf8_length(uint8_t lead)
{
	if (lead < 0x80)
		return 1;
	if (lead >= 0xC2 && lead <= 0xDF)
		return 2;
	if (lead >= 0xE0 && lead <= 0xEF)
		return 3;
	if (lead >= 0xF0 && lead <= 0xF4)
		return 4;
	return 0;
}

/* Whether b may follow held[0..n) in a valid character. The second byte
 * is narrower after E0, ED, F0 and F4 (RFC 3629 section 4), which rules
 * out overlong forms, surrogates and code points above U+10FFFF. */
static bool continues(const uint8_t *held, size_t n, uint8_t b)
{
	if ((b & 0xC0) != 0x80)
		return false;
	if (n != 1)
		return true;
	switch (held[0]) {
	case 0xE0:
		return b >= 0xA0;
	case 0xED:
		return b <= 0x9F;
	case 0xF0:
		return b >= 0x90;
	case 0xF4:
		return b <= 0x8F;
	default:
		return true;
	}
}

static veil_err feed(veil_detok *d, const uint8_t *p, size_t len, veil_writer *out)
{
	size_t i = 0;

	while (i < len) {
		if (d->n_held == 0) {
			/* Runs of ASCII go out in one write. */
			size_t j = i;
			while (j < len && p[j] < 0x80)
				j++;
			if (j > i) {
				TRY(veil_writer_put(out, p + i, j - i));
				i = j;
				continue;
			}
			if (utf8_length(p[i]) == 0)
				TRY(veil_writer_put(out, replacement, sizeof replacement));
			else
				d->held[d->n_held++] = p[i];
			i++;
			continue;
		}
		if (!continues(d->held, d->n_held, p[i])) {
			/* The held bytes were a maximal subpart; p[i] starts over. */
			d->n_held = 0;
			TRY(veil_writer_put(out, replacement, sizeof replacement));
			continue;
		}
		d->held[d->n_held++] = p[i++];
		if (d->n_held == utf8_length(d->held[0])) {
			TRY(veil_writer_put(out, d->held, d->n_held));
			d->n_held = 0;
		}
	}
	return VEIL_OK;
}

void veil_detok_init(veil_detok *d, const veil_tokenizer *tok, bool special)
{
	memset(d, 0, sizeof *d);
	d->tok = tok;
	d->special = special;
}

veil_err veil_detok_push(veil_detok *d, int32_t id, veil_writer *out)
{
	const uint8_t *piece;
	size_t len;

	TRY(veil_token_piece(d->tok, id, d->special, &piece, &len));
	return feed(d, piece, len, out);
}

veil_err veil_detok_finish(veil_detok *d, veil_writer *out)
{
	if (d->n_held == 0)
		return VEIL_OK;
	veil_wipe(d->held, sizeof d->held);
	d->n_held = 0;
	return veil_writer_put(out, replacement, sizeof replacement);
}

size_t veil_detok_piece(void *user, int32_t id, char *buf, size_t cap)
{
	veil_writer w;
	size_t len = 0;

	veil_writer_init(&w, cap);
	if (veil_detok_push(user, id, &w) == VEIL_OK && w.len > 0) {
		len = w.len;
		memcpy(buf, w.data, len);
	}
	veil_writer_clear(&w);
	return len;
}

veil_err veil_detokenize(const veil_tokenizer *tok, const int32_t *ids, size_t n, bool special,
			 char **out, size_t *out_len)
{
	veil_detok d;
	veil_writer w;
	uint8_t *text = NULL;
	size_t len = 0;
	veil_err err;

	ENSURE(tok != NULL && out != NULL && out_len != NULL && (ids != NULL || n == 0),
	       VEIL_E_USAGE, "veil_detokenize: missing argument");
	*out = NULL;
	*out_len = 0;
	veil_writer_init(&w, VEIL_TOKENIZE_INPUT_MAX);
	veil_detok_init(&d, tok, special);
	/* The space SPM put before the first text (add_space_prefix) is the
	 * first byte of the first piece after an optional BOS. */
	size_t first = n > 0 && ids[0] == tok->bos && tok->bos >= 0 ? 1 : 0;
	for (size_t i = 0; i < n; i++) {
		const uint8_t *piece;
		size_t plen;
		CHECK(veil_token_piece(tok, ids[i], special, &piece, &plen));
		if (i == first && tok->add_space_prefix && plen > 0 && piece[0] == ' ') {
			piece++;
			plen--;
		}
		CHECK(feed(&d, piece, plen, &w));
	}
	CHECK(veil_detok_finish(&d, &w));
	CHECK(veil_writer_take(&w, &text, &len));
	*out = (char *)text;
	*out_len = len;
	err = VEIL_OK;
out:
	veil_writer_clear(&w);
	return err;
}
