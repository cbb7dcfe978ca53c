"""Open every page of the built docs (tools/build_docs.py) in headless Chromium and check what a reader sees.

For each notebook's page: it loads (HTTP 200) with no console errors, failed requests or script errors; it has the
sidebar linking every page; where the chapter exports public functions or classes, their `show_doc` blocks are
rendered (a heading with the name, then its signature); where the notebook has figure outputs in cells the docs
show, at least one figure loaded (an <img> with naturalWidth > 0), and no image anywhere failed to load; and every
internal link (to a page of the site, or an anchor on one) resolves. A full-page screenshot of each page is saved
into a temporary folder (printed; CI keeps it). Exits 1 listing every failure.

Installs what it needs when missing: Debian's `chromium` (apt-get, as root) and Playwright for Python, which drives
that Chromium by its executable path (Playwright's own browser download is never used). Chromium runs with
--no-sandbox, which it needs as root.
Usage: python tools/test_docs.py [--site _docs] [--shots DIR]
"""
import argparse, ast, functools, http.server, json, os, re, shutil, subprocess, sys, tempfile, threading, time
from configparser import ConfigParser
from pathlib import Path
from urllib.parse import urljoin, urlsplit, unquote

root = Path(__file__).resolve().parent.parent

def say(msg): print(msg, flush=True)

# ---------------------------------------------------------------- what is needed

def chromium_path():
    for p in [os.environ.get('CHROMIUM', ''), '/usr/lib/chromium/chromium', shutil.which('chromium') or '',
              shutil.which('chromium-browser') or '', shutil.which('google-chrome') or '']:
        if p and os.path.isfile(p) and os.access(p, os.X_OK): return p

def ensure_chromium():
    p = chromium_path()
    if p: return p
    if os.geteuid() != 0 or not shutil.which('apt-get'):
        sys.exit('test_docs: Chromium is missing: install it (Debian: apt-get install chromium) or set CHROMIUM=/path')
    say('== installing Debian chromium (apt-get)')
    env = dict(os.environ, DEBIAN_FRONTEND='noninteractive')
    cmd = ['apt-get', 'install', '-y', '-q', '--no-install-recommends', 'chromium']
    if subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL).returncode != 0:
        subprocess.run(['apt-get', 'update', '-q'], env=env, stdout=subprocess.DEVNULL)
        subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL)
    return chromium_path() or sys.exit('test_docs: could not install chromium with apt-get')

def ensure_playwright():
    try: import playwright.sync_api  # noqa: F401
    except ImportError:
        say('== installing playwright (pip)')
        r = subprocess.run([sys.executable, '-m', 'pip', 'install', '-q', 'playwright'])
        if r.returncode != 0: sys.exit('test_docs: could not pip install playwright')

# ---------------------------------------------------------------- what each page should show, from its notebook

def _src(c): return ''.join(c['source']) if isinstance(c['source'], list) else c['source']

def _dirs(src):
    d = {}
    for l in src.splitlines():
        m = re.match(r'\s*#\s*\|\s*([\w-]+):?\s*(.*)$', l)
        if m: d[m.group(1)] = m.group(2).strip()
        elif l.strip(): break
    return d

def _patched_name(f):
    "`Cls.name` for an @patch'ed function (as show_doc titles it), else the name."
    if any(getattr(d, 'id', None) == 'patch' or getattr(getattr(d, 'func', None), 'id', None) == 'patch'
           for d in f.decorator_list) and f.args.args and f.args.args[0].annotation is not None:
        ann = f.args.args[0].annotation
        cls = ann.id if isinstance(ann, ast.Name) else ast.unparse(ann)
        return f'{cls}.{f.name}'
    return f.name

def expectations(nb_path):
    "Public names the chapter exports (show_doc blocks are due), how many figures it shows, the cells it must not show."
    nb = json.loads(Path(nb_path).read_text(encoding='utf-8'))
    names, figs, unseen = [], 0, []
    for c in nb['cells']:
        if c['cell_type'] != 'code': continue
        src, d = _src(c), _dirs(_src(c))
        if {'hide', 'export', 'exporti'} & set(d) and 'nbdev_export(' not in src:
            code = ' '.join(' '.join(l for l in src.splitlines() if not re.match(r'\s*#\s*\|', l)).split())
            if code: unseen.append(code)
        if 'hide' in d or d.get('include', '').lower() == 'false': continue
        if {'export', 'exports'} & set(d):
            try: tree = ast.parse('\n'.join(l for l in src.splitlines() if not l.lstrip().startswith('%')))
            except SyntaxError: continue
            for o in tree.body:
                if isinstance(o, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and not o.name.startswith('_'):
                    names.append(_patched_name(o) if not isinstance(o, ast.ClassDef) else o.name)
            continue
        if d.get('output', '').lower() == 'false': continue
        figs += sum(1 for o in c.get('outputs', []) if any(k.startswith('image/') for k in o.get('data', {})))
    return names, figs, unseen

def page_name(nb):
    try: from nbdev.doclinks import _nbpath2html  # nbdev's own name for a notebook's page
    except ImportError: return re.sub(r'^\d+[a-zA-Z0-9]*_', '', nb.name.lower())[:-len('.ipynb')] + '.html'
    return _nbpath2html(nb).name

# ---------------------------------------------------------------- the browser run

PAGE_JS = r"""() => {
  const text = e => (e.textContent || '').replace('¶', '').trim();
  const ids = Array.from(document.querySelectorAll('[id], a[name]')).map(e => e.id || e.getAttribute('name'));
  const links = Array.from(document.querySelectorAll('a[href]')).map(a => a.getAttribute('href'));
  const imgs = Array.from(document.querySelectorAll('img')).map(i => ({src: (i.getAttribute('src') || '').slice(0, 80),
      ok: i.complete && i.naturalWidth > 0, w: i.naturalWidth}));
  const sidebar = Array.from(document.querySelectorAll('nav a[href]')).map(a => a.getAttribute('href'));
  // a rendered show_doc block: a heading naming the symbol, followed (before the next heading) by its signature
  const docs = {};
  for (const h of document.querySelectorAll('main h2, main h3, main h4')) {
    const name = text(h);
    let sig = false;
    for (let e = h.nextElementSibling; e && !/^H[1-6]$/.test(e.tagName); e = e.nextElementSibling)
      if (e.querySelector('pre, code') || e.tagName === 'PRE' || e.tagName === 'BLOCKQUOTE') {
        const t = e.textContent;
        if (t.includes(name.split('.').pop() + '(') || t.includes(name.split('.').pop() + ' (')) { sig = true; break; }
      }
    if (sig) docs[name] = true;
  }
  const code = Array.from(document.querySelectorAll('main pre')).map(e => e.textContent.split(/\s+/).join(' ').trim());
  // what cells printed (not their code): a reader should see results there, not progress bars, warnings or this machine's paths
  // (Pandoc's markup: a code cell is a div.cell holding its outputs, each a div.output; the prose is the rest of main)
  const outputs = Array.from(document.querySelectorAll('main .cell .output')).map(e => e.innerText);
  const prose = Array.from(document.querySelectorAll('main > :not(.cell):not(header)')).map(e => e.innerText);
  return {ids, links, imgs, sidebar, code, outputs, prose, docs: Object.keys(docs), title: document.title,
          h1: document.querySelector('h1') ? text(document.querySelector('h1')) : ''};
}"""

BAR = re.compile(r'\d+%\|[^|\n]*\||\d+/\d+ \[\d+:\d\d|\bit/s\]')   # tqdm: "42%|####  |", "3/10 [00:01", "2.3it/s]"
WARNING = re.compile(r'\b\w*Warning: |^\s*warnings\.warn\(', re.M)   # "…/x.py:12: UserWarning: ..." and its echoed source line
ABS_PATH = re.compile(r'(?<![\w.~…/-])/(tmp|root|home|work|Users)/\S+|site-packages')   # this machine's files, not the reader's
RAW_LINK = re.compile(r'\[`?[\w.]+`?\]\((https?://|/)[^)]*\)')   # Markdown link syntax left unrendered

def output_faults(outputs:list, prose:list)->list:
    "What a reader should not see in a page's cell outputs (and raw link syntax in its prose and signatures)."
    found = []
    for kind, pat in (('a progress bar', BAR), ('a warning', WARNING), ("a path of this machine's", ABS_PATH)):
        hits = [m.group(0) for o in outputs for m in [pat.search(o)] if m]
        if hits: found.append(f'{len(hits)} output(s) show {kind}, e.g. {hits[0][:80]!r}')
    raw = [m.group(0) for t in [*outputs, *prose] for m in [RAW_LINK.search(t)] if m]
    if raw: found.append(f'{len(raw)} block(s) show raw Markdown link syntax, e.g. {raw[0][:80]!r}')
    return found

class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *a): pass

def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--site', default=None, help='the built site (default: settings.ini doc_path, _docs)')
    ap.add_argument('--shots', default=None, help='folder for the screenshots (default: a new temporary folder)')
    a = ap.parse_args()
    cfg = ConfigParser(delimiters=['=']); cfg.read(root/'settings.ini', encoding='utf-8'); cfg = cfg['DEFAULT']
    site = Path(a.site or root/cfg.get('doc_path', '_docs')).resolve()
    nbs = root/cfg.get('nbs_path', 'nbs')
    site_url = (cfg.get('doc_host', '') + cfg.get('doc_baseurl', '')).rstrip('/')
    if not (site/'index.html').exists(): sys.exit(f'test_docs: no site in {site}: run python tools/build_docs.py first')
    chromium = ensure_chromium(); ensure_playwright()
    from playwright.sync_api import sync_playwright
    shots = Path(a.shots or tempfile.mkdtemp(prefix='prunedm_docs_shots_')); shots.mkdir(parents=True, exist_ok=True)

    notebooks = sorted(p for p in nbs.rglob('*.ipynb')
                       if not any(s[0] in '._' for s in p.relative_to(nbs).parts))
    pages = {}  # page path in the site -> (notebook, exported names, figure count)
    for nb in notebooks:
        rel = nb.relative_to(nbs).parent/page_name(nb)
        pages[rel.as_posix()] = (nb, *expectations(nb))
    extra = sorted(p.relative_to(site).as_posix() for p in site.rglob('*.html')) 
    failures = []
    def bad(page, msg): failures.append(f'{page}: {msg}')
    for p in pages:
        if not (site/p).exists(): bad(p, f'no page for {pages[p][0].relative_to(root)}')
    to_visit = [p for p in pages if (site/p).exists()] + [p for p in extra if p not in pages]

    srv = http.server.ThreadingHTTPServer(('127.0.0.1', 0), functools.partial(Quiet, directory=str(site)))
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    base = f'http://127.0.0.1:{srv.server_address[1]}/'
    say(f'== {len(to_visit)} pages of {site} at {base}, Chromium {chromium}')
    info = {}
    t0 = time.time()
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, headless=True,
                                     args=['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu'])
        ctx = browser.new_context(viewport={'width': 1280, 'height': 900})
        # nothing leaves this machine: a page that reaches outside would fail (or hang) offline
        ctx.route(re.compile(r'^(?!http://127\.0\.0\.1:)'), lambda route: route.abort())
        for p in to_visit:
            page = ctx.new_page()
            errors = []
            page.on('console', lambda m, errors=errors: errors.append(f'console {m.type}: {m.text}') if m.type == 'error' else None)
            page.on('pageerror', lambda e, errors=errors: errors.append(f'script error: {e}'))
            page.on('requestfailed', lambda r, errors=errors: errors.append(f'request failed: {r.url[:120]} ({r.failure})'))
            page.on('response', lambda r, errors=errors, p=p: errors.append(f'HTTP {r.status}: {r.url}')
                    if r.status >= 400 else None)
            t1 = time.time()
            try: resp = page.goto(base + p, wait_until='load', timeout=60_000)
            except Exception as e:
                bad(p, f'did not load: {e}'); page.close(); continue
            if resp is None or resp.status != 200: bad(p, f'HTTP {resp.status if resp else "no response"}')
            page.wait_for_timeout(200)
            r = page.evaluate(PAGE_JS)
            shot = shots/(p.replace('/', '__')[:-5] + '.png')
            page.screenshot(path=str(shot), full_page=True)
            info[p] = r
            for e in errors: bad(p, e)
            nb, names, figs, unseen = pages.get(p, (None, [], 0, []))
            if nb is not None:
                shown = set(r['code'])
                for u in unseen:
                    if u in shown: bad(p, f'a #| hide or #| export cell is shown: {u[:70]!r}')
                missing = [n for n in names if n not in r['docs']]
                if names and not r['docs']: bad(p, f'no show_doc block rendered (the chapter exports {len(names)} names)')
                elif missing: bad(p, f'show_doc missing for {len(missing)} exported name(s): {", ".join(missing[:12])}')
                loaded = sum(i['ok'] for i in r['imgs'])
                if figs and not loaded: bad(p, f'no figure shown (the notebook has {figs} figure outputs)')
            for i in r['imgs']:
                if not i['ok']: bad(p, f"image did not load: {i['src']}")
            for msg in output_faults(r['outputs'], r['prose']): bad(p, msg)
            sb = {urljoin(base + p, h).split('#')[0] for h in r['sidebar']}
            for q in pages:
                if (site/q).exists() and base + q not in sb: bad(p, f'sidebar has no link to {q}')
            say(f'  {p}: {len(r["docs"])} show_doc blocks, {sum(i["ok"] for i in r["imgs"])} images, '
                f'{len(r["links"])} links ({time.time() - t1:.1f} s)')
            page.close()
        browser.close()
    srv.shutdown()

    # internal links: the file must be in the site and the anchor on its page
    ids = {p: set(r['ids']) for p, r in info.items()}
    for p, r in info.items():
        for h in r['links']:
            if site_url and h.startswith(site_url + '/'): h = '/' + h[len(site_url) + 1:]  # a link to the live site
            u = urlsplit(urljoin(base + p, h))
            if u.scheme not in ('http', 'https') or u.netloc != urlsplit(base).netloc: continue
            target = unquote(u.path.lstrip('/')) or 'index.html'
            if target.endswith('/'): target += 'index.html'
            if not (site/target).is_file(): bad(p, f'broken link {h!r}: no {target}'); continue
            if u.fragment and target.endswith('.html'):
                tid = ids.get(target)
                if tid is None:
                    tid = set(re.findall(r'\bid="([^"]+)"', (site/target).read_text(encoding='utf-8', errors='replace')))
                if unquote(u.fragment) not in tid: bad(p, f'broken anchor {h!r}: no #{u.fragment} on {target}')

    say(f'screenshots: {shots}')
    say(f'{len(info)} pages checked in {time.time() - t0:.0f} s')
    if failures:
        say(f'test_docs: {len(failures)} failure(s):')
        for f in failures: say(f'  FAIL {f}')
        sys.exit(1)
    say('test_docs: all pages pass')

if __name__ == '__main__': main()
