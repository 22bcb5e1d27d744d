import type { Database, Transaction } from '../../src/db/client.js';

/** The database with every statement sent to it counted (deferred ones too). */
export function countingStatements(db: Database): { db: Database; count: () => number } {
  let n = 0;
  const counted: Database = {
    kind: db.kind,
    pglite: db.pglite,
    query: (text, params) => {
      n++;
      if (process.env.DEBUG_STATEMENTS) console.log('STATEMENT', text.replace(/\s+/g, ' ').slice(0, 90));
      return db.query(text, params);
    },
    transaction: (fn) =>
      db.transaction((tx) => {
        const inner: Transaction = {
          query: (text, params) => {
            n++;
            return tx.query(text, params);
          },
          defer: (text, params) => {
            n++;
            tx.defer(text, params);
          },
        };
        return fn(inner);
      }),
    close: () => db.close(),
  };
  return { db: counted, count: () => n };
}
