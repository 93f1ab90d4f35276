import { describe, expect, it } from 'vitest';
import { synthesize, type SynthesizedApp } from './support/synth.js';

/**
 * Data outlives a stack everywhere except on throwaway stages (`sst dev`, `dev`, `dev-*`), which
 * must be removable in one command.
 */
function stateful(app: SynthesizedApp) {
  return app.stacks.flatMap((stack) =>
    Object.entries(app.json(stack).Resources)
      .filter(([, resource]) => ['AWS::DynamoDB::Table', 'AWS::Cognito::UserPool'].includes(resource.Type))
      .map(([logicalId, resource]) => ({
        id: `${stack.stackName}/${logicalId}`,
        type: resource.Type,
        deletionPolicy: resource.DeletionPolicy,
        protection: resource.Type === 'AWS::DynamoDB::Table' ? resource.Properties!.DeletionProtectionEnabled : resource.Properties!.DeletionProtection,
      })),
  );
}

describe('stages', () => {
  it('protects and retains every table and both user pools on a long-lived stage', async () => {
    const app = await synthesize({ stage: 'prod' });
    const resources = stateful(app);
    // Registry, catalog, usage ledger, one table per cell, the tenant and the operator user pools (DESIGN §13).
    expect(resources).toHaveLength(3 + app.cells.size + 2);
    for (const resource of resources) {
      expect(resource, resource.id).toMatchObject({ deletionPolicy: 'Retain', protection: resource.type === 'AWS::DynamoDB::Table' ? true : 'ACTIVE' });
    }
    expect(app.stacks.every((stack) => stack.stackName.startsWith('prod-cellbook-'))).toBe(true);
  });

  it('lets a dev stage be removed with its data', async () => {
    const app = await synthesize({ stage: 'dev-alice' });
    const resources = stateful(app);
    expect(resources).toHaveLength(3 + app.cells.size + 2);
    for (const resource of resources) {
      expect(resource, resource.id).toMatchObject({ deletionPolicy: 'Delete', protection: resource.type === 'AWS::DynamoDB::Table' ? false : 'INACTIVE' });
    }
    // …but not API Gateway's account-wide logging setting, which other stages rely on.
    const control = app.json(app.controlPlane).Resources;
    const account = Object.values(control).find((resource) => resource.Type === 'AWS::ApiGateway::Account')!;
    expect(account.DeletionPolicy).toBe('Retain');
    const roleId = (account.Properties!.CloudWatchRoleArn as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
    expect(control[roleId]!.DeletionPolicy).toBe('Retain');
  });
});
