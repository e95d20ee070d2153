/** Kubernetes resource quantities (`500m`, `2Gi`, `1.5`), checked the way the API server would. */

const QUANTITY = /^\+?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)?$/;

const FACTORS: Record<string, number> = {
  '': 1,
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60
};

/** The quantity's value in base units (cores, bytes), or null when it is not a quantity. */
export function parseQuantity(text: string): number | null {
  const match = QUANTITY.exec(text.trim());
  if (!match) {
    return null;
  }
  const mantissa = Number(match[1] + (match[3] ?? ''));
  return mantissa * FACTORS[match[4] ?? ''];
}

/** An explanation of what is wrong with a quantity, or null when it is fine. */
export function quantityProblem(text: string, what: 'cpu' | 'memory'): string | null {
  if (parseQuantity(text) !== null) {
    return null;
  }
  return what === 'cpu'
    ? `"${text}" is not a CPU amount; write cores like 2 or 0.5, or millicores like 500m`
    : `"${text}" is not a memory amount; write bytes with a suffix like 512Mi or 2Gi (not "GB")`;
}
