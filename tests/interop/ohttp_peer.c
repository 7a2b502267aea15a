/*
 * ohttp_peer.c - Veil's end of the Oblivious HTTP interoperability tests.
 *
 * tests/interop/ohttp_interop.mjs runs this program and talks to it over
 * stdin and stdout, so that one process keeps the state of an exchange (the
 * HPKE context, the response keys) between the request and its response
 * while independent implementations (@hpke/core, bhttp-js) play the other
 * side. It uses only Veil's public API, as a worker or a client would.
 *
 * One message per line, a tag, a space and the payload; binary payloads
 * are lower-case hex.
 *
 *   ohttp_peer server [KEY_ID [CHUNK_SIZE]]      (defaults 1 and 16)
 *     out: keys HEX             application/ohttp-keys: one fresh X25519 key,
 *                               accepting HKDF-SHA256 with AES-128-GCM,
 *                               AES-256-GCM and ChaCha20-Poly1305
 *     then, for each request until end of input:
 *     in:  request HEX          message/ohttp-req
 *      or  chunked-request HEX  message/ohttp-chunked-req
 *     out: seen JSON            the BHTTP request Veil decoded
 *     out: response HEX         message/ohttp-res, or
 *          chunked-response HEX message/ohttp-chunked-res in chunks of
 *                               CHUNK_SIZE plaintext bytes
 *     The response is status 200 with the seen JSON as its content, so the
 *     other side checks Veil's decoding through the encrypted channel too.
 *
 *   ohttp_peer client KEYS_HEX [chunked CHUNK_SIZE]
 *     out: request HEX or chunked-request HEX, a fixed BHTTP request
 *          (POST https://worker.veil.test/v1/chat/completions, see below)
 *     in:  response HEX or chunked-response HEX
 *     out: seen JSON            the BHTTP response Veil decoded
 *
 * Any failure prints "error NAME: DETAIL" and exits 1, before anything
 * decrypted is printed; a usage error exits 2.
 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "veil/bhttp.h"
#include "veil/codec.h"
#include "veil/ohttp.h"
#include "veil/secret.h"

#define PEER_LINE_MAX (2 * (size_t)VEIL_OHTTP_MESSAGE_MAX + 64)

/* The request the client sends; the interop script checks each field. */
static const char client_body[] =
    "{\"model\":\"demo\",\"messages\":[{\"role\":\"user\",\"content\":\"hello from veil\"}]}";

static int fail(veil_err err)
{
	printf("error %s: %s\n", veil_err_str(err), veil_err_detail());
	fflush(stdout);
	return 1;
}

static int usage(void)
{
	fprintf(stderr, "usage: ohttp_peer server [KEY_ID [CHUNK_SIZE]]\n"
			"       ohttp_peer client KEYS_HEX [chunked CHUNK_SIZE]\n");
	return 2;
}

static bool parse_size(const char *s, unsigned long min, unsigned long max, unsigned long *out)
{
	char *end;

	errno = 0;
	*out = strtoul(s, &end, 10); /* checked: end, errno and range below */
	return errno == 0 && end != s && *end == '\0' && *out >= min && *out <= max;
}

static veil_err print_hex(const char *tag, const uint8_t *p, size_t n)
{
	char *hex = malloc(2 * n + 1);

	ENSURE(hex != NULL, VEIL_E_NOMEM, "out of memory for %zu bytes of hex", n);
	veil_hex_encode(p, n, hex);
	printf("%s %s\n", tag, hex);
	fflush(stdout);
	free(hex);
	return VEIL_OK;
}

/* Reads one "TAG HEX" line into *line (replacing what it held; the caller
 * frees the last); *tag points into it. The payload is decoded into w. */
static veil_err read_message(char **line, const char **tag, veil_writer *w)
{
	size_t cap = 0;
	ssize_t len;
	char *sp;
	uint8_t *space;
	size_t n;

	/* glibc's getline mallocs afresh when told the capacity is 0. */
	free(*line);
	*line = NULL;
	len = getline(line, &cap, stdin);
	if (len < 0)
		return veil_fail(VEIL_E_TRUNCATED, "end of input before a message");
	while (len > 0 && ((*line)[len - 1] == '\n' || (*line)[len - 1] == '\r'))
		(*line)[--len] = '\0';
	ENSURE((size_t)len <= PEER_LINE_MAX, VEIL_E_LIMIT, "a line of %zd bytes", len);
	sp = strchr(*line, ' ');
	ENSURE(sp != NULL, VEIL_E_MALFORMED, "a line without a space after its tag");
	*sp = '\0';
	*tag = *line;
	len -= sp + 1 - *line;
	TRY(veil_writer_reserve(w, (size_t)len / 2 + 1, &space));
	TRY(veil_hex_decode(sp + 1, (size_t)len, space, (size_t)len / 2 + 1, &n));
	veil_writer_commit(w, n);
	return VEIL_OK;
}

/* [[name, value], ...]; NULL when a field is not UTF-8. */
static json_t *fields_json(const veil_bhttp_fields *f)
{
	json_t *a = json_array();

	for (size_t i = 0; a != NULL && i < f->count; i++) {
		json_t *pair = json_pack("[s%s%]", f->items[i].name, f->items[i].name_len,
					 (const char *)f->items[i].value, f->items[i].value_len);
		if (json_array_append_new(a, pair) != 0) {
			json_decref(a);
			a = NULL;
		}
	}
	return a;
}

/* What Veil decoded, as JSON text in a new string (caller frees). The
 * content goes as hex: it need not be UTF-8. */
static veil_err describe(const veil_bhttp_msg *m, char **out)
{
	json_t *j;
	char *hex = malloc(2 * m->content_len + 1);

	ENSURE(hex != NULL, VEIL_E_NOMEM, "out of memory for the content");
	veil_hex_encode(m->content, m->content_len, hex);
	if (m->request)
		j = json_pack("{s:s, s:s, s:s, s:s}", "method", m->method, "scheme", m->scheme,
			      "authority", m->authority, "path", m->path);
	else
		j = json_pack("{s:i}", "status", (int)m->status);
	*out = NULL;
	if (j != NULL &&
	    json_object_set_new(j, "framing",
				json_string(m->indeterminate ? "indeterminate" : "known-length")) ==
		0 &&
	    json_object_set_new(j, "header", fields_json(&m->header)) == 0 &&
	    json_object_set_new(j, "trailer", fields_json(&m->trailer)) == 0 &&
	    json_object_set_new(j, "content_hex", json_string(hex)) == 0)
		*out = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(j);
	veil_free_secret(hex, 2 * m->content_len + 1);
	ENSURE(*out != NULL, VEIL_E_MALFORMED,
	       "the decoded message does not convert to JSON (a field that is not UTF-8?)");
	return VEIL_OK;
}

/* Appends the chunks of pt to out: CHUNK_SIZE bytes each, the rest (never
 * empty unless pt is) in the final chunk. */
static veil_err seal_chunks(veil_ohttp_exchange *x, const uint8_t *pt, size_t n, size_t chunk,
			    veil_writer *out)
{
	while (n > chunk) {
		TRY(veil_ohttp_chunk_seal(x, pt, chunk, false, out));
		pt += chunk;
		n -= chunk;
	}
	return veil_ohttp_chunk_seal(x, pt, n, true, out);
}

/* Opens a whole chunked stream, fed in pieces of 7 bytes so that pieces
 * straddle chunk boundaries the way a transport delivers them. */
static veil_err open_chunks(veil_ohttp_exchange *x, const uint8_t *p, size_t n, veil_writer *pt)
{
	for (size_t off = 0; off < n; off += 7)
		TRY(veil_ohttp_chunked_feed(x, p + off, n - off < 7 ? n - off : 7, pt));
	return veil_ohttp_chunked_finish(x, pt);
}

/* Answers one request: decapsulate, decode, describe, respond. */
static veil_err serve_one(const veil_ohttp_server *s, const char *tag, const veil_writer *in,
			  size_t chunk)
{
	veil_err err;
	veil_ohttp_exchange x = {0};
	veil_bhttp_msg req = {0}, res = {0};
	veil_writer pt, bh, out;
	char *seen = NULL;
	bool chunked = strcmp(tag, "chunked-request") == 0;
	static const char ctype[] = "application/json";
	static const char peer[] = "veil ohttp_peer";

	veil_writer_init(&pt, VEIL_OHTTP_MESSAGE_MAX);
	veil_writer_init(&bh, VEIL_OHTTP_MESSAGE_MAX);
	veil_writer_init(&out, VEIL_OHTTP_MESSAGE_MAX);
	CHECK_THAT(chunked || strcmp(tag, "request") == 0, VEIL_E_USAGE,
		   "expected request or chunked-request, got %s", tag);
	if (chunked) {
		CHECK(veil_ohttp_chunked_request_open(&x, s));
		CHECK(open_chunks(&x, in->data, in->len, &pt));
	} else {
		CHECK(veil_ohttp_request_decap(&x, s, in->data, in->len, &pt));
	}
	CHECK(veil_bhttp_decode(pt.data, pt.len, &req));
	CHECK(describe(&req, &seen));
	printf("seen %s\n", seen);

	/* RFC 9292: the response; a chunked one in the indeterminate-length
	 * form (section 3.2), as a streaming worker would send it. */
	CHECK(veil_bhttp_response_init(&res, 200));
	res.indeterminate = chunked;
	CHECK(veil_bhttp_fields_add(&res.header, "content-type", (const uint8_t *)ctype,
				    strlen(ctype)));
	CHECK(
	    veil_bhttp_fields_add(&res.header, "x-veil-peer", (const uint8_t *)peer, strlen(peer)));
	CHECK(veil_bhttp_set_content(&res, (const uint8_t *)seen, strlen(seen)));
	CHECK(veil_bhttp_encode(&res, &bh));
	if (chunked) {
		CHECK(veil_ohttp_chunked_response_begin(&x, &out));
		CHECK(seal_chunks(&x, bh.data, bh.len, chunk, &out));
		CHECK(print_hex("chunked-response", out.data, out.len));
	} else {
		CHECK(veil_ohttp_response_encap(&x, bh.data, bh.len, &out));
		CHECK(print_hex("response", out.data, out.len));
	}
	err = VEIL_OK;
out:
	if (seen != NULL)
		veil_free_secret(seen, strlen(seen));
	veil_bhttp_msg_clear(&req);
	veil_bhttp_msg_clear(&res);
	veil_ohttp_exchange_clear(&x);
	veil_writer_clear(&pt);
	veil_writer_clear(&bh);
	veil_writer_clear(&out);
	return err;
}

static int run_server(uint8_t key_id, size_t chunk)
{
	static const veil_ohttp_sym suites[] = {
	    {VEIL_HPKE_KDF_HKDF_SHA256, VEIL_AEAD_AES_128_GCM},
	    {VEIL_HPKE_KDF_HKDF_SHA256, VEIL_AEAD_AES_256_GCM},
	    {VEIL_HPKE_KDF_HKDF_SHA256, VEIL_AEAD_CHACHA20_POLY1305},
	};
	veil_err err;
	veil_ohttp_server *s = NULL;
	veil_x25519_key key = {0};
	veil_writer keys, in;
	char *line = NULL;
	const char *tag;

	veil_writer_init(&keys, 4096);
	veil_writer_init(&in, VEIL_OHTTP_MESSAGE_MAX);
	CHECK(veil_ohttp_server_new(&s));
	CHECK(veil_x25519_key_generate(&key));
	CHECK(veil_ohttp_server_add_key(s, key_id, &key, suites, 3));
	CHECK(veil_ohttp_server_keys(s, &keys));
	CHECK(print_hex("keys", keys.data, keys.len));
	for (;;) {
		veil_writer_clear(&in);
		veil_writer_init(&in, VEIL_OHTTP_MESSAGE_MAX);
		err = read_message(&line, &tag, &in);
		if (err == VEIL_E_TRUNCATED && feof(stdin)) {
			err = VEIL_OK; /* the script is done */
			break;
		}
		CHECK(err);
		CHECK(serve_one(s, tag, &in, chunk));
	}
out:
	free(line);
	veil_x25519_key_clear(&key);
	veil_ohttp_server_free(s);
	veil_writer_clear(&keys);
	veil_writer_clear(&in);
	return err == VEIL_OK ? 0 : fail(err);
}

/* The fixed request of the client side (RFC 9292 section 3.4 control data). */
static veil_err client_request(veil_writer *w)
{
	veil_err err;
	veil_bhttp_msg m = {0};
	static const char ctype[] = "application/json";
	static const char peer[] = "veil ohttp_peer";

	CHECK(veil_bhttp_request_init(&m, "POST", "https", "worker.veil.test",
				      "/v1/chat/completions"));
	CHECK(veil_bhttp_fields_add(&m.header, "content-type", (const uint8_t *)ctype,
				    strlen(ctype)));
	CHECK(veil_bhttp_fields_add(&m.header, "x-veil-peer", (const uint8_t *)peer, strlen(peer)));
	CHECK(veil_bhttp_set_content(&m, (const uint8_t *)client_body, strlen(client_body)));
	CHECK(veil_bhttp_encode(&m, w));
out:
	veil_bhttp_msg_clear(&m);
	return err;
}

static int run_client(const char *keys_hex, bool chunked, size_t chunk)
{
	veil_err err;
	veil_ohttp_keyconfig configs[VEIL_OHTTP_CONFIGS_MAX];
	veil_ohttp_client c;
	veil_ohttp_exchange x = {0};
	veil_bhttp_msg res = {0};
	veil_writer keys, req, out, in, pt;
	size_t count, n;
	char *line = NULL, *seen = NULL;
	const char *tag;
	uint8_t *space;

	veil_writer_init(&keys, 65536);
	veil_writer_init(&req, VEIL_OHTTP_MESSAGE_MAX);
	veil_writer_init(&out, VEIL_OHTTP_MESSAGE_MAX);
	veil_writer_init(&in, VEIL_OHTTP_MESSAGE_MAX);
	veil_writer_init(&pt, VEIL_OHTTP_MESSAGE_MAX);
	n = strlen(keys_hex);
	CHECK(veil_writer_reserve(&keys, n / 2 + 1, &space));
	CHECK(veil_hex_decode(keys_hex, n, space, n / 2 + 1, &n));
	veil_writer_commit(&keys, n);
	/* RFC 9458 section 3.2: the first configuration Veil can use. */
	CHECK(veil_ohttp_keys_parse(keys.data, keys.len, configs, VEIL_OHTTP_CONFIGS_MAX, &count));
	CHECK(veil_ohttp_client_init(&c, &configs[0]));
	CHECK(client_request(&req));
	if (chunked) {
		CHECK(veil_ohttp_chunked_request_begin(&x, &c, &out));
		CHECK(seal_chunks(&x, req.data, req.len, chunk, &out));
		CHECK(print_hex("chunked-request", out.data, out.len));
	} else {
		CHECK(veil_ohttp_request_encap(&x, &c, req.data, req.len, &out));
		CHECK(print_hex("request", out.data, out.len));
	}
	CHECK(read_message(&line, &tag, &in));
	CHECK_THAT(strcmp(tag, chunked ? "chunked-response" : "response") == 0, VEIL_E_USAGE,
		   "expected %s, got %s", chunked ? "chunked-response" : "response", tag);
	if (chunked) {
		CHECK(veil_ohttp_chunked_response_open(&x));
		CHECK(open_chunks(&x, in.data, in.len, &pt));
	} else {
		CHECK(veil_ohttp_response_decap(&x, in.data, in.len, &pt));
	}
	CHECK(veil_bhttp_decode(pt.data, pt.len, &res));
	CHECK(describe(&res, &seen));
	printf("seen %s\n", seen);
	fflush(stdout);
out:
	if (seen != NULL)
		veil_free_secret(seen, strlen(seen));
	free(line);
	veil_bhttp_msg_clear(&res);
	veil_ohttp_exchange_clear(&x);
	veil_writer_clear(&keys);
	veil_writer_clear(&req);
	veil_writer_clear(&out);
	veil_writer_clear(&in);
	veil_writer_clear(&pt);
	return err == VEIL_OK ? 0 : fail(err);
}

int main(int argc, char **argv)
{
	unsigned long key_id = 1, chunk = 16;

	if (argc >= 2 && strcmp(argv[1], "server") == 0 && argc <= 4) {
		if (argc >= 3 && !parse_size(argv[2], 0, 255, &key_id))
			return usage();
		if (argc == 4 && !parse_size(argv[3], 1, VEIL_OHTTP_CHUNK_MAX, &chunk))
			return usage();
		return run_server((uint8_t)key_id, chunk);
	}
	if (argc == 3 && strcmp(argv[1], "client") == 0)
		return run_client(argv[2], false, 0);
	if (argc == 5 && strcmp(argv[1], "client") == 0 && strcmp(argv[3], "chunked") == 0) {
		if (!parse_size(argv[4], 1, VEIL_OHTTP_CHUNK_MAX, &chunk))
			return usage();
		return run_client(argv[2], true, chunk);
	}
	return usage();
}
