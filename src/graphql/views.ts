import type { ConsentView } from '../services/consent.js';

/** A consent as GraphQL answers it: the REST body with its ETag. */
export type ConsentRead = ConsentView & { etag: string };
