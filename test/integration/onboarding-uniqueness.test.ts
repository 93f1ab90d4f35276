import { randomUUID } from 'node:crypto';
import { APIGatewayClient, GetApiKeysCommand } from '@aws-sdk/client-api-gateway';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import * as Cell from '@cellbook/core/cells/cell';
import { documentClient } from '@cellbook/core/shared/dynamo';
import { sdkCredentials } from '@cellbook/local/aws/local-iam';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootTestPlatform, type TestPlatform } from '../support/platform.js';

/**
 * One name, one tenant; one new admin, one tenant. A name that differs from a tenant's only by
 * invisible characters or look-alike letters is that tenant's name, and of two onboardings racing
 * for the same new admin e-mail the loser is refused and leaves nothing behind: no tenant record,
 * no cell slot, no API key, no counters.
 */
let env: TestPlatform;

beforeAll(async () => {
  env = await bootTestPlatform();
  // The checks below read the platform's own stores with the control plane's environment.
  Object.assign(process.env, env.platform.controlPlaneEnv);
});
afterAll(() => env?.stop());

const onboard = (body: unknown) => env.call('POST', '/admin/tenants', { token: env.operatorToken, body });

async function tenantNames(): Promise<string[]> {
  const names: string[] = [];
  let cursor: string | null = null;
  do {
    const page: { body: { items: { name: string }[]; nextCursor: string | null } } = await env.call('GET', `/admin/tenants?limit=100${cursor ? `&cursor=${cursor}` : ''}`, {
      token: env.operatorToken,
    });
    names.push(...page.body.items.map((tenant: { name: string }) => tenant.name));
    cursor = page.body.nextCursor;
  } while (cursor);
  return names;
}

/** Everything the platform holds for tenants whose id starts with `slug-` (ids lead with a slug of the name). */
async function leftoversOf(slug: string) {
  const db = documentClient({
    region: env.platform.region,
    endpoint: env.platform.endpoints.dynamodb,
    credentials: sdkCredentials(env.platform.sessionFor('arn:aws:iam::000000000000:role/cellbook-local-platform-admin')),
  });
  const scan = async (table: string) =>
    (await db.send(new ScanCommand({ TableName: table, FilterExpression: 'begins_with(PK, :pk)', ExpressionAttributeValues: { ':pk': `TENANT#${slug}-` } }))).Items ?? [];
  const keys = await new APIGatewayClient({}).send(new GetApiKeysCommand({ nameQuery: `tenant-${slug}-`, limit: 500 }));
  const slots = (await Cell.list()).flatMap((cell) => [...(cell.tenants ?? [])]).filter((tenantId) => tenantId.startsWith(`${slug}-`));
  return {
    registry: await scan(env.platform.controlPlaneEnv.TENANTS_TABLE!),
    cellItems: (await Promise.all(env.platform.cells.map((cell) => scan(cell.tableName)))).flat(),
    apiKeys: keys.items ?? [],
    slots,
  };
}

describe('tenant names', () => {
  // Each disguise is tried against a first tenant named `<First> <Second> <run>`.
  it.each([
    ['full-width letters and other case', 'Acme Tools', (name: string) => name.toUpperCase().replace('O', '\uff2f')],
    ['a word wholly in Cyrillic look-alikes', 'Acme Tools', (name: string) => name.replace('Tools', '\u0422\u043e\u043e\u04cf\u0455')],
    ['a word wholly in Greek capitals', 'Optima Labs', (name: string) => name.replace('Optima', '\u039f\u03a1\u03a4\u0399\u039c\u0391')],
    ['a capital I for an l', 'Global Tools', (name: string) => name.replace('Global', 'GIobal')],
    ['"rn" for "m"', 'Firm Works', (name: string) => name.replace('Firm', 'Firrn')],
    ['"VV" for "W"', 'Wave Crew', (name: string) => name.replace('Wave', 'VVave')],
    ['a small capital ᴌ for an l', 'Delta Crew', (name: string) => name.replace('Delta', 'De\u1d0cta')],
    ['a combining low line on a letter', 'Acme Works', (name: string) => name.replace('Acme', 'Acme\u0332')],
    ['a combining dot above a letter', 'Acme Works', (name: string) => name.replace('Acme', 'Acme\u0307')],
  ])('refuses a second tenant whose name differs only by %s: 409 TENANT_NAME_TAKEN', async (label, first, disguise) => {
    const run = randomUUID().slice(0, 8);
    const name = `${first} ${run}`;
    expect((await onboard({ name, tier: 'basic', adminEmail: `first-${run}@example.com` })).status).toBe(201);
    const before = await tenantNames();
    const twin = disguise(name);
    expect(twin, label).not.toBe(name);
    const response = await onboard({ name: twin, tier: 'basic', adminEmail: `second-${run}@example.com` });
    expect(response.status, JSON.stringify(response.body)).toBe(409);
    expect(response.body.error.code).toBe('TENANT_NAME_TAKEN');
    expect(await tenantNames()).toEqual(before);
  });

  it.each([
    ['a zero-width space', 'Acme Tools', (name: string) => name.replace(' ', '\u200b '), 'invisible'],
    ['a braille blank (U+2800) for a space', 'Acme Tools', (name: string) => name.replace(' ', '\u2800'), 'invisible'],
    ['a trailing braille blank (U+2800)', 'Acme Tools', (name: string) => `${name}\u2800`, 'invisible'],
    ['a Cyrillic "о" for the Latin "o" in a Latin word', 'Acme Tools', (name: string) => name.replace('o', '\u043e'), 'script'],
    ['a Greek capital Alpha for "A" in a Latin word', 'Acme Tools', (name: string) => name.replace('A', '\u0391'), 'script'],
    ['Armenian "օ" for "o" in a Latin word', 'Acme Novo', (name: string) => name.replace('Novo', 'N\u0585v\u0585'), 'script'],
    ['a Lisu "ꓮ" for "A" in a Latin word', 'Alpha Team', (name: string) => name.replace('A', '\ua4ee'), 'script'],
    ['a Cherokee "Ꭺ" for "A" in a Latin word', 'Alpha Crew', (name: string) => name.replace('A', '\u13aa'), 'script'],
  ])('refuses a name with %s: 422 VALIDATION_FAILED, and onboards nobody', async (label, first, disguise, why) => {
    const run = randomUUID().slice(0, 8);
    const twin = disguise(`${first} ${run}`);
    expect(twin, label).not.toBe(`${first} ${run}`);
    const before = await tenantNames();
    const response = await onboard({ name: twin, tier: 'basic', adminEmail: `second-${run}@example.com` });
    expect(response.status).toBe(422);
    expect(response.body.error.code).toBe('VALIDATION_FAILED');
    expect(JSON.stringify(response.body.error)).toContain(why === 'script' ? 'must not mix Latin letters with letters of another script' : 'invisible characters');
    expect(await tenantNames()).toEqual(before);
  });

  it('onboards a name wholly in another script, and a name whose words are in different scripts', async () => {
    const run = randomUUID().slice(0, 8);
    for (const name of [`Москва Тех ${run}`, `Ωμέγα Labs ${run}`, `東京 Systems ${run}`]) {
      const response = await onboard({ name, tier: 'basic', adminEmail: `script-${randomUUID().slice(0, 8)}@example.com` });
      expect(response.status, JSON.stringify(response.body)).toBe(201);
      expect(response.body.name).toBe(name);
    }
  });

  it('stores the name as people read it: NFKC, white space collapsed', async () => {
    const run = randomUUID().slice(0, 8);
    const response = await onboard({ name: `  Ｇｌｏｂｅｘ\u00a0\u00a0Corp ${run} `, tier: 'basic', adminEmail: `globex-${run}@example.com` });
    expect(response.status).toBe(201);
    expect(response.body.name).toBe(`Globex Corp ${run}`);
  });

  it('refuses a name with a bidi override or a control character with 422, and onboards nobody', async () => {
    const before = await tenantNames();
    for (const name of ['Acme\u202eproC', 'Acme\u0000Corp', 'Acme\u2066Corp\u2069']) {
      const response = await onboard({ name, tier: 'basic', adminEmail: `bidi-${randomUUID().slice(0, 8)}@example.com` });
      expect(response.status, JSON.stringify(name)).toBe(422);
      expect(response.body.error.code).toBe('VALIDATION_FAILED');
    }
    expect(await tenantNames()).toEqual(before);
  });
});

describe('two onboardings at once with the same new admin e-mail', () => {
  it('onboards exactly one; the other answers 409 USER_ALREADY_EXISTS and leaves nothing behind (several rounds)', async () => {
    for (let round = 0; round < 4; round++) {
      const run = randomUUID().slice(0, 8);
      const adminEmail = `race-${run}@example.com`;
      const racers = [`Racer A ${run}`, `Racer B ${run}`];
      const answers = await Promise.all(racers.map((name) => onboard({ name, tier: 'basic', adminEmail })));
      expect(answers.map((answer) => answer.status).sort(), JSON.stringify(answers.map((answer) => answer.body))).toEqual([201, 409]);
      const loser = answers.findIndex((answer) => answer.status === 409);
      expect(answers[loser]!.body.error.code).toBe('USER_ALREADY_EXISTS');

      const names = await tenantNames();
      expect(names).toContain(racers[1 - loser]);
      expect(names).not.toContain(racers[loser]);
      const loserSlug = `racer-${loser === 0 ? 'a' : 'b'}-${run}`;
      expect(await leftoversOf(loserSlug)).toEqual({ registry: [], cellItems: [], apiKeys: [], slots: [] });
      // The positive control: the winner holds all four.
      const winner = await leftoversOf(`racer-${loser === 0 ? 'b' : 'a'}-${run}`);
      expect(winner.registry.some((item) => item.SK === 'TENANT')).toBe(true);
      expect([winner.cellItems.length > 0, winner.apiKeys.length, winner.slots.length]).toEqual([true, 1, 1]);

      // Its name is free again: the loser onboards with another admin.
      expect((await onboard({ name: racers[loser], tier: 'basic', adminEmail: `other-${run}@example.com` })).status).toBe(201);
    }
  }, 120_000);

  it('gives the admin e-mail back when its tenant is offboarded: a new tenant may use it', async () => {
    const run = randomUUID().slice(0, 8);
    const adminEmail = `returning-${run}@example.com`;
    const first = await onboard({ name: `First Home ${run}`, tier: 'basic', adminEmail });
    expect(first.status).toBe(201);
    expect((await onboard({ name: `Second Home ${run}`, tier: 'basic', adminEmail })).status).toBe(409);
    const asOperator = { token: env.operatorToken };
    expect((await env.call('POST', `/admin/tenants/${first.body.tenantId}/suspend`, asOperator)).status).toBe(200);
    expect((await env.call('DELETE', `/admin/tenants/${first.body.tenantId}`, asOperator)).status).toBe(200);
    const second = await onboard({ name: `Second Home ${run}`, tier: 'basic', adminEmail });
    expect(second.status, JSON.stringify(second.body)).toBe(201);
  }, 60_000);
});
