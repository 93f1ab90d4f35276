import { Aspects } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { SSTConfig } from 'sst';
import * as CellCatalog from '@cellbook/core/cells/cell';
import { Cell } from './stacks/Cell.js';
import { ControlPlane } from './stacks/ControlPlane.js';
import { Router } from './stacks/Router.js';
import { isDevStage } from './stacks/constructs/stage.js';

/**
 * The cells of the catalog all live in one region: the app deploys there. A catalog spanning
 * regions needs a control plane per region first; refuse rather than deploy half of it.
 */
function catalogRegion(): string {
  const regions = [...new Set(CellCatalog.CELL_CATALOG.map((cell) => cell.region))];
  const [region] = regions;
  if (region === undefined || regions.length !== 1) {
    throw new Error(`The cell catalog spans ${regions.length} regions (${regions.join(', ')}); this app deploys to exactly one.`);
  }
  return region;
}

export default {
  config() {
    return { name: 'cellbook', region: catalogRegion() };
  },
  stacks(app) {
    // Throwaway stages take their data with them; every other stage keeps it (see isDevStage).
    if (isDevStage(app)) app.setDefaultRemovalPolicy('destroy');
    app.stack(ControlPlane);
    // One data-plane stack per catalogued cell: adding a cell to core's catalog adds a stack. The
    // dedicated cells are deployed up front like the pooled ones, so in AWS nothing consumes the
    // `CellRequested` event placement publishes when no dedicated cell is free: it can only fire for
    // a catalogue entry that has not been deployed yet (placement marks it `provisioning` for the
    // tenant), and the next deploy of this app creates that cell, whose registration activates it.
    // Locally a provisioner boots the requested cell.
    const cells = CellCatalog.CELL_CATALOG.map((definition) => {
      const cell = Cell(definition);
      app.stack(cell, { id: definition.cellId });
      return cell;
    });
    app.stack(Router(cells));
    // AWS Solutions rules on every resource; findings are errors unless suppressed with a reason.
    Aspects.of(app).add(new AwsSolutionsChecks());
  },
} satisfies SSTConfig;
