export * from './types.js';
export { policyAt, reconsentCutoff } from './policy.js';
export { consentAt, emptyConsent, sortFacts } from './consent.js';
export { decideEligibility, retentionUntil } from './eligibility.js';
export { isoTime, isoOrNull } from './time.js';
