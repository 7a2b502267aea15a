// gateway_client.mjs - a running veil-gateway, with its workers, driven by
// independent clients: the official `openai` package, Node's fetch, `jose`
// for receipts and signed tree heads, the Oblivious HTTP of ohttp_node.mjs
// with Binary HTTP from bhttp-js, and the RFC 9162 Merkle tree of
// gateway_lib.mjs for the transparency log.
//
//   node tests/interop/gateway_client.mjs GATEWAY_URL STH_KEY_FILE API_KEY [PLAIN_ID CONF_ID...]
//
//   GATEWAY_URL   http://127.0.0.1:PORT
//   STH_KEY_FILE  the JWK of the log's key, as veil-gateway --sth-key holds
//                 it (private members are ignored): the client's trust
//                 anchor for the tree heads
//   API_KEY       the API key the requests carry (veil gateway key create),
//                 or - for a gateway without --accounts
//   PLAIN_ID      the id the gateway gives its one plain worker (plain-1)
//   CONF_ID...    the ids of the admitted workers, two or more; without
//                 these, plain-1 wk-a wk-b
//
// The gateway must serve one model from all of them, the plain worker
// included, and re-attest its workers every few seconds (--reattest 2 to
// 5), so that the log grows while the program waits for it.
//
// What it checks (docs/gateway.md, docs/gateway-log-api.md):
//   1. models and workers: the openai client's model list, the attestation
//      list and the fresh-evidence relay;
//   2. the openai client through the gateway: chat and legacy completions,
//      whole and streamed, X-Veil-Worker, confidential routing and its
//      balance over the admitted workers;
//   3. receipts: they verify under the key of the worker that served and
//      name the bytes the client sent and got through the gateway;
//   4. OHTTP: routed by key id to the worker holding the key, opened with
//      the client's context, whole and chunked; an unknown key id;
//   5. the confidentiality header: its values and its two names;
//   6. the transparency log: the head, every entry, every proof, growth;
//   7. bad input, and with an API key the requests without it.
// Prints "ok NAME" or "FAIL NAME: why" for each check, then a "#" summary;
// exits 1 if any check failed, 2 on bad arguments.

import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { BHttpDecoder } from "bhttp-js";
import * as jose from "jose";
import OpenAI from "openai";
import { check, crashed, finish } from "./harness.mjs";
import * as ohttp from "./ohttp_node.mjs";
import {
	AUTH, b64uHash, chunkedPost, eqBytes, fetchEntries, fetchSth, leafHash, MerkleTree, ohttpPost,
	proofHashes, publicKeyFromFile, verifyConsistency, verifyInclusion, verifyReceiptOf, verifySth,
} from "./gateway_lib.mjs";
import {
	AES_256_GCM, assertStream, assertUsage, CHACHA20_POLY1305, CHAT, chatText, completionText,
	decodeIndeterminateResponse, expectProblem, expectStatus, http, IAT_SLACK_S, innerRequest,
	isFinish, json, sha256, short, sseChunks, td, te, TIMEOUT_MS, W,
} from "./worker_lib.mjs";

const [BASE_ARG, KEY_FILE, API_KEY, ...IDS] = process.argv.slice(2);
const BASE = BASE_ARG?.replace(/\/+$/, "");
const [PLAIN, ...CONF] = IDS.length ? IDS : ["plain-1", "wk-a", "wk-b"];
if (!BASE || !KEY_FILE || !API_KEY || CONF.length < 2) {
	console.error("usage: node gateway_client.mjs GATEWAY_URL STH_KEY_FILE API_KEY|- "
		+ "[PLAIN_ID CONF_ID CONF_ID...]");
	process.exit(2);
}
W.base = BASE; // worker_lib's http() then speaks to the gateway
// The API routes need the key; the models, the attestation list and the
// log are for anyone, and are read without it.
if (API_KEY !== "-") AUTH.authorization = `Bearer ${API_KEY}`;
const OHTTP_KEY_PROBLEM = "https://iana.org/assignments/http-problem-types#ohttp-key";
// Confidential requests in the balance check, and how many go at once.
const BALANCE_REQUESTS = 20;
const BALANCE_BATCH = 5;
// How long the log may take to grow by an entry (a re-attestation).
const LOG_GROWTH_MS = 30000;

// What the attestation list says of each admitted worker (check 1 fills it):
// id -> {id, key, kid, jwk, model, modelSha256, config, keyIds, logIndex,
// evidence}.
const WORKERS = new Map();
let MODEL;
function need() {
	assert.ok(WORKERS.size === CONF.length && MODEL, "the attestation list checks failed: no worker keys");
}
// The worker an answer names, which must be an admitted one.
function servedBy(headers) {
	const id = headers.get("x-veil-worker");
	assert.ok(id, "no X-Veil-Worker");
	const w = WORKERS.get(id);
	assert.ok(w, `X-Veil-Worker ${id} is not an admitted worker (${CONF.join(", ")})`);
	return w;
}

// --- The openai client, with a fetch that keeps the bytes on the wire ---

// Each response the client got, with the request body it sent and, for a
// whole JSON answer, the body (a clone read beside the client's own).
const exchanges = new WeakMap();
async function recordingFetch(url, init) {
	const b = init?.body;
	const ex = { request: typeof b === "string" ? te.encode(b) : b instanceof Uint8Array ? b : null };
	const res = await fetch(url, init);
	if (res.headers.get("content-type") === "application/json")
		ex.response = res.clone().arrayBuffer().then((a) => new Uint8Array(a));
	exchanges.set(res, ex);
	return res;
}

async function exchangeOf(response) {
	const ex = exchanges.get(response);
	assert.ok(ex?.request, "the openai client's request body was not recorded as bytes");
	return { request: ex.request, response: ex.response ? await ex.response : null };
}

const options = {
	baseURL: `${BASE}/v1`, apiKey: API_KEY === "-" ? "unused" : API_KEY, maxRetries: 0,
	timeout: TIMEOUT_MS, fetch: recordingFetch,
};
const client = new OpenAI(options);
const confClient = new OpenAI({ ...options, defaultHeaders: { "X-Veil-Confidential": "required" } });

// A chat request body written out by hand, with white space and member
// order of its own, so that a gateway that re-encoded it would be caught.
function chatBody(extra = {}) {
	const j = JSON.stringify({ ...CHAT, ...extra, model: MODEL }, null, 1);
	return j.replace(/\n/g, "\r\n");
}

// A POST to an API route: the API key, and headers of the caller's (the
// confidentiality header).
function postWith(path, body, headers) {
	const h = { "content-type": "application/json", ...AUTH, ...headers };
	return http(path, { method: "POST", headers: h, body });
}
const CONFIDENTIAL = { "X-Veil-Confidential": "required" };

function expectError(r, status, type, code) {
	expectStatus(r, status, "application/json");
	const e = json(r).error;
	assert.equal(typeof e?.message, "string", "no error.message");
	assert.equal(e.type, type, "error.type");
	if (code) assert.equal(e.code, code, "error.code");
	return e;
}

// --- 1. Models and workers ---

// Fresh evidence through the relay is the worker's own rate-limited route;
// the gateway's re-attestations spend the same allowance, so a 429 is
// waited out as its Retry-After says, a few times.
async function relayed(id, nonce) {
	for (let i = 0; ; i++) {
		const r = await http(`/v1/attestation?worker=${id}&nonce=${nonce}`);
		if (r.status !== 429 || i === 3) return r;
		const wait = Number(r.headers.get("retry-after"));
		assert.ok(Number.isInteger(wait) && wait >= 0 && wait <= 10, `429 with Retry-After ${wait}`);
		await new Promise((resolve) => setTimeout(resolve, wait * 1000 + 100));
	}
}

async function checkWorkers() {
	await check("1. GET /v1/attestation lists exactly the admitted workers, with their evidence", async () => {
		const r = await http("/v1/attestation");
		expectStatus(r, 200, "application/json");
		const list = json(r);
		assert.equal(list.object, "list");
		assert.ok(Array.isArray(list.data), "no data");
		assert.deepEqual(list.data.map((d) => d.worker).sort(), [...CONF].sort(), "the listed workers");
		for (const d of list.data) {
			const at = `worker ${d.worker}`;
			const rd = d.evidence?.runtime_data;
			const vw = rd?.["veil-worker"];
			assert.ok(vw, `${at}: no runtime_data["veil-worker"] in its evidence`);
			assert.equal(vw.id, d.worker, `${at}: the evidence is of worker ${vw.id}`);
			assert.equal(vw.model, d.model, `${at}: model`);
			assert.equal(vw["model-sha256"], d.model_sha256, `${at}: model_sha256`);
			const jwk = rd["tee-pubkey"];
			assert.ok(jwk?.kty === "EC" && jwk.crv === "P-256" && jwk.d === undefined, `${at}: tee-pubkey`);
			const kid = await jose.calculateJwkThumbprint(jwk);
			assert.equal(d.receipt_kid, kid, `${at}: receipt_kid is not the tee-pubkey's thumbprint`);
			const configs = ohttp.parseKeys(new Uint8Array(Buffer.from(vw["ohttp-keys"], "base64")));
			assert.deepEqual(d.ohttp_key_ids, configs.map((c) => c.keyId), `${at}: ohttp_key_ids`);
			assert.ok(Number.isInteger(d.log_index) && d.log_index >= 0 && d.log_index < list.log_size,
				`${at}: log_index ${d.log_index} of ${list.log_size}`);
			WORKERS.set(d.worker, {
				id: d.worker, jwk, kid, key: await jose.importJWK(jwk, "ES256"), model: d.model,
				modelSha256: d.model_sha256, config: configs[0], keyIds: d.ohttp_key_ids,
				logIndex: d.log_index, evidence: d.evidence,
			});
		}
		const models = new Set(list.data.map((d) => d.model));
		assert.equal(models.size, 1, `the workers serve ${[...models]}, not one model`);
		MODEL = [...models][0];
	});

	await check("1. openai models.list() lists the model, confidential", async () => {
		need();
		const models = [];
		for await (const m of client.models.list()) models.push(m);
		assert.deepEqual(models.map((m) => m.id), [MODEL], "the model list");
		assert.equal(models[0].object, "model");
		assert.equal(models[0].confidential, true, "not marked confidential");
		// Every worker serves it: the admitted ones and the plain one.
		assert.equal(models[0].workers, CONF.length + 1, "workers");
	});

	await check("1. the relay gives each worker's fresh evidence for the client's nonce", async () => {
		need();
		for (const w of WORKERS.values()) {
			const nonce = randomBytes(32).toString("hex");
			const r = await relayed(w.id, nonce);
			expectStatus(r, 200, "application/json");
			assert.equal(r.headers.get("x-veil-worker"), w.id, "X-Veil-Worker");
			const rd = json(r).runtime_data;
			assert.equal(rd?.nonce, nonce, `${w.id}: runtime_data.nonce is not the nonce asked for`);
			assert.deepEqual(rd["tee-pubkey"], w.jwk, `${w.id}: another tee-pubkey than listed`);
			assert.equal(rd["veil-worker"].id, w.id, `${w.id}: another worker's evidence`);
		}
	});

	await check("1. the relay gives each worker's published bundle, the same bytes each time", async () => {
		need();
		for (const w of WORKERS.values()) {
			const a = await http(`/v1/attestation?worker=${w.id}`);
			const b = await http(`/v1/attestation?worker=${w.id}`);
			expectStatus(a, 200, "application/json");
			expectStatus(b, 200, "application/json");
			assert.equal(a.headers.get("x-veil-worker"), w.id, "X-Veil-Worker");
			assert.ok(Buffer.compare(Buffer.from(a.bytes), Buffer.from(b.bytes)) === 0, `${w.id}: the published bundle changed`);
			const rd = json(a).runtime_data;
			assert.deepEqual(rd?.["tee-pubkey"], w.jwk, `${w.id}: another tee-pubkey than listed`);
			assert.equal(rd["veil-worker"].id, w.id, `${w.id}: another worker's evidence`);
		}
	});

	await check("1. the relay refuses the plain worker, unknown ids and bad nonces", async () => {
		const nonce = randomBytes(16).toString("hex");
		expectError(await http(`/v1/attestation?worker=${PLAIN}&nonce=${nonce}`), 404, "invalid_request_error");
		expectError(await http(`/v1/attestation?worker=nobody-here&nonce=${nonce}`), 404, "invalid_request_error");
		expectError(await http(`/v1/attestation?worker=${PLAIN}`), 404, "invalid_request_error");
		for (const q of [`worker=${CONF[0]}&nonce=xyz`, `worker=`, `nonce=${nonce}`, "other=1"])
			expectError(await http(`/v1/attestation?${q}`), 400, "invalid_request_error");
	});
}

// --- 2. The openai client through the gateway ---

let firstContent;
async function checkOpenAI() {
	await check("2. openai chat, whole: an admitted worker answers, with X-Veil-Worker", async () => {
		need();
		const { data, response } = await confClient.chat.completions
			.create({ model: MODEL, ...CHAT })
			.withResponse();
		const w = servedBy(response.headers);
		assert.equal(data.object, "chat.completion");
		assert.match(data.id, /^chatcmpl-/);
		assert.equal(data.model, MODEL);
		const c = data.choices[0];
		assert.equal(c.message.role, "assistant");
		assert.equal(typeof c.message.content, "string");
		assert.ok(isFinish(c.finish_reason), `finish_reason ${c.finish_reason}`);
		assertUsage(data.usage, CHAT.max_tokens);
		await verifyReceiptOf(w, response.headers.get("x-veil-receipt"), {
			id: data.id, ...(await exchangeOf(response)), usage: data.usage, stream: false, ohttp: false,
		});
		firstContent = c.message.content;
	});

	await check("2. openai chat stream: usage chunk and veil_receipt come through", async () => {
		need();
		const { data: stream, response } = await confClient.chat.completions
			.create({ model: MODEL, ...CHAT, stream: true, stream_options: { include_usage: true } })
			.withResponse();
		const w = servedBy(response.headers);
		assert.equal(response.headers.get("x-veil-receipt"), null, "a stream has its receipt in the last chunk");
		const chunks = [];
		for await (const c of stream) chunks.push(c);
		const s = assertStream(chunks, chatText, true);
		if (typeof firstContent === "string")
			assert.equal(s.content, firstContent, "the stream says other text than the whole answer");
		await verifyReceiptOf(w, s.receipt, {
			id: s.id, request: (await exchangeOf(response)).request, response: s.content, usage: s.usage,
			stream: true, ohttp: false,
		});
	});

	await check("2. openai legacy completions, whole and streamed", async () => {
		need();
		const req = { model: MODEL, prompt: "Once upon a time", max_tokens: 8, temperature: 0 };
		const { data, response } = await confClient.completions.create(req).withResponse();
		let w = servedBy(response.headers);
		assert.equal(data.object, "text_completion");
		assert.match(data.id, /^cmpl-/);
		assert.ok(isFinish(data.choices[0].finish_reason), "finish_reason");
		assertUsage(data.usage, 8);
		await verifyReceiptOf(w, response.headers.get("x-veil-receipt"), {
			id: data.id, ...(await exchangeOf(response)), usage: data.usage, stream: false, ohttp: false,
		});
		const streamed = await confClient.completions
			.create({ ...req, stream: true, stream_options: { include_usage: true } })
			.withResponse();
		w = servedBy(streamed.response.headers);
		const chunks = [];
		for await (const c of streamed.data) chunks.push(c);
		const s = assertStream(chunks, completionText, false);
		assert.equal(s.content, data.choices[0].text, "the stream says other text than the whole answer");
		await verifyReceiptOf(w, s.receipt, {
			id: s.id, request: (await exchangeOf(streamed.response)).request, response: s.content,
			usage: s.usage, stream: true, ohttp: false,
		});
	});

	await check(`2. without the header the plain worker ${PLAIN} serves too`, async () => {
		need();
		// At once, so that least-outstanding routing spreads them over all
		// three; the plain worker is the earlier entry and takes the first.
		const answers = await Promise.all(Array.from({ length: 6 }, () =>
			client.chat.completions.create({ model: MODEL, ...CHAT }).withResponse()));
		const ids = answers.map((a) => a.response.headers.get("x-veil-worker"));
		for (const id of ids)
			assert.ok(id === PLAIN || WORKERS.has(id), `X-Veil-Worker ${id} is no worker of this gateway`);
		assert.ok(ids.includes(PLAIN), `the plain worker served none of ${ids.join(", ")}`);
	});

	const balance = `2. ${BALANCE_REQUESTS} confidential requests: admitted workers only, each of them some`;
	await check(balance, async () => {
		need();
		const count = new Map();
		for (let sent = 0; sent < BALANCE_REQUESTS; sent += BALANCE_BATCH) {
			const batch = await Promise.all(Array.from({ length: BALANCE_BATCH }, () =>
				confClient.chat.completions.create({ model: MODEL, ...CHAT }).withResponse()));
			for (const { data, response } of batch) {
				const id = response.headers.get("x-veil-worker");
				assert.notEqual(id, PLAIN, "a confidential request went to the plain worker");
				servedBy(response.headers);
				assert.equal(data.object, "chat.completion");
				count.set(id, (count.get(id) ?? 0) + 1);
			}
		}
		const spread = CONF.map((id) => `${id} ${count.get(id) ?? 0}`).join(", ");
		for (const id of CONF) assert.ok(count.get(id) > 0, `${id} served none (${spread})`);
	});
}

// --- 3. Receipts over exact bytes through the gateway ---

let whole;
async function checkReceipts() {
	await check("3. chat, whole: the receipt names the bytes sent and got through the gateway", async () => {
		need();
		const body = chatBody();
		const r = await postWith("/v1/chat/completions", body, CONFIDENTIAL);
		expectStatus(r, 200, "application/json");
		const w = servedBy(r.headers);
		const j = json(r);
		await verifyReceiptOf(w, r.headers.get("x-veil-receipt"), {
			id: j.id, request: body, response: r.bytes, usage: j.usage, stream: false, ohttp: false,
		});
		whole = { w, r, body };
	});

	await check("3. the receipt does not verify under another worker's key, nor for other bytes", async () => {
		assert.ok(whole, "no whole answer");
		const jws = whole.r.headers.get("x-veil-receipt");
		for (const other of WORKERS.values()) {
			if (other.id === whole.w.id) continue;
			await assert.rejects(jose.compactVerify(jws, other.key, { algorithms: ["ES256"] }),
				jose.errors.JWSSignatureVerificationFailed, `it verifies under ${other.id}'s key`);
		}
		const bent = Uint8Array.from(whole.r.bytes);
		bent[bent.length >> 1] ^= 0x01;
		const j = json(whole.r);
		await assert.rejects(verifyReceiptOf(whole.w, jws, {
			request: whole.body, response: bent, usage: j.usage, stream: false, ohttp: false,
		}), /response_sha256/);
	});

	await check("3. chat stream through the gateway: response_sha256 is of the content", async () => {
		need();
		const body = chatBody({ stream: true, stream_options: { include_usage: true } });
		const r = await postWith("/v1/chat/completions", body, CONFIDENTIAL);
		expectStatus(r, 200, "text/event-stream");
		const w = servedBy(r.headers);
		assert.equal(r.headers.get("x-veil-receipt"), null, "a stream has its receipt in the last chunk");
		const s = assertStream(sseChunks(td.decode(r.bytes)), chatText, true);
		await verifyReceiptOf(w, s.receipt, {
			id: s.id, request: body, response: s.content, usage: s.usage, stream: true, ohttp: false,
		});
	});
}

// --- 4. OHTTP through the gateway (RFC 9458) ---

async function innerChat(body) {
	return innerRequest("POST", "/v1/chat/completions", body);
}

// The outer answer of an OHTTP exchange meant for w: 200 from w, with no
// receipt where a relay could read it; returns the inner response.
async function openOuter(w, { outer, state }) {
	expectStatus(outer, 200, "message/ohttp-res");
	assert.equal(outer.headers.get("x-veil-worker"), w.id, "X-Veil-Worker is not the key's worker");
	assert.equal(outer.headers.get("x-veil-receipt"), null, "a receipt outside the encapsulation");
	const inner = new BHttpDecoder().decodeResponse(await ohttp.decapResponse(state, outer.bytes));
	return { inner, bytes: new Uint8Array(await inner.arrayBuffer()) };
}

async function checkOhttp() {
	await check("4. the admitted workers attest distinct OHTTP key ids", async () => {
		need();
		// The gateway routes by key id alone (RFC 9458 section 4.3's first
		// byte): two workers with one id would make one unreachable.
		const ids = [...WORKERS.values()].flatMap((w) => w.keyIds);
		assert.equal(new Set(ids).size, ids.length, `key ids ${ids.join(", ")} repeat`);
	});

	for (const id of CONF) {
		for (const [path, aead] of [["/v1/ohttp", AES_256_GCM], ["/v1/chat/completions", CHACHA20_POLY1305]]) {
			await check(`4. OHTTP to ${id}'s key on ${path}: ${id} answers, sealed to the client`, async () => {
				need();
				const w = WORKERS.get(id);
				const body = chatBody();
				const x = await ohttpPost(path, w.config, aead, await innerChat(body));
				const { inner, bytes } = await openOuter(w, x);
				assert.equal(inner.status, 200, `inner status ${inner.status}: ${short(bytes)}`);
				assert.equal(inner.headers.get("content-type"), "application/json", "inner content-type");
				const j = JSON.parse(td.decode(bytes));
				assert.equal(j.object, "chat.completion");
				await verifyReceiptOf(w, inner.headers.get("x-veil-receipt"), {
					id: j.id, request: body, response: bytes, usage: j.usage, stream: false, ohttp: true,
				});
			});
		}
	}

	await check("4. OHTTP with a key id no worker has is 400, problem type ohttp-key", async () => {
		need();
		const held = new Set([...WORKERS.values()].flatMap((w) => w.keyIds));
		const unknown = [...Array(256).keys()].find((k) => !held.has(k));
		const w = WORKERS.get(CONF[0]);
		for (const path of ["/v1/ohttp", "/v1/chat/completions"]) {
			const { outer } = await ohttpPost(path, w.config, AES_256_GCM, await innerChat(chatBody()), unknown);
			expectProblem(outer, OHTTP_KEY_PROBLEM);
			assert.equal(outer.headers.get("x-veil-worker"), null, `${path}: it went to a worker`);
		}
	});

	await check("4. OHTTP: /v1/ohttp refuses another media type with 415", async () => {
		expectStatus(await postWith("/v1/ohttp", chatBody(), {}), 415);
	});

	for (const id of CONF) {
		await check(`4. chunked OHTTP to ${id}: a streamed chat opens chunk by chunk`, async () => {
			need();
			const w = WORKERS.get(id);
			const body = chatBody({ stream: true, stream_options: { include_usage: true } });
			const x = await chunkedPost("/v1/ohttp", w.config, AES_256_GCM, await innerChat(body));
			assert.equal(x.headers.get("x-veil-worker"), w.id, "X-Veil-Worker is not the key's worker");
			assert.equal(x.headers.get("x-veil-receipt"), null, "a receipt outside the encapsulation");
			const m = decodeIndeterminateResponse(x.plaintext);
			assert.equal(m.status, 200, `inner status ${m.status}: ${short(m.content)}`);
			assert.equal(new Headers(m.header).get("content-type"), "text/event-stream", "inner content-type");
			const s = assertStream(sseChunks(td.decode(m.content)), chatText, true);
			await verifyReceiptOf(w, s.receipt, {
				id: s.id, request: body, response: s.content, usage: s.usage, stream: true, ohttp: true,
			});
		});
	}
}

// --- 5. The confidentiality header ---

async function checkHeader() {
	await check("5. X-Veil-Confidential or X-Confidential other than \"required\" is 400", async () => {
		need();
		for (const name of ["X-Veil-Confidential", "X-Confidential"]) {
			for (const v of ["sometimes", "no", ""]) {
				const r = await postWith("/v1/chat/completions", chatBody(), { [name]: v });
				expectError(r, 400, "invalid_request_error");
				assert.equal(r.headers.get("x-veil-worker"), null, `${name}: ${v}: it went to a worker`);
			}
		}
	});

	await check("5. the openai client with X-Veil-Confidential: sometimes gets BadRequestError", async () => {
		need();
		const bad = new OpenAI({ ...options, defaultHeaders: { "X-Veil-Confidential": "sometimes" } });
		await assert.rejects(bad.chat.completions.create({ model: MODEL, ...CHAT }), (e) => {
			assert.ok(e instanceof OpenAI.BadRequestError, `${e.constructor.name}: ${e.message}`);
			assert.equal(e.status, 400);
			return true;
		});
	});

	await check("5. X-Confidential: required routes like X-Veil-Confidential: required", async () => {
		need();
		const answers = await Promise.all(Array.from({ length: 6 }, () =>
			postWith("/v1/chat/completions", chatBody(), { "X-Confidential": "required" })));
		for (const r of answers) {
			expectStatus(r, 200, "application/json");
			assert.notEqual(r.headers.get("x-veil-worker"), PLAIN, "it went to the plain worker");
			servedBy(r.headers);
		}
	});

	await check("5. a confidential request for a model no admitted worker has fails fast: 503", async () => {
		need();
		const r = await postWith("/v1/chat/completions", JSON.stringify({ ...CHAT, model: `${MODEL}-nowhere` }),
			CONFIDENTIAL);
		expectError(r, 503, "confidential_capacity_unavailable");
		assert.ok(r.headers.get("retry-after"), "no Retry-After");
		assert.equal(r.headers.get("x-veil-worker"), null, "it went to a worker");
	});
}

// --- 6. The transparency log (RFC 9162, docs/gateway-log-api.md) ---

const ENTRY_KINDS = ["admission", "reattestation", "removal", "leave"];

// One log entry, read strictly: JSON, a known kind, and for an admission
// or re-attestation the evidence, whose runtime data names the entry's
// worker and agrees with what the entry says of it.
async function checkEntry(bytes, i) {
	const at = `entry ${i}`;
	let e;
	try {
		e = JSON.parse(td.decode(bytes));
	} catch {
		throw new Error(`${at} is not JSON: ${short(bytes)}`);
	}
	assert.equal(e.v, 1, `${at}: v`);
	assert.ok(ENTRY_KINDS.includes(e.kind), `${at}: kind ${e.kind}`);
	assert.ok(typeof e.worker === "string" && e.worker.length > 0, `${at}: worker`);
	assert.ok(Number.isInteger(e.time), `${at}: time`);
	if (e.kind === "removal" || e.kind === "leave") {
		assert.equal(e.attested, undefined, `${at}: a ${e.kind} with evidence`);
		return e;
	}
	const a = e.attested;
	assert.ok(a && typeof a.evidence === "string" && /^[A-Za-z0-9+/]+=*$/.test(a.evidence),
		`${at}: a ${e.kind} without attested.evidence in base64`);
	const raw = new Uint8Array(Buffer.from(a.evidence, "base64"));
	assert.equal(a.evidence_sha256, sha256(raw), `${at}: evidence_sha256 is not of the evidence`);
	const bundle = JSON.parse(td.decode(raw));
	const rd = bundle.runtime_data;
	const vw = rd?.["veil-worker"];
	assert.equal(vw?.id, e.worker, `${at}: the evidence is of worker ${vw?.id}, the entry says ${e.worker}`);
	assert.equal(a.model, vw.model, `${at}: model`);
	assert.equal(a.model_sha256, vw["model-sha256"], `${at}: model_sha256`);
	assert.equal(a.tee, bundle.tee, `${at}: tee`);
	assert.equal(a.receipt_kid, await jose.calculateJwkThumbprint(rd["tee-pubkey"]), `${at}: receipt_kid`);
	const ids = ohttp.parseKeys(new Uint8Array(Buffer.from(vw["ohttp-keys"], "base64"))).map((c) => c.keyId);
	assert.deepEqual(a.ohttp_key_ids, ids, `${at}: ohttp_key_ids`);
	e.bundle = bundle;
	return e;
}

async function checkLog() {
	let log;
	let head;
	let tree;
	let entries;

	await check("6. the log key from the file is the key the gateway serves", async () => {
		log = await publicKeyFromFile(readFileSync(KEY_FILE, "utf8"));
		const r = await http("/v1/log/sth");
		expectStatus(r, 200, "application/json");
		const served = json(r).key;
		assert.deepEqual({ kty: served?.kty, crv: served?.crv, x: served?.x, y: served?.y }, log.jwk,
			"the gateway serves another key");
	});

	await check("6. GET /v1/log/sth verifies under the file's key; the members agree with it", async () => {
		assert.ok(log, "no log key");
		head = await fetchSth(log);
		const a = head.answer;
		assert.equal(a.tree_size, head.size, "tree_size beside the JWS");
		assert.equal(a.timestamp, head.timestamp, "timestamp beside the JWS");
		assert.equal(a.root_hash, head.payload.root_hash, "root_hash beside the JWS");
		assert.ok(Math.abs(head.timestamp - Date.now()) <= IAT_SLACK_S * 1000,
			`timestamp ${head.timestamp} is far from now`);
		assert.ok(head.size >= CONF.length, `tree_size ${head.size}: fewer entries than admitted workers`);
	});

	await check("6. a head with a changed payload or under another key does not verify", async () => {
		assert.ok(head, "no head");
		const [h, p, s] = head.answer.sth.split(".");
		const bent = jose.base64url.encode(JSON.stringify({ ...head.payload, tree_size: head.size + 1 }));
		await assert.rejects(verifySth(`${h}.${bent}.${s}`, log), jose.errors.JWSSignatureVerificationFailed);
		const other = await jose.generateKeyPair("ES256");
		await assert.rejects(verifySth(head.answer.sth, { ...log, key: other.publicKey }),
			jose.errors.JWSSignatureVerificationFailed);
	});

	await check("6. every entry, paged; the root recomputed from the leaves is the head's", async () => {
		assert.ok(head, "no head");
		const got = await fetchEntries(head.size);
		entries = got.entries;
		tree = new MerkleTree(entries.map(leafHash));
		assert.ok(eqBytes(tree.hash(), head.root), "the root of the entries is not the head's root_hash");
		// Any window reads the same bytes (docs: start and end inclusive).
		const i = head.size >> 1;
		const r = await http(`/v1/log/entries?start=${i}&end=${i}`);
		expectStatus(r, 200, "application/json");
		const one = json(r).entries;
		assert.equal(one.length, 1, `start=${i}&end=${i}: ${one.length} entries`);
		assert.ok(eqBytes(new Uint8Array(Buffer.from(one[0].leaf_input, "base64url")), entries[i]),
			`entry ${i} read alone differs`);
	});

	await check("6. every entry is a known kind; admissions carry their worker's evidence", async () => {
		assert.ok(entries, "no entries");
		const parsed = [];
		for (const [i, b] of entries.entries()) parsed.push(await checkEntry(b, i));
		for (const id of CONF)
			assert.ok(parsed.some((e) => e.kind === "admission" && e.worker === id), `no admission of ${id}`);
		assert.ok(!parsed.some((e) => e.worker === PLAIN), "the plain worker is in the log");
		// The evidence the attestation list showed is the one logged at its
		// log_index (the list writes it anew, so compared as JSON).
		for (const w of WORKERS.values()) {
			const e = parsed[w.logIndex];
			assert.ok(e && e.worker === w.id && e.bundle, `entry ${w.logIndex} is not ${w.id}'s evidence`);
			assert.deepEqual(e.bundle, w.evidence, `${w.id}: the listed evidence is not the one logged`);
		}
	});

	await check("6. an inclusion proof for every entry verifies, and is RFC 9162's path", async () => {
		assert.ok(tree, "no entries");
		for (let i = 0; i < head.size; i++) {
			const r = await http(`/v1/log/proof/inclusion?index=${i}&tree_size=${head.size}`);
			expectStatus(r, 200, "application/json");
			const p = json(r);
			assert.equal(p.index, i, "index");
			assert.equal(p.tree_size, head.size, "tree_size");
			const path = proofHashes(p.audit_path, `entry ${i}: audit_path`);
			// The leaf hash is the client's own, from the entry's bytes.
			const leaf = tree.leaves[i];
			assert.ok(eqBytes(b64uHash(p.leaf_hash, "leaf_hash"), leaf), `entry ${i}: leaf_hash`);
			assert.ok(verifyInclusion(i, head.size, leaf, path, head.root), `entry ${i}: the proof does not verify`);
			assert.deepEqual(path, tree.path(i), `entry ${i}: another audit path than RFC 9162's`);
		}
	});

	await check("6. the verifier refuses tampered proofs (a flipped bit, a wrong index or size)", async () => {
		assert.ok(tree && head.size >= 2, "no tree of two entries");
		for (let i = 0; i < head.size; i++) {
			const path = tree.path(i);
			assert.ok(verifyInclusion(i, head.size, tree.leaves[i], path, head.root),
				`entry ${i}: good proof refused`);
			for (let k = 0; k < path.length; k++) {
				const bent = path.map((h) => Uint8Array.from(h));
				bent[k][k % 32] ^= 0x80;
				assert.ok(!verifyInclusion(i, head.size, tree.leaves[i], bent, head.root),
					`entry ${i}: hash ${k} flipped and it still verifies`);
			}
			assert.ok(!verifyInclusion(i ^ 1, head.size, tree.leaves[i], path, head.root) || (i ^ 1) >= head.size,
				`entry ${i}: verifies as entry ${i ^ 1}`);
			assert.ok(!verifyInclusion(i, head.size, tree.leaves[i], path.slice(0, -1), head.root) || !path.length,
				`entry ${i}: verifies with a hash left out`);
		}
		const m = 1;
		const proof = tree.consistency(m, head.size);
		const firstRoot = tree.hash(0, m);
		assert.ok(verifyConsistency(m, head.size, firstRoot, head.root, proof), "a good consistency proof refused");
		for (let k = 0; k < proof.length; k++) {
			const bent = proof.map((h) => Uint8Array.from(h));
			bent[k][0] ^= 0x01;
			assert.ok(!verifyConsistency(m, head.size, firstRoot, head.root, bent), `consistency hash ${k} flipped`);
		}
	});

	await check("6. the RFC 9162 code agrees with itself on every tree of 1 to 40 leaves", async () => {
		// The generator (2.1.3.1, 2.1.4.1) and the verifiers (2.1.3.2,
		// 2.1.4.2) are written separately from the RFC's two descriptions;
		// for every size and position each accepts what the other makes.
		const leaves = Array.from({ length: 40 }, (_, i) => leafHash(te.encode(`leaf ${i}`)));
		for (let n = 1; n <= 40; n++) {
			const t = new MerkleTree(leaves.slice(0, n));
			for (let i = 0; i < n; i++)
				assert.ok(verifyInclusion(i, n, t.leaves[i], t.path(i), t.hash()), `inclusion ${i} of ${n}`);
			for (let m = 0; m <= n; m++)
				assert.ok(verifyConsistency(m, n, t.hash(0, m), t.hash(), t.consistency(m, n)),
					`consistency ${m} to ${n}`);
			if (n > 1)
				assert.ok(!verifyConsistency(n - 1, n, t.hash(0, n), t.hash(), t.consistency(n - 1, n)),
					`consistency ${n - 1} to ${n} with the wrong first root`);
		}
	});

	await check("6. the log grows (a re-attestation), and the new head is consistent with the old", async () => {
		assert.ok(head, "no head");
		const deadline = Date.now() + LOG_GROWTH_MS;
		let next;
		for (;;) {
			next = await fetchSth(log);
			assert.ok(next.size >= head.size, `the log shrank from ${head.size} to ${next.size} entries`);
			assert.ok(next.timestamp >= head.timestamp, "the head's timestamp went back");
			if (next.size > head.size) break;
			assert.ok(Date.now() < deadline, `no new entry in ${LOG_GROWTH_MS / 1000} s (is --reattest short?)`);
			await new Promise((resolve) => setTimeout(resolve, 500));
		}
		const r = await http(`/v1/log/proof/consistency?first=${head.size}&second=${next.size}`);
		expectStatus(r, 200, "application/json");
		const p = json(r);
		assert.equal(p.first, head.size, "first");
		assert.equal(p.second, next.size, "second");
		const proof = proofHashes(p.consistency, "consistency");
		assert.ok(verifyConsistency(head.size, next.size, head.root, next.root, proof),
			`the consistency proof from ${head.size} to ${next.size} does not verify`);
		const bent = proof.map((h) => Uint8Array.from(h));
		bent[bent.length - 1][7] ^= 0x10;
		assert.ok(!verifyConsistency(head.size, next.size, head.root, next.root, bent),
			"a consistency proof with a flipped bit verifies");
		// And the new entries extend the old ones: the client's own tree of
		// them has the new root and proves the same consistency.
		const { entries: all } = await fetchEntries(next.size);
		for (let i = 0; i < head.size; i++)
			assert.ok(eqBytes(all[i], entries[i]), `entry ${i} changed between the heads`);
		for (let i = head.size; i < next.size; i++) await checkEntry(all[i], i);
		const grown = new MerkleTree(all.map(leafHash));
		assert.ok(eqBytes(grown.hash(), next.root), "the root of the grown log is not the new head's");
		assert.deepEqual(proof, grown.consistency(head.size, next.size),
			"another consistency proof than RFC 9162's");
	});
}

// --- 7. Bad input ---

async function checkBadInput() {
	await check("7. a JSON body without \"model\" is 400 invalid_request_error", async () => {
		for (const headers of [{}, CONFIDENTIAL]) {
			const r = await postWith("/v1/chat/completions", JSON.stringify(CHAT), headers);
			expectError(r, 400, "invalid_request_error");
			assert.equal(r.headers.get("x-veil-worker"), null, "it went to a worker");
		}
		expectError(await postWith("/v1/completions", "{\"model\": 7}", {}), 400, "invalid_request_error");
		expectError(await postWith("/v1/chat/completions", "not json", {}), 400, "invalid_request_error");
	});

	await check("7. an unknown model without the header is 404 model_not_found", async () => {
		need();
		const body = JSON.stringify({ ...CHAT, model: `${MODEL}-nowhere` });
		const r = await postWith("/v1/chat/completions", body, {});
		expectError(r, 404, "invalid_request_error", "model_not_found");
		await assert.rejects(client.chat.completions.create({ ...CHAT, model: `${MODEL}-nowhere` }), (e) => {
			assert.ok(e instanceof OpenAI.NotFoundError, `${e.constructor.name}: ${e.message}`);
			return true;
		});
	});

	await check("7. a worker's own refusal comes through: temperature 5 is 400 from the worker", async () => {
		need();
		const r = await postWith("/v1/chat/completions", chatBody({ temperature: 5 }), CONFIDENTIAL);
		const e = expectError(r, 400, "invalid_request_error");
		assert.equal(e.param, "temperature");
		const w = servedBy(r.headers);
		await verifyReceiptOf(w, r.headers.get("x-veil-receipt"), {
			request: chatBody({ temperature: 5 }), response: r.bytes,
			usage: { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 }, stream: false, ohttp: false,
		});
	});
}

async function checkApiKey() {
	if (API_KEY === "-") return;
	await check("7. another API key, or none, is 401 (AuthenticationError in the openai client)", async () => {
		need();
		const other = new OpenAI({ ...options, apiKey: "vk_not_a_key_of_this_gateway" });
		await assert.rejects(other.chat.completions.create({ model: MODEL, ...CHAT }), (e) => {
			assert.ok(e instanceof OpenAI.AuthenticationError, `${e.constructor.name}: ${e.message}`);
			assert.equal(e.status, 401);
			return true;
		});
		const w = WORKERS.get(CONF[0]);
		const { message } = await ohttp.encapRequest(w.config, AES_256_GCM, await innerChat(chatBody()));
		const r = await http("/v1/ohttp", {
			method: "POST", headers: { "content-type": "message/ohttp-req" }, body: message,
		});
		expectError(r, 401, "invalid_request_error");
		assert.equal(r.headers.get("x-veil-worker"), null, "it went to a worker");
	});
}

async function main() {
	await checkWorkers();
	await checkOpenAI();
	await checkReceipts();
	await checkOhttp();
	await checkHeader();
	await checkLog();
	await checkBadInput();
	await checkApiKey();
	finish();
}

main().catch(crashed("gateway_client.mjs"));
