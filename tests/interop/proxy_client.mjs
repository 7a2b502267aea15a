// proxy_client.mjs - the official `openai` package pointed at `veil proxy`
// (docs/proxy.md), as any application would use it: only its base URL
// changes. The receipts the proxy passes on are verified here again, with
// `jose`, under the key each worker's evidence binds (read from the
// gateway's attestation list), over the exact bytes the openai client sent
// and received.
//
//   node tests/interop/proxy_client.mjs PROXY_URL GATEWAY_URL REFUSING_PROXY_URL CUT_PROXY_URL
//                                       [WORKER_ID...]
//
//   PROXY_URL           http://127.0.0.1:PORT of a proxy whose policy accepts
//                       the workers
//   GATEWAY_URL         the gateway behind it (for the workers' keys)
//   REFUSING_PROXY_URL  a proxy on the same gateway whose policy no worker
//                       satisfies
//   CUT_PROXY_URL       a proxy behind a relay that cuts chunked OHTTP answers
//                       before their final chunk (tests/cli/lib/tamper_relay.py
//                       --mode truncate), or - to leave that check out
//   WORKER_ID...        the admitted workers (default wk-a wk-b)
//
// What it checks:
//   1. models.list: the policy's model only;
//   2. chat, whole: X-Veil-Worker, X-Veil-Verified and X-Veil-TEE read
//      through .withResponse(), and X-Veil-Receipt, the worker's ES256
//      receipt over the request the client sent and the body it got,
//      end to end encrypted;
//   3. chat, streamed at temperature 0: the same text as the whole answer,
//      and the receipt in the last chunk over that text;
//   4. legacy completions, whole and streamed;
//   5. errors: the worker's own 400 with its verified headers, the proxy's
//      400 for a request without a model, and the 503 of a proxy whose
//      policy refuses every worker, in the gateway's fail-fast shape;
//   6. a stream cut short on the way: the client raises an APIError at its
//      end instead of ending cleanly.
// Prints "ok NAME" or "FAIL NAME: why" for each check, then a "#" summary;
// exits 1 if any check failed, 2 on bad arguments.

import assert from "node:assert/strict";
import * as jose from "jose";
import OpenAI from "openai";
import { check, crashed, finish } from "./harness.mjs";
import { verifyReceiptOf } from "./gateway_lib.mjs";
import { CHAT, chatText, completionText, TIMEOUT_MS } from "./worker_lib.mjs";

const [PROXY, GATEWAY, REFUSING, CUT, ...IDS] = process.argv.slice(2);
const WORKER_IDS = IDS.length ? IDS : ["wk-a", "wk-b"];
if (!PROXY || !GATEWAY || !REFUSING || !CUT) {
	console.error("usage: node proxy_client.mjs PROXY_URL GATEWAY_URL REFUSING_PROXY_URL CUT_PROXY_URL|- "
		+ "[WORKER_ID...]");
	process.exit(2);
}

// What the last request sent and, for a whole answer, got: the receipt
// names these bytes.
const SEEN = { request: null, response: null };
async function seeingFetch(url, init) {
	SEEN.request = typeof init?.body === "string" ? init.body : null;
	SEEN.response = null;
	const r = await fetch(url, init);
	if (!(SEEN.request ?? "").includes('"stream":true'))
		SEEN.response = new Uint8Array(await r.clone().arrayBuffer());
	return r;
}

// The proxy ignores the API key (it holds the gateway's); clients must send one.
const client = new OpenAI({
	baseURL: `${PROXY.replace(/\/+$/, "")}/v1`, apiKey: "unused", maxRetries: 0, timeout: TIMEOUT_MS,
	fetch: seeingFetch,
});
const other = (url) => new OpenAI({
	baseURL: `${url.replace(/\/+$/, "")}/v1`, apiKey: "unused", maxRetries: 0, timeout: TIMEOUT_MS,
});
const refusing = other(REFUSING);

// id -> {id, key, kid, model, modelSha256}: what verifyReceiptOf needs.
const WORKERS = new Map();
let MODEL;

async function loadWorkers() {
	const r = await fetch(`${GATEWAY.replace(/\/+$/, "")}/v1/attestation`);
	assert.equal(r.status, 200, `GET /v1/attestation: ${r.status}`);
	for (const d of (await r.json()).data) {
		const jwk = d.evidence.runtime_data["tee-pubkey"];
		WORKERS.set(d.worker, {
			id: d.worker, key: await jose.importJWK(jwk, "ES256"),
			kid: await jose.calculateJwkThumbprint(jwk), model: d.model, modelSha256: d.model_sha256,
		});
		MODEL = d.model;
	}
	assert.deepEqual([...WORKERS.keys()].sort(), [...WORKER_IDS].sort(), "the admitted workers");
}

// The X-Veil-* headers of an answer; returns the worker it names.
function veilHeaders(h, receipt) {
	const id = h.get("x-veil-worker");
	assert.ok(WORKERS.has(id), `X-Veil-Worker ${id} is not an admitted worker`);
	assert.equal(h.get("x-veil-verified"), `evidence=affirming; receipt=${receipt}`, "X-Veil-Verified");
	assert.equal(h.get("x-veil-tee"), "sim", "X-Veil-TEE");
	return WORKERS.get(id);
}

let WHOLE_TEXT;

async function main() {
	await check("0. the gateway lists the workers and their receipt keys", loadWorkers);
	assert.ok(MODEL, "no model: the checks cannot go on");

	await check("1. models.list through the proxy: the policy's model only", async () => {
		const ids = [];
		for await (const m of client.models.list()) ids.push(m.id);
		assert.deepEqual(ids, [MODEL]);
	});

	await check("2. chat, whole: verified headers and the worker's receipt over the exact bytes", async () => {
		const { data, response } = await client.chat.completions
			.create({ ...CHAT, model: MODEL }).withResponse();
		assert.equal(data.object, "chat.completion");
		WHOLE_TEXT = data.choices[0].message.content;
		assert.equal(typeof WHOLE_TEXT, "string", "no content");
		const w = veilHeaders(response.headers, "verified");
		const p = await verifyReceiptOf(w, response.headers.get("x-veil-receipt"), {
			request: SEEN.request, response: SEEN.response, usage: data.usage, stream: false,
			ohttp: true, id: data.id,
		});
		assert.equal(p.ohttp, true, "the exchange was not end to end encrypted");
	});

	await check("3. chat, streamed: the whole answer's text, the receipt over it", async () => {
		const { data: stream, response } = await client.chat.completions
			.create({ ...CHAT, model: MODEL, stream: true, stream_options: { include_usage: true } })
			.withResponse();
		const w = veilHeaders(response.headers, "pending");
		assert.equal(response.headers.get("x-veil-receipt"), null, "a stream's receipt comes at its end");
		const chunks = [];
		for await (const c of stream) chunks.push(c);
		const text = chunks.filter((c) => c.choices.length).map(chatText).join("");
		assert.equal(text, WHOLE_TEXT, "the streamed text differs from the whole answer at temperature 0");
		const last = chunks[chunks.length - 1];
		await verifyReceiptOf(w, last.veil_receipt, {
			request: SEEN.request, response: text, usage: last.usage, stream: true, ohttp: true,
			id: chunks[0].id,
		});
	});

	await check("4. completions, whole and streamed: the same text, verified", async () => {
		const req = { model: MODEL, prompt: "Once upon", max_tokens: 6, temperature: 0 };
		const { data, response } = await client.completions.create(req).withResponse();
		assert.equal(data.object, "text_completion");
		const w = veilHeaders(response.headers, "verified");
		await verifyReceiptOf(w, response.headers.get("x-veil-receipt"), {
			request: SEEN.request, response: SEEN.response, usage: data.usage, stream: false, ohttp: true,
			id: data.id,
		});
		const { data: stream, response: sr } = await client.completions
			.create({ ...req, stream: true }).withResponse();
		veilHeaders(sr.headers, "pending");
		const chunks = [];
		for await (const c of stream) chunks.push(c);
		assert.equal(chunks.map(completionText).join(""), data.choices[0].text, "streamed text");
	});

	await check("5a. the worker's 400 comes through as BadRequestError, its receipt verified", async () => {
		const e = await client.chat.completions.create({ ...CHAT, model: MODEL, temperature: 5 })
			.then(() => null, (err) => err);
		assert.ok(e instanceof OpenAI.BadRequestError, `not a BadRequestError: ${e}`);
		assert.equal(e.param, "temperature");
		veilHeaders(e.headers, "verified");
	});

	await check("5b. a request without a model: the proxy's 400", async () => {
		const e = await client.chat.completions.create({ messages: CHAT.messages })
			.then(() => null, (err) => err);
		assert.ok(e instanceof OpenAI.BadRequestError, `not a BadRequestError: ${e}`);
		assert.equal(e.param, "model");
		assert.equal(e.type, "invalid_request_error");
	});

	await check("5c. a policy no worker satisfies: APIError 503, the gateway's fail-fast shape", async () => {
		for (const stream of [false, true]) {
			const e = await refusing.chat.completions.create({ ...CHAT, model: MODEL, stream })
				.then(() => null, (err) => err);
			assert.ok(e instanceof OpenAI.APIError, `not an APIError: ${e}`);
			assert.equal(e.status, 503, `status ${e.status}`);
			assert.equal(e.type, "confidential_capacity_unavailable");
			assert.equal(e.code, "no_confidential_worker");
			assert.match(e.message, /check policy/);
			assert.equal(e.headers.get("retry-after"), "5");
		}
	});

	if (CUT !== "-") {
		await check("6. a stream cut before its end raises APIError, and shows what came", async () => {
			const stream = await other(CUT).chat.completions
				.create({ ...CHAT, model: MODEL, stream: true });
			const got = [];
			const e = await (async () => {
				for await (const c of stream) got.push(c);
			})().then(() => null, (err) => err);
			assert.ok(e instanceof OpenAI.APIError, `the stream ended without an error (${got.length} chunks)`);
			assert.equal(e.type, "veil_verification_failed");
			assert.equal(e.code, "decrypt");
			assert.ok(got.length >= 1, "no chunk came before the error");
		});
	}
	finish();
}

main().catch(crashed("proxy_client.mjs"));
