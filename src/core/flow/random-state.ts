/**
 * Calls that seed or draw from a library's global random generator (numpy's legacy RandomState, Python's
 * `random`, torch, TensorFlow), recognised from the module a name was imported as. The runtime carries
 * the generators' state from step to step whatever draws from them (libraries drawing inside, too); the
 * flow uses these explicit calls only to say where the carried state cannot be the notebook's.
 */
export type RandomLibrary = 'numpy' | 'random' | 'torch' | 'tensorflow';

export const RANDOM_LIBRARY_NAMES: Record<RandomLibrary, string> = {
  numpy: 'NumPy',
  random: "Python's random module",
  torch: 'PyTorch',
  tensorflow: 'TensorFlow'
};

export interface RandomCall {
  kind: 'seed' | 'draw';
  libraries: RandomLibrary[];
}

const SEEDS: Record<string, RandomLibrary[]> = {
  'numpy.random.seed': ['numpy'],
  'numpy.random.set_state': ['numpy'],
  'random.seed': ['random'],
  'random.setstate': ['random'],
  'torch.manual_seed': ['torch'],
  'torch.seed': ['torch'],
  'torch.set_rng_state': ['torch'],
  'torch.random.manual_seed': ['torch'],
  'torch.random.set_rng_state': ['torch'],
  'torch.cuda.manual_seed': ['torch'],
  'torch.cuda.manual_seed_all': ['torch'],
  'tensorflow.random.set_seed': ['tensorflow'],
  'tensorflow.compat.v1.set_random_seed': ['tensorflow'],
  'tensorflow.keras.utils.set_random_seed': ['random', 'numpy', 'tensorflow'],
  'keras.utils.set_random_seed': ['random', 'numpy', 'tensorflow']
};

/** Names in the random modules that make generators of their own or read the state: not draws. */
const NOT_DRAWS = new Set([
  'numpy.random.default_rng',
  'numpy.random.RandomState',
  'numpy.random.Generator',
  'numpy.random.SeedSequence',
  'numpy.random.BitGenerator',
  'numpy.random.MT19937',
  'numpy.random.PCG64',
  'numpy.random.PCG64DXSM',
  'numpy.random.Philox',
  'numpy.random.SFC64',
  'numpy.random.get_state',
  'random.Random',
  'random.SystemRandom',
  'random.getstate'
]);

const TORCH_DRAWS = new Set([
  'rand',
  'randn',
  'randint',
  'randperm',
  'rand_like',
  'randn_like',
  'randint_like',
  'normal',
  'bernoulli',
  'multinomial',
  'poisson'
]);

const RANDOM_ROOTS = ['numpy', 'random', 'torch', 'tensorflow', 'keras'];

/** Answers by module and attribute chain: the flow asks for every call into a module on every edit. */
const answers = new Map<string, Map<string, RandomCall | null>>();
/** The answers of a module outside the random libraries: no call into it seeds or draws. */
const NEVER = new Map<string, RandomCall | null>();
const MAX_ANSWERS = 10000;
let answerCount = 0;

/** `module` is what the called name was imported as (`numpy` for `np`), `attr` the chain after it. */
export function randomCall(module: string | undefined, attr: string | undefined): RandomCall | null {
  if (!module) {
    return null;
  }
  let byAttr = answers.get(module);
  if (byAttr === NEVER) {
    return null;
  }
  const known = byAttr?.get(attr ?? '');
  if (known !== undefined) {
    return known;
  }
  if (answerCount >= MAX_ANSWERS) {
    answers.clear();
    answerCount = 0;
    byAttr = undefined;
  }
  answerCount++;
  if (!byAttr) {
    // Most calls are into other libraries (pandas, matplotlib): known by the module alone.
    byAttr = RANDOM_ROOTS.some(root => module.startsWith(root)) ? new Map() : NEVER;
    answers.set(module, byAttr);
    if (byAttr === NEVER) {
      return null;
    }
  }
  const answer = classify(module, attr);
  byAttr.set(attr ?? '', answer);
  return answer;
}

function classify(module: string, attr: string | undefined): RandomCall | null {
  const name = attr ? `${module}.${attr}` : module;
  const seeded = SEEDS[name];
  if (seeded) {
    return { kind: 'seed', libraries: seeded };
  }
  if (NOT_DRAWS.has(name)) {
    return null;
  }
  const dot = name.lastIndexOf('.');
  const owner = name.slice(0, dot);
  const fn = name.slice(dot + 1);
  if (owner === 'numpy.random') {
    return { kind: 'draw', libraries: ['numpy'] };
  }
  if (owner === 'random' && /^[a-z]/.test(fn)) {
    return { kind: 'draw', libraries: ['random'] };
  }
  if ((owner === 'torch' && TORCH_DRAWS.has(fn)) || owner === 'torch.nn.init') {
    return { kind: 'draw', libraries: ['torch'] };
  }
  if (owner === 'tensorflow.random') {
    return { kind: 'draw', libraries: ['tensorflow'] };
  }
  return null;
}
