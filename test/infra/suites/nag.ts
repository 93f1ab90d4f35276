import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { TIER_NAMES } from '@cellbook/core/tenancy/tiers';
import { CELL_ROUTES, CONTROL_ROUTES } from '@cellbook/functions/routes';
import type { SynthesizedApp } from '../support/synth.js';

/**
 * cdk-nag's AwsSolutions pack runs as an aspect of the app itself (sst.config.ts), so `sst deploy`
 * and this test see the same findings. Unsuppressed findings are error/warning annotations; the
 * per-stack CSV report lists every rule outcome, including each suppression and its reason.
 */
interface NagRow {
  rule: string;
  resource: string;
  compliance: 'Compliant' | 'Non-Compliant' | 'Suppressed' | 'UNKNOWN';
  reason: string;
}

function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const char = text[i]!;
    if (quoted) {
      if (char === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (char === '"') quoted = false;
      else field += char;
    } else if (char === '"') quoted = true;
    else if (char === ',') {
      row.push(field);
      field = '';
    } else if (char === '\n') {
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
    } else field += char;
  }
  if (field || row.length) rows.push([...row, field]);
  return rows;
}

let app: SynthesizedApp;
let rows: NagRow[];

function readReports(): NagRow[] {
  return app.stacks.flatMap((stack) => {
    const report = join(app.assembly.directory, `AwsSolutions-${stack.stackName}-NagReport.csv`);
    if (!existsSync(report)) throw new Error(`cdk-nag did not run on ${stack.stackName} (no ${report})`);
    const [header, ...body] = parseCsv(readFileSync(report, 'utf8'));
    expect(header).toEqual(['Rule ID', 'Resource ID', 'Compliance', 'Exception Reason', 'Rule Level', 'Rule Info']);
    return body.map(([rule, resource, compliance, reason]) => ({ rule: rule!, resource: resource!, compliance: compliance as NagRow['compliance'], reason: reason! }));
  });
}

const suppressed = (rule: string) =>
  rows
    .filter((row) => row.rule === rule && row.compliance === 'Suppressed')
    .map((row) => row.resource)
    .sort();

export function nagSuite(fixture: () => SynthesizedApp): void {
  beforeAll(() => {
    app = fixture();
    rows = readReports();
  });

  describe('cdk-nag AwsSolutions', () => {
    it('checked every stack against the rule pack', () => {
      for (const stack of app.stacks) expect(rows.filter((row) => row.resource.startsWith(`${stack.stackName}/`)).length, stack.stackName).toBeGreaterThan(5);
    });

    it('reports nothing unsuppressed', () => {
      const findings = app.stacks.flatMap((stack) =>
        app.assembly
          .getStackArtifact(stack.artifactId)
          .messages.filter((message) => message.level !== 'info' && String(message.entry.data).startsWith('AwsSolutions-'))
          .map((message) => `${message.id}: ${String(message.entry.data).split('\n')[0]}`),
      );
      expect(findings).toEqual([]);
      expect(rows.filter((row) => row.compliance === 'Non-Compliant' || row.compliance === 'UNKNOWN')).toEqual([]);
    });

    it('carries a specific reason with every suppression', () => {
      const thin = rows.filter((row) => row.compliance === 'Suppressed' && row.reason.replace(/^\[[^\]]*\]\s*/, '').length < 80);
      expect(thin).toEqual([]);
    });

    it('suppresses only the reviewed rules', () => {
      expect([...new Set(rows.filter((row) => row.compliance === 'Suppressed').map((row) => row.rule))].sort()).toEqual([
        'AwsSolutions-APIG2', // validation in the handlers (application error contract)
        'AwsSolutions-APIG3', // WAF left to the account
        'AwsSolutions-APIG4', // the sign-in route and the cells' health check only
        'AwsSolutions-CFR1', // no geo restriction
        'AwsSolutions-CFR2', // WAF left to the account
        'AwsSolutions-CFR3', // the APIs log every request
        'AwsSolutions-CFR4', // default CloudFront certificate
        'AwsSolutions-COG2', // MFA needs a challenge step in the sign-in contract
        'AwsSolutions-COG3', // threat protection needs the Plus plan
        'AwsSolutions-COG4', // Lambda REQUEST authorizer (usage identifier key); the two public routes; the IAM-authorized identity broker
        'AwsSolutions-IAM4', // SST's deploy-time handler; API Gateway's account logging role
        'AwsSolutions-IAM5', // X-Ray; the tenant role's index ARN (fenced by LeadingKeys) and its broker user path; revoking an offboarded tenant's API key; detaching a key from a cell's plans; the release driver's cell stacks, release objects and CloudWatch reads
        'AwsSolutions-L1', // nodejs22.x pinned by the design
        'AwsSolutions-S1', // the release artefact bucket: versioned, written by CI only; no access-log bucket; the cells' evidence buckets: every call is a named tenant session in CloudTrail; the web app's public build
        'AwsSolutions-SQS3', // the dead-letter queue itself
      ]);
    });

    it("leaves only the sign-in route and each cell's health check unauthenticated, each for its own reason", () => {
      const controlPublic = CONTROL_ROUTES.filter((route) => route.auth === 'none');
      const cellPublic = CELL_ROUTES.filter((route) => route.auth === 'none');
      const expected = [
        ...controlPublic.map((route) => `${app.controlPlane.stackName}/ControlApi/Api/Default${route.path}/${route.method}/Resource`),
        ...[...app.cells.entries()].flatMap(([cellId, stack]) =>
          cellPublic.map((route) => `${stack.stackName}/Api-${cellId}/Api/Default${route.path}/${route.method}/Resource`),
        ),
      ].sort();
      expect(suppressed('AwsSolutions-APIG4')).toEqual(expected);
      const reasons = rows.filter((row) => row.rule === 'AwsSolutions-APIG4' && row.compliance === 'Suppressed');
      for (const row of reasons) {
        const isControl = row.resource.startsWith(`${app.controlPlane.stackName}/`);
        expect(row.reason, row.resource).toMatch(isControl ? /is the sign-in endpoint/ : /is the cell's health check: it returns only the cell's id, reads nothing/);
      }
      // The same methods, and only they, are exempt from COG4 for that reason; the identity broker's
      // methods are exempt because IAM authorizes them (they are for AWS principals, not users).
      const publicCog4 = rows.filter(
        (row) =>
          row.rule === 'AwsSolutions-COG4' &&
          row.compliance === 'Suppressed' &&
          !row.reason.includes('Lambda REQUEST authorizer') &&
          !row.reason.includes('IAM authorizes them'),
      );
      expect(publicCog4.map((row) => row.resource).sort()).toEqual(expected);
      const iamCog4 = rows.filter((row) => row.rule === 'AwsSolutions-COG4' && row.compliance === 'Suppressed' && row.reason.includes('IAM authorizes them'));
      expect(iamCog4.map((row) => row.resource).sort()).toEqual(
        CONTROL_ROUTES.filter((route) => route.auth === 'iam')
          .map((route) => `${app.controlPlane.stackName}/ControlApi/Api/Default${route.path}/${route.method}/Resource`)
          .sort(),
      );
    });

    it('accepts AWS managed policies only on roles we do not write: SST internals and the API Gateway account role', () => {
      expect(suppressed('AwsSolutions-IAM4')).toEqual(
        [
          ...app.stacks.map((stack) => `${stack.stackName}/CustomResourceHandler/ServiceRole/Resource`),
          `${app.controlPlane.stackName}/ApiGatewayCloudWatchRole/Resource`,
        ].sort(),
      );
    });

    it("accepts wildcard resources only for X-Ray, the tenant role's index ARN and its own tenant's broker user path, revoking an offboarded tenant's API key and detaching a key from a cell's plans, and the web app's uploader", () => {
      const iam5 = rows.filter((row) => row.rule === 'AwsSolutions-IAM5' && row.compliance === 'Suppressed');
      const accepted = [
        /^\[Resource::\*\] Active tracing/,
        /^\[Resource::<\w+\.Arn>\/index\/\*\] The tenant access policy/,
        /^\[Resource::<\w+\.Arn>\/tenant=<aws:PrincipalTag\/TenantId>\/\*\] The tenant access policy \(core tenantAccessPolicy\) allows object actions on the session tenant's own evidence prefix only/,
        /^\[Resource::arn:<AWS::Partition>:execute-api:[\w-]+:\d+:<\w+>\/<\w+>\/DELETE\/broker\/tenants\/<aws:PrincipalTag\/TenantId>\/users\/\*\] Removing a tenant's user/,
        /^\[Resource::arn:<AWS::Partition>:execute-api:[\w-]+:\d+:<\w+>\/<\w+>\/(PATCH|POST)\/broker\/tenants\/<aws:PrincipalTag\/TenantId>\/users\/\*(\/sign-out|\/reset-password)?\] Managing a tenant's user/,
        /^\[Resource::arn:<AWS::Partition>:apigateway:[\w-]+::\/apikeys\/\*\] DeleteApiKey revokes the offboarded tenant's own key/,
        /^\[Resource::arn:<AWS::Partition>:apigateway:[\w-]+::\/usageplans\/<\w+>\/keys\/\*\] DeleteUsagePlanKey takes/,
        /^\[Resource::arn:<AWS::Partition>:cloudformation:[\w-]+:\d+:stack\/[\w-]+\/\*\] The release driver updates each cell stack by name/,
        /^\[Resource::<ReleaseBucket\w+\.Arn>\/releases\/\*\] The release driver reads release objects/,
        /^\[Resource::\*\] CloudWatch DescribeAlarms and GetMetricData take no resource-level restriction/,
        /^\[Resource::<WebAppBucket\w+\.Arn>\/\*\] SST’s StaticSite uploader replaces the whole build/,
        /^\[Resource::arn:<AWS::Partition>:s3:::cdk-[a-z0-9]+-assets-\d{12}-[\w-]+\/\*\] SST’s StaticSite uploader replaces the whole build/,
      ];
      for (const row of iam5)
        expect(
          accepted.some((pattern) => pattern.test(row.reason)),
          `${row.resource}: ${row.reason}`,
        ).toBe(true);
      // Per cell: the index ARN, the evidence prefix, and the broker's user paths (DELETE, PATCH, sign-out, reset-password).
      expect(iam5.filter((row) => row.resource.endsWith('/TenantAccessRole/Resource'))).toHaveLength(6 * app.cells.size);
      // The release driver's grants: one per cell stack, its release objects, CloudWatch reads — on its role alone.
      expect(new Set(iam5.filter((row) => /The release driver|CloudWatch DescribeAlarms/.test(row.reason)).map((row) => row.resource))).toEqual(
        new Set([`${app.controlPlane.stackName}/ReleaseDriverRole/DefaultPolicy/Resource`]),
      );
      expect(iam5.filter((row) => row.reason.includes('The release driver updates each cell stack'))).toHaveLength(app.cells.size);
      // The web app's uploader: its own bucket's objects and the CDK assets, on its policy alone.
      expect(iam5.filter((row) => row.reason.includes('StaticSite uploader')).map((row) => row.resource)).toEqual([
        `${app.router.stackName}/WebApp/S3UploaderPolicy/Resource`,
        `${app.router.stackName}/WebApp/S3UploaderPolicy/Resource`,
      ]);
      expect(iam5.filter((row) => row.reason.includes('/apikeys/*]')).map((row) => row.resource)).toEqual([
        `${app.controlPlane.stackName}/TenantOffboardingRole/DefaultPolicy/Resource`,
      ]);
      // Per cell: one suppressed finding per tier's plan on the tier-change policy, and on the mover's.
      expect(
        iam5
          .filter((row) => row.reason.includes('/keys/*]'))
          .map((row) => row.resource)
          .sort(),
      ).toEqual(
        [...app.cells.values()]
          .flatMap((cell) => ['TenantPlanAccess', 'TenantMoverAccess'].flatMap((policy) => TIER_NAMES.map(() => `${cell.stackName}/${policy}/Resource`)))
          .sort(),
      );
    });
  });
}
