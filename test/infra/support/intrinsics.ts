import { createHash } from 'node:crypto';
import type { CfnTemplate } from './synth.js';

/**
 * Resolves CloudFormation intrinsics in synthesized templates to the concrete strings a deployment
 * would produce, so IAM documents and function code can be evaluated as AWS would see them.
 * Physical names and ids are invented deterministically (nothing is deployed), ARNs follow each
 * service's documented format, and `Fn::ImportValue` follows exports across stacks. Anything it
 * does not know how to resolve is an error — a proof must never run on a half-resolved document.
 */
export interface Environment {
  account: string;
  region: string;
}

type Value = unknown;

function digest(...parts: string[]): string {
  return createHash('sha256').update(parts.join('/')).digest('hex');
}

export class IntrinsicResolver {
  private readonly exports = new Map<string, { stack: string; value: Value }>();

  constructor(
    private readonly templates: ReadonlyMap<string, CfnTemplate>,
    readonly env: Environment,
  ) {
    for (const [stack, template] of templates) {
      for (const output of Object.values(template.Outputs ?? {})) {
        if (output.Export) this.exports.set(String(this.resolve(stack, output.Export.Name)), { stack, value: output.Value });
      }
    }
  }

  template(stack: string): CfnTemplate {
    const template = this.templates.get(stack);
    if (!template) throw new Error(`no template for stack ${stack}`);
    return template;
  }

  resource(stack: string, logicalId: string): CfnTemplate['Resources'][string] {
    const resource = this.template(stack).Resources[logicalId];
    if (!resource) throw new Error(`${stack} has no resource ${logicalId}`);
    return resource;
  }

  /** Deep-resolves every intrinsic in `value`, evaluated in the context of `stack`. */
  resolve(stack: string, value: Value): Value {
    if (Array.isArray(value)) return value.map((item) => this.resolve(stack, item));
    if (value === null || typeof value !== 'object') return value;
    const entries = Object.entries(value as Record<string, Value>);
    if (entries.length === 1) {
      const [key, arg] = entries[0]!;
      switch (key) {
        case 'Ref':
          return this.ref(stack, String(arg));
        case 'Fn::GetAtt': {
          const [logicalId, attribute] = (typeof arg === 'string' ? arg.split('.') : arg) as [string, string];
          return this.getAtt(stack, logicalId, attribute);
        }
        case 'Fn::Join': {
          const [separator, parts] = arg as [string, Value[]];
          return (this.resolve(stack, parts) as Value[]).map(String).join(separator);
        }
        case 'Fn::Select': {
          const [index, list] = arg as [Value, Value];
          const items = this.resolve(stack, list) as Value[];
          return items[Number(this.resolve(stack, index))];
        }
        case 'Fn::Split': {
          const [separator, source] = arg as [string, Value];
          return String(this.resolve(stack, source)).split(separator);
        }
        case 'Fn::Sub':
          return this.sub(stack, arg);
        case 'Fn::ImportValue': {
          const name = String(this.resolve(stack, arg));
          const exported = this.exports.get(name);
          if (!exported) throw new Error(`no stack exports ${name}`);
          return this.resolve(exported.stack, exported.value);
        }
        default:
          if (key.startsWith('Fn::') || key === 'Condition') throw new Error(`unsupported intrinsic ${key} in ${stack}`);
      }
    }
    return Object.fromEntries(entries.map(([key, item]) => [key, this.resolve(stack, item)]));
  }

  resolveString(stack: string, value: Value): string {
    const resolved = this.resolve(stack, value);
    if (typeof resolved !== 'string') throw new Error(`expected a string, got ${JSON.stringify(resolved)}`);
    return resolved;
  }

  private sub(stack: string, arg: Value): string {
    const [template, variables = {}] = (typeof arg === 'string' ? [arg] : arg) as [string, Record<string, Value>?];
    return template.replace(/\$\{([^}!]+)\}/g, (_match, name: string) => {
      if (name in variables) return String(this.resolve(stack, variables[name]));
      const [logicalId, attribute] = name.split('.') as [string, string?];
      return attribute ? this.getAtt(stack, logicalId, attribute) : this.ref(stack, logicalId);
    });
  }

  private pseudo(stack: string, name: string): string | undefined {
    switch (name) {
      case 'AWS::AccountId':
        return this.env.account;
      case 'AWS::Region':
        return this.env.region;
      case 'AWS::Partition':
        return 'aws';
      case 'AWS::URLSuffix':
        return 'amazonaws.com';
      case 'AWS::StackName':
        return stack;
      case 'AWS::StackId':
        return `arn:aws:cloudformation:${this.env.region}:${this.env.account}:stack/${stack}/${digest(stack).slice(0, 8)}`;
      default:
        return undefined;
    }
  }

  /** The physical name: the template's own name property if it sets one, else an invented one. */
  private physicalName(stack: string, logicalId: string, property: string, maxLength = 64): string {
    const props = this.resource(stack, logicalId).Properties ?? {};
    if (props[property] !== undefined) return this.resolveString(stack, props[property]);
    return `${`${stack}-${logicalId}`.slice(0, maxLength - 9)}-${digest(stack, logicalId).slice(0, 8)}`;
  }

  private id(stack: string, logicalId: string, length: number): string {
    return digest(stack, logicalId).slice(0, length);
  }

  ref(stack: string, logicalId: string): string {
    const pseudo = this.pseudo(stack, logicalId);
    if (pseudo !== undefined) return pseudo;
    const { Type: type } = this.resource(stack, logicalId);
    const { account, region } = this.env;
    switch (type) {
      case 'AWS::DynamoDB::Table':
        return this.physicalName(stack, logicalId, 'TableName');
      case 'AWS::IAM::Role':
        return this.physicalName(stack, logicalId, 'RoleName');
      case 'AWS::Lambda::Function':
        return this.physicalName(stack, logicalId, 'FunctionName');
      case 'AWS::Logs::LogGroup':
        return this.physicalName(stack, logicalId, 'LogGroupName', 512);
      case 'AWS::Events::EventBus':
        return this.physicalName(stack, logicalId, 'Name');
      case 'AWS::Events::Rule':
        return this.physicalName(stack, logicalId, 'Name');
      case 'AWS::SQS::Queue':
        return `https://sqs.${region}.amazonaws.com/${account}/${this.physicalName(stack, logicalId, 'QueueName')}`;
      case 'AWS::Cognito::UserPool':
        return `${region}_${this.id(stack, logicalId, 9)}`;
      case 'AWS::Cognito::UserPoolClient':
        return this.id(stack, logicalId, 26);
      case 'AWS::ApiGateway::RestApi':
      case 'AWS::ApiGateway::UsagePlan':
      case 'AWS::ApiGateway::Authorizer':
      case 'AWS::ApiGateway::Deployment':
        return this.id(stack, logicalId, 10);
      case 'AWS::ApiGateway::Stage':
        return this.resolveString(stack, this.resource(stack, logicalId).Properties?.StageName);
      case 'AWS::CloudFront::Distribution':
        return `E${this.id(stack, logicalId, 13).toUpperCase()}`;
      case 'AWS::S3::Bucket':
        return this.physicalName(stack, logicalId, 'BucketName', 63).toLowerCase();
      case 'AWS::CloudFront::ResponseHeadersPolicy':
      case 'AWS::CloudFront::OriginAccessControl':
        return this.id(stack, logicalId, 13).toUpperCase();
      default:
        throw new Error(`no Ref resolution for ${type} (${stack}/${logicalId})`);
    }
  }

  getAtt(stack: string, logicalId: string, attribute: string): string {
    const { Type: type } = this.resource(stack, logicalId);
    const { account, region } = this.env;
    const name = () => this.ref(stack, logicalId);
    const key = `${type}.${attribute}`;
    switch (key) {
      case 'AWS::DynamoDB::Table.Arn':
        return `arn:aws:dynamodb:${region}:${account}:table/${name()}`;
      case 'AWS::IAM::Role.Arn': {
        const path = (this.resource(stack, logicalId).Properties?.Path as string | undefined) ?? '/';
        return `arn:aws:iam::${account}:role${path}${name()}`;
      }
      case 'AWS::Lambda::Function.Arn':
        return `arn:aws:lambda:${region}:${account}:function:${name()}`;
      case 'AWS::Logs::LogGroup.Arn':
        return `arn:aws:logs:${region}:${account}:log-group:${name()}:*`;
      case 'AWS::Events::EventBus.Arn':
        return `arn:aws:events:${region}:${account}:event-bus/${name()}`;
      case 'AWS::Events::EventBus.Name':
        return name();
      case 'AWS::Events::Rule.Arn': {
        const bus = this.resource(stack, logicalId).Properties?.EventBusName;
        const busName = bus === undefined ? 'default' : this.resolveString(stack, bus);
        return `arn:aws:events:${region}:${account}:rule/${busName}/${name()}`;
      }
      case 'AWS::S3::Bucket.Arn':
        return `arn:aws:s3:::${name()}`;
      case 'AWS::S3::Bucket.RegionalDomainName':
        return `${name()}.s3.${region}.amazonaws.com`;
      case 'AWS::CloudFront::OriginAccessControl.Id':
        return name();
      case 'AWS::CloudFront::Distribution.Id':
        return name();
      case 'AWS::SQS::Queue.Arn':
        return `arn:aws:sqs:${region}:${account}:${this.physicalName(stack, logicalId, 'QueueName')}`;
      case 'AWS::SQS::Queue.QueueName':
        return this.physicalName(stack, logicalId, 'QueueName');
      case 'AWS::Cognito::UserPool.Arn':
        return `arn:aws:cognito-idp:${region}:${account}:userpool/${name()}`;
      case 'AWS::Cognito::UserPool.ProviderURL':
        return `https://cognito-idp.${region}.amazonaws.com/${name()}`;
      case 'AWS::Cognito::UserPool.ProviderName':
        return `cognito-idp.${region}.amazonaws.com/${name()}`;
      case 'AWS::ApiGateway::RestApi.RootResourceId':
        return this.id(stack, `${logicalId}/root`, 10);
      case 'AWS::CloudFront::KeyValueStore.Id':
        return `${this.id(stack, logicalId, 8)}-${this.id(stack, `${logicalId}/1`, 4)}-${this.id(stack, `${logicalId}/2`, 4)}-${this.id(stack, `${logicalId}/3`, 4)}-${this.id(stack, `${logicalId}/4`, 12)}`;
      case 'AWS::CloudFront::KeyValueStore.Arn':
        return `arn:aws:cloudfront::${account}:key-value-store/${this.getAtt(stack, logicalId, 'Id')}`;
      case 'AWS::CloudWatch::Alarm.Arn':
      case 'AWS::CloudWatch::CompositeAlarm.Arn':
        return `arn:aws:cloudwatch:${region}:${account}:alarm:${this.physicalName(stack, logicalId, 'AlarmName', 255)}`;
      case 'AWS::CloudFront::Function.FunctionARN':
        return `arn:aws:cloudfront::${account}:function/${this.physicalName(stack, logicalId, 'Name')}`;
      case 'AWS::CloudFront::Distribution.DomainName':
        return `d${this.id(stack, logicalId, 13)}.cloudfront.net`;
      default:
        throw new Error(`no Fn::GetAtt resolution for ${key} (${stack}/${logicalId})`);
    }
  }
}
