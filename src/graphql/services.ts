import type { AuditFeed } from '../audit/feed.js';
import type { SettledRevisions } from '../db/point.js';
import type { ChatService } from '../services/chats.js';
import type { ConsentService } from '../services/consent.js';
import type { EligibilityService } from '../services/eligibility.js';
import type { PolicyService } from '../services/policies.js';
import type { StatisticsService } from '../services/statistics.js';
import type { LiveAudit } from './live.js';

/** What the resolvers call: the services the REST routes call, and the live audit feed. */
export interface GraphqlServices {
  consent: ConsentService;
  chats: ChatService;
  eligibility: EligibilityService;
  policies: PolicyService;
  statistics: StatisticsService;
  audit: AuditFeed;
  settled: SettledRevisions;
  live: LiveAudit;
}
