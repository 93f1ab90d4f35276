import * as Cell from '@cellbook/core/cells/cell';
import { operatorApi } from '../http/api-handler.js';
import { ok } from '../http/responses.js';
import { cellView } from './cell-view.js';

export const handler = operatorApi(async () => ok({ items: (await Cell.list()).map(cellView) }));
