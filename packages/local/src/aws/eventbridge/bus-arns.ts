/** Bus and rule ARNs of the local account, and how a PutEvents entry's EventBusName resolves to a bus. */
import { LOCAL_ACCOUNT_ID, LOCAL_REGION } from '../types.js';

export const DEFAULT_BUS = 'default';
const BUS_ARN = /^arn:aws[\w-]*:events:([^:]+):(\d{12}):event-bus\/(.+)$/;

export function eventBusArn(name: string): string {
  return `arn:aws:events:${LOCAL_REGION}:${LOCAL_ACCOUNT_ID}:event-bus/${name}`;
}

/** EventBusName may be a name or an ARN; a bus of another account or region is never local. */
export function resolveBus(nameOrArn: string | undefined): { requested: string; arn: string; localName: string | undefined } {
  const requested = nameOrArn ?? DEFAULT_BUS;
  const match = BUS_ARN.exec(requested);
  if (!match) return { requested, arn: eventBusArn(requested), localName: requested };
  const [, region, account, name] = match;
  const local = region === LOCAL_REGION && account === LOCAL_ACCOUNT_ID;
  return { requested, arn: requested, localName: local ? name : undefined };
}

export function ruleArn(eventBusName: string, ruleName: string): string {
  const path = eventBusName === DEFAULT_BUS ? ruleName : `${eventBusName}/${ruleName}`;
  return `arn:aws:events:${LOCAL_REGION}:${LOCAL_ACCOUNT_ID}:rule/${path}`;
}
