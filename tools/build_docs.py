"""Build the docs site from the notebooks without Quarto: nbdev's own processing, then nbconvert to static HTML.

1. Each notebook goes through nbdev's processor pipeline exactly as `nbdev_proc_nbs` runs it (`nbdev.serve_drv.main`
   with `FilterDefaults`): `#| hide` and `#| export` cells dropped, `show_doc` cells added and executed (with the cells
   that import), `#| exports` cells folded, backticked names linked, the title cell turned into front matter.
   Unlike `nbdev_proc_nbs` it writes nothing into the repository (no `_proc/`, `nbs/sidebar.yml`, `nbs/nbdev.yml` or
   `_modidx.py`) and never tries to install Quarto. Each notebook runs in its own process, with the repository first
   on PYTHONPATH, so the pages document this checkout.
2. Each processed notebook becomes one page with nbconvert's HTML exporter (the `lab` template); the glue here
   applies Quarto's cell options (`echo`, `output`, `include`, `code-fold`), turns the links into site links (`.ipynb`
   and absolute doc-site links to the page files, README-style `nbs/xx.ipynb` too), gives headings Pandoc's ids (the
   ones nbdev's doc links use) and adds a sidebar of every page in nbdev's order (index first, then by file name).
   Figures stay embedded in the pages; other files in the notebooks folder are copied. No CDN scripts are loaded.

Exits 1 naming each notebook that fails to process, with the cell and the error.
Usage: python tools/build_docs.py [--out _docs] [--workers N] [--keep-proc DIR]
"""
import argparse, json, os, posixpath, re, shutil, subprocess, sys, tempfile, time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

root = Path(__file__).resolve().parent.parent
MARKER = '.build_docs'  # marks an output folder as this script's, so it may be replaced
NOT_COPIED = {'_quarto.yml', 'nbdev.yml', 'sidebar.yml', 'sidebar.yml.bak', '_brand.yml'}

def fail(msg): sys.exit(f'build_docs: {msg}')

# ---------------------------------------------------------------- 1. nbdev's processing (one child process a notebook)

def _proc_child(src, dst):
    "In a child process: run nbdev's docs processors on `src`, write `dst`; on error print one JSON line and exit 1."
    import warnings
    os.environ.setdefault('MPLBACKEND', 'Agg')
    from nbdev.serve_drv import main
    from nbdev.processors import FilterDefaults
    with warnings.catch_warnings(record=True) as ws:
        warnings.simplefilter('always')
        try: main((Path(src), Path(dst), FilterDefaults))
        except BaseException as e:
            cause = e.__cause__ or e
            m = re.search(r' in cell \d+ :\n(.*)', str(e), flags=re.DOTALL)
            print('BUILD_DOCS_ERROR ' + json.dumps({'cell': m.group(1) if m else None,
                                                    'error': f'{type(cause).__name__}: {cause}'.strip()}))
            raise
    for w in ws:
        if 'containing imports and other code' in str(w.message):
            src_ = str(w.message).split('---\n')[1] if '---\n' in str(w.message) else ''
            print('BUILD_DOCS_WARN ' + json.dumps({'cell': src_}))

def _directive_free(src):
    return '\n'.join(l for l in src.splitlines() if not re.match(r'\s*#\s*\|', l)).strip()

def _cell_ref(nb_path, cell_src):
    "Where a processed cell came from in the source notebook: its id and first line."
    if not cell_src: return '?'
    want = _directive_free(cell_src)
    for i, c in enumerate(json.loads(nb_path.read_text(encoding='utf-8'))['cells']):
        src = ''.join(c['source'])
        if c['cell_type'] == 'code' and _directive_free(src) == want:
            return f"cell {i} (id {c.get('id', '?')}): {want.splitlines()[0] if want else ''}"
    return f"cell starting {want.splitlines()[0] if want else ''!r}"

def process(nbs, proc_dir, workers):
    "Process every notebook; return (list of failures, list of warnings)."
    env = dict(os.environ, MPLBACKEND=os.environ.get('MPLBACKEND', 'Agg'),
               PYTHONPATH=os.pathsep.join([str(root)] + [p for p in os.environ.get('PYTHONPATH', '').split(os.pathsep) if p]))
    def one(nb):
        dst = proc_dir/nb.relative_to(nbs_path)
        dst.parent.mkdir(parents=True, exist_ok=True)
        t0 = time.time()
        try:
            r = subprocess.run([sys.executable, __file__, '--proc-one', str(nb), str(dst)], cwd=root, env=env,
                               capture_output=True, text=True, timeout=1800)
            rc, out, err = r.returncode, r.stdout, r.stderr
        except subprocess.TimeoutExpired: rc, out, err = 1, '', 'timed out after 1800 s'
        rel = nb.relative_to(root)
        warns = [f'{rel}: {_cell_ref(nb, json.loads(l.split(" ", 1)[1])["cell"])}'
                 for l in out.splitlines() if l.startswith('BUILD_DOCS_WARN ')]
        errs = [json.loads(l.split(' ', 1)[1]) for l in out.splitlines() if l.startswith('BUILD_DOCS_ERROR ')]
        if rc == 0 and dst.exists():
            print(f'  processed {rel} ({time.time() - t0:.0f} s)', flush=True)
            return None, warns
        if errs: msg = f"{rel}: {_cell_ref(nb, errs[0]['cell'])}\n      {errs[0]['error']}"
        else: msg = f'{rel}: ' + '\n      '.join(err.strip().splitlines()[-8:])
        print(f'  FAILED {rel} ({time.time() - t0:.0f} s)', flush=True)
        return msg, warns
    with ThreadPoolExecutor(max(1, workers)) as ex: res = list(ex.map(one, nbs))
    return [m for m, _ in res if m], [w for _, ws in res for w in ws]

# ---------------------------------------------------------------- 2. rendering with nbconvert

TEMPLATE = r"""{%- extends 'index.html.j2' -%}
{#- no CDN scripts: require.js, widgets, MathJax and Mermaid would each load from the network -#}
{%- block html_head_js -%}{%- endblock html_head_js -%}
{%- block jupyter_widgets -%}{%- endblock jupyter_widgets -%}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
{%- block html_head_css -%}
<link rel="icon" href="data:,">
<link rel="stylesheet" href="{{ resources.docs.base }}site.css">
{%- for css in resources.docs.css %}
<link rel="stylesheet" href="{{ resources.docs.base }}{{ css }}">
{%- endfor %}
{%- endblock html_head_css -%}
{%- block body_header -%}
<body class="jp-Notebook docs" data-jp-theme-light="true" data-jp-theme-name="JupyterLab Light">
<nav class="docs-sidebar" aria-label="Chapters"></nav>
<main class="docs-main">
<header class="docs-title">
<h1 class="title">{{ resources.docs.title | escape }}</h1>
{%- if resources.docs.description %}
<p class="description">{{ resources.docs.description | escape }}</p>
{%- endif %}
</header>
{%- endblock body_header -%}
{%- block input_group -%}
{%- if cell.metadata.get('docs_fold') -%}
<details class="code-fold"{% if cell.metadata.docs_fold == 'show' %} open{% endif %}>
<summary>{{ cell.metadata.get('docs_fold_summary', 'Code') | escape }}</summary>
{{ super() }}
</details>
{%- else -%}
{{ super() }}
{%- endif -%}
{%- endblock input_group -%}
"""

SITE_CSS = """
body.docs { margin: 0; padding: 0; }
.docs-sidebar { position: fixed; top: 0; left: 0; bottom: 0; width: 15rem; overflow-y: auto; padding: 1.2rem 1rem;
  box-sizing: border-box; border-right: 1px solid #dee2e6; background: #f8f9fa; font-family: system-ui, sans-serif;
  font-size: 0.92rem; }
.docs-sidebar .site-title { display: block; font-weight: 600; font-size: 1.15rem; margin-bottom: 1rem; color: #212529;
  text-decoration: none; }
.docs-sidebar ul { list-style: none; margin: 0; padding: 0; }
.docs-sidebar li { margin: 0.15rem 0; }
.docs-sidebar a { color: #343a40; text-decoration: none; }
.docs-sidebar a:hover { text-decoration: underline; }
.docs-sidebar li.active > a { color: #0d6efd; font-weight: 600; }
.docs-sidebar ul.toc { margin: 0.2rem 0 0.4rem 0.8rem; font-size: 0.85rem; }
.docs-main { margin-left: 15rem; padding: 1rem 2rem 4rem; max-width: 64rem; }
.docs-title .title { margin-bottom: 0.2rem; }
.docs-title .description { color: #6c757d; font-size: 1.1rem; margin-top: 0; }
.jp-InputPrompt, .jp-OutputPrompt { display: none; }
.jp-Cell { padding: 0.3rem 0; }
details.code-fold > summary { cursor: pointer; color: #6c757d; font-size: 0.9rem; }
.celltag_show-doc hr { border: 0; border-top: 1px solid #dee2e6; margin: 1.2rem 0 0.4rem; }
.celltag_show-doc a.showdoc-source { float: right; font-size: smaller; }
.celltag_show-doc h3, .celltag_show-doc h4 { margin-top: 0.3rem; }
.jp-RenderedHTMLCommon a, .jp-RenderedHTMLCommon a code { color: #0d6efd; }
.jp-InputArea, .jp-InputArea-editor { overflow-x: auto; }
.jp-RenderedMarkdown pre { background: #f6f8fa; padding: 0.5rem 0.7rem; border-radius: 4px; }
.jp-RenderedHTMLCommon img, .jp-RenderedImage img { max-width: 100%; height: auto; }
@media (max-width: 800px) { .docs-sidebar { position: static; width: auto; border-right: 0; }
  .docs-main { margin-left: 0; padding: 1rem; } }
"""

_re_opt = re.compile(r'^\s*#\|\s*([\w-]+)\s*:\s*(.*?)\s*$')
_re_attr_link = re.compile(r'\[([^\]]*)\]\(([^)\s]+)\)\{[^}\n]*\}')  # Pandoc's [text](url){attrs}: nbdev's source link

def _attr_link(m): return f'[{m.group(1)}]({m.group(2)})'  # plain Markdown; render() puts the attributes back

def _truthy(v): return str(v).strip().lower() not in ('false', 'no', '0')

def prepare_nb(nb):
    "Apply Quarto's cell options as nbconvert tags/metadata; return the front matter."
    fm = {}
    cells = nb.cells
    if cells and cells[0].cell_type == 'raw' and cells[0].source.lstrip().startswith('---'):
        import yaml
        m = re.match(r'\s*---\s*\n(.*?)\n---\s*$', cells[0].source, flags=re.DOTALL)
        fm = (yaml.safe_load(m.group(1)) if m else None) or {}
        cells = cells[1:]
    keep = []
    for c in cells:
        if c.cell_type == 'markdown' and c.source.strip().startswith('<!-- WARNING: THIS FILE WAS AUTOGENERATED'): continue
        if c.cell_type == 'code':
            lines, opts = c.source.splitlines(), {}
            while lines and _re_opt.match(lines[0]):
                k, v = _re_opt.match(lines[0]).groups(); opts[k] = v.strip('"\''); lines.pop(0)
            c.source = '\n'.join(lines).strip('\n')
            tags = set(c.metadata.get('tags', []))
            if not _truthy(opts.get('include', True)): continue
            if not _truthy(opts.get('echo', True)) or not c.source.strip(): tags.add('remove_input')
            if opts.get('output', '').lower() == 'false': tags.add('remove_output')
            if re.match(r'\s*show_doc\(', c.source): tags.add('show-doc')
            fold = opts.get('code-fold', '').lower()
            if fold in ('show', 'true'):
                c.metadata['docs_fold'] = fold; c.metadata['docs_fold_summary'] = opts.get('code-summary', 'Code')
            c.metadata['tags'] = sorted(tags)
            # a widget shows nothing without the widget manager (a CDN script): the static page leaves it out
            if 'outputs' in c:
                c.outputs = [o for o in c.outputs if 'application/vnd.jupyter.widget-view+json' not in o.get('data', {})]
            for o in c.get('outputs', []):
                md = o.get('data', {}).get('text/markdown')
                if md: o['data']['text/markdown'] = _re_attr_link.sub(_attr_link, md if isinstance(md, str) else ''.join(md))
        keep.append(c)
    nb.cells = keep
    nb.metadata.pop('widgets', None)  # its state is only read by the widget manager, left out above
    return fm

def pandoc_id(text):
    "Pandoc's auto identifier (what Quarto gives a heading, and what nbdev's doc links point to)."
    s = re.sub(r'[^\w\s.-]', '', text, flags=re.UNICODE).strip().lower()
    s = re.sub(r'\s+', '-', s)
    s = re.sub(r'^[^a-z]+', '', s)
    return s or 'section'

def render(pages, out, site_url, readme_nb, css):
    import nbformat
    from bs4 import BeautifulSoup
    from jinja2 import DictLoader
    from nbconvert import HTMLExporter
    from nbconvert.preprocessors import TagRemovePreprocessor
    exporter = HTMLExporter(template_name='lab', extra_loaders=[DictLoader({'docs.html.j2': TEMPLATE})],
                            template_file='docs.html.j2', exclude_input_prompt=True, exclude_output_prompt=True,
                            embed_images=True)
    trp = TagRemovePreprocessor(remove_input_tags={'remove_input'}, remove_all_outputs_tags={'remove_output'},
                                remove_cell_tags={'remove_cell'}, enabled=True)
    exporter.register_preprocessor(trp, enabled=True)
    by_nb = {p['src'].resolve(): p for p in pages}
    by_name = {}
    for p in pages: by_name.setdefault(p['src'].name, p)
    page_files = {p['page'] for p in pages}

    for p in pages:
        nb = nbformat.read(p['proc'], as_version=4)
        fm = prepare_nb(nb)
        p['title'] = fm.get('title') or p['src'].stem
        p['description'] = fm.get('description', '')
        nb.metadata['title'] = f"{p['title']} – {site_title}"
        p['nb'] = nb

    for p in pages:
        page, base = p['page'], '../' * (len(Path(p['page']).parts) - 1)
        resources = {'metadata': {'name': p['src'].stem, 'path': str(p['src'].parent)},
                     'docs': {'title': p['title'], 'description': p['description'], 'base': base, 'css': css}}
        html, _ = exporter.from_notebook_node(p['nb'], resources=resources)
        soup = BeautifulSoup(html, 'html.parser')
        main = soup.find('main')
        # nbconvert inlines the same JupyterLab and Pygments CSS into every page: one shared file instead
        styles = soup.head.find_all('style')
        css_text = '\n'.join(st.get_text() for st in styles)
        if styles:
            if not (out/'notebook.css').exists(): (out/'notebook.css').write_text(css_text, encoding='utf-8')
            if (out/'notebook.css').read_text(encoding='utf-8') == css_text:
                styles[0].replace_with(soup.new_tag('link', rel='stylesheet', href=f'{base}notebook.css'))
                for st in styles[1:]: st.decompose()
        # Pandoc's heading ids, unique on the page; the anchor link follows
        seen = set()
        for h in main.find_all(re.compile(r'^h[1-6]$')):
            for a in h.find_all('a', class_='anchor-link'): a.extract()
            hid = base_id = pandoc_id(h.get_text(' ', strip=True)); n = 0
            while hid in seen: n += 1; hid = f'{base_id}-{n}'
            seen.add(hid); h['id'] = hid
            if 'title' not in (h.get('class') or []):
                a = soup.new_tag('a', href=f'#{hid}', attrs={'class': 'anchor-link'}); a.string = '¶'; h.append(a)
        # links; show_doc's source link floats right and opens a new tab, as nbdev's attributes ask
        for a in soup.find_all('a', href=True): a['href'] = fix_href(a['href'], p, by_nb, by_name, page_files, site_url, readme_nb)
        for a in main.select('.celltag_show-doc a[href]'):
            if a.get_text(strip=True) == 'source': a['class'], a['target'] = 'showdoc-source', '_blank'
        # sidebar: every page, the current one with its sections
        nav = soup.find('nav', class_='docs-sidebar')
        t = soup.new_tag('a', href=posixpath.relpath(index_page(pages), posixpath.dirname(page) or '.'),
                         attrs={'class': 'site-title'}); t.string = site_title; nav.append(t)
        ul = soup.new_tag('ul'); nav.append(ul)
        for q in pages:
            li = soup.new_tag('li'); ul.append(li)
            a = soup.new_tag('a', href=posixpath.relpath(q['page'], posixpath.dirname(page) or '.')); a.string = q['title']
            li.append(a)
            if q is p:
                li['class'] = 'active'
                secs = [h for h in main.find_all('h2')]
                if secs:
                    toc = soup.new_tag('ul', attrs={'class': 'toc'}); li.append(toc)
                    for h in secs:
                        tli = soup.new_tag('li'); ta = soup.new_tag('a', href=f"#{h['id']}")
                        ta.string = h.get_text(' ', strip=True).rstrip('¶').strip(); tli.append(ta); toc.append(tli)
        dst = out/page
        dst.parent.mkdir(parents=True, exist_ok=True)
        dst.write_text(str(soup), encoding='utf-8')
        print(f'  wrote {dst.relative_to(out)} ({dst.stat().st_size // 1024} KiB)', flush=True)

def index_page(pages):
    return next((p['page'] for p in pages if p['page'] == 'index.html'), pages[0]['page'])

def fix_href(href, p, by_nb, by_name, page_files, site_url, readme_nb):
    "A link as the site needs it: notebooks and absolute doc-site links to page files, repo files to the repository."
    from urllib.parse import urlsplit
    page_dir = posixpath.dirname(p['page']) or '.'
    if site_url and href.startswith(site_url + '/'):
        rest = href[len(site_url) + 1:]
        path, _, frag = rest.partition('#')
        if (path or 'index.html') in page_files:
            return posixpath.relpath(path or 'index.html', page_dir) + (f'#{frag}' if frag else '')
        return href
    u = urlsplit(href)
    if u.scheme or u.netloc or href.startswith('#') or not u.path: return href
    path, frag = u.path, (f'#{u.fragment}' if u.fragment else '')
    src_dir = p['src'].parent
    bases = [src_dir] + ([root] if p['src'].name == readme_nb else [])  # the README notebook links from the repo root
    if path.endswith('.ipynb'):
        for b in bases:
            q = by_nb.get((b/path).resolve())
            if q: return posixpath.relpath(q['page'], page_dir) + frag
        q = by_name.get(Path(path).name)
        if q: return posixpath.relpath(q['page'], page_dir) + frag
        return href
    if (src_dir/path).exists(): return href  # copied with the notebooks' other files
    for b in bases:
        f = (b/path).resolve()
        if f.exists() and root in f.parents and git_url:
            return f"{git_url.rstrip('/')}/blob/{branch}/{f.relative_to(root).as_posix()}{frag}"
    return href

# ---------------------------------------------------------------- main

def main():
    global nbs_path, site_title, git_url, branch
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--out', default=None, help='output folder (default: settings.ini doc_path, _docs)')
    ap.add_argument('--workers', type=int, default=min(2, os.cpu_count() or 1), help='notebooks processed at once')
    ap.add_argument('--keep-proc', default=None, help='also keep the processed notebooks in this folder')
    ap.add_argument('--proc', default=None, help='render notebooks already processed into this folder (by --keep-proc)')
    ap.add_argument('--proc-one', nargs=2, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.proc_one: return _proc_child(*a.proc_one)

    os.chdir(root)
    from nbdev.config import get_config
    from nbdev.doclinks import nbglob, _nbpath2html
    cfg = get_config()
    nbs_path = Path(cfg.nbs_path).resolve()
    site_title, git_url, branch = cfg.get('title', cfg.lib_name), cfg.get('git_url', ''), cfg.get('branch', 'main')
    site_url = (cfg.get('doc_host', '') + cfg.get('doc_baseurl', '')).rstrip('/')
    readme_nb = cfg.get('readme_nb', 'index.ipynb')
    out = Path(a.out).resolve() if a.out else Path(cfg.doc_path).resolve()
    if out == root or out in root.parents or out == nbs_path: fail(f'--out {out} is the repository, a folder holding it, or its notebooks; name a folder of its own')
    if out.exists() and any(out.iterdir()) and not (out/MARKER).exists():
        fail(f'{out} exists and was not written by build_docs.py; remove it or name another --out')

    # the pages, in nbdev's sidebar order: index first, then by path (numbered chapters); `_` notebooks skipped
    nbs = nbglob(nbs_path, func=Path, file_re=r'\.ipynb$', skip_folder_re=r'(?:^[_.]|^www\$)')
    nbs = sorted(nbs, key=lambda f: (f.parent.relative_to(nbs_path).as_posix(), '00' if f.name.startswith('index.') else f.name))
    if not nbs: fail(f'no notebooks in {nbs_path}')
    t0 = time.time()
    tmp = Path(tempfile.mkdtemp(prefix='build_docs_'))
    try:
        proc_dir = Path(a.proc).resolve() if a.proc else tmp/'proc'
        if a.proc: failures, warns = [], []
        else:
            print(f'== nbdev processing of {len(nbs)} notebooks ({a.workers} at once)', flush=True)
            failures, warns = process(nbs, proc_dir, a.workers)
        for w in warns: print(f'  note: a cell mixes imports with other code (nbdev runs it for the docs): {w}')
        if a.keep_proc: shutil.copytree(proc_dir, a.keep_proc, dirs_exist_ok=True)
        if failures:
            print(f'build_docs: {len(failures)} notebook(s) failed nbdev processing (nbdev_proc_nbs would stop on the first):',
                  file=sys.stderr)
            for m in failures: print(f'  {m}', file=sys.stderr)
            print('  Put imports in cells of their own: nbdev runs every cell that imports when it builds the docs, '
                  'without the cells before it.', file=sys.stderr)
            sys.exit(1)
        t1 = time.time()
        print(f'== rendering with nbconvert into {out}', flush=True)
        stage = tmp/'site'; stage.mkdir()
        css = []
        for f in sorted(nbs_path.rglob('*')):  # the notebooks' other files (styles, images)
            rel = f.relative_to(nbs_path)
            if (f.is_dir() or f.suffix == '.ipynb' or f.name in NOT_COPIED
                    or any(s[0] in '._' for s in rel.parts) or f.name.endswith('.bak')): continue
            (stage/rel).parent.mkdir(parents=True, exist_ok=True); shutil.copy2(f, stage/rel)
            if f.suffix == '.css': css.append(rel.as_posix())
        (stage/'site.css').write_text(SITE_CSS, encoding='utf-8')
        pages = []
        for nb in nbs:
            rel = nb.relative_to(nbs_path)
            pages.append({'src': nb, 'proc': proc_dir/rel, 'page': (rel.parent/_nbpath2html(rel).name).as_posix()})
        render(pages, stage, site_url, readme_nb, css)
        (stage/MARKER).write_text('written by tools/build_docs.py\n')
        if out.exists(): shutil.rmtree(out)
        shutil.copytree(stage, out)
    finally: shutil.rmtree(tmp, ignore_errors=True)
    print(f'build_docs: {len(nbs)} pages in {out} (processing {t1 - t0:.0f} s, rendering {time.time() - t1:.0f} s)')

if __name__ == '__main__': main()
