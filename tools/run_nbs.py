"""Execute notebooks in place so their saved outputs (plots, tables) are current; the docs show these outputs.

Cells flagged with a test flag of settings.ini (`#| slow`, `#| cuda`) and `#| eval: false` cells are skipped and keep the
outputs they have; run them by hand (in Jupyter) when their recipe changes. Then run `nbdev_clean`.
With --slow, `#| slow` cells run too (their outputs are then refreshed); `#| cuda` cells never run here.
Usage: python tools/run_nbs.py [--slow] nbs/02_models.ipynb [more notebooks]
"""
import os, sys, time
from configparser import ConfigParser
from pathlib import Path
from execnb.nbio import read_nb, write_nb
from execnb.shell import CaptureShell

root = Path(__file__).resolve().parent.parent
cfg = ConfigParser(); cfg.read(root/'settings.ini')
flags = set(cfg['DEFAULT'].get('tst_flags', '').split())

def _directives(src):
    return {l[2:].strip().split(':')[0].split()[0]: l for l in src.splitlines() if l.startswith('#|') and l[2:].strip()}

def _skip(cell):
    if cell.cell_type != 'code': return True
    d = _directives(cell.source)
    return bool((flags - ({'slow'} if SLOW else set())) & set(d)) or 'nbdev_export(' in cell.source or ('eval' in d and 'false' in d['eval'].lower())

def run(path):
    path = Path(path).resolve(); nb = read_nb(path); t0 = time.time()
    os.environ.setdefault('MPLBACKEND', 'module://matplotlib_inline.backend_inline')
    for c in nb.cells:   # a cell that now prints nothing must not keep what it printed before (execnb leaves old outputs)
        if not _skip(c): c.outputs = []
    sh = CaptureShell(path)
    cwd = os.getcwd(); os.chdir(path.parent)
    try: sh.run_all(nb, exc_stop=True, preproc=_skip)
    finally: os.chdir(cwd)
    write_nb(nb, path); print(f'{path.name}: {time.time() - t0:.0f} s')

SLOW = '--slow' in sys.argv

if __name__ == '__main__':
    for p in sys.argv[1:]:
        if p != '--slow': run(p)
