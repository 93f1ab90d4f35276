import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { EventBridgeClient, PutEventsCommand, type PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { InvalidEventPatternError, UnsupportedEventPatternError } from './eventbridge-pattern.js';
import { LocalIam, sdkCredentials } from './local-iam.js';
import { createLocalEventBridge, type DeadLetter, type EventBridgeEvent, type LocalEventBridge } from './eventbridge.js';
import { eventBusArn } from './eventbridge/bus-arns.js';
import type { AuthorizationRequest, Authorize, RoleSession } from './types.js';
import { fakeAuthenticate, fakeRoleSession } from './test-credentials.js';

const BUS = 'cellbook-test';
const NOW = Date.UTC(2024, 4, 1, 12, 0, 0, 750);

/** Access key id → the role session it stands for, and the bus ARNs that role may publish to. */
const sessions = new Map<string, { session: RoleSession; buses: Set<string> }>([
  ['AKIAPUBLISHER', { session: fakeRoleSession('AKIAPUBLISHER', 'control-plane'), buses: new Set([eventBusArn('default'), eventBusArn(BUS), eventBusArn('missing-bus')]) }],
  ['AKIACELLONLY', { session: fakeRoleSession('AKIACELLONLY', 'cell-function'), buses: new Set([eventBusArn(BUS)]) }],
]);

const authenticate = fakeAuthenticate((id) => sessions.get(id)?.session);

const authorizations: AuthorizationRequest[] = [];
const authorize: Authorize = async (session, request) => {
  authorizations.push(request);
  const ok = request.action === 'events:PutEvents' && (sessions.get(session.accessKeyId)?.buses.has(request.resource) ?? false);
  return { allowed: ok, reason: ok ? 'allowed by test policy' : 'because no identity-based policy allows the events:PutEvents action' };
};

let server: Server;
let endpoint: string;
let bridge: LocalEventBridge;
let publisher: EventBridgeClient;
let cellOnly: EventBridgeClient;
let stranger: EventBridgeClient;
let sinkEntries: DeadLetter[];
let unknownBus: { name: string; event: EventBridgeEvent }[];
let sleeps: number[];

function client(accessKeyId: string): EventBridgeClient {
  return new EventBridgeClient({ endpoint, region: 'us-east-1', maxAttempts: 1, credentials: { accessKeyId, secretAccessKey: 'secret' } });
}

function entry(overrides: Partial<PutEventsRequestEntry> = {}): PutEventsRequestEntry {
  return {
    EventBusName: BUS,
    Source: 'cellbook.control',
    DetailType: 'TenantActivated',
    Detail: JSON.stringify({ tenantId: 't-1', tier: 'basic' }),
    ...overrides,
  };
}

/** A target that records what it receives and fails its first `failures` deliveries. */
function recordingTarget(id: string, failures = 0) {
  const received: EventBridgeEvent[] = [];
  let calls = 0;
  return {
    received,
    calls: () => calls,
    target: {
      id,
      deliver: async (event: EventBridgeEvent) => {
        calls++;
        if (calls <= failures) throw new TypeError(`${id} is down (call ${calls})`);
        received.push(event);
      },
    },
  };
}

beforeAll(async () => {
  server = createServer((req, res) => bridge.listener(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  publisher = client('AKIAPUBLISHER');
  cellOnly = client('AKIACELLONLY');
  stranger = client('AKIAUNKNOWN');
});

beforeEach(() => {
  sinkEntries = [];
  unknownBus = [];
  sleeps = [];
  authorizations.length = 0;
  bridge = createLocalEventBridge({
    authenticate,
    authorize,
    now: () => NOW,
    maxAttempts: 3,
    retryDelayMs: 20,
    // Records the backoff and waits only a tick, so retry tests stay fast and deterministic.
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    onDeadLetter: (deadLetter) => sinkEntries.push(deadLetter),
    onUnknownBus: (name, event) => unknownBus.push({ name, event }),
  });
  bridge.createEventBus(BUS);
});

afterAll(async () => {
  for (const c of [publisher, cellOnly, stranger]) c.destroy();
  await new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
});

describe('PutEvents', () => {
  it('accepts entries, returns their EventIds and hands targets the EventBridge envelope', async () => {
    const activation = recordingTarget('metering');
    bridge.putRule({ name: 'tenant-activated', eventBusName: BUS, eventPattern: { source: ['cellbook.control'] }, targets: [activation.target] });

    const response = await publisher.send(
      new PutEventsCommand({
        Entries: [
          entry({ Resources: ['arn:aws:dynamodb:us-east-1:000000000000:table/cellbook'] }),
          entry({ DetailType: 'TenantSuspended', Time: new Date('2024-04-30T08:15:30.999Z') }),
        ],
      }),
    );
    await bridge.drain();

    expect(response.$metadata.httpStatusCode).toBe(200);
    expect(response.FailedEntryCount).toBe(0);
    const ids = (response.Entries ?? []).map((result) => result.EventId);
    expect(ids).toEqual([expect.stringMatching(/^[0-9a-f-]{36}$/), expect.stringMatching(/^[0-9a-f-]{36}$/)]);
    expect(activation.received).toEqual([
      {
        version: '0',
        id: ids[0],
        'detail-type': 'TenantActivated',
        source: 'cellbook.control',
        account: '000000000000',
        time: '2024-05-01T12:00:00Z',
        region: 'us-east-1',
        resources: ['arn:aws:dynamodb:us-east-1:000000000000:table/cellbook'],
        detail: { tenantId: 't-1', tier: 'basic' },
      },
      expect.objectContaining({ id: ids[1], 'detail-type': 'TenantSuspended', time: '2024-04-30T08:15:30Z', resources: [] }),
    ]);
  });

  it('reports invalid entries one by one with HTTP 200 and counts them in FailedEntryCount', async () => {
    const target = recordingTarget('all');
    bridge.putRule({ name: 'everything', eventBusName: BUS, eventPattern: { account: ['000000000000'] }, targets: [target.target] });

    const response = await publisher.send(
      new PutEventsCommand({
        Entries: [
          entry({ Source: undefined }),
          entry(),
          entry({ DetailType: undefined }),
          entry({ Detail: undefined }),
          entry({ Detail: 'not json' }),
          entry({ Detail: '["an", "array"]' }),
        ],
      }),
    );
    await bridge.drain();

    expect(response.$metadata.httpStatusCode).toBe(200);
    expect(response.FailedEntryCount).toBe(5);
    expect(response.Entries).toEqual([
      { ErrorCode: 'InvalidArgument', ErrorMessage: 'Parameter Source is not valid. Reason: Source is a required argument.' },
      { EventId: expect.any(String) },
      { ErrorCode: 'InvalidArgument', ErrorMessage: 'Parameter DetailType is not valid. Reason: DetailType is a required argument.' },
      { ErrorCode: 'InvalidArgument', ErrorMessage: 'Parameter Detail is not valid. Reason: Detail is a required argument.' },
      { ErrorCode: 'MalformedDetail', ErrorMessage: 'Detail is malformed.' },
      { ErrorCode: 'MalformedDetail', ErrorMessage: 'Detail is malformed.' },
    ]);
    // Only the accepted entry is delivered.
    expect(target.received.map((event) => event.id)).toEqual([response.Entries?.[1]?.EventId]);
  });

  it('refuses a request with no entries or more than ten with ValidationException', async () => {
    await expect(publisher.send(new PutEventsCommand({ Entries: [] }))).rejects.toMatchObject({
      name: 'ValidationException',
      message: expect.stringContaining('Member must have length greater than or equal to 1'),
      $metadata: { httpStatusCode: 400 },
    });
    await expect(publisher.send(new PutEventsCommand({ Entries: Array.from({ length: 11 }, () => entry()) }))).rejects.toMatchObject({
      name: 'ValidationException',
      message: expect.stringContaining('Member must have length less than or equal to 10'),
    });
  });

  it('refuses a request whose entries total more than 256 KB, and accepts one of exactly 256 KB', async () => {
    const target = recordingTarget('big');
    bridge.putRule({ name: 'big', eventBusName: BUS, eventPattern: { source: ['cellbook.control'] }, targets: [target.target] });
    // Source (16) + DetailType (15) + Detail: the documented entry size, summed over the request.
    const detailOfSize = (bytes: number) => JSON.stringify({ pad: 'x'.repeat(bytes - '{"pad":""}'.length) });
    const half = 128 * 1024 - 16 - 15;

    await expect(publisher.send(new PutEventsCommand({ Entries: [entry({ Detail: detailOfSize(half) }), entry({ Detail: detailOfSize(half + 1) })] }))).rejects.toMatchObject({
      name: 'ValidationException',
      message: 'Total size of the entries in the request is over the limit.',
    });

    const accepted = await publisher.send(new PutEventsCommand({ Entries: [entry({ Detail: detailOfSize(half) }), entry({ Detail: detailOfSize(half) })] }));
    await bridge.drain();
    expect(accepted.FailedEntryCount).toBe(0);
    expect(target.calls()).toBe(2);
  });

  it('returns before any target runs', async () => {
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const started: string[] = [];
    let markStarted: () => void = () => undefined;
    const targetStarted = new Promise<void>((resolve) => {
      markStarted = resolve;
    });
    bridge.putRule({
      name: 'slow',
      eventBusName: BUS,
      eventPattern: { source: ['cellbook.control'] },
      targets: [
        {
          id: 'slow',
          deliver: async (event) => {
            started.push(event.id);
            markStarted();
            await gate;
          },
        },
      ],
    });

    // If PutEvents awaited its targets this would never resolve.
    const response = await publisher.send(new PutEventsCommand({ Entries: [entry()] }));
    expect(response.FailedEntryCount).toBe(0);

    let drained = false;
    const draining = bridge.drain().then(() => {
      drained = true;
    });
    await targetStarted;
    await new Promise((resolve) => setImmediate(resolve));
    expect(started).toHaveLength(1);
    expect(drained).toBe(false);
    release();
    await draining;
    expect(drained).toBe(true);
  });

  it('delivers only to rules whose pattern matches, on the bus the entry names', async () => {
    const activated = recordingTarget('activated');
    const cellEvents = recordingTarget('cell');
    const onDefault = recordingTarget('default');
    bridge.putRule({ name: 'activated', eventBusName: BUS, eventPattern: { 'detail-type': ['TenantActivated'] }, targets: [activated.target] });
    bridge.putRule({
      name: 'cells',
      eventBusName: BUS,
      eventPattern: { source: [{ prefix: 'cellbook.cell.' }], detail: { tenantId: [{ exists: true }] } },
      targets: [cellEvents.target],
    });
    bridge.putRule({ name: 'activated', eventPattern: { 'detail-type': ['TenantActivated'] }, targets: [onDefault.target] });

    await publisher.send(
      new PutEventsCommand({
        Entries: [
          entry(),
          entry({ Source: 'cellbook.cell.c-1', DetailType: 'CaseCreated' }),
          entry({ Source: 'cellbook.cell.c-1', DetailType: 'CellHeartbeat', Detail: JSON.stringify({ scope: 'system' }) }),
          entry({ EventBusName: eventBusArn('default') }),
        ],
      }),
    );
    await bridge.drain();

    expect(activated.received.map((event) => event['detail-type'])).toEqual(['TenantActivated']);
    expect(cellEvents.received.map((event) => event['detail-type'])).toEqual(['CaseCreated']);
    // The ARN form of EventBusName reaches the same bus as its name.
    expect(onDefault.received).toHaveLength(1);
  });

  it('accepts an entry for a bus that does not exist and drops it, as AWS does, telling onUnknownBus', async () => {
    const target = recordingTarget('anywhere');
    bridge.putRule({ name: 'anything', eventBusName: BUS, eventPattern: { source: ['cellbook.control'] }, targets: [target.target] });

    const response = await publisher.send(new PutEventsCommand({ Entries: [entry({ EventBusName: 'missing-bus' })] }));
    await bridge.drain();

    expect(response.FailedEntryCount).toBe(0);
    expect(response.Entries?.[0]?.EventId).toEqual(expect.any(String));
    expect(target.calls()).toBe(0);
    expect(unknownBus).toEqual([{ name: 'missing-bus', event: expect.objectContaining({ id: response.Entries?.[0]?.EventId }) }]);
  });

  it('stops delivering to a rule once it is removed', async () => {
    const target = recordingTarget('removed');
    bridge.putRule({ name: 'temporary', eventBusName: BUS, eventPattern: { source: ['cellbook.control'] }, targets: [target.target] });
    bridge.removeRule('temporary', BUS);

    await publisher.send(new PutEventsCommand({ Entries: [entry()] }));
    await bridge.drain();
    expect(target.calls()).toBe(0);
  });
});

describe('delivery retries and dead letters', () => {
  it('retries a failing target and delivers the event once when it recovers', async () => {
    const flaky = recordingTarget('flaky', 2);
    bridge.putRule({ name: 'flaky', eventBusName: BUS, eventPattern: { source: ['cellbook.control'] }, targets: [flaky.target] });

    await publisher.send(new PutEventsCommand({ Entries: [entry()] }));
    await bridge.drain();

    expect(flaky.calls()).toBe(3);
    expect(flaky.received).toHaveLength(1);
    expect(sleeps).toEqual([20, 40]);
    expect(bridge.deadLetters()).toEqual([]);
  });

  it('dead-letters the event after maxAttempts failures and passes it to onDeadLetter', async () => {
    const broken = recordingTarget('broken', Number.POSITIVE_INFINITY);
    const healthy = recordingTarget('healthy');
    bridge.putRule({ name: 'fan-out', eventBusName: BUS, eventPattern: { source: ['cellbook.control'] }, targets: [broken.target, healthy.target] });

    const response = await publisher.send(new PutEventsCommand({ Entries: [entry()] }));
    await bridge.drain();

    const expected: DeadLetter = {
      eventBusName: BUS,
      ruleName: 'fan-out',
      targetId: 'broken',
      event: expect.objectContaining({ id: response.Entries?.[0]?.EventId, source: 'cellbook.control' }) as EventBridgeEvent,
      error: 'TypeError: broken is down (call 3)',
      attempts: 3,
    };
    expect(broken.calls()).toBe(3);
    expect(bridge.deadLetters()).toEqual([expected]);
    expect(sinkEntries).toEqual([expected]);
    // One target failing does not hold back the others.
    expect(healthy.received).toHaveLength(1);
  });

  it('makes drain() reject when the dead-letter hook itself throws', async () => {
    const failing = createLocalEventBridge({
      authenticate,
      authorize,
      maxAttempts: 1,
      onDeadLetter: () => {
        throw new Error('sink unavailable');
      },
    });
    failing.putRule({ name: 'doomed', eventPattern: { source: ['cellbook.control'] }, targets: [recordingTarget('doomed', 1).target] });
    bridge = failing;

    await publisher.send(new PutEventsCommand({ Entries: [entry({ EventBusName: undefined })] }));
    await expect(failing.drain()).rejects.toThrow('sink unavailable');
    expect(failing.deadLetters()).toHaveLength(1);
  });
});

describe('authorization', () => {
  it('authorizes events:PutEvents per bus with the entries’ sources and detail types as condition keys', async () => {
    await publisher.send(
      new PutEventsCommand({
        Entries: [entry(), entry({ Source: 'cellbook.cell.c-1', DetailType: 'CaseCreated' }), entry({ EventBusName: undefined })],
      }),
    );
    expect(authorizations).toEqual([
      {
        action: 'events:PutEvents',
        resource: `arn:aws:events:us-east-1:000000000000:event-bus/${BUS}`,
        context: { 'events:source': ['cellbook.control', 'cellbook.cell.c-1'], 'events:detail-type': ['TenantActivated', 'CaseCreated'] },
      },
      {
        action: 'events:PutEvents',
        resource: 'arn:aws:events:us-east-1:000000000000:event-bus/default',
        context: { 'events:source': ['cellbook.control'], 'events:detail-type': ['TenantActivated'] },
      },
    ]);
  });

  it('refuses a caller not allowed on one of the buses with AccessDeniedException and accepts nothing', async () => {
    const target = recordingTarget('guarded');
    bridge.putRule({ name: 'guarded', eventBusName: BUS, eventPattern: { source: ['cellbook.control'] }, targets: [target.target] });

    await expect(cellOnly.send(new PutEventsCommand({ Entries: [entry(), entry({ EventBusName: 'default' })] }))).rejects.toMatchObject({
      name: 'AccessDeniedException',
      message:
        'User: arn:aws:sts::000000000000:assumed-role/cell-function/test is not authorized to perform: events:PutEvents on resource: ' +
        'arn:aws:events:us-east-1:000000000000:event-bus/default because no identity-based policy allows the events:PutEvents action',
      $metadata: { httpStatusCode: 400 },
    });
    await bridge.drain();
    expect(target.calls()).toBe(0);

    const allowed = await cellOnly.send(new PutEventsCommand({ Entries: [entry()] }));
    expect(allowed.FailedEntryCount).toBe(0);
  });

  it('lets a LocalIam policy scope publishing to a source with ForAllValues, over real SigV4', async () => {
    const iam = new LocalIam();
    const roleArn = 'arn:aws:iam::000000000000:role/cell-c-1';
    iam.createRole({
      name: 'cell-c-1',
      arn: roleArn,
      trustPolicy: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' }] },
      policies: [
        {
          name: 'publish-own-source',
          document: {
            Version: '2012-10-17',
            Statement: [
              {
                Effect: 'Allow',
                Action: 'events:PutEvents',
                Resource: eventBusArn(BUS),
                Condition: { 'ForAllValues:StringEquals': { 'events:source': 'cellbook.cell.c-1' } },
              },
            ],
          },
        },
      ],
    });
    bridge = createLocalEventBridge({ authenticate: iam.authenticate, authorize: iam.authorize });
    bridge.createEventBus(BUS);
    const cell = new EventBridgeClient({
      endpoint,
      region: 'us-east-1',
      maxAttempts: 1,
      credentials: sdkCredentials(iam.issueRoleSession(roleArn, 'cell-function')),
    });
    try {
      const own = await cell.send(new PutEventsCommand({ Entries: [entry({ Source: 'cellbook.cell.c-1' })] }));
      expect(own.FailedEntryCount).toBe(0);
      await expect(cell.send(new PutEventsCommand({ Entries: [entry({ Source: 'cellbook.cell.c-1' }), entry({ Source: 'cellbook.control' })] }))).rejects.toMatchObject({
        name: 'AccessDeniedException',
        $metadata: { httpStatusCode: 400 },
      });
    } finally {
      cell.destroy();
    }
  });

  it('rejects credentials it cannot authenticate', async () => {
    await expect(stranger.send(new PutEventsCommand({ Entries: [entry()] }))).rejects.toMatchObject({
      name: 'UnrecognizedClientException',
      $metadata: { httpStatusCode: 400 },
    });
  });
});

describe('deployment API', () => {
  it('refuses a rule whose pattern AWS would reject or this stand-in cannot evaluate', () => {
    const target = recordingTarget('t').target;
    expect(() => bridge.putRule({ name: 'bad', eventBusName: BUS, eventPattern: { source: 'cellbook.control' }, targets: [target] })).toThrow(InvalidEventPatternError);
    expect(() => bridge.putRule({ name: 'wild', eventBusName: BUS, eventPattern: { source: [{ wildcard: 'cellbook.*' }] }, targets: [target] })).toThrow(
      UnsupportedEventPatternError,
    );
  });

  it('refuses a rule on a bus that does not exist, more than five targets, or duplicate target ids', () => {
    const targets = Array.from({ length: 6 }, (_, index) => recordingTarget(`t${index}`).target);
    const pattern = { source: ['cellbook.control'] };
    expect(() => bridge.putRule({ name: 'r', eventBusName: 'nope', eventPattern: pattern, targets: [] })).toThrow('Event bus nope does not exist.');
    expect(() => bridge.putRule({ name: 'r', eventBusName: BUS, eventPattern: pattern, targets })).toThrow('at most 5 per rule');
    const twin = recordingTarget('twin').target;
    expect(() => bridge.putRule({ name: 'r', eventBusName: BUS, eventPattern: pattern, targets: [twin, twin] })).toThrow('two targets with id twin');
  });

  it('creates buses once and names rules by ARN like EventBridge', () => {
    expect(() => bridge.createEventBus(BUS)).toThrow(`Event bus ${BUS} already exists.`);
    expect(() => bridge.createEventBus('default')).toThrow('Event bus default already exists.');
    expect(bridge.createEventBus('audit')).toEqual({ name: 'audit', arn: 'arn:aws:events:us-east-1:000000000000:event-bus/audit' });
    const pattern = { source: ['cellbook.control'] };
    expect(bridge.putRule({ name: 'on-default', eventPattern: pattern, targets: [] }).arn).toBe('arn:aws:events:us-east-1:000000000000:rule/on-default');
    expect(bridge.putRule({ name: 'on-audit', eventBusName: 'audit', eventPattern: pattern, targets: [] }).arn).toBe(
      'arn:aws:events:us-east-1:000000000000:rule/audit/on-audit',
    );
  });
});
