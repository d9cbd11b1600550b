import { DeleteTableCommand, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { afterAll } from 'vitest';
import { dynamo, FILE_TOKEN } from './stack.js';

/**
 * Setup file of the integration and end-to-end projects: after each test
 * file, drop the DynamoDB tables it created (their names carry the file's
 * token). DynamoDB Local slows down badly as tables with streams accumulate
 * (a PutItem went from ~30 ms to ~800 ms), which would make every later test
 * and every repeated run slower.
 */
afterAll(async () => {
  const ddb = dynamo();
  try {
    let start: string | undefined;
    const mine: string[] = [];
    do {
      const page = await ddb.send(new ListTablesCommand({ ExclusiveStartTableName: start }));
      mine.push(...(page.TableNames ?? []).filter((t) => t.includes(`-${FILE_TOKEN}`)));
      start = page.LastEvaluatedTableName;
    } while (start);
    for (const t of mine) await ddb.send(new DeleteTableCommand({ TableName: t })).catch(() => undefined);
  } catch {
    // The stack may be down in a test that stopped it on purpose; nothing to clean then.
  } finally {
    ddb.destroy();
  }
});
