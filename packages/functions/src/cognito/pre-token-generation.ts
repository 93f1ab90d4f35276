import { TENANT_ATTRIBUTE } from '@cellbook/core/tenancy/tenant-attribute';
import type { PreTokenGenerationV2TriggerEvent } from 'aws-lambda';

/**
 * Cognito pre-token-generation trigger (event version 2, access-token customization). The
 * authorizers read `tenant_id` and `roles` from the access token (DESIGN §3); Cognito puts neither
 * there by itself, so this copies the immutable `custom:tenant_id` attribute and the user's groups
 * in. AWS only: the local IdP mints the same claims directly.
 */
/** V2 access tokens accept list-valued claims; the published event type still says string-only. */
type AccessTokenClaims = Record<string, string | string[]>;

export async function handler(event: PreTokenGenerationV2TriggerEvent): Promise<PreTokenGenerationV2TriggerEvent> {
  const claims: AccessTokenClaims = { roles: event.request.groupConfiguration.groupsToOverride ?? [] };
  const tenantId = event.request.userAttributes[TENANT_ATTRIBUTE];
  // Operators belong to no tenant: the operator authorizer requires the claim to be absent.
  if (tenantId) claims.tenant_id = tenantId;
  event.response = {
    claimsAndScopeOverrideDetails: {
      accessTokenGeneration: { claimsToAddOrOverride: claims as Record<string, string> },
    },
  };
  return event;
}
