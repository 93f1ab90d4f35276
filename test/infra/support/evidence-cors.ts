import { EVIDENCE_CORS_RESOURCE_TYPE } from '../../../stacks/constructs/evidence-cors.js';
import type { InfraFixture } from './app.js';

/** One S3 API call an AwsCustomResource makes, as synthesized (a JSON string per lifecycle event). */
export interface SdkCall {
  service: string;
  action: string;
  region?: string;
  parameters: Record<string, unknown>;
  ignoreErrorCodesMatching?: string;
}

/** The router's CORS resource of each cell bucket, keyed by the bucket's (resolved) name. */
export function evidenceCorsCalls(infra: InfraFixture): Map<string, { logicalId: string; create: SdkCall; update: SdkCall; delete: SdkCall }> {
  const calls = new Map<string, { logicalId: string; create: SdkCall; update: SdkCall; delete: SdkCall }>();
  for (const resource of infra.resources(infra.router, EVIDENCE_CORS_RESOURCE_TYPE)) {
    const parse = (event: string) => JSON.parse(resource.properties[event] as string) as SdkCall;
    const create = parse('Create');
    calls.set(String(create.parameters.Bucket), { logicalId: resource.logicalId, create, update: parse('Update'), delete: parse('Delete') });
  }
  return calls;
}

/** Every cell's evidence bucket, by cell id: its resolved name and ARN. */
export function cellBuckets(infra: InfraFixture): Map<string, { name: string; arn: string }> {
  return new Map([...infra.cells.entries()].map(([cellId, stack]) => [cellId, { name: infra.ref(stack, `${cellId}-evidence`), arn: infra.arn(stack, `${cellId}-evidence`) }]));
}
