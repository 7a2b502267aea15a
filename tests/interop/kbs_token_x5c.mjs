// Checks a veil-kbs token signed by a configured key with a certificate
// chain (veil-kbs --token-key --token-cert), as a relying party that
// trusts the chain rather than the key would: the header's jwk carries
// x5c (RFC 7517 section 4.7, standard base64 DER, leaf first); jose
// imports the leaf certificate and verifies the JWT with it, and the
// certificate's key must be the jwk's.
//
// Usage: node kbs_token_x5c.mjs TOKEN-FILE LEAF-PEM-FILE
// Prints "ok <check>" or "FAIL <check>: <why>" per check; exits 1 on failure.
import { readFileSync } from "node:fs";
import * as jose from "jose";
import { check, finish } from "./harness.mjs";

const token = readFileSync(process.argv[2], "utf8").trim();
const leafPem = readFileSync(process.argv[3], "utf8");
const header = jose.decodeProtectedHeader(token);

function expect(cond, why) {
	if (!cond) throw new Error(why);
}
const derOf = (pem) =>
	Buffer.from(pem.replace(/-----[A-Z ]+-----/g, "").replace(/\s+/g, ""), "base64");

await check("x5c: two standard-base64 certificates in the header's jwk, leaf first", async () => {
	expect(header.alg === "ES256" && header.typ === "JWT", JSON.stringify(header));
	const x5c = header.jwk && header.jwk.x5c;
	expect(Array.isArray(x5c) && x5c.length === 2, `x5c ${JSON.stringify(x5c)}`);
	for (const c of x5c) expect(/^[A-Za-z0-9+/]+={0,2}$/.test(c), "not standard base64");
	expect(Buffer.from(x5c[0], "base64").equals(derOf(leafPem)), "x5c[0] is not the leaf");
});
await check("x5c: jose verifies the token with the leaf certificate's key", async () => {
	const pem = `-----BEGIN CERTIFICATE-----\n${header.jwk.x5c[0]}\n-----END CERTIFICATE-----\n`;
	const key = await jose.importX509(pem, "ES256");
	const { payload } = await jose.jwtVerify(token, key, { algorithms: ["ES256"] });
	expect(typeof payload.exp === "number" && payload.submods && payload.submods.cpu0,
		"claims");
	const fromCert = await jose.exportJWK(key);
	expect(fromCert.x === header.jwk.x && fromCert.y === header.jwk.y,
		"the certificate's key is not the header's jwk");
});
finish();
