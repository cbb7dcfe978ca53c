"""Write README.md from nbs/index.ipynb without Quarto (nbdev_readme needs it), or check that it is in step.

Markdown cells are copied (image links made relative to the repository root); code cells (except `#| hide` ones) become Python blocks, their text outputs plain blocks.
Usage: python tools/readme.py [--check]
"""
import json, sys
from pathlib import Path

root = Path(__file__).resolve().parent.parent

def _src(c): return ''.join(c['source']) if isinstance(c['source'], list) else c['source']

def _outputs(c):
    res = []
    for o in c.get('outputs', []):
        if o['output_type'] == 'stream' and o.get('name') == 'stdout': res.append(('text', ''.join(o['text'])))
        elif o['output_type'] in ('execute_result', 'display_data'):
            d = o['data']
            if 'text/markdown' in d: res.append(('md', ''.join(d['text/markdown'])))
            elif 'text/plain' in d and 'image/png' not in d: res.append(('text', ''.join(d['text/plain'])))
    return res

def render(nb_path=root/'nbs'/'index.ipynb'):
    nb = json.loads(Path(nb_path).read_text())
    parts = ['<!-- Generated from nbs/index.ipynb by tools/readme.py: edit the notebook, then run `python tools/readme.py` -->']
    for c in nb['cells']:
        src = _src(c)
        if c['cell_type'] == 'markdown': parts.append(src.strip().replace('](images/', '](nbs/images/')); continue   # images beside the notebook
        lines = src.splitlines()
        if any(l.replace(' ', '') == '#|hide' for l in lines): continue
        code = '\n'.join(l for l in lines if not l.startswith('#|')).strip()
        if code: parts.append(f'```python\n{code}\n```')
        for kind, text in _outputs(c):
            parts.append(text.strip() if kind == 'md' else f'```\n{text.rstrip()}\n```')
    return '\n\n'.join(parts) + '\n'

if __name__ == '__main__':
    out, text = root/'README.md', render()
    if '--check' in sys.argv:
        if not out.exists() or out.read_text() != text:
            sys.exit('README.md is out of step with nbs/index.ipynb: run `python tools/readme.py` and commit README.md')
        print('README.md is in step with nbs/index.ipynb')
    else:
        out.write_text(text); print(f'wrote {out}')
