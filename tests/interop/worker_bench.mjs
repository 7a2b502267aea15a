// worker_bench.mjs - a veil-worker in benchmark mode (--bench-reply,
// docs/worker.md "Benchmark mode") driven by independent clients: every
// completion must be the text "ok", finish_reason "stop", one completion
// token, in the same shapes as a real answer (whole, streamed with the
// role, content, finish and usage chunks, through OHTTP whole and chunked),
// each with a receipt that `jose` verifies under the key the evidence
// binds; and the evidence must say engine "bench-reply".
//
//   node tests/interop/worker_bench.mjs WORKER_URL   (http://127.0.0.1:PORT)
//
// Prints "ok NAME" or "FAIL NAME: why" for each check, then a "#" summary;
// exits 1 if any check failed.

import assert from "node:assert/strict";
import * as jose from "jose";
import { check, crashed, finish } from "./harness.mjs";
import * as ohttp from "./ohttp_node.mjs";
import {
	AES_256_GCM, assertStream, CHACHA20_POLY1305, chatText, chunkedExchange, completionText,
	decodeIndeterminateResponse, expectStatus, http, json, need, ohttpExchange, innerRequest, post,
	sha256, short, sseChunks, td, verifyReceipt, W,
} from "./worker_lib.mjs";

const BASE = process.argv[2]?.replace(/\/+$/, "");
if (!BASE) {
	console.error("usage: node worker_bench.mjs WORKER_URL");
	process.exit(2);
}
W.base = BASE;

const CHAT = { messages: [{ role: "user", content: "Say hello, at length." }], max_tokens: 64 };
const STREAM = { stream: true, stream_options: { include_usage: true } };

// usage of a bench answer: the prompt's real token count, one completion token.
function assertBenchUsage(u) {
	assert.ok(Number.isInteger(u?.prompt_tokens) && u.prompt_tokens > 1,
		`usage.prompt_tokens ${u?.prompt_tokens}: not the prompt's token count`);
	assert.equal(u.completion_tokens, 1, "usage.completion_tokens");
	assert.equal(u.total_tokens, u.prompt_tokens + 1, "usage.total_tokens");
}

// A stream's chunks: role first (chat), "ok", one finish "stop", usage last.
function assertBenchStream(chunks, text, chat) {
	const s = assertStream(chunks, text, chat, 1);
	assert.equal(s.content, "ok", "the streamed text");
	const fin = chunks.filter((c) => c.choices[0]?.finish_reason);
	assert.equal(fin[0].choices[0].finish_reason, "stop", "finish_reason");
	assertBenchUsage(s.usage);
	// The same chunk sequence as a real stream of one token: the first
	// chunk (the role, for chat; empty text for a completion), the
	// content, the finish, the usage.
	assert.equal(chunks.length, 4, `${chunks.length} chunks`);
	assert.equal(text(chunks[0]), "", "the first chunk carries text");
	return s;
}

async function main() {
	await check("evidence: engine bench-reply, and the keys to check receipts with", async () => {
		const r = await http("/v1/attestation");
		expectStatus(r, 200, "application/json");
		const rd = json(r).runtime_data;
		assert.equal(rd["veil-worker"].engine, "bench-reply", "the evidence hides the mode");
		W.evidenceSha256 = sha256(r.bytes);
		W.worker = rd["veil-worker"];
		W.key = await jose.importJWK(rd["tee-pubkey"], "ES256");
		W.kid = await jose.calculateJwkThumbprint(rd["tee-pubkey"]);
		const k = await http("/.well-known/ohttp-keys");
		expectStatus(k, 200);
		W.config = ohttp.parseKeys(k.bytes)[0];
	});

	await check("chat, whole: \"ok\", stop, usage, a receipt that verifies", async () => {
		need();
		const body = JSON.stringify({ model: W.worker.model, ...CHAT });
		const r = await post("/v1/chat/completions", body);
		expectStatus(r, 200, "application/json");
		const j = json(r);
		assert.equal(j.object, "chat.completion");
		assert.equal(j.choices[0].message.role, "assistant");
		assert.equal(j.choices[0].message.content, "ok");
		assert.equal(j.choices[0].finish_reason, "stop");
		assertBenchUsage(j.usage);
		await verifyReceipt(r.headers.get("x-veil-receipt"), {
			id: j.id, request: body, response: r.bytes, usage: j.usage, stream: false, ohttp: false,
		});
	});

	await check("chat, stream: role, \"ok\", finish, usage, the receipt, [DONE]", async () => {
		need();
		const body = JSON.stringify({ ...CHAT, ...STREAM });
		const r = await post("/v1/chat/completions", body);
		expectStatus(r, 200, "text/event-stream");
		const s = assertBenchStream(sseChunks(td.decode(r.bytes)), chatText, true);
		await verifyReceipt(s.receipt, {
			id: s.id, request: body, response: s.content, usage: s.usage, stream: true, ohttp: false,
		});
	});

	await check("legacy completion, whole and stream", async () => {
		need();
		const req = { prompt: "Once upon a time there was", max_tokens: 16 };
		const body = JSON.stringify(req);
		const r = await post("/v1/completions", body);
		expectStatus(r, 200, "application/json");
		const j = json(r);
		assert.equal(j.object, "text_completion");
		assert.equal(j.choices[0].text, "ok");
		assert.equal(j.choices[0].finish_reason, "stop");
		assertBenchUsage(j.usage);
		await verifyReceipt(r.headers.get("x-veil-receipt"), {
			id: j.id, request: body, response: r.bytes, usage: j.usage, stream: false, ohttp: false,
		});
		const sbody = JSON.stringify({ ...req, ...STREAM });
		const sr = await post("/v1/completions", sbody);
		expectStatus(sr, 200, "text/event-stream");
		const s = assertBenchStream(sseChunks(td.decode(sr.bytes)), completionText, false);
		await verifyReceipt(s.receipt, {
			id: s.id, request: sbody, response: s.content, usage: s.usage, stream: true, ohttp: false,
		});
	});

	await check("OHTTP whole: an inner \"ok\" with its receipt", async () => {
		need();
		const body = JSON.stringify(CHAT);
		const { inner, bytes } = await ohttpExchange("/v1/ohttp",
			await innerRequest("POST", "/v1/chat/completions", body), CHACHA20_POLY1305);
		assert.equal(inner.status, 200, `inner status ${inner.status}: ${short(bytes)}`);
		const j = JSON.parse(td.decode(bytes));
		assert.equal(j.choices[0].message.content, "ok");
		await verifyReceipt(inner.headers.get("x-veil-receipt"), {
			id: j.id, request: body, response: bytes, usage: j.usage, stream: false, ohttp: true,
		});
	});

	await check("chunked OHTTP: a streamed \"ok\" with its receipt", async () => {
		need();
		const body = JSON.stringify({ ...CHAT, ...STREAM });
		const x = await chunkedExchange(AES_256_GCM,
			await innerRequest("POST", "/v1/chat/completions", body));
		const m = decodeIndeterminateResponse(x.plaintext);
		assert.equal(m.status, 200, `inner status ${m.status}: ${short(m.content)}`);
		const s = assertBenchStream(sseChunks(td.decode(m.content)), chatText, true);
		await verifyReceipt(s.receipt, {
			id: s.id, request: body, response: s.content, usage: s.usage, stream: true, ohttp: true,
		});
	});

	await check("a bad request is still refused as usual (400, signed)", async () => {
		need();
		const body = '{"messages": [';
		const r = await post("/v1/chat/completions", body);
		expectStatus(r, 400);
		assert.equal(json(r).error?.type, "invalid_request_error");
		await verifyReceipt(r.headers.get("x-veil-receipt"), {
			request: body, response: r.bytes, stream: false, ohttp: false,
		});
	});
	finish();
}

main().catch(crashed("worker_bench.mjs"));
