/**
 * zod/mini speaks no language until told. Its messages reach clients (validation errors) and logs
 * (a refused event), so every module that declares schemas imports this one for its effect: English.
 */
import { en } from 'zod/locales';
import * as z from 'zod/mini';

z.config(en());
