// Fixes kafkajs 2.2.4's read_committed filtering of aborted transactions
// (src/consumer/filterAbortedMessages.js), run as postinstall. The original
// takes the broker's aborted-transaction list as sorted by first offset and
// starts at most one aborted transaction per record; the broker lists them in
// the order they were aborted, so with several producers' transactions
// aborted together records of an aborted transaction reached read_committed
// consumers (the bridge then resumed after an aborted checkpoint: loss).
// The replacement is the Java client's algorithm (Fetcher: a queue ordered by
// first offset, every transaction that has started is active, the producer's
// abort marker ends it). Test: test/log/kafkajs-aborted-filter.unit.test.ts.
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import process from 'node:process';

const MARK = 'patched by scripts/patch-kafkajs.mjs';
const require = createRequire(import.meta.url);
const pkgPath = require.resolve('kafkajs/package.json');
const { version } = JSON.parse(readFileSync(pkgPath, 'utf8'));
const file = path.join(path.dirname(pkgPath), 'src/consumer/filterAbortedMessages.js');
const original = readFileSync(file, 'utf8');
if (original.includes(MARK)) process.exit(0);
if (version !== '2.2.4' || !original.includes('remainingAbortedTransactions')) {
  process.stderr.write(`patch-kafkajs: kafkajs ${version} is not the 2.2.4 this patch was written for; check its filterAbortedMessages.js and update the patch\n`);
  process.exit(1);
}
writeFileSync(
  file,
  `// ${MARK}: aborted transactions ordered by first offset, all started ones active (Java client semantics)
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
`,
);
process.stdout.write('patch-kafkajs: read_committed filtering of aborted transactions fixed\n');
