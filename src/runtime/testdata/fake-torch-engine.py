#!/usr/bin/env python3
"""
A stand-in for src/runtime/torch-engine.py that needs only the standard library, for testing the
channel (framing, ordering, errors, exits) where PyTorch is not installed. Started as INPAINT_PYTHON,
it ignores its argument (the real script's path). Every model has inputs x (float32 [2, 3]) and
n (int64 [N]); a run returns each feed back under the name 'echo:<feed>'. A model whose bytes are
b'fail' cannot be created; a run whose n starts with -1 fails, with -2 the process exits. With
FAKE_TORCH_FAIL_START=1 it exits after a moment without ever being ready (as torch-engine.py does when
PyTorch is missing).
"""
import json
import os
import struct
import sys
import time


def read_exact(n):
    data = sys.stdin.buffer.read(n)
    if len(data) < n:
        raise EOFError
    return data


def write(header, blobs=()):
    h = json.dumps(header).encode()
    sys.stdout.buffer.write(struct.pack('<I', len(h)) + h + b''.join(blobs))
    sys.stdout.buffer.flush()


if os.environ.get('FAKE_TORCH_FAIL_START') == '1':
    time.sleep(0.5)
    sys.exit(1)
write({'ready': True, 'device': 'a stand-in', 'parts': []})
while True:
    try:
        req = json.loads(read_exact(struct.unpack('<I', read_exact(4))[0]))
    except EOFError:
        break
    blobs = [read_exact(p['bytes']) for p in req['parts']]
    first = {p['name']: b[:8] for p, b in zip(req['parts'], blobs)}
    n0 = struct.unpack('<q', first['n'])[0] if len(first.get('n', b'')) == 8 else 0
    if n0 == -2:
        sys.exit(3)
    if n0 == -1 or first.get('model') == b'fail':
        write({'id': req['id'], 'ok': False, 'message': 'ValueError: asked to fail', 'parts': []})
    elif req['op'] == 'create':
        info = {'inputs': [{'name': 'x', 'dtype': 'float32', 'shape': [2, 3]}, {'name': 'n', 'dtype': 'int64', 'shape': ['N']}],
                'outputs': [{'name': 'echo:x', 'dtype': 'float32', 'shape': [2, 3]}, {'name': 'echo:n', 'dtype': 'int64', 'shape': ['N']}]}
        write({'id': req['id'], 'ok': True, 'value': info, 'parts': []})
    elif req['op'] == 'run':
        parts = [dict(p, name='echo:' + p['name']) for p in req['parts']]
        write({'id': req['id'], 'ok': True, 'value': None, 'parts': parts}, blobs)
    else:
        write({'id': req['id'], 'ok': True, 'value': 0 if req['op'] == 'count' else None, 'parts': []})
        if req['op'] == 'close':
            break
