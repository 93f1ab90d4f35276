/**
 * Which port each local endpoint listens on. Tests take ephemeral ports (0, the default everywhere);
 * `npm start` asks for a fixed block (`stablePorts`), so saved tokens (whose issuer names the Cognito
 * endpoint), the `.cellbook/aws-config` profile and bookmarks keep working from one start to the next.
 */
import type * as Cell from '@cellbook/core/cells/cell';

export interface PlatformPorts {
  /** The router: the one URL clients use. */
  router: number;
  controlPlane: number;
  /** The IAM-enforcing DynamoDB endpoint (the storage engine behind it stays internal, on a free port). */
  dynamodb: number;
  sts: number;
  s3: number;
  cognito: number;
  apiGateway: number;
  eventBridge: number;
  /** Each cell's gateway, by cell id. */
  cells: Record<string, number>;
}

/** What a platform is asked for: any endpoint left out takes a free port. */
export type PortRequest = Partial<Omit<PlatformPorts, 'cells'>> & { cells?: Record<string, number> };

/** The AWS stand-ins and the control plane, in the order of their offset from the base. */
const SERVICE_OFFSETS = { controlPlane: 0, dynamodb: 1, sts: 2, s3: 3, cognito: 4, apiGateway: 5, eventBridge: 6 } as const;
/** Cells start here above the base, in catalog order (room for the services to grow). */
const FIRST_CELL_OFFSET = 10;

/**
 * The default block above `CELLBOOK_PORT_BASE`: 4600 — clear of the usual development servers
 * (3000–3010, 4200, 5173, 8000, 8080), of DynamoDB Local's 8000 and of LocalStack's 4510–4566, so
 * `npm start` runs beside any of them.
 */
export const DEFAULT_PORT_BASE = 4600;

/** The fixed block `npm start` uses: control plane at `base`, the stand-ins just above, cells from `base + 10` in catalog order. */
export function stablePorts(base: number, router: number, catalog: readonly Cell.CellDefinition[]): PortRequest {
  const services = Object.fromEntries(Object.entries(SERVICE_OFFSETS).map(([name, offset]) => [name, base + offset])) as Record<keyof typeof SERVICE_OFFSETS, number>;
  const cells = Object.fromEntries(catalog.map((cell, index) => [cell.cellId, base + FIRST_CELL_OFFSET + index]));
  return { router, ...services, cells };
}

/** A port another process holds: says which endpoint wanted it. */
export class PortInUseError extends Error {
  constructor(
    readonly port: number,
    readonly endpoint: string,
  ) {
    super(`port ${port} (${endpoint}) is already in use on 127.0.0.1`);
    this.name = 'PortInUseError';
  }
}
