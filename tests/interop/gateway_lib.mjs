// gateway_lib.mjs - what gateway_client.mjs needs beyond worker_lib.mjs,
// written from the specifications rather than taken from Veil:
//
//   - the Merkle tree of RFC 9162 section 2.1: leaf and node hashes, the
//     root of a list of leaves, the audit paths and consistency proofs a
//     log must give (sections 2.1.3.1 and 2.1.4.1), and their verification
//     (sections 2.1.3.2 and 2.1.4.2), so the gateway's transparency log is
//     checked by code that shares nothing with libveil's;
//   - the log's API (docs/gateway-log-api.md): the signed tree head
//     verified with `jose` under the key the client was given, entries
//     paged, proofs parsed strictly;
//   - receipts of answers that came through the gateway, verified under
//     the key of the worker the gateway says served them (X-Veil-Worker);
//   - OHTTP exchanges through the gateway that keep the outer headers,
//     whole and chunked.

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import * as jose from "jose";
import * as ohttp from "./ohttp_node.mjs";
import {
	assertDigest, assertUsage, CHAT, ChunkedResponseReader, expectStatus, fetchWorker, http,
	IAT_SLACK_S, json, short, td,
} from "./worker_lib.mjs";

// --- RFC 9162 section 2.1 ---

const H = (...parts) => {
	const h = createHash("sha256");
	for (const p of parts) h.update(p);
	return new Uint8Array(h.digest());
};
const LEAF = new Uint8Array([0x00]);
const NODE = new Uint8Array([0x01]);

// Section 2.1.1: MTH({d(0)}) = SHA-256(0x00 || d(0)); the node hash of two
// subtrees is SHA-256(0x01 || left || right); the empty tree's root is
// SHA-256 of nothing.
export const leafHash = (entry) => H(LEAF, entry);
export const nodeHash = (l, r) => H(NODE, l, r);
export const EMPTY_ROOT = H();

export const eqBytes = (a, b) => a.length === b.length && a.every((v, i) => v === b[i]);
// Sizes and indices may exceed 2^32, where JavaScript's shifts stop
// working: halving and parity with arithmetic instead.
const half = (x) => Math.floor(x / 2);
const odd = (x) => x % 2 === 1;
function isPowerOfTwo(x) {
	while (x > 1 && !odd(x)) x = half(x);
	return x === 1;
}
// The largest power of two smaller than n (n > 1), which splits a tree.
function split(n) {
	let k = 1;
	while (k * 2 < n) k *= 2;
	return k;
}

// The tree over leaf hashes, with each subtree's hash kept, so that the
// root, every audit path and every consistency proof of a few thousand
// entries cost each subtree hash once.
export class MerkleTree {
	constructor(leaves) {
		this.leaves = leaves;
		this.memo = new Map();
	}

	// MTH(D[lo:hi]) (section 2.1.1).
	hash(lo = 0, hi = this.leaves.length) {
		if (hi === lo) return EMPTY_ROOT;
		if (hi - lo === 1) return this.leaves[lo];
		const key = `${lo}:${hi}`;
		let h = this.memo.get(key);
		if (!h) {
			const k = split(hi - lo);
			h = nodeHash(this.hash(lo, lo + k), this.hash(lo + k, hi));
			this.memo.set(key, h);
		}
		return h;
	}

	// PATH(m, D[lo:hi]) (section 2.1.3.1): the audit path of leaf m.
	path(m, lo = 0, hi = this.leaves.length) {
		const n = hi - lo;
		if (n <= 1) return [];
		const k = split(n);
		if (m < k) return [...this.path(m, lo, lo + k), this.hash(lo + k, hi)];
		return [...this.path(m - k, lo + k, hi), this.hash(lo, lo + k)];
	}

	// PROOF(m, D[0:n]) = SUBPROOF(m, D[n], true) (section 2.1.4.1).
	consistency(m, n) {
		const sub = (m, lo, hi, b) => {
			if (m === hi - lo) return b ? [] : [this.hash(lo, hi)];
			const k = split(hi - lo);
			if (m <= k) return [...sub(m, lo, lo + k, b), this.hash(lo + k, hi)];
			return [...sub(m - k, lo + k, hi, false), this.hash(lo, lo + k)];
		};
		return m === 0 || m === n ? [] : sub(m, 0, n, true);
	}
}

// Section 2.1.3.2: whether path proves that leaf is entry index of the tree
// of size entries whose root is root.
export function verifyInclusion(index, size, leaf, path, root) {
	if (index >= size) return false;
	let fn = index;
	let sn = size - 1;
	let r = leaf;
	for (const p of path) {
		if (sn === 0) return false;
		if (odd(fn) || fn === sn) {
			r = nodeHash(p, r);
			while (!odd(fn) && fn !== 0) {
				fn = half(fn);
				sn = half(sn);
			}
		} else {
			r = nodeHash(r, p);
		}
		fn = half(fn);
		sn = half(sn);
	}
	return sn === 0 && eqBytes(r, root);
}

// Section 2.1.4.2: whether path proves that the tree of second entries
// (root2) extends the tree of first entries (root1). As the gateway's log
// allows (docs/gateway-log-api.md), first 0 or first equal to second
// takes the empty proof, which then proves nothing more than the roots say.
export function verifyConsistency(first, second, root1, root2, path) {
	if (first > second) return false;
	if (first === second) return path.length === 0 && eqBytes(root1, root2);
	if (first === 0) return path.length === 0;
	if (path.length === 0) return false;
	// Step 2: a first tree that is a whole subtree is its own first node.
	const c = isPowerOfTwo(first) ? [root1, ...path] : path;
	let fn = first - 1;
	let sn = second - 1;
	while (odd(fn)) {
		fn = half(fn);
		sn = half(sn);
	}
	let fr = c[0];
	let sr = c[0];
	for (const p of c.slice(1)) {
		if (sn === 0) return false;
		if (odd(fn) || fn === sn) {
			fr = nodeHash(p, fr);
			sr = nodeHash(p, sr);
			while (!odd(fn) && fn !== 0) {
				fn = half(fn);
				sn = half(sn);
			}
		} else {
			sr = nodeHash(sr, p);
		}
		fn = half(fn);
		sn = half(sn);
	}
	return eqBytes(fr, root1) && eqBytes(sr, root2) && sn === 0;
}

// --- The log API (docs/gateway-log-api.md) ---

// A hash as the API writes it: unpadded base64url of 32 bytes, in its one
// spelling (RFC 4648 sections 3.5 and 5).
export function b64uHash(s, what) {
	assert.ok(typeof s === "string" && /^[A-Za-z0-9_-]{43}$/.test(s), `${what}: not 43 base64url characters`);
	const b = new Uint8Array(Buffer.from(s, "base64url"));
	assert.equal(Buffer.from(b).toString("base64url"), s, `${what}: not the canonical spelling`);
	return b;
}

// A public key from a JWK file: the private members, which the gateway's
// own key file holds, are left behind.
export async function publicKeyFromFile(text) {
	let jwk;
	try {
		jwk = JSON.parse(text);
	} catch {
		throw new Error("the key file is not JSON");
	}
	assert.ok(jwk.kty === "EC" && jwk.crv === "P-256", "the key file is not an EC P-256 JWK");
	const pub = { kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y };
	return {
		jwk: pub,
		key: await jose.importJWK(pub, "ES256"),
		kid: await jose.calculateJwkThumbprint(pub),
	};
}

const STH_MEMBERS = ["tree_size", "timestamp", "root_hash"];
const MAX_SAFE = 2 ** 53 - 1;

// GET /v1/log/sth, verified with the client's key (tlog.md "Signed tree
// heads"): ES256 only, the exact protected header, the exact payload.
// Returns {size, timestamp, root, answer} from the JWS, never from the
// members beside it (which must agree).
export async function fetchSth(log) {
	const r = await http("/v1/log/sth");
	expectStatus(r, 200, "application/json");
	const a = json(r);
	assert.equal(typeof a.sth, "string", "no sth");
	return { ...(await verifySth(a.sth, log)), answer: a };
}

export async function verifySth(jws, log) {
	const { payload, protectedHeader } = await jose.compactVerify(jws, log.key, { algorithms: ["ES256"] });
	assert.deepEqual(protectedHeader, { alg: "ES256", typ: "veil-sth+jws", kid: log.kid },
		"STH protected header");
	const p = JSON.parse(td.decode(payload));
	assert.deepEqual(Object.keys(p), STH_MEMBERS, "STH payload members (and their order)");
	for (const m of ["tree_size", "timestamp"])
		assert.ok(Number.isInteger(p[m]) && p[m] >= 0 && p[m] <= MAX_SAFE, `STH ${m} ${p[m]}`);
	const root = b64uHash(p.root_hash, "STH root_hash");
	return { size: p.tree_size, timestamp: p.timestamp, root, payload: p };
}

// Entries 0 to size - 1, as many requests as the gateway's caps need: each
// answer starts where it was asked to and holds at least one entry
// (docs/gateway-log-api.md "GET /v1/log/entries"). Returns their bytes.
export async function fetchEntries(size) {
	const out = [];
	let requests = 0;
	while (out.length < size) {
		assert.ok(++requests <= size, "more requests than entries: the paging does not advance");
		const r = await http(`/v1/log/entries?start=${out.length}&end=${size - 1}`);
		expectStatus(r, 200, "application/json");
		const list = json(r).entries;
		assert.ok(Array.isArray(list) && list.length >= 1, `entries from ${out.length}: none`);
		assert.ok(out.length + list.length <= size, "more entries than asked for");
		for (const e of list) {
			assert.equal(e.index, out.length, "entries out of order");
			assert.ok(typeof e.leaf_input === "string" && /^[A-Za-z0-9_-]*$/.test(e.leaf_input),
				`entry ${e.index}: leaf_input is not base64url`);
			out.push(new Uint8Array(Buffer.from(e.leaf_input, "base64url")));
		}
	}
	return { entries: out, requests };
}

// An inclusion or consistency proof: the answer's hashes, strictly.
export function proofHashes(list, what) {
	assert.ok(Array.isArray(list), `${what} is not an array`);
	return list.map((s, i) => b64uHash(s, `${what}[${i}]`));
}

// --- Receipts through the gateway (docs/receipt.md) ---

const RECEIPT_MEMBERS = ["ver", "worker", "id", "model", "iat", "evidence_sha256", "model_sha256",
	"request_sha256", "response_sha256", "usage", "stream", "ohttp"];

// Verifies a receipt under the key of worker w (what the gateway's
// attestation list says of it) and checks its members against what the
// client knows: want {request, response, usage, stream, ohttp, id}, as in
// worker_lib.verifyReceipt. The evidence digest names the worker's
// published bundle, which the gateway does not relay: only its form is
// checked. Returns the payload.
export async function verifyReceiptOf(w, jws, want) {
	assert.ok(w, "no worker to verify the receipt with");
	assert.equal(typeof jws, "string", "no receipt");
	const { payload, protectedHeader } = await jose.compactVerify(jws, w.key, { algorithms: ["ES256"] });
	assert.deepEqual(protectedHeader, { alg: "ES256", typ: "veil-receipt+jws", kid: w.kid },
		"receipt protected header");
	const p = JSON.parse(td.decode(payload));
	assert.deepEqual(Object.keys(p).sort(), [...RECEIPT_MEMBERS].sort(), "receipt members");
	assert.equal(p.ver, 1, "ver");
	assert.equal(p.worker, w.id, "the receipt names another worker than X-Veil-Worker");
	assert.equal(p.model, w.model, "model");
	assert.equal(p.model_sha256, w.modelSha256, "model_sha256");
	assert.match(p.evidence_sha256, /^[0-9a-f]{64}$/, "evidence_sha256");
	if (want.id !== undefined) assert.equal(p.id, want.id, "id");
	assertDigest(p, "request", want.request);
	assertDigest(p, "response", want.response);
	if (want.usage === null) assertUsage(p.usage, CHAT.max_tokens);
	else assert.deepEqual(p.usage, want.usage, "usage differs from the response's");
	assert.equal(p.stream, want.stream, "stream");
	assert.equal(p.ohttp, want.ohttp, "ohttp");
	const now = Date.now() / 1000;
	assert.ok(Number.isInteger(p.iat) && Math.abs(p.iat - now) <= IAT_SLACK_S,
		`iat ${p.iat} is not within ${IAT_SLACK_S} s of now (${Math.round(now)})`);
	return p;
}

// --- OHTTP through the gateway ---

// Headers every request to the gateway's API routes carries: the API key,
// when the gateway has accounts (gateway_client.mjs fills it).
export const AUTH = {};

// One whole exchange encrypted to config: the outer response as it came
// (status, headers, bytes) and the state to open it with.
export async function ohttpPost(path, config, aead, bhttp, keyId = config.keyId) {
	const { message, state } = await ohttp.encapRequest(config, aead, bhttp, keyId);
	const headers = { "content-type": "message/ohttp-req", ...AUTH };
	return { outer: await http(path, { method: "POST", headers, body: message }), state };
}

// A chunked request (draft-ietf-ohai-chunked-ohttp-08) to config, its
// response opened chunk by chunk as it arrives and whole by ohttp_node.mjs,
// which must agree. Returns the plaintext and the outer headers.
export async function chunkedPost(path, config, aead, bhttp) {
	const { prefix, chunks, state } = await ohttp.encapChunkedRequest(config, aead, bhttp, 64);
	const res = await fetchWorker(path, {
		method: "POST",
		headers: { "content-type": "message/ohttp-chunked-req", ...AUTH },
		body: ohttp.concat(prefix, ohttp.frameChunks(chunks)),
	});
	if (res.status !== 200) {
		const b = new Uint8Array(await res.arrayBuffer());
		throw new Error(`outer status ${res.status}: ${short(b)}`);
	}
	assert.equal(res.headers.get("content-type"), "message/ohttp-chunked-res", "outer content-type");
	const reader = new ChunkedResponseReader(state);
	const wire = [];
	const opened = [];
	for await (const piece of res.body) {
		wire.push(piece);
		opened.push(await reader.feed(piece));
	}
	opened.push(await reader.end());
	const plaintext = ohttp.concat(...opened);
	const whole = await ohttp.decapChunkedResponse(state, ohttp.concat(...wire));
	assert.deepEqual(Buffer.from(whole.plaintext), Buffer.from(plaintext), "the two openers disagree");
	return { plaintext, headers: res.headers };
}
