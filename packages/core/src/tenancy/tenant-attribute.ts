/**
 * The user-directory attribute that binds a tenant user to its tenant: set once when the user is
 * created (the pool's schema makes it immutable), copied into the access token's `tenant_id` claim
 * by the pre-token-generation trigger, read by the identity broker. A module of its own, with no
 * dependency, so the trigger's bundle stays free of the directory client.
 */
export const TENANT_ATTRIBUTE = 'custom:tenant_id';

/** The attribute's name as Cognito's schema declares it (without `custom:`). */
export const TENANT_ATTRIBUTE_NAME = TENANT_ATTRIBUTE.slice('custom:'.length);
