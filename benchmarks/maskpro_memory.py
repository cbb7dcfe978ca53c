"""Peak memory of one MaskPro step vs a dense inference pass vs a dense fine-tuning step, printed as ratios.

Each measurement runs in a fresh process: the model and a minibatch are loaded, the peak-RSS counter is reset
(/proc/self/clear_refs), one step runs, and the peak above the loaded state is reported, counting every state the
method creates (MaskPro's logits and masks, AdamW's moments). On CUDA, torch.cuda.max_memory_allocated is used instead.
Usage: python benchmarks/maskpro_memory.py [--model embedded|arch:cifar10] [--batch-size 64] [--device cpu|cuda]
"""
import argparse, json, subprocess, sys

CHILD = r'''
import copy, json, sys, torch
from prunedm.models import load_model
from prunedm.sparsity import sparsify
from prunedm.maskpro import MaskLearner
kind, spec, bs, dev = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
torch.set_num_threads(2)
unet, sched = load_model(spec, dev); unet.to(dev)
c = unet.config
masks, _ = sparsify(copy.deepcopy(unet), 'magnitude', nm='2:4')
x0 = torch.randn(bs, c.in_channels, c.sample_size, c.sample_size, device=dev); t = torch.randint(0, 1000, (bs,), device=dev); noise = torch.randn_like(x0)
def rss(field):
    for line in open('/proc/self/status'):
        if line.startswith(field): return int(line.split()[1]) * 1024
if dev == 'cuda': torch.cuda.synchronize(); torch.cuda.reset_peak_memory_stats(); start = torch.cuda.memory_allocated()
else: open('/proc/self/clear_refs', 'w').write('5'); start = rss('VmRSS')
if kind == 'inference':
    unet.eval()
    with torch.no_grad(): ((unet(sched.add_noise(x0, noise, t), t).sample - noise) ** 2).mean().item()
elif kind == 'finetune':
    unet.train(); opt = torch.optim.AdamW(unet.parameters(), lr=1e-5)
    loss = ((unet(sched.add_noise(x0, noise, t), t).sample - noise) ** 2).mean(); loss.backward(); opt.step()
else:
    unet.eval(); learner = MaskLearner(unet, masks, logits=5.0)
    with torch.no_grad():
        idx = learner.sample(torch.Generator().manual_seed(0)); L = learner.loss(unet, sched, x0, t, noise, learner.masks_of(idx)).item()
    learner.update(idx, 1.0, 0.25)
if dev == 'cuda': torch.cuda.synchronize(); peak = torch.cuda.max_memory_allocated() - start
else: peak = rss('VmHWM') - start
print(json.dumps(dict(kind=kind, peak=peak, params=sum(p.numel() for p in unet.parameters()))))
'''

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--model', default='embedded'); ap.add_argument('--batch-size', type=int, default=64)
    ap.add_argument('--device', default='cpu')
    a = ap.parse_args()
    res = {}
    for kind in ('inference', 'maskpro', 'finetune'):
        out = subprocess.run([sys.executable, '-c', CHILD, kind, a.model, str(a.batch_size), a.device], capture_output=True, text=True)
        if out.returncode: sys.exit(out.stderr)
        res[kind] = json.loads(out.stdout.strip().splitlines()[-1])
    p = res['inference']['params']
    print(f"{a.model}, {p/1e6:.2f}M parameters, batch {a.batch_size}, {a.device}: peak memory of one step above the loaded model\n")
    print('| step | peak MB | vs dense inference |\n|---|---|---|')
    for k, name in (('inference', 'dense inference (no grad)'), ('maskpro', 'MaskPro step (sample, forward, logit update)'), ('finetune', 'dense fine-tuning step (AdamW)')):
        print(f"| {name} | {res[k]['peak']/2**20:.0f} | {res[k]['peak']/res['inference']['peak']:.2f}x |")
    print(f"\nMaskPro / fine-tuning: {res['maskpro']['peak']/res['finetune']['peak']:.2f}x")

if __name__ == '__main__': main()
