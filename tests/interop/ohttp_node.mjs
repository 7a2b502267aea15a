// ohttp_node.mjs - an Oblivious HTTP implementation for the interop tests,
// written from RFC 9458 and draft-ietf-ohai-chunked-ohttp-08 on top of
// independent code: HPKE from @hpke/core with @hpke/dhkem-x25519 (and
// @hpke/chacha20poly1305), HKDF and AES-GCM from WebCrypto. Nothing here
// comes from Veil, so a message both sides open proves the formats agree.
//
// Both roles: a client that encapsulates requests and opens responses, and
// a gateway that opens requests and encapsulates responses, whole or in
// chunks. Chunk streams are handled as lists of {ct, final} so that the
// tests can cut or reorder them.

import { webcrypto } from "node:crypto";
import { Aes128Gcm, Aes256Gcm, CipherSuite, HkdfSha256 } from "@hpke/core";
import { DhkemX25519HkdfSha256 } from "@hpke/dhkem-x25519";
import { Chacha20Poly1305 } from "@hpke/chacha20poly1305";

const subtle = webcrypto.subtle;
const te = new TextEncoder();

export const KEM_X25519 = 0x0020;
export const KDF_HKDF_SHA256 = 0x0001;
// RFC 9180 section 7.3: id, Nk, Nn.
export const AEADS = {
	1: { name: "AES-128-GCM", nk: 16, nn: 12, make: () => new Aes128Gcm() },
	2: { name: "AES-256-GCM", nk: 32, nn: 12, make: () => new Aes256Gcm() },
	3: { name: "ChaCha20-Poly1305", nk: 32, nn: 12, make: () => new Chacha20Poly1305() },
};

const LABEL_REQUEST = "message/bhttp request";
const LABEL_RESPONSE = "message/bhttp response";
const LABEL_CHUNKED_REQUEST = "message/bhttp chunked request";
const LABEL_CHUNKED_RESPONSE = "message/bhttp chunked response";
const FINAL = te.encode("final");
const EMPTY = new Uint8Array(0);

export const hex = (b) => Buffer.from(b).toString("hex");
export const unhex = (s) => new Uint8Array(Buffer.from(s, "hex"));
export const concat = (...parts) => new Uint8Array(Buffer.concat(parts.map((p) => Buffer.from(p))));
const u16 = (v) => new Uint8Array([v >> 8, v & 0xff]);
const readU16 = (b, i) => (b[i] << 8) | b[i + 1];

// RFC 9458 section 4.4: the response nonce is max(Nn, Nk) bytes.
export const responseNonceLen = (aead) => Math.max(AEADS[aead].nk, AEADS[aead].nn);

export function suiteFor(aead) {
	if (!AEADS[aead]) throw new Error(`AEAD ${aead} is not one the tests know`);
	return new CipherSuite({
		kem: new DhkemX25519HkdfSha256(),
		kdf: new HkdfSha256(),
		aead: AEADS[aead].make(),
	});
}

// QUIC variable-length integers (RFC 9000 section 16), which the chunked
// draft uses for chunk lengths.
export function varint(v) {
	if (v < 0x40) return new Uint8Array([v]);
	if (v < 0x4000) return new Uint8Array([0x40 | (v >> 8), v & 0xff]);
	if (v < 0x40000000)
		return new Uint8Array([0x80 | (v >>> 24), (v >> 16) & 0xff, (v >> 8) & 0xff, v & 0xff]);
	throw new Error(`varint ${v} is larger than the tests need`);
}

function readVarint(b, i) {
	if (i >= b.length) throw new Error("truncated varint");
	const len = 1 << (b[i] >> 6);
	if (i + len > b.length) throw new Error("truncated varint");
	let v = b[i] & 0x3f;
	for (let k = 1; k < len; k++) v = v * 256 + b[i + k];
	return [v, i + len];
}

// RFC 9458 section 3: one key configuration, and the application/ohttp-keys
// list of them, each with a 2-byte length (section 3.2).
export function encodeKeyConfig(keyId, pub, aeads) {
	const suites = concat(...aeads.map((a) => concat(u16(KDF_HKDF_SHA256), u16(a))));
	return concat([keyId], u16(KEM_X25519), pub, u16(suites.length), suites);
}

export function encodeKeys(configs) {
	return concat(...configs.map((c) => concat(u16(c.length), c)));
}

export function parseKeys(body) {
	const out = [];
	for (let i = 0; i < body.length; ) {
		if (i + 2 > body.length) throw new Error("truncated ohttp-keys length");
		const len = readU16(body, i);
		const c = body.subarray(i + 2, i + 2 + len);
		if (c.length !== len) throw new Error("truncated key configuration");
		i += 2 + len;
		const kem = readU16(c, 1);
		if (kem !== KEM_X25519) throw new Error(`KEM ${kem} in the configuration`);
		const slen = readU16(c, 35);
		if (37 + slen !== c.length || slen % 4 !== 0) throw new Error("bad suites length");
		const suites = [];
		for (let k = 37; k < c.length; k += 4)
			suites.push({ kdf: readU16(c, k), aead: readU16(c, k + 2) });
		out.push({ keyId: c[0], kem, pub: c.slice(3, 35), suites });
	}
	return out;
}

// RFC 9458 section 4.1: the header every request starts with.
function header(keyId, aead) {
	return concat([keyId], u16(KEM_X25519), u16(KDF_HKDF_SHA256), u16(aead));
}

function parseHeader(req) {
	if (req.length < 7 + 32) throw new Error("request shorter than its header");
	return {
		keyId: req[0],
		kem: readU16(req, 1),
		kdf: readU16(req, 3),
		aead: readU16(req, 5),
		hdr: req.subarray(0, 7),
		enc: req.subarray(7, 39),
		rest: req.subarray(39),
	};
}

// AEAD with the raw primitives: WebCrypto for AES-GCM, @hpke/chacha20poly1305
// for ChaCha20-Poly1305 (WebCrypto has none).
async function aeadSeal(aead, key, nonce, aad, pt) {
	if (aead === 3) {
		const c = new Chacha20Poly1305().createEncryptionContext(key);
		return new Uint8Array(await c.seal(nonce, pt, aad));
	}
	const k = await subtle.importKey("raw", key, "AES-GCM", false, ["encrypt"]);
	const params = { name: "AES-GCM", iv: nonce, additionalData: aad };
	return new Uint8Array(await subtle.encrypt(params, k, pt));
}

async function aeadOpen(aead, key, nonce, aad, ct) {
	if (aead === 3) {
		const c = new Chacha20Poly1305().createEncryptionContext(key);
		return new Uint8Array(await c.open(nonce, ct, aad));
	}
	const k = await subtle.importKey("raw", key, "AES-GCM", false, ["decrypt"]);
	const params = { name: "AES-GCM", iv: nonce, additionalData: aad };
	return new Uint8Array(await subtle.decrypt(params, k, ct));
}

// RFC 9458 section 4.4 (and draft section 6.2 with its own label): the
// response key and nonce from the HPKE context of the request.
async function responseKeys(state, label, responseNonce) {
	const { nk, nn } = AEADS[state.aead];
	const secret = new Uint8Array(await state.ctx.export(te.encode(label), Math.max(nn, nk)));
	const ikm = await subtle.importKey("raw", secret, "HKDF", false, ["deriveBits"]);
	// WebCrypto HKDF is Extract(salt, ikm) then Expand(prk, info, L).
	const salt = concat(state.enc, responseNonce);
	const derive = async (info, len) => {
		const params = { name: "HKDF", hash: "SHA-256", salt, info: te.encode(info) };
		return new Uint8Array(await subtle.deriveBits(params, ikm, len * 8));
	};
	return { key: await derive("key", nk), nonce: await derive("nonce", nn) };
}

// Draft section 6.2: chunk_nonce = aead_nonce XOR encode(Nn, counter).
function chunkNonce(nonce, counter) {
	const n = Uint8Array.from(nonce);
	for (let i = 0; i < 6; i++) n[n.length - 1 - i] ^= Math.floor(counter / 256 ** i) % 256;
	return n;
}

// --- Chunk framing (draft section 6.1): each non-final chunk has a varint
// length; the final chunk has the length 0 and runs to the end. ---

export function frameChunks(chunks) {
	return concat(...chunks.map((c) => concat(varint(c.final ? 0 : c.ct.length), c.ct)));
}

export function splitChunks(body) {
	const chunks = [];
	for (let i = 0; i < body.length; ) {
		const [len, j] = readVarint(body, i);
		if (len === 0) {
			chunks.push({ ct: body.subarray(j), final: true });
			return chunks;
		}
		if (j + len > body.length) throw new Error("chunk runs past the end of the stream");
		chunks.push({ ct: body.subarray(j, j + len), final: false });
		i = j + len;
	}
	return chunks; // no final chunk: the opener reports the truncation
}

function pieces(pt, size) {
	const out = [];
	for (let i = 0; i < pt.length; i += size)
		out.push(pt.subarray(i, Math.min(i + size, pt.length)));
	return out.length ? out : [EMPTY];
}

// --- Client ---

// RFC 9458 section 4.3. Returns the message and the state for the response.
export async function encapRequest(config, aead, bhttp, keyId = config.keyId) {
	const suite = suiteFor(aead);
	const hdr = header(keyId, aead);
	const ctx = await suite.createSenderContext({
		recipientPublicKey: await suite.kem.deserializePublicKey(config.pub),
		info: concat(te.encode(LABEL_REQUEST), [0], hdr),
	});
	const enc = new Uint8Array(ctx.enc);
	const ct = new Uint8Array(await ctx.seal(bhttp));
	return { message: concat(hdr, enc, ct), state: { ctx, aead, enc } };
}

export async function decapResponse(state, res) {
	const n = responseNonceLen(state.aead);
	if (res.length < n + 16) throw new Error("response shorter than its nonce and tag");
	const { key, nonce } = await responseKeys(state, LABEL_RESPONSE, res.subarray(0, n));
	return aeadOpen(state.aead, key, nonce, EMPTY, res.subarray(n));
}

// Draft section 6.1: the header, then the request in chunks of `size`.
export async function encapChunkedRequest(config, aead, bhttp, size) {
	const suite = suiteFor(aead);
	const hdr = header(config.keyId, aead);
	const ctx = await suite.createSenderContext({
		recipientPublicKey: await suite.kem.deserializePublicKey(config.pub),
		info: concat(te.encode(LABEL_CHUNKED_REQUEST), [0], hdr),
	});
	const enc = new Uint8Array(ctx.enc);
	const parts = pieces(bhttp, size);
	const chunks = [];
	for (let i = 0; i < parts.length; i++) {
		const final = i === parts.length - 1;
		chunks.push({ ct: new Uint8Array(await ctx.seal(parts[i], final ? FINAL : EMPTY)), final });
	}
	return { prefix: concat(hdr, enc), chunks, state: { ctx, aead, enc } };
}

// Opens a chunked response; throws on anything the draft says to reject.
export async function decapChunkedResponse(state, res) {
	const n = responseNonceLen(state.aead);
	if (res.length < n) throw new Error("chunked response shorter than its nonce");
	const { key, nonce } = await responseKeys(state, LABEL_CHUNKED_RESPONSE, res.subarray(0, n));
	const chunks = splitChunks(res.subarray(n));
	const out = [];
	for (const [i, c] of chunks.entries())
		out.push(await aeadOpen(state.aead, key, chunkNonce(nonce, i), c.final ? FINAL : EMPTY, c.ct));
	if (!chunks.length || !chunks[chunks.length - 1].final)
		throw new Error("truncated: the response has no final chunk");
	return { plaintext: concat(...out), chunks: chunks.length };
}

// --- Gateway ---

export async function newGatewayKey(keyId, aead) {
	const suite = suiteFor(aead);
	const kp = await suite.kem.generateKeyPair();
	const pub = new Uint8Array(await suite.kem.serializePublicKey(kp.publicKey));
	return { keyId, aead, suite, kp, pub, config: encodeKeyConfig(keyId, pub, [aead]) };
}

async function gatewaySetup(key, req, label) {
	const h = parseHeader(req);
	if (h.keyId !== key.keyId) throw new Error(`key id ${h.keyId}, want ${key.keyId}`);
	if (h.kem !== KEM_X25519 || h.kdf !== KDF_HKDF_SHA256 || h.aead !== key.aead)
		throw new Error(`suite ${h.kem}/${h.kdf}/${h.aead} was not offered`);
	const ctx = await key.suite.createRecipientContext({
		recipientKey: key.kp,
		enc: h.enc,
		info: concat(te.encode(label), [0], h.hdr),
	});
	return { h, state: { ctx, aead: h.aead, enc: Uint8Array.from(h.enc) } };
}

export async function decapRequest(key, req) {
	const { h, state } = await gatewaySetup(key, req, LABEL_REQUEST);
	return { plaintext: new Uint8Array(await state.ctx.open(h.rest)), state };
}

export async function decapChunkedRequest(key, req) {
	const { h, state } = await gatewaySetup(key, req, LABEL_CHUNKED_REQUEST);
	const chunks = splitChunks(h.rest);
	const out = [];
	for (const c of chunks)
		out.push(new Uint8Array(await state.ctx.open(c.ct, c.final ? FINAL : EMPTY)));
	if (!chunks.length || !chunks[chunks.length - 1].final)
		throw new Error("truncated: the request has no final chunk");
	return { plaintext: concat(...out), chunks: chunks.length, state };
}

export async function encapResponse(state, bhttp) {
	const n = responseNonceLen(state.aead);
	const responseNonce = webcrypto.getRandomValues(new Uint8Array(n));
	const { key, nonce } = await responseKeys(state, LABEL_RESPONSE, responseNonce);
	return concat(responseNonce, await aeadSeal(state.aead, key, nonce, EMPTY, bhttp));
}

export async function encapChunkedResponse(state, bhttp, size) {
	const n = responseNonceLen(state.aead);
	const responseNonce = webcrypto.getRandomValues(new Uint8Array(n));
	const { key, nonce } = await responseKeys(state, LABEL_CHUNKED_RESPONSE, responseNonce);
	const parts = pieces(bhttp, size);
	const chunks = [];
	for (let i = 0; i < parts.length; i++) {
		const final = i === parts.length - 1;
		const aad = final ? FINAL : EMPTY;
		chunks.push({ ct: await aeadSeal(state.aead, key, chunkNonce(nonce, i), aad, parts[i]), final });
	}
	return concat(responseNonce, frameChunks(chunks));
}
