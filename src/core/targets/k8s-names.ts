/**
 * Names that Kubernetes, Argo and KFP accept, derived from notebook names
 * (steps, parameters, variables, volumes) without collisions.
 *
 * Two kinds:
 * - DNS-1123 labels (`[a-z0-9]([-a-z0-9]*[a-z0-9])?`, at most 63): task,
 *   template, component and volume names. Argo also refuses task names that
 *   begin with a digit, so ours always begin with a letter.
 * - keys (`[A-Za-z_][A-Za-z0-9_]*`): KFP input/output keys and Argo parameter
 *   names. They appear inside placeholders such as `{{$.inputs.parameters['KEY']}}`
 *   and `{{workflow.parameters.KEY}}`, so nothing but these characters may
 *   reach them.
 *
 * A name that had to change (or that collides with one already taken) gets a
 * short hash of the original as a suffix: the same notebook always gives the
 * same names, and two different originals never share one.
 */

/** cyrb53: a small, well-mixed 53-bit string hash (the core has no crypto module). */
export function hash53(text: string): number {
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ ch, 2654435761);
    h2 = Math.imul(h2 ^ ch, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return 4294967296 * (2097151 & h2) + (h1 >>> 0);
}

/** Six base-36 characters of the hash of `text` (about 31 bits). */
export function shortHash(text: string): string {
  return (hash53(text) % 36 ** 6).toString(36).padStart(6, '0');
}

export const DNS_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
export const KEY = /^[A-Za-z_][A-Za-z0-9_]*$/;
const MAX = 63;

/** The label for `raw`, and whether it says exactly what `raw` says (only `_` became `-`). */
function labelOf(raw: string): { name: string; exact: boolean } {
  const name = raw
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^[-0-9]+|-+$/g, '');
  // Step names are [_a-z][_a-z0-9]*: turning `_` into `-` loses nothing for them (a step `a_b` and a
  // volume `a-b` would meet on `a-b`, which the allocator's collision check settles).
  const exact = /^[a-z][a-z0-9_-]*[a-z0-9]$|^[a-z]$/.test(raw) && name === raw.replace(/_/g, '-');
  return { name, exact };
}

function keyOf(raw: string): { name: string; exact: boolean } {
  if (KEY.test(raw)) {
    return { name: raw, exact: true };
  }
  const name = raw.replace(/[^A-Za-z0-9_]+/g, '_').replace(/^[0-9_]+|_+$/g, '');
  return { name, exact: false };
}

/** Cut `base` so that `base + sep + suffix` fits in `max`, without a separator at the cut. */
function withSuffix(base: string, suffix: string, sep: string, max: number): string {
  const room = max - suffix.length - sep.length;
  const cut = base.slice(0, room).replace(sep === '-' ? /-+$/ : /_+$/, '');
  return cut ? `${cut}${sep}${suffix}` : `${sep === '-' ? 'x' : 'k'}${sep}${suffix}`;
}

/**
 * Hands out unique names of one kind. Names are given in a deterministic
 * order by the callers (notebook order), so the result is deterministic too.
 */
export class NameAllocator {
  private readonly taken = new Set<string>();
  private readonly given = new Map<string, string>();

  constructor(
    private readonly kind: 'label' | 'key',
    reserved: Iterable<string> = [],
    private readonly max = MAX
  ) {
    for (const name of reserved) {
      this.taken.add(kind === 'label' ? name : name.toLowerCase());
    }
  }

  /** The name for `raw`; asking again for the same `raw` gives the same name. */
  name(raw: string): string {
    const known = this.given.get(raw);
    if (known !== undefined) {
      return known;
    }
    const sep = this.kind === 'label' ? '-' : '_';
    const { name, exact } = this.kind === 'label' ? labelOf(raw) : keyOf(raw);
    let candidate = exact && name.length <= this.max ? name : withSuffix(name, shortHash(raw), sep, this.max);
    // Keys are compared case-insensitively: KFP and Argo keys are case-sensitive, but file systems and humans are not.
    const norm = (n: string) => (this.kind === 'label' ? n : n.toLowerCase());
    for (let i = 1; this.taken.has(norm(candidate)); i++) {
      candidate = withSuffix(name, shortHash(`${raw}\u0000${i}`), sep, this.max);
    }
    this.taken.add(norm(candidate));
    this.given.set(raw, candidate);
    return candidate;
  }
}

/** A DNS-1123 subdomain (PVC, Secret and VolumeSnapshot names are references and are never mangled). */
export function isDnsSubdomain(name: string): boolean {
  return name.length <= 253 && /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/.test(name);
}
