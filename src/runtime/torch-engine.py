"""
The engine's optional PyTorch back end: runs the project's ONNX graphs op by op with PyTorch, on a
CUDA GPU when there is one. Started by src/runtime/torch-channel.ts (INPAINT_ENGINE=torch) as a child
process; it answers the requests of src/runtime/protocol.ts over stdin/stdout.

Framing, both ways: u32 little-endian header length, a JSON header, then the binary parts the header
lists (`parts`: [{name, dtype, shape, bytes}]), back to back. A `create` request carries the ONNX model
as its one part (dtype 'uint8').

Why: ONNX Runtime for Node has no GPU build here, and training on a lent GPU machine is where the
images seen per hour come from. The graphs are the same bytes ONNX Runtime runs (forward, autodiff
backward, losses), so a result here is the project's own computation, only on other hardware. Only
the operators and attributes the graph builder (src/graph/ops.ts) emits are covered; anything else
fails loudly with its name.
"""
import json
import os
import signal
import struct
import sys
import traceback

import numpy as np
import onnx
from onnx import helper, numpy_helper
import torch
import torch.nn.functional as F

DEVICE = torch.device(os.environ.get('INPAINT_TORCH_DEVICE') or ('cuda' if torch.cuda.is_available() else 'cpu'))
if DEVICE.type == 'cuda':
    # Plain float32 by default, as ONNX Runtime computes. INPAINT_TORCH_TF32=1 lets convolutions and
    # matrix products use TF32 (10-bit mantissa inputs): faster where the GPU is the bottleneck, but
    # patch-swap then picks other patches where correlations nearly tie (docs/decisions/torch-backend.md).
    tf32 = os.environ.get('INPAINT_TORCH_TF32') == '1'
    torch.backends.cuda.matmul.allow_tf32 = tf32
    torch.backends.cudnn.allow_tf32 = tf32
    torch.backends.cudnn.benchmark = True

ONNX_DTYPE = {1: torch.float32, 2: torch.uint8, 6: torch.int32, 7: torch.int64, 9: torch.bool, 10: torch.float16, 11: torch.float64}
NAME_OF = {torch.float32: 'float32', torch.uint8: 'uint8', torch.int32: 'int32', torch.int64: 'int64',
           torch.bool: 'bool', torch.float16: 'float16', torch.float64: 'float64'}
NP_OF = {'float32': np.float32, 'uint8': np.uint8, 'int32': np.int32, 'int64': np.int64, 'bool': np.bool_,
         'float16': np.float16, 'float64': np.float64}
# A check of the arithmetic, not for use: INPAINT_TORCH_FLOAT64=1 computes float32 graphs in float64
# (results are returned as float32), to tell rounding from a wrong operator when outputs differ.
WIDE = os.environ.get('INPAINT_TORCH_FLOAT64') == '1'


def widen(t):
    return t.double() if WIDE and t.dtype == torch.float32 else t


def ints(t):
    return [int(v) for v in (t if isinstance(t, list) else t.reshape(-1).tolist())]


def scalar(t):
    return t[0] if isinstance(t, list) else t.reshape(-1)[0].item()


def norm_axis(a, rank):
    return a + rank if a < 0 else a


# ---------------------------------------------------------------------------------------------
# Operators. Each takes (inputs, attrs) and returns a list of outputs.

def conv(x, w, b, a):
    pads = a.get('pads', [0, 0, 0, 0])
    strides, dil, group = a.get('strides', [1, 1]), a.get('dilations', [1, 1]), a.get('group', 1)
    if pads[0] == pads[2] and pads[1] == pads[3]:
        return F.conv2d(x, w, b, tuple(strides), (pads[0], pads[1]), tuple(dil), group)
    x = F.pad(x, (pads[1], pads[3], pads[0], pads[2]))
    return F.conv2d(x, w, b, tuple(strides), 0, tuple(dil), group)


def conv_transpose(x, w, b, a):
    pads = a.get('pads', [0, 0, 0, 0])
    strides, dil, group = a.get('strides', [1, 1]), a.get('dilations', [1, 1]), a.get('group', 1)
    op = a.get('output_padding', [0, 0])
    y = F.conv_transpose2d(x, w, None, tuple(strides), 0, 0, group, tuple(dil))
    # ONNX: the full result, output_padding zeros added at the end, then pads cropped at each side.
    if op[0] or op[1]:
        y = F.pad(y, (0, op[1], 0, op[0]))
    h, wd = y.shape[2], y.shape[3]
    y = y[:, :, pads[0]:h - pads[2], pads[1]:wd - pads[3]]
    if b is not None:
        y = y + b.view(1, -1, 1, 1)
    return y


def max_pool(x, a):
    k, s = a['kernel_shape'], a.get('strides', a['kernel_shape'])
    y, idx = F.max_pool2d(x, tuple(k), tuple(s), 0, 1, bool(a.get('ceil_mode', 0)), True)
    # torch's indices count within each (n, c) plane; ONNX's within the whole tensor.
    n, c, h, w = x.shape
    base = torch.arange(n * c, device=x.device, dtype=torch.int64).view(n, c, 1, 1) * (h * w)
    return [y, idx + base]


def slice_(x, starts, ends, axes, steps):
    starts, ends = ints(starts), ints(ends)
    axes = ints(axes) if axes is not None else list(range(len(starts)))
    steps = ints(steps) if steps is not None else [1] * len(starts)
    for s, e, ax, st in zip(starts, ends, axes, steps):
        ax = norm_axis(ax, x.dim())
        d = x.shape[ax]
        s = s + d if s < 0 else s
        e = e + d if e < 0 else e
        if st > 0:
            s, e = min(max(s, 0), d), min(max(e, 0), d)
            x = x[(slice(None),) * ax + (slice(s, max(s, e), st),)]
        else:
            s, e = min(max(s, -1), d - 1), min(max(e, -1), d - 1)
            idx = torch.arange(s, e, st, device=x.device)
            x = x.index_select(ax, idx)
    return x


def pad(x, pads, value, a):
    p = ints(pads)
    r = x.dim()
    mode = a.get('mode', 'constant')
    tp = []
    for i in reversed(range(r)):
        tp += [p[i], p[i + r]]
    # torch wants only the trailing axes that are padded
    while len(tp) > 2 and tp[-1] == 0 and tp[-2] == 0:
        tp = tp[:-2]
    if mode == 'constant':
        return F.pad(x, tp, 'constant', float(scalar(value)) if value is not None else 0.0)
    return F.pad(x, tp, 'reflect' if mode == 'reflect' else 'replicate')


def reshape(x, shape):
    s = ints(shape)
    s = [x.shape[i] if v == 0 else v for i, v in enumerate(s)]
    return x.reshape(s)


def resize(x, roi, scales, sizes, a):
    mode = a.get('mode', 'nearest')
    if sizes is not None and len(ints(sizes)) > 0:
        size = ints(sizes)[2:]
    else:
        sc = scales if isinstance(scales, list) else scales.tolist()
        size = [int(np.floor(x.shape[2] * sc[2])), int(np.floor(x.shape[3] * sc[3]))]
    if mode == 'nearest':
        if a.get('coordinate_transformation_mode') != 'asymmetric' or a.get('nearest_mode') != 'floor':
            raise NotImplementedError('Resize nearest other than asymmetric/floor')
        return F.interpolate(x, size=size, mode='nearest')
    if a.get('coordinate_transformation_mode') != 'half_pixel':
        raise NotImplementedError('Resize linear other than half_pixel')
    return F.interpolate(x, size=size, mode='bilinear', align_corners=False)


def reduce(fn, x, axes, keepdims):
    if axes is None or len(axes) == 0:
        axes = list(range(x.dim()))
    axes = [norm_axis(v, x.dim()) for v in axes]
    return fn(x, axes, keepdims)


def reduce_max(x, axes, keepdims):
    for ax in sorted(axes, reverse=True):
        x = x.amax(dim=ax, keepdim=keepdims)
    return x


def gather(x, idx, a):
    ax = norm_axis(a.get('axis', 0), x.dim())
    i = torch.where(idx < 0, idx + x.shape[ax], idx)
    out = x.index_select(ax, i.reshape(-1))
    return out.reshape(tuple(x.shape[:ax]) + tuple(idx.shape) + tuple(x.shape[ax + 1:]))


def scatter_elements(x, idx, upd, a):
    ax = norm_axis(a.get('axis', 0), x.dim())
    red = a.get('reduction', 'none')
    i = torch.where(idx < 0, idx + x.shape[ax], idx)
    if red == 'none':
        return x.scatter(ax, i, upd)
    if red == 'add':
        return x.scatter_add(ax, i, upd)
    raise NotImplementedError(f'ScatterElements reduction {red}')


def one_hot(idx, depth, values, a):
    if a.get('axis', -1) != -1:
        raise NotImplementedError('OneHot axis other than -1')
    d = int(scalar(depth))
    i = torch.where(idx < 0, idx + d, idx).long()
    hot = F.one_hot(i, d).bool()
    return torch.where(hot, values[1], values[0])


def div(a, b):
    if a.dtype.is_floating_point:
        return a / b
    return torch.div(a, b, rounding_mode='trunc')


def cast(x, a):
    return widen(x.to(ONNX_DTYPE[a['to']]))


def split(x, sizes, a):
    ax = norm_axis(a.get('axis', 0), x.dim())
    if sizes is None:
        raise NotImplementedError('Split without sizes')
    return list(torch.split(x, ints(sizes), dim=ax))


def constant_of_shape(shape, a):
    v = a.get('value')
    shape = ints(shape)
    if v is None:
        return torch.zeros(shape, device=DEVICE)
    return torch.full(shape, scalar(v), dtype=v.dtype, device=DEVICE)


def expand(x, shape):
    return x.expand(torch.broadcast_shapes(tuple(x.shape), tuple(ints(shape))))


def opt(ins, i):
    return ins[i] if len(ins) > i else None


# Inputs that only say how to compute (shapes, axes, pads, sizes), by operator and position. When they
# are constants they are handed over as Python lists, read once: on a GPU, reading a value of a device
# tensor waits for all queued work, which would stall the pipeline at every reshape.
STATIC_INPUTS = {'Reshape': {1}, 'Slice': {1, 2, 3, 4}, 'Expand': {1}, 'Unsqueeze': {1}, 'Squeeze': {1},
                 'ReduceSum': {1}, 'Pad': {1, 2}, 'Split': {1}, 'ConstantOfShape': {0}, 'Resize': {1, 2, 3},
                 'OneHot': {1}, 'Range': {0, 1, 2}}

OPS = {
    'Add': lambda i, a: i[0] + i[1],
    'Sub': lambda i, a: i[0] - i[1],
    'Mul': lambda i, a: i[0] * i[1],
    'Div': lambda i, a: div(i[0], i[1]),
    'Pow': lambda i, a: torch.pow(i[0], i[1]),
    'Max': lambda i, a: torch.stack(torch.broadcast_tensors(*i)).amax(0) if len(i) > 2 else torch.maximum(i[0], i[1]),
    'Min': lambda i, a: torch.stack(torch.broadcast_tensors(*i)).amin(0) if len(i) > 2 else torch.minimum(i[0], i[1]),
    'Sum': lambda i, a: sum(i[1:], i[0]),
    'Equal': lambda i, a: i[0] == i[1],
    'Greater': lambda i, a: i[0] > i[1],
    'Less': lambda i, a: i[0] < i[1],
    'And': lambda i, a: torch.logical_and(i[0], i[1]),
    'Or': lambda i, a: torch.logical_or(i[0], i[1]),
    'Not': lambda i, a: torch.logical_not(i[0]),
    'Neg': lambda i, a: -i[0],
    'Abs': lambda i, a: i[0].abs(),
    'Sign': lambda i, a: i[0].sign(),
    'Sqrt': lambda i, a: i[0].sqrt(),
    'Exp': lambda i, a: i[0].exp(),
    'Log': lambda i, a: i[0].log(),
    'Reciprocal': lambda i, a: i[0].reciprocal(),
    'Floor': lambda i, a: i[0].floor(),
    'Ceil': lambda i, a: i[0].ceil(),
    'Round': lambda i, a: i[0].round(),
    'Relu': lambda i, a: F.relu(i[0]),
    'LeakyRelu': lambda i, a: F.leaky_relu(i[0], a.get('alpha', 0.01)),
    'Tanh': lambda i, a: torch.tanh(i[0]),
    'Sigmoid': lambda i, a: torch.sigmoid(i[0]),
    'Softplus': lambda i, a: F.softplus(i[0]),
    'Identity': lambda i, a: i[0],
    'Cast': lambda i, a: cast(i[0], a),
    'Where': lambda i, a: torch.where(i[0], i[1], i[2]),
    'Reshape': lambda i, a: reshape(i[0], i[1]),
    'Transpose': lambda i, a: i[0].permute(*a['perm']),
    'Unsqueeze': lambda i, a: i[0].reshape(unsqueezed(i[0].shape, ints(i[1]))),
    'Squeeze': lambda i, a: squeeze(i[0], opt(i, 1)),
    'Concat': lambda i, a: torch.cat(i, norm_axis(a['axis'], i[0].dim())),
    'Split': lambda i, a: split(i[0], opt(i, 1), a),
    'Slice': lambda i, a: slice_(i[0], i[1], i[2], opt(i, 3), opt(i, 4)),
    'Expand': lambda i, a: expand(i[0], i[1]),
    'Pad': lambda i, a: pad(i[0], i[1], opt(i, 2), a),
    'ReduceSum': lambda i, a: reduce(lambda x, ax, k: x.sum(dim=ax, keepdim=k), i[0], ints(i[1]) if opt(i, 1) is not None else None, bool(a.get('keepdims', 1))),
    'ReduceMean': lambda i, a: reduce(lambda x, ax, k: x.mean(dim=ax, keepdim=k), i[0], a.get('axes'), bool(a.get('keepdims', 1))),
    'ReduceMax': lambda i, a: reduce(reduce_max, i[0], a.get('axes'), bool(a.get('keepdims', 1))),
    'ArgMax': lambda i, a: argmax(i[0], a),
    'OneHot': lambda i, a: one_hot(i[0], i[1], i[2], a),
    'Gather': lambda i, a: gather(i[0], i[1], a),
    'ScatterElements': lambda i, a: scatter_elements(i[0], i[1], i[2], a),
    'Shape': lambda i, a: torch.tensor(list(i[0].shape), dtype=torch.int64, device=DEVICE),
    'ConstantOfShape': lambda i, a: constant_of_shape(i[0], a),
    'Range': lambda i, a: torch.arange(scalar(i[0]), scalar(i[1]), scalar(i[2]), device=DEVICE),
    'MatMul': lambda i, a: torch.matmul(i[0], i[1]),
    'Conv': lambda i, a: conv(i[0], i[1], opt(i, 2), a),
    'ConvTranspose': lambda i, a: conv_transpose(i[0], i[1], opt(i, 2), a),
    'MaxPool': lambda i, a: max_pool(i[0], a),
    'AveragePool': lambda i, a: F.avg_pool2d(i[0], tuple(a['kernel_shape']), tuple(a.get('strides', a['kernel_shape'])), 0, bool(a.get('ceil_mode', 0)), False),
    'Resize': lambda i, a: resize(i[0], opt(i, 1), opt(i, 2), opt(i, 3), a),
    'BatchNormalization': lambda i, a: F.batch_norm(i[0], i[3], i[4], i[1], i[2], False, 0.0, a.get('epsilon', 1e-5)),
}


def unsqueezed(shape, axes):
    r = len(shape) + len(axes)
    axes = sorted(norm_axis(a, r) for a in axes)
    out = list(shape)
    for a in axes:
        out.insert(a, 1)
    return out


def squeeze(x, axes):
    if axes is None:
        return x.squeeze()
    for a in sorted((norm_axis(v, x.dim()) for v in ints(axes)), reverse=True):
        x = x.squeeze(a)
    return x


def argmax(x, a):
    ax = norm_axis(a.get('axis', 0), x.dim())
    if a.get('select_last_index', 0):
        raise NotImplementedError('ArgMax select_last_index')
    return x.argmax(dim=ax, keepdim=bool(a.get('keepdims', 1)))


# ---------------------------------------------------------------------------------------------

def attr_value(at):
    v = helper.get_attribute_value(at)
    if isinstance(v, bytes):
        return v.decode()
    if isinstance(v, onnx.TensorProto):
        return widen(torch.from_numpy(numpy_helper.to_array(v).copy()))  # tiny; read on the host
    return v


def value_info(v):
    t = v.type.tensor_type
    dtype = NAME_OF.get(ONNX_DTYPE.get(t.elem_type), 'non-tensor')
    shape = [d.dim_value if d.HasField('dim_value') else d.dim_param for d in t.shape.dim]
    return {'name': v.name, 'dtype': dtype, 'shape': shape}


class Session:
    def __init__(self, model_bytes):
        m = onnx.load_from_string(bytes(model_bytes))
        g = m.graph
        self.inputs = [value_info(v) for v in g.input]
        self.outputs = [value_info(v) for v in g.output]
        self.consts = {t.name: widen(torch.from_numpy(numpy_helper.to_array(t).copy()).to(DEVICE)) for t in g.initializer}
        inits = {t.name: t for t in g.initializer}
        self.nodes = []
        for n in g.node:
            if n.domain not in ('', 'ai.onnx'):
                raise NotImplementedError(f'operator {n.domain}.{n.op_type} (node {n.name})')
            if n.op_type not in OPS:
                raise NotImplementedError(f'operator {n.op_type} (node {n.name}) is not covered by the PyTorch back end')
            static = {k: numpy_helper.to_array(inits[name]).reshape(-1).tolist()
                      for k, name in enumerate(n.input) if k in STATIC_INPUTS.get(n.op_type, ()) and name in inits}
            self.nodes.append((n.op_type, list(n.input), list(n.output), {a.name: attr_value(a) for a in n.attribute}, n.name, static))
        outputs = {o['name'] for o in self.outputs}
        last = {}
        for k, (_, ins, _, _, _, _) in enumerate(self.nodes):
            for name in ins:
                last[name] = k
        # After node k, the values no later node reads (graph outputs and constants stay).
        self.free_after = [[] for _ in self.nodes]
        for name, k in last.items():
            if name and name not in outputs and name not in self.consts:
                self.free_after[k].append(name)

    @torch.no_grad()
    def run(self, feeds, fetch):
        env = dict(self.consts)
        env.update(feeds)
        for k, (op, ins, outs, attrs, name, static) in enumerate(self.nodes):
            args = [static[j] if j in static else env[i] if i else None for j, i in enumerate(ins)]
            try:
                res = OPS[op](args, attrs)
            except Exception as e:
                shapes = ', '.join(f'{tuple(a.shape)} {a.dtype}' if isinstance(a, torch.Tensor) else repr(a) for a in args)
                raise RuntimeError(f'node {name} ({op}) failed on inputs [{shapes}]: {e}') from e
            if not isinstance(res, list):
                res = [res]
            for o, r in zip(outs, res):
                if o:
                    env[o] = r
            for f in self.free_after[k]:
                env.pop(f, None)
        return {n: env[n] for n in fetch}


# ---------------------------------------------------------------------------------------------

def read_exact(stream, n):
    buf = bytearray(n)
    view = memoryview(buf)
    got = 0
    while got < n:
        k = stream.readinto(view[got:])
        if not k:
            raise EOFError
        got += k
    return buf


def read_message(stream):
    header = json.loads(read_exact(stream, struct.unpack('<I', read_exact(stream, 4))[0]))
    parts = {}
    for p in header.get('parts', []):
        raw = read_exact(stream, p['bytes'])
        parts[p['name']] = (p['dtype'], p['shape'], raw)
    return header, parts


def write_message(stream, header, tensors=()):
    blobs = []
    header['parts'] = []
    for name, t in tensors:
        if t.dtype == torch.float64 and WIDE:
            t = t.float()
        a = t.detach().contiguous().cpu().numpy()
        b = a.tobytes()
        header['parts'].append({'name': name, 'dtype': NAME_OF[t.dtype], 'shape': list(a.shape), 'bytes': len(b)})
        blobs.append(b)
    h = json.dumps(header).encode()
    stream.write(struct.pack('<I', len(h)))
    stream.write(h)
    for b in blobs:
        stream.write(b)
    stream.flush()


def to_torch(dtype, shape, raw):
    a = np.frombuffer(raw, dtype=NP_OF[dtype]).reshape(shape)
    return widen(torch.from_numpy(a).to(DEVICE))


def main():
    # Ctrl-C and SIGTERM reach the whole process group; the trainer stops after its step and still
    # needs this process for that step and its checkpoint. It ends when its input closes.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    inp, out = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr  # stray prints must not corrupt the channel
    sessions = {}
    where = f'{DEVICE.type} ({torch.cuda.get_device_name(DEVICE)})' if DEVICE.type == 'cuda' else DEVICE.type
    write_message(out, {'ready': True, 'device': f'PyTorch {torch.__version__} on {where}'})
    while True:
        try:
            req, parts = read_message(inp)
        except EOFError:
            return
        rid, op = req['id'], req['op']
        try:
            tensors = ()
            if op == 'create':
                s = Session(parts['model'][2])
                sessions[req['session']] = s
                value = {'inputs': s.inputs, 'outputs': s.outputs}
            elif op == 'run':
                s = sessions.get(req['session'])
                if s is None:
                    raise KeyError(f"no session {req['session']} in the PyTorch engine")
                feeds = {n: to_torch(*p) for n, p in parts.items()}
                res = s.run(feeds, req['fetch'])
                tensors = list(res.items())
                value = None
            elif op == 'release':
                sessions.pop(req['session'], None)
                value = None
            elif op == 'count':
                value = len(sessions)
            elif op == 'close':
                sessions.clear()
                write_message(out, {'id': rid, 'ok': True, 'value': None})
                return
            else:
                raise ValueError(f'unknown request {op}')
            write_message(out, {'id': rid, 'ok': True, 'value': value}, tensors)
        except Exception as e:  # reported to the caller, who adds the graph's name and the feeds
            traceback.print_exc(file=sys.stderr)
            write_message(out, {'id': rid, 'ok': False, 'message': f'{type(e).__name__}: {e}'})


if __name__ == '__main__':
    main()
