/** Runs `task(0)` … `task(count - 1)`, started in that order, with at most `concurrency` running at once. */
export async function concurrently(count: number, concurrency: number, task: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) await task(next++);
    }),
  );
}
