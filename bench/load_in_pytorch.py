#!/usr/bin/env python3
"""Loads a model.safetensors written by the Go trainer into PyTorch.

    /usr/bin/python3 bench/load_in_pytorch.py out/sgd-b16/model.safetensors

It reads the safetensors file with nothing but json and numpy (Debian has no
python3-safetensors; safetensors.torch.load_file returns the same dict),
loads it into the study's nn.Sequential with load_state_dict (strict: every
name and shape must match) and prints the test accuracy PyTorch computes,
which equals the trainer's last Prec. Test.
"""
import json, struct, sys, numpy as np, torch, gzip
path = sys.argv[1]
raw = open(path, 'rb').read()
n = struct.unpack('<Q', raw[:8])[0]
hdr = json.loads(raw[8:8+n]); body = raw[8+n:]
sd = {}
for k, v in hdr.items():
    if k == '__metadata__' or k.startswith('optimizer.'): continue
    s, e = v['data_offsets']
    sd[k] = torch.from_numpy(np.frombuffer(body[s:e], dtype='<f4').reshape(v['shape']).copy())
print({k: tuple(t.shape) for k, t in sd.items()}, hdr['__metadata__'].get('format'))
model = torch.nn.Sequential(torch.nn.Linear(784,128), torch.nn.ReLU(), torch.nn.Dropout(0.02),
                            torch.nn.Linear(128,64), torch.nn.ReLU(), torch.nn.Dropout(0.02), torch.nn.Linear(64,10))
model.load_state_dict(sd); model.eval()
def idx(p):
    d = gzip.open(p).read(); nd = d[3]; dims = [int.from_bytes(d[4+4*i:8+4*i],'big') for i in range(nd)]
    return np.frombuffer(d, np.uint8, offset=4+4*nd).reshape(dims)
x = torch.from_numpy(idx('/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz').reshape(-1,784).astype(np.float32)/255)
y = torch.from_numpy(idx('/usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz').astype(np.int64))
with torch.no_grad(): acc = (model(x).argmax(1) == y).float().mean().item()*100
print(f"PyTorch test accuracy of the Go-trained model: {acc:.2f}%")
