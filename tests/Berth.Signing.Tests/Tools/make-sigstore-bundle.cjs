// Makes a sigstore bundle offline with @sigstore/sign (no Fulcio, no Rekor, no TSA: witnesses = []).
// usage: node make-sigstore-bundle.cjs <message|dsse> <private-key.pem> <public-key.pem> <artifact-file> <hint|-> <out.json>
// The signature itself comes from Node's crypto (OpenSSL), the bundle layout from @sigstore/sign and @sigstore/bundle.
'use strict';
const fs = require('fs');
const crypto = require('crypto');
const { DSSEBundleBuilder, MessageSignatureBundleBuilder } = require('@sigstore/sign');
const { bundleToJSON } = require('@sigstore/bundle');

async function main() {
  const [mode, keyPath, pubPath, artifactPath, hint, outPath] = process.argv.slice(2);
  const privateKey = crypto.createPrivateKey(fs.readFileSync(keyPath));
  const publicKey = fs.readFileSync(pubPath, 'utf8');
  const signer = {
    sign: async (data) => ({
      signature: privateKey.asymmetricKeyType === 'ed25519' ? crypto.sign(null, data, privateKey) : crypto.sign('sha256', data, privateKey),
      key: { $case: 'publicKey', publicKey, hint: hint === '-' ? undefined : hint },
    }),
  };
  const builder = mode === 'dsse'
    ? new DSSEBundleBuilder({ signer, witnesses: [] })
    : new MessageSignatureBundleBuilder({ signer, witnesses: [] });
  const artifact = { data: fs.readFileSync(artifactPath) };
  if (mode === 'dsse') {
    artifact.type = 'application/vnd.in-toto+json';
  }
  const bundle = await builder.create(artifact);
  fs.writeFileSync(outPath, JSON.stringify(bundleToJSON(bundle)));
}

main().catch((err) => {
  console.error(err && err.stack ? err.stack : String(err));
  process.exit(1);
});
