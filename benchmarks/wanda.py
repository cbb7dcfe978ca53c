"""Benchmark: one-shot Wanda vs magnitude vs random on the embedded model (2:4, 50% unstructured, channels at 0.3).

Prints the held-out loss of each (4,096 fixed probe triples), all measured in one run, and Wanda's loss over magnitude's.
About 5 minutes on two quiet CPU cores (the `seconds` column is wall time, so it grows when the machine is shared).
Usage: python benchmarks/wanda.py [--target-steps all] [--time-strategy mean] [--activation-strategy mean] [--calib-steps 1024]
"""
import argparse, time
import torch
from prunedm.activations import CalibConfig, TIME_STRATEGIES, ACTIVATION_STRATEGIES
from prunedm.data import load_data
from prunedm.compare import md_table
from prunedm.demo import oneshot_losses

p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
p.add_argument('--calib-steps', type=int, default=1024); p.add_argument('--target-steps', default='all')
p.add_argument('--time-strategy', default='mean', choices=TIME_STRATEGIES)
p.add_argument('--activation-strategy', default='mean', choices=ACTIVATION_STRATEGIES)
p.add_argument('--ratio', type=float, default=0.3)
a = p.parse_args()
cfg = CalibConfig(steps=a.calib_steps, target=a.target_steps, time_strategy=a.time_strategy, activation_strategy=a.activation_strategy).check()
variants = {'dense': None}
for label, opts in (('2:4', dict(nm='2:4')), ('50%', dict(sparsity=0.5))):
    variants[f'wanda {label}'] = ('weights', 'wanda', dict(opts, cfg=cfg))
    variants[f'magnitude {label}'] = ('weights', 'magnitude', opts)
    if 'sparsity' in opts: variants[f'magnitude {label} (row)'] = ('weights', 'magnitude', dict(opts, scope='row'))
    variants[f'random {label}'] = ('weights', 'random', opts)
for m in ('wanda-diff', 'magnitude', 'random'):
    variants[f'{m} channels {a.ratio}'] = ('channels', m, dict(ratio=a.ratio, **({'cfg': cfg} if m == 'wanda-diff' else {})))
t0 = time.time()
rows = oneshot_losses(load_data('embedded'), variants)
base = {r['pruning']: r['loss'] for r in rows}
ref = {'wanda 2:4': 'magnitude 2:4', 'wanda 50%': 'magnitude 50% (row)', f'wanda-diff channels {a.ratio}': f'magnitude channels {a.ratio}'}
for r in rows:
    if r['pruning'] in ref: r['vs magnitude'] = r['loss'] / base[ref[r['pruning']]]   # < 1: wanda better
print(md_table(rows, ['pruning', 'loss', 'vs magnitude', 'seconds']))
print(f'calibration {vars(cfg)}; {time.time() - t0:.0f} s, {torch.get_num_threads()} threads')
