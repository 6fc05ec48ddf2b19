/** Migrations only go forward: a down step would drop data that later code relies on. */
export async function refuseDown(): Promise<void> {
  throw new Error('down migrations are not supported');
}
