import { describe, expect, it } from 'vitest';
import { CELL_FUNCTION_COUNT } from '@cellbook/core/metering/prices';
import { CELL_ROUTES } from './routes.js';

describe("the price table's cell", () => {
  it('counts the functions a Cell stack deploys and alarms on: one per cell route, and the authorizer', () => {
    // Each function adds an errors and a throttles alarm metric and a cold-start metric to a cell's fixed cost.
    expect(CELL_FUNCTION_COUNT).toBe(CELL_ROUTES.length + 1);
  });
});
