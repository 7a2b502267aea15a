// A Confidential Containers KBS protocol 0.4.0 client, written from the
// protocol (docs/kbs-protocol.md) on Node's fetch and the `jose` package,
// that drives a real veil-kbs on loopback through the whole RCAR handshake
// with the simulated TEE, and through the refusals the broker owes.
//
// Usage: node kbs_client.mjs   (environment: KBS_URL, KBS_EXPIRING_URL,
//   KBS_DEFAULT_URL, VEIL, SIM_DIR, WORKLOAD (colon-separated files),
//   WORKDIR, SECRET (the resource's expected content))
// Prints "ok <check>" or "FAIL <check>: <why>" per check, then a "#"
// summary; exits 1 if any check failed.
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import * as jose from "jose";
import { check, finish } from "./harness.mjs";

const env = (k) => {
	if (!process.env[k]) throw new Error(`${k} is not set`);
	return process.env[k];
};
const KBS = env("KBS_URL");
const ERR_PREFIX = "https://github.com/confidential-containers/kbs/errors/";

function expect(cond, why) {
	if (!cond) throw new Error(why);
}

async function post(base, path, body, cookie) {
	const headers = { "content-type": "application/json" };
	if (cookie) headers.cookie = cookie;
	const res = await fetch(base + path, {
		method: "POST",
		headers,
		body: typeof body === "string" ? body : JSON.stringify(body),
	});
	return { res, text: await res.text() };
}
async function get(base, path, headers = {}) {
	const res = await fetch(base + path, { headers });
	return { res, text: await res.text() };
}
function expectError(r, status, name) {
	expect(r.res.status === status, `status ${r.res.status}, want ${status}: ${r.text}`);
	const e = JSON.parse(r.text);
	expect(e.type === ERR_PREFIX + name, `error type ${e.type}, want ${name}`);
	expect(typeof e.detail === "string" && e.detail.length > 0, "no detail");
}

// The TEE's key pair and its public JWK in kbs-types member order.
async function teeKey(kind) {
	if (kind === "rsa") {
		const { publicKey, privateKey } = await jose.generateKeyPair("RSA-OAEP-256", {
			modulusLength: 2048,
			extractable: true,
		});
		const j = await jose.exportJWK(publicKey);
		return { privateKey, jwk: { kty: "RSA", alg: "RSA-OAEP-256", n: j.n, e: j.e } };
	}
	const { publicKey, privateKey } = await jose.generateKeyPair("ECDH-ES+A256KW", {
		crv: "P-256",
		extractable: true,
	});
	const j = await jose.exportJWK(publicKey);
	return { privateKey, jwk: { kty: "EC", crv: "P-256", alg: "ECDH-ES+A256KW", x: j.x, y: j.y } };
}

async function auth(base, tee = "sim") {
	const r = await post(base, "/kbs/v0/auth", { version: "0.4.0", tee, "extra-params": "" });
	expect(r.res.status === 200, `auth: ${r.res.status} ${r.text}`);
	const setCookie = r.res.headers.get("set-cookie") || "";
	const m = /^kbs-session-id=([0-9a-f]{32}); Expires=[^;]+ GMT$/.exec(setCookie);
	expect(m, `auth: Set-Cookie "${setCookie}"`);
	const body = JSON.parse(r.text);
	return { cookie: `kbs-session-id=${m[1]}`, nonce: body.nonce, body };
}

// Evidence from the sim TEE bound to exactly the runtime data KBS hashes.
let evidenceCount = 0;
function simEvidence(nonce, teePubkey, additional = "") {
	const dir = env("WORKDIR");
	const n = evidenceCount++;
	const rt = { "additional-evidence": additional, nonce, "tee-pubkey": teePubkey };
	writeFileSync(`${dir}/rt${n}.json`, JSON.stringify(rt));
	const args = ["attest", "--tee", "sim", "--sim", env("SIM_DIR"), "--runtime-data",
		`${dir}/rt${n}.json`, "--out", `${dir}/ev${n}.json`];
	for (const w of env("WORKLOAD").split(":")) args.push("--workload", w);
	execFileSync(env("VEIL"), args, { stdio: ["ignore", "ignore", "inherit"] });
	return JSON.parse(readFileSync(`${dir}/ev${n}.json`, "utf8")).primary_evidence;
}

function attestBody(nonce, teePubkey, primary, additional = "") {
	return {
		"init-data": null,
		"runtime-data": { nonce, "tee-pubkey": teePubkey },
		"tee-evidence": { primary_evidence: primary, additional_evidence: additional },
	};
}

// A whole handshake; returns the session and the token.
async function handshake(base, key) {
	const s = await auth(base);
	const ev = simEvidence(s.nonce, key.jwk);
	const r = await post(base, "/kbs/v0/attest", attestBody(s.nonce, key.jwk, ev), s.cookie);
	expect(r.res.status === 200, `attest: ${r.res.status} ${r.text}`);
	return { ...s, token: JSON.parse(r.text).token, evidence: ev };
}

const EC_HEADER =
	/^\{"alg":"ECDH-ES\+A256KW","enc":"A256GCM","epk":\{"crv":"P-256","kty":"EC","x":"[A-Za-z0-9_-]{43}","y":"[A-Za-z0-9_-]{43}"\}\}$/;
const SECRET = env("SECRET");
const RES = "/kbs/v0/resource/default/model/key";

const ec = await teeKey("ec");
let main;

await check("healthz", async () => {
	const r = await get(KBS, "/healthz");
	expect(r.res.status === 200 && JSON.parse(r.text).status === "ok", r.text);
});
await check("auth: nonce of 32 bytes in padded base64, empty extra-params, session cookie", async () => {
	const s = await auth(KBS);
	expect(/^[A-Za-z0-9+/]{43}=$/.test(s.nonce), `nonce ${s.nonce}`);
	expect(Buffer.from(s.nonce, "base64").length === 32, "nonce length");
	expect(s.body["extra-params"] === "", "extra-params");
	const t = await auth(KBS);
	expect(t.nonce !== s.nonce && t.cookie !== s.cookie, "fresh nonce and session each time");
});
await check("auth: another protocol version is refused", async () => {
	const r = await post(KBS, "/kbs/v0/auth", { version: "0.3.0", tee: "sim", "extra-params": "" });
	expectError(r, 400, "AttestationError");
	expect(/Version Mismatch/.test(JSON.parse(r.text).detail), "names the mismatch");
});
await check("auth: unknown TEE, missing member, bad JSON are refused", async () => {
	expectError(await post(KBS, "/kbs/v0/auth", { version: "0.4.0", tee: "nope", "extra-params": "" }), 400, "AttestationError");
	expectError(await post(KBS, "/kbs/v0/auth", { version: "0.4.0", tee: "sim" }), 400, "AttestationError");
	expectError(await post(KBS, "/kbs/v0/auth", "{not json"), 400, "AttestationError");
});
await check("attest: sim evidence bound to the nonce and key gets an EAR token", async () => {
	main = await handshake(KBS, ec);
	const { payload, protectedHeader } = await jose.jwtVerify(main.token, jose.EmbeddedJWK, {
		algorithms: ["ES256"],
	});
	expect(protectedHeader.alg === "ES256" && protectedHeader.jwk.crv === "P-256", "header");
	expect(payload.eat_profile === "tag:github.com,2023:veraison/ear", `eat_profile ${payload.eat_profile}`);
	expect(payload.submods.cpu0["ear.status"] === "affirming", `status ${payload.submods.cpu0["ear.status"]}`);
	expect(payload.exp - payload.iat === 300, "five-minute token");
	const claims = payload.submods.cpu0["ear.veraison.annotated-evidence"].runtime_data_claims;
	expect(claims["tee-pubkey"].x === ec.jwk.x, "the token names the TEE key");
});
await check("attest: an attested session returns its token again", async () => {
	const r = await post(KBS, "/kbs/v0/attest", attestBody(main.nonce, ec.jwk, main.evidence), main.cookie);
	expect(r.res.status === 200 && JSON.parse(r.text).token === main.token, r.text);
});
await check("resource: a JWE whose header bytes are exactly CoCo's, decrypted by jose", async () => {
	const r = await get(KBS, RES, { cookie: main.cookie });
	expect(r.res.status === 200, `${r.res.status} ${r.text}`);
	const jwe = JSON.parse(r.text);
	expect(Object.keys(jwe).join(",") === "protected,encrypted_key,iv,ciphertext,tag", `members ${Object.keys(jwe)}`);
	const header = Buffer.from(jwe.protected, "base64url").toString("utf8");
	expect(EC_HEADER.test(header), `protected header ${header}`);
	expect(Buffer.from(jwe.encrypted_key, "base64url").length === 40, "A256KW-wrapped key");
	const { plaintext } = await jose.flattenedDecrypt(jwe, ec.privateKey);
	expect(Buffer.from(plaintext).toString("utf8") === SECRET, "plaintext");
});
await check("resource: the token as a bearer credential, without the cookie", async () => {
	const r = await get(KBS, RES, { authorization: `Bearer ${main.token}` });
	expect(r.res.status === 200, `${r.res.status} ${r.text}`);
	const { plaintext } = await jose.flattenedDecrypt(JSON.parse(r.text), ec.privateKey);
	expect(Buffer.from(plaintext).toString("utf8") === SECRET, "plaintext");
});
await check("resource: RSA-OAEP-256 TEE key", async () => {
	const rsa = await teeKey("rsa");
	const s = await handshake(KBS, rsa);
	const r = await get(KBS, RES, { cookie: s.cookie });
	expect(r.res.status === 200, `${r.res.status} ${r.text}`);
	const jwe = JSON.parse(r.text);
	const header = Buffer.from(jwe.protected, "base64url").toString("utf8");
	expect(header === '{"alg":"RSA-OAEP-256","enc":"A256GCM"}', `header ${header}`);
	const { plaintext } = await jose.flattenedDecrypt(jwe, rsa.privateKey);
	expect(Buffer.from(plaintext).toString("utf8") === SECRET, "plaintext");
});
await check("resource: no cookie and no token is 401 (the client attests again)", async () => {
	expectError(await get(KBS, RES), 401, "TokenNotFound");
});
await check("resource: a forged or altered token is 401", async () => {
	const [h, p, s] = main.token.split(".");
	const claims = JSON.parse(Buffer.from(p, "base64url"));
	claims.exp += 3600;
	const forged = [h, Buffer.from(JSON.stringify(claims)).toString("base64url"), s].join(".");
	expectError(await get(KBS, RES, { authorization: `Bearer ${forged}` }), 401, "TokenNotFound");
	const { privateKey } = await jose.generateKeyPair("ES256");
	const other = await new jose.SignJWT(claims).setProtectedHeader({ alg: "ES256" }).sign(privateKey);
	expectError(await get(KBS, RES, { authorization: `Bearer ${other}` }), 401, "TokenNotFound");
});
await check("resource: a path the policy does not name is 403, before existence is checked", async () => {
	expectError(await get(KBS, "/kbs/v0/resource/default/other/secret", { cookie: main.cookie }), 403, "PolicyDeny");
	expectError(await get(KBS, "/kbs/v0/resource/default/other/absent", { cookie: main.cookie }), 403, "PolicyDeny");
});
await check("resource: allowed but absent is 404; a bad path is 404", async () => {
	expectError(await get(KBS, "/kbs/v0/resource/default/model/absent", { cookie: main.cookie }), 404, "ResourceNotFound");
	expectError(await get(KBS, "/kbs/v0/resource/default/model", { cookie: main.cookie }), 404, "InvalidRequestPath");
	expectError(await get(KBS, "/kbs/v0/resource/default/../key", { cookie: main.cookie }), 404, "InvalidRequestPath");
	expectError(await get(KBS, "/kbs/v0/resource/default/a..b/key", { cookie: main.cookie }), 404, "InvalidRequestPath");
});
await check("attest: a session cookie the broker never issued is 401", async () => {
	const s = await auth(KBS);
	const ev = simEvidence(s.nonce, ec.jwk);
	const r = await post(KBS, "/kbs/v0/attest", attestBody(s.nonce, ec.jwk, ev), "kbs-session-id=" + "0".repeat(32));
	expectError(r, 401, "AttestationError");
	expectError(await post(KBS, "/kbs/v0/attest", attestBody(s.nonce, ec.jwk, ev)), 401, "AttestationError");
});
await check("attest: a replayed nonce (another session's) is 401", async () => {
	const s = await auth(KBS);
	const r = await post(KBS, "/kbs/v0/attest", attestBody(main.nonce, ec.jwk, main.evidence), s.cookie);
	expectError(r, 401, "AttestationError");
});
await check("attest: tampered evidence is 401", async () => {
	const s = await auth(KBS);
	const raw = Buffer.from(simEvidence(s.nonce, ec.jwk), "base64");
	raw[0x20] ^= 1;
	const r = await post(KBS, "/kbs/v0/attest", attestBody(s.nonce, ec.jwk, raw.toString("base64")), s.cookie);
	expectError(r, 401, "AttestationError");
	// and the session can still attest with genuine evidence afterwards
	const ok = await post(KBS, "/kbs/v0/attest", attestBody(s.nonce, ec.jwk, simEvidence(s.nonce, ec.jwk)), s.cookie);
	expect(ok.res.status === 200, `genuine after tampered: ${ok.res.status}`);
});
await check("attest: evidence bound to another key is 401", async () => {
	const other = await teeKey("ec");
	const s = await auth(KBS);
	const ev = simEvidence(s.nonce, other.jwk);
	expectError(await post(KBS, "/kbs/v0/attest", attestBody(s.nonce, ec.jwk, ev), s.cookie), 401, "AttestationError");
});
await check("attest: additional evidence not bound into the report is 401", async () => {
	const s = await auth(KBS);
	const ev = simEvidence(s.nonce, ec.jwk, "");
	expectError(await post(KBS, "/kbs/v0/attest", attestBody(s.nonce, ec.jwk, ev, "[]"), s.cookie), 401, "AttestationError");
});
await check("attest: an RSA1_5 key is refused", async () => {
	const rsa = await teeKey("rsa");
	const key = { ...rsa.jwk, alg: "RSA1_5" };
	const s = await auth(KBS);
	const ev = simEvidence(s.nonce, key);
	const r = await post(KBS, "/kbs/v0/attest", attestBody(s.nonce, key, ev), s.cookie);
	expectError(r, 401, "AttestationError");
	expect(/RSA1_5/.test(JSON.parse(r.text).detail), "says why");
});
await check("attest: malformed requests are 400", async () => {
	const s = await auth(KBS);
	expectError(await post(KBS, "/kbs/v0/attest", "[]", s.cookie), 400, "AttestationError");
	const body = attestBody(s.nonce, ec.jwk, "AA==");
	body.extra = 1;
	expectError(await post(KBS, "/kbs/v0/attest", body, s.cookie), 400, "AttestationError");
	const noAdd = attestBody(s.nonce, ec.jwk, "AA==");
	delete noAdd["tee-evidence"].additional_evidence;
	expectError(await post(KBS, "/kbs/v0/attest", noAdd, s.cookie), 400, "AttestationError");
});
await check("attest: an expired session is 401", async () => {
	const base = env("KBS_EXPIRING_URL");
	const s = await auth(base);
	const ev = simEvidence(s.nonce, ec.jwk);
	await new Promise((r) => setTimeout(r, 2100));
	expectError(await post(base, "/kbs/v0/attest", attestBody(s.nonce, ec.jwk, ev), s.cookie), 401, "AttestationError");
});
await check("token lifetime: the attested session's cookie lasts no longer than its token", async () => {
	const base = env("KBS_SHORT_TOKEN_URL");
	const s = await handshake(base, ec);
	const r1 = await get(base, RES, { cookie: s.cookie });
	expect(r1.res.status === 200, `at once: ${r1.res.status} ${r1.text}`);
	await new Promise((r) => setTimeout(r, 2100));
	expectError(await get(base, RES, { cookie: s.cookie }), 401, "TokenNotFound");
	expectError(await get(base, RES, { authorization: `Bearer ${s.token}` }), 401, "TokenNotFound");
});
await check("default policy: no sim root is trusted, so sim evidence gets no token", async () => {
	const base = env("KBS_DEFAULT_URL");
	const s = await auth(base);
	const ev = simEvidence(s.nonce, ec.jwk);
	expectError(await post(base, "/kbs/v0/attest", attestBody(s.nonce, ec.jwk, ev), s.cookie), 401, "AttestationError");
	expectError(await get(base, RES, { cookie: s.cookie }), 401, "TokenNotFound");
});

// CoCo's sample TEE: report_data = SHA-384(JCS(runtime data)), unpadded.
// The runtime data here holds only strings, for which JCS is JSON with
// members sorted by name (RFC 8785 section 3.2.3).
function jcs(v) {
	if (typeof v !== "object" || v === null) return JSON.stringify(v);
	return "{" + Object.keys(v).sort().map((k) => JSON.stringify(k) + ":" + jcs(v[k])).join(",") + "}";
}
function sampleEvidence(nonce, teePubkey, additional = "", pad = 0) {
	const rd = { "additional-evidence": additional, nonce, "tee-pubkey": teePubkey };
	const digest = createHash("sha384").update(jcs(rd)).digest();
	return { svn: "1", report_data: Buffer.concat([digest, Buffer.alloc(pad)]).toString("base64") };
}
async function sampleAttest(base, key, mutate = (e) => e, additional = "") {
	const s = await auth(base, "sample");
	const ev = mutate(sampleEvidence(s.nonce, key.jwk, additional));
	const r = await post(base, "/kbs/v0/attest", attestBody(s.nonce, key.jwk, ev, additional), s.cookie);
	return { ...s, r };
}
await check("sample: a policy without a sample section gets a token that is not affirming, and no resource", async () => {
	const s = await sampleAttest(KBS, ec);
	expect(s.r.res.status === 200, `${s.r.res.status} ${s.r.text}`);
	const { payload } = await jose.jwtVerify(JSON.parse(s.r.text).token, jose.EmbeddedJWK);
	expect(payload.submods.cpu0["ear.status"] === "contraindicated", `status ${payload.submods.cpu0["ear.status"]}`);
	expectError(await get(KBS, RES, { cookie: s.cookie }), 403, "PolicyDeny");
});
await check("sample: a policy that names it affirms it (insecure), and the resource is released", async () => {
	const base = env("KBS_SAMPLE_URL");
	const s = await sampleAttest(base, ec);
	expect(s.r.res.status === 200, `${s.r.res.status} ${s.r.text}`);
	const { payload } = await jose.jwtVerify(JSON.parse(s.r.text).token, jose.EmbeddedJWK);
	expect(payload.submods.cpu0["ear.status"] === "affirming" && payload["veil.insecure"] === true, "affirming, insecure");
	const r = await get(base, RES, { cookie: s.cookie });
	expect(r.res.status === 200, `${r.res.status} ${r.text}`);
	const { plaintext } = await jose.flattenedDecrypt(JSON.parse(r.text), ec.privateKey);
	expect(Buffer.from(plaintext).toString("utf8") === SECRET, "plaintext");
});
await check("sample: report data for another nonce, padded, or with devices is 401", async () => {
	const base = env("KBS_SAMPLE_URL");
	const other = (e) => sampleEvidence("another-nonce", ec.jwk);
	expectError((await sampleAttest(base, ec, other)).r, 401, "AttestationError");
	const padded = (e) => ({ ...e, report_data: Buffer.concat([Buffer.from(e.report_data, "base64"), Buffer.alloc(16)]).toString("base64") });
	expectError((await sampleAttest(base, ec, padded)).r, 401, "AttestationError");
	expectError((await sampleAttest(base, ec, (e) => e, "[]")).r, 401, "AttestationError");
	expectError((await sampleAttest(base, ec, (e) => ({ ...e, extra: 1 }))).r, 401, "AttestationError");
});

finish();
