// worker_lib.mjs - what worker_client.mjs needs to read and check
// veil-worker's answers, written from the specifications rather than taken
// from Veil:
//
//   - HTTP with a deadline on every request, body included;
//   - receipts (docs/receipt.md): verified with `jose` under the key the
//     evidence binds, then compared member by member with what the client
//     knows (the bytes it sent and got, the evidence, the usage);
//   - OpenAI streams: server-sent events (WHATWG HTML, "Server-sent
//     events") and the shape of the chunks (OpenAI API reference, "The chat
//     completion chunk object");
//   - the indeterminate-length Binary HTTP response (RFC 9292 section 3.2),
//     which chunked OHTTP carries a stream in;
//   - a chunked OHTTP response opened one chunk at a time as it arrives
//     (draft-ietf-ohai-chunked-ohttp-08 section 6.2). ohttp_node.mjs opens a
//     chunked response only whole; chunkedExchange checks that the two agree;
//   - OHTTP exchanges with the worker: a BHTTP request from bhttp-js,
//     encapsulated by ohttp_node.mjs, the response opened and decoded.

import assert from "node:assert/strict";
import { createHash, webcrypto } from "node:crypto";
import { Chacha20Poly1305 } from "@hpke/chacha20poly1305";
import { BHttpDecoder, BHttpEncoder } from "bhttp-js";
import * as jose from "jose";
import * as ohttp from "./ohttp_node.mjs";

// How long one request (all of its body included) may take.
export const TIMEOUT_MS = 20000;
// How far a receipt's iat may be from this machine's clock.
export const IAT_SLACK_S = 60;
export const INNER = "https://worker.veil.test";
export const AES_256_GCM = 2;
export const CHACHA20_POLY1305 = 3;
const RECEIPT_MEMBERS = ["ver", "worker", "id", "model", "iat", "evidence_sha256", "model_sha256",
	"request_sha256", "response_sha256", "usage", "stream", "ohttp"];

const subtle = webcrypto.subtle;
export const te = new TextEncoder();
export const td = new TextDecoder();
export const sha256 = (b) => createHash("sha256").update(b).digest("hex");
export const short = (b) => td.decode(b).slice(0, 300);

// The worker under test: base (its URL), then what its published evidence
// says, filled by the first checks; every later check needs it.
export const W = {};
export function need() {
	assert.ok(W.key && W.config, "the evidence checks failed: no receipt key or OHTTP keys");
}

// --- HTTP ---

// fetch with the deadline; a failure says which request and why (the
// cause: a refused connection, the deadline).
export async function fetchWorker(path, init = {}) {
	try {
		return await fetch(W.base + path, { ...init, signal: AbortSignal.timeout(TIMEOUT_MS) });
	} catch (e) {
		const why = e.cause ? `${e.message}: ${e.cause.code ?? e.cause.message}` : e.message;
		throw new Error(`${init.method ?? "GET"} ${path}: ${why}`);
	}
}

// A whole exchange: the response and all of its body.
export async function http(path, init = {}) {
	const res = await fetchWorker(path, init);
	const bytes = new Uint8Array(await res.arrayBuffer());
	return { res, status: res.status, headers: res.headers, bytes };
}

// A POST of exactly these bytes (a string is sent as its UTF-8).
export function post(path, body, type = "application/json") {
	return http(path, { method: "POST", headers: { "content-type": type }, body });
}

export function json(r) {
	try {
		return JSON.parse(td.decode(r.bytes));
	} catch {
		throw new Error(`status ${r.status}, not JSON: ${short(r.bytes)}`);
	}
}

export function expectStatus(r, status, type) {
	assert.equal(r.status, status, `status ${r.status}, want ${status}: ${short(r.bytes)}`);
	if (type) assert.equal(r.headers.get("content-type"), type, "content-type");
}

// --- Receipts (docs/receipt.md) ---

// Verifies a receipt with the key from the evidence and checks each member
// against what this client knows. want: {request, response} as bytes (or
// strings), usage (see below), stream, ohttp, and optionally id. Returns the
// payload.
export async function verifyReceipt(jws, want) {
	need();
	assert.equal(typeof jws, "string", "no receipt");
	const opts = { algorithms: ["ES256"] };
	const { payload, protectedHeader } = await jose.compactVerify(jws, W.key, opts);
	assert.deepEqual(protectedHeader, { alg: "ES256", typ: "veil-receipt+jws", kid: W.kid },
		"protected header");
	const p = JSON.parse(td.decode(payload));
	assert.deepEqual(Object.keys(p).sort(), [...RECEIPT_MEMBERS].sort(), "receipt members");
	assert.equal(p.ver, 1, "ver");
	assert.equal(p.worker, W.worker.id, "worker");
	assert.equal(p.model, W.worker.model, "model");
	assert.equal(p.model_sha256, W.worker["model-sha256"], "model_sha256");
	assert.equal(p.evidence_sha256, W.evidenceSha256, "evidence_sha256: not the published bundle");
	if (want.id !== undefined) assert.equal(p.id, want.id, "id");
	assertDigest(p, "request", want.request);
	assertDigest(p, "response", want.response);
	// usage null: the response had none to compare with (a stream without
	// include_usage); undefined: an error or a model list, which use no tokens.
	const none = { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 };
	if (want.usage === null)
		assertUsage(p.usage, CHAT.max_tokens);
	else
		assert.deepEqual(p.usage, want.usage ?? none, "usage differs from the response's");
	assert.equal(p.stream, want.stream, "stream");
	assert.equal(p.ohttp, want.ohttp, "ohttp");
	const now = Date.now() / 1000;
	assert.ok(Number.isInteger(p.iat) && Math.abs(p.iat - now) <= IAT_SLACK_S,
		`iat ${p.iat} is not within ${IAT_SLACK_S} s of now (${Math.round(now)})`);
	return p;
}

// The digest comparison every receipt check ends with.
export function assertDigest(p, what, bytes) {
	const got = p[`${what}_sha256`];
	assert.equal(got, sha256(bytes), `${what}_sha256 ${got} is not the SHA-256 of the ${what} body`);
}

// --- OpenAI responses (OpenAI API reference: chat completion, chunk and
// completion objects) ---

// The chat request most checks send: short and deterministic.
export const CHAT = {
	messages: [{ role: "user", content: "Say hello." }],
	max_tokens: 8,
	temperature: 0,
	seed: 1,
};

export function assertUsage(u, maxCompletion) {
	assert.ok(u && Number.isInteger(u.prompt_tokens) && u.prompt_tokens > 0,
		`usage.prompt_tokens ${u?.prompt_tokens}`);
	assert.ok(Number.isInteger(u.completion_tokens) && u.completion_tokens <= maxCompletion,
		`usage.completion_tokens ${u.completion_tokens}, at most ${maxCompletion}`);
	assert.equal(u.total_tokens, u.prompt_tokens + u.completion_tokens, "usage.total_tokens");
}

export const isFinish = (f) => f === "length" || f === "stop";

// A stream's chunks, as the openai client or the SSE parser gives them:
// the first delta has the role, exactly one chunk a finish_reason, the
// usage chunk (no choices) comes last and carries the receipt. text(c)
// reads the piece of content a chunk adds; at most maxTokens were asked for.
// Returns {content, usage, receipt, id}.
export function assertStream(chunks, text, chat, maxTokens = CHAT.max_tokens) {
	assert.ok(chunks.length >= 3, `${chunks.length} chunks`);
	const id = chunks[0].id;
	const object = chat ? "chat.completion.chunk" : "text_completion";
	for (const c of chunks) {
		assert.equal(c.id, id, "chunk ids differ");
		assert.equal(c.object, object, "chunk object");
	}
	if (chat) assert.equal(chunks[0].choices[0].delta.role, "assistant", "first delta has no role");
	const last = chunks[chunks.length - 1];
	const body = chunks.slice(0, -1);
	const finishes = body.filter((c) => c.choices[0]?.finish_reason);
	assert.equal(finishes.length, 1, `${finishes.length} chunks have a finish_reason`);
	assert.ok(isFinish(finishes[0].choices[0].finish_reason), "finish_reason");
	assert.equal(finishes[0], body[body.length - 1], "content after the finish_reason");
	for (const c of body) {
		assert.equal(c.choices.length, 1, "a content chunk without its choice");
		assert.equal(c.usage, null, "usage before the last chunk");
		assert.equal(c.veil_receipt, undefined, "a receipt before the last chunk");
	}
	assert.deepEqual(last.choices, [], "the usage chunk has choices");
	assertUsage(last.usage, maxTokens);
	assert.equal(typeof last.veil_receipt, "string", "the last chunk has no veil_receipt");
	return { content: body.map(text).join(""), usage: last.usage, receipt: last.veil_receipt, id };
}

export const chatText = (c) => c.choices[0].delta.content ?? "";
export const completionText = (c) => c.choices[0].text ?? "";

// --- Wire formats ---

// QUIC variable-length integers (RFC 9000 section 16), which both Binary
// HTTP and the chunk framing use. Returns [value, next index], or null when
// b ends inside the integer.
export function readVarint(b, i) {
	if (i >= b.length) return null;
	const len = 1 << (b[i] >> 6);
	if (i + len > b.length) return null;
	let v = b[i] & 0x3f;
	for (let k = 1; k < len; k++) v = v * 256 + b[i + k];
	return [v, i + len];
}

function needVarint(b, i, what) {
	const r = readVarint(b, i);
	if (!r) throw new Error(`BHTTP: truncated ${what}`);
	return r;
}

function needBytes(b, i, n, what) {
	if (i + n > b.length) throw new Error(`BHTTP: ${what} runs past the end`);
	return [b.subarray(i, i + n), i + n];
}

// RFC 9292 section 3.2 (and 3.7, 3.8): one field section of the
// indeterminate form, field lines ended by a zero-length name.
function fieldSection(b, i, what) {
	const fields = [];
	for (;;) {
		let nameLen, name, valueLen, value;
		[nameLen, i] = needVarint(b, i, `${what} name length`);
		if (nameLen === 0) return [fields, i];
		[name, i] = needBytes(b, i, nameLen, `${what} name`);
		[valueLen, i] = needVarint(b, i, `${what} value length`);
		[value, i] = needBytes(b, i, valueLen, `${what} value`);
		fields.push([td.decode(name), td.decode(value)]);
	}
}

// An indeterminate-length BHTTP response: framing indicator 3, any
// informational responses, the final status and header section, content
// chunks (a varint length each, ended by a zero length), then the trailer
// section. RFC 9292 section 3.8 allows zero padding after it, nothing else.
// Returns {status, header, content, chunks, trailer}.
export function decodeIndeterminateResponse(b) {
	let i, framing, status, header;
	[framing, i] = needVarint(b, 0, "framing indicator");
	if (framing !== 3) throw new Error(`BHTTP: framing indicator ${framing}, want 3`);
	for (;;) {
		[status, i] = needVarint(b, i, "status");
		if (status < 100 || status > 599) throw new Error(`BHTTP: status ${status}`);
		[header, i] = fieldSection(b, i, "header");
		if (status >= 200) break; // 1xx responses come first (section 3.5.1)
	}
	const chunks = [];
	for (;;) {
		let len, piece;
		[len, i] = needVarint(b, i, "content chunk length");
		if (len === 0) break;
		[piece, i] = needBytes(b, i, len, "content chunk");
		chunks.push(piece);
	}
	let trailer;
	[trailer, i] = fieldSection(b, i, "trailer");
	for (; i < b.length; i++)
		if (b[i] !== 0) throw new Error(`BHTTP: ${b.length - i} bytes after the message`);
	return { status, header, content: ohttp.concat(...chunks), chunks: chunks.length, trailer };
}

// Server-sent events as the OpenAI streams use them: each event is "data:"
// lines ended by a blank line; a line starting with ":" is a comment (the
// worker's padding) and is skipped. Returns the data of each event in order.
export function sseEvents(text) {
	const events = [];
	let data = null;
	for (const line of text.split(/\r\n|\r|\n/)) {
		if (line === "") {
			if (data !== null) events.push(data);
			data = null;
		} else if (line.startsWith(":")) {
			continue;
		} else if (line.startsWith("data:")) {
			const v = line.slice(5).replace(/^ /, "");
			data = data === null ? v : `${data}\n${v}`;
		} else {
			throw new Error(`SSE: unexpected line "${line.slice(0, 80)}"`);
		}
	}
	if (data !== null) throw new Error("SSE: the stream ends inside an event");
	return events;
}

// An OpenAI stream as the events say it: the JSON chunks before "[DONE]",
// which must be the last event.
export function sseChunks(text) {
	const events = sseEvents(text);
	const done = events.indexOf("[DONE]");
	if (done < 0) throw new Error("SSE: no data: [DONE]");
	if (done !== events.length - 1) throw new Error("SSE: events after [DONE]");
	return events.slice(0, done).map((e) => JSON.parse(e));
}

// --- A chunked OHTTP response opened as it arrives ---

const LABEL_CHUNKED_RESPONSE = "message/bhttp chunked response";
const FINAL = te.encode("final");
const EMPTY = new Uint8Array(0);

async function aeadOpen(aead, key, nonce, aad, ct) {
	if (aead === 3) {
		const c = new Chacha20Poly1305().createEncryptionContext(key);
		return new Uint8Array(await c.open(nonce, ct, aad));
	}
	const k = await subtle.importKey("raw", key, "AES-GCM", false, ["decrypt"]);
	const params = { name: "AES-GCM", iv: nonce, additionalData: aad };
	return new Uint8Array(await subtle.decrypt(params, k, ct));
}

// Opens a message/ohttp-chunked-res body fed in network reads: the response
// nonce first, then each chunk as soon as all its bytes are in. A non-final
// chunk is a varint length and its ciphertext; the final chunk has the length
// 0 and runs to the end of the body, so it opens only in end().
export class ChunkedResponseReader {
	// state: what ohttp.encapChunkedRequest returned for the request.
	constructor(state) {
		this.state = state;
		this.buf = new Uint8Array(0);
		this.counter = 0;
		this.keys = null;
		this.inFinal = false;
	}

	// Draft section 6.2: the response key and nonce from the request's HPKE
	// context, with the chunked label; chunk i's nonce is the nonce XOR i.
	async #setKeys(responseNonce) {
		const { nk, nn } = ohttp.AEADS[this.state.aead];
		const secret = new Uint8Array(
			await this.state.ctx.export(te.encode(LABEL_CHUNKED_RESPONSE), Math.max(nk, nn)),
		);
		const ikm = await subtle.importKey("raw", secret, "HKDF", false, ["deriveBits"]);
		const salt = ohttp.concat(this.state.enc, responseNonce);
		const derive = async (info, len) => new Uint8Array(await subtle.deriveBits(
			{ name: "HKDF", hash: "SHA-256", salt, info: te.encode(info) }, ikm, len * 8));
		this.keys = { key: await derive("key", nk), nonce: await derive("nonce", nn) };
	}

	#nonce() {
		const n = Uint8Array.from(this.keys.nonce);
		for (let i = 0, c = this.counter; i < 8 && c > 0; i++, c = Math.floor(c / 256))
			n[n.length - 1 - i] ^= c % 256;
		this.counter++;
		return n;
	}

	// Feeds one network read; returns the plaintext of the chunks it
	// completed (possibly none).
	async feed(bytes) {
		this.buf = ohttp.concat(this.buf, bytes);
		const out = [];
		if (!this.keys) {
			const n = ohttp.responseNonceLen(this.state.aead);
			if (this.buf.length < n) return EMPTY;
			await this.#setKeys(this.buf.subarray(0, n));
			this.buf = this.buf.subarray(n);
		}
		while (!this.inFinal) {
			const v = readVarint(this.buf, 0);
			if (!v) break;
			const [len, j] = v;
			if (len === 0) {
				this.inFinal = true;
				this.buf = this.buf.subarray(j);
				break;
			}
			if (j + len > this.buf.length) break;
			const ct = this.buf.subarray(j, j + len);
			out.push(await aeadOpen(this.state.aead, this.keys.key, this.#nonce(), EMPTY, ct));
			this.buf = this.buf.subarray(j + len);
		}
		return ohttp.concat(...out);
	}

	// The end of the body: the final chunk, or a throw if there is none.
	async end() {
		if (!this.keys || !this.inFinal)
			throw new Error("truncated: the response has no final chunk");
		return aeadOpen(this.state.aead, this.keys.key, this.#nonce(), FINAL, this.buf);
	}
}

// --- OHTTP exchanges with the worker ---

// A BHTTP request for the inner API, encoded by bhttp-js.
export async function innerRequest(method, path, body) {
	const init = { method };
	if (body !== undefined) {
		init.headers = { "content-type": "application/json" };
		init.body = body;
	}
	return new BHttpEncoder().encodeRequest(new Request(INNER + path, init));
}

// One whole OHTTP exchange: the outer response must be 200 message/ohttp-res
// (RFC 9458 section 4.4); returns the inner response decoded by bhttp-js and
// its content bytes.
export async function ohttpExchange(path, bhttp, aead = AES_256_GCM) {
	need();
	const { message, state } = await ohttp.encapRequest(W.config, aead, bhttp);
	const outer = await post(path, message, "message/ohttp-req");
	expectStatus(outer, 200, "message/ohttp-res");
	// The receipt names the request: only the client may see it.
	assert.equal(outer.headers.get("x-veil-receipt"), null, "a receipt outside the encapsulation");
	const inner = new BHttpDecoder().decodeResponse(await ohttp.decapResponse(state, outer.bytes));
	return { inner, bytes: new Uint8Array(await inner.arrayBuffer()) };
}

// A refused encapsulated request: a plain 400 problem (RFC 9458 section
// 5.2, RFC 9457) of the given type.
export function expectProblem(r, type) {
	expectStatus(r, 400, "application/problem+json");
	const p = json(r);
	assert.equal(p.type, type, "problem type");
	assert.equal(typeof p.title, "string", "problem title");
}

// Sends a chunked request and reads the response from the network as it
// comes, opening each chunk as soon as it is whole. Returns the plaintext,
// and how much of it was open before the last network read.
export async function chunkedExchange(aead, bhttp) {
	need();
	const { prefix, chunks, state } = await ohttp.encapChunkedRequest(W.config, aead, bhttp, 64);
	const res = await fetchWorker("/v1/ohttp", {
		method: "POST",
		headers: { "content-type": "message/ohttp-chunked-req" },
		body: ohttp.concat(prefix, ohttp.frameChunks(chunks)),
	});
	if (res.status !== 200) {
		const b = new Uint8Array(await res.arrayBuffer());
		throw new Error(`outer status ${res.status}: ${short(b)}`);
	}
	assert.equal(res.headers.get("content-type"), "message/ohttp-chunked-res", "outer content-type");
	assert.equal(res.headers.get("x-veil-receipt"), null, "a receipt outside the encapsulation");
	const reader = new ChunkedResponseReader(state);
	const wire = [];
	const opened = [];
	let openBeforeLast = 0;
	for await (const piece of res.body) {
		openBeforeLast = opened.reduce((n, p) => n + p.length, 0);
		wire.push(piece);
		opened.push(await reader.feed(piece));
	}
	opened.push(await reader.end());
	const plaintext = ohttp.concat(...opened);
	// The whole body opened by ohttp_node.mjs says the same.
	const whole = await ohttp.decapChunkedResponse(state, ohttp.concat(...wire));
	assert.deepEqual(Buffer.from(whole.plaintext), Buffer.from(plaintext), "the two openers disagree");
	return { plaintext, reads: wire.length, openBeforeLast, chunks: whole.chunks };
}

