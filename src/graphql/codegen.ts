import { graphqlJs } from './graphql-js.js';
import { generateCode } from 'mercurius-codegen';
import { loadSchemaSdl } from './schema.js';

const HEADER = '/* eslint-disable */\n// Generated from schema/ by `npm run graphql:codegen`; do not edit. A test fails when it drifts.\n';

/** The resolvers' types for the SDL in schema/ (mercurius-codegen: graphql-codegen's typescript and typescript-resolvers). */
export async function generateResolverTypes(sdl = loadSchemaSdl()): Promise<string> {
  return generateCode(
    graphqlJs.buildSchema(sdl),
    {
      scalars: { DateTime: 'string', Revision: 'string', JSON: 'Record<string, unknown>' },
      enumsAsTypes: true,
      avoidOptionals: false,
      // Resolvers hand on what the services return (paths are from src/graphql/generated.ts).
      mappers: {
        User: '../services/consent.js#UserView',
        TrainingConsent: './views.js#ConsentRead',
        TermsAcceptance: '../services/consent.js#TermsAcceptanceView',
        Chat: '../services/chats.js#ChatView',
        EligibilityDecision: '../services/eligibility.js#DecisionView',
        Policy: '../services/policies.js#PolicyView',
        AuditEvent: '../audit/hash.js#LoggedEvent',
      },
    },
    HEADER,
    true,
  );
}
