import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';

/**
 * The one logger and metrics pair every handler uses. Tenant keys are appended per request by the
 * middleware and reset after it, so no line can carry a previous request's tenant.
 */
export const logger = new Logger({ serviceName: 'cellbook' });
export const metrics = new Metrics({ namespace: 'Cellbook', serviceName: 'cellbook' });
