import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import postgres from 'postgres';
import { compactVerify, createLocalJWKSet, decodeProtectedHeader, exportJWK, generateKeyPair, type JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { leafHash } from '../../src/merkle/hashes.js';
import { verifyConsistency, verifyInclusion } from '../../src/merkle/verify.js';
import { verifyDecisionReceipt } from '../../src/proof/verify-receipt.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { expectProblem } from '../helpers/problems.js';

/** Embedded databases started in this process block its event loop for seconds: no overload to shed. */
const NO_SHEDDING = { MAX_EVENT_LOOP_DELAY_MS: '0' };

let t: TestApp;
let admin: string;
let pipeline: string;
let auditor: string;

beforeAll(async () => {
  t = await startTestApp(NO_SHEDDING);
  admin = await t.bearer('admin');
  pipeline = await t.bearer('training:read');
  auditor = await t.bearer('audit:read');
  for (const u of ['p-ann', 'p-bob']) {
    await t.http
      .post(`/v1/users/${u}/terms-acceptances`)
      .set('authorization', admin)
      .send({ policyVersion: '2025-09-28', surface: 'web', trainingChoice: 'granted', plan: 'pro', presentation: { trainingToggleDefault: true, trainingToggleShown: true } })
      .expect(201);
    await t.http.put(`/v1/chats/${u}-chat`).set('authorization', admin).send({ userId: u }).expect(201);
  }
});

afterAll(async () => {
  await t?.close();
});

const servedKeys = async (app = t) => (await app.http.get('/.well-known/jwks.json').expect(200)).body as { keys: JWK[] };

/** Changes one byte of the JSON of the results: a character of a value, so that it still parses. */
function tamperOneByte(body: Record<string, unknown>): Record<string, unknown> {
  const json = JSON.stringify(body.results);
  const at = json.indexOf('p-ann-chat') + 2;
  return { ...body, results: JSON.parse(json.slice(0, at) + 'X' + json.slice(at + 1)) };
}

describe('decision receipts', () => {
  it('a single decision with receipt=true carries a JWS the served keys verify, over exactly that decision', async () => {
    const res = await t.http.get('/v1/chats/p-ann-chat/training-eligibility?receipt=true').set('authorization', pipeline).expect(200);
    expect(res.body.eligible).toBe(true);
    const keys = await servedKeys();
    const { payload, protectedHeader } = await compactVerify(res.body.receipt, createLocalJWKSet(keys), { algorithms: ['EdDSA'] });
    expect(protectedHeader).toMatchObject({ alg: 'EdDSA', kid: 'test-signing-key' });
    const claims = JSON.parse(new TextDecoder().decode(payload));
    expect(claims).toMatchObject({ iss: 'consent-service', asOf: res.body.asOf, revision: res.body.revision, count: 1 });
    expect(Object.keys(claims).sort()).toEqual(['asOf', 'count', 'iat', 'iss', 'resultsSha256', 'revision']);
    expect((await verifyDecisionReceipt(res.body, keys)).ok).toBe(true);

    const changed = { ...res.body, chatId: 'p-ann-chaX' };
    const check = await verifyDecisionReceipt(changed, keys);
    expect(check.ok).toBe(false);
    expect(check.problems.join()).toMatch(/resultsSha256/);
  });

  it('a batch with receipt: true is verified, and refused once a byte of its results changes', async () => {
    const res = await t.http
      .post('/v1/training-eligibility/batch')
      .set('authorization', pipeline)
      .send({ chatIds: ['p-ann-chat', 'p-bob-chat', 'unknown-chat', 'p-ann-chat'], receipt: true })
      .expect(200);
    expect(res.body.results).toHaveLength(4);
    const keys = await servedKeys();
    expect(await verifyDecisionReceipt(res.body, keys, 'consent-service')).toMatchObject({ ok: true, problems: [] });
    expect((await verifyDecisionReceipt(tamperOneByte(res.body), keys)).ok).toBe(false);
    expect((await verifyDecisionReceipt({ ...res.body, results: res.body.results.slice(1) }, keys)).ok).toBe(false);
    expect((await verifyDecisionReceipt({ ...res.body, revision: '1' }, keys)).ok).toBe(false);
    // Another key set (not the service's) does not verify it.
    const stranger = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
    const strangerKeys = { keys: [{ ...(await exportJWK(stranger.publicKey)), kid: 'test-signing-key', alg: 'EdDSA' }] };
    expect((await verifyDecisionReceipt(res.body, strangerKeys)).ok).toBe(false);
  });

  it('adds no receipt unless asked, and refuses a receipt value that is not a boolean', async () => {
    const single = await t.http.get('/v1/chats/p-ann-chat/training-eligibility').set('authorization', pipeline).expect(200);
    expect(single.body).not.toHaveProperty('receipt');
    const batch = await t.http.post('/v1/training-eligibility/batch').set('authorization', pipeline).send({ chatIds: ['p-ann-chat'] }).expect(200);
    expect(batch.body).not.toHaveProperty('receipt');
    expectProblem(await t.http.get('/v1/chats/p-ann-chat/training-eligibility?receipt=yes').set('authorization', pipeline), 400, 'VALIDATION_FAILED');
    expectProblem(
      await t.http.post('/v1/training-eligibility/batch').set('authorization', pipeline).send({ chatIds: ['p-ann-chat'], receipt: 'true' }),
      400,
      'VALIDATION_FAILED',
    );
  });

  it('keeps earlier receipts verifiable after a key rotation: the retired key stays published', async () => {
    const before = await t.http.get('/v1/chats/p-bob-chat/training-eligibility?receipt=true').set('authorization', pipeline).expect(200);
    const current = JSON.parse(readFileSync(t.keys.signingKeysFile, 'utf8')).keys[0];
    const next = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
    const dir = mkdtempSync(join(tmpdir(), 'consent-rotated-'));
    const rotated = join(dir, 'signing-keys.json');
    const { d: _private, ...retired } = current;
    writeFileSync(rotated, JSON.stringify({ keys: [{ ...(await exportJWK(next.privateKey)), kid: 'rotated-key' }, retired] }));
    const other = await startTestApp({ ...NO_SHEDDING, SIGNING_KEYS_FILE: rotated });
    try {
      const keys = await servedKeys(other);
      expect(keys.keys.map((k) => k.kid)).toEqual(expect.arrayContaining(['rotated-key', 'test-signing-key', 'test-key']));
      for (const k of keys.keys) expect(k).not.toHaveProperty('d');
      expect((await verifyDecisionReceipt(before.body, keys)).ok).toBe(true);
      const token = await other.bearer('training:read');
      const after = await other.http.get('/v1/chats/any-chat/training-eligibility?receipt=true').set('authorization', token).expect(200);
      expect(decodeProtectedHeader(after.body.receipt).kid).toBe('rotated-key');
      expect((await verifyDecisionReceipt(after.body, keys)).ok).toBe(true);
    } finally {
      await other.close();
    }
  });
});

describe('checkpoints and proofs', () => {
  const checkpoint = () => t.http.post('/v1/audit/checkpoints').set('authorization', admin);
  const feed = async () => (await t.http.get('/v1/audit/events?limit=1000').set('authorization', auditor).expect(200)).body.items as { revision: string; hash: string }[];

  it('signs a checkpoint of every event, names the previous root, and makes none when the log did not grow', async () => {
    const first = await checkpoint().expect(201);
    const events = await feed();
    expect(first.body.treeSize).toBe(events.length);
    expect(first.body.lastRevision).toBe(events.at(-1)!.revision);
    expect(first.body.previousRootHash).toBeNull();
    const keys = await servedKeys();
    const { payload } = await compactVerify(first.body.jws, createLocalJWKSet(keys));
    const { jws: _jws, ...body } = first.body;
    expect(JSON.parse(new TextDecoder().decode(payload))).toEqual(body);

    const again = await checkpoint().expect(200);
    expect(again.body).toEqual(first.body);

    await t.http.put('/v1/users/p-ann/training-consent').set('authorization', admin).send({ choice: 'denied', surface: 'web' }).expect(200);
    const second = await checkpoint().expect(201);
    expect(second.body.treeSize).toBe(first.body.treeSize + 1);
    expect(second.body.previousRootHash).toBe(first.body.rootHash);
    expect((await t.http.get('/v1/audit/checkpoints/latest').set('authorization', pipeline).expect(200)).body).toEqual(second.body);
    const list = await t.http.get('/v1/audit/checkpoints').set('authorization', auditor).expect(200);
    expect(list.body.items.map((c: { treeSize: number }) => c.treeSize)).toEqual([first.body.treeSize, second.body.treeSize]);

    const consistency = await t.http.get(`/v1/audit/proofs/consistency?from=${first.body.treeSize}&to=${second.body.treeSize}`).set('authorization', auditor).expect(200);
    const hex = (s: string) => Buffer.from(s, 'hex');
    expect(verifyConsistency(first.body.treeSize, second.body.treeSize, hex(first.body.rootHash), hex(second.body.rootHash), consistency.body.path.map(hex))).toBe(true);
    expect(verifyConsistency(first.body.treeSize, second.body.treeSize, hex(second.body.rootHash), hex(second.body.rootHash), consistency.body.path.map(hex))).toBe(false);
  });

  it('proves every event is in the tree of the latest checkpoint', async () => {
    const latest = (await checkpoint()).body;
    const events = await feed();
    for (const [i, e] of events.entries()) {
      const res = await t.http.get(`/v1/audit/proofs/inclusion?revision=${e.revision}`).set('authorization', pipeline).expect(200);
      expect(res.body).toMatchObject({ leafIndex: i, treeSize: latest.treeSize, rootHash: latest.rootHash });
      const ok = verifyInclusion(i, latest.treeSize, leafHash(Buffer.from(e.hash, 'hex')), res.body.path.map((p: string) => Buffer.from(p, 'hex')), Buffer.from(latest.rootHash, 'hex'));
      expect(ok, `revision ${e.revision}`).toBe(true);
    }
    // Against an earlier, smaller tree too.
    const small = await t.http.get(`/v1/audit/proofs/inclusion?revision=${events[1].revision}&treeSize=3`).set('authorization', auditor).expect(200);
    expect(small.body.treeSize).toBe(3);
  });

  it('answers problems for what it cannot prove', async () => {
    const state = (await checkpoint()).body;
    const events = await feed();
    expectProblem(await t.http.get(`/v1/audit/proofs/inclusion?revision=1&treeSize=${state.treeSize + 1}`).set('authorization', auditor), 400, 'VALIDATION_FAILED');
    expectProblem(await t.http.get(`/v1/audit/proofs/inclusion?revision=${events.at(-1)!.revision}&treeSize=1`).set('authorization', auditor), 422, 'UNPROCESSABLE');
    // A chat activity report takes a revision that is no event.
    await t.http.post('/v1/chats/p-bob-chat/activity').set('authorization', admin).send({}).expect(204);
    await t.http.put('/v1/users/p-bob/plan').set('authorization', admin).send({ plan: 'max' }).expect(200);
    await checkpoint().expect(201);
    const after = await feed();
    const gap = BigInt(after.at(-1)!.revision) - 1n;
    expect(after.some((e) => BigInt(e.revision) === gap)).toBe(false);
    expectProblem(await t.http.get(`/v1/audit/proofs/inclusion?revision=${gap}`).set('authorization', auditor), 404, 'NOT_FOUND');
    expectProblem(await t.http.get('/v1/audit/proofs/inclusion?revision=99999999').set('authorization', auditor), 422, 'UNPROCESSABLE');
    expectProblem(await t.http.get('/v1/audit/proofs/consistency?from=3&to=2').set('authorization', auditor), 400, 'VALIDATION_FAILED');
    expectProblem(await t.http.get('/v1/audit/proofs/consistency?from=0&to=2').set('authorization', auditor), 400, 'VALIDATION_FAILED');
    expectProblem(await t.http.get('/v1/audit/proofs/consistency?from=1&to=99999999').set('authorization', auditor), 400, 'VALIDATION_FAILED');
    expectProblem(await t.http.get('/v1/audit/checkpoints/latest'), 401, 'UNAUTHENTICATED');
    expectProblem(await t.http.get('/v1/audit/checkpoints/latest').set('authorization', await t.bearer('consent:read')), 403, 'FORBIDDEN');
    expectProblem(await t.http.post('/v1/audit/checkpoints').set('authorization', auditor), 403, 'FORBIDDEN');
  });

  it('makes checkpoints on its schedule when the log grew', async () => {
    const other = await startTestApp({ ...NO_SHEDDING, CHECKPOINT_INTERVAL_S: '1' });
    try {
      const token = await other.bearer('admin');
      await other.http.put('/v1/users/sched/plan').set('authorization', token).send({ plan: 'pro' }).expect(200);
      let latest = await other.http.get('/v1/audit/checkpoints/latest').set('authorization', token);
      for (let i = 0; i < 100 && latest.status === 404; i++) {
        await new Promise((r) => setTimeout(r, 100));
        latest = await other.http.get('/v1/audit/checkpoints/latest').set('authorization', token);
      }
      expect(latest.status).toBe(200);
      expect(latest.body.treeSize).toBe(2);
    } finally {
      await other.close();
    }
  });
});

describe('npm run receipt:verify', () => {
  it('exits 0 for a saved answer and the published keys, 1 once a byte of its results changed', async () => {
    const res = await t.http.post('/v1/training-eligibility/batch').set('authorization', pipeline).send({ chatIds: ['p-bob-chat', 'p-ann-chat'], receipt: true }).expect(200);
    const dir = mkdtempSync(join(tmpdir(), 'consent-receipt-'));
    const [answer, keys] = [join(dir, 'answer.json'), join(dir, 'keys.json')];
    writeFileSync(answer, JSON.stringify(res.body));
    writeFileSync(keys, JSON.stringify(await servedKeys()));
    const verify = async () => {
      try {
        const { stdout } = await promisify(execFile)('node', ['--import', 'tsx', 'src/cli/receipt-verify.ts', answer, '--jwks', keys]);
        return { code: 0, stdout };
      } catch (err) {
        return { code: (err as { code: number }).code, stdout: (err as { stdout: string }).stdout };
      }
    };
    const ok = await verify();
    expect(ok.stdout).toMatch(/receipt verifies: 2 result/);
    expect(ok.code).toBe(0);
    writeFileSync(answer, JSON.stringify(tamperOneByte(res.body)));
    const bad = await verify();
    expect(bad.code).toBe(1);
    expect(bad.stdout).toMatch(/resultsSha256/);
  });
});

describe.runIf(process.env.TEST_DATABASE === 'postgres')('a checkpoint covers settled revisions only', () => {
  it('waits for a revision still being written, and puts it in the tree before the later ones', async () => {
    const sql = postgres(t.url!, { max: 2, onnotice: () => {} });
    const writer = await sql.reserve();
    try {
      await writer`BEGIN`;
      await writer`SELECT consent_begin_write()`;
      const [{ r }] = await writer`SELECT nextval('revision_seq')::text AS r`;
      const later = await t.http.put('/v1/users/p-late/plan').set('authorization', admin).send({ plan: 'pro' }).expect(200);
      expect(BigInt(later.body.revision)).toBeGreaterThan(BigInt(r));
      let answered = false;
      const made = t.http.post('/v1/audit/checkpoints').set('authorization', admin).then((res) => {
        answered = true;
        return res;
      });
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(answered).toBe(false);
      // The late event commits now, below the revision already committed.
      await writer.unsafe(
        `INSERT INTO audit_events (revision, event_id, type, actor_kind, occurred_at, prev_hash, hash)
         VALUES ($1::bigint, gen_random_uuid()::text, 'test.late', 'service', now(), repeat('0', 64), repeat('ab', 32))`,
        [r],
      );
      await writer.unsafe(`INSERT INTO audit_event_personal (revision, data, actor_sub, request_id) VALUES ($1::bigint, '{}', 'test', 'late')`, [r]);
      await writer`COMMIT`;
      const cp = (await made).body;
      expect(cp.lastRevision).toBe(later.body.revision);
      const lateProof = (await t.http.get(`/v1/audit/proofs/inclusion?revision=${r}`).set('authorization', auditor).expect(200)).body;
      const laterProof = (await t.http.get(`/v1/audit/proofs/inclusion?revision=${later.body.revision}`).set('authorization', auditor).expect(200)).body;
      expect(lateProof.leafIndex).toBe(laterProof.leafIndex - 1);
      expect(verifyInclusion(lateProof.leafIndex, cp.treeSize, leafHash(Buffer.from('ab'.repeat(32), 'hex')), lateProof.path.map((p: string) => Buffer.from(p, 'hex')), Buffer.from(cp.rootHash, 'hex'))).toBe(true);
    } finally {
      writer.release();
      await sql.end();
    }
  });
});
