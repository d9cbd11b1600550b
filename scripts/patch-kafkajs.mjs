// Patches kafkajs 2.2.4, run as postinstall. Each patch is applied once (the
// patched file carries MARK) and refuses any other kafkajs version.
//
// 1. read_committed filtering of aborted transactions
// (src/consumer/filterAbortedMessages.js). The original
// takes the broker's aborted-transaction list as sorted by first offset and
// starts at most one aborted transaction per record; the broker lists them in
// the order they were aborted, so with several producers' transactions
// aborted together records of an aborted transaction reached read_committed
// consumers (the bridge then resumed after an aborted checkpoint: loss).
// The replacement is the Java client's algorithm (Fetcher: a queue ordered by
// first offset, every transaction that has started is active, the producer's
// abort marker ends it). Test: test/log/kafkajs-aborted-filter.unit.test.ts.
//
// 2. Encoding cost of produce requests (src/protocol/encoder.js,
// src/protocol/recordBatch/record/v0/index.js), the largest share of the
// bridge's CPU: every Encoder zero-filled a fresh 512-byte buffer, every
// varint went through a temporary array and Buffer.from, and every record
// header got an Encoder of its own (12 zero-filled buffers per bridge
// record). The patched encoder takes its buffers from Node's pool
// (Buffer.allocUnsafe: only the bytes written are ever read, `buffer` is
// sliced at the write offset), writes varints in place, and encodes a record
// with its headers in one buffer of the record's exact size. The bytes on the
// wire are the same. Test: test/log/kafkajs-encoder.unit.test.ts.
//
// 3. Lost messages when a partition's leader moves during a send
// (src/producer/sendMessages.js, kafkajs #1303). A send retried only the
// brokers that had not answered: when the leader of a partition whose
// request failed moved to a broker that had answered for other partitions,
// nothing was sent for it and the send resolved without it. A transaction
// then committed without those messages: the bridge lost the records of one
// partition of one transaction in a 3-broker fault run. The retry also began
// while slower requests were still in flight, sending them again with
// advanced sequence numbers (duplicates). The replacement keeps
// acknowledgements per partition and settles every request of an attempt
// before the next. Test: test/log/kafkajs-send-retry.unit.test.ts.
//
// 4. A negative timer in the request queue (src/network/requestQueue/index.js,
// kafkajs #1751). Unthrottled, `throttledUntil` is -1 and the check of
// pending requests was scheduled `throttledUntil - Date.now()` ms ahead: a
// large negative delay, which Node has always run as 1 ms and which Node 24
// also reports as a TimeoutNegativeWarning on stderr of every process at its
// first request. The delay is clamped to 1 ms: the same schedule, no warning.
// Test: test/log/kafkajs-request-queue.unit.test.ts.
//
// 5. A group coordinator that moved is looked up again
// (src/consumer/consumerGroup.js, src/consumer/offsetManager/index.js).
// kafkajs finds the group's coordinator once per join and keeps that Broker
// object: after kill -9 of the coordinator broker, heartbeats failed on a
// dead connection (the fetch loop's retrier backed off up to 30 s per
// attempt) and offset commits went on to the same node id once it came back,
// answered NOT_COORDINATOR every time; the group recovered only when its
// session expired and it rejoined — Kafka's committed offsets were current
// again 131 s after the kill on a 3-broker cluster (82 s with the runner's
// retry backoff capped at 5 s), 3 min 6 s in a fault run; 30.5 s patched. As the Java client does (mark the
// coordinator unknown, look it up again; the group's state lives on in the
// new coordinator, which loads it from __consumer_offsets), a heartbeat or a
// commit that finds its coordinator gone (connection lost or refused,
// NOT_COORDINATOR, COORDINATOR_NOT_AVAILABLE) looks the coordinator up and
// tries once more there. Test: test/log/conformance/coordinator-failover.cluster.test.ts
// (3 brokers), test/log/kafkajs-coordinator.unit.test.ts.
//
// The kafkajs patched is the one this package resolves: its own
// node_modules/kafkajs in a checkout, and, installed as a dependency, the
// hoisted node_modules/kafkajs of the installing project (npm runs this
// postinstall once the whole tree is in place; resolution walks up from
// here, so a kafkajs nested under this package would be found first).
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import process from 'node:process';

const MARK = 'patched by scripts/patch-kafkajs.mjs';
const require = createRequire(import.meta.url);
const pkgPath = require.resolve('kafkajs/package.json');
const { version } = JSON.parse(readFileSync(pkgPath, 'utf8'));
const root = path.dirname(pkgPath);

/** Applies `patch` to a file of kafkajs once; a file that is neither patched nor what the patch expects stops the install. */
function patchFile(relative, expect, patch) {
  const file = path.join(root, relative);
  const original = readFileSync(file, 'utf8');
  if (original.includes(MARK)) return false;
  if (version !== '2.2.4' || !original.includes(expect)) {
    process.stderr.write(`patch-kafkajs: kafkajs ${version} is not the 2.2.4 this patch was written for; check its ${relative} and update the patch\n`);
    process.exit(1);
  }
  writeFileSync(file, patch(original));
  return true;
}

/** Replaces each `from` (which must occur exactly once) by its `to`. */
function replaceAll(relative, text, pairs) {
  let out = text;
  for (const [from, to] of pairs) {
    if (out.split(from).length !== 2) {
      process.stderr.write(`patch-kafkajs: ${relative} does not hold the expected code:\n${from}\n`);
      process.exit(1);
    }
    out = out.replace(from, () => to);
  }
  return out;
}

const abortedPatched = patchFile('src/consumer/filterAbortedMessages.js', 'remainingAbortedTransactions', () => `// ${MARK}: aborted transactions ordered by first offset, all started ones active (Java client semantics)
const Long = require('../utils/long')
const ABORTED_MESSAGE_KEY = Buffer.from([0, 0, 0, 0])

const isAbortMarker = ({ key }) => {
  if (!key) return false
  return Buffer.from(key).equals(ABORTED_MESSAGE_KEY)
}

/**
 * Remove messages of aborted transactions. A transaction starts at its first
 * offset (from the fetch response's aborted-transaction list, in any order)
 * and ends at its producer's abort marker.
 */
module.exports = ({ messages, abortedTransactions }) => {
  if (!abortedTransactions || !abortedTransactions.length) {
    return messages
  }
  const queue = [...abortedTransactions].sort((a, b) =>
    Long.fromValue(a.firstOffset).compare(Long.fromValue(b.firstOffset))
  )
  const active = new Set()

  return messages.filter(message => {
    const offset = Long.fromValue(message.offset)
    while (queue.length && offset.gte(Long.fromValue(queue[0].firstOffset))) {
      active.add(String(queue.shift().producerId))
    }
    const { producerId, inTransaction } = message.batchContext
    const pid = String(producerId)
    if (isAbortMarker(message)) {
      active.delete(pid)
    } else if (active.has(pid) && inTransaction) {
      return false
    }
    return true
  })
}
`);
if (abortedPatched) process.stdout.write('patch-kafkajs: read_committed filtering of aborted transactions fixed\n');

const ENCODER = 'src/protocol/encoder.js';
const encoderPatched = patchFile(ENCODER, 'writeUVarInt(value) {', (text) =>
  `// ${MARK}: pooled buffers, varints written in place (same bytes)\n` +
  replaceAll(ENCODER, text, [
    ['    this.buf = Buffer.alloc(Encoder.nextPowerOfTwo(initialSize))', '    this.buf = Buffer.allocUnsafe(Encoder.nextPowerOfTwo(initialSize))'],
    ['      const newBuffer = Buffer.alloc(newLength)', '      const newBuffer = Buffer.allocUnsafe(newLength)'],
    [
      `    const byteArray = []
    while ((value & UNSIGNED_INT32_MAX_NUMBER) !== 0) {
      byteArray.push((value & OTHER_BITS) | MOST_SIGNIFICANT_BIT)
      value >>>= 7
    }
    byteArray.push(value & OTHER_BITS)
    this.writeBufferInternal(Buffer.from(byteArray))
    return this`,
      `    this.ensureAvailable(5)
    while ((value & UNSIGNED_INT32_MAX_NUMBER) !== 0) {
      this.buf[this.offset++] = (value & OTHER_BITS) | MOST_SIGNIFICANT_BIT
      value >>>= 7
    }
    this.buf[this.offset++] = value & OTHER_BITS
    return this`,
    ],
  ]),
);
const RECORD = 'src/protocol/recordBatch/record/v0/index.js';
const recordPatched = patchFile(RECORD, '.writeVarIntArray(headersArray.map(Header))', (text) =>
  `// ${MARK}: a record and its headers in one buffer of exact size (same bytes)\n` +
  replaceAll(RECORD, text, [
    ['  return new Encoder()\n', '  const encoder = new Encoder(Encoder.sizeOfVarInt(sizeOfBody) + sizeOfBody)\n'],
    [
      '    .writeVarIntArray(headersArray.map(Header))\n',
      `    .writeVarInt(headersArray.length)
  // What Header(h) encodes, written straight into the record's buffer
  for (const header of headersArray) encoder.writeVarIntString(header.key).writeVarIntBytes(header.value)
  return encoder
`,
    ],
    ["const Header = require('../../header/v0')\n", ''],
  ]),
);
if (encoderPatched || recordPatched) process.stdout.write('patch-kafkajs: produce request encoding without zero-filled temporary buffers\n');

// 3. See the head of this file and scripts/patches/kafkajs-send-messages.head.js.
const SEND = 'src/producer/sendMessages.js';
const CATCH = '      } catch (e) {\n        if (e.name === \'KafkaJSConnectionClosedError\') {';
const sendPatched = patchFile(SEND, 'const responsePerBroker = new Map()', (text) => {
  const at = text.indexOf(CATCH);
  if (at < 0 || text.indexOf(CATCH, at + 1) >= 0) {
    process.stderr.write(`patch-kafkajs: ${SEND} does not hold the expected code:\n${CATCH}\n`);
    process.exit(1);
  }
  const head = readFileSync(path.join(import.meta.dirname, 'patches', 'kafkajs-send-messages.head.js'), 'utf8');
  return `// ${MARK}: acknowledgements per partition, every request settled before a retry\n${head}${text.slice(at + '      } catch (e) {\n'.length)}`;
});
if (sendPatched) process.stdout.write('patch-kafkajs: a send retries every partition not acknowledged, wherever its leader moved\n');

const QUEUE = 'src/network/requestQueue/index.js';
const queuePatched = patchFile(QUEUE, 'let scheduleAt = this.throttledUntil - Date.now()', (text) =>
  `// ${MARK}: the pending-request check is never scheduled with a negative delay (Node ran it at 1 ms anyway)\n` +
  replaceAll(QUEUE, text, [
    [
      `        this.checkPendingRequests()
      }, scheduleAt)`,
      `        this.checkPendingRequests()
      }, Math.max(1, scheduleAt))`,
    ],
  ]),
);
if (queuePatched) process.stdout.write('patch-kafkajs: no negative timer in the request queue (TimeoutNegativeWarning on Node 24)\n');

// 5. See the head of this file.
const COORDINATOR_LOST = `// ${MARK}: the errors after which the group coordinator is looked up again (Java: markCoordinatorUnknown)
const coordinatorLost = e =>
  e != null &&
  (e.type === 'NOT_COORDINATOR_FOR_GROUP' ||
    e.type === 'GROUP_COORDINATOR_NOT_AVAILABLE' ||
    e.name === 'KafkaJSConnectionError' ||
    e.name === 'KafkaJSConnectionClosedError' ||
    e.name === 'KafkaJSRequestTimeoutError')
`;
const GROUP = 'src/consumer/consumerGroup.js';
const groupPatched = patchFile(GROUP, '        await this.coordinator.heartbeat(payload)\n', (text) =>
  `${COORDINATOR_LOST}` +
  replaceAll(GROUP, text, [
    [
      '        await this.coordinator.heartbeat(payload)\n',
      `        try {
          await this.coordinator.heartbeat(payload)
        } catch (e) {
          if (!coordinatorLost(e)) throw e
          this.coordinator = await this.cluster.findGroupCoordinator({ groupId })
          if (this.offsetManager) this.offsetManager.coordinator = this.coordinator
          await this.coordinator.heartbeat(payload)
        }
`,
    ],
  ]),
);
const OFFSETS = 'src/consumer/offsetManager/index.js';
const offsetsPatched = patchFile(OFFSETS, "      if (e.type === 'NOT_COORDINATOR_FOR_GROUP') {\n        await this.cluster.refreshMetadata()\n      }\n", (text) =>
  `${COORDINATOR_LOST}` +
  replaceAll(OFFSETS, text, [
    [
      "      if (e.type === 'NOT_COORDINATOR_FOR_GROUP') {\n        await this.cluster.refreshMetadata()\n      }\n",
      `      if (coordinatorLost(e)) {
        // The next commit goes to the group's coordinator as it is now, not to this node id again.
        await this.cluster.refreshMetadata().catch(() => {})
        this.coordinator = await this.cluster.findGroupCoordinator({ groupId }).catch(() => this.coordinator)
      }
`,
    ],
  ]),
);
if (groupPatched || offsetsPatched) process.stdout.write('patch-kafkajs: a group coordinator that moved is looked up again (heartbeats, commits)\n');
