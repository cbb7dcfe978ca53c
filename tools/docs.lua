-- Pandoc filter for the pages tools/build_docs.py writes from nbdev's processed notebooks (pandoc -f ipynb).
-- In three passes: show_doc's Markdown outputs (`#| output: asis`) become page content; Quarto's cell options
-- (`include`, `echo`, `output`, `code-fold`, `code-summary`) apply; links to notebooks and to the doc site point at
-- the site's pages, other repository files at the repository, and heading ids stay unique on the page.
-- build_docs.py passes in the metadata: pages (notebook or page name -> its href from this page), site-url,
-- repo-url (…/blob/<branch>), root (the repository) and bases (folders, from root, that this notebook's links are
-- relative to: its own, and the root for the README notebook).
local stringify, meta = pandoc.utils.stringify, nil

local function asis(raw)  -- what Quarto does with a Markdown output
  if raw.format == 'markdown' then return pandoc.read(raw.text, 'markdown').blocks end
end

local function cell(div)
  if div.classes:includes('markdown') then return div.content end  -- as Quarto: its headings are the page's sections
  local code = div.content[1]
  if not (div.classes:includes('code') and code and code.t == 'CodeBlock') then return nil end
  local opts, lines = {}, {}
  for line in (code.text .. '\n'):gmatch('(.-)\n') do
    local k, v = line:match('^%s*#|%s*([%w-]+)%s*:%s*(.-)%s*$')
    if k and #lines == 0 then opts[k] = (v:gsub('^["\'](.*)["\']$', '%1')) else lines[#lines + 1] = line end
  end
  if opts.include == 'false' then return {} end
  code.text = table.concat(lines, '\n'):gsub('^%s*\n', ''):gsub('%s+$', '')
  local shown, fold = {}, opts['code-fold']
  if opts.echo ~= 'false' and code.text ~= '' then
    if fold == 'true' or fold == 'show' then
      local summary = (opts['code-summary'] or 'Code'):gsub('&', '&amp;'):gsub('<', '&lt;')
      shown = {pandoc.RawBlock('html', '<details class="code-fold"' .. (fold == 'show' and ' open' or '') ..
                 '><summary>' .. summary .. '</summary>'), code, pandoc.RawBlock('html', '</details>')}
    else shown = {code} end
  end
  if opts.output ~= 'false' then for i = 2, #div.content do shown[#shown + 1] = div.content[i] end end
  div.content = shown
  return div
end

local function exists(f) local h = io.open(f) if h then h:close() end return h ~= nil end

local function link(l)
  local site, pages = stringify(meta['site-url'] or ''), meta.pages or {}
  local t = l.target
  if site ~= '' and t:sub(1, #site + 1) == site .. '/' then  -- a doc-site link: to this site's page, if it has it
    local path, frag = t:sub(#site + 2):match('^([^#]*)(.*)$')
    local page = pages[path ~= '' and path or 'index.html']
    if page then l.target = stringify(page) .. frag end
    return l
  end
  if t:match('^%a[%w+.-]*:') or t:match('^[#/]') then return nil end  -- elsewhere, or on this page
  local path, frag = t:match('^([^#?]*)(.*)$')
  if path:match('%.ipynb$') then  -- a notebook (README-style nbs/xx.ipynb too): its page
    local page = pages[path:match('[^/]*$')]
    if page then l.target = stringify(page) .. frag end
    return l
  end
  for i, base in ipairs(meta.bases or {}) do  -- a file: copied beside the pages, else the repository's
    local f = (stringify(base) == '' and '' or stringify(base) .. '/') .. path
    if exists(stringify(meta.root) .. '/' .. f) then
      if i > 1 or path:match('^%.%./') then l.target = stringify(meta['repo-url']) .. '/' .. f .. frag end
      return l
    end
  end
end

local seen = {}
local function unique_id(h)  -- cells and show_doc outputs are read one at a time: make ids unique, as Quarto's are
  if h.identifier == '' then return nil end
  local id, n = h.identifier, 0
  while seen[id] do n = n + 1; id = h.identifier .. '-' .. n end
  seen[id], h.identifier = true, id
  return h
end

return {{RawBlock = asis}, {Div = cell},
        {Meta = function(m) meta = m end}, {Link = link, Header = unique_id}}
