import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compactVerify, createLocalJWKSet, exportJWK, generateKeyPair } from 'jose';
import { describe, expect, it } from 'vitest';
import { DEV_SIGNING_KEYS_FILE, loadSigner, newSigningKey, Signer } from '../../src/proof/signing-keys.js';

describe('signing keys', () => {
  it('makes development keys in DATA_DIR once and signs with them', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'consent-signing-'));
    const first = await loadSigner({ file: null, dataDir: dir, issuer: 'svc' });
    const again = await loadSigner({ file: null, dataDir: dir, issuer: 'svc' });
    expect(first.development).toBe(true);
    expect(again.kid).toBe(first.kid);
    expect(JSON.parse(readFileSync(join(dir, DEV_SIGNING_KEYS_FILE), 'utf8')).keys[0]).toHaveProperty('d');
    const jws = await first.sign({ b: 1, a: 2 }, 'test+jws');
    const { payload, protectedHeader } = await compactVerify(jws, createLocalJWKSet(again.publicJwks));
    expect(new TextDecoder().decode(payload)).toBe('{"a":2,"b":1}');
    expect(protectedHeader).toEqual({ alg: 'EdDSA', kid: first.kid, typ: 'test+jws', iss: 'svc' });
    for (const k of first.publicJwks.keys) expect(k).not.toHaveProperty('d');
  });

  it('signs with the first key of SIGNING_KEYS_FILE and publishes the retired ones', async () => {
    const current = await newSigningKey();
    const { d: _d, ...retired } = await newSigningKey();
    const dir = mkdtempSync(join(tmpdir(), 'consent-signing-'));
    const file = join(dir, 'keys.json');
    writeFileSync(file, JSON.stringify({ keys: [current, retired] }));
    const signer = await loadSigner({ file, dataDir: dir, issuer: 'svc' });
    expect(signer.development).toBe(false);
    expect(signer.kid).toBe(current.kid);
    expect(signer.publicJwks.keys.map((k) => k.kid)).toEqual([current.kid, retired.kid]);
  });

  it('refuses key sets it cannot sign with', async () => {
    const rsa = await generateKeyPair('RS256', { extractable: true });
    const { d: _d, ...publicOnly } = await newSigningKey();
    const key = await newSigningKey();
    await expect(Signer.fromJwks({ keys: [] }, 'svc', false, 'f')).rejects.toThrow(/no signing key/);
    await expect(Signer.fromJwks({ keys: [await exportJWK(rsa.privateKey)] }, 'svc', false, 'f')).rejects.toThrow(/not an Ed25519 key/);
    await expect(Signer.fromJwks({ keys: [publicOnly] }, 'svc', false, 'f')).rejects.toThrow(/private part/);
    await expect(Signer.fromJwks({ keys: [key, { ...key, d: undefined }] }, 'svc', false, 'f')).rejects.toThrow(/share a kid/);
    await expect(loadSigner({ file: '/nonexistent/keys.json', dataDir: '/tmp', issuer: 'svc' })).rejects.toThrow(/SIGNING_KEYS_FILE/);
  });
});
