/**
 * Python scopes for the analysis walk, and how a name resolves through them.
 */
import type { Deferred } from './types';

export type ScopeKind = 'module' | 'function' | 'class' | 'comprehension';

/**
 * Where the global effects of code in a scope go: straight into the cell's
 * events (code that runs now), or into the `deferred` of the function whose
 * body it is (code that runs when the function is called).
 */
export type Sink = { kind: 'now' } | { kind: 'later'; deferred: Deferred };

export class Scope {
  /** Function: every name bound anywhere in the body. Class: names bound so far. Comprehension: its targets. */
  readonly locals = new Set<string>();
  readonly globals = new Set<string>();
  readonly nonlocals = new Set<string>();

  constructor(
    readonly kind: ScopeKind,
    readonly parent: Scope | null,
    readonly sink: Sink
  ) {}

  /**
   * Whether `name` used in this scope means the module-level name. Class
   * scopes are seen only by code directly in the class body, and
   * comprehension and function scopes hide names they bind.
   */
  resolvesToGlobal(name: string): boolean {
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- walking up the chain of scopes
    for (let s: Scope | null = this; s; s = s.parent) {
      switch (s.kind) {
        case 'module':
          return true;
        case 'class':
          if (s === this && s.locals.has(name)) {
            return false;
          }
          if (s.globals.has(name)) {
            return true;
          }
          break;
        case 'comprehension':
          if (s.locals.has(name)) {
            return false;
          }
          break;
        case 'function':
          if (s.globals.has(name)) {
            return true;
          }
          if (s.locals.has(name) || s.nonlocals.has(name)) {
            return false;
          }
      }
    }
    return true;
  }

  /** The scope a walrus binds in: the nearest one that is not a comprehension. */
  walrusTarget(): Scope {
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- walking up the chain of scopes
    let s: Scope = this;
    while (s.kind === 'comprehension' && s.parent) {
      s = s.parent;
    }
    return s;
  }
}
