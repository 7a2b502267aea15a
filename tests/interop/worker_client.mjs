// worker_client.mjs - a running veil-worker driven by independent clients:
// the official `openai` package, Node's fetch, `jose` for the receipts, and
// for Oblivious HTTP the node implementation in ohttp_node.mjs (RFC 9458,
// draft-ietf-ohai-chunked-ohttp-08) with Binary HTTP from bhttp-js.
//
//   node tests/interop/worker_client.mjs WORKER_URL   (http://127.0.0.1:PORT)
//
// What it checks (docs/worker.md, docs/receipt.md):
//   1. evidence: the published bundle, its runtime data and the OHTTP keys
//      agree; fresh bundles answer the nonce and bind the same keys;
//   2. the openai client: models, chat and legacy completions, whole and
//      streamed, and the errors it maps to its own classes;
//   3. receipts: every one verifies with the bundle's tee-pubkey, and says
//      the worker, model, evidence, request and response digests, usage and
//      mode of the exchange it came with; a tampered body or receipt fails;
//   4. OHTTP, whole: both AEADs, on /v1/ohttp and on the API path, inner
//      GET /v1/models, an inner error that stays encrypted;
//   5. OHTTP, chunked: a streamed chat opened chunk by chunk as it arrives;
//   6. OHTTP refusals: garbage, an unknown key id, a flipped byte;
//   7. plain refusals: malformed JSON (with its receipt), 404, 405.
// Verifying the bundle's signature is tests/cli/worker.sh's job (veil verify).
// Prints "ok NAME" or "FAIL NAME: why" for each check, then a "#" summary;
// exits 1 if any check failed.

import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { BHttpDecoder, BHttpEncoder } from "bhttp-js";
import * as jose from "jose";
import OpenAI from "openai";
import { check, crashed, finish } from "./harness.mjs";
import * as ohttp from "./ohttp_node.mjs";
import {
	AES_256_GCM, assertDigest, assertStream, assertUsage, CHACHA20_POLY1305, CHAT, chatText,
	chunkedExchange, completionText, decodeIndeterminateResponse, expectProblem, expectStatus, http,
	IAT_SLACK_S, innerRequest, isFinish, json, need, ohttpExchange, post, sha256, short, sseChunks,
	sseEvents, td, te, TIMEOUT_MS, verifyReceipt, W,
} from "./worker_lib.mjs";

const BASE = process.argv[2]?.replace(/\/+$/, "");
if (!BASE) {
	console.error("usage: node worker_client.mjs WORKER_URL");
	process.exit(2);
}
W.base = BASE;
const OHTTP_KEY_PROBLEM = "https://iana.org/assignments/http-problem-types#ohttp-key";

// --- The openai client, with a fetch that keeps the bytes on the wire ---

// The openai client's exchanges: the request body it sent, and for a whole
// JSON response the body it got (a clone read beside the client's own).
const exchanges = [];
async function recordingFetch(url, init) {
	const b = init?.body;
	const ex = { request: typeof b === "string" ? te.encode(b) : b instanceof Uint8Array ? b : null };
	exchanges.push(ex);
	const res = await fetch(url, init);
	if (res.headers.get("content-type") === "application/json")
		ex.response = res.clone().arrayBuffer().then((a) => new Uint8Array(a));
	return res;
}

// The openai client's last exchange, as it went over the wire.
async function lastExchange() {
	const ex = exchanges[exchanges.length - 1];
	assert.ok(ex?.request, "the openai client's request body was not a string or bytes");
	return { request: ex.request, response: ex.response ? await ex.response : null };
}

const client = new OpenAI({
	baseURL: `${BASE}/v1`,
	apiKey: "unused",
	maxRetries: 0,
	timeout: TIMEOUT_MS,
	fetch: recordingFetch,
});

// --- 1. Evidence ---

// GET /v1/attestation?nonce=: fresh evidence is rate-limited (docs/worker.md
// "Evidence"), and the caller may just have spent the allowance, so a 429
// is waited out as its Retry-After says, a few times.
async function freshBundle(nonce) {
	for (let i = 0; ; i++) {
		const r = await http(`/v1/attestation?nonce=${nonce}`);
		if (r.status !== 429 || i === 3) return r;
		const wait = Number(r.headers.get("retry-after"));
		assert.ok(Number.isInteger(wait) && wait >= 0 && wait <= 10, `429 with Retry-After ${wait}`);
		await new Promise((resolve) => setTimeout(resolve, wait * 1000 + 100));
	}
}

async function checkEvidence() {
	await check("1. GET /v1/attestation is a bundle with the worker's runtime data", async () => {
		const r = await http("/v1/attestation");
		expectStatus(r, 200, "application/json");
		const b = json(r);
		const rd = b.runtime_data;
		assert.ok(rd && typeof rd === "object", "no runtime_data");
		assert.match(rd.nonce, /^[0-9a-f]{64}$/, "runtime_data.nonce");
		const k = rd["tee-pubkey"];
		assert.ok(k && k.kty === "EC" && k.crv === "P-256", "tee-pubkey is not an EC P-256 JWK");
		assert.equal(k.d, undefined, "tee-pubkey holds the private key");
		const vw = rd["veil-worker"];
		assert.ok(vw && typeof vw === "object", "no runtime_data[\"veil-worker\"]");
		assert.deepEqual(Object.keys(vw).sort(),
			["engine", "id", "model", "model-sha256", "ohttp-keys", "started"]);
		assert.ok(typeof vw.id === "string" && vw.id.length > 0, "id");
		assert.ok(typeof vw.model === "string" && vw.model.length > 0, "model");
		assert.match(vw["model-sha256"], /^[0-9a-f]{64}$/, "model-sha256");
		assert.match(vw["ohttp-keys"], /^[A-Za-z0-9+/]+=*$/, "ohttp-keys is not base64");
		assert.ok(["builtin", "upstream"].includes(vw.engine), `engine ${vw.engine}`);
		assert.ok(Number.isInteger(vw.started) && vw.started <= Date.now() / 1000 + IAT_SLACK_S,
			"started");
		W.bundleBytes = r.bytes;
		W.evidenceSha256 = sha256(r.bytes);
		W.jwk = k;
		W.worker = vw;
		W.key = await jose.importJWK(k, "ES256");
		W.kid = await jose.calculateJwkThumbprint(k);
	});

	await check("1. /.well-known/ohttp-keys is application/ohttp-keys, as attested", async () => {
		assert.ok(W.worker, "no bundle");
		const r = await http("/.well-known/ohttp-keys");
		expectStatus(r, 200, "application/ohttp-keys");
		assert.deepEqual(Buffer.from(r.bytes), Buffer.from(W.worker["ohttp-keys"], "base64"),
			"the served keys differ from the attested ones");
		const configs = ohttp.parseKeys(r.bytes);
		assert.ok(configs.length >= 1, "no key configuration");
		// DESIGN.md section 5: AES-256-GCM, with ChaCha20-Poly1305 as a second AEAD.
		const aeads = configs[0].suites.map((s) => s.aead);
		for (const a of [AES_256_GCM, CHACHA20_POLY1305])
			assert.ok(aeads.includes(a), `AEAD ${a} is not offered (${aeads})`);
		W.config = configs[0];
	});

	await check("1. the published bundle is the same bytes each time", async () => {
		assert.ok(W.bundleBytes, "no bundle");
		const r = await http("/v1/attestation");
		expectStatus(r, 200);
		assert.equal(sha256(r.bytes), W.evidenceSha256, "a second GET gave other bytes");
	});

	const fresh = [];
	await check("1. ?nonce= gives a fresh bundle for that nonce with the same keys", async () => {
		assert.ok(W.worker, "no bundle");
		for (let i = 0; i < 2; i++) {
			const nonce = randomBytes(32).toString("hex");
			const r = await freshBundle(nonce);
			expectStatus(r, 200, "application/json");
			const rd = json(r).runtime_data;
			assert.equal(rd.nonce, nonce, "runtime_data.nonce is not the nonce asked for");
			assert.deepEqual(rd["tee-pubkey"], W.jwk, "another tee-pubkey");
			assert.equal(rd["veil-worker"]["ohttp-keys"], W.worker["ohttp-keys"], "other ohttp-keys");
			assert.deepEqual({ ...rd["veil-worker"] }, W.worker, "other veil-worker data");
			fresh.push(sha256(r.bytes));
		}
	});

	await check("1. two nonces give two different bundles, neither the published one", async () => {
		assert.equal(fresh.length, 2, "no fresh bundles");
		assert.notEqual(fresh[0], fresh[1]);
		assert.ok(!fresh.includes(W.evidenceSha256), "a fresh bundle is the published one");
	});

	await check("1. a nonce that is not 8 to 64 bytes of hex is refused with 400", async () => {
		const bad = ["nonce=xyz0123456789abcdef", "nonce=0123456789abcdef0", "nonce=00",
			`nonce=${"ab".repeat(65)}`, "other=1"];
		for (const q of bad) {
			const r = await http(`/v1/attestation?${q}`);
			expectStatus(r, 400);
			assert.equal(json(r).error?.type, "invalid_request_error", `?${q}: error type`);
		}
	});
}

// --- 2. The openai client ---

async function checkOpenAI() {
	await check("2. openai models.list() lists the attested model", async () => {
		need();
		const models = [];
		for await (const m of client.models.list()) models.push(m);
		assert.deepEqual(models.map((m) => m.id), [W.worker.model]);
		assert.equal(models[0].object, "model");
	});

	let first;
	await check("2. openai chat.completions.create, whole, with its X-Veil-Receipt", async () => {
		need();
		const { data, response } = await client.chat.completions
			.create({ model: W.worker.model, ...CHAT })
			.withResponse();
		assert.equal(data.object, "chat.completion");
		assert.match(data.id, /^chatcmpl-/);
		assert.equal(data.model, W.worker.model);
		assert.equal(data.choices.length, 1);
		const c = data.choices[0];
		assert.equal(c.message.role, "assistant");
		assert.equal(typeof c.message.content, "string");
		assert.ok(isFinish(c.finish_reason), `finish_reason ${c.finish_reason}`);
		assertUsage(data.usage, CHAT.max_tokens);
		const ex = await lastExchange();
		await verifyReceipt(response.headers.get("x-veil-receipt"), {
			id: data.id, ...ex, usage: data.usage, stream: false, ohttp: false,
		});
		first = c.message.content;
	});

	await check("2. openai: the same request at temperature 0 gives the same content", async () => {
		assert.equal(typeof first, "string", "no first answer");
		const again = await client.chat.completions.create({ model: W.worker.model, ...CHAT });
		assert.equal(again.choices[0].message.content, first);
	});

	await check("2. openai chat stream: role, pieces, one finish, usage, receipt", async () => {
		need();
		const stream = await client.chat.completions.create({
			model: W.worker.model, ...CHAT, stream: true, stream_options: { include_usage: true },
		});
		const chunks = [];
		for await (const c of stream) chunks.push(c);
		const s = assertStream(chunks, chatText, true);
		assert.equal(s.content, first, "the stream says other text than the whole response");
		const { request } = await lastExchange();
		await verifyReceipt(s.receipt, {
			id: s.id, request, response: s.content, usage: s.usage, stream: true, ohttp: false,
		});
	});

	await check("2. openai completions.create (legacy), whole", async () => {
		need();
		const { data, response } = await client.completions
			.create({ model: W.worker.model, prompt: "Once upon a time", max_tokens: 8, temperature: 0 })
			.withResponse();
		assert.equal(data.object, "text_completion");
		assert.match(data.id, /^cmpl-/);
		assert.equal(typeof data.choices[0].text, "string");
		assert.ok(isFinish(data.choices[0].finish_reason), "finish_reason");
		assertUsage(data.usage, 8);
		const ex = await lastExchange();
		await verifyReceipt(response.headers.get("x-veil-receipt"), {
			id: data.id, ...ex, usage: data.usage, stream: false, ohttp: false,
		});
	});

	await check("2. openai completions.create (legacy), stream", async () => {
		need();
		const stream = await client.completions.create({
			model: W.worker.model, prompt: "Once upon a time", max_tokens: 8, temperature: 0,
			stream: true, stream_options: { include_usage: true },
		});
		const chunks = [];
		for await (const c of stream) chunks.push(c);
		const s = assertStream(chunks, completionText, false);
		const { request } = await lastExchange();
		await verifyReceipt(s.receipt, {
			id: s.id, request, response: s.content, usage: s.usage, stream: true, ohttp: false,
		});
	});

	await check("2. openai: temperature 5 raises BadRequestError 400, param temperature", async () => {
		need();
		const bad = { model: W.worker.model, ...CHAT, temperature: 5 };
		await assert.rejects(client.chat.completions.create(bad), (e) => {
			assert.ok(e instanceof OpenAI.BadRequestError, `${e.constructor.name}: ${e.message}`);
			assert.equal(e.status, 400);
			assert.equal(e.param, "temperature");
			assert.equal(e.type, "invalid_request_error");
			return true;
		});
	});

	await check("2. openai: another model raises NotFoundError 404", async () => {
		need();
		const bad = { ...CHAT, model: `${W.worker.model}-not-here` };
		await assert.rejects(client.chat.completions.create(bad), (e) => {
			assert.ok(e instanceof OpenAI.NotFoundError, `${e.constructor.name}: ${e.message}`);
			assert.equal(e.status, 404);
			assert.equal(e.param, "model");
			return true;
		});
	});
}

// --- 3. Receipts over exact bytes ---

// A chat request body written out by hand, so its bytes are known.
function chatBody(extra = {}) {
	return JSON.stringify({ model: W.worker.model, ...CHAT, ...extra });
}

// A streamed response read whole with fetch: its chunks and the receipt's
// checks; text reads a chunk's piece of content.
async function plainStream(path, body, text, chat) {
	const r = await post(path, body);
	expectStatus(r, 200, "text/event-stream");
	assert.equal(r.headers.get("x-veil-receipt"), null, "a stream has its receipt in the last chunk");
	const s = assertStream(sseChunks(td.decode(r.bytes)), text, chat);
	await verifyReceipt(s.receipt, {
		id: s.id, request: body, response: s.content, usage: s.usage, stream: true, ohttp: false,
	});
	return s;
}

async function checkReceipts() {
	let whole;
	await check("3. chat, whole: the receipt names the exact request and response bytes", async () => {
		need();
		const body = chatBody();
		const r = await post("/v1/chat/completions", body);
		expectStatus(r, 200, "application/json");
		const j = json(r);
		await verifyReceipt(r.headers.get("x-veil-receipt"), {
			id: j.id, request: body, response: r.bytes, usage: j.usage, stream: false, ohttp: false,
		});
		whole = { body, r };
	});

	await check("3. a receipt checked against a body with one byte changed fails", async () => {
		assert.ok(whole, "no whole response");
		const jws = whole.r.headers.get("x-veil-receipt");
		const p = JSON.parse(td.decode(jose.base64url.decode(jws.split(".")[1])));
		const response = Uint8Array.from(whole.r.bytes);
		response[response.length >> 1] ^= 0x01;
		assert.throws(() => assertDigest(p, "response", response), /response_sha256/);
		const request = te.encode(whole.body);
		request[request.length >> 1] ^= 0x01;
		assert.throws(() => assertDigest(p, "request", request), /request_sha256/);
		// And the untouched bytes pass, so the comparison itself is sound.
		assertDigest(p, "response", whole.r.bytes);
		assertDigest(p, "request", whole.body);
	});

	await check("3. a receipt with a changed payload or under another key does not verify", async () => {
		assert.ok(whole, "no whole response");
		const jws = whole.r.headers.get("x-veil-receipt");
		const [h, p, s] = jws.split(".");
		const payload = JSON.parse(td.decode(jose.base64url.decode(p)));
		payload.usage.completion_tokens += 1;
		payload.usage.total_tokens += 1;
		const forged = `${h}.${jose.base64url.encode(JSON.stringify(payload))}.${s}`;
		await assert.rejects(jose.compactVerify(forged, W.key, { algorithms: ["ES256"] }),
			jose.errors.JWSSignatureVerificationFailed);
		const other = await jose.generateKeyPair("ES256");
		await assert.rejects(jose.compactVerify(jws, other.publicKey, { algorithms: ["ES256"] }),
			jose.errors.JWSSignatureVerificationFailed);
	});

	await check("3. chat stream: response_sha256 is the SHA-256 of the content deltas", async () => {
		need();
		await plainStream("/v1/chat/completions",
			chatBody({ stream: true, stream_options: { include_usage: true } }), chatText, true);
	});

	await check("3. chat stream without include_usage: the finish chunk carries the receipt", async () => {
		need();
		const body = chatBody({ stream: true });
		const r = await post("/v1/chat/completions", body);
		expectStatus(r, 200, "text/event-stream");
		const chunks = sseChunks(td.decode(r.bytes));
		const last = chunks[chunks.length - 1];
		assert.ok(isFinish(last.choices[0]?.finish_reason), "the last chunk has no finish_reason");
		assert.equal(chunks.filter((c) => c.veil_receipt !== undefined).length, 1, "receipts");
		const content = chunks.map(chatText).join("");
		await verifyReceipt(last.veil_receipt, {
			id: last.id, request: body, response: content, usage: null, stream: true, ohttp: false,
		});
	});

	await check("3. legacy completion, whole and stream: the receipts name their bytes", async () => {
		need();
		const req = { model: W.worker.model, prompt: "The sky is", max_tokens: 6, temperature: 0 };
		const body = JSON.stringify(req);
		const r = await post("/v1/completions", body);
		expectStatus(r, 200, "application/json");
		const j = json(r);
		assert.equal(j.object, "text_completion");
		await verifyReceipt(r.headers.get("x-veil-receipt"), {
			id: j.id, request: body, response: r.bytes, usage: j.usage, stream: false, ohttp: false,
		});
		const sbody = JSON.stringify({ ...req, stream: true, stream_options: { include_usage: true } });
		const s = await plainStream("/v1/completions", sbody, completionText, false);
		assert.equal(s.content, j.choices[0].text, "the stream says other text than the whole response");
	});

	await check("3. GET /v1/models: the receipt names the empty request and the list", async () => {
		need();
		const r = await http("/v1/models");
		expectStatus(r, 200, "application/json");
		await verifyReceipt(r.headers.get("x-veil-receipt"), {
			request: new Uint8Array(0), response: r.bytes, stream: false, ohttp: false,
		});
	});
}

// --- 4. OHTTP, whole (RFC 9458) ---

// An encapsulated chat completion: inner 200 JSON whose receipt says ohttp.
async function ohttpChat(path, aead) {
	const body = chatBody();
	const { inner, bytes } = await ohttpExchange(path,
		await innerRequest("POST", "/v1/chat/completions", body), aead);
	assert.equal(inner.status, 200, `inner status ${inner.status}: ${short(bytes)}`);
	assert.equal(inner.headers.get("content-type"), "application/json", "inner content-type");
	const j = JSON.parse(td.decode(bytes));
	assert.equal(j.object, "chat.completion");
	assert.equal(j.choices[0].message.role, "assistant");
	assertUsage(j.usage, CHAT.max_tokens);
	await verifyReceipt(inner.headers.get("x-veil-receipt"), {
		id: j.id, request: body, response: bytes, usage: j.usage, stream: false, ohttp: true,
	});
	return j;
}

async function checkOhttpWhole() {
	const answers = [];
	for (const aead of [AES_256_GCM, CHACHA20_POLY1305]) {
		const name = ohttp.AEADS[aead].name;
		await check(`4. OHTTP ${name}: POST /v1/ohttp, inner chat completion and receipt`, async () => {
			answers.push((await ohttpChat("/v1/ohttp", aead)).choices[0].message.content);
		});
	}

	await check("4. OHTTP: message/ohttp-req is accepted on /v1/chat/completions too", async () => {
		const j = await ohttpChat("/v1/chat/completions", AES_256_GCM);
		answers.push(j.choices[0].message.content);
		assert.equal(answers.length, 3, "an earlier OHTTP check failed");
		assert.ok(answers.every((a) => a === answers[0]), "temperature 0 gave different answers");
	});

	await check("4. OHTTP: inner GET /v1/models", async () => {
		const bhttp = await innerRequest("GET", "/v1/models");
		const { inner, bytes } = await ohttpExchange("/v1/ohttp", bhttp);
		assert.equal(inner.status, 200, `inner status ${inner.status}: ${short(bytes)}`);
		const j = JSON.parse(td.decode(bytes));
		assert.deepEqual(j.data.map((m) => m.id), [W.worker.model]);
		await verifyReceipt(inner.headers.get("x-veil-receipt"), {
			request: new Uint8Array(0), response: bytes, stream: false, ohttp: true,
		});
	});

	await check("4. OHTTP: an inner request with bad JSON is an encrypted inner 400", async () => {
		const body = '{"model": "x", "messages": [';
		const { inner, bytes } = await ohttpExchange("/v1/ohttp",
			await innerRequest("POST", "/v1/chat/completions", body), CHACHA20_POLY1305);
		assert.equal(inner.status, 400, `inner status ${inner.status}: ${short(bytes)}`);
		assert.equal(inner.headers.get("content-type"), "application/json", "inner content-type");
		const e = JSON.parse(td.decode(bytes)).error;
		assert.equal(typeof e?.message, "string", "no error.message");
		assert.equal(e.type, "invalid_request_error");
		await verifyReceipt(inner.headers.get("x-veil-receipt"), {
			request: body, response: bytes, stream: false, ohttp: true,
		});
	});

	await check("4. OHTTP: an encapsulated response instead of a request is an inner 400", async () => {
		// A BHTTP response decodes as a message but is not a request; its
		// bytes (with 64 KiB of content) are what the receipt names.
		const bhttp = await new BHttpEncoder().encodeResponse(
			new Response("x".repeat(65536), { status: 200 }));
		const { inner, bytes } = await ohttpExchange("/v1/ohttp", bhttp);
		assert.equal(inner.status, 400, `inner status ${inner.status}: ${short(bytes)}`);
		assert.equal(JSON.parse(td.decode(bytes)).error?.code, "bad_bhttp", "error code");
		await verifyReceipt(inner.headers.get("x-veil-receipt"), {
			request: bhttp, response: bytes, stream: false, ohttp: true,
		});
	});

	await check("4. OHTTP whole with stream: true: the inner SSE comes sealed whole", async () => {
		const body = chatBody({ stream: true, stream_options: { include_usage: true } });
		const { inner, bytes } = await ohttpExchange("/v1/ohttp",
			await innerRequest("POST", "/v1/chat/completions", body));
		assert.equal(inner.status, 200, `inner status ${inner.status}: ${short(bytes)}`);
		assert.equal(inner.headers.get("content-type"), "text/event-stream", "inner content-type");
		const s = assertStream(sseChunks(td.decode(bytes)), chatText, true);
		await verifyReceipt(s.receipt, {
			id: s.id, request: body, response: s.content, usage: s.usage, stream: true, ohttp: true,
		});
	});
}

// --- 5. OHTTP, chunked and streamed (draft-ietf-ohai-chunked-ohttp) ---

// A streamed chat through chunked OHTTP, its inner response decoded both by
// hand and by bhttp-js; returns the exchange and the stream's summary.
async function chunkedChat(aead, maxTokens) {
	const stream = { stream: true, stream_options: { include_usage: true } };
	const body = chatBody({ max_tokens: maxTokens, ...stream });
	const x = await chunkedExchange(aead, await innerRequest("POST", "/v1/chat/completions", body));
	const m = decodeIndeterminateResponse(x.plaintext);
	assert.equal(m.status, 200, `inner status ${m.status}: ${short(m.content)}`);
	// RFC 9110 section 5.1: field names compare without regard to case.
	const header = new Headers(m.header);
	assert.equal(header.get("content-type"), "text/event-stream", "inner content-type");
	assert.deepEqual(m.trailer, [], "trailer");
	const res = new BHttpDecoder().decodeResponse(x.plaintext);
	assert.equal(res.status, 200, "bhttp-js reads another status");
	assert.deepEqual(Buffer.from(await res.arrayBuffer()), Buffer.from(m.content),
		"bhttp-js reads other content");
	const text = td.decode(m.content);
	const s = assertStream(sseChunks(text), chatText, true, maxTokens);
	await verifyReceipt(s.receipt, {
		id: s.id, request: body, response: s.content, usage: s.usage, stream: true, ohttp: true,
	});
	return { x, m, s, events: sseEvents(text).length };
}

async function checkOhttpChunked() {
	for (const aead of [AES_256_GCM, CHACHA20_POLY1305]) {
		const name = ohttp.AEADS[aead].name;
		await check(`5. chunked OHTTP ${name}: a streamed chat, piece by piece`, async () => {
			const { x, m, events } = await chunkedChat(aead, CHAT.max_tokens);
			// Each SSE event went out as a piece of its own: one BHTTP content
			// chunk and one OHTTP chunk each (the head rides with the first),
			// plus the final chunk with the content terminator.
			assert.ok(m.chunks >= events, `${m.chunks} content chunks for ${events} events`);
			assert.ok(x.chunks >= events + 1, `${x.chunks} OHTTP chunks for ${events} events`);
		});
	}

	// Whether a stream arrives in more than one network read is a matter of
	// timing: a fast model on loopback can finish before the client reads at
	// all. A longer answer, tried up to three times, makes it near certain
	// that some chunk opens before the body ends, as a streaming client needs.
	await check("5. chunked OHTTP: chunks open as they arrive, before the body ends", async () => {
		const tries = [];
		for (let i = 0; i < 3; i++) {
			const { x } = await chunkedChat(AES_256_GCM, 128);
			tries.push(`${x.reads} reads, ${x.openBeforeLast} bytes open before the last`);
			if (x.reads >= 2 && x.openBeforeLast > 0) return;
		}
		assert.fail(`nothing opened before the body ended: ${tries.join("; ")}`);
	});

	await check("5. chunked OHTTP: a whole (non-stream) inner answer in the chunked form", async () => {
		const body = chatBody();
		const bhttp = await innerRequest("POST", "/v1/chat/completions", body);
		const x = await chunkedExchange(AES_256_GCM, bhttp);
		const m = decodeIndeterminateResponse(x.plaintext);
		assert.equal(m.status, 200, `inner status ${m.status}: ${short(m.content)}`);
		const header = new Headers(m.header);
		assert.equal(header.get("content-type"), "application/json", "inner content-type");
		const j = JSON.parse(td.decode(m.content));
		assert.equal(j.object, "chat.completion");
		await verifyReceipt(header.get("x-veil-receipt"), {
			id: j.id, request: body, response: m.content, usage: j.usage, stream: false, ohttp: true,
		});
	});
}

// --- 6. OHTTP refusals (RFC 9458 section 5.2) ---

async function checkOhttpRefusals() {
	const bhttp = async () => innerRequest("POST", "/v1/chat/completions", chatBody());

	await check("6. OHTTP: a garbage body is a plain 400 problem", async () => {
		for (const path of ["/v1/ohttp", "/v1/chat/completions"]) {
			const r = await post(path, randomBytes(80), "message/ohttp-req");
			expectStatus(r, 400, "application/problem+json");
		}
	});

	await check("6. OHTTP: an unknown key id is 400 with the ohttp-key problem type", async () => {
		need();
		const { message } = await ohttp.encapRequest(W.config, AES_256_GCM, await bhttp(),
			(W.config.keyId + 1) & 0xff);
		expectProblem(await post("/v1/ohttp", message, "message/ohttp-req"), OHTTP_KEY_PROBLEM);
	});

	await check("6. OHTTP: a flipped ciphertext byte is 400, not the key problem", async () => {
		need();
		const { message } = await ohttp.encapRequest(W.config, AES_256_GCM, await bhttp());
		const bad = Uint8Array.from(message);
		bad[bad.length - 20] ^= 0x40;
		const r = await post("/v1/ohttp", bad, "message/ohttp-req");
		expectStatus(r, 400, "application/problem+json");
		assert.notEqual(json(r).type, OHTTP_KEY_PROBLEM, "a decryption failure is not a key problem");
	});

	await check("6. chunked OHTTP: a request without its final chunk is 400", async () => {
		need();
		const req = await bhttp();
		const { prefix, chunks } = await ohttp.encapChunkedRequest(W.config, AES_256_GCM, req, 32);
		assert.ok(chunks.length >= 2, "too few chunks to cut");
		const cut = ohttp.concat(prefix, ohttp.frameChunks(chunks.slice(0, -1)));
		const r = await post("/v1/ohttp", cut, "message/ohttp-chunked-req");
		expectStatus(r, 400, "application/problem+json");
	});

	await check("6. OHTTP: /v1/ohttp refuses other media types with 415", async () => {
		const r = await post("/v1/ohttp", chatBody(), "application/json");
		expectStatus(r, 415);
	});

	await check("6. OHTTP: after the refusals a good request still works", async () => {
		await ohttpChat("/v1/ohttp", AES_256_GCM);
	});
}

// --- 7. Plain refusals ---

async function checkPlainRefusals() {
	await check("7. malformed JSON is 400 invalid_request_error, with a receipt", async () => {
		need();
		const body = '{"model": "x", "messages": [';
		const r = await post("/v1/chat/completions", body);
		expectStatus(r, 400, "application/json");
		const e = json(r).error;
		assert.equal(typeof e?.message, "string", "no error.message");
		assert.equal(e.type, "invalid_request_error");
		await verifyReceipt(r.headers.get("x-veil-receipt"), {
			request: body, response: r.bytes, stream: false, ohttp: false,
		});
	});

	await check("7. an unknown route is 404", async () => {
		expectStatus(await http("/v1/nothing-here"), 404);
		expectStatus(await post("/v1/embeddings", "{}"), 404);
	});

	await check("7. GET /v1/chat/completions is 405", async () => {
		expectStatus(await http("/v1/chat/completions"), 405);
	});

	await check("7. a body over 1 MiB is 413", async () => {
		const body = `{"prompt":"${"a".repeat(1024 * 1024)}"}`;
		expectStatus(await post("/v1/completions", body), 413);
	});
}

async function main() {
	await checkEvidence();
	await checkOpenAI();
	await checkReceipts();
	await checkOhttpWhole();
	await checkOhttpChunked();
	await checkOhttpRefusals();
	await checkPlainRefusals();
	finish();
}

main().catch(crashed("worker_client.mjs"));
