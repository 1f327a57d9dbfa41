#!/usr/bin/python3
"""make_seeds.py - writes the seed corpora of the data-reader fuzz harnesses
(tests/fuzz/corpus-{idx,csv,jsonl,pickle,hdf5,wav,tar}): a few small valid
files of each format.  Needs numpy and h5py.  Inputs the fuzzers found
(leak-*, crash-*) are added to the corpora by hand, not by this script."""
import gzip
import io
import json
import os
import pickle
import struct
import sys
import tarfile
import wave

import h5py
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))


def write(corpus, name, data):
    d = os.path.join(HERE, 'corpus-' + corpus)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), 'wb') as f:
        f.write(data)


def idx(array, code):
    a = np.asarray(array)
    head = bytes([0, 0, code, a.ndim]) + b''.join(struct.pack('>I', n) for n in a.shape)
    return head + a.astype(a.dtype.newbyteorder('>')).tobytes()


def wav_bytes(rate, channels, samples):
    buf = io.BytesIO()
    with wave.open(buf, 'wb') as w:
        w.setnchannels(channels)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(np.asarray(samples, dtype='<i2').tobytes())
    return buf.getvalue()


def tar(members, mode):
    buf = io.BytesIO()
    # a fixed mtime, so that the seeds are the same on every run
    with tarfile.open(fileobj=buf, mode=mode) as t:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mtime = 0
            t.addfile(info, io.BytesIO(data))
    raw = buf.getvalue()
    # gzip's header holds a time too: zero it (bytes 4-7)
    return raw[:4] + b'\0\0\0\0' + raw[8:] if mode == 'w:gz' else raw


def main():
    rng = np.random.RandomState(7)
    u8 = rng.randint(0, 256, size=(2, 3, 3)).astype(np.uint8)
    f32 = rng.standard_normal((2, 3, 3)).astype(np.float32)
    write('idx', 'u8-2x3x3.idx', idx(u8, 0x08))
    write('idx', 'f32-2x3x3.idx', idx(f32, 0x0D))
    write('idx', 'i16-4.idx', idx(np.array([1, -2, 300, -400], dtype=np.int16), 0x0B))
    write('idx', 'f64-2x2.idx', idx(np.array([[0.5, -1.5], [2.0, 1e-3]]), 0x0E))
    write('idx', 'u8-2x3x3.idx.gz', gzip.compress(idx(u8, 0x08), mtime=0))
    # the same file in two gzip members, the second with a stored block
    whole = idx(u8, 0x08)
    write('idx', 'u8-2x3x3-members.idx.gz',
          gzip.compress(whole[:20], mtime=0) + gzip.compress(whole[20:], compresslevel=0, mtime=0))

    write('csv', 'header.csv', b'a,b,c\n1,2,3\n4.5,-6,7e2\n')
    write('csv', 'tabs.csv', b'x\ty\r\n0.25\t1\r\n-3\t1e-3\r\n')
    write('csv', 'quoted.csv', b'"p q","r"\n"1",2\n 3 ,"4"\n')
    write('csv', 'semicolons.csv', b'u; v\n1; 2\n3; 4\n')

    write('jsonl', 'scalars.jsonl', b'{"x": 1, "y": 2.5}\n\n{"x": -3, "y": 1e2}\n')
    write('jsonl', 'nested.jsonl',
          b''.join(json.dumps({'m': [[i, i + 1], [i + 2, i + 3]], 'b': i % 2 == 0}).encode() +
                   b'\n' for i in range(3)))

    write('pickle', 'lists.pkl', pickle.dumps({'x': [1, 2, 3], 'y': [[0.5, 1.5], [2, 3], [4, 5]]},
                                              protocol=2))
    write('pickle', 'arrays.pkl',
          pickle.dumps({'images': u8, 'values': f32.astype(np.float64), 'labels': [0, 1]},
                       protocol=2))
    write('pickle', 'fortran-be.pkl',
          pickle.dumps({'a': np.asfortranarray(np.arange(6, dtype='>i4').reshape(3, 2)),
                        'b': np.array([True, False, True])}, protocol=4))

    path = os.path.join(HERE, 'corpus-hdf5', 'groups.h5')
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with h5py.File(path, 'w', libver='latest') as f:
        f['x'] = np.arange(6, dtype=np.float32).reshape(3, 2)
        f['y'] = np.array([1, 2, 3], dtype=np.int16)
        f['g/z'] = np.array([0.5, 1.5, 2.5])
        f['x'].attrs['units'] = 'm'
    path = os.path.join(HERE, 'corpus-hdf5', 'flat.h5')
    with h5py.File(path, 'w') as f:
        f['a'] = np.array([[1, 2], [3, 4]], dtype=np.uint8)

    tone = (np.sin(np.arange(32) / 3.0) * 8000).astype(np.int16)
    write('wav', 'mono-16k.wav', wav_bytes(16000, 1, tone))
    write('wav', 'stereo-8k.wav', wav_bytes(8000, 2, np.repeat(tone, 2)))
    write('wav', 'mono-22k.wav', wav_bytes(22050, 1, tone[:20]))

    # plain archives, so that mutations reach the members rather than
    # break gzip's checksum (libFuzzer would keep only the smaller of a
    # plain and a compressed seed: they cover the same kurc code), and one
    # compressed one
    batch = {'data': rng.randint(0, 256, size=(1, 3072)).astype(np.uint8), 'labels': [3]}
    record = bytes([7]) + bytes(rng.randint(0, 256, size=3072).astype(np.uint8))
    manifest = json.dumps({'uuid': 'a', 'duration_s': 0.002, 'text': 'hi'}).encode() + b'\n'
    archives = {
        'cifar-python': [('cifar-10-batches-py/data_batch_1', pickle.dumps(batch, protocol=2))],
        'cifar-binary': [('cifar-10-batches-bin/data_batch_1.bin', record)],
        'speech': [('lsdc/manifest.jsonl', manifest), ('lsdc/audio/a.wav',
                                                       wav_bytes(16000, 1, tone))],
    }
    for name, members in archives.items():
        write('tar', name + '.tar', tar(members, 'w'))
    write('tar', 'speech.tar.gz', tar(archives['speech'], 'w:gz'))


if __name__ == '__main__':
    sys.exit(main())
