/**
 * The analysis rules (design rules 1–3, IPython syntax), one cell each.
 * `free` = names read before the cell binds them, in order: what the cell needs.
 */
import { PythonAnalyser } from '..';
import type { CellAnalysis } from '../types';
import { locateWasmNode } from '../../../../server-proxy/src/wasm-node';

let analyser: PythonAnalyser;
beforeAll(async () => {
  analyser = await PythonAnalyser.create(locateWasmNode);
});

function summary(a: CellAnalysis) {
  const free: string[] = [];
  const bound = new Set<string>();
  const binds: string[] = [];
  const mutates: string[] = [];
  const maybes: string[] = [];
  const deletes: string[] = [];
  const deferred: Record<string, { reads: string[]; writes: string[] }> = {};
  const unserialisable: Record<string, string> = {};
  const add = (list: string[], n: string) => list.includes(n) || list.push(n);
  for (const e of a.events) {
    if (e.kind === 'read') {
      if (!bound.has(e.name)) {
        add(free, e.name);
      }
      continue;
    }
    if (e.how === 'bind') {
      bound.add(e.name);
      add(binds, e.name);
    } else if (e.how === 'delete') {
      bound.delete(e.name);
      add(deletes, e.name);
    } else if (e.how === 'maybe') {
      add(maybes, e.name);
    } else {
      add(mutates, e.name);
    }
    if (e.deferred) {
      deferred[e.name] = {
        reads: e.deferred.reads.map(r => r.name),
        writes: e.deferred.writes.map(w => `${w.how}:${w.name}`)
      };
    }
    if (e.unserialisable) {
      unserialisable[e.name] = e.unserialisable;
    }
  }
  return {
    free,
    binds,
    mutates,
    maybes,
    deletes,
    deferred,
    unserialisable,
    issues: a.issues.map(i => i.code)
  };
}

type Expected = Partial<ReturnType<typeof summary>>;

const CASES: Array<[string, string, Expected]> = [
  // --- scoping (building-blocks A.8) ---
  [
    'class scope is invisible to methods',
    'class C:\n    k = 1\n    def m(self):\n        return k',
    { free: [], binds: ['C'], deferred: { C: { reads: ['k'], writes: [] } } }
  ],
  [
    'class scope is invisible to comprehension bodies',
    'class C:\n    k = 1\n    v = [k for _ in range(2)]',
    { free: ['range', 'k'], binds: ['C'] }
  ],
  [
    'first iterable of a comprehension is evaluated outside',
    'class C:\n    xs = [1]\n    v = [x for x in xs]',
    { free: [] }
  ],
  [
    'comprehension variables do not leak',
    '[i for i in range(3)]\nprint(i)',
    { free: ['range', 'print', 'i'], binds: [] }
  ],
  [
    'walrus in a comprehension binds outside',
    '[y := f(x) for x in data]\nprint(y)',
    { free: ['data', 'f', 'print'], binds: ['y'] }
  ],
  [
    'global in a function writes a module name when called',
    'def g():\n    global counter\n    counter = 1',
    { binds: ['g'], deferred: { g: { reads: [], writes: ['bind:counter'] } } }
  ],
  [
    'use after del is flagged',
    'x = 1\ndel x\nprint(x)',
    { deletes: ['x'], free: ['print', 'x'], issues: ['use-after-delete'] }
  ],
  [
    'conditional definitions count',
    'if flag:\n    v = 1\nprint(v)',
    { free: ['flag', 'print'], binds: ['v'] }
  ],
  ['star import is flagged', 'from m import *\nprint(a)', { free: ['print', 'a'], issues: ['star-import'] }],
  [
    'except as unbinds the name',
    'try:\n    pass\nexcept E as e:\n    pass\nprint(e)',
    { free: ['E', 'print', 'e'], deletes: ['e'] }
  ],
  ['augmented assignment reads first', 'n += 1', { free: ['n'], binds: ['n'] }],
  [
    'with as binds',
    'with open(p) as fh:\n    data = fh.read()',
    { free: ['open', 'p'], binds: ['fh', 'data'], unserialisable: { fh: 'file' } }
  ],
  [
    'for targets leak at module level',
    'for i in range(3):\n    pass\nprint(i)',
    { free: ['range', 'print'], binds: ['i'] }
  ],
  [
    'lambda defaults now, body later',
    'f = lambda a, b=c: a + b + d',
    { free: ['c'], binds: ['f'], deferred: { f: { reads: ['d'], writes: [] } } }
  ],
  [
    'decorators and defaults now, body later',
    '@deco(opt)\ndef h(x=dflt):\n    return x + glob',
    { free: ['deco', 'opt', 'dflt'], deferred: { h: { reads: ['glob'], writes: [] } } }
  ],
  [
    'a closure is not a global read',
    'def outer():\n    v = 1\n    def inner():\n        return v\n    return inner',
    // no global reads; recorded because it returns a function (what it returns holds its effects)
    { deferred: { outer: { reads: [], writes: [] } } }
  ],
  [
    'nonlocal',
    'def outer():\n    v = 0\n    def inc():\n        nonlocal v\n        v += 1',
    { deferred: {} }
  ],
  [
    'match captures bind, dotted names are read',
    'match cmd:\n    case [x, *rest]:\n        pass\n    case Color.RED:\n        pass',
    { free: ['cmd', 'Color'], binds: ['x', 'rest'] }
  ],
  [
    'type parameters are not reads',
    'def first[T](xs: list[T]) -> T:\n    return xs[0]',
    { free: ['list'], deferred: {} }
  ],
  ['bare annotation does not bind', 'x: int\nprint(x)', { free: ['int', 'print', 'x'], binds: [] }],
  [
    'imports bind their names',
    'import a.b.c\nimport d.e as f\nfrom . import x\nfrom g import h as i',
    { binds: ['a', 'f', 'x', 'i'], free: [] }
  ],
  ['subscript target reads and mutates', "df['c'] = 1", { free: ['df'], mutates: ['df'], binds: [] }],
  ['fit mutates the model', 'model.fit(X)', { free: ['model', 'X'], mutates: ['model'] }],
  ['right-hand side before target', 'x = x + 1', { free: ['x'], binds: ['x'] }],
  ['f-strings and format specs are read', 'f"{val:{fmt}}"', { free: ['val', 'fmt'] }],
  ['class body is ordered', 'class K:\n    a = b\n    b = 1', { free: ['b'], binds: ['K'] }],
  [
    'a function read satisfied later in the cell',
    'def g():\n    return later\nlater = 1',
    { deferred: { g: { reads: ['later'], writes: [] } }, binds: ['g', 'later'] }
  ],
  ['del in a function makes the name local', 'def g():\n    del q', { deferred: {} }],
  [
    'the module of a from-import in a function binds nothing',
    'def g():\n    from a.b import c\n    return b, c',
    { deferred: { g: { reads: ['b'], writes: [] } } }
  ],
  [
    'chained and walrus bindings in a function are local',
    'def g():\n    x = y = 1\n    return [z := x + y for _ in w], z',
    { deferred: { g: { reads: ['w'], writes: [] } } }
  ],
  // --- mutation (rule 3) ---
  ['attribute assignment mutates the root', 'a.b.c = 2', { free: ['a'], mutates: ['a'] }],
  ['del through a subscript mutates', 'del d[k]', { free: ['d', 'k'], mutates: ['d'], deletes: [] }],
  ['augmented subscript mutates', "counts['a'] += 1", { free: ['counts'], mutates: ['counts'] }],
  ['list append mutates', 'items.append(3)', { free: ['items'], mutates: ['items'] }],
  ['dict update and set add mutate', 'd.update(x)\ns.add(1)', { mutates: ['d', 's'] }],
  ['sort and reverse mutate', 'xs.sort()\nys.reverse()', { mutates: ['xs', 'ys'] }],
  [
    'inplace=True mutates',
    "df.dropna(inplace=True)\ndf['a'].fillna(0, inplace=True)",
    { free: ['df'], mutates: ['df'] }
  ],
  ['inplace=False does not mutate', 'df2 = df.dropna(inplace=False)', { mutates: [], binds: ['df2'] }],
  [
    'other method calls only read',
    'total = df.sum()\nplt.plot(x)',
    { free: ['df', 'plt', 'x'], mutates: [] }
  ],
  [
    'partial_fit on an attribute chain mutates the root',
    'pipe.steps[0].partial_fit(X)',
    { mutates: ['pipe'] }
  ],
  [
    'mutation of a global inside a function is deferred',
    'def add(x):\n    items.append(x)',
    { deferred: { add: { reads: ['items'], writes: ['mutate:items'] } } }
  ],
  [
    'mutating a local list in a function is not global',
    'def f():\n    acc = []\n    acc.append(1)\n    return acc',
    { deferred: {} }
  ],
  ['tuple unpacking binds every name', 'a, (b, *c) = f()', { free: ['f'], binds: ['a', 'b', 'c'] }],
  ['chained assignment binds both', 'x = y = compute()', { free: ['compute'], binds: ['x', 'y'] }],
  ['del of a name', 'tmp = 1\ndel tmp', { binds: ['tmp'], deletes: ['tmp'], issues: [] }],
  // --- functions and classes ---
  [
    'method global reads go to the class',
    'class Model:\n    def predict(self, x):\n        return x * weight + bias',
    { deferred: { Model: { reads: ['weight', 'bias'], writes: [] } } }
  ],
  [
    'class bases and keywords are read now',
    'class C(Base, metaclass=Meta):\n    pass',
    { free: ['Base', 'Meta'], binds: ['C'] }
  ],
  [
    'parameter shadowing a global is local',
    'def f(data):\n    return data + offset',
    { deferred: { f: { reads: ['offset'], writes: [] } } }
  ],
  [
    'inner function free variables belong to the outer',
    'def outer():\n    def inner():\n        return scale\n    return inner()',
    { deferred: { outer: { reads: ['scale'], writes: [] } } }
  ],
  [
    'recursion reads its own name',
    'def fact(n):\n    return 1 if n < 2 else n * fact(n - 1)',
    { deferred: { fact: { reads: ['fact'], writes: [] } } }
  ],
  ['an inline lambda runs now', 'df2 = df.apply(lambda r: r * k)', { free: ['df', 'k'], binds: ['df2'] }],
  [
    'try/except in a function',
    'def load():\n    try:\n        return read(path)\n    except OSError:\n        return None',
    { deferred: { load: { reads: ['read', 'path', 'OSError'], writes: [] } } }
  ],
  [
    'global statement then delete',
    'def g():\n    global x\n    del x',
    { deferred: { g: { reads: ['x'], writes: ['delete:x'] } } }
  ],
  ['del of a name from another cell reads it', 'del tmp', { free: ['tmp'], deletes: ['tmp'] }],
  [
    'async function body is deferred',
    'async def fetch():\n    async with session.get(url) as r:\n        return await r.json()',
    { deferred: { fetch: { reads: ['session', 'url'], writes: [] } } }
  ],
  [
    'generator function call is a generator',
    'def gen():\n    yield 1\ng = gen()',
    { unserialisable: { g: 'generator' } }
  ],
  [
    'generator expression is a generator',
    'squares = (x * x for x in xs)',
    { free: ['xs'], unserialisable: { squares: 'generator' } }
  ],
  ['open file is unserialisable', "fh = open('a.txt')", { unserialisable: { fh: 'file' } }],
  [
    'locks and connections are unserialisable',
    'lock = threading.Lock()\ncon = sqlite3.connect(db)',
    { unserialisable: { lock: 'lock', con: 'connection' } }
  ],
  [
    'dynamic namespaces are flagged',
    "globals()['x'] = 1\nexec(code)",
    { issues: ['dynamic-namespace', 'dynamic-namespace'] }
  ],
  ['a user function named exec is not flagged', 'def exec(x):\n    return x\nexec(1)', { issues: [] }],
  ['builtins are still reported as reads', 'print(len(xs))', { free: ['print', 'len', 'xs'] }],
  [
    'walrus at module level',
    'if (n := len(data)) > 3:\n    print(n)',
    { free: ['len', 'data', 'print'], binds: ['n'] }
  ],
  ['dict comprehension scoping', '{k: v * w for k, v in pairs.items()}', { free: ['pairs', 'w'] }],
  [
    'nested comprehension sees outer target',
    '[y for x in rows for y in x if y > cut]',
    { free: ['rows', 'cut'] }
  ],
  [
    'while and else',
    'while running:\n    step()\nelse:\n    done = True',
    { free: ['running', 'step'], binds: ['done'] }
  ],
  [
    'conditional expression and boolean operators',
    'z = a if b else c or d',
    { free: ['b', 'a', 'c', 'd'], binds: ['z'] }
  ],
  ['keyword argument names are not reads', 'f(x=1, y=value)', { free: ['f', 'value'] }],
  ['attribute names are not reads', 'obj.attr.other', { free: ['obj'] }],
  [
    'slices and starred arguments',
    'a[lo:hi]\nf(*args, **kw)',
    { free: ['a', 'lo', 'hi', 'f', 'args', 'kw'] }
  ],
  [
    'match class patterns and guards',
    'match p:\n    case Point(x=0, y=yy) if yy > lim:\n        r = yy',
    { free: ['p', 'Point', 'lim'], binds: ['yy', 'r'] }
  ],
  [
    'match mapping and as patterns',
    'match cfg:\n    case {"k": v, **rest} as whole:\n        pass',
    { binds: ['v', 'rest', 'whole'] }
  ],
  ['match wildcard binds nothing', 'match x:\n    case _:\n        pass', { binds: [] }],
  [
    'return and yield outside a function still read',
    'assert ok, msg\nraise Err(why)',
    { free: ['ok', 'msg', 'Err', 'why'] }
  ],
  ['syntax error is reported with its line', 'x = 1\ny = (2 +\n', { issues: ['syntax-error'] }],
  // --- IPython syntax (building-blocks A.6, Kale's failures) ---
  ['! lines are neutral', '!pip install numpy\nx = 1', { binds: ['x'], issues: [] }],
  ['!! and indented ! lines are neutral', 'if ok:\n    !ls -la\n!!date', { free: ['ok'], issues: [] }],
  [
    '% line magics are neutral',
    '%matplotlib inline\n%load_ext autoreload\ny = 2',
    { binds: ['y'], issues: [] }
  ],
  ['help syntax is neutral', '?np.array\ndf.head??\nz = 3', { free: [], binds: ['z'], issues: [] }],
  ['x = !cmd binds x', 'files = !ls *.csv\nprint(files)', { binds: ['files'], free: ['print'] }],
  ['x = %magic binds x', 'res = %timeit -o f()\n', { binds: ['res'] }],
  ['%time runs its statement', '%time model = train(data)', { free: ['train', 'data'], binds: ['model'] }],
  ['%%time body is analysed', '%%time\nresult = run(x)', { free: ['run', 'x'], binds: ['result'] }],
  ['%%capture binds its output name', '%%capture out\nprint(x)', { free: ['print', 'x'], binds: ['out'] }],
  ['%%capture with options', '%%capture --no-stderr cap\ny = 1', { binds: ['y', 'cap'] }],
  ['%%timeit does not leak bindings', '%%timeit\nt = f(x)\nt2 = t + 1', { free: ['f', 'x'], binds: [] }],
  [
    'other cell magics are opaque',
    '%%bash\necho $x\nls',
    { free: [], binds: [], issues: ['opaque-cell-magic'] }
  ],
  [
    '%run and %store are dynamic',
    '%run other.py\n%store -r cache',
    { issues: ['dynamic-namespace', 'dynamic-namespace'] }
  ],
  ['backslash continuation of a magic', '!echo a \\\n    b\nq = 1', { binds: ['q'], issues: [] }],
  ['% inside brackets is the modulo operator', 'x = (a\n     % b)', { free: ['a', 'b'], binds: ['x'] }],
  [
    '! inside a triple-quoted string is text',
    's = """\n!not a command\n"""\nt = s',
    { binds: ['s', 't'], issues: [] }
  ],
  [
    'display and get_ipython are plain reads',
    'display(df)\nget_ipython().system("ls")',
    { free: ['display', 'df', 'get_ipython'] }
  ],
  // --- method calls that may change their object (issue 10) ---
  ['a generator draw may change it', 'x = rng.normal()', { maybes: ['rng'], mutates: [] }],
  ['a method of a notebook class may change its object', 'acc.push(3)', { maybes: ['acc'] }],
  ['reading methods change nothing', 'df.head()\ns = df.describe()', { maybes: [], mutates: [] }],
  ['next() advances the iterator', 'first = next(it)', { mutates: ['it'] }],
  ['shuffle changes its argument', 'rng.shuffle(order)', { mutates: ['order'], maybes: ['rng'] }],
  [
    'a function that changes a parameter says which',
    "def add_column(frame, name='c'):\n    frame[name] = 1",
    { deferred: { add_column: { reads: [], writes: [] } }, mutates: [] }
  ]
];

describe('cell analysis', () => {
  const events = (source: string) => analyser.analyseCell(source).events;
  const write = (source: string, name: string) =>
    events(source).find(e => e.kind === 'write' && e.name === name) as Extract<
      ReturnType<typeof events>[number],
      { kind: 'write' }
    >;

  it('records the module an import binds', () => {
    const modules = events(
      'import numpy as np\nimport os.path\nfrom numpy import random as npr\nfrom random import seed'
    )
      .filter(e => e.kind === 'write')
      .map(e => [e.name, e.kind === 'write' ? e.module : undefined]);
    expect(modules).toEqual([
      ['np', 'numpy'],
      ['os', 'os'],
      ['npr', 'numpy.random'],
      ['seed', 'random.seed']
    ]);
  });

  it('records what a stored value holds: functions in containers, instances, decorated functions', () => {
    expect(write("fns = {'a': f, 'b': [g]}", 'fns').holds).toEqual([{ name: 'f' }, { name: 'g' }]);
    expect(write('acc = Account().push(2)', 'acc').holds).toEqual([{ name: 'Account', called: true }]);
    expect(write('@logged\ndef h():\n    return 1', 'h').holds).toEqual([{ name: 'logged', called: true }]);
    expect(write('fns.append(f)', 'fns')).toMatchObject({ how: 'mutate', holds: [{ name: 'f' }] });
  });

  it('says which parameters a function changes and whether it returns a function it defines', () => {
    const deferred = write(
      "def add_column(frame, name='c'):\n    frame[name] = 1\n    frame.touch()",
      'add_column'
    ).deferred;
    expect(deferred).toMatchObject({
      params: ['frame', 'name'],
      mutates: [{ param: 'frame', how: 'mutate' }]
    });
    expect(
      write('def make(k):\n    def inner(v):\n        return v * k * s\n    return inner', 'make').deferred
    ).toMatchObject({
      makesCallables: true,
      reads: [{ name: 's' }]
    });
  });

  it('keeps the attribute chain and argument names of a call', () => {
    expect(
      events('np.random.seed(0)\nadd_column(df, name=col)').filter(e => e.kind === 'read' && e.call)
    ).toMatchObject([
      { kind: 'read', name: 'np', call: { attr: 'random.seed' } },
      { kind: 'read', name: 'add_column', call: { args: ['df'], keywords: { name: 'col' } } }
    ]);
  });

  it.each(CASES)('%s', (_title, source, expected) => {
    const got = summary(analyser.analyseCell(source));
    for (const [key, value] of Object.entries(expected)) {
      expect({ [key]: got[key as keyof typeof got] }).toEqual({ [key]: value });
    }
  });

  it('has a table of at least 60 cases', () => {
    expect(CASES.length).toBeGreaterThanOrEqual(60);
  });

  it('gives positions in the cell, also after IPython lines', () => {
    const a = analyser.analyseCell('!pip install x\n%matplotlib inline\ntotal = price * qty');
    expect(a.events.filter(e => e.kind === 'read').map(e => [e.name, e.line, e.column])).toEqual([
      ['price', 3, 8],
      ['qty', 3, 16]
    ]);
  });

  it('reports the line of a syntax error', () => {
    const [issue] = analyser.analyseCell('a = 1\nb = )\n').issues;
    expect(issue).toMatchObject({ code: 'syntax-error', line: 2 });
  });

  it('memoises by source, so an unchanged cell is not parsed again', () => {
    const source = 'memo_probe = 1';
    expect(analyser.analyseCell(source)).toBe(analyser.analyseCell(source));
  });
});
