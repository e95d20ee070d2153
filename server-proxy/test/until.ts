/**
 * Waits until `condition` holds, checking it again after each turn of the event loop and at most
 * every `everyMs`; fails with `what` after `timeoutMs`. Tests wait on the state they need, never for a
 * fixed time.
 */
export async function until<T>(
  what: string,
  condition: () => T | undefined | false | Promise<T | undefined | false>,
  { timeoutMs = 20000, everyMs = 10 } = {}
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await condition();
    if (value) {
      return value;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${what}`);
    }
    await new Promise(resolve => setTimeout(resolve, everyMs));
  }
}
