"""Realized speed of channel pruning and 2:4 sparsity: dense vs `channels 0.3` vs `2:4`, eager and compiled, on a GPU.

Each model (the embedded UNet, the CIFAR-10 architecture with random weights, the embedded DiT) is built fresh three
ways: dense, structurally pruned (magnitude, 30% of each group's channels; on the DiT, heads and MLP units) and masked
2:4 by magnitude (the weights zeroed). On CUDA the 2:4 model's masked Linear weights become
`torch.sparse.to_sparse_semi_structured` tensors (fp16/bf16, the shapes the kernel accepts; a layer it refuses stays
dense, and its input is made contiguous first, a copy charged to the sparse path); convolutions have no 2:4 kernel and
run dense. The `note` column says on how many Linear layers the sparse kernel ran, and how close its output is to the
zeroed dense model's. On CPU there is no semi-structured kernel: the 2:4 row runs dense, and its note says so.

Every call goes through `prunedm.models.denoise`; the variants of one model are timed in turn, round after round, after
warm-up rounds (CUDA events on a GPU, perf_counter on a CPU). latency_ms is the median time of one forward pass of a
batch, iqr_ms its interquartile range, speedup the dense row's latency (same model, dtype, batch and runtime) over
this one's, and images_per_s the batch over the median latency: the denoiser's throughput per step, not that of a whole
sampling loop. params and macs are counted on the fp32 model before any conversion (zeros of 2:4 masks still count).
A variant that fails (a compile without a C compiler, out of memory) gets a row with the error's first line in `note`.
About 5 minutes on one GPU with the defaults (--budget-s stops early; the rows it skips say so). On CPU the dtypes are
fp32 and bf16 (fp16 convolutions there are slow or unsupported). --quick is the CPU test path: the embedded UNet and
DiT, batch 2, fp32, eager, 1 warm-up and 2 timed rounds, well under a minute.
Usage: python benchmarks/gpu.py [--quick] [--device cpu|cuda] [--batch 64,256] [--out gpu_benchmark.csv]
"""
import argparse, copy, csv, time
T0 = time.time()   # the budget counts the imports too
import torch
import torch.nn as nn
from prunedm.compare import md_table
from prunedm.core import first_line
from prunedm.deploy import DenoiserGraph, Runtime, cond_keyword, set_runtime
from prunedm.evaluation import count_macs_params
from prunedm.models import denoise, image_shape, load_model, num_classes
from prunedm.sparsity import sparsify
from prunedm.structural import prune
from diffusers.utils import logging as diffusers_logging

SPECS = {'embedded': 'embedded', 'cifar10': 'arch:cifar10', 'dit': 'embedded-dit'}
DTYPES = {'fp32': torch.float32, 'fp16': torch.float16, 'bf16': torch.bfloat16}
COLS = ['model', 'variant', 'device', 'dtype', 'batch', 'runtime', 'params', 'macs', 'latency_ms', 'iqr_ms', 'speedup',
        'images_per_s', 'converted_linear', 'note']
SHOWN = [c for c in COLS if c != 'device']
ANCHORS = """Published anchors for 2:4 on GPUs (not measured here):
- torchao: 1.07-1.10x end to end for 2:4 on SAM's ViT-h image encoder on an A100, and up to about 1.7x for single
  large matmuls (shapes far larger than these models' Linear layers).
- Several trackers report 2:4 semi-structured matmuls slower than dense on H100s.
Small models like these are dominated by convolutions (no 2:4 kernel) and kernel-launch overhead, so expect ~1x."""
CPU_2_4 = 'no semi-structured kernel on CPU: the 2:4 weights are zeroed but run dense'

def csv_list(s, kind=str): return [kind(v) for v in s.split(',') if v.strip()]

def parse():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--quick', action='store_true', help='the CPU test path (defaults below change, flags still win)')
    p.add_argument('--device', choices=('cpu', 'cuda'), default=None, help='default: cuda when available')
    p.add_argument('--models', default=None, help=f"comma-separated, of {','.join(SPECS)} (default: all)")
    p.add_argument('--dtypes', default=None, help='default: fp16,bf16 on cuda, fp32,bf16 on cpu, fp32 with --quick')
    p.add_argument('--batch', default=None, help='batch sizes, comma-separated (default 64,256; 2 with --quick)')
    p.add_argument('--runtimes', default=None, help='eager,compile (default both; eager with --quick)')
    p.add_argument('--repeats', type=int, default=None, help='timed rounds (default 20; 2 with --quick)')
    p.add_argument('--warmup', type=int, default=None, help='untimed rounds first (default 3; 1 with --quick)')
    p.add_argument('--ratio', type=float, default=0.3, help='share of channels the structural variant removes')
    p.add_argument('--budget-s', type=float, default=300, help='stop starting new timings after this many seconds')
    p.add_argument('--threads', type=int, default=None, help="CPU threads (default: torch's; 1 with --quick)")
    p.add_argument('--out', default='gpu_benchmark.csv')
    a = p.parse_args()
    a.device = a.device or ('cuda' if torch.cuda.is_available() else 'cpu')
    if a.device == 'cuda' and not torch.cuda.is_available(): p.error('--device cuda: no CUDA device is available')
    q = a.quick
    a.models = csv_list(a.models or ('embedded,dit' if q else ','.join(SPECS)))
    a.dtypes = csv_list(a.dtypes or ('fp32' if q else 'fp16,bf16' if a.device == 'cuda' else 'fp32,bf16'))
    a.batch = csv_list(a.batch or ('2' if q else '64,256'), int)
    a.runtimes = csv_list(a.runtimes or ('eager' if q else 'eager,compile'))
    a.repeats = a.repeats if a.repeats is not None else 2 if q else 20
    a.warmup = a.warmup if a.warmup is not None else 1 if q else 3
    a.threads = a.threads or (1 if q else None)   # one thread: a shared machine's other jobs don't stall every op
    for name, vals, known in (('models', a.models, SPECS), ('dtypes', a.dtypes, DTYPES),
                              ('runtimes', a.runtimes, ('eager', 'compile'))):
        bad = [v for v in vals if v not in known]
        if bad or not vals: p.error(f"--{name} {','.join(vals)}: choose from {', '.join(known)}")
    if min(a.batch, default=0) < 1 or a.repeats < 1 or a.warmup < 0: p.error('batch and repeats >= 1, warmup >= 0')
    return a

def build(spec, ratio):
    "The fp32 CPU variants of `spec`, each built fresh: variant -> dict(model, params, macs, masked Linear names)."
    out = {}
    for v in ('dense', f'channels {ratio:g}', '2:4'):
        m, sched = load_model(spec)
        masked = set()
        if v.startswith('channels'): m, _ = prune(m, sched, 'magnitude', ratio, progress=False)
        elif v == '2:4':
            masks, _ = sparsify(m, 'magnitude', nm='2:4')
            masked = {k.removesuffix('.weight') for k in masks}
        macs, params = count_macs_params(m)
        out[v] = dict(model=m.eval(), params=params, macs=macs, masked=masked)
    return out

def _contiguous(mod, args):
    "A forward pre-hook: the semi-structured linear views its input as 2-D, which a transposed input does not allow."
    return (args[0].contiguous(), *args[1:])

def semi_structured(model, masked):
    "Swap the masked Linear weights of `model` for 2:4 semi-structured tensors; returns `(converted, linears, note)`."
    from torch.sparse import to_sparse_semi_structured
    linears = {n: m for n, m in model.named_modules() if isinstance(m, nn.Linear)}
    done, refused, backends = 0, {}, set()
    for n, m in linears.items():
        if n not in masked: continue   # never pruned (time embedding, ...): a dense weight is no 2:4 matrix
        try:
            w = to_sparse_semi_structured(m.weight.detach().contiguous())
            m.weight = nn.Parameter(w, requires_grad=False)
            m.register_forward_pre_hook(_contiguous)
            done += 1; backends.add(getattr(type(w), 'BACKEND', type(w).__name__))
        except Exception as e:
            refused[first_line(e)[:90]] = refused.get(first_line(e)[:90], 0) + 1
    note = f"2:4 kernels{' (' + ','.join(sorted(backends)) + ')' if backends else ''} on {done} of {len(linears)} " \
           "Linear layers; convolutions run dense"
    if refused:
        why, k = max(refused.items(), key=lambda kv: kv[1])
        note += f"; {sum(refused.values())} masked Linear layers refused ({k} of them: {why})"
    return done, len(linears), note

def labels(model, n, dev):
    "Balanced class labels for a class-conditional model, None for an unconditional one."
    k = num_classes(model)
    return None if k is None else (torch.arange(n) % k).to(dev)

def call_ms(model, x, t, y, cuda):
    "Milliseconds of one `denoise` call: CUDA events on a GPU, perf_counter on a CPU."
    if cuda:
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        torch.cuda.synchronize(); start.record(); denoise(model, x, t, y); end.record(); end.synchronize()
        return start.elapsed_time(end)
    t0 = time.perf_counter(); denoise(model, x, t, y)
    return (time.perf_counter() - t0) * 1e3

def time_variants(models, batch, dev, dtype, warmup, repeats):
    "Time `models` (one architecture's variants) in turn, round after round: name -> times (ms), name -> error."
    shape = image_shape(next(iter(models.values())))
    g = torch.Generator().manual_seed(0)
    x = torch.randn(batch, *shape, generator=g).to(dev, dtype)
    t = torch.randint(0, 1000, (batch,), generator=g).to(dev)
    ys = {k: labels(m, batch, dev) for k, m in models.items()}
    times, errors = {k: [] for k in models}, {}
    with torch.inference_mode():
        for r in range(warmup + repeats):
            for k, m in models.items():
                if k in errors: continue
                try: ms = call_ms(m, x, t, ys[k], dev.type == 'cuda')
                except Exception as e: errors[k] = f'{type(e).__name__}: {first_line(e)}'; continue
                if r >= warmup: times[k].append(ms)
    return times, errors

def rel_err(model, ref, dev, dtype, batch=8):
    "Relative L2 difference of `model`'s output from `ref`'s on one seeded batch."
    g = torch.Generator().manual_seed(1)
    x = torch.randn(batch, *image_shape(model), generator=g).to(dev, dtype)
    t, y = torch.randint(0, 1000, (batch,), generator=g).to(dev), labels(model, batch, dev)
    with torch.inference_mode():
        a, b = denoise(model, x, t, y).float(), denoise(ref, x, t, y).float()
    return ((a - b).norm() / b.norm().clamp_min(1e-12)).item()

def device_variants(fp32, dev, dtype, runtime):
    "Copies of the fp32 variants on `dev` in `dtype`, 2:4 converted on CUDA, compiled for 'compile': models, extras."
    models, extra = {}, {}
    for v, d in fp32.items():
        m = copy.deepcopy(d['model']).to(dev, dtype).eval()
        e = dict(converted_linear=None, note='')
        if v == '2:4':
            if dev.type == 'cuda':
                ref = copy.deepcopy(m)
                e['converted_linear'], _, e['note'] = semi_structured(m, d['masked'])
                if e['converted_linear']:
                    try: e['note'] += f'; output vs the zeroed dense model: rel. err {rel_err(m, ref, dev, dtype):.0e}'
                    except Exception as err: e['note'] += f'; the sparse forward failed: {first_line(err)[:120]}'
                del ref
            else: e['converted_linear'], e['note'] = 0, CPU_2_4
        if runtime == 'compile':
            set_runtime(m, Runtime('compile', torch.compile(DenoiserGraph(m).eval(), dynamic=False), cond_keyword(m)))
        models[v], extra[v] = m, e
    return models, extra

def main():
    a = parse()
    dev = torch.device(a.device)
    cuda = dev.type == 'cuda'
    if cuda: torch.backends.cudnn.benchmark = True
    if a.threads: torch.set_num_threads(a.threads)
    if 'compile' in a.runtimes:   # every variant compiles the same forward code: allow them all their own graphs
        cfg = torch._dynamo.config
        k = 'recompile_limit' if hasattr(cfg, 'recompile_limit') else 'cache_size_limit'
        setattr(cfg, k, max(getattr(cfg, k), 64))
    diffusers_logging.set_verbosity_error()   # no warning per cast of a model to fp16/bf16
    t0 = T0
    where = torch.cuda.get_device_name(dev) if cuda else f'CPU, torch threads: {torch.get_num_threads()}'
    print(f'{where}; torch {torch.__version__}; models {a.models}, dtypes {a.dtypes}, batches {a.batch}, '
          f'runtimes {a.runtimes}, {a.warmup} warm-up + {a.repeats} timed rounds', flush=True)
    if not cuda and 'fp16' not in a.dtypes:
        print('CPU: fp32 and bf16 are timed, not fp16 (fp16 convolutions on CPU are slow or unsupported)', flush=True)
    fp32 = {name: build(SPECS[name], a.ratio) for name in a.models}
    print(f'built {len(fp32)} models x 3 variants in {time.time() - t0:.0f} s', flush=True)
    rows = []
    for runtime in a.runtimes:            # eager first: under the budget, the compiled rows are the ones cut
        for dname in a.dtypes:
            for name in a.models:
                base = dict(model=name, device=dev.type, dtype=dname, runtime=runtime)
                info = {v: dict(params=d['params'], macs=d['macs']) for v, d in fp32[name].items()}
                if time.time() - t0 > a.budget_s:
                    skip = f'skipped: the {a.budget_s:g} s budget (--budget-s) was spent'
                    rows += [dict(base, variant=v, batch=b, **info[v], note=skip) for b in a.batch for v in info]
                    continue
                if runtime == 'compile': torch._dynamo.reset()
                models, extra = device_variants(fp32[name], dev, DTYPES[dname], runtime)
                for b in a.batch:
                    if time.time() - t0 > a.budget_s:
                        rows += [dict(base, variant=v, batch=b, **info[v], **dict(extra[v],
                                      note=f'skipped: the {a.budget_s:g} s budget (--budget-s) was spent'))
                                 for v in models]
                        continue
                    times, errors = time_variants(models, b, dev, DTYPES[dname], a.warmup, a.repeats)
                    group = []
                    for v in models:
                        r = dict(base, variant=v, batch=b, **info[v], **extra[v])
                        if v in errors: r['note'] = '; '.join(s for s in (r['note'], errors[v]) if s)
                        elif times[v]:
                            q = torch.tensor(times[v], dtype=torch.float64).quantile(
                                torch.tensor([0.25, 0.5, 0.75], dtype=torch.float64)).tolist()
                            r.update(latency_ms=q[1], iqr_ms=q[2] - q[0], images_per_s=b / (q[1] / 1e3))
                        group.append(r)
                    dense = group[0].get('latency_ms')
                    for r in group:
                        if dense and r.get('latency_ms'): r['speedup'] = dense / r['latency_ms']
                    rows += group
                    print(f"{name} {dname} {runtime} batch {b}: " + ', '.join(
                        f"{r['variant']} {r['latency_ms']:.3g} ms" if r.get('latency_ms') else f"{r['variant']} failed"
                        for r in group) + f' ({time.time() - t0:.0f} s)', flush=True)
                del models
                if cuda: torch.cuda.empty_cache()
    with open(a.out, 'w', newline='') as f:
        w = csv.DictWriter(f, COLS, extrasaction='ignore'); w.writeheader(); w.writerows(rows)
    print()
    print(md_table(rows, SHOWN))
    print(f'\ndevice {dev.type} ({where}); latency: median of {a.repeats} rounds, iqr_ms its interquartile range; '
          'speed-up: the dense row over this one (same model, dtype, batch, runtime); images/s: one denoiser step')
    print(f'\n{ANCHORS}\n\nwrote {a.out}: {len(rows)} rows in {time.time() - t0:.0f} s')

if __name__ == '__main__': main()
