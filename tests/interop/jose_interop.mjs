// jose_interop.mjs - Veil's JOSE layer against an independent
// implementation: the jose package from npm (pinned in package-lock.json).
//
//   node tests/interop/jose_interop.mjs PATH/TO/jose_peer
//
// Veil's side is the jose_peer program (see its header comment for the line
// protocol). The checks, in the roles of the KBS protocol:
//   a. Veil encrypts a KBS resource to a TEE key made by jose (EC P-256,
//      P-384, P-521 and RSA-OAEP-256) and jose decrypts it; the protected
//      header must be exactly the bytes CoCo's guest rebuilds for the AAD
//      (docs/jose.md), and the JWE members those of kbs-types' Response.
//   b. jose verifies Veil's ES256 JWT (also with the key in the header, as
//      an EAR token carries it) and Veil's EdDSA, ES384 and ES512 JWS, and
//      computes the same RFC 7638 thumbprints.
//   c. Veil decrypts jose's JWEs (ECDH-ES+A256KW with A256GCM, with and
//      without apu/apv and a JWE AAD; RSA-OAEP-256) and verifies jose's
//      ES256 and EdDSA JWTs, with keys made by either side.
//   d. Veil refuses: a JWE with RSA1_5, a TEE key asking for RSA1_5, JWTs
//      with "alg" none or HS256, an expired JWT, an algorithm not allowed,
//      an unprotected JWE header, and a JWE with a flipped tag.
// Prints "ok NAME" or "FAIL NAME: why" for each check, then a "#" summary;
// exits 1 if any check failed.

import assert from "node:assert/strict";
import crypto from "node:crypto";
import * as jose from "jose";
import { check, crashed, finish, LinePeer } from "./harness.mjs";

const PEER = process.argv[2];
if (!PEER) {
	console.error("usage: node jose_interop.mjs PATH/TO/jose_peer");
	process.exit(2);
}
const NOW = Math.floor(Date.now() / 1000);
const te = new TextEncoder();
const td = new TextDecoder();
const hex = (s) => Buffer.from(typeof s === "string" ? te.encode(s) : s).toString("hex");

// The one jose_peer process: a command out, one line back.
class Peer extends LinePeer {
	// Sends a command; returns [tag, payload] of the answer.
	async run(...words) {
		this.write(words.join(" "));
		const l = await this.line();
		if (l === null) throw new Error(`jose_peer exited${this.why()}`);
		const sp = l.indexOf(" ");
		return [l.slice(0, sp), l.slice(sp + 1)];
	}

	// A command that must succeed with the given tag.
	async expect(tag, ...words) {
		const [got, payload] = await this.run(...words);
		assert.equal(got, tag, `jose_peer said "${got} ${payload.slice(0, 300)}"`);
		return payload;
	}

	// A command Veil must refuse; the error must match `why`.
	async refuse(why, ...words) {
		const [got, payload] = await this.run(...words);
		assert.equal(got, "error", `jose_peer accepted: ${got} ${payload.slice(0, 200)}`);
		assert.match(payload, why);
	}
}

// --- What CoCo's guest does with a resource response (docs/jose.md) ---

// kbs-types' ProtectedHeader: alg, enc, then the other members from a
// serde_json map, whose keys (and those of "epk") come out sorted.
function sortDeep(v) {
	if (Array.isArray(v)) return v.map(sortDeep);
	if (v && typeof v === "object")
		return Object.fromEntries(Object.keys(v).sort().map((k) => [k, sortDeep(v[k])]));
	return v;
}
function cocoHeaderBytes(h) {
	const { alg, enc, ...rest } = h;
	return JSON.stringify({ alg, enc, ...sortDeep(rest) });
}

const RESPONSE_MEMBERS = ["protected", "encrypted_key", "iv", "ciphertext", "tag"];

// A TEE key as the guest makes one, and its JWK as it sends it.
async function teeKey(alg, options) {
	const { publicKey, privateKey } = await jose.generateKeyPair(alg, { extractable: true, ...options });
	const pub = await jose.exportJWK(publicKey);
	const priv = await jose.exportJWK(privateKey);
	return { pub: { ...pub, alg }, priv, privateKey };
}

async function veilEncryptsTo(peer, name, tee, crv) {
	const tp = await peer.expect("thumbprint", "import-public", name, hex(JSON.stringify(tee.pub)));
	assert.equal(tp, await jose.calculateJwkThumbprint(tee.pub));
	const secret = `resource for ${name}: ${crypto.randomBytes(24).toString("hex")}`;
	const jwe = JSON.parse(await peer.expect("jwe", "encrypt", name, hex(secret)));
	assert.deepEqual(Object.keys(jwe), RESPONSE_MEMBERS);
	// "with the private JWK": the key goes through its JWK form.
	const key = await jose.importJWK(tee.priv, tee.pub.alg);
	const { plaintext, protectedHeader } = await jose.flattenedDecrypt(jwe, key);
	assert.equal(td.decode(plaintext), secret);
	const bytes = Buffer.from(jwe.protected, "base64url").toString();
	if (crv) {
		const { x, y } = protectedHeader.epk;
		assert.equal(bytes, `{"alg":"ECDH-ES+A256KW","enc":"A256GCM","epk":` +
			`{"crv":"${crv}","kty":"EC","x":"${x}","y":"${y}"}}`);
	} else {
		assert.equal(bytes, '{"alg":"RSA-OAEP-256","enc":"A256GCM"}');
	}
	assert.equal(cocoHeaderBytes(JSON.parse(bytes)), bytes, "CoCo's rebuilt AAD differs");
}

async function main() {
	const peer = new Peer(PEER);

	// --- a. Veil encrypts, jose decrypts ---
	for (const crv of ["P-256", "P-384", "P-521"]) {
		await check(`a. Veil JWE to a jose EC ${crv} TEE key opens in jose; exact CoCo header`,
			async () => veilEncryptsTo(peer, `tee-${crv}`,
				await teeKey("ECDH-ES+A256KW", { crv }), crv));
	}
	await check("a. Veil JWE to a jose RSA-OAEP-256 TEE key opens in jose; exact header",
		async () => veilEncryptsTo(peer, "tee-rsa",
			await teeKey("RSA-OAEP-256", { modulusLength: 2048 }), null));

	// --- b. Veil signs, jose verifies ---
	await check("b. Veil's ES256 JWT verifies in jose, and the thumbprints agree", async () => {
		const jwk = JSON.parse(await peer.expect("jwk", "keygen", "ear", "p256"));
		const tp = await peer.expect("thumbprint", "thumbprint", "ear");
		assert.equal(tp, await jose.calculateJwkThumbprint(jwk));
		const claims = { iss: "veil-kbs", iat: NOW, exp: NOW + 300, "eat_profile": "tag:test" };
		const jwt = await peer.expect("jwt", "jwt-sign", "ear", hex(JSON.stringify(claims)));
		const { payload, protectedHeader } = await jose.jwtVerify(jwt,
			await jose.importJWK(jwk, "ES256"), { algorithms: ["ES256"] });
		assert.deepEqual(payload, claims);
		assert.deepEqual(protectedHeader, { alg: "ES256", typ: "JWT" });
	});
	await check("b. Veil's ES256 JWT with its key in the header verifies in jose (EAR form)",
		async () => {
			const jwk = JSON.parse(await peer.expect("jwk", "keygen", "ear2", "p256"));
			const header = { typ: "JWT", jwk: { ...jwk, alg: "ES256" } };
			const claims = { iss: "veil-kbs", exp: NOW + 300 };
			const jws = await peer.expect("jws", "sign", "ear2", hex(JSON.stringify(header)),
				hex(JSON.stringify(claims)));
			const { payload, protectedHeader } = await jose.jwtVerify(jws, jose.EmbeddedJWK,
				{ algorithms: ["ES256"] });
			assert.deepEqual(payload, claims);
			assert.deepEqual(Object.keys(protectedHeader), ["alg", "typ", "jwk"]);
		});
	for (const [type, alg] of [["ed25519", "EdDSA"], ["p384", "ES384"], ["p521", "ES512"]]) {
		await check(`b. Veil's ${alg} JWS verifies in jose`, async () => {
			const jwk = JSON.parse(await peer.expect("jwk", "keygen", `s-${type}`, type));
			const data = crypto.randomBytes(40);
			const jws = await peer.expect("jws", "sign", `s-${type}`, "-", hex(data));
			const { payload, protectedHeader } = await jose.compactVerify(jws,
				await jose.importJWK(jwk, alg), { algorithms: [alg] });
			assert.deepEqual(Buffer.from(payload), data);
			assert.deepEqual(protectedHeader, { alg });
			assert.equal(await peer.expect("thumbprint", "thumbprint", `s-${type}`),
				await jose.calculateJwkThumbprint(jwk));
		});
	}

	// --- c. jose encrypts and signs, Veil decrypts and verifies ---
	const kbsKeys = {};
	for (const [type, alg] of [["p256", "ECDH-ES+A256KW"], ["p521", "ECDH-ES+A256KW"],
		["rsa2048", "RSA-OAEP-256"]]) {
		await check(`c. jose's ${alg} JWE to a Veil ${type} key opens in Veil`, async () => {
			const jwk = JSON.parse(await peer.expect("jwk", "keygen", `k-${type}`, type));
			kbsKeys[type] = jwk;
			const key = await jose.importJWK(jwk, alg);
			const secret = crypto.randomBytes(33);
			const jwe = await new jose.FlattenedEncrypt(secret)
				.setProtectedHeader({ alg, enc: "A256GCM" }).encrypt(key);
			assert.equal(await peer.expect("plaintext", "decrypt", `k-${type}`,
				hex(JSON.stringify(jwe))), secret.toString("hex"));
		});
	}
	await check("c. jose's JWE with apu, apv and a JWE AAD opens in Veil", async () => {
		const key = await jose.importJWK(kbsKeys.p256, "ECDH-ES+A256KW");
		const jwe = await new jose.FlattenedEncrypt(te.encode("with aad"))
			.setProtectedHeader({ alg: "ECDH-ES+A256KW", enc: "A256GCM", kid: "kbs" })
			.setKeyManagementParameters({ apu: te.encode("Alice"), apv: te.encode("Bob") })
			.setAdditionalAuthenticatedData(te.encode("model=llama"))
			.encrypt(key);
		assert.ok(jwe.aad, "no aad member");
		const header = JSON.parse(Buffer.from(jwe.protected, "base64url").toString());
		assert.equal(header.apu, "QWxpY2U");
		assert.equal(await peer.expect("plaintext", "decrypt", "k-p256",
			hex(JSON.stringify(jwe))), hex("with aad"));
		// The same JWE with the "aad" member changed does not open.
		await peer.refuse(/does not decrypt/, "decrypt", "k-p256",
			hex(JSON.stringify({ ...jwe, aad: Buffer.from("model=llamb").toString("base64url") })));
	});
	await check("c. a jose private JWK imported into Veil decrypts jose's JWE", async () => {
		const tee = await teeKey("ECDH-ES+A256KW", { crv: "P-256" });
		const tp = await peer.expect("thumbprint", "import-private", "nodepriv",
			hex(JSON.stringify(tee.priv)));
		assert.equal(tp, await jose.calculateJwkThumbprint(tee.pub));
		const jwe = await new jose.FlattenedEncrypt(te.encode("to an imported key"))
			.setProtectedHeader({ alg: "ECDH-ES+A256KW", enc: "A256GCM" })
			.encrypt(await jose.importJWK(tee.pub, "ECDH-ES+A256KW"));
		assert.equal(await peer.expect("plaintext", "decrypt", "nodepriv",
			hex(JSON.stringify(jwe))), hex("to an imported key"));
	});
	const signers = {};
	for (const alg of ["ES256", "EdDSA"]) {
		await check(`c. jose's ${alg} JWT verifies in Veil`, async () => {
			const { publicKey, privateKey } = await jose.generateKeyPair(alg,
				{ extractable: true, crv: alg === "EdDSA" ? "Ed25519" : undefined });
			const jwk = await jose.exportJWK(publicKey);
			signers[alg] = { privateKey, jwk };
			await peer.expect("thumbprint", "import-public", `admin-${alg}`, hex(JSON.stringify(jwk)));
			const jwt = await new jose.SignJWT({ sub: "admin", scope: "resource:write" })
				.setProtectedHeader({ alg }).setIssuedAt(NOW).setExpirationTime(NOW + 300)
				.sign(privateKey);
			const claims = JSON.parse(await peer.expect("claims", "jwt-verify", `admin-${alg}`,
				"ES256,EdDSA", String(NOW), hex(jwt)));
			assert.deepEqual(claims, jose.decodeJwt(jwt));
			// The same JWS through the plain verifier.
			const v = JSON.parse(await peer.expect("verified", "verify", `admin-${alg}`, alg,
				hex(jwt)));
			assert.equal(v.alg, alg);
			assert.deepEqual(v.header, { alg });
		});
	}
	await check("c. jose's EdDSA compact JWS of binary data verifies in Veil", async () => {
		const data = crypto.randomBytes(64);
		const jws = await new jose.CompactSign(data).setProtectedHeader({ alg: "EdDSA", kid: "x" })
			.sign(signers.EdDSA.privateKey);
		const v = JSON.parse(await peer.expect("verified", "verify", "admin-EdDSA", "EdDSA",
			hex(jws)));
		assert.equal(v.payload_hex, data.toString("hex"));
		assert.deepEqual(v.header, { alg: "EdDSA", kid: "x" });
	});

	// --- d. What Veil refuses ---
	await check("d. Veil refuses a JWE with RSA1_5 (built with node:crypto; jose has none)",
		async () => {
			const rsaKey = crypto.createPublicKey({ key: kbsKeys.rsa2048, format: "jwk" });
			const cek = crypto.randomBytes(32);
			const iv = crypto.randomBytes(12);
			const protectedB64 = Buffer.from('{"alg":"RSA1_5","enc":"A256GCM"}').toString("base64url");
			const cipher = crypto.createCipheriv("aes-256-gcm", cek, iv);
			cipher.setAAD(Buffer.from(protectedB64));
			const ct = Buffer.concat([cipher.update("rsa1_5"), cipher.final()]);
			const jwe = {
				protected: protectedB64,
				encrypted_key: crypto.publicEncrypt(
					{ key: rsaKey, padding: crypto.constants.RSA_PKCS1_PADDING }, cek)
					.toString("base64url"),
				iv: iv.toString("base64url"),
				ciphertext: ct.toString("base64url"),
				tag: cipher.getAuthTag().toString("base64url"),
			};
			await peer.refuse(/RSA1_5.*padding-oracle/, "decrypt", "k-rsa2048",
				hex(JSON.stringify(jwe)));
		});
	await check("d. Veil refuses to encrypt to a TEE key that asks for RSA1_5", async () => {
		const tee = await teeKey("RSA-OAEP-256", { modulusLength: 2048 });
		await peer.expect("thumbprint", "import-public", "tee-rsa15",
			hex(JSON.stringify({ ...tee.pub, alg: "RSA1_5" })));
		await peer.refuse(/RSA1_5/, "encrypt", "tee-rsa15", hex("x"));
	});
	await check("d. Veil refuses jose's unsecured JWT (alg none)", async () => {
		const jwt = new jose.UnsecuredJWT({ sub: "admin" }).setExpirationTime(NOW + 300).encode();
		await peer.refuse(/"none"/, "jwt-verify", "admin-ES256", "ES256,EdDSA", String(NOW),
			hex(jwt));
	});
	await check("d. Veil refuses an HS256 JWT keyed with the public JWK", async () => {
		const secret = te.encode(JSON.stringify(signers.ES256.jwk));
		const jwt = await new jose.SignJWT({ sub: "admin" }).setProtectedHeader({ alg: "HS256" })
			.setExpirationTime(NOW + 300).sign(secret);
		await peer.refuse(/HS256.*not supported/, "jwt-verify", "admin-ES256", "ES256,EdDSA",
			String(NOW), hex(jwt));
	});
	await check("d. Veil refuses an expired jose JWT and one without exp", async () => {
		const expired = await new jose.SignJWT({ sub: "admin" }).setProtectedHeader({ alg: "ES256" })
			.setExpirationTime(NOW - 10).sign(signers.ES256.privateKey);
		await peer.refuse(/expired/, "jwt-verify", "admin-ES256", "ES256", String(NOW),
			hex(expired));
		const noExp = await new jose.SignJWT({ sub: "admin" }).setProtectedHeader({ alg: "ES256" })
			.sign(signers.ES256.privateKey);
		await peer.refuse(/no "exp"/, "jwt-verify", "admin-ES256", "ES256", String(NOW),
			hex(noExp));
	});
	await check("d. Veil refuses a jose ES256 JWT where only EdDSA is allowed", async () => {
		const jwt = await new jose.SignJWT({ sub: "admin" }).setProtectedHeader({ alg: "ES256" })
			.setExpirationTime(NOW + 300).sign(signers.ES256.privateKey);
		await peer.refuse(/not allowed/, "jwt-verify", "admin-ES256", "EdDSA", String(NOW),
			hex(jwt));
	});
	await check("d. Veil refuses jose's JWE with an unprotected header, or a flipped tag",
		async () => {
			const key = await jose.importJWK(kbsKeys.p256, "ECDH-ES+A256KW");
			const unprotected = await new jose.FlattenedEncrypt(te.encode("x"))
				.setProtectedHeader({ enc: "A256GCM" })
				.setUnprotectedHeader({ alg: "ECDH-ES+A256KW" }).encrypt(key);
			await peer.refuse(/unprotected/, "decrypt", "k-p256", hex(JSON.stringify(unprotected)));
			const jwe = await new jose.FlattenedEncrypt(te.encode("x"))
				.setProtectedHeader({ alg: "ECDH-ES+A256KW", enc: "A256GCM" }).encrypt(key);
			const tag = Buffer.from(jwe.tag, "base64url");
			tag[0] ^= 1;
			await peer.refuse(/does not decrypt/, "decrypt", "k-p256",
				hex(JSON.stringify({ ...jwe, tag: tag.toString("base64url") })));
		});

	await check("jose_peer exits cleanly at the end of its input", async () => {
		await peer.closeClean();
		assert.doesNotMatch(peer.stderr, /Sanitizer|runtime error/, `sanitizer report${peer.why()}`);
	});

	finish();
}

main().catch(crashed("jose_interop.mjs"));
