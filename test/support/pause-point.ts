/**
 * A hook for a workflow's progress callback (onboarding's `afterStep`, the mover's `afterState`)
 * that holds the workflow once it reports `at`, as a slow or dead function would: `reached`
 * resolves when it holds there (with the tenant id, when the callback passes one), and
 * `release()` lets it go on.
 */
export function pauseAt(at: string): { hook: (step: string, tenantId?: string) => Promise<void>; reached: Promise<string | undefined>; release: () => void } {
  let release: () => void = () => undefined;
  let arrive: (tenantId: string | undefined) => void = () => undefined;
  const reached = new Promise<string | undefined>((resolve) => {
    arrive = resolve;
  });
  const hook = async (step: string, tenantId?: string) => {
    if (step !== at) return;
    arrive(tenantId);
    await new Promise<void>((resolve) => {
      release = resolve;
    });
  };
  return { hook, reached, release: () => release() };
}
