// ohttp_interop.mjs - Veil's Oblivious HTTP against independent
// implementations: HPKE from @hpke/core and @hpke/dhkem-x25519, Binary HTTP
// from bhttp-js, and the node OHTTP code in ohttp_node.mjs written from RFC
// 9458 and draft-ietf-ohai-chunked-ohttp-08.
//
//   node tests/interop/ohttp_interop.mjs PATH/TO/ohttp_peer
//
// Veil's side is the ohttp_peer program (see its header comment for the line
// protocol). For each AEAD (AES-128-GCM, AES-256-GCM, ChaCha20-Poly1305):
//   a. a node client's request opens in a Veil gateway, and Veil's response
//      opens in node;
//   b. a Veil client's request, whole and chunked, opens in a node gateway,
//      and node's response opens in Veil;
//   c. a chunked request from node opens in Veil, and Veil's chunked
//      response opens in node, which rejects it cut short or reordered;
//   d. Veil refuses requests with a wrong key id, a flipped byte, or a chunk
//      stream cut short or reordered, and a client refuses a flipped response,
//      printing nothing decrypted.
// Prints "ok NAME" or "FAIL NAME: why" for each check, then a "#" summary;
// exits 1 if any check failed.

import assert from "node:assert/strict";
import { BHttpDecoder, BHttpEncoder } from "bhttp-js";
import { check, crashed, finish, LinePeer } from "./harness.mjs";
import * as ohttp from "./ohttp_node.mjs";

const PEER = process.argv[2];
if (!PEER) {
	console.error("usage: node ohttp_interop.mjs PATH/TO/ohttp_peer");
	process.exit(2);
}
const te = new TextEncoder();
const td = new TextDecoder();

// One ohttp_peer process; lines come out one message at a time.
class Peer extends LinePeer {
	// Reads "TAG PAYLOAD" and returns the payload; an error line throws.
	async expect(tag) {
		const l = await this.line();
		if (l === null) {
			const status = await this.exited;
			throw new Error(`ohttp_peer exited (${status}) before "${tag}"${this.why()}`);
		}
		const sp = l.indexOf(" ");
		const got = l.slice(0, sp);
		if (got !== tag)
			throw new Error(`ohttp_peer said "${l.slice(0, 200)}", want "${tag}"${this.why()}`);
		return l.slice(sp + 1);
	}

	send(tag, bytes) {
		this.write(`${tag} ${ohttp.hex(bytes)}`);
	}
}

// A request Veil must refuse: an "error" line, exit 1, nothing decrypted.
async function expectRefused(peer, tag, message, want) {
	peer.send(tag, message);
	const status = await peer.close();
	const out = peer.lines.join("\n");
	const said = `output: ${out.slice(0, 300)}${peer.why()}`;
	assert.equal(status, 1, `ohttp_peer exited ${status}, want 1; ${said}`);
	assert.match(out, /^error /m, `no error line; ${said}`);
	assert.match(out, want, `the error does not say why; ${said}`);
	assert.doesNotMatch(out, /^(seen|response|chunked-response) /m,
		`printed something decrypted; ${said}`);
	// A sanitizer build also exits 1 on a leak: look for its report.
	assert.doesNotMatch(peer.stderr, /Sanitizer|runtime error/,
		`sanitizer report on the error path; ${said}`);
}

// --- Fixtures ---

// The node client's request, built and encoded by bhttp-js.
function nodeRequest(aead, bodyBytes) {
	const body = JSON.stringify({
		model: "demo",
		aead: ohttp.AEADS[aead].name,
		prompt: "x".repeat(bodyBytes),
	});
	const headers = { "content-type": "application/json", "x-interop": `aead-${aead}` };
	const init = { method: "POST", headers, body };
	return { url: "https://gateway.veil.test/v1/chat/completions", init, body };
}

async function encodeNodeRequest(r) {
	return new BHttpEncoder().encodeRequest(new Request(r.url, r.init));
}

// What Veil's "seen" line must say about the node request.
function assertSeenRequest(seen, r) {
	const url = new URL(r.url);
	assert.equal(seen.method, "POST");
	assert.equal(seen.scheme, "https");
	assert.equal(seen.authority, url.host);
	assert.equal(seen.path, url.pathname);
	assert.equal(seen.framing, "known-length");
	// bhttp-js writes the fields in the order of the Fetch Headers object.
	assert.deepEqual(seen.header, [...new Headers(r.init.headers)]);
	assert.deepEqual(seen.trailer, []);
	assert.equal(Buffer.from(seen.content_hex, "hex").toString(), r.body);
}

// Veil's response to a node request: status 200, two fields, and the seen
// JSON as the content, decoded by bhttp-js.
async function assertVeilResponse(bhttp, seenLine) {
	const res = new BHttpDecoder().decodeResponse(bhttp);
	assert.equal(res.status, 200);
	assert.equal(res.headers.get("content-type"), "application/json");
	assert.equal(res.headers.get("x-veil-peer"), "veil ohttp_peer");
	assert.equal([...res.headers].length, 2);
	assert.deepEqual(JSON.parse(await res.text()), JSON.parse(seenLine));
}

// The request Veil's client sends (ohttp_peer.c client_request).
const VEIL_BODY = '{"model":"demo","messages":[{"role":"user","content":"hello from veil"}]}';

async function assertVeilRequest(bhttp) {
	const req = new BHttpDecoder().decodeRequest(bhttp);
	assert.equal(req.method, "POST");
	assert.equal(req.url, "https://worker.veil.test/v1/chat/completions");
	assert.deepEqual([...req.headers], [
		["content-type", "application/json"],
		["x-veil-peer", "veil ohttp_peer"],
	]);
	const body = await req.text();
	assert.equal(body, VEIL_BODY);
	return body;
}

async function nodeResponse(body) {
	const res = new Response(`node saw ${body.length} bytes: ${body}`, {
		status: 200,
		headers: { "content-type": "text/plain", "x-node-peer": "bhttp-js" },
	});
	const text = await res.clone().text();
	return { bhttp: await new BHttpEncoder().encodeResponse(res), text };
}

function assertSeenResponse(seen, text) {
	assert.equal(seen.status, 200);
	assert.equal(seen.framing, "known-length");
	assert.deepEqual(seen.header, [
		["content-type", "text/plain"],
		["x-node-peer", "bhttp-js"],
	]);
	assert.deepEqual(seen.trailer, []);
	assert.equal(Buffer.from(seen.content_hex, "hex").toString(), text);
}

// Chunk lists tampered with on the path.
const swapFirstTwo = (l) => [l[1], l[0], ...l.slice(2)];
const passOffAsFinal = (l) => [...l.slice(0, -1), { ...l[l.length - 1], final: true }];

// --- The checks ---

const AEAD_IDS = [1, 2, 3];
const KEY_ID = 7;
const CHUNK = 16;

// A Veil gateway, its key configuration checked against what it must offer.
async function veilGateway() {
	const peer = new Peer(PEER, ["server", String(KEY_ID), String(CHUNK)]);
	const configs = ohttp.parseKeys(ohttp.unhex(await peer.expect("keys")));
	assert.equal(configs.length, 1);
	assert.equal(configs[0].keyId, KEY_ID);
	assert.deepEqual(configs[0].suites, AEAD_IDS.map((aead) => ({ kdf: 1, aead })));
	return { peer, config: configs[0] };
}

async function main() {
	let gw;
	await check("a. Veil gateway publishes application/ohttp-keys that node parses", async () => {
		gw = await veilGateway();
	});

	for (const aead of AEAD_IDS) {
		const name = ohttp.AEADS[aead].name;
		const what = `a. ${name}: node request opens in Veil; Veil response opens in node`;
		await check(what, async () => {
			assert.ok(gw, "no gateway");
			const r = nodeRequest(aead, 40);
			const bhttp = await encodeNodeRequest(r);
			const { message, state } = await ohttp.encapRequest(gw.config, aead, bhttp);
			gw.peer.send("request", message);
			const seenLine = await gw.peer.expect("seen");
			assertSeenRequest(JSON.parse(seenLine), r);
			const res = ohttp.unhex(await gw.peer.expect("response"));
			// RFC 9458 section 4.4: the nonce is max(Nn, Nk) bytes.
			const pt = await ohttp.decapResponse(state, res);
			assert.equal(res.length, ohttp.responseNonceLen(aead) + pt.length + 16);
			await assertVeilResponse(pt, seenLine);
		});
	}

	for (const aead of AEAD_IDS) {
		const name = ohttp.AEADS[aead].name;
		const what = `c. ${name}: chunked request opens in Veil; chunked response opens in node`;
		await check(what, async () => {
			assert.ok(gw, "no gateway");
			const r = nodeRequest(aead, 300);
			const bhttp = await encodeNodeRequest(r);
			const req = await ohttp.encapChunkedRequest(gw.config, aead, bhttp, 37);
			assert.ok(req.chunks.length > 3);
			const stream = ohttp.concat(req.prefix, ohttp.frameChunks(req.chunks));
			gw.peer.send("chunked-request", stream);
			const seenLine = await gw.peer.expect("seen");
			assertSeenRequest(JSON.parse(seenLine), r);
			const res = ohttp.unhex(await gw.peer.expect("chunked-response"));
			const { plaintext, chunks } = await ohttp.decapChunkedResponse(req.state, res);
			assert.ok(chunks > 3, `only ${chunks} chunks`);
			// A streaming response: the indeterminate-length form.
			assert.equal(plaintext[0], 3, "framing indicator");
			await assertVeilResponse(plaintext, seenLine);

			// The same response tampered with on the way: node must refuse it.
			const nonceLen = ohttp.responseNonceLen(aead);
			const head = res.subarray(0, nonceLen);
			const list = ohttp.splitChunks(res.subarray(nonceLen));
			const open = (l) =>
				ohttp.decapChunkedResponse(req.state, ohttp.concat(head, ohttp.frameChunks(l)));
			await assert.rejects(open(list.slice(0, -1)), /truncated/, "final chunk removed");
			await assert.rejects(open(passOffAsFinal(list.slice(0, -1))), undefined,
				"last non-final chunk passed off as final");
			await assert.rejects(open(swapFirstTwo(list)), undefined, "two chunks swapped");
			const longer = ohttp.concat(res, [0]);
			await assert.rejects(ohttp.decapChunkedResponse(req.state, longer), undefined,
				"a byte after the final chunk");
		});
	}

	await check("a. Veil gateway exits cleanly at the end of its input", async () => {
		assert.ok(gw, "no gateway");
		await gw.peer.closeClean();
	});

	for (const aead of AEAD_IDS) {
		const name = ohttp.AEADS[aead].name;
		for (const chunked of [false, true]) {
			const form = chunked ? "chunked" : "whole";
			const what = `b. ${name}, ${form}: Veil request opens in node; node response in Veil`;
			await check(what, async () => {
				const key = await ohttp.newGatewayKey(0x40 + aead, aead);
				// A second configuration with a KEM Veil does not speak comes
				// first: section 3.2 says a client skips it.
				const p256 = ohttp.concat([1, 0, 0x10], new Uint8Array(65), [0, 4, 0, 1, 0, 1]);
				const keys = ohttp.hex(ohttp.encodeKeys([p256, key.config]));
				const peer = new Peer(PEER, ["client", keys, ...(chunked ? ["chunked", "9"] : [])]);
				const req = ohttp.unhex(await peer.expect(chunked ? "chunked-request" : "request"));
				const opened = chunked
					? await ohttp.decapChunkedRequest(key, req)
					: await ohttp.decapRequest(key, req);
				if (chunked) assert.ok(opened.chunks > 3, `only ${opened.chunks} chunks`);
				const body = await assertVeilRequest(opened.plaintext);
				const { bhttp, text } = await nodeResponse(body);
				const res = chunked
					? await ohttp.encapChunkedResponse(opened.state, bhttp, 11)
					: await ohttp.encapResponse(opened.state, bhttp);
				peer.send(chunked ? "chunked-response" : "response", res);
				assertSeenResponse(JSON.parse(await peer.expect("seen")), text);
				await peer.closeClean();
			});
		}
	}

	// d. Requests Veil must refuse, each to a fresh gateway (a failure is
	// final for the peer).
	const aead = 2;
	const r = nodeRequest(aead, 10);
	await check("d. Veil gateway refuses a request for an unknown key id", async () => {
		const g = await veilGateway();
		const bhttp = await encodeNodeRequest(r);
		const { message } = await ohttp.encapRequest(g.config, aead, bhttp, KEY_ID + 1);
		await expectRefused(g.peer, "request", message, /not found/);
	});
	await check("d. Veil gateway refuses a request with a flipped ciphertext byte", async () => {
		const g = await veilGateway();
		const { message } = await ohttp.encapRequest(g.config, aead, await encodeNodeRequest(r));
		message[message.length - 20] ^= 0x01;
		await expectRefused(g.peer, "request", message, /verification failed/);
	});
	await check("d. Veil gateway refuses a request with a flipped byte of enc", async () => {
		const g = await veilGateway();
		const { message } = await ohttp.encapRequest(g.config, aead, await encodeNodeRequest(r));
		message[10] ^= 0x80;
		await expectRefused(g.peer, "request", message, /^error /m);
	});
	await check("d. Veil gateway refuses a chunked request without its final chunk", async () => {
		const g = await veilGateway();
		const req = await ohttp.encapChunkedRequest(g.config, aead, await encodeNodeRequest(r), 20);
		const cut = ohttp.frameChunks(req.chunks.slice(0, -1));
		await expectRefused(g.peer, "chunked-request", ohttp.concat(req.prefix, cut), /truncated/);
	});
	await check("d. Veil gateway refuses a chunked request with a chunk posing as final", async () => {
		const g = await veilGateway();
		const req = await ohttp.encapChunkedRequest(g.config, aead, await encodeNodeRequest(r), 20);
		const cut = ohttp.frameChunks(passOffAsFinal(req.chunks.slice(0, -1)));
		await expectRefused(g.peer, "chunked-request", ohttp.concat(req.prefix, cut),
			/verification failed/);
	});
	await check("d. Veil gateway refuses a chunked request with two chunks swapped", async () => {
		const g = await veilGateway();
		const req = await ohttp.encapChunkedRequest(g.config, aead, await encodeNodeRequest(r), 20);
		const swapped = ohttp.frameChunks(swapFirstTwo(req.chunks));
		await expectRefused(g.peer, "chunked-request", ohttp.concat(req.prefix, swapped),
			/verification failed/);
	});
	await check("d. Veil client refuses a response with a flipped byte", async () => {
		const key = await ohttp.newGatewayKey(9, aead);
		const peer = new Peer(PEER, ["client", ohttp.hex(ohttp.encodeKeys([key.config]))]);
		const opened = await ohttp.decapRequest(key, ohttp.unhex(await peer.expect("request")));
		const res = await ohttp.encapResponse(opened.state, (await nodeResponse("x")).bhttp);
		res[res.length - 1] ^= 0x01;
		await expectRefused(peer, "response", res, /verification failed/);
	});

	finish();
}

main().catch(crashed("ohttp_interop.mjs"));
