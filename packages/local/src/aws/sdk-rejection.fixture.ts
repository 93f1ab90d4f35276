/** The error an SDK call that must fail ends in, with the HTTP status the endpoint answered. */
export async function rejection(promise: Promise<unknown>): Promise<Error & { $metadata: { httpStatusCode?: number } }> {
  const error: unknown = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  if (!(error instanceof Error)) throw new Error('expected the call to fail');
  return error as Error & { $metadata: { httpStatusCode?: number } };
}
