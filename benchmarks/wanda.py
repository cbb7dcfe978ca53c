"""Benchmark: one-shot Wanda vs magnitude vs random on the embedded model (2:4, 50% unstructured, channels at 0.3).

Prints the held-out loss of each (4,096 fixed probe triples), all measured in one run. About 5 minutes on two quiet CPU cores (the `seconds` column is wall time, so it grows when the machine is shared).
Usage: python benchmarks/wanda.py [--target-steps all] [--time-strategy mean] [--activation-strategy mean] [--calib-steps 1024]
"""
import argparse, time
import torch
from prunedm.activations import CalibConfig, benchmark, TIME_STRATEGIES, ACTIVATION_STRATEGIES
from prunedm.data import load_data
from prunedm.cli import _md_table

p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
p.add_argument('--calib-steps', type=int, default=1024); p.add_argument('--target-steps', default='all')
p.add_argument('--time-strategy', default='mean', choices=TIME_STRATEGIES)
p.add_argument('--activation-strategy', default='mean', choices=ACTIVATION_STRATEGIES)
p.add_argument('--ratio', type=float, default=0.3)
a = p.parse_args()
cfg = CalibConfig(steps=a.calib_steps, target=a.target_steps, time_strategy=a.time_strategy, activation_strategy=a.activation_strategy).check()
t0 = time.time()
rows = benchmark(load_data('embedded'), cfg=cfg, ratio=a.ratio)
base = {r['pruning']: r['loss'] for r in rows}
ref = {'wanda 2:4': 'magnitude 2:4', 'wanda 50%': 'magnitude 50% (row)', f'wanda-diff channels {a.ratio}': f'magnitude channels {a.ratio}'}
for r in rows:
    if r['pruning'] in ref: r['vs magnitude'] = r['loss'] / base[ref[r['pruning']]]   # < 1: wanda better
print(_md_table(rows, ['pruning', 'loss', 'vs magnitude', 'seconds']))
print(f'calibration {vars(cfg)}; {time.time() - t0:.0f} s, {torch.get_num_threads()} threads')
