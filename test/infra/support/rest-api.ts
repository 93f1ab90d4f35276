import type { CfnTemplate } from './synth.js';

export interface SynthesizedMethod {
  logicalId: string;
  /** `GET /cases/{caseId}` — the same form as the route tables. */
  route: string;
  authorizationType: string;
  authorizerLogicalId: string | undefined;
  apiKeyRequired: boolean;
  /** Logical id of the Lambda function the method integrates with. */
  functionLogicalId: string | undefined;
  restApiLogicalId: string;
}

type Ref = { Ref?: string; 'Fn::GetAtt'?: [string, string] };

/** Rebuilds each method's route from the Resource tree (PathPart/ParentId) of a REST API template. */
export function restApiMethods(template: CfnTemplate): SynthesizedMethod[] {
  const resources = template.Resources;
  const pathOf = (target: Ref): string => {
    if (target['Fn::GetAtt']?.[1] === 'RootResourceId') return '';
    const resource = resources[target.Ref!];
    if (resource?.Type !== 'AWS::ApiGateway::Resource') throw new Error(`unexpected resource parent ${JSON.stringify(target)}`);
    const props = resource.Properties as { ParentId: Ref; PathPart: string };
    return `${pathOf(props.ParentId)}/${props.PathPart}`;
  };
  return Object.entries(resources)
    .filter(([, resource]) => resource.Type === 'AWS::ApiGateway::Method')
    .map(([logicalId, resource]) => {
      const props = resource.Properties as {
        HttpMethod: string;
        ResourceId: Ref;
        RestApiId: Ref;
        AuthorizationType: string;
        AuthorizerId?: Ref;
        ApiKeyRequired?: boolean;
        Integration?: { Uri?: unknown };
      };
      const uri = JSON.stringify(props.Integration?.Uri ?? '');
      return {
        logicalId,
        route: `${props.HttpMethod} ${pathOf(props.ResourceId) || '/'}`,
        authorizationType: props.AuthorizationType,
        authorizerLogicalId: props.AuthorizerId?.Ref,
        apiKeyRequired: props.ApiKeyRequired === true,
        functionLogicalId: /"Fn::GetAtt":\["([^"]+)","Arn"\]/.exec(uri)?.[1],
        restApiLogicalId: props.RestApiId.Ref!,
      };
    });
}
