import { describe, expect, it } from 'vitest';
import { bridgeReadiness, shardStateCounts, type BridgeStatus } from '../../src/source/bridge-status.js';
import {
  classifyFailure,
  initialShardStatus,
  RecordMappingError,
  reduceShardStatus,
  transition,
  type ShardEvent,
  type ShardState,
} from '../../src/source/shard-state.js';
import { SinkFailedError } from '../../src/log/relay-producer.js';
import { ValidationError } from '../../src/shared/errors.js';

// The shard worker's life as pure data: transitions, the status the bridge
// folds from the events, failure classes and readiness.
const committed = (seq: string, relayed: number, at = 1_000): ShardEvent => ({
  type: 'committed',
  lastSequenceNumber: seq,
  records: relayed,
  relayed,
  deadLettered: [],
  filtered: [],
  lastWrittenAt: undefined,
  at,
});
const fault = (attempt: number): ShardEvent => ({ type: 'transient-fault', stage: 'get-records', error: new Error('ECONNREFUSED'), attempt });
const fold = (events: ShardEvent[]) => events.reduce(reduceShardStatus, initialShardStatus('s'));

describe('shard state transitions', () => {
  it('starting → reading on positioned; reading ⇄ caught-up as polls reach or leave the head of the stream', () => {
    expect(transition('starting', { type: 'positioned', after: null, resumed: false })).toBe('reading');
    expect(transition('reading', { type: 'polled', caughtUp: true, iteratorAgeMs: 0, at: 0 })).toBe('caught-up');
    expect(transition('caught-up', { type: 'polled', caughtUp: false, iteratorAgeMs: 5_000, at: 0 })).toBe('reading');
  });

  it('a transient fault moves a live shard to recovering; being positioned again (or a handled page) brings it back', () => {
    for (const s of ['starting', 'reading', 'caught-up', 'recovering'] as ShardState[]) expect(transition(s, fault(1))).toBe('recovering');
    expect(transition('recovering', { type: 'positioned', after: '1', resumed: true })).toBe('reading');
    expect(transition('recovering', { type: 'polled', caughtUp: true, iteratorAgeMs: 0, at: 0 })).toBe('caught-up');
  });

  it('the outcomes are terminal states that absorb every later event', () => {
    const outcomes: ShardEvent[] = [
      { type: 'finished', lastSequenceNumber: '9' },
      { type: 'trimmed', after: '2' },
      { type: 'failed', stage: 'mapping', error: new TypeError('x'), sequenceNumber: '3' },
      { type: 'lost-lease' },
      { type: 'stopped' },
    ];
    for (const o of outcomes) {
      const end = transition('reading', o);
      expect(end).toBe(o.type);
      for (const later of [fault(1), { type: 'positioned', after: null, resumed: true } as ShardEvent, committed('10', 1)]) {
        expect(transition(end, later)).toBe(end);
      }
    }
  });

  it('page reads, resets and renewed iterators do not change the state', () => {
    expect(transition('reading', { type: 'page-read', records: 3, latencyMs: 1 })).toBe('reading');
    expect(transition('recovering', { type: 'producer-reset' })).toBe('recovering');
    expect(transition('caught-up', { type: 'iterator-renewed', reason: 'expired', attempt: 1 })).toBe('caught-up');
  });
});

describe('shard status folded from events', () => {
  it('counts committed records and positions, and clears the fault count once a page is handled again', () => {
    const s = fold([
      { type: 'positioned', after: null, resumed: false },
      committed('3', 3, 1_000),
      fault(1),
      fault(2),
      { type: 'positioned', after: '3', resumed: true },
      {
        type: 'committed',
        lastSequenceNumber: '6',
        records: 3,
        relayed: 1,
        deadLettered: [{ code: 'CORRUPT_PAYLOAD', reason: 'x', sequenceNumber: '5' }],
        filtered: ['MODIFY'],
        lastWrittenAt: undefined,
        at: 2_000,
      },
      { type: 'polled', caughtUp: true, iteratorAgeMs: 0, at: 2_001 },
    ]);
    expect(s).toEqual({
      shardId: 's',
      state: 'caught-up',
      lastSequenceNumber: '6',
      relayed: 4,
      deadLettered: 1,
      filtered: 1,
      lastCommitAt: 2_000,
      faults: 0,
      lastError: 'ECONNREFUSED',
    });
  });

  it('a failed shard keeps the error and its last committed position; nothing after the outcome changes it', () => {
    const s = fold([
      { type: 'positioned', after: null, resumed: false },
      committed('3', 3),
      { type: 'failed', stage: 'mapping', error: new TypeError("Cannot read properties of undefined (reading 'S')"), sequenceNumber: '4' },
      committed('9', 5),
    ]);
    expect(s).toMatchObject({ state: 'failed', lastSequenceNumber: '3', relayed: 3, lastError: "Cannot read properties of undefined (reading 'S')" });
  });

  it('returns a new object for every event (the worker never mutates a shared status)', () => {
    const before = initialShardStatus('s');
    const after = reduceShardStatus(before, committed('1', 1));
    expect(after).not.toBe(before);
    expect(before.relayed).toBe(0);
  });
});

describe('failure classes', () => {
  it('TypeError, ReferenceError, RangeError and SyntaxError from our code are programming errors, also inside a mapping failure', () => {
    for (const e of [new TypeError('x'), new ReferenceError('x'), new RangeError('x'), new SyntaxError('x')]) {
      expect(classifyFailure(e)).toBe('programming');
      expect(classifyFailure(new RecordMappingError('7', e))).toBe('programming');
    }
  });

  it('network, throttling, Kafka and registry failures are transient, as is an AWS SDK parse of a garbled answer', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:8000'), { code: 'ECONNREFUSED' });
    const throttled = Object.assign(new Error('slow down'), { name: 'ThrottlingException', $metadata: {} });
    const garbled = Object.assign(new SyntaxError('Unexpected token < in JSON'), { $responseBodyText: '<html>' });
    for (const e of [refused, throttled, garbled, new SinkFailedError('NOT_COORDINATOR', new Error('x')), new RecordMappingError('7', refused)]) {
      expect(classifyFailure(e)).toBe('transient');
    }
    // Data errors never reach the classifier (the mapper dead-letters them), but they are not programming errors.
    expect(classifyFailure(new ValidationError('bad'))).toBe('transient');
  });
});

describe('bridge readiness', () => {
  const base: BridgeStatus = {
    state: 'running',
    table: 't',
    topic: 't.events',
    delivery: 'exactly-once',
    workerId: 'w',
    streamArn: 'arn',
    shards: [],
    leasesHeld: [],
    backfill: { runs: 0, items: 0, lastCompletedAt: undefined },
    repair: { runs: 0, itemsRead: 0, relayed: 0, lastCompletedAt: undefined, last: undefined },
    roundFaults: 0,
    lastError: undefined,
  };

  it('is ready while running with healthy shards, or retrying a fault only briefly', () => {
    const reading = { ...initialShardStatus('a'), state: 'reading' as const };
    const briefly = { ...initialShardStatus('b'), state: 'recovering' as const, faults: 2 };
    expect(bridgeReadiness({ ...base, shards: [reading, briefly] })).toEqual({ ready: true, reasons: [] });
  });

  it('names a failed shard, a shard retrying for long, failing rounds and a bridge not running', () => {
    const failed = { ...initialShardStatus('a'), state: 'failed' as const, lastSequenceNumber: '41', lastError: 'boom' };
    const stuck = { ...initialShardStatus('b'), state: 'recovering' as const, faults: 5, lastError: 'ECONNREFUSED' };
    const r = bridgeReadiness({ ...base, state: 'stopping', roundFaults: 4, lastError: 'DynamoDB down', shards: [failed, stuck] });
    expect(r.ready).toBe(false);
    expect(r.reasons).toEqual([
      'bridge is stopping',
      'shard discovery / lease renewal failing (4 rounds): DynamoDB down',
      'shard a failed after 41: boom',
      'shard b retrying a fault (5 attempts): ECONNREFUSED',
    ]);
  });

  it('counts shards per state with every state present, so a gauge drops to 0', () => {
    const counts = shardStateCounts([{ ...initialShardStatus('a'), state: 'failed' }, { ...initialShardStatus('b'), state: 'failed' }]);
    expect(counts.get('failed')).toBe(2);
    expect(counts.get('reading')).toBe(0);
    expect(counts.size).toBe(9);
  });
});
