// What Ferry knows about pickle globals before any policy file: the few that model checkpoints
// need (allowed), the ones that hand an attacker code, shell, files or network (critical), and the
// Python 2 names that unpicklers still translate. Everything else is unknown and fails by default.

/**
 * Allowed without a policy file: what torch.save, numpy and the pickle module themselves write for
 * tensors, arrays and plain containers. Each only builds data; none reaches code by name.
 */
const TORCH_STORAGE_KINDS = [
  'Double', 'Float', 'Half', 'BFloat16', 'Long', 'Int', 'Short', 'Char', 'Byte', 'Bool',
  'ComplexDouble', 'ComplexFloat', 'QUInt8', 'QInt8', 'QInt32', 'QUInt4x2', 'QUInt2x4',
];
const TORCH_DTYPES = [
  'float16', 'float32', 'float64', 'bfloat16', 'half', 'float', 'double', 'complex32', 'complex64',
  'complex128', 'cfloat', 'cdouble', 'chalf', 'int8', 'int16', 'int32', 'int64', 'short', 'int', 'long',
  'uint8', 'uint16', 'uint32', 'uint64', 'bool', 'qint8', 'quint8', 'qint32', 'quint4x2', 'quint2x4',
  'float8_e4m3fn', 'float8_e5m2', 'float8_e4m3fnuz', 'float8_e5m2fnuz',
];
const TORCH_REBUILDERS = [
  '_rebuild_tensor', '_rebuild_tensor_v2', '_rebuild_tensor_v3', '_rebuild_parameter',
  '_rebuild_parameter_with_state', '_rebuild_sparse_tensor', '_rebuild_sparse_csr_tensor',
  '_rebuild_nested_tensor', '_rebuild_device_tensor_from_numpy', '_rebuild_device_tensor_from_cpu_tensor',
  '_rebuild_meta_tensor_no_storage', '_rebuild_qtensor', '_rebuild_wrapper_subclass',
];

export const SAFE_GLOBALS: ReadonlySet<string> = new Set([
  // torch: storages (persistent ids name them), tensor rebuild helpers, and the values they take.
  ...TORCH_STORAGE_KINDS.map((k) => `torch.${k}Storage`),
  ...TORCH_STORAGE_KINDS.map((k) => `torch.cuda.${k}Storage`),
  'torch.UntypedStorage',
  'torch.storage.UntypedStorage',
  'torch.storage.TypedStorage',
  ...['Double', 'Float', 'Half', 'BFloat16', 'Long', 'Int', 'Short', 'Char', 'Byte', 'Bool'].map((k) => `torch.${k}Tensor`),
  ...TORCH_REBUILDERS.map((f) => `torch._utils.${f}`),
  // Calls the function and type it is given; both are globals of their own and checked as such.
  'torch._tensor._rebuild_from_type_v2',
  'torch.Tensor',
  'torch.Size',
  'torch.device',
  'torch.nn.parameter.Parameter',
  'torch.serialization._get_layout',
  ...TORCH_DTYPES.map((d) => `torch.${d}`),
  'torch.strided', 'torch.sparse_coo', 'torch.sparse_csr', 'torch.sparse_csc', 'torch.sparse_bsr', 'torch.sparse_bsc',
  'torch.contiguous_format', 'torch.channels_last', 'torch.channels_last_3d', 'torch.preserve_format',
  // numpy arrays and scalars (numpy 1 and numpy 2 module paths).
  'numpy.core.multiarray._reconstruct', 'numpy._core.multiarray._reconstruct',
  'numpy.core.multiarray.scalar', 'numpy._core.multiarray.scalar',
  'numpy.core.numeric._frombuffer', 'numpy._core.numeric._frombuffer',
  'numpy.dtype', 'numpy.ndarray',
  // Containers and plain values the pickle module itself writes.
  'collections.OrderedDict',
  'builtins.set', 'builtins.frozenset', 'builtins.slice', 'builtins.bytearray', 'builtins.bytes', 'builtins.complex',
  'builtins.range', 'builtins.object', 'builtins.int', 'builtins.float', 'builtins.str', 'builtins.bool',
  'builtins.list', 'builtins.dict', 'builtins.tuple',
  // Protocol 0/1 instances are rebuilt through this; the class it is given is checked on its own.
  'copyreg._reconstructor',
  // Protocol 2 writes bytes as codecs.encode(text, "latin1"); codecs resolve only inside the encodings package.
  '_codecs.encode', 'codecs.encode',
  // Timestamps and training arguments that checkpoints commonly carry; constructors only store values.
  'datetime.datetime', 'datetime.date', 'datetime.time', 'datetime.timedelta', 'datetime.timezone',
  'argparse.Namespace',
]);

/** Modules that are critical with every name and every submodule in them. */
const DANGEROUS_MODULES: ReadonlyMap<string, string> = new Map([
  ...['os', 'posix', 'nt', 'subprocess', '_posixsubprocess', 'pty', 'commands', 'multiprocessing', 'asyncio'].map(
    (m) => [m, 'runs processes or reaches the operating system'] as const,
  ),
  ...['sys', 'importlib', 'imp', 'pkgutil', 'zipimport', 'runpy', 'ctypes', '_ctypes', 'cffi'].map(
    (m) => [m, 'imports or runs arbitrary code'] as const,
  ),
  ...['code', 'codeop', 'marshal', 'pdb', 'bdb', 'timeit', 'profile', 'cProfile', 'trace', 'doctest', 'pydoc', 'logging.config'].map(
    (m) => [m, 'compiles or evaluates code'] as const,
  ),
  ...['pickle', '_pickle', 'cPickle', 'dill', 'cloudpickle', 'shelve'].map((m) => [m, 'unpickles a nested payload'] as const),
  ...['shutil', 'fileinput', 'tempfile'].map((m) => [m, 'reads, writes or deletes files'] as const),
  ...['pip', 'ensurepip'].map((m) => [m, 'installs packages'] as const),
  ...[
    'socket', '_socket', 'socketserver', 'ssl', 'http', 'httplib', 'urllib', 'urllib2', 'urllib3', 'requests', 'aiohttp',
    'httpx', 'ftplib', 'smtplib', 'telnetlib', 'poplib', 'imaplib', 'nntplib', 'xmlrpc', 'webbrowser', 'antigravity',
  ].map((m) => [m, 'opens network connections or a browser'] as const),
  ['torch.hub', 'downloads and runs code'],
]);

/** Single callables that are critical: each executes code, reaches objects by name, or loads a nested pickle. */
const DANGEROUS_NAMES: ReadonlyMap<string, string> = new Map([
  ...['eval', 'exec', 'compile', 'execfile', 'apply', 'breakpoint', 'input', 'help', 'reload'].map(
    (n) => [`builtins.${n}`, 'evaluates or runs code'] as const,
  ),
  ...['getattr', 'setattr', 'delattr', 'globals', 'locals', 'vars', '__import__'].map(
    (n) => [`builtins.${n}`, 'reaches any object by name, so a pickle can call what it could not import'] as const,
  ),
  ['builtins.open', 'opens files'],
  ...['io', '_io'].flatMap((m) => ['open', 'open_code', 'FileIO'].map((n) => [`${m}.${n}`, 'opens files'] as const)),
  ['codecs.open', 'opens files'],
  ...['operator', '_operator'].flatMap((m) =>
    ['attrgetter', 'itemgetter', 'methodcaller', 'call'].map((n) => [`${m}.${n}`, 'reaches or calls attributes by name'] as const),
  ),
  ...['functools', '_functools'].flatMap((m) => ['partial', 'partialmethod', 'reduce'].map((n) => [`${m}.${n}`, 'builds calls to other callables'] as const)),
  ...['CodeType', 'FunctionType', 'LambdaType', 'MethodType'].map((n) => [`types.${n}`, 'creates functions from raw code'] as const),
  ['torch.load', 'unpickles a nested payload'],
  ['torch.serialization.load', 'unpickles a nested payload'],
  ['torch.storage._load_from_bytes', 'unpickles a nested payload with torch.load'],
  ['numpy.load', 'unpickles a nested payload'],
  ['numpy.lib.npyio.load', 'unpickles a nested payload'],
  ['numpy.testing._private.utils.runstring', 'evaluates code'],
  ['joblib.load', 'unpickles a nested payload'],
  ['pandas.read_pickle', 'unpickles a nested payload'],
]);

/** Python 2 module names that unpicklers translate (protocols 0–2); listed where the target matters to policy. */
const PY2_MODULES: ReadonlyMap<string, string> = new Map([
  ['__builtin__', 'builtins'], ['copy_reg', 'copyreg'], ['cPickle', 'pickle'], ['commands', 'subprocess'],
  ['httplib', 'http.client'], ['urllib2', 'urllib.request'], ['SocketServer', 'socketserver'],
  ['BaseHTTPServer', 'http.server'], ['SimpleHTTPServer', 'http.server'], ['CGIHTTPServer', 'http.server'],
  ['xmlrpclib', 'xmlrpc.client'], ['SimpleXMLRPCServer', 'xmlrpc.server'], ['thread', '_thread'],
  ['Queue', 'queue'], ['cStringIO', 'io'], ['StringIO', 'io'], ['exceptions', 'builtins'], ['UserDict', 'collections'],
]);

/** Python 2 names that moved to another module. */
const PY2_NAMES: ReadonlyMap<string, string> = new Map([
  ['__builtin__.xrange', 'builtins.range'], ['__builtin__.unicode', 'builtins.str'], ['__builtin__.basestring', 'builtins.str'],
  ['__builtin__.long', 'builtins.int'], ['__builtin__.unichr', 'builtins.chr'], ['__builtin__.reduce', 'functools.reduce'],
  ['__builtin__.intern', 'sys.intern'], ['__builtin__.raw_input', 'builtins.input'], ['itertools.izip', 'builtins.zip'],
  ['itertools.imap', 'builtins.map'], ['itertools.ifilter', 'builtins.filter'], ['urllib.urlopen', 'urllib.request.urlopen'],
]);

/** The Python 3 name an unpickler imports for a (possibly Python 2) module and name. */
export function python3Name(module: string, name: string): string {
  const full = `${module}.${name}`;
  const moved = PY2_NAMES.get(full);
  if (moved) return moved;
  const renamed = PY2_MODULES.get(module);
  return renamed ? `${renamed}.${name}` : full;
}

function dangerousFullName(full: string): string | undefined {
  const exact = DANGEROUS_NAMES.get(full);
  if (exact) return exact;
  for (let dot = full.indexOf('.'); dot >= 0; dot = full.indexOf('.', dot + 1)) {
    const reason = DANGEROUS_MODULES.get(full.slice(0, dot));
    if (reason) return reason;
  }
  return DANGEROUS_MODULES.get(full);
}

/**
 * Why a global is critical, or undefined. `name` may be a dotted attribute path (protocol 4 walks
 * it), so `torch.serialization` + `os.system` is judged by its `os.system` tail as well.
 */
export function dangerReason(module: string, name: string): string | undefined {
  const candidates = [`${module}.${name}`, python3Name(module, name)];
  const parts = name.split('.');
  if (parts.length > 1 && parts.some((p) => p.startsWith('__') && p.endsWith('__'))) {
    return 'walks an attribute path through interpreter internals (dunder attributes)';
  }
  for (let i = 1; i < parts.length; i++) candidates.push(parts.slice(i - 1).join('.'));
  for (const c of candidates) {
    const reason = dangerousFullName(c);
    if (reason) return reason;
  }
  return undefined;
}
