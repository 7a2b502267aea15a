/*
 * test_ohttp.c - Oblivious HTTP whole messages and key configurations:
 * RFC 9458 Appendix A byte for byte, round trips in every supported suite,
 * key rotation on the server, and the failures a gateway or an attacker on
 * the path can cause (unknown key id, a suite the key does not accept, any
 * byte changed, bytes cut off, a response opened by the wrong request).
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "ohttp/ohttp_internal.h"
#include "veil/ohttp.h"

static json_t *appendix_a(void)
{
	size_t len;
	uint8_t *raw = td_read("hpke/rfc9458-ohttp/appendix-a.json", &len);
	json_error_t e;
	json_t *j = json_loadb((const char *)raw, len, 0, &e);
	free(raw);
	if (j == NULL) {
		fprintf(stderr, "appendix-a.json: %s\n", e.text);
		exit(2);
	}
	return j;
}

static uint8_t *hexf(json_t *j, const char *key, size_t *len)
{
	const char *s = json_string_value(json_object_get(j, key));
	if (s == NULL) {
		fprintf(stderr, "appendix-a.json lacks %s\n", key);
		exit(2);
	}
	return td_hex(s, len);
}

/* The gateway's server and the client exactly as in Appendix A. */
typedef struct appx {
	json_t *j;
	veil_ohttp_server *server;
	veil_ohttp_client client;
	veil_x25519_key eph;
} appx;

static bool appx_init(appx *a)
{
	size_t n, cfg_len;
	uint8_t *skr, *ske, *cfg;
	veil_ohttp_keyconfig kc;
	veil_x25519_key key;
	static const veil_ohttp_sym suites[] = {{1, 1}, {1, 3}};
	bool ok;

	memset(a, 0, sizeof *a);
	a->j = appendix_a();
	skr = hexf(a->j, "gateway_secret_key_skR", &n);
	ske = hexf(a->j, "client_ephemeral_secret_key_skE", &n);
	cfg = hexf(a->j, "key_config", &cfg_len);
	ok = veil_ohttp_server_new(&a->server) == VEIL_OK &&
	     veil_x25519_key_from_private(&key, skr) == VEIL_OK &&
	     veil_ohttp_server_add_key(a->server, 1, &key, suites, 2) == VEIL_OK &&
	     veil_x25519_key_from_private(&a->eph, ske) == VEIL_OK &&
	     veil_ohttp_keyconfig_parse(cfg, cfg_len, &kc) == VEIL_OK &&
	     veil_ohttp_client_init(&a->client, &kc) == VEIL_OK;
	/* Appendix A uses AES-128-GCM; Veil's client would prefer ChaCha20. */
	a->client.suite = (veil_ohttp_sym){1, 1};
	free(skr);
	free(ske);
	free(cfg);
	return ok;
}

static void appx_clear(appx *a)
{
	veil_ohttp_server_free(a->server);
	veil_x25519_key_clear(&a->eph);
	json_decref(a->j);
}

static bool same(const veil_writer *w, const uint8_t *p, size_t n)
{
	return w->len == n && (n == 0 || memcmp(w->data, p, n) == 0);
}

TEST(appendix_a_key_config)
{
	appx a;
	size_t cfg_len, pk_len;
	uint8_t *cfg, *pk;
	veil_ohttp_keyconfig kc, list[4];
	veil_writer w;
	size_t count;

	REQUIRE(appx_init(&a));
	cfg = hexf(a.j, "key_config", &cfg_len);
	pk = hexf(a.j, "gateway_public_key_pkR", &pk_len);
	EXPECT_OK(veil_ohttp_keyconfig_parse(cfg, cfg_len, &kc));
	EXPECT(kc.key_id == 1 && kc.kem == 0x20 && kc.suite_count == 2);
	EXPECT(kc.suites[0].kdf == 1 && kc.suites[0].aead == 1 && kc.suites[1].aead == 3);
	EXPECT(pk_len == 32 && memcmp(kc.pub, pk, 32) == 0);
	/* Veil's client picks ChaCha20-Poly1305 over AES-128-GCM. */
	{
		veil_ohttp_client c;
		EXPECT_OK(veil_ohttp_client_init(&c, &kc));
		EXPECT(c.suite.aead == VEIL_AEAD_CHACHA20_POLY1305);
	}
	/* Re-encodes byte for byte, and the server publishes the same bytes
	 * with the 2-byte length of application/ohttp-keys in front. */
	veil_writer_init(&w, 4096);
	EXPECT_OK(veil_ohttp_keyconfig_encode(&kc, &w));
	EXPECT(same(&w, cfg, cfg_len));
	veil_writer_clear(&w);
	EXPECT_OK(veil_ohttp_server_keys(a.server, &w));
	EXPECT(w.len == cfg_len + 2 && w.data[0] == 0 && w.data[1] == cfg_len &&
	       memcmp(w.data + 2, cfg, cfg_len) == 0);
	EXPECT_OK(veil_ohttp_keys_parse(w.data, w.len, list, 4, &count));
	EXPECT(count == 1 && memcmp(&list[0], &kc, sizeof kc) == 0);
	veil_writer_clear(&w);
	free(cfg);
	free(pk);
	appx_clear(&a);
}

TEST(appendix_a_request_and_response)
{
	appx a;
	size_t req_len, enc_req_len, res_len, enc_res_len, nonce_len;
	uint8_t *req, *enc_req, *res, *enc_res, *nonce;
	veil_ohttp_exchange cx = {0}, sx = {0};
	veil_writer w, pt;

	REQUIRE(appx_init(&a));
	req = hexf(a.j, "request_bhttp", &req_len);
	enc_req = hexf(a.j, "encapsulated_request", &enc_req_len);
	res = hexf(a.j, "response_bhttp", &res_len);
	enc_res = hexf(a.j, "encapsulated_response", &enc_res_len);
	nonce = hexf(a.j, "response_nonce", &nonce_len);
	EXPECT(enc_req_len == 80 && enc_res_len == 35); /* not the RFC's Content-Length */
	veil_writer_init(&w, 1 << 20);
	veil_writer_init(&pt, 1 << 20);

	EXPECT_OK(ohttp_request_encap_with(&cx, &a.client, req, req_len, &a.eph, &w));
	EXPECT(same(&w, enc_req, enc_req_len));
	EXPECT_OK(veil_ohttp_request_decap(&sx, a.server, enc_req, enc_req_len, &pt));
	EXPECT(same(&pt, req, req_len));
	veil_writer_clear(&w);
	veil_writer_clear(&pt);

	EXPECT_OK(ohttp_response_encap_with(&sx, res, res_len, nonce, &w));
	EXPECT(same(&w, enc_res, enc_res_len));
	EXPECT_OK(veil_ohttp_response_decap(&cx, enc_res, enc_res_len, &pt));
	EXPECT(same(&pt, res, res_len));
	/* One response per request. */
	EXPECT_ERR(ohttp_response_encap_with(&sx, res, res_len, nonce, &w), VEIL_E_USAGE);

	veil_writer_clear(&w);
	veil_writer_clear(&pt);
	veil_ohttp_exchange_clear(&cx);
	veil_ohttp_exchange_clear(&sx);
	free(req);
	free(enc_req);
	free(res);
	free(enc_res);
	free(nonce);
	appx_clear(&a);
}

/* Client and server with fresh keys accepting all three AEADs. */
typedef struct pair {
	veil_ohttp_server *server;
	veil_ohttp_client client;
} pair;

static bool pair_init(pair *p, uint8_t key_id, uint16_t aead)
{
	static const veil_ohttp_sym all[] = {{1, 1}, {1, 2}, {1, 3}};
	veil_x25519_key key;
	veil_ohttp_keyconfig kc;

	memset(p, 0, sizeof *p);
	if (veil_ohttp_server_new(&p->server) != VEIL_OK ||
	    veil_x25519_key_generate(&key) != VEIL_OK ||
	    veil_ohttp_server_add_key(p->server, key_id, &key, all, 3) != VEIL_OK ||
	    veil_ohttp_server_config(p->server, key_id, &kc) != VEIL_OK ||
	    veil_ohttp_client_init(&p->client, &kc) != VEIL_OK)
		return false;
	p->client.suite.aead = aead;
	return true;
}

static void pair_clear(pair *p)
{
	veil_ohttp_server_free(p->server);
}

/* A whole round trip; returns false on any failure or mismatch. */
static bool round_trip(pair *p, const uint8_t *req, size_t req_len, const uint8_t *res,
		       size_t res_len)
{
	veil_ohttp_exchange cx = {0}, sx = {0};
	veil_writer w, pt;
	bool ok;

	veil_writer_init(&w, 1 << 22);
	veil_writer_init(&pt, 1 << 22);
	ok = veil_ohttp_request_encap(&cx, &p->client, req, req_len, &w) == VEIL_OK &&
	     veil_ohttp_request_decap(&sx, p->server, w.data, w.len, &pt) == VEIL_OK &&
	     same(&pt, req, req_len);
	veil_writer_clear(&w);
	veil_writer_clear(&pt);
	ok = ok && veil_ohttp_response_encap(&sx, res, res_len, &w) == VEIL_OK &&
	     veil_ohttp_response_decap(&cx, w.data, w.len, &pt) == VEIL_OK &&
	     same(&pt, res, res_len);
	veil_writer_clear(&w);
	veil_writer_clear(&pt);
	veil_ohttp_exchange_clear(&cx);
	veil_ohttp_exchange_clear(&sx);
	return ok;
}

TEST(round_trips_every_aead)
{
	static const uint16_t aeads[] = {1, 2, 3};
	uint8_t big[70000];

	for (size_t i = 0; i < sizeof big; i++)
		big[i] = (uint8_t)(i * 7);
	for (size_t i = 0; i < 3; i++) {
		pair p;
		REQUIRE(pair_init(&p, (uint8_t)(10 + i), aeads[i]));
		EXPECT(round_trip(&p, (const uint8_t *)"q", 1, (const uint8_t *)"a", 1));
		EXPECT(round_trip(&p, NULL, 0, NULL, 0));
		EXPECT(round_trip(&p, big, sizeof big, big, 1000));
		pair_clear(&p);
	}
}

TEST(exchange_moves_to_another_owner)
{
	pair p;
	veil_ohttp_exchange cx = {0}, sx = {0}, moved = {0};
	static const veil_ohttp_exchange zero;
	veil_writer req, pt, res, ans;

	REQUIRE(pair_init(&p, 9, VEIL_AEAD_AES_256_GCM));
	veil_writer_init(&req, 1 << 16);
	veil_writer_init(&pt, 1 << 16);
	veil_writer_init(&res, 1 << 16);
	veil_writer_init(&ans, 1 << 16);
	REQUIRE(veil_ohttp_request_encap(&cx, &p.client, (const uint8_t *)"q", 1, &req) == VEIL_OK);
	REQUIRE(veil_ohttp_request_decap(&sx, p.server, req.data, req.len, &pt) == VEIL_OK);
	/* The server answers from the moved exchange; the old one is empty. */
	veil_ohttp_exchange_move(&moved, &sx);
	EXPECT(memcmp(&sx, &zero, sizeof sx) == 0);
	EXPECT_OK(veil_ohttp_response_encap(&moved, (const uint8_t *)"answer", 6, &res));
	EXPECT_OK(veil_ohttp_response_decap(&cx, res.data, res.len, &ans));
	EXPECT(ans.len == 6 && memcmp(ans.data, "answer", 6) == 0);
	veil_ohttp_exchange_clear(&sx); /* harmless on the emptied one */
	veil_ohttp_exchange_clear(&moved);
	veil_ohttp_exchange_clear(&cx);
	veil_writer_clear(&req);
	veil_writer_clear(&pt);
	veil_writer_clear(&res);
	veil_writer_clear(&ans);
	pair_clear(&p);
}

TEST(request_wrong_key_id_and_suite)
{
	pair p;
	veil_ohttp_exchange cx = {0}, sx = {0};
	veil_writer w, pt;
	static const veil_ohttp_sym only_chacha[] = {{1, 3}};
	veil_x25519_key k2;

	REQUIRE(pair_init(&p, 7, VEIL_AEAD_AES_256_GCM));
	veil_writer_init(&w, 1 << 20);
	veil_writer_init(&pt, 1 << 20);
	REQUIRE(veil_ohttp_request_encap(&cx, &p.client, (const uint8_t *)"hi", 2, &w) == VEIL_OK);
	/* Unknown key id. */
	w.data[0] = 8;
	EXPECT_ERR(veil_ohttp_request_decap(&sx, p.server, w.data, w.len, &pt), VEIL_E_NOT_FOUND);
	veil_ohttp_exchange_clear(&sx);
	w.data[0] = 7;
	/* A key that does not accept AES-256-GCM, under the same id. */
	EXPECT_OK(veil_ohttp_server_remove_key(p.server, 7));
	REQUIRE(veil_x25519_key_generate(&k2) == VEIL_OK);
	EXPECT_OK(veil_ohttp_server_add_key(p.server, 7, &k2, only_chacha, 1));
	EXPECT_ERR(veil_ohttp_request_decap(&sx, p.server, w.data, w.len, &pt), VEIL_E_UNSUPPORTED);
	veil_ohttp_exchange_clear(&sx);
	/* Unsupported KEM and AEAD ids in the header. */
	w.data[2] = 0x10;
	EXPECT_ERR(veil_ohttp_request_decap(&sx, p.server, w.data, w.len, &pt), VEIL_E_UNSUPPORTED);
	veil_ohttp_exchange_clear(&sx);
	EXPECT(pt.len == 0);
	veil_writer_clear(&w);
	veil_writer_clear(&pt);
	veil_ohttp_exchange_clear(&cx);
	pair_clear(&p);
}

TEST(request_every_byte_flipped_or_cut)
{
	pair p;
	veil_ohttp_exchange cx = {0};
	veil_writer w;
	size_t failures = 0;

	REQUIRE(pair_init(&p, 3, VEIL_AEAD_AES_256_GCM));
	veil_writer_init(&w, 1 << 20);
	REQUIRE(veil_ohttp_request_encap(&cx, &p.client, (const uint8_t *)"prompt", 6, &w) ==
		VEIL_OK);
	for (size_t i = 0; i < w.len; i++) {
		for (int bit = 0; bit < 8; bit += 3) {
			veil_ohttp_exchange sx = {0};
			veil_writer pt;
			veil_writer_init(&pt, 1 << 20);
			w.data[i] ^= (uint8_t)(1u << bit);
			if (veil_ohttp_request_decap(&sx, p.server, w.data, w.len, &pt) != VEIL_OK)
				failures++;
			EXPECT(pt.len == 0); /* nothing half-decrypted is left */
			w.data[i] ^= (uint8_t)(1u << bit);
			veil_ohttp_exchange_clear(&sx);
			veil_writer_clear(&pt);
		}
	}
	EXPECT(failures == w.len * 3);
	for (size_t n = 0; n < w.len; n++) {
		veil_ohttp_exchange sx = {0};
		veil_writer pt;
		veil_writer_init(&pt, 1 << 20);
		EXPECT(veil_ohttp_request_decap(&sx, p.server, w.data, n, &pt) != VEIL_OK);
		veil_ohttp_exchange_clear(&sx);
		veil_writer_clear(&pt);
	}
	veil_writer_clear(&w);
	veil_ohttp_exchange_clear(&cx);
	pair_clear(&p);
}

TEST(response_flipped_cut_or_for_another_request)
{
	pair p;
	veil_ohttp_exchange cx = {0}, sx = {0}, cx2 = {0}, sx2 = {0};
	veil_writer w, pt, res;

	REQUIRE(pair_init(&p, 3, VEIL_AEAD_CHACHA20_POLY1305));
	veil_writer_init(&w, 1 << 20);
	veil_writer_init(&pt, 1 << 20);
	veil_writer_init(&res, 1 << 20);
	REQUIRE(veil_ohttp_request_encap(&cx, &p.client, (const uint8_t *)"q1", 2, &w) == VEIL_OK);
	REQUIRE(veil_ohttp_request_decap(&sx, p.server, w.data, w.len, &pt) == VEIL_OK);
	veil_writer_clear(&w);
	REQUIRE(veil_ohttp_request_encap(&cx2, &p.client, (const uint8_t *)"q2", 2, &w) == VEIL_OK);
	REQUIRE(veil_ohttp_request_decap(&sx2, p.server, w.data, w.len, &pt) == VEIL_OK);
	REQUIRE(veil_ohttp_response_encap(&sx, (const uint8_t *)"answer", 6, &res) == VEIL_OK);
	/* Each flipped position on an exchange of its own: a failed open ends
	 * the exchange it happened on. */
	for (size_t i = 0; i < res.len; i++) {
		veil_ohttp_exchange c = {0}, sv = {0};
		veil_writer req, got, out;
		veil_writer_init(&req, 1 << 20);
		veil_writer_init(&got, 1 << 20);
		veil_writer_init(&out, 1 << 20);
		REQUIRE(veil_ohttp_request_encap(&c, &p.client, (const uint8_t *)"q", 1, &req) ==
			VEIL_OK);
		REQUIRE(veil_ohttp_request_decap(&sv, p.server, req.data, req.len, &got) ==
			VEIL_OK);
		REQUIRE(veil_ohttp_response_encap(&sv, (const uint8_t *)"answer", 6, &out) ==
			VEIL_OK);
		out.data[i] ^= 0x01;
		EXPECT_ERR(veil_ohttp_response_decap(&c, out.data, out.len, &got), VEIL_E_VERIFY);
		EXPECT(got.len == 1); /* only the request's plaintext */
		/* Failed is final: the genuine response no longer opens either. */
		out.data[i] ^= 0x01;
		EXPECT_ERR(veil_ohttp_response_decap(&c, out.data, out.len, &got), VEIL_E_USAGE);
		veil_ohttp_exchange_clear(&c);
		veil_ohttp_exchange_clear(&sv);
		veil_writer_clear(&req);
		veil_writer_clear(&got);
		veil_writer_clear(&out);
	}
	{
		veil_writer out;
		veil_writer_init(&out, 1 << 20);
		/* Shorter than nonce and tag, and one byte short of whole. */
		EXPECT_ERR(veil_ohttp_response_decap(&cx, res.data, 40, &out), VEIL_E_TRUNCATED);
		EXPECT_ERR(veil_ohttp_response_decap(&cx2, res.data, res.len, &out),
			   VEIL_E_VERIFY); /* the other request's keys */
		veil_writer_clear(&out);
	}
	veil_writer_clear(&w);
	veil_writer_clear(&pt);
	veil_writer_clear(&res);
	veil_ohttp_exchange_clear(&cx);
	veil_ohttp_exchange_clear(&sx);
	veil_ohttp_exchange_clear(&cx2);
	veil_ohttp_exchange_clear(&sx2);
	pair_clear(&p);
}

/* Every failure is final: a request that did not decrypt gets no response,
 * and a chunked exchange whose request failed seals nothing more. */
TEST(failed_request_gets_no_response)
{
	pair p;
	veil_ohttp_exchange cx = {0}, sx = {0};
	veil_writer w, pt, out;

	REQUIRE(pair_init(&p, 4, VEIL_AEAD_AES_256_GCM));
	veil_writer_init(&w, 1 << 20);
	veil_writer_init(&pt, 1 << 20);
	veil_writer_init(&out, 1 << 20);
	REQUIRE(veil_ohttp_request_encap(&cx, &p.client, (const uint8_t *)"hi", 2, &w) == VEIL_OK);
	w.data[w.len - 1] ^= 1;
	EXPECT_ERR(veil_ohttp_request_decap(&sx, p.server, w.data, w.len, &pt), VEIL_E_VERIFY);
	EXPECT_ERR(veil_ohttp_response_encap(&sx, (const uint8_t *)"no", 2, &out), VEIL_E_USAGE);
	EXPECT(out.len == 0);
	veil_ohttp_exchange_clear(&cx);
	veil_ohttp_exchange_clear(&sx);
	veil_writer_clear(&w);
	veil_writer_clear(&pt);

	/* Chunked: header read, response begun, then a forged request chunk. */
	REQUIRE(veil_ohttp_chunked_request_begin(&cx, &p.client, &w) == VEIL_OK);
	REQUIRE(veil_ohttp_chunk_seal(&cx, (const uint8_t *)"abc", 3, false, &w) == VEIL_OK);
	REQUIRE(veil_ohttp_chunked_request_open(&sx, p.server) == VEIL_OK);
	REQUIRE(veil_ohttp_chunked_feed(&sx, w.data, VEIL_OHTTP_REQ_PREFIX, &pt) == VEIL_OK);
	REQUIRE(veil_ohttp_chunked_response_begin(&sx, &out) == VEIL_OK);
	w.data[w.len - 1] ^= 1;
	EXPECT_ERR(veil_ohttp_chunked_feed(&sx, w.data + VEIL_OHTTP_REQ_PREFIX,
					   w.len - VEIL_OHTTP_REQ_PREFIX, &pt),
		   VEIL_E_VERIFY);
	EXPECT_ERR(veil_ohttp_chunk_seal(&sx, (const uint8_t *)"x", 1, true, &out), VEIL_E_USAGE);
	veil_ohttp_exchange_clear(&cx);
	veil_ohttp_exchange_clear(&sx);
	veil_writer_clear(&w);
	veil_writer_clear(&pt);
	veil_writer_clear(&out);
	pair_clear(&p);
}

TEST(server_key_rotation)
{
	veil_ohttp_server *s;
	veil_ohttp_keyconfig list[4], kc1;
	veil_ohttp_client c1;
	veil_ohttp_exchange cx = {0}, sx = {0};
	veil_writer w, pt;
	size_t count;

	REQUIRE(veil_ohttp_server_new(&s) == VEIL_OK);
	EXPECT_ERR(veil_ohttp_server_config(s, 1, &kc1), VEIL_E_NOT_FOUND);
	veil_writer_init(&w, 1 << 20);
	veil_writer_init(&pt, 1 << 20);
	EXPECT_ERR(veil_ohttp_server_keys(s, &w), VEIL_E_NOT_FOUND);
	EXPECT_OK(veil_ohttp_server_generate_key(s, 1));
	EXPECT_ERR(veil_ohttp_server_generate_key(s, 1), VEIL_E_USAGE); /* id taken */
	EXPECT_OK(veil_ohttp_server_generate_key(s, 2));
	EXPECT_OK(veil_ohttp_server_keys(s, &w));
	EXPECT_OK(veil_ohttp_keys_parse(w.data, w.len, list, 4, &count));
	EXPECT(count == 2 && list[0].key_id == 1 && list[1].key_id == 2);
	EXPECT(list[0].suite_count == 2 && list[0].suites[0].aead == VEIL_AEAD_AES_256_GCM &&
	       list[0].suites[1].aead == VEIL_AEAD_CHACHA20_POLY1305);
	EXPECT(memcmp(list[0].pub, list[1].pub, 32) != 0);
	veil_writer_clear(&w);
	/* A request to key 1 works until key 1 is retired. */
	REQUIRE(veil_ohttp_server_config(s, 1, &kc1) == VEIL_OK);
	REQUIRE(veil_ohttp_client_init(&c1, &kc1) == VEIL_OK);
	EXPECT(c1.suite.aead == VEIL_AEAD_AES_256_GCM);
	REQUIRE(veil_ohttp_request_encap(&cx, &c1, (const uint8_t *)"x", 1, &w) == VEIL_OK);
	EXPECT_OK(veil_ohttp_request_decap(&sx, s, w.data, w.len, &pt));
	veil_ohttp_exchange_clear(&sx);
	EXPECT_OK(veil_ohttp_server_remove_key(s, 1));
	EXPECT_ERR(veil_ohttp_server_remove_key(s, 1), VEIL_E_NOT_FOUND);
	EXPECT_ERR(veil_ohttp_request_decap(&sx, s, w.data, w.len, &pt), VEIL_E_NOT_FOUND);
	veil_ohttp_exchange_clear(&sx);
	/* The table is bounded. */
	for (int i = 3; i < 3 + VEIL_OHTTP_KEYS_MAX - 1; i++)
		EXPECT_OK(veil_ohttp_server_generate_key(s, (uint8_t)i));
	EXPECT_ERR(veil_ohttp_server_generate_key(s, 200), VEIL_E_LIMIT);
	veil_writer_clear(&w);
	veil_writer_clear(&pt);
	veil_ohttp_exchange_clear(&cx);
	veil_ohttp_server_free(s);
}

/* A key configuration built from hex pieces. */
static uint8_t *cfg_bytes(const char *hex, size_t *len)
{
	return td_hex(hex, len);
}

#define PK32 "31e1f05a740102115220e9af918f738674aec95f54db6e04eb705aae8e798155"

TEST(key_config_negatives)
{
	static const struct {
		const char *hex;
		veil_err want;
	} cases[] = {
	    {"01002031e1", VEIL_E_TRUNCATED},
	    {"010010" PK32 "000400010001", VEIL_E_UNSUPPORTED},     /* P-256 KEM */
	    {"010020" PK32 "0000", VEIL_E_MALFORMED},               /* no suites */
	    {"010020" PK32 "000600010001000100", VEIL_E_MALFORMED}, /* not a multiple of 4 */
	    {"010020" PK32 "00080001000100", VEIL_E_TRUNCATED},
	    {"010020" PK32 "00040001000100", VEIL_E_TRAILING},
	    {"010020" PK32 "0044"
	     "00010001000100010001000100010001000100010001000100010001000100010001000100010001"
	     "00010001000100010001000100010001000100010001000100010001000100010001000100010001",
	     VEIL_E_LIMIT}, /* 17 suites */
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		size_t n;
		uint8_t *p = cfg_bytes(cases[i].hex, &n);
		veil_ohttp_keyconfig kc;
		EXPECT_ERR(veil_ohttp_keyconfig_parse(p, n, &kc), cases[i].want);
		free(p);
	}
}

TEST(ohttp_keys_lists)
{
	veil_ohttp_keyconfig list[4];
	size_t n, count;
	uint8_t *p;

	/* A P-256 configuration (skipped whole), then an X25519 one. */
	p = cfg_bytes("0009"
		      "05001000aabbcc0000"
		      "002d"
		      "010020" PK32 "000800010001"
		      "00010003",
		      &n);
	EXPECT_OK(veil_ohttp_keys_parse(p, n, list, 4, &count));
	EXPECT(count == 1 && list[0].key_id == 1);
	/* One byte more, one byte less: the whole body is rejected. */
	EXPECT(veil_ohttp_keys_parse(p, n - 1, list, 4, &count) != VEIL_OK && count == 0);
	free(p);
	p = cfg_bytes("002d"
		      "010020" PK32 "000800010001"
		      "00010003"
		      "00",
		      &n);
	EXPECT(veil_ohttp_keys_parse(p, n, list, 4, &count) != VEIL_OK && count == 0);
	free(p);
	/* A bad configuration after a good one rejects both (RFC 9458 3.2). */
	p = cfg_bytes("002d"
		      "010020" PK32 "000800010001"
		      "00010003"
		      "0025"
		      "020020" PK32 "0000",
		      &n);
	EXPECT_ERR(veil_ohttp_keys_parse(p, n, list, 4, &count), VEIL_E_MALFORMED);
	EXPECT(count == 0);
	free(p);
	/* Only suites Veil cannot use: nothing usable. */
	p = cfg_bytes("0029"
		      "010020" PK32 "00040003"
		      "0001",
		      &n);
	EXPECT_ERR(veil_ohttp_keys_parse(p, n, list, 4, &count), VEIL_E_UNSUPPORTED);
	free(p);
	EXPECT_ERR(veil_ohttp_keys_parse((const uint8_t *)"", 0, list, 4, &count),
		   VEIL_E_MALFORMED);
	/* More configurations than the cap. */
	{
		veil_writer w;
		veil_ohttp_keyconfig kc = {.key_id = 1, .kem = 0x20, .suite_count = 1};
		kc.suites[0] = (veil_ohttp_sym){1, 1};
		veil_writer_init(&w, 1 << 16);
		for (int i = 0; i <= VEIL_OHTTP_CONFIGS_MAX; i++)
			EXPECT_OK(veil_ohttp_keys_encode(&kc, 1, &w));
		EXPECT_ERR(veil_ohttp_keys_parse(w.data, w.len, list, 4, &count), VEIL_E_LIMIT);
		veil_writer_clear(&w);
	}
}

int main(void)
{
	RUN(appendix_a_key_config);
	RUN(appendix_a_request_and_response);
	RUN(round_trips_every_aead);
	RUN(exchange_moves_to_another_owner);
	RUN(request_wrong_key_id_and_suite);
	RUN(request_every_byte_flipped_or_cut);
	RUN(response_flipped_cut_or_for_another_request);
	RUN(failed_request_gets_no_response);
	RUN(server_key_rotation);
	RUN(key_config_negatives);
	RUN(ohttp_keys_lists);
	return harness_finish("test_ohttp");
}
