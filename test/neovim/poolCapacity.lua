-- Drives Neovim's built-in LSP client (0.7's vim.lsp.start_client) against the real Pool Capacity
-- language server, headless, as a user would: open the config, read the diagnostics, hover a pool,
-- apply a quick fix, edit .env from outside, run a load test through workspace/executeCommand.
-- Every step waits with a deadline; the transcript (one JSON object a line) goes to POOL_CAPACITY_OUT
-- for the node:test driver (test/integration/neovim.test.ts) to assert on.
local env = vim.env
local out = assert(io.open(env.POOL_CAPACITY_OUT, 'w'))
local WAIT_MS = tonumber(env.POOL_CAPACITY_WAIT_MS or '20000')

local function record(step, value)
  out:write(vim.fn.json_encode({ step = step, value = value }), '\n')
  out:flush()
end

local function wait_for(what, predicate)
  if not vim.wait(WAIT_MS, predicate, 50) then
    error('timed out after ' .. WAIT_MS .. ' ms waiting for ' .. what)
  end
end

local shown, progress = {}, {}

local function codes(bufnr)
  local found = {}
  for _, d in ipairs(vim.diagnostic.get(bufnr)) do
    table.insert(found, { code = d.code, line = d.lnum, col = d.col, message = d.message })
  end
  table.sort(found, function(a, b) return a.line < b.line end)
  return found
end

local function has_code(bufnr, code)
  for _, d in ipairs(vim.diagnostic.get(bufnr)) do
    if d.code == code then return d end
  end
  return nil
end

local function run()
  vim.cmd('edit ' .. vim.fn.fnameescape(env.POOL_CAPACITY_CONFIG))
  local bufnr = vim.api.nvim_get_current_buf()
  local uri = vim.uri_from_bufnr(bufnr)
  local exited
  -- The README's Neovim 0.7 snippet, with handlers added to keep a transcript.
  local client_id = vim.lsp.start_client({
    name = 'pool-capacity',
    cmd = { env.POOL_CAPACITY_NODE or 'node', env.POOL_CAPACITY_SERVER, '--stdio' },
    root_dir = env.POOL_CAPACITY_ROOT,
    init_options = { trusted = true, settings = { connectTimeoutMs = 3000 } },
    handlers = {
      ['window/showMessage'] = function(_, result)
        table.insert(shown, result.message)
      end,
      ['$/progress'] = function(err, result, ctx, config)
        table.insert(progress, result.value)
        return vim.lsp.handlers['$/progress'](err, result, ctx, config)
      end,
    },
    on_exit = function(code) exited = code end,
  })
  assert(client_id, 'vim.lsp.start_client returned nothing')
  vim.lsp.buf_attach_client(bufnr, client_id)
  local client = vim.lsp.get_client_by_id(client_id)
  wait_for('the client to initialize', function() return client.initialized end)
  record('initialized', { commands = client.server_capabilities.executeCommandProvider.commands })

  -- The .env names a wrong password: the server says so on the pool.
  wait_for('auth-failed', function() return has_code(bufnr, 'auth-failed') ~= nil end)
  record('diagnostics', codes(bufnr))

  -- Another program fixes .env; Neovim 0.7 watches no files for the server.
  local f = assert(io.open(env.POOL_CAPACITY_DOTENV, 'w'))
  f:write(env.POOL_CAPACITY_DOTENV_FIXED)
  f:close()
  local edited_at = vim.loop.hrtime()
  wait_for('the .env edit to be seen', function()
    return has_code(bufnr, 'auth-failed') == nil and has_code(bufnr, 'pool-exceeds-server') ~= nil
  end)
  record('dotenv-edit', { ms = math.floor((vim.loop.hrtime() - edited_at) / 1e6), diagnostics = codes(bufnr) })

  -- Hover over the pool the error is on.
  local finding = has_code(bufnr, 'pool-exceeds-server')
  vim.api.nvim_win_set_cursor(0, { finding.lnum + 1, finding.col })
  local hover = client.request_sync('textDocument/hover', vim.lsp.util.make_position_params(), WAIT_MS, bufnr)
  assert(hover and hover.result, 'no hover: ' .. vim.inspect(hover))
  record('hover', hover.result.contents.value)

  -- The quick fix, as :lua vim.lsp.buf.code_action() asks for it (the cursor's line diagnostics).
  local params = vim.lsp.util.make_range_params()
  params.context = { diagnostics = vim.lsp.diagnostic.get_line_diagnostics(bufnr) }
  local actions = client.request_sync('textDocument/codeAction', params, WAIT_MS, bufnr)
  assert(actions and actions.result and actions.result[1], 'no code action: ' .. vim.inspect(actions))
  local fix = actions.result[1]
  vim.lsp.util.apply_workspace_edit(fix.edit, client.offset_encoding)
  record('quick-fix', {
    title = fix.title,
    line = vim.api.nvim_buf_get_lines(bufnr, finding.lnum, finding.lnum + 1, false)[1],
  })
  wait_for('the fix to clear the error', function() return has_code(bufnr, 'pool-exceeds-server') == nil end)
  record('after-fix', codes(bufnr))

  -- A capacity test through the standard workspace/executeCommand.
  local answer
  client.request('workspace/executeCommand', {
    command = 'pool-capacity.runCapacityTest',
    arguments = { { configUri = uri, agents = 3, durationMs = 100 } },
  }, function(err, result) answer = { err = err, result = result } end, bufnr)
  wait_for('the capacity test', function() return answer ~= nil end)
  record('execute-command', { answer = answer, progress = progress, shown = shown })

  client.stop()
  wait_for('the server to exit', function() return exited ~= nil end)
  record('exit', exited)
end

local ok, err = pcall(run)
if not ok then
  record('error', tostring(err))
  out:close()
  vim.cmd('cquit 1')
end
out:close()
vim.cmd('qall!')
