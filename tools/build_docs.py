"""Build the docs site from the notebooks without Quarto: nbdev's own processing, then Pandoc to static HTML.

1. `nbdev.serve.proc_nbs` (what `nbdev_proc_nbs` runs, without touching Quarto's config or installing Quarto) processes
   every notebook into `_proc/`: `#| hide` and `#| export` cells dropped, `show_doc` cells added and executed (with
   the cells that import), backticked names linked, the title cell turned into front matter. The repository comes
   first on the workers' path, so the pages document this checkout.
2. Debian's `pandoc` (apt-get installs it when missing, as root) reads each processed notebook and writes its page
   through tools/docs.lua (show_doc's Markdown, Quarto's cell options, site links, unique heading ids) and
   tools/docs.html (the page: a sidebar of every page in nbdev's order, the current one with its sections).
   Figures are written beside the pages (`<page>_files/`); the notebooks' other files are copied. No CDN scripts.

Stops at the first notebook that fails nbdev's processing (as `nbdev_proc_nbs` does), naming its cell and the error.

Usage: python tools/build_docs.py [--out _docs] [--workers N] [--render-only]
"""
import argparse, json, os, posixpath, shutil, subprocess, sys, tempfile, time
from pathlib import Path

root = Path(__file__).resolve().parent.parent
tools = root/'tools'
MARKER = '.build_docs'  # marks an output folder as this script's, so it may be replaced
NOT_COPIED = ['*.ipynb', '_quarto.yml', 'nbdev.yml', 'sidebar.yml', '_brand.yml', '*.bak']

def fail(msg): sys.exit(f'build_docs: {msg}')

def ensure_pandoc():
    if shutil.which('pandoc'): return
    if os.geteuid() != 0 or not shutil.which('apt-get'):
        fail('pandoc is missing: install it (Debian: apt-get install pandoc)')
    print('== installing Debian pandoc (apt-get)', flush=True)
    env = dict(os.environ, DEBIAN_FRONTEND='noninteractive')
    cmd = ['apt-get', 'install', '-y', '-q', '--no-install-recommends', 'pandoc']
    if subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL).returncode != 0:
        subprocess.run(['apt-get', 'update', '-q'], env=env, stdout=subprocess.DEVNULL)
        subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL)
    shutil.which('pandoc') or fail('could not install pandoc with apt-get')

def front_matter(nb):
    "What nbdev put in the processed notebook's first (raw) cell: title, description, output-file."
    import yaml
    c = nb['cells'][0] if nb['cells'] else {}
    return (next(yaml.safe_load_all(''.join(c['source'])), None) or {}) if c.get('cell_type') == 'raw' else {}

def for_pandoc(nb):
    "The processed notebook as Pandoc's ipynb reader should take it."
    for c in nb['cells']:
        if 'outputs' not in c: continue
        # a widget shows nothing without the widget manager (a CDN script): the static page leaves it out
        c['outputs'] = [o for o in c['outputs'] if 'application/vnd.jupyter.widget-view+json' not in o.get('data', {})]
        for o in c['outputs']:
            if 'text/markdown' in o.get('data', {}): o['data'].pop('text/plain', None)  # Pandoc would prefer the text
            if o['output_type'] == 'execute_result' and o.get('execution_count') is None:
                o['execution_count'] = 0  # Pandoc 2.17's reader needs a number there
    return json.dumps(nb)

def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--out', default=None, help='output folder (default: settings.ini doc_path, _docs)')
    ap.add_argument('--workers', type=int, default=min(2, os.cpu_count() or 1), help='notebooks processed at once')
    ap.add_argument('--render-only', action='store_true', help='render what is already processed in _proc/')
    a = ap.parse_args()
    os.chdir(root)
    from nbdev.config import get_config
    from nbdev.doclinks import nbglob
    from nbdev.serve import proc_nbs
    cfg = get_config()
    nbs_path = Path(cfg.nbs_path).resolve()
    site_title = cfg.get('title', cfg.lib_name)
    out = Path(a.out).resolve() if a.out else Path(cfg.doc_path).resolve()
    if out == root or out in root.parents or out == nbs_path: fail(f'--out {out} is the repository, a folder holding it, or its notebooks; name a folder of its own')
    if out.exists() and any(out.iterdir()) and not (out/MARKER).exists():
        fail(f'{out} exists and was not written by build_docs.py; remove it or name another --out')
    ensure_pandoc()

    t0 = time.time()
    proc = root/'_proc'
    if not a.render_only:
        print(f'== nbdev processing of the notebooks into {proc} ({a.workers} at once)', flush=True)
        sys.path.insert(0, str(root))  # the workers start with this path (and this environment)
        path = [str(root)] + [p for p in os.environ.get('PYTHONPATH', '').split(os.pathsep) if p]
        os.environ['PYTHONPATH'] = os.pathsep.join(path)
        os.environ.setdefault('MPLBACKEND', 'Agg')
        try: proc = proc_nbs(nbs_path, n_workers=a.workers, force=True)  # all: show_doc reflects the code as it is now
        except Exception as e:  # the first notebook that failed, its cell, and the error there (the worker's last line)
            first = str(e.__cause__ or '').split('\nThe above exception')[0]  # the error that set it off
            why = [l for l in first.splitlines() if l.strip() and not l.startswith((' ', '"'))][-1:]
            fail(f'nbdev processing failed: {e}\n{"".join(why)}\n'
                 '(Put imports in cells of their own: nbdev runs every cell that imports when it builds the docs.)')

    # the pages, in nbdev's sidebar order: index first, then by path (numbered chapters); `_` notebooks skipped
    nbs = nbglob(nbs_path, func=Path, file_re=r'\.ipynb$', skip_folder_re=r'(?:^[_.]|^www\$)')
    nbs = sorted(nbs, key=lambda f: (f.parent.relative_to(nbs_path).as_posix(), '00' if f.name.startswith('index.') else f.name))
    if not nbs: fail(f'no notebooks in {nbs_path}')
    pages = []
    for f in nbs:
        rel = f.relative_to(nbs_path)
        if not (proc/rel).exists(): fail(f'{rel} is not processed in {proc}: run without --render-only')
        nb = json.loads((proc/rel).read_text(encoding='utf-8'))
        fm = front_matter(nb)
        pages.append(dict(src=f, nb=nb, title=fm.get('title') or f.stem, description=fm.get('description', ''),
                          page=(rel.parent/fm.get('output-file', f.stem + '.html')).as_posix()))
    t1 = time.time()
    version = subprocess.run(['pandoc', '--version'], capture_output=True, text=True).stdout.split('\n')[0]
    print(f'== rendering with {version} into {out}', flush=True)
    tmp = Path(tempfile.mkdtemp(prefix='build_docs_'))
    try:
        stage = tmp/'site'
        shutil.copytree(proc, stage, ignore=shutil.ignore_patterns(*NOT_COPIED))  # the notebooks' other files
        css = sorted(f.relative_to(stage).as_posix() for f in stage.rglob('*.css'))
        index = next((p['page'] for p in pages if p['page'] == 'index.html'), pages[0]['page'])
        for p in pages:
            here = posixpath.dirname(p['page']) or '.'
            def href(page): return posixpath.relpath(page, here)
            links = {**{q['page']: href(q['page']) for q in pages}, **{q['src'].name: href(q['page']) for q in pages}}
            readme = p['src'].name == cfg.get('readme_nb', 'index.ipynb')  # the README notebook links from the root too
            meta = {'title': p['title'], 'description': p['description'], 'pagetitle': f"{p['title']} – {site_title}",
                    'site-title': site_title, 'home': href(index), 'css': [href(c) for c in css],
                    'nav': [{'title': q['title'], 'href': href(q['page']), 'active': q is p} for q in pages],
                    'pages': links, 'site-url': (cfg.get('doc_host', '') + cfg.get('doc_baseurl', '')).rstrip('/'),
                    'repo-url': f"{cfg.get('git_url', '').rstrip('/')}/blob/{cfg.get('branch', 'main')}", 'root': str(root),
                    'bases': [p['src'].parent.relative_to(root).as_posix()] + ([''] if readme else [])}
            (tmp/'meta.json').write_text(json.dumps(meta), encoding='utf-8')
            dst = stage/p['page']
            dst.parent.mkdir(parents=True, exist_ok=True)
            r = subprocess.run(['pandoc', '-f', 'ipynb', '-t', 'html5', '-s', '--template', str(tools/'docs.html'),
                                '--lua-filter', str(tools/'docs.lua'), '--metadata-file', str(tmp/'meta.json'),
                                '--toc', '--toc-depth=2', '--extract-media', f'{dst.stem}_files', '-o', dst.name],
                               input=for_pandoc(p['nb']), cwd=dst.parent, capture_output=True, text=True)
            if r.returncode != 0: fail(f"pandoc failed on {p['src'].relative_to(root)}:\n{r.stderr}")
            print(f"  wrote {p['page']} ({dst.stat().st_size // 1024} KiB) {r.stderr.strip()}".rstrip(), flush=True)
        (stage/MARKER).write_text('written by tools/build_docs.py\n')
        if out.exists(): shutil.rmtree(out)
        shutil.copytree(stage, out)
    finally: shutil.rmtree(tmp, ignore_errors=True)
    print(f'build_docs: {len(pages)} pages in {out} (processing {t1 - t0:.0f} s, rendering {time.time() - t1:.0f} s)')

if __name__ == '__main__': main()
